-- natrig exec's and natrig logs' argument parsing, --since times and the parsed-line
-- format (pure: no engine; the commands themselves run in tests/engine/exec_logs_test.sh).
local t = require "tap"
require "natrig"
local exec = require "natrig.cmd.exec"
local logs = require "natrig.cmd.logs"
local core = require "natrig.core"

local o = exec.parse { "r1", "gw", "--", "ip", "route" }
t.ok(o and o.run == "r1" and o.node == "gw" and o.argv[1] == "ip" and o.argv[2] == "route" and not o.t,
  "exec RUN NODE -- argv")
o = exec.parse { "r1", "gw", "ls", "--help" }
t.ok(o and o.argv[1] == "ls" and o.argv[2] == "--help", "exec without --: the rest is argv, --help included")
o = exec.parse { "-it", "r1", "gw" }
t.ok(o and o.i and o.t and o.argv[1] == "sh" and #o.argv == 1, "exec -it without argv: sh")
o = exec.parse { "-i", "-t", "--holder", "--user", "nobody", "--env", "A=1", "--env", "B=2", "r1", "a", "id" }
t.ok(o and o.i and o.t and o.holder and o.user == "nobody" and o.env[1] == "A=1" and o.env[2] == "B=2"
  and o.argv[1] == "id", "exec options")
local _, err = exec.parse { "r1", "gw" }
t.like(err, "give the command", "exec without argv or -t: usage")
_, err = exec.parse { "--bogus", "r1", "gw", "x" }
t.like(err, "unknown option '%-%-bogus'", "exec: an unknown option is named")
_, err = exec.parse { "--env", "NOEQUALS", "r1", "gw", "x" }
t.like(err, "want K=V", "exec --env wants K=V")
_, err = exec.parse { "r1" }
t.like(err, "give RUN and NODE", "exec without NODE")
t.is(exec.opaque_from { "--user", "u", "-t", "r1", "gw", "ls", "--help" }, 6, "exec: argv starts after NODE")

local now = 1000000
t.is(logs.since("30s", now), now - 30, "--since 30s")
t.is(logs.since("10m", now), now - 600, "--since 10m")
t.is(logs.since("2h", now), now - 7200, "--since 2h")
t.is(logs.since("1d", now), now - 86400, "--since 1d")
t.is(logs.since("1765000000.5", now), 1765000000.5, "--since epoch seconds")
t.is(logs.since("2026-12-07T10:00:00", now), 1796637600, "--since an ISO time is UTC")
t.is(logs.since("2026-12-07T10:00:00Z", now), 1796637600, "--since an ISO time with Z")
local s, serr = logs.since("yesterday", now)
t.ok(s == nil and serr:find("want 30s"), "--since rejects what it cannot read, saying what it takes")

o = logs.parse { "-f", "--since", "5m", "--tail", "3", "--raw", "r1", "gw" }
t.ok(o and o.follow and o.raw and o.tail == 3 and o.since and o.run == "r1" and o.node == "gw", "logs options")
_, err = logs.parse { "--tail", "x", "r1", "gw" }
t.like(err, "want a number", "logs --tail wants a number")
_, err = logs.parse { "r1" }
t.like(err, "give RUN and NODE", "logs without NODE")

local e = core.log_parse("2026-12-07T10:00:01.250000000Z 2026-12-07T10:00:01.249Z  WARN app::net: slow peer "
  .. "addr=1.2.3.4:5 rtt=300")
t.is(logs.format(e), "10:00:01.250 WARN  app::net: slow peer addr=1.2.3.4:5 rtt=300",
  "a parsed line: the engine's time, level, target: message, fields")
e = core.log_parse("2026-12-07T10:00:02.000000000Z plain text here")
t.like(logs.format(e), "^10:00:02.000 %-  +plain text here$", "a plain line: no level")

t.done()
