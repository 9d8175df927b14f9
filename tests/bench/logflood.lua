-- Log-flood benchmark (issue 12's bound at full size): N nodes (BENCH_LOG_NODES, default
-- 100) each print M MB (BENCH_LOG_MB, default 10) as fast as they can. natrig follows,
-- parses, keeps the newest entries within its budget and spills the rest; printed: the
-- time until every node's last line was parsed, against a floor measured in the same run
-- (the engine sending the same logs again to natrig's C client, every node at once,
-- demuxed and counted in C, not parsed), and natrig's peak RSS (issue 12: under 100 MB).
-- Never pass/fail. The floods start together once every node is up (a file /tmp/go made
-- in each by an exec), so the time measured is the logs', not a loaded engine's bring-up;
-- the time from the start of net:up() (bring-up included) is printed too.
-- BENCH_LOG_TRACE=FILE writes "seconds RSS-MB Lua-heap-MB" every 0.2 s while logs flow.
-- wait_log latency under the flood (issue 30: median under 50 ms, p99 under 500 ms): while
-- its flood runs, each node also writes MARK-<i> on stderr every 0.25 s, and a task per node
-- waits for each mark in turn; a mark's latency is from the engine's stamp (the app wrote
-- it) to its wait_log returning, printed whole and in its two parts: stamp to the store
-- (the engine's own backlog, and natrig's reading) and store to wait_log returning
-- (natrig's scheduler). The load average is printed beside the figures (a shared machine).
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

local function loadavg() return ((core.read_file("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)")) or "?" end
local load0 = loadavg()
-- when a mark's entry reached the store: natrig.logs.wake is handed it right there
local logs = require "natrig.logs"
local stored_at = setmetatable({}, { __mode = "k" })
local logs_wake = logs.wake
logs.wake = function(node, woken)
  local now = core.time()
  for _, e in pairs(woken) do stored_at[e] = now end
  return logs_wake(node, woken)
end

local net = natrig.network { scenario = "bench-logflood", quiet = true }
for i = 1, NODES do
  net:gateway { name = "f" .. i, cmd = { "sh", "-c",
    ("while [ ! -e /tmp/go ]; do sleep 0.05; done; "
      .. "(yes '%s' | head -c %d; echo; echo FLOOD-DONE; touch /tmp/flood-done) & i=0; "
      .. "while [ ! -e /tmp/flood-done ] || [ $i -lt 8 ]; do i=$((i+1)); echo MARK-$i >&2; sleep 0.25; done; "
      .. "echo MARK-END >&2; wait; exec sleep 3600"):format(LINE, math.floor(MB * 1000000)) } }
end
local rss0 = vm("VmRSS")
-- natrig's own CPU seconds (user + system), to tell its work from waiting on the engine
local function cpu()
  local f = (core.read_file("/proc/self/stat") or ""):match("%) (.*)") or ""
  local v = {}
  for x in f:gmatch("%S+") do v[#v + 1] = x end
  return ((tonumber(v[12]) or 0) + (tonumber(v[13]) or 0)) / 100
end
-- and the seconds it was ready to run but waited for a CPU (a loaded machine)
local function run_delay()
  local b = (core.read_file("/proc/self/schedstat") or ""):match("%d+ (%d+)")
  return (tonumber(b) or 0) / 1e9
end
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
-- the mark waiters wait from the start (the marks begin with the floods)
local lats, to_store, to_return = {}, {}, {}
local markers = {}
for _, n in ipairs(net.nodes) do
  markers[#markers + 1] = task.spawn(function()
    local since
    for i = 1, 100000 do
      local e = n:wait_log { message = { "MARK-" .. i, "MARK-END" }, stream = "stderr", since = since, timeout = 1800 }
      if e.message == "MARK-END" then break end
      local now = core.time()
      lats[#lats + 1] = now - e.engine_time
      to_store[#to_store + 1] = (stored_at[e] or now) - e.engine_time
      to_return[#to_return + 1] = now - (stored_at[e] or now)
      since = e.engine_time
    end
  end, "marks of " .. n.name)
end
local t0 = core.now()
net:up()
local up = core.now() - t0
local t_go = core.now()
local cpu0, delay0 = cpu(), run_delay()
natrig.map(net.nodes, function(n) n:exec { "touch", "/tmp/go" } end, 64)
natrig.map(net.nodes, function(n) n:wait_log { match = "FLOOD-DONE", plain = true, timeout = 1800 } end, NODES)
local parsed = core.now() - t_go
local parsed_up = core.now() - t0
local cpu_parsed, delay_parsed = cpu() - cpu0, run_delay() - delay0
for _, m in ipairs(markers) do m:join() end
local lag_max = 0
for _, n in ipairs(net.nodes) do lag_max = math.max(lag_max, n.log.log_lag_max or 0) end
local hwm = vm("VmHWM")
sampling = false
local stalls = 0
for _, n in ipairs(net.nodes) do stalls = stalls + (n.log.follow_stalls or 0) end

-- floor: the same bytes from the engine again, all nodes at once, demuxed and counted in C
-- (core.count_sink: no Lua string), not parsed
local t1 = core.now()
local bytes = 0
natrig.map(net.nodes, function(n)
  task.wait_for_timeout(1800, function(wake)
    net.eng:follow_logs(n.id, { follow = false, sink = core.count_sink() }, function(ev) bytes = bytes + ev.bytes end,
      function() wake(true) end)
  end, "reading the logs of " .. n.name)
end, NODES)
local floor = core.now() - t1

local load1 = loadavg()
local total = NODES * MB
print(("%d nodes x %g MB of logs (%g MB), load average %s at the start, %s at the end:")
  :format(NODES, MB, total, load0, load1))
print(("  natrig follow + parse   %7.1fs  (%.1f MB/s, from the go to the last line parsed)"):format(parsed,
  total / parsed))
print(("  floor: engine re-read   %7.1fs  (%.1f MB/s, %d MB framed, not parsed)"):format(floor,
  bytes / 1e6 / floor, bytes // 1000000))
print(("  ratio                   %7.2f   (follows caught up after a stall: %d)"):format(parsed / floor, stalls))
print(("  with bring-up           %7.1fs  (net:up() %.1fs, then the go; ratio %.2f)"):format(parsed_up, up,
  parsed_up / floor))
print(("  natrig CPU go -> parsed %7.1fs  (%.0f%% of the time), %.1fs more ready but waiting for a CPU (machine load)")
  :format(cpu_parsed, 100 * cpu_parsed / parsed, delay_parsed))
print(("  largest lag of a follow %7.1fs  (engine stamp to parsed)"):format(lag_max))
local function pct(l, p) return #l > 0 and l[math.max(1, math.ceil(#l * p))] * 1000 or 0 / 0 end
for _, l in ipairs { { lats, "wait_log latency", "issue 30: 50 / 500 ms" },
  { to_store, "  of it: stamp -> store", "the engine's backlog and natrig's reading" },
  { to_return, "  store -> returned", "natrig's scheduler" } } do
  table.sort(l[1])
  print(("  %-23s median %.0f ms, p99 %.0f ms, max %.0f ms over %d marks, %s")
    :format(l[2], pct(l[1], 0.5), pct(l[1], 0.99), pct(l[1], 1), #l[1], l[3]))
end
print(("  natrig RSS before %d MB, peak %d MB (issue 12's bound: 100 MB); Lua heap peak %.1f MB, now %.1f MB")
  :format(rss0, hwm, heap_peak, collectgarbage("count") / 1024))
net:down()
