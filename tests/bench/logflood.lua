-- Log-flood benchmark (issue 12's bound at full size): N nodes (BENCH_LOG_NODES, default
-- 100) each print M MB (BENCH_LOG_MB, default 10) as fast as they can. natrig follows,
-- parses, keeps the newest entries within its budget and spills the rest; printed: the
-- time until every node's last line was parsed, against a floor measured in the same run
-- (the engine sending the same logs again to natrig's C client, every node at once, not
-- parsed), and natrig's peak RSS (issue 12: under 100 MB). Never pass/fail.
-- BENCH_LOG_TRACE=FILE writes "seconds RSS-MB Lua-heap-MB" every 0.2 s while logs flow.
local natrig = require "natrig"
local core = natrig.core
local task = natrig.task

local NODES = tonumber(os.getenv("BENCH_LOG_NODES") or "") or 100
local MB = tonumber(os.getenv("BENCH_LOG_MB") or "") or 10
local LINE = "2026-12-01T00:00:00.000000Z  INFO flood::gen: a line of moderate length to fill the log n=1"

local function vm(field)
  local s = core.read_file("/proc/self/status") or ""
  return (tonumber(s:match(field .. ":%s+(%d+)")) or 0) // 1024
end

local net = natrig.network { scenario = "bench-logflood", quiet = true }
for i = 1, NODES do
  net:gateway { name = "f" .. i, cmd = { "sh", "-c",
    ("yes '%s' | head -c %d; echo; echo FLOOD-DONE; exec sleep 3600"):format(LINE, MB * 1000000) } }
end
local rss0 = vm("VmRSS")
-- where the memory is: the Lua heap's peak, sampled while the logs flow
local heap_peak, sampling = 0, true
local trace = os.getenv("BENCH_LOG_TRACE") and io.open(os.getenv("BENCH_LOG_TRACE"), "w")
task.spawn(function()
  local t00 = core.now()
  while sampling do
    local heap = collectgarbage("count") / 1024
    heap_peak = math.max(heap_peak, heap)
    if trace then trace:write(("%.1f %d %.1f\n"):format(core.now() - t00, vm("VmRSS"), heap)) end
    natrig.sleep(0.2)
  end
  if trace then trace:close() end
end, "heap sampler")
local t0 = core.now()
net:up()
local up = core.now() - t0
natrig.map(net.nodes, function(n) n:wait_log { match = "FLOOD-DONE", plain = true, timeout = 1800 } end, NODES)
local parsed = core.now() - t0
local hwm = vm("VmHWM")
sampling = false
local stalls = 0
for _, n in ipairs(net.nodes) do stalls = stalls + (n.follow_stalls or 0) end

-- floor: the same bytes from the engine again, all nodes at once, counted and dropped
local t1 = core.now()
local bytes = 0
natrig.map(net.nodes, function(n)
  task.wait_for_timeout(1800, function(wake)
    net.eng:follow_logs(n.id, { follow = false }, function(o, e) bytes = bytes + #o + #e end,
      function() wake(true) end)
  end, "reading the logs of " .. n.name)
end, NODES)
local floor = core.now() - t1

local total = NODES * MB
print(("%d nodes x %d MB of logs (%d MB):"):format(NODES, MB, total))
print(("  natrig follow + parse   %7.1fs  (%.1f MB/s; bring-up %.1fs included)"):format(parsed, total / parsed, up))
print(("  floor: engine re-read   %7.1fs  (%.1f MB/s, %d MB framed, not parsed)"):format(floor,
  bytes / 1e6 / floor, bytes // 1000000))
print(("  ratio                   %7.2f   (follows caught up after a stall: %d)"):format(parsed / floor, stalls))
print(("  natrig RSS before %d MB, peak %d MB (issue 12's bound: 100 MB); Lua heap peak %.1f MB, now %.1f MB")
  :format(rss0, hwm, heap_peak, collectgarbage("count") / 1024))
net:down()
