-- natrig-test: serial (deadlines and exits judged by the clock)
-- Never hang, never lie (needs:engine): deadlines fire whatever the scheduler waits on,
-- naming what was pending; apps that exit unasked fail the run at once; exits natrig was
-- asked for (or allowed) do not. (40 nodes above the old connection cap:
-- liveness_scale_test.lua, which times nothing.)
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core
local scenario = require "natrig.scenario"

local eng = natrig.engine()

-- Run a scenario definition the way `natrig run` does; returns the result and the
-- seconds to its verdict (res.duration: what the deadline checks bound). Artifacts and
-- teardown come after, are the engine's work (slower on a loaded machine) and have their
-- own bound here.
local function run(def)
  def = natrig.scenario(def)
  local t0 = core.now()
  local res = scenario.run(def, { engine = eng, log = function() end })
  local after = core.now() - t0 - res.duration
  t.ok(after < 60, ("%s: artifacts and teardown done %.2fs after the verdict"):format(def.name, after))
  return res, res.duration
end

local function count(label, what)
  local filters = { label = core.json_array { label } }
  if what == "networks" then return #eng:network_list(filters) end
  return #eng:container_list(filters, true)
end

------------------------------------------------------------------ deadlines
do
  local res, secs = run { name = "endless_parallel", timeout = 5, run = function()
    natrig.parallel(function() while true do natrig.sleep(0.5) end end,
      function() natrig.sleep(1e9) end)
  end }
  t.ok(not res.ok and secs <= 6, ("timeout = 5 with endless parallel branches ends in %.2fs"):format(secs))
  t.like(res.error, "timed out after 5 s", "the error says it timed out")
  t.like(res.error, "parallel#1 %(sleep", "and names the pending tasks")

  res, secs = run { name = "swallowing_pcall", timeout = 3, run = function()
    -- A pcall around a wait cannot swallow the deadline: it is raised again.
    for _ = 1, 5 do pcall(natrig.sleep, 100) end
    natrig.sleep(100)
  end }
  t.ok(not res.ok and secs <= 4, ("a pcall cannot swallow the deadline (%.2fs)"):format(secs))

  res, secs = run { name = "nested_waits", timeout = 3, run = function()
    local tk = natrig.spawn(function()
      natrig.parallel(function()
        natrig.map({ 1, 2, 3 }, function() natrig.sleep(1e6) end, 2)
      end)
    end, "outer")
    tk:wait()
  end }
  t.ok(not res.ok and secs <= 4, ("nested waits (task -> parallel -> map) end at the deadline (%.2fs)"):format(secs))
  t.like(res.error, "outer %(", "the pending outer task is named")

  res, secs = run { name = "deadline_in_up", timeout = 4, run = function(net)
    net:gateway { name = "slow", cmd = { "sleep", "600" }, ready = { log = "never printed", timeout = 300 } }
    net:up()
  end }
  t.ok(not res.ok and secs <= 6, ("timeout = 4 around net:up() ends in %.2fs (readiness timeout 300)"):format(secs))
  t.like(res.error, "slow", "the pending bring-up of 'slow' is named")
  t.is(count("natrig.run=" .. res.run_id), 0, "and its containers are gone")

  res, secs = run { name = "branch_error", timeout = 30, run = function()
    natrig.parallel(function() natrig.sleep(20) end, function() natrig.sleep(0.2); error("branch two broke") end)
  end }
  t.ok(not res.ok and secs < 3, ("an error in one parallel branch ends the call at once (%.2fs)"):format(secs))
  t.like(res.error, "branch two broke", "with that branch's error")
end

------------------------------------------------------------------ liveness
do
  local res, secs = run { name = "missing_binary", timeout = 60, run = function(net)
    net:gateway { name = "ghost", cmd = { "/no/such/program" }, ready = { log = "never", timeout = 90 } }
    net:up()
  end }
  t.ok(not res.ok and secs <= 5, ("a missing binary fails up() in %.2fs (readiness timeout 90)"):format(secs))
  t.like(res.error, "ghost", "naming the node")
  t.like(res.error, "code 127", "and its exit code")

  res, secs = run { name = "exit_mid_run", timeout = 60, run = function(net)
    net:gateway { name = "ok1", cmd = { "sleep", "600" } }
    net:gateway { name = "crasher", cmd = { "sh", "-c", "echo started; sleep 1; echo dying >&2; exit 3" },
      ready = { log = "started", timeout = 20 } }
    net:up()
    natrig.sleep(30) -- the scenario would pass after this if nobody watched
  end }
  t.ok(not res.ok and secs < 10, ("an app exiting mid-run fails the scenario at once (%.2fs, not 30)"):format(secs))
  t.like(res.error, "crasher exited with code 3", "naming node and exit code")
  t.like(res.error, "dying", "with its last lines")

  res = run { name = "exit_no_ready", timeout = 60, run = function(net)
    net:gateway { name = "quick", cmd = { "sh", "-c", "exit 4" } }
    net:up()
    natrig.sleep(5)
  end }
  t.ok(not res.ok, "an app without readiness that exits at once fails the run")
  t.like(res.error, "quick exited with code 4", "naming it")

  res = run { name = "allowed_exits", timeout = 60, run = function(net)
    local a = net:gateway { name = "a", cmd = { "sh", "-c", "echo hi; exec sleep 600" }, ready = { log = "hi" } }
    local b = net:gateway { name = "oneshot", cmd = { "sh", "-c", "echo done; exit 0" }, may_exit = true }
    net:up()
    a:kill()
    natrig.sleep(0.5)
    a:start()
    a:wait_log { match = "hi", timeout = 5 }
    a:restart(1)
    a:stop(1)
    natrig.sleep(0.5)
    b:wait_log { match = "done", timeout = 5 }
  end }
  t.ok(res.ok, "kill, start, restart, stop and a may_exit node's exit do not fail the run: " .. tostring(res.error))

  res, secs = run { name = "wait_on_dead", timeout = 60, run = function(net)
    local d = net:gateway { name = "d", cmd = { "sh", "-c", "echo hello; exec sleep 600" }, ready = { log = "hello" } }
    net:up()
    d:kill()
    natrig.sleep(0.3)
    d:wait_log { match = "never printed", timeout = 30 }
  end }
  t.ok(not res.ok and secs < 5, ("wait_log on a killed node fails at once (%.2fs, timeout 30)"):format(secs))
  t.like(res.error, "exited with code 137", "saying the app exited")
end

eng:close()
t.done()
