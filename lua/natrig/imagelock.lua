--- natrig.imagelock: natrig image prune never removes an image a live run may be about to
-- use. A run checks or builds its images (natrig.image) some time before its containers
-- exist, and only a container keeps the engine from removing an image; so every run holds
-- one host-wide lock file SHARED from before its first image check to its teardown, and
-- prune takes it EXCLUSIVE (with a deadline) or removes nothing. Beside the lock each run
-- leaves <runtime dir>/natrig/.image-users/<run> (its owner), so prune can say who holds it.
-- @module natrig.imagelock
local core = require "natrig.core"
local session = require "natrig.session"

local M = {}

M.RUN_WAIT = 120 -- s a run waits for a prune to finish (removals of many images are slow)
M.PRUNE_WAIT = 10 -- s prune waits for live runs to let go

--- The lock file: <runtime dir>/natrig/.images.lock (dot names are no run's control dir).
-- @treturn string
function M.path() return session.ctl_root() .. "/.images.lock" end

--- The directory of the holders' notes.
-- @treturn string
function M.users_dir() return session.ctl_root() .. "/.image-users" end

-- Try until the deadline; sleep is the caller's (a task's sleep in a run, a plain one in prune).
local function take(mode, wait, sleep)
  core.mkdir_p(session.ctl_root())
  local deadline = core.now() + wait
  while true do
    local lock, msg, busy = core.flock(M.path(), mode)
    if lock or not busy or core.now() >= deadline then return lock, msg, busy end
    sleep(0.1)
  end
end

--- Hold the lock shared for a run: waits up to RUN_WAIT s while a prune holds it.
-- @tparam string run_id the run
-- @tparam string owner the run's owner (host:pid:start, natrig.session)
-- @treturn userdata the lock (M.release it at teardown; the process's end also releases it)
-- @raise when the prune outlasts RUN_WAIT, or the file cannot be made
function M.hold(run_id, owner)
  local lock, msg, busy = take("shared", M.RUN_WAIT, require("natrig.task").sleep)
  if not lock then
    error(busy and ("image lock: a natrig image prune held %s for over %d s; wait for it to end and run again")
      :format(M.path(), M.RUN_WAIT) or ("image lock: %s; set XDG_RUNTIME_DIR to a writable directory"):format(msg), 0)
  end
  core.mkdir_p(M.users_dir())
  pcall(core.write_file, M.users_dir() .. "/" .. run_id, owner .. "\n")
  return lock
end

--- Release a run's shared lock and its note.
-- @tparam userdata lock from M.hold
-- @tparam string run_id the run
function M.release(lock, run_id)
  core.remove(M.users_dir() .. "/" .. run_id)
  lock:unlock()
end

--- The live runs that left a note (a dead owner's note is removed on the way).
-- @treturn {string,...} "run (owner)" for each
function M.holders()
  local out = {}
  for _, run in ipairs(core.list_dir(M.users_dir()) or {}) do
    local owner = (core.read_file(M.users_dir() .. "/" .. run) or ""):gsub("%s+$", "")
    if owner ~= "" and session.owner_dead(owner) then
      core.remove(M.users_dir() .. "/" .. run)
    else
      out[#out + 1] = ("%s (%s)"):format(run, owner ~= "" and owner or "owner unknown")
    end
  end
  return out
end

--- Take the lock exclusive for prune, waiting up to wait s (default M.prune_wait()).
-- @tparam[opt] number wait seconds
-- @treturn ?userdata the lock, or nil
-- @treturn ?string why not
-- @treturn ?boolean true when live runs hold it
function M.exclusive(wait)
  return take("exclusive", wait or M.prune_wait(), core.sleep)
end

--- How long prune waits: NATRIG_PRUNE_WAIT seconds, else PRUNE_WAIT.
-- @treturn number seconds
-- @raise when NATRIG_PRUNE_WAIT is not a number of seconds from 0 to 3600
function M.prune_wait()
  local v = core.getenv("NATRIG_PRUNE_WAIT")
  if not v or v == "" then return M.PRUNE_WAIT end
  local n = tonumber(v)
  if not n or n < 0 or n > 3600 then
    error(("NATRIG_PRUNE_WAIT=%s: give seconds from 0 to 3600 (default %d)"):format(v, M.PRUNE_WAIT), 0)
  end
  return n
end

return M
