-- Never hang at scale (needs:engine): a network above the old connection cap (40 nodes,
-- each with a log follow) still answers execs, and every follow still delivers. Apart
-- from liveness_test.lua, whose deadlines are judged by the clock: this times nothing.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core
local task = natrig.task

local eng = natrig.engine()

local function count(label)
  return #eng:container_list({ label = core.json_array { label } }, true)
end

------------------------------------------------------------------ 40 nodes, one exec each
do
  local net = natrig.network { engine = eng, scenario = "liveness_scale", quiet = true }
  local ok, err = pcall(function()
    for i = 1, 40 do
      net:gateway { name = "g" .. i, cmd = { "sh", "-c", "echo up; exec sleep 600" },
        ready = { log = "up", timeout = 60 } }
    end
    local t0 = core.now()
    net:up()
    t.ok(true, ("40 nodes up, each followed (%.1fs)"):format(core.now() - t0))
    local t1 = core.now()
    local codes = task.map(net.nodes, function(n)
      return n:exec({ "echo", "hi-" .. n.name }).stdout
    end, 40)
    local good = 0
    for i, out in ipairs(codes) do if out == ("hi-g%d\n"):format(i) then good = good + 1 end end
    t.is(good, 40, ("an exec in each of the 40 nodes answers (%.2fs for all)"):format(core.now() - t1))
    local e = net.nodes[40]:wait_log { match = "up", timeout = 5 }
    t.ok(e ~= nil, "log follows of all 40 nodes still deliver")
  end)
  t.ok(ok, "no error with 40 nodes: " .. tostring(err))
  local run_id = net.session.run_id
  net:down()
  t.is(count("natrig.run=" .. run_id), 0, "40-node network removed")
end

eng:close()
t.done()
