-- Log query benchmark (issue 30): one node's log of BENCH_QUERY_MB (default 1024) MB goes
-- through the C log store (natrig.core.log_store: parse, index, spill over a 4 MB budget),
-- fed directly (no engine: this measures the store, logflood measures the whole path).
-- Printed: the ingest rate, then the time of queries over it, most of it spilled: one
-- message (its spill chunks are found by their index), a level, a plain match (reads
-- every chunk), the first entry (wait_log's first look). Issue 30's bound: a query for one
-- message over 1 GB under 1 s. Never pass/fail.
local natrig = require "natrig"
local core = natrig.core

local MB = tonumber(os.getenv("BENCH_QUERY_MB") or "") or 1024
local dir = os.getenv("TMPDIR") or "/tmp"
dir = dir .. "/natrig-bench-logquery-" .. tostring(core.time()):gsub("%.", "")
core.mkdir_p(dir)

-- Realistic lines: few distinct messages, varying fields (what structured loggers write).
local MSGS = { "connection established", "sent packet", "received packet", "peer ping",
  "routing table updated", "handshake step" }
local lines = {}
local size = 0
local i = 0
while size < 1048576 do
  i = i + 1
  local l = ("2026-12-01T00:%02d:%02d.%06dZ  INFO freenet::transport::peer: %s peer=10.1.%d.%d:31337 n=%d seq=%d")
    :format((i // 60000) % 60, (i // 1000) % 60, i % 1000000, MSGS[i % #MSGS + 1], i % 250, i % 200, i, i * 7)
  lines[#lines + 1] = l
  size = size + #l + 1
end
local block = table.concat(lines, "\n") .. "\n"

local st = core.log_store("bench", dir .. "/bench.spill", nil)
local f = st:feeder("stdout")
local budget = 4 * 1048576
local t0 = core.now()
local fed = 0
local n_blocks = MB * 1048576 // #block
for b = 1, n_blocks do
  if b == n_blocks // 2 then
    st:feed(f, "2026-12-01T00:30:00.000000Z ERROR freenet::node: the one message that matters peer=x\n", false, budget)
  end
  st:feed(f, block, false, budget)
  fed = fed + #block
end
local ingest = core.now() - t0
local stats = st:stats()

local function timed(what, q, limit)
  local t = core.now()
  local r = st:query(q, limit)
  local dt = core.now() - t
  print(("  %-38s %7.3fs  (%d found)"):format(what, dt, #r))
  return dt
end

print(("%d MB of one node's log (%d entries, %d spilled, %d MB spilled, %d KB in memory):")
  :format(fed // 1048576, stats.seq, stats.spilled, stats.spill_bytes // 1048576, stats.mem_bytes // 1024))
print(("  ingest (parse, index, spill)          %7.1fs  (%.0f MB/s)"):format(ingest, fed / 1048576 / ingest))
-- The first query reads the spill from disk: its pages are written out and dropped from
-- the page cache first (sync, then dd iflag=nocache: coreutils' posix_fadvise DONTNEED),
-- where the tools allow; the second reads what the first brought into the cache.
local spill = dir .. "/bench.spill"
local synced = core.run { "sync", spill } == 0
local dropped = synced and core.run { "dd", "if=" .. spill, "iflag=nocache", "count=0", "status=none" } == 0
print(("  the spill's pages %s"):format(dropped and "dropped from the page cache: the first query reads the disk"
  or "not dropped (sync or dd failed): the first query may read the page cache"))
timed("message = one message", { message = "the one message that matters" })
timed("message = one message (again)", { message = "the one message that matters" })
timed("level = error", { level = "error" })
timed("match = plain text (reads every chunk)", { match = "the one message", plain = true })
timed("first entry matching (wait_log's look)", { target = "freenet::transport" }, 1)
print(("  natrig RSS %d MB (peak %d MB)"):format(
  (tonumber((core.read_file("/proc/self/status") or ""):match("VmRSS:%s+(%d+)")) or 0) // 1024,
  (tonumber((core.read_file("/proc/self/status") or ""):match("VmHWM:%s+(%d+)")) or 0) // 1024))
st:close()
os.remove(dir .. "/bench.spill")
core.rmdir(dir)
