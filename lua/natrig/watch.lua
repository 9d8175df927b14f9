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

local M = {}

local APP_ROLES = { gateway = true, peer = true, node = true }

-- Is an exit of x at engine time t one natrig was asked for?
local function expected(x, t)
  if x.may_exit then return true end
  return x.exit_ok_until ~= nil and t <= x.exit_ok_until
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

local function on_die(net, role, name, code, t)
  local x = net.by_name[name]
  if not x then return end
  if APP_ROLES[role] then
    x.running, x.exit_code, x.exited_at = false, tonumber(code), t
  else
    x.dead_role = role
  end
  local ok_exit = (APP_ROLES[role] or role == "router") and expected(x, t)
  if x.removing then ok_exit = true end
  if ok_exit then x.exits = (x.exits or 0) + 1 end
  -- Let the follow stream deliver the last lines (it ends right after the exit), then
  -- wake waiters and, if nobody asked for this exit, fail the run.
  task.spawn(function()
    local until_t = core.now() + 1
    while x.following ~= false and APP_ROLES[role] and core.now() < until_t do task.sleep(0.02) end
    if APP_ROLES[role] then logs.node_exited(x, code) end
    if ok_exit or net.state == "stopping" or net.state == "down" then return end
    local what = APP_ROLES[role] and ("the app of %s"):format(name)
      or role == "holder" and ("the network holder of %s"):format(name)
      or ("router %s"):format(name)
    local msg = ("%s exited with %s although natrig was not asked to stop it%s"):format(what,
      describe_code(code), APP_ROLES[role] and (x.ready and " (during the run)" or " (before it was ready)") or "")
    if APP_ROLES[role] then msg = msg .. "; last lines:\n" .. logs.last_lines(x, 15) end
    if APP_ROLES[role] then
      msg = msg .. "\n(if this exit is expected, give the node may_exit = true or call node:allow_exit())"
    end
    local err = core.error { code = "exited", op = "liveness", status = 0, message = msg }
    err.node = name
    net.failures = net.failures or {}
    net.failures[#net.failures + 1] = err
    net.log("FAIL: " .. msg:gsub("\n.*", ""))
    task.fail(err)
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
    if x and APP_ROLES[role] then x.running = true; x.exit_code = nil end
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

-- The event stream of one engine. Returns a function that closes it.
function M.start_on(net, eng)
  local filters = {
    label = core.json_array { "natrig.run=" .. net.session.run_id },
    type = core.json_array { "container" },
    event = core.json_array { "start", "die", "oom" },
  }
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
        local hok, herr = pcall(on_event, net, j)
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
  local raw = eng.raw
  return function() task.forget(rid); if eng.raw then raw:cancel(rid) end end
end

-- One line per node for the end of a run: "a running, b exited 3 (unexpected), ...".
function M.summary(net)
  local parts = {}
  for _, n in ipairs(net.nodes) do
    if n.id then
      if n.exit_code and not n.running then
        parts[#parts + 1] = ("%s exited %d%s"):format(n.name, n.exit_code,
          expected(n, n.exited_at or 0) and "" or " (unexpected)")
      else
        parts[#parts + 1] = n.name .. " running"
      end
    end
  end
  return table.concat(parts, ", ")
end

return M
