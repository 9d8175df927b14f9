-- Log files (needs:engine): a profile whose program writes log files (log_files, as the
-- Freenet profile's) has them read through the same C store as the engine's streams:
-- entries with stream "file:<name>", parsed (level, fields), found by queries and waits,
-- a wait answered soon after the line is written (inotify, not a scan of every node's
-- directory), and a file that grows by megabytes read in bounded pieces, every line once.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core

local SCRIPT = [[
i=0
while [ $i -lt 20 ]; do
  i=$((i+1)); echo "2026-12-01T00:00:00Z  INFO app::file: file line n=$i" >> /natrig/logs/app.log; sleep 0.05
done
yes '2026-12-01T00:00:00Z DEBUG app::bulk: a bulk line of moderate length n=1' | head -n 40000 >> /natrig/logs/bulk.log
echo "2026-12-01T00:00:00Z  WARN app::file: bulk written" >> /natrig/logs/app.log
echo not-a-log > /natrig/logs/ignored.txt
exec sleep 600
]]

local profile = { name = "filelogger", log_files = "%.log$", ready = false,
  gateway = function() return { "sh", "-c", SCRIPT } end }

local net = natrig.network { scenario = "logfiles_test", quiet = true }
local ok, err = pcall(function()
  local a = net:gateway { name = "a", profile = profile }
  net:up()
  local e = a:wait_log { match = "file line n=20", plain = true, timeout = 20 }
  t.is(e.stream, "file:app.log", "an entry from a log file names its file")
  t.is(e.level, "info", "parsed: level")
  t.is(e.fields.n, "20", "parsed: fields")
  local lat = {}
  for _ = 1, 5 do
    local mark = ("mark-%d"):format(math.random(1e9))
    local waiter = natrig.spawn(function() return a:wait_log { match = mark, plain = true, timeout = 10 } end)
    natrig.sleep(0.05)
    local t0 = core.now()
    a:exec { "sh", "-c", "echo '2026-12-01T00:00:00Z  INFO app::file: " .. mark .. "' >> /natrig/logs/app.log" }
    waiter:join()
    lat[#lat + 1] = core.now() - t0
  end
  table.sort(lat)
  t.diag(("wait_log on a log file, from the exec that writes the line: median %.0f ms, max %.0f ms")
    :format(lat[3] * 1000, lat[5] * 1000))
  t.ok(lat[3] < 1, "a line written to a log file is waited for within a second")
  a:wait_log { match = "bulk written", timeout = 30 }
  local bulk = a:logs { stream = "file:bulk.log" }
  t.is(#bulk, 40000, "a file of 2.9 MB, read in pieces: every line once")
  t.is(#a:logs { match = "not-a-log", plain = true }, 0, "files not matching log_files are left alone")
  t.is(#a:logs { stream = "file:app.log", level = "warn" }, 1, "queries by file stream and level")
end)
t.ok(ok, "no error: " .. tostring(err))
net:down()
t.done()
