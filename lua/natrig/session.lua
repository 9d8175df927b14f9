-- natrig.session: one run's identity on the engine, its labels, and its cleanup.
-- Every container and network natrig makes carries:
--   natrig=1, natrig.run=<run id>, natrig.owner=<host>:<pid>:<process start time>,
--   natrig.created=<unix time>, natrig.role=<router|gateway|peer|sidecar|net|...>,
--   natrig.scenario=<name>
-- Cleanup finds resources by these labels, never by parsing names. Three layers:
--   1. teardown() at the end of a run, on a Lua error and on SIGINT/SIGTERM;
--   2. a watchdog child (natrig.core.reaper) that removes the run's resources when this
--      process dies in any way, SIGKILL included;
--   3. reap_dead() at every start: resources whose owner process is gone are removed.
local core = require "natrig.core"
local task = require "natrig.task"

local M = {}
local Session = {}
Session.__index = Session

--- This process as a run's owner: "host:pid:start time" (natrig.owner).
-- @local
function M.owner_id()
  local pid = core.pid()
  return ("%s:%d:%s"):format(core.hostname(), pid, core.proc_start(pid) or "0")
end

-- Is the owner "host:pid:start" certainly dead? Only decidable for this host. A process
-- natrig cannot look at (proc_start's error: out of descriptors, say) is not dead: reaping
-- a live run would pull its network from under it.
function M.owner_dead(owner)
  local host, pid, start = tostring(owner):match("^(.*):(%d+):(%d+)$")
  if not host then return false end
  if host ~= core.hostname() then return false end
  local now, err = core.proc_start(tonumber(pid))
  if not now and err then return false end
  return now ~= start
end

local function new_run_id()
  local t = core.time()
  return ("%s%04x"):format(os.date("!%m%d%H%M%S", math.floor(t)),
    (core.pid() * 7919 + math.floor((t % 1) * 1e6)) % 0x10000)
end

local teardown = require "natrig.teardown"
--- What a removal may quietly find gone or going (natrig.teardown.quietly).
-- @local
M.quietly = teardown.quietly

--- Remove every container, then every network, matching label (natrig.teardown).
-- @local
M.remove_labelled = teardown.remove_labelled

-- Remove resources of runs whose owner process is dead (this host only), or of every
-- natrig run with all=true. Returns the number of runs removed.
function M.reap_dead(eng, all)
  local filters = { label = core.json_array { "natrig" } }
  local runs = {}
  for _, c in ipairs(eng:container_list(filters, true)) do
    local l = c.Labels or {}
    if l["natrig.run"] then runs[l["natrig.run"]] = l["natrig.owner"] end
  end
  for _, n in ipairs(eng:network_list(filters)) do
    local l = n.Labels or {}
    if l["natrig.run"] then runs[l["natrig.run"]] = l["natrig.owner"] end
  end
  local doomed = {}
  for run, owner in pairs(runs) do
    if all or (M.owner_dead(owner) and not M.is_kept(run) and not M.is_stuck(run)) then doomed[#doomed + 1] = run end
  end
  local failures, removed = {}, {}
  task.map(doomed, function(run)
    local ok, err = pcall(M.remove_labelled, eng, "natrig.run=" .. run, 2)
    if ok then
      removed[#removed + 1] = run
      M.unkeep(run)
      M.remove_ctl_dirs(run)
      core.remove(M.stuck_dir() .. "/" .. run)
    elseif type(err) == "table" and err.stuck and not all then
      -- only a network the engine will not let go of until it restarts: said once, then
      -- left alone for an hour (trying it at every start would only say it again)
      core.mkdir_p(M.stuck_dir())
      core.write_file(M.stuck_dir() .. "/" .. run, tostring(err) .. "\n")
      io.stderr:write(("natrig: run %s left a network behind that this engine cannot remove until it "
        .. "restarts; natrig leaves it alone for an hour: %s\n"):format(run, tostring(err)))
    else
      failures[#failures + 1] = ("run %s: %s"):format(run, tostring(err))
    end
  end, 4)
  M.reap_ctl_dirs(all)
  -- Leftovers that cannot be removed must not stop a new run: say so and go on.
  if #failures > 0 and not all then
    io.stderr:write("natrig: could not remove all leftovers (the new run goes on; the next ",
      "natrig command tries again):\n  ", table.concat(failures, "\n  "), "\n")
  elseif #failures > 0 then
    core.fail("engine", "clean", table.concat(failures, "; "))
  end
  return #removed, removed
end

-- The watchdog's cleanup (src/lua/l_reap.c calls it in a fresh Lua state in the watchdog
-- child, once the run's process is gone): the same path as every other teardown, twice
-- (a container whose create was in flight at the death can appear after the first).
function M.reap_label(label, host)
  local eng = require("natrig.engine").open(host)
  for pass = 1, 2 do
    local ok, err = pcall(M.remove_labelled, eng, label)
    if ok then break end
    -- said on natrig's stderr (inherited), where the run's own output went
    if pass == 2 then
      io.stderr:write(("natrig watchdog (%s): %s\n"):format(tostring(host or "DOCKER_HOST"), tostring(err)))
    end
  end
  local run = label:match("^natrig%.run=(.+)$")
  if run and not M.is_kept(run) then pcall(M.remove_ctl_dirs, run) end
  eng:close()
end

-- opts: engine (a natrig.engine client), scenario (name), watchdog (default true), hosts
-- (natrig.hosts entries with eng, when the run spans several engines: a watchdog and a
-- teardown on each). A run found on the engine (natrig.attach) passes its run_id, owner and
-- created from its labels, and watchdog = false: this process does not own it.
function M.new(opts)
  local s = setmetatable({
    eng = opts.engine,
    hosts = opts.hosts,
    scenario = opts.scenario or "adhoc",
    case = opts.case,
    run_id = opts.run_id or new_run_id(),
    owner = opts.owner or M.owner_id(),
    created = opts.created or math.floor(core.time()),
    torn_down = false,
  }, Session)
  if opts.watchdog ~= false and core.getenv("NATRIG_NO_WATCHDOG") ~= "1" then
    if s.hosts then
      -- One watchdog per engine, the manager's last. The overlay network (on the manager)
      -- is retried for longer while the other engines' containers still hold endpoints
      -- on it (remove_labelled).
      s.reaper_pids = {}
      for i = #s.hosts, 1, -1 do
        s.reaper_pids[#s.reaper_pids + 1] = core.reaper("natrig.run=" .. s.run_id, s.hosts[i].url)
      end
      s.reaper_pid = s.reaper_pids[1]
    else
      s.reaper_pid = core.reaper("natrig.run=" .. s.run_id, core.getenv("DOCKER_HOST"))
    end
  end
  return s
end

-- The runs' shaper control directories on the host (see Network:ctl_dir):
-- <runtime dir>/natrig/<run>/{owner, <node>/shaper.sock}.
function M.ctl_root() return (core.getenv("XDG_RUNTIME_DIR") or "/run") .. "/natrig" end

function M.remove_ctl_dirs(run, base)
  local root = (base or M.ctl_root()) .. "/" .. run
  core.remove(root .. "/owner")
  -- each node's folder holds what natrig put there (shaper.sock, path.txt and its .new):
  -- everything in it goes, or the folder stays behind for good
  for _, name in ipairs(core.list_dir(root) or {}) do
    local dir = root .. "/" .. name
    for _, f in ipairs(core.list_dir(dir) or {}) do pcall(core.remove, dir .. "/" .. f) end
    core.rmdir(dir)
  end
  core.rmdir(root)
end

-- Control directories of runs whose owner is dead (the watchdog removes a killed run's
-- containers and networks, not these host directories). A folder without an owner file is
-- one whose run died between the two (Network:ctl_dir writes it first), or one being made
-- this instant: only one a minute old goes. base: the folder of runs (default ctl_root()).
function M.reap_ctl_dirs(all, base)
  base = base or M.ctl_root()
  for _, run in ipairs(core.list_dir(base) or {}) do
    -- dot names are natrig.imagelock's lock and notes, no run's
    if run:sub(1, 1) ~= "." and not M.is_kept(run) then
      local root = base .. "/" .. run
      local owner = core.read_file(root .. "/owner")
      owner = owner and owner:gsub("%s+$", "")
      local orphan = not owner and ((core.stat(root) or {}).mtime or 0) < core.time() - 60
      if all or orphan or (owner and M.owner_dead(owner)) then M.remove_ctl_dirs(run, base) end
    end
  end
end

function Session:labels(role, extra)
  local l = {
    ["natrig"] = "1",
    ["natrig.run"] = self.run_id,
    ["natrig.owner"] = self.owner,
    ["natrig.created"] = tostring(self.created),
    ["natrig.role"] = role,
    ["natrig.scenario"] = self.scenario,
    ["natrig.case"] = self.case,
  }
  for k, v in pairs(extra or {}) do l[k] = v end
  return l
end

-- A readable engine name: natrig-<run>-<what>
function Session:name(what) return ("natrig-%s-%s"):format(self.run_id, what) end

function Session:teardown()
  if self.torn_down then return 0, 0 end
  self.torn_down = true
  -- One algorithm for one engine and for a Swarm (one engine is a Swarm of one): the
  -- other engines first, in parallel (their containers leave the overlay), then the
  -- manager, which owns the overlay network. Every engine is tried; the errors are raised
  -- after (one engine: its own error as it was).
  local hosts = self.hosts or { { name = "engine", eng = self.eng } }
  local nc, nn, errs = 0, 0, {}
  local function one(h)
    local ok, c, n, cut = pcall(M.remove_labelled, h.eng, "natrig.run=" .. self.run_id, nil, self.stop_at)
    if ok then nc, nn = nc + c, nn + n else errs[#errs + 1] = { h = h, err = c } end
    self.cut = self.cut or cut or nil
  end
  local function pass()
    task.map({ table.unpack(hosts, 2) }, one, 8)
    one(hosts[1])
  end
  -- Creates an abort let run on (natrig.sched's late calls) are waited for beside the
  -- removal, not before it: a moment first (most answer at once, and the listing finds
  -- what they made), the rest after the first pass, whose listing may have missed what
  -- they made: a second pass removes it. Bounded: each has the engine timeout.
  local late, made0 = task.wait_late(1)
  pass()
  if self.cut then return nc, nn end -- stopped at stop_at: the watchdog goes on (natrig.lifecycle)
  if late > 0 then
    local left, made = task.wait_late(require("natrig.engine").timeout() + 1)
    if made > made0 and #errs == 0 then pass() end
    self.late = { late = late, left = left, made = made - made0 }
  end
  if #errs == 1 and #hosts == 1 then error(errs[1].err, 0) end
  if #errs > 0 then
    local l = {}
    for _, e in ipairs(errs) do l[#l + 1] = ("%s: %s"):format(e.h.name, tostring(e.err)) end
    core.fail("engine", "teardown", table.concat(l, "; "))
  end
  -- The Swarm removes an overlay a moment after DELETE answers (its endpoints on the other
  -- engines go asynchronously): done is when no engine lists anything of the run (10 s).
  local filters = { label = core.json_array { "natrig.run=" .. self.run_id } }
  local deadline = core.now() + 10
  while core.now() < deadline do
    local left = 0
    for _, h in ipairs(hosts) do
      local ok, l = pcall(h.eng.network_list, h.eng, filters)
      left = left + (ok and #l or 0)
    end
    if left == 0 then break end
    task.sleep(0.1)
  end
  return nc, nn
end

-- Leave this run's resources up (keep = true after a failure): stop the watchdog and
-- mark the run kept, so the next start's reaping leaves it alone too.
function Session:keep()
  for _, pid in ipairs(self.reaper_pids or { self.reaper_pid }) do core.kill(pid, 9) end
  self.reaper_pid, self.reaper_pids = nil, nil
  core.mkdir_p(M.kept_dir())
  core.write_file(M.kept_dir() .. "/" .. self.run_id, self.owner .. "\n")
  self.torn_down = true
end

function M.kept_dir()
  return (core.getenv("XDG_STATE_HOME") or ((core.getenv("HOME") or "/tmp") .. "/.local/state"))
    .. "/natrig/kept"
end

function M.is_kept(run) return core.stat(M.kept_dir() .. "/" .. run) ~= nil end
-- Runs whose only leftover is a network the engine lost count of (natrig.teardown): left
-- alone for an hour, then tried again (the engine may have restarted meanwhile).
function M.stuck_dir() return (M.kept_dir():gsub("/kept$", "/stuck")) end
function M.is_stuck(run)
  local st = core.stat(M.stuck_dir() .. "/" .. run)
  return st ~= nil and core.time() - (st.mtime or 0) < 3600
end
function M.unkeep(run) core.remove(M.kept_dir() .. "/" .. run) end

function Session:remove_command() return "natrig clean " .. self.run_id end

-- The runs on this engine, from their labels: { run, scenario, case, created, owner,
-- alive, kept, nodes, containers, networks }, oldest first.
function M.runs_on(eng)
  local filters = { label = core.json_array { "natrig" } }
  local by, list = {}, {}
  local function get(l)
    local id = l["natrig.run"]
    if not id then return nil end
    local r = by[id]
    if not r then
      r = { run = id, scenario = l["natrig.scenario"] or "?", case = l["natrig.case"] or "",
        created = tonumber(l["natrig.created"]) or 0, owner = l["natrig.owner"] or "?",
        nodes = 0, containers = 0, networks = 0 }
      by[id] = r
      list[#list + 1] = r
    end
    return r
  end
  for _, c in ipairs(eng:container_list(filters, true)) do
    local l = c.Labels or {}
    local r = get(l)
    if r then
      r.containers = r.containers + 1
      local role = l["natrig.role"]
      if role == "gateway" or role == "peer" or role == "node" then r.nodes = r.nodes + 1 end
    end
  end
  for _, n in ipairs(eng:network_list(filters)) do
    local r = get(n.Labels or {})
    if r then r.networks = r.networks + 1 end
  end
  for _, r in ipairs(list) do
    r.kept = M.is_kept(r.run)
    r.alive = not M.owner_dead(r.owner)
  end
  table.sort(list, function(a, b) return a.created < b.created end)
  return list
end

return M
