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

local function owner_id()
  local pid = core.pid()
  return ("%s:%d:%s"):format(core.hostname(), pid, core.proc_start(pid) or "0")
end
M.owner_id = owner_id

-- Is the owner "host:pid:start" certainly dead? Only decidable for this host.
function M.owner_dead(owner)
  local host, pid, start = tostring(owner):match("^(.*):(%d+):(%d+)$")
  if not host then return false end
  if host ~= core.hostname() then return false end
  return core.proc_start(tonumber(pid)) ~= start
end

local function new_run_id()
  local t = core.time()
  return ("%s%04x"):format(os.date("!%m%d%H%M%S", math.floor(t)),
    (core.pid() * 7919 + math.floor((t % 1) * 1e6)) % 0x10000)
end

-- Remove every container, then every network, matching label (e.g. "natrig.run=x").
-- Runs the removals in parallel. Returns counts.
function M.remove_labelled(eng, label)
  local filters = { label = core.json_array { label } }
  local ctrs = eng:container_list(filters, true)
  local nets = eng:network_list(filters)
  local function quietly(fn, ...)
    local ok, e = pcall(fn, ...)
    if not ok and not (type(e) == "table" and (e.status == 404 or e.status == 409)) then error(e, 0) end
  end
  -- The engine (20.10) loses count of a network's endpoints when several of them are
  -- deleted at once (seen: a public network with ~25 routers "has active endpoints"
  -- and no containers, until the engine restarts). So endpoints leave one network at a
  -- time: apps first (they own no endpoint), then each network's containers are
  -- disconnected in turn -- networks in parallel, endpoints of one network in a row --
  -- and only then are the containers removed, all at once.
  local apps, owners = {}, {}
  for _, c in ipairs(ctrs) do
    local role = (c.Labels or {})["natrig.role"]
    table.insert((role == "holder" or role == "router") and owners or apps, c)
  end
  task.map(apps, function(c) quietly(eng.container_remove, eng, c.Id, true) end, 16)
  task.map(nets, function(n)
    local info = eng:network_inspect(n.Id)
    for cid in pairs(info and info.Containers or {}) do
      quietly(eng.network_disconnect, eng, n.Id, cid, true)
    end
  end, 16)
  task.map(owners, function(c) quietly(eng.container_remove, eng, c.Id, true) end, 16)
  task.map(nets, function(n)
    for attempt = 1, 5 do
      local ok, e = pcall(eng.network_remove, eng, n.Id)
      if ok or (type(e) == "table" and e.status == 404) then return end
      -- The engine can still hold an endpoint of a container it has just removed (or one
      -- created after our listing): detach and remove what is attached, then again.
      if not (type(e) == "table" and e.status == 403 and attempt < 5) then error(e, 0) end
      local info = eng:network_inspect(n.Id)
      for cid in pairs(info and info.Containers or {}) do
        pcall(eng.network_disconnect, eng, n.Id, cid, true)
        pcall(eng.container_remove, eng, cid, true)
      end
      task.sleep(0.1 * attempt)
    end
  end, 16)
  return #ctrs, #nets
end

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
    if all or (M.owner_dead(owner) and not M.is_kept(run)) then doomed[#doomed + 1] = run end
  end
  local failures, removed = {}, {}
  task.map(doomed, function(run)
    local ok, err = pcall(M.remove_labelled, eng, "natrig.run=" .. run)
    if ok then
      removed[#removed + 1] = run
      M.unkeep(run)
      M.remove_ctl_dirs(run)
    else
      failures[#failures + 1] = ("run %s: %s"):format(run, tostring(err))
    end
  end, 4)
  M.reap_ctl_dirs(all)
  -- Leftovers that cannot be removed must not stop a new run: say so and go on.
  if #failures > 0 and not all then
    io.stderr:write("natrig: could not remove all leftovers (the new run goes on):\n  ",
      table.concat(failures, "\n  "), "\n  (a network the engine still reports as having ",
      "endpoints after its containers are gone clears with an engine restart)\n")
  elseif #failures > 0 then
    error(core.error { code = "engine", op = "clean", status = 0, message = table.concat(failures, "; ") }, 0)
  end
  return #removed, removed
end

-- opts: engine (a natrig.engine client), scenario (name), watchdog (default true)
function M.new(opts)
  local s = setmetatable({
    eng = opts.engine,
    scenario = opts.scenario or "adhoc",
    run_id = opts.run_id or new_run_id(),
    owner = owner_id(),
    created = math.floor(core.time()),
    torn_down = false,
  }, Session)
  if opts.watchdog ~= false and core.getenv("NATRIG_NO_WATCHDOG") ~= "1" then
    s.reaper_pid = core.reaper("natrig.run=" .. s.run_id, core.getenv("DOCKER_HOST"))
  end
  return s
end

-- The runs' shaper control directories on the host (see Network:ctl_dir):
-- <runtime dir>/natrig/<run>/{owner, <node>/shaper.sock}.
function M.ctl_root() return (core.getenv("XDG_RUNTIME_DIR") or "/run") .. "/natrig" end

function M.remove_ctl_dirs(run)
  local root = M.ctl_root() .. "/" .. run
  core.remove(root .. "/owner")
  for _, name in ipairs(core.list_dir(root) or {}) do
    core.remove(root .. "/" .. name .. "/shaper.sock")
    core.rmdir(root .. "/" .. name)
  end
  core.rmdir(root)
end

-- Control directories of runs whose owner is dead (the watchdog removes a killed run's
-- containers and networks, not these host directories).
function M.reap_ctl_dirs(all)
  for _, run in ipairs(core.list_dir(M.ctl_root()) or {}) do
    local owner = core.read_file(M.ctl_root() .. "/" .. run .. "/owner")
    owner = owner and owner:gsub("%s+$", "")
    if not M.is_kept(run) and (all or not owner or M.owner_dead(owner)) then M.remove_ctl_dirs(run) end
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
  }
  for k, v in pairs(extra or {}) do l[k] = v end
  return l
end

-- A readable engine name: natrig-<run>-<what>
function Session:name(what) return ("natrig-%s-%s"):format(self.run_id, what) end

function Session:teardown()
  if self.torn_down then return 0, 0 end
  self.torn_down = true
  return M.remove_labelled(self.eng, "natrig.run=" .. self.run_id)
end

-- Leave this run's resources up (keep = true after a failure): stop the watchdog and
-- mark the run kept, so the next start's reaping leaves it alone too.
function Session:keep()
  if self.reaper_pid then core.kill(self.reaper_pid, 9); self.reaper_pid = nil end
  core.mkdir_p(M.kept_dir())
  core.write_file(M.kept_dir() .. "/" .. self.run_id, self.owner .. "\n")
  self.torn_down = true
end

function M.kept_dir()
  return (core.getenv("XDG_STATE_HOME") or ((core.getenv("HOME") or "/tmp") .. "/.local/state"))
    .. "/natrig/kept"
end

function M.is_kept(run) return core.stat(M.kept_dir() .. "/" .. run) ~= nil end
function M.unkeep(run) core.remove(M.kept_dir() .. "/" .. run) end

function Session:remove_command()
  return ("docker rm -f $(docker ps -aq --filter label=natrig.run=%s); " ..
    "docker network rm $(docker network ls -q --filter label=natrig.run=%s)   # or: natrig clean --all")
    :format(self.run_id, self.run_id)
end

return M
