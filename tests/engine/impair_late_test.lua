-- The shaper says when it released late (needs:engine; issue 22 item 6). A shaper starved
-- of CPU releases held packets after their due time; impair_stats() reports that lateness
-- (p50, p99, max, and how many releases came later than 10% of their delay) and net:down()
-- logs a warning line in the run's summary. The starvation here is made certain rather than
-- hoped for: the shaper is stopped (SIGSTOP) for 400 ms while it holds packets of a 100 ms
-- delay, and a real rtt run measures what that did.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"

local PEER = "/usr/local/bin/natrig-peer"
local logged = {}
local net = natrig.network { scenario = "impair_late_test", log = function(m) logged[#logged + 1] = m end }
local ok, err = pcall(function()
  local ready = { log = "echo listening", plain = true }
  local g = net:gateway { name = "g", cmd = { PEER, "echo", "--port", "4000" }, ready = ready }
  local a = net:gateway { name = "a", cmd = { "sleep", "600" } }
  net:up()

  local function rtt(count)
    local r = a:exec { PEER, "rtt", "--to", g.public_ip .. ":4000", "--count", tostring(count), "--interval", "10",
      "--timeout", "2000" }
    local res = {}
    for k, v in r.stdout:gmatch("([%w_]+)=(%S+)") do res[k] = tonumber(v) or v end
    return res
  end

  a:impair { delay = "100ms" }
  local r1 = rtt(30)
  local st = a:impair_stats()[1] or {}
  -- real-time in a container: SCHED_FIFO where its cgroup has a real-time budget, else
  -- SCHED_DEADLINE (Docker under cgroup v1 with RT group scheduling, as here, gives none)
  t.ok(st.sched == "fifo" or st.sched == "deadline",
    "impair_stats says the shaper in a container runs real-time: " .. tostring(st.sched))
  for _, k in ipairs({ "late_n", "late_p50_us", "late_p99_us", "late_max_us", "late_over" }) do
    t.ok(type(st[k]) == "number", ("impair_stats has %s (%s)"):format(k, tostring(st[k])))
  end
  t.is(st.late_n, 30, "every held packet's lateness is counted")
  t.diag(("unloaded: rtt median %.1f ms; lateness p50 %s us, p99 %s us, %s of %s later than 10%%")
    :format(r1.median_ms or -1, tostring(st.late_p50_us), tostring(st.late_p99_us), tostring(st.late_over),
      tostring(st.late_n)))

  -- starve the shaper while it holds packets: 400 ms stopped, from 300 ms into a 600 ms run
  local r2
  natrig.parallel {
    function() r2 = rtt(60) end,
    function()
      natrig.sleep(0.3)
      a:netexec({ "sh", "-c", "kill -STOP $(pidof natrig-shaper); sleep 0.4; kill -CONT $(pidof natrig-shaper)" },
        { check = true })
    end,
  }
  t.ok((r2.max_ms or 0) > 300, ("the stop shows in the rtt run: max %.1f ms"):format(r2.max_ms or -1))
  st = a:impair_stats()[1] or {}
  t.ok((st.late_max_us or 0) >= 200000, ("late_max_us shows it: %s us"):format(tostring(st.late_max_us)))
  t.ok((st.late_over or 0) >= 5 and st.late_over * 100 > st.late_n,
    ("late_over counts the late releases: %s of %s"):format(tostring(st.late_over), tostring(st.late_n)))
  t.ok((st.late_p99_us or 0) >= 100000, ("late_p99_us: %s us"):format(tostring(st.late_p99_us)))
end)
t.ok(ok, "no unexpected error: " .. tostring(err))
net:down()
local warned
for _, l in ipairs(logged) do
  if l:find("^warning: impairment timing: natrig%-shaper on a %(node%-wide%) released %d+ of %d+ held packets") then
    warned = l
  end
end
t.ok(warned, "the run's summary warns that the shaper released late: " .. tostring(warned))
t.done()
