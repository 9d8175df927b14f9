--- natrig.watch: liveness. One engine event stream per run (GET /events filtered by the
-- run's label), not a poll per node: every container of the run that dies is seen within
-- milliseconds.
--   - an app that exits while natrig was not asked to stop it (kill, stop, restart, down)
--     fails the run at once (natrig.task.fail: the scenario's next wait raises), naming
--     the node, its exit code and its last lines; during net:up() it fails the bring-up;
--   - node option `may_exit = true` (or node:allow_exit()) says exits are expected;
--   - a router or a node's network holder that dies is always a failure;
--   - waits on a node's log fail as soon as its app has exited (natrig.logs.node_exited).
-- @module natrig.watch
local core = require "natrig.core"
local task = require "natrig.task"
local logs = require "natrig.logs"
local logfollow = require "natrig.logfollow"

local M = {}

local APP_ROLES = { gateway = true, peer = true, node = true }

-- Liveness state is this module's sub-object of a node or router, `x.life`, made here on
-- first use and written only here (tests/lint_owners.lua): running, exit_code, exited_at,
-- exit_ok_until (an exit before it was asked for), exit_reported, paused, dead_role (a
-- holder or router that died), exits (expected ones), disconnected, removing (net:remove). Node, router and
-- attach say what happened through the functions below; others read running and
-- exit_code through them (a node's public `running` and `exit_code` are these).
local function life(x)
  local l = x.life
  if not l then l = {}; x.life = l end
  return l
end

--- Whether x's app runs, as the engine last said (nil: not started, or not known).
-- @local
function M.running(x) return x.life and x.life.running end
--- x's app's exit code once it exited (nil while it runs).
-- @local
function M.exit_code(x) return x.life and x.life.exit_code end

--- natrig was asked to end the app (kill, stop, restart): its exit is expected until it
-- starts again.
-- @local
function M.exit_asked(x) life(x).exit_ok_until = math.huge end
--- The app (re)started: running, no exit code; an exit from now on was not asked for.
-- @local
function M.started(x)
  local l = life(x)
  l.exit_ok_until, l.running, l.exit_code = core.time(), true, nil
end
--- net:remove is taking x (node or router) away: every exit of it is expected from now on,
-- and nothing the engine says of it is a failure.
-- @local
function M.removing(x) life(x).removing = true end
--- Whether net:remove is taking x away.
-- @local
function M.is_removing(x) return x.life ~= nil and x.life.removing == true end
--- What the engine says of a container found already there (natrig.attach).
-- @local
function M.seen(x, running) life(x).running = running end

-- Is an exit of x at engine time t one natrig was asked for?
local function expected(x, t)
  local l = life(x)
  if x.may_exit or l.removing then return true end
  return l.exit_ok_until ~= nil and t <= l.exit_ok_until
end
M.expected = expected

local function describe_code(code)
  code = tonumber(code)
  if not code then return "an unknown code" end
  if code > 128 and code < 160 then return ("code %d (signal %d)"):format(code, code - 128) end
  if code == 127 then return "code 127 (command not found)" end
  if code == 126 then return "code 126 (command not executable)" end
  return "code " .. code
end
M.describe_code = describe_code

-- The failure for an app (or router, holder) that exited unasked; reported once per exit
-- (the liveness task, the start-up check and settle may all see the same exit).
local function report_exit(net, x, role, name, code, when)
  local l = life(x)
  if l.exit_reported then return l.exit_reported end
  local what = APP_ROLES[role] and ("the app of %s"):format(name)
    or role == "holder" and ("the network holder of %s"):format(name)
    or ("router %s"):format(name)
  local msg = when and ("%s exited with %s %s, although natrig was not asked to stop it"):format(what,
      describe_code(code), when)
    or ("%s exited with %s although natrig was not asked to stop it%s"):format(what,
    describe_code(code), APP_ROLES[role] and (x.ready and " (during the run)" or " (before it was ready)") or "")
  if APP_ROLES[role] then
    msg = msg .. "; last lines:\n" .. logs.last_lines(x, 15)
      .. "\n(if this exit is expected, give the node may_exit = true or call node:allow_exit())"
  end
  local err = core.error { code = "exited", op = "liveness", status = 0, message = msg }
  err.node = name
  l.exit_reported = err
  net.failures = net.failures or {}
  net.failures[#net.failures + 1] = err
  net.log("FAIL: " .. msg:gsub("\n.*", ""))
  return err
end
M.report_exit = report_exit

-- An app exited: have its last lines in the store before anyone reports them. The follow
-- stream ends right after the exit and brings them; a stream that has not ended within a
-- second (a loaded engine) or that broke is not trusted: the engine is asked for what it
-- has since the last line seen (it has all of it now; lines seen are not added twice).
-- `needed`: someone will read them (a wait on the node, or a failure to report), so the
-- exits of a teardown cost no engine call.
local function last_lines_in(x, needed)
  if logfollow.exited(x) then return end -- read where the engine writes it: all there now
  local until_t = core.now() + 1
  while x.log.following ~= false and core.now() < until_t do task.sleep(0.02) end
  if not needed or not x.id then return end
  if x.log.following ~= false or x.log.follow_error then pcall(logfollow.fetch, x, 3) end
end

local function on_die(net, role, name, code, t)
  local x = net.by_name[name]
  if not x then return end
  local l = life(x)
  if APP_ROLES[role] then
    l.running, l.exit_code, l.exited_at, l.paused = false, tonumber(code), t, nil
  else
    l.dead_role = role
  end
  local ok_exit = (APP_ROLES[role] or role == "router") and expected(x, t)
  if l.removing then ok_exit = true end
  if ok_exit then l.exits = (l.exits or 0) + 1 end
  -- Let the follow stream deliver the last lines (it ends right after the exit), then
  -- wake waiters and, if nobody asked for this exit, fail the run.
  task.spawn(function()
    local stopping = net.state == "stopping" or net.state == "down"
    if APP_ROLES[role] then
      last_lines_in(x, not stopping and (not ok_exit or next(x.log.waiters or {}) ~= nil))
      logs.node_exited(x, code)
    end
    if ok_exit or net.state == "stopping" or net.state == "down" then return end
    if l.exit_reported then return end -- the start-up check or settle said it already
    task.fail(report_exit(net, x, role, name, code))
  end, "liveness " .. name)
end

local function on_event(net, ev)
  if type(ev) ~= "table" or ev.Type ~= "container" then return end
  local a = (ev.Actor or {}).Attributes or {}
  local role, name = a["natrig.role"], a["natrig.node"]
  if not name then return end
  local t = tonumber(ev.timeNano) and tonumber(ev.timeNano) / 1e9 or tonumber(ev.time) or core.time()
  if ev.Action == "start" then
    local x = net.by_name[name]
    if x and APP_ROLES[role] then
      local l = life(x)
      l.running, l.exit_code, l.exit_reported = true, nil, nil
    end
  elseif ev.Action == "pause" or ev.Action == "unpause" then
    local x = net.by_name[name]
    if x then life(x).paused = ev.Action == "pause" and (x.pausing and "by the scenario" or "not by natrig") or nil end
    if x and ev.Action == "pause" and not x.pausing then
      net.log(("%s (%s) was paused, not by natrig"):format(name, role))
    end
  elseif ev.Action == "die" then
    on_die(net, role, name, a.exitCode, t)
  elseif ev.Action == "oom" then
    net.log(("%s (%s) ran out of memory"):format(name, role))
  end
end

-- Open the run's event stream on every engine of the run (one per engine over a Swarm).
-- Returns a function that closes them.
function M.start(net)
  local stops = {}
  for _, eng in ipairs(net.engines and net:engines() or { net.eng }) do stops[#stops + 1] = M.start_on(net, eng) end
  return function() for _, s in ipairs(stops) do s() end end
end

-- Who a container id is: the node whose network holder (or app) it is, or the router.
local function owner_of(net, cid)
  for _, n in ipairs(net.nodes) do if n.holder == cid or n.id == cid then return n end end
  for _, r in ipairs(net.routers) do if r.id == cid then return r end end
end

-- Network events carry no container labels, so they come on a stream of their own
-- (disconnects and connects of any network, matched to the run's containers here): a
-- node cut off its network by someone else is named in the exit summary.
local function on_net_event(net, ev)
  if type(ev) ~= "table" or ev.Type ~= "network" then return end
  local a = (ev.Actor or {}).Attributes or {}
  if not a.container or net.state == "stopping" or net.state == "down" then return end
  local x = owner_of(net, a.container)
  if not x or M.is_removing(x) then return end
  local l = life(x)
  l.disconnected = l.disconnected or {}
  local seg = a.name or (ev.Actor or {}).ID or "?"
  if ev.Action == "disconnect" then
    l.disconnected[seg] = true
    net.log(("%s was disconnected from network %s, not by natrig"):format(x.name, seg))
  else
    l.disconnected[seg] = nil
  end
end

-- One stream of JSON lines: each decoded line to handle(net, j). Returns its request id.
local function stream(net, eng, filters, handle)
  -- since: the engine replays what happened between now and the stream's opening.
  local rid = eng.raw:submit("events", { since = ("%.3f"):format(core.time() - 0.5),
    filters = filters }, nil, { mode = "lines" })
  local pending = ""
  task.on_events(rid, function(ev)
    local data = pending .. (ev.out or "")
    local start = 1
    while true do
      local nl = data:find("\n", start, true)
      if not nl then break end
      local line = data:sub(start, nl - 1)
      start = nl + 1
      local ok, j = pcall(core.json_decode, line)
      if ok then
        local hok, herr = pcall(handle, net, j)
        if not hok then net.log("liveness watcher: " .. tostring(herr)) end
      end
    end
    pending = data:sub(start)
    if ev.done and net.state ~= "stopping" and net.state ~= "down" then
      -- Without the stream natrig would be blind to crashes: that is a failure too.
      local err = core.error { code = "engine", op = "liveness", status = ev.status or 0,
        message = "the engine's event stream ended" .. (ev.error and (": " .. ev.error) or "") }
      net.log("FAIL: " .. err.message)
      task.fail(err)
    end
  end)
  return rid
end

-- The event streams of one engine. Returns a function that closes them.
function M.start_on(net, eng)
  local rids = {
    stream(net, eng, {
      label = core.json_array { "natrig.run=" .. net.session.run_id },
      type = core.json_array { "container" },
      event = core.json_array { "start", "die", "oom", "pause", "unpause" },
    }, on_event),
    stream(net, eng, { type = core.json_array { "network" },
      event = core.json_array { "disconnect", "connect" } }, on_net_event),
  }
  local raw = eng.raw
  return function()
    for _, rid in ipairs(rids) do task.forget(rid); if eng.raw then raw:cancel(rid) end end
  end
end

-- An app's state from the engine (inspect), for when no event has said it yet: sets
-- running, exit_code, exited_at and paused. Returns false when the engine could not say.
local function refresh(x)
  local eng = x.eng
  local ok, info = pcall(eng.container_inspect, eng, x.id)
  local st = ok and type(info) == "table" and info.State
  if type(st) ~= "table" then return false end
  local l = life(x)
  if st.Running == false and l.running ~= false then
    l.running, l.exit_code, l.exited_at = false, tonumber(st.ExitCode), core.time()
  end
  if st.Paused and not l.paused then l.paused = x.pausing and "by the scenario" or "not by natrig" end
  if st.Paused == false then l.paused = nil end
  return true
end
M.refresh = refresh

--- The start-up check of a node's app (natrig.node, after start and readiness): an app
-- that has already exited (a missing binary exits 127 within milliseconds) fails the
-- bring-up, naming the node and the code. The engine is asked (inspect) unless its exit
-- event has come.
-- @local
function M.startup_check(x)
  if x.may_exit then return end
  -- a moment for an exec that fails (tini reports it at once), then the engine's word
  local left = (x.started_at or 0) + M.STARTUP_GRACE - core.time()
  local l = life(x)
  if l.running ~= false and left > 0 then task.sleep(left) end
  if l.running ~= false then refresh(x) end
  if l.running == false and not expected(x, l.exited_at or core.time()) then
    -- its last lines (tini's "exec ... failed") come with the end of the follow stream
    last_lines_in(x, true)
    local err = report_exit(x.net, x, x.kind, x.name, l.exit_code, "during its start-up check")
    error(err, 0)
  end
end
M.STARTUP_GRACE = 0.15 -- seconds after start
M.SETTLE_GRACE = 1.0 -- seconds after the newest start, before the verdict

--- Before the verdict: know the state of every app. Exits whose report still waits for
-- the last log lines are reported now, and every app no exit event has come for is
-- inspected (in parallel, at most `timeout` seconds in all); an app found exited unasked
-- is added to net.failures. Never raises. scenario.lua calls it after a run body that
-- returned normally, before it looks at net.failures.
-- @local
function M.settle(net, timeout)
  if not net.nodes or net.state ~= "up" then return end
  local list, newest = {}, 0
  for _, n in ipairs(net.nodes) do
    if n.id and not M.is_removing(n) then
      list[#list + 1] = n
      newest = math.max(newest, n.started_at or 0)
    end
  end
  -- An app started a moment ago may not have run yet: on a loaded machine tini's exec of a
  -- missing binary failed later than the start-up check looked, and a run that ended right
  -- after net:up() passed with "g running". Ask when the newest app has had SETTLE_GRACE.
  local left = newest + M.SETTLE_GRACE - core.time()
  if left > 0 then task.sleep(math.min(left, M.SETTLE_GRACE)) end
  local ok, err = task.guard(function()
    task.map(list, function(n)
      local l = life(n)
      if l.running ~= false then refresh(n) end
      if l.running == false and not expected(n, l.exited_at or core.time()) and not l.exit_reported then
        report_exit(net, n, n.kind, n.name, l.exit_code, "(seen before the verdict)")
      end
    end, 16)
  end, timeout or 10, "reading the apps' states")
  if not ok then
    task.recover()
    net.log("could not read every app's state before the verdict: " .. tostring(err))
  end
end

-- One line per node for the end of a run: "a running, b exited 3 (unexpected), ...".
-- A pause or a disconnect natrig was not asked for is named too.
function M.summary(net)
  local parts = {}
  for _, n in ipairs(net.nodes) do
    if n.id then
      local s
      local l = life(n)
      if l.exit_code and not l.running then
        s = ("%s exited %d%s"):format(n.name, l.exit_code, expected(n, l.exited_at or 0) and "" or " (unexpected)")
      else
        s = n.name .. (l.paused and (" paused (" .. l.paused .. ")") or " running")
      end
      local cut = {}
      for seg in pairs(l.disconnected or {}) do cut[#cut + 1] = seg end
      table.sort(cut)
      if #cut > 0 then s = s .. (" (disconnected from %s, not by natrig)"):format(table.concat(cut, ", ")) end
      parts[#parts + 1] = s
    end
  end
  for _, r in ipairs(net.routers) do
    local cut = {}
    for seg in pairs(life(r).disconnected or {}) do cut[#cut + 1] = seg end
    table.sort(cut)
    if #cut > 0 then parts[#parts + 1] = ("router %s disconnected from %s, not by natrig"):format(r.name,
      table.concat(cut, ", ")) end
  end
  return table.concat(parts, ", ")
end

return M
