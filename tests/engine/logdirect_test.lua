-- natrig-test: serial (an exit's last lines read at once: under 1 s; 3 MB through rotations)
-- The direct log path (needs:engine, needs:root): on a local engine natrig reads each
-- container's json-file log where the engine writes it (natrig.logfollow.route), woken by
-- inotify, instead of the engine's follow stream. Checked: both streams arrive with their
-- names and the engine's times, diagnostics and the timeline say which path a node's log
-- takes, an app that exits has its last lines at once (the file has all of them), a log
-- rotated by the engine arrives whole, every line once; a node on an engine reached over
-- tcp:// (the same engine, through socat) keeps the engine's follow stream.
local t = require "tap"
t.needs_engine()
local natrig = require "natrig"
local core = natrig.core
local logs = require "natrig.logs"

local TICK = [[
i=0
while true; do
  i=$((i+1)); echo "2026-12-01T00:00:00Z  INFO app::tick: tick n=$i"
  echo "2026-12-01T00:00:00Z  WARN app::tick: on stderr n=$i" >&2; sleep 0.1
done]]
local EXIT = [[
sleep 1.5; echo "2026-12-01T00:00:00Z  INFO app::main: about to end"
echo "2026-12-01T00:00:00Z ERROR app::main: the last words" >&2; exit 3]]
local LINE = "2026-12-01T00:00:00.000000Z  INFO flood::gen: a line of moderate length to fill the log n=1"
local ROT = 3000000

-- the engine rotates the logs of this network's nodes at 1 MB, keeping 10 files: more
-- than natrig can fall behind here, so every line must come (with max-file 3 a reader 2 MB
-- behind finds the file it needs next removed: diagnostics then say lines were lost)
logs.engine_log_size, logs.engine_log_files = "1m", "10"
local net = natrig.network { scenario = "logdirect_test", quiet = true }
local ok, err = pcall(function()
  local a = net:gateway { name = "a", cmd = { "sh", "-c", TICK } }
  local x = net:gateway { name = "x", cmd = { "sh", "-c", EXIT }, may_exit = true }
  local r = net:gateway { name = "r", cmd = { "sh", "-c",
    ("echo FIRST-LINE; yes '%s' | head -c %d; echo; echo FLOOD-DONE; exec sleep 600"):format(LINE, ROT) } }
  net:up()
  t.like(a:diagnostics().log, "^read from the engine's json%-file /.*" .. a.id .. "%-json%.log",
    "diagnostics: the log is read from the container's json-file")
  local e = a:wait_log { match = "tick n=3", plain = true, timeout = 10 }
  t.is(e.stream, "stdout", "a stdout line comes as stdout")
  t.ok(math.abs(e.engine_time - core.time()) < 5, "with the engine's time of the line")
  t.is(e.level, "info", "parsed as a follow's line is")
  local w = a:wait_log { match = "on stderr n=5", plain = true, timeout = 10 }
  t.is(w.stream, "stderr", "a stderr line comes as stderr")
  t.ok(w.seq > e.seq, "in the order the app wrote them (across the two streams)")
  -- a line written now: wait_log returns soon after (the exec's round trip included)
  local mark = "mark-" .. math.random(1e9)
  local waiter = natrig.spawn(function() return a:wait_log { match = mark, plain = true, timeout = 10 } end)
  natrig.sleep(0.05)
  local t0 = core.now()
  a:exec { "sh", "-c", "echo " .. mark .. " > /proc/1/fd/1" }
  waiter:join()
  t.diag(("a line written by an exec: wait_log returned %.0f ms after the exec began"):format((core.now() - t0) * 1000))
  local noted = false
  for _, act in ipairs(net.actions) do
    if act.message:find("log of a read from the engine's json-file", 1, true) then noted = true end
  end
  t.ok(noted, "the timeline says the log of a is read from its json-file")

  -- an app that exits: a wait on a line it never wrote fails at once with its last lines
  local t1 = core.now()
  local wok, werr = pcall(x.wait_log, x, { match = "never written", timeout = 20 })
  local took = core.now() - t1
  t.ok(not wok and tostring(werr):find("exited with code 3", 1, true) ~= nil, "a wait on an exited app fails: "
    .. tostring(werr):gsub("\n.*", ""))
  t.ok(tostring(werr):find("the last words", 1, true) ~= nil,
    "its message holds the last line, written just before the exit")
  t.ok(took < 5, ("it fails when the app exits (%.1fs after the wait began, the app's 1.5 s included)"):format(took))
  t.is(x.log.following, false, "the exited app's log is read to its end")

  -- the engine's rotation: every file is read, each line once
  r:wait_log { match = "FLOOD-DONE", plain = true, timeout = 40 }
  local all, want = #r:logs {}, ROT // (#LINE + 1) + 3
  t.ok(math.abs(all - want) <= 1, ("3 MB through rotations at 1 MB: every line, once: %d entries (%d expected)")
    :format(all, want))
  local d = r:diagnostics().log
  local rot = tonumber(d:match("(%d+) rotations")) or 0
  t.ok(rot >= 3 and not d:find("lost", 1, true), ("the engine rotated the file %d times and natrig followed: %s")
    :format(rot, d:match("%((.*)%)") or d))
end)
logs.engine_log_size, logs.engine_log_files = nil, nil
t.ok(ok, "no error: " .. tostring(err))
net:down()

-- an engine reached over tcp:// (this engine, forwarded by socat): the follow stream
local port = 25000 + math.random(0, 1999)
local socat = core.spawn({ "socat", ("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork"):format(port),
  "UNIX-CONNECT:/var/run/docker.sock" }, { stderr = "/dev/null" })
natrig.sleep(0.3)
ok, err = pcall(function()
  net = natrig.network { scenario = "logdirect_test", quiet = true, hosts = { ("tcp://127.0.0.1:%d"):format(port) } }
  local b = net:gateway { name = "b", cmd = { "sh", "-c", TICK } }
  net:up()
  t.like(b:diagnostics().log,
    "^the engine's follow stream %(the engine, tcp://127%.0%.0%.1:%d+, is not on a local socket%)",
    "diagnostics: a node on a tcp:// engine keeps the engine's follow stream")
  local e = b:wait_log { match = "on stderr n=2", plain = true, timeout = 10 }
  t.is(e.stream, "stderr", "its lines arrive by the stream")
end)
t.ok(ok, "tcp://: no error: " .. tostring(err))
pcall(net.down, net)
socat:kill()
socat:wait()
t.done()
