-- Bounded memory (needs:engine; it times nothing, so it runs among the parallel files): apps
-- that flood their logs do not grow natrig. 10 nodes
-- each print 10 MB; natrig follows and parses all of it, keeps the newest entries in
-- memory and the rest on disk, and its peak RSS stays under 100 MB. Old entries are still
-- found by queries (read back from disk), none is lost or repeated.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core

local NODES, BYTES = 10, 10 * 1000 * 1000
local LINE = "2026-12-01T00:00:00.000000Z  INFO flood::gen: a line of moderate length to fill the log n=1"

local function vm(field)
  local s = core.read_file("/proc/self/status") or ""
  return tonumber(s:match(field .. ":%s+(%d+)")) or 0
end

local net = natrig.network { scenario = "logflood_test", quiet = true }
local ok, err = pcall(function()
  for i = 1, NODES do
    net:gateway { name = "f" .. i, cmd = { "sh", "-c",
      ("echo FIRST-LINE; yes '%s' | head -c %d; echo; echo FLOOD-DONE; exec sleep 600"):format(LINE, BYTES) } }
  end
  local rss0 = vm("VmRSS")
  local t0 = core.now()
  net:up()
  natrig.parallel((function()
    local fns = {}
    for _, n in ipairs(net.nodes) do
      fns[#fns + 1] = function() n:wait_log { match = "FLOOD-DONE", plain = true, timeout = 240 } end
    end
    return fns
  end)())
  local secs = core.now() - t0
  local hwm = vm("VmHWM")
  local heap = collectgarbage("count") / 1024
  t.ok(secs < 240, ("%d nodes x %d MB followed and parsed in %.1fs (%.0f MB/s); RSS before %d MB, peak %d MB")
    :format(NODES, BYTES // 1000000, secs, NODES * BYTES / 1e6 / secs, rss0 // 1024, hwm // 1024))
  t.ok(heap < 32, ("the Lua heap holds %.1f MB after %d MB of logs (the budget, not the logs)")
    :format(heap, NODES * BYTES // 1000000))
  if (core.getenv("SANITIZE") or "") ~= "" then
    -- Under ASan the RSS is the sanitizer's (shadow memory, a 256 MB quarantine of freed
    -- blocks), not natrig's: the RSS bounds are the normal build's.
    t.diag(("sanitized build: RSS bounds not applied (peak %d MB)"):format(hwm // 1024))
  else
    t.ok(hwm < 100 * 1024, ("natrig's peak RSS stays under 100 MB (%d MB)"):format(hwm // 1024))
    -- Keeping every entry cost about 1.4 bytes of RSS per byte of log: growth must be far less.
    t.ok((hwm - rss0) * 1024 < NODES * BYTES / 2, ("RSS grew by %d MB for %d MB of logs")
      :format((hwm - rss0) // 1024, NODES * BYTES // 1000000))
  end
  local n1 = net.nodes[1]
  t.ok((n1.log.spilled or 0) > 0,
    ("older entries moved to disk (%d spilled, %d in memory)"):format(n1.log.spilled or 0, #n1.log.entries))
  local first = n1:logs { match = "FIRST-LINE", plain = true }
  t.is(#first, 1, "the very first line is still found by a query (read back from disk)")
  local all = #n1:logs {}
  local want = BYTES // (#LINE + 1) + 3 -- FIRST-LINE, the lines, the cut last line, FLOOD-DONE
  t.ok(math.abs(all - want) <= 1, ("every line is there once: %d entries (%d expected)"):format(all, want))
  local seqs_ok, last = true, 0
  for _, e in ipairs(n1:logs { match = "n=1", plain = true }) do
    if e.seq <= last then seqs_ok = false end
    last = e.seq
  end
  t.ok(seqs_ok, "entries come back in order, none repeated")
end)
t.ok(ok, "no error: " .. tostring(err))
net:down()

-- Rotation. Docker 20.10's follow breaks where the engine rotates a json-file log (this
-- machine's daemon.json: max-size 10m, 3 files): seen here, it either stopped for good
-- (a wait_log then hung to its timeout) or skipped the lines of the rotated file. natrig
-- gives its containers their own log size (NATRIG_ENGINE_LOG_SIZE, default 1g), so 12 MB
-- of output arrives whole; and when a file does rotate, wait_log does not hang on a stalled
-- follow: it fetches what the engine has and follows again (logs.catch_up).
local logs = require "natrig.logs"
local ROT = 12000000
local function rotating_node(name)
  return net:gateway { name = name, cmd = { "sh", "-c",
    ("echo FIRST-LINE; yes '%s' | head -c %d; echo; echo FLOOD-DONE; exec sleep 600"):format(LINE, ROT) } }
end
net = natrig.network { scenario = "logflood_test", quiet = true }
ok, err = pcall(function()
  local n = rotating_node("whole")
  net:up()
  local lc = net.eng:container_inspect(n.id).HostConfig.LogConfig
  t.is(lc.Type .. " " .. tostring(lc.Config["max-size"]), "json-file 1g",
    "natrig's containers log with its own size, not the daemon's")
  n:wait_log { match = "FLOOD-DONE", plain = true, timeout = 60 }
  local all, want = #n:logs {}, ROT // (#LINE + 1) + 3
  t.ok(math.abs(all - want) <= 1,
    ("12 MB past the daemon's 10 MB rotation: every line, once: %d entries (%d expected)"):format(all, want))
end)
t.ok(ok, "no error: " .. tostring(err))
net:down()

logs.engine_log_size, logs.engine_log_files = "10m", "3"
net = natrig.network { scenario = "logflood_test", quiet = true }
ok, err = pcall(function()
  local n = rotating_node("rotated")
  net:up()
  local t0 = core.now()
  n:wait_log { match = "FLOOD-DONE", plain = true, timeout = 60 }
  t.ok(core.now() - t0 < 30, ("a rotated log: wait_log finds the last line in %.1fs (follow resumed %d times)")
    :format(core.now() - t0, n.log.follow_stalls or 0))
end)
logs.engine_log_size, logs.engine_log_files = nil, nil
t.ok(ok, "rotated: no error: " .. tostring(err))
net:down()
t.done()
