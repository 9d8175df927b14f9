-- Log-flood benchmark (issue 12's bound at full size): N nodes (BENCH_LOG_NODES, default
-- 100) each print M MB (BENCH_LOG_MB, default 10) as fast as they can. natrig follows,
-- parses, keeps the newest entries within its budget and spills the rest; printed: the
-- time until every node's last line was parsed, against a floor measured in the same run
-- (the engine sending the same logs again to natrig's C client, every node at once,
-- demuxed and counted in C, not parsed), and natrig's peak RSS (issue 12: under 100 MB).
-- Never pass/fail. The floods start together once every node is up (a file /tmp/go made
-- in each by an exec), so the time measured is the logs', not a loaded engine's bring-up;
-- the time from the start of net:up() (bring-up included) is printed too.
-- BENCH_LOG_TRACE=FILE writes "seconds RSS-MB Lua-heap-MB" every 0.2 s while logs flow;
-- BENCH_LOG_FLOOR=0 skips the floor (the latency figures alone, minutes sooner).
-- wait_log latency under the flood (issue 30: median under 50 ms, p99 under 500 ms): while
-- its flood runs, each node also writes MARK-<i> on stderr every 0.25 s, and a task per node
-- waits for each mark in turn. A mark carries the time the app wrote it (t=, the shell's
-- $EPOCHREALTIME); its latency is from there to its wait_log returning, printed whole and
-- in parts: written -> the engine's stamp (the engine reading the app's pipe), stamp ->
-- the store (the engine writing the file, natrig reading it), store -> wait_log returning
-- (natrig's scheduler). For BENCH_LOG_WATCH nodes (default 5) an observer of its own
-- (fixtures/logwatch.lua, a process at nice -20 reading the json-files every 2 ms) splits
-- stamp -> store at the file: when the line was in the file. The load average is printed
-- beside the figures (a shared machine), and natrig's own nice value. A mark not seen
-- within 300 s is named, with what natrig had read of that node's log and the file's size.
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
      .. "while [ ! -e /tmp/flood-done ] || [ $i -lt 8 ]; do i=$((i+1)); "
      .. "echo \"2026-12-01T00:00:00.000000Z  INFO mark: MARK-$i t=$EPOCHREALTIME\" >&2; sleep 0.25; done; "
      -- in the marks' format: a plain line within 50 ms of one would continue its entry
      .. "echo \"2026-12-01T00:00:00.000000Z  INFO mark: MARK-END\" >&2; wait; exec sleep 3600")
      :format(LINE, math.floor(MB * 1000000)) } }
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
local marks = {} -- { node, i, written, stamp, stored, returned }
local stuck = {} -- marks never seen within 300 s: { node, i, err }
local markers = {}
for _, n in ipairs(net.nodes) do
  markers[#markers + 1] = task.spawn(function()
    local since
    for i = 1, 100000 do
      local ok, e = pcall(n.wait_log, n, { message = { "MARK-" .. i, "MARK-END" }, stream = "stderr", since = since,
        timeout = 300 })
      if not ok then -- said below, with what natrig had read of the node's log
        stuck[#stuck + 1] = { node = n, i = i, err = e }
        break
      end
      if e.message == "MARK-END" then break end
      local now = core.time()
      marks[#marks + 1] = { node = n.name, i = i, written = tonumber(e.fields.t), stamp = e.engine_time,
        stored = stored_at[e] or now, returned = now }
      since = e.engine_time
    end
  end, "marks of " .. n.name)
end
local t0 = core.now()
net:up()
local up = core.now() - t0
-- the observer of the files (the direct path only)
local WATCH = tonumber(os.getenv("BENCH_LOG_WATCH") or "") or 5
local watch_out = os.tmpname()
local watch_argv = { "nice", "-n", "-20", "lua5.4", "tests/bench/fixtures/logwatch.lua" }
for k = 1, math.min(WATCH, NODES) do
  local n = net.nodes[1 + (k - 1) * NODES // math.min(WATCH, NODES)]
  if n.log.log_route == "file" then watch_argv[#watch_argv + 1] = n.name .. "=" .. n.log.log_route_why end
end
local watcher = #watch_argv > 5 and core.spawn(watch_argv, { stdout = watch_out }) or nil
local t_go = core.now()
local cpu0, delay0 = cpu(), run_delay()
natrig.map(net.nodes, function(n) n:exec { "touch", "/tmp/go" } end, 64)
natrig.map(net.nodes, function(n) n:wait_log { match = "FLOOD-DONE", plain = true, timeout = 1800 } end, NODES)
local parsed = core.now() - t_go
local parsed_up = core.now() - t0
local cpu_parsed, delay_parsed = cpu() - cpu0, run_delay() - delay0
for _, m in ipairs(markers) do m:join() end
if watcher then
  watcher:kill()
  watcher:wait()
end
local in_file = {}
for l in io.lines(watch_out) do
  local name, i, at = l:match("^(%S+) (%d+) (%S+)$")
  if name then in_file[name .. " " .. i] = tonumber(at) end
end
os.remove(watch_out)
local lag_max = 0
for _, n in ipairs(net.nodes) do lag_max = math.max(lag_max, n.log.log_lag_max or 0) end
local hwm = vm("VmHWM")
sampling = false
local stalls = 0
for _, n in ipairs(net.nodes) do stalls = stalls + (n.log.follow_stalls or 0) end

-- floor: the same bytes from the engine again, all nodes at once, demuxed and counted in C
-- (core.count_sink: no Lua string), not parsed. BENCH_LOG_FLOOR=0 skips it (the latency
-- figures alone: the ratio is then not printed).
local t1 = core.now()
local bytes = 0
local FLOOR = os.getenv("BENCH_LOG_FLOOR") ~= "0"
natrig.map(FLOOR and net.nodes or {}, function(n)
  task.wait_for_timeout(1800, function(wake)
    net.eng:follow_logs(n.id, { follow = false, sink = core.count_sink() }, function(ev) bytes = bytes + ev.bytes end,
      function() wake(true) end)
  end, "reading the logs of " .. n.name)
end, NODES)
local floor = core.now() - t1

local load1 = loadavg()
local total = NODES * MB
print(("%d nodes x %g MB of logs (%g MB), load average %s at the start, %s at the end, natrig at nice %s:")
  :format(NODES, MB, total, load0, load1, tostring(core.nice())))
print(("  natrig follow + parse   %7.1fs  (%.1f MB/s, from the go to the last line parsed)"):format(parsed,
  total / parsed))
if FLOOR then
  print(("  floor: engine re-read   %7.1fs  (%.1f MB/s, %d MB framed, not parsed)"):format(floor,
    bytes / 1e6 / floor, bytes // 1000000))
  print(("  ratio                   %7.2f   (follows caught up after a stall: %d)"):format(parsed / floor, stalls))
  print(("  with bring-up           %7.1fs  (net:up() %.1fs, then the go; ratio %.2f)"):format(parsed_up, up,
    parsed_up / floor))
else
  print(("  floor: not measured (BENCH_LOG_FLOOR=0); net:up() %.1fs"):format(up))
end
print(("  natrig CPU go -> parsed %7.1fs  (%.0f%% of the time), %.1fs more ready but waiting for a CPU (machine load)")
  :format(cpu_parsed, 100 * cpu_parsed / parsed, delay_parsed))
print(("  largest lag of a follow %7.1fs  (engine stamp to parsed)"):format(lag_max))
local function pct(l, p) return #l > 0 and l[math.max(1, math.ceil(#l * p))] * 1000 or 0 / 0 end
-- a part of the marks' latency: from field a to field b of each mark that has both
local function part(a, b)
  local l = {}
  for _, m in ipairs(marks) do
    local x, y = m[a], m[b]
    if x and y then l[#l + 1] = y - x end
  end
  table.sort(l)
  return l
end
for _, m in ipairs(marks) do m.in_file = in_file[m.node .. " " .. m.i] end
local written = part("written", "returned")
if #written == 0 then written = part("stamp", "returned") end -- a shell without $EPOCHREALTIME
for _, l in ipairs { { written, "wait_log latency", "written -> returned, issue 30: 50 / 500 ms" },
  { part("written", "stamp"), "  of it: written -> stamp", "the engine reading the app's pipe" },
  { part("stamp", "stored"), "  stamp -> store", "the engine writing the file, natrig reading it" },
  { part("stamp", "in_file"), "    stamp -> in the file", "the observer's nodes: the engine's writing" },
  { part("in_file", "stored"), "    in the file -> store", "the observer's nodes: natrig's reading" },
  { part("stored", "returned"), "  store -> returned", "natrig's scheduler" } } do
  print(("  %-25s median %.0f ms, p99 %.0f ms, max %.0f ms over %d marks, %s")
    :format(l[2], pct(l[1], 0.5), pct(l[1], 0.99), pct(l[1], 1), #l[1], l[3]))
end
for _, x in ipairs(stuck) do
  local f = x.node.log.log_route == "file" and io.open(x.node.log.log_route_why, "rb")
  print(("  MARK-%d of %s never returned (%s); its log: %s; the file holds %s bytes"):format(x.i, x.node.name,
    tostring(x.err):match("[^\n]*"), require("natrig.logfollow").route_text(x.node),
    f and tostring(f:seek("end")) or "?"))
  if f then f:close() end
end
print(("  natrig RSS before %d MB, peak %d MB (issue 12's bound: 100 MB); Lua heap peak %.1f MB, now %.1f MB")
  :format(rss0, hwm, heap_peak, collectgarbage("count") / 1024))
net:down()
