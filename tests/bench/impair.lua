-- Impairment benchmark: (1) what the first impair on a node costs (it starts the node's
-- natrig-shaper) against a later change, and the latency of a mid-run change, against the
-- floor of one engine exec round trip measured in the same run; (2) delay accuracy of the
-- userspace shaper: set 20/50/100 ms each way, measure RTT with natrig-peer rtt; (3) the
-- same 100 ms with every CPU of this machine busy (one shell loop per CPU), the RTT error
-- and the shaper's own release lateness (impair_stats: p50/p99/max, releases later than 10%
-- of their delay) and how it is scheduled (fifo where real-time is permitted).
local natrig = require "natrig"
local core = natrig.core
local PEER = "/usr/local/bin/natrig-peer"

local net = natrig.network { scenario = "bench-impair", quiet = true }
local gw = net:gateway { name = "gw", cmd = { PEER, "echo", "--port", "4000" } }
local a = net:peer { name = "a", nat = "port_restricted", cmd = { "sleep", "600" } }
local b = net:peer { name = "b", nat = "port_restricted", cmd = { "sleep", "600" } } -- (3)
local others = {}
for i = 1, 5 do others[i] = net:gateway { name = "o" .. i, cmd = { "sleep", "600" } } end
net:up()
local function median(l) table.sort(l) return l[(#l + 1) // 2] end

-- floor: an exec round trip (what a change would cost through the engine)
local floor = {}
for i = 1, 20 do local t0 = core.now(); a:netexec { "true" }; floor[i] = core.now() - t0 end
-- the floor of starting the shaper: a detached exec, then its control socket answers
local dfloor = {}
for i = 1, 5 do
  local t0 = core.now(); net.eng:exec_detached(a.holder, { "true" }); dfloor[i] = core.now() - t0
end

-- first impair of the run (also probes the engine: netem or userspace), of other nodes,
-- then later changes on the same nodes
local t0 = core.now()
a:impair { delay = "1ms" }
local first_run = core.now() - t0
local first, later = {}, {}
for i, n in ipairs(others) do
  t0 = core.now(); n:impair { delay = "2ms" }; first[i] = core.now() - t0
  t0 = core.now(); n:impair { delay = "3ms" }; later[i] = core.now() - t0
end
local fm, dm = median(floor), median(dfloor)
print(("first impair of the run %.1f ms (starts the shaper and probes netem once)"):format(first_run * 1000))
print(("first impair on a node: median %.1f ms over %d (floor: exec round trip %.1f ms, detached exec %.1f ms)")
  :format(median(first) * 1000, #first, fm * 1000, dm * 1000))
print(("later change on the same nodes: median %.2f ms; first minus later %.1f ms = %.2f detached exec floors")
  :format(median(later) * 1000, (median(first) - median(later)) * 1000, (median(first) - median(later)) / dm))
for _, n in ipairs(others) do n:clear_impair() end
local change = {}
for i = 1, 50 do change[i] = a:impair({ delay = (1 + i % 7) .. "ms" }).seconds end
local cm = median(change)
print(("mid-run change: median %.2f ms over 50 (goal <= 50 ms); floor exec round trip %.1f ms; ratio %.3f")
  :format(cm * 1000, fm * 1000, cm / fm))
a:clear_impair()

local function rtt(from)
  local r = (from or a):exec { PEER, "rtt", "--to", gw.public_ip .. ":4000", "--count", "100", "--interval", "10" }
  return tonumber(r.stdout:match("median_ms=(%S+)")), tonumber(r.stdout:match("max_ms=(%S+)")),
    tonumber(r.stdout:match("avg_ms=(%S+)"))
end
local function late(x)
  local st = x:impair_stats()[1] or {}
  return ("shaper lateness p50 %s us, p99 %s us, max %s us, %s of %s later than 10%% (sched %s)"):format(
    tostring(st.late_p50_us), tostring(st.late_p99_us), tostring(st.late_max_us), tostring(st.late_over),
    tostring(st.late_n), tostring(st.sched))
end
local base = rtt()
print(("baseline RTT %.3f ms"):format(base))
for _, d in ipairs({ 20, 50, 100 }) do
  a:impair { delay = d .. "ms", direction = "both" }
  local m, mx = rtt()
  local added = m - base
  print(("delay %3d ms each way: RTT +%.2f ms (want +%d), error %.2f ms (%.2f%%), max RTT %.1f ms")
    :format(d, added, 2 * d, added - 2 * d, 100 * (added - 2 * d) / (2 * d), mx))
end
print("idle, over the three steps: " .. late(a))
a:clear_impair()

-- (3) under load: b gets 100 ms each way and a shaper of its own (counters for this step only)
local base_b = rtt(b)
b:impair { delay = "100ms", direction = "both" }
local ncpu = tonumber(io.popen("nproc"):read("l")) or 2
local pids = {}
for i = 1, ncpu do pids[i] = io.popen("sh -c 'while :; do :; done' >/dev/null 2>&1 & echo $!"):read("l") end
local ok, m, mx, avg = pcall(rtt, b)
for _, p in ipairs(pids) do os.execute("kill " .. p) end
if ok then
  print(("delay 100 ms each way, %d CPUs busy: RTT +%.2f ms (want +200), median error %.2f ms (%.2f%%), "
    .. "mean error %.2f ms, max RTT %.1f ms"):format(ncpu, m - base_b, m - base_b - 200,
    100 * (m - base_b - 200) / 200, avg - base_b - 200, mx))
  print(("  %s"):format(late(b)))
else
  print("the loaded step failed: " .. tostring(m))
end
net:down()
