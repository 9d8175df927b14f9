-- What natrig says about its apps must be true at the verdict (needs:engine; issue 22
-- items 3 and 9):
--   - a node whose binary does not exist fails net:up() (its start-up check), naming the
--     node and exit 127, even when the scenario ends right after net:up();
--   - natrig.watch.settle asks the engine for the state of every app no event has spoken
--     for yet, and an app found exited unasked is a failure;
--   - a `docker pause` or a network disconnect of a node, done by someone else, is named in
--     the exit summary.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core
local watch = require "natrig.watch"

local eng = natrig.engine()
local bin = core.getenv("NATRIG_BIN") or "build/natrig"
local tmp = ("/tmp/natrig-appstate-%d"):format(core.pid())
core.mkdir_p(tmp)

-- 1. a missing binary, the scenario ending right after net:up() -------------------------
do
  local f = tmp .. "/missing.lua"
  core.write_file(f, [[
return natrig.scenario { name = "missing_binary", timeout = 120,
  run = function(net)
    net:gateway { name = "g", cmd = { "/no/such/binary" } }
    net:gateway { name = "ok", cmd = { "sleep", "600" } }
    net:up()
  end }
]])
  local t0 = core.now()
  local code, out, err = core.run({ bin, "run", f }, 180)
  local text = tostring(out) .. tostring(err)
  t.is(code, 1, ("natrig run fails (exit %s, %.1fs)"):format(tostring(code), core.now() - t0))
  t.ok(not text:find("PASS", 1, true), "it does not say PASS")
  -- (the start-up check or the liveness watcher, whichever sees the exit first)
  t.like(text, "the app of g exited with code 127 %(command not found%)", "the message names the node and exit 127")
  t.like(text, "FAIL missing_binary", "the verdict is FAIL")
  t.like(text, "exec /no/such/binary failed", "and shows the app's last line (tini's own words)")
  t.like(text, "exit codes: g exited 127 %(unexpected%)", "the exit summary says g exited 127")

  -- an app allowed to exit is not a failure
  core.write_file(f, [[
return natrig.scenario { name = "missing_binary_allowed", timeout = 120,
  run = function(net)
    net:gateway { name = "g", cmd = { "/no/such/binary" }, may_exit = true }
    net:up()
  end }
]])
  code, out = core.run({ bin, "run", f }, 180)
  t.is(code, 0, "with may_exit = true the same node passes: " .. tostring(out):match("[^\n]*$"))
end

-- 2. settle: the engine's word when no event came ------------------------------------------
do
  local lines = {}
  local net = natrig.network { engine = eng, scenario = "app_state_settle",
    log = function(m) lines[#lines + 1] = m end }
  local ok, err = pcall(function()
    -- quits exits when told, once the event stream is closed (a fixed 1 s was outlasted by
    -- net:up() at load 20: the exit's event came first)
    net:gateway { name = "quits", cmd = { "sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 3" } }
    net:gateway { name = "stays", cmd = { "sleep", "600" } }
    net:up()
    -- the event stream is closed, as if the exit's event had not come yet
    net.stop_watch()
    local q = net.by_name.quits
    q:exec { "touch", "/tmp/go" }
    local deadline = core.now() + 30
    repeat -- until the engine has it exited (asked here, not told natrig)
      local iok, info = pcall(eng.container_inspect, eng, q.id)
      if iok and not (info.State or {}).Running then break end
      natrig.task.sleep(0.1)
    until core.now() > deadline
    t.ok(net.by_name.quits.running ~= false, "no event told natrig that quits exited")
    watch.settle(net)
    t.is(net.by_name.quits.running, false, "settle learnt from the engine that quits exited")
    t.is(net.by_name.quits.exit_code, 3, "... with code 3")
    t.is(#(net.failures or {}), 1, "one failure before the verdict")
    t.like(tostring((net.failures or {})[1]), "the app of quits exited with code 3", "naming the node and the code")
    t.ok(net.by_name.stays.running ~= false, "the app still running is not blamed")
  end)
  t.ok(ok, "settle case ran: " .. tostring(err))
  net:down()
end

-- 3. pause and disconnect by someone else: named in the exit summary ---------------------------
do
  local lines = {}
  local net = natrig.network { engine = eng, scenario = "app_state_pause", log = function(m) lines[#lines + 1] = m end }
  local ok, err = pcall(function()
    local a = net:gateway { name = "a", cmd = { "sleep", "600" } }
    local b = net:gateway { name = "b", cmd = { "sleep", "600" } }
    local c = net:gateway { name = "c", cmd = { "sleep", "600" } }
    net:up()
    -- what `docker pause` and `docker network disconnect` do, not through natrig's methods
    eng:container_pause(a.id)
    eng:network_disconnect(net.public.name, b.holder, true)
    c:pause() -- natrig's own pause is named as the scenario's
    local deadline = core.now() + 10
    -- what natrig.watch noted (its x.life) of the pause and the disconnect
    local function seen() return a.life and a.life.paused and b.life and next(b.life.disconnected or {}) end
    while core.now() < deadline and not seen() do
      natrig.task.sleep(0.05)
    end
    local s = watch.summary(net)
    t.like(s, "a paused %(not by natrig%)", "the summary names a's pause: " .. s)
    t.like(s, "b running %(disconnected from " .. net.public.name:gsub("%p", "%%%0") .. ", not by natrig%)",
      "and b's disconnect, naming the network")
    t.like(s, "c paused %(by the scenario%)", "natrig's own pause is told apart")
    eng:container_unpause(a.id)
  end)
  t.ok(ok, "pause case ran: " .. tostring(err))
  net:down()
  local said = table.concat(lines, "\n")
  t.like(said, "exit codes: [^\n]*b running %(disconnected from", "the run's exit-codes line names the disconnect")
  t.like(said, "b was disconnected from network [^\n]*, not by natrig", "and it was said when it happened")
end

-- nothing left
for _, what in ipairs({ "app_state_settle", "app_state_pause" }) do
  local l = eng:container_list({ label = core.json_array { "natrig.scenario=" .. what } }, true)
  t.is(#l, 0, what .. ": no container left")
end
core.run({ "rm", "-rf", tmp })
eng:close()
t.done()
