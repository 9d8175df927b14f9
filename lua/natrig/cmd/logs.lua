--- natrig logs: a node's log in a live or kept run, parsed (or --raw), -f to follow.
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.logs
local core = require "natrig.core"
local cli = require "natrig.cmdkit"
local warn, errstr = cli.warn, cli.errstr

local M -- (the --since check below calls M.since)
M = {
  name = "logs", operands = "RUN NODE",
  summary = "a node's log in a live or kept run, parsed (or --raw); -f follows it", min_args = 0, max_args = -1,
  flags = {
    { "-f", "--follow", help = "keep printing new lines until the node stops or Ctrl-C" },
    { "--since", arg = "T", help = "only lines from T on: 30s, 10m, 2h, 1d ago, epoch seconds, "
      .. "or 2026-12-07T10:00:00 (UTC)", check = function(v) return M.since(v, core.time()) end },
    { "--tail", arg = "N", help = "only the last N lines", check = function(v)
      if not v:match("^%d+$") then return nil, ("--tail %s: want a number of lines"):format(v) end
      return tonumber(v)
    end },
    { "--raw", help = "the lines as the program wrote them (stdout to stdout, stderr to stderr), no parsing" },
    { "--holder", help = "the node's network holder instead of its app container" },
  },
  about = [=[
Prints NODE's log in run RUN (see natrig ls; a run kept with NATRIG_KEEP=1, or one
still running), like `docker logs` on natrig-<run>-<node>. Each line is parsed as
scenarios see it (node:logs{}): time (UTC, the engine's receive time), level, target,
message and fields; lines that continue an entry (stack traces) are indented under it.
Unknown RUN or NODE: exit 2, naming the ones there are. This is what the container wrote
to stdout and stderr: a profile that logs to files (log_files, e.g. freenet) has those in
the run's artifacts, or `natrig exec RUN NODE -- cat FILE`.
]=],
  more = [=[
environment:
  DOCKER_HOST            the engine: unix:///path or tcp://host:port
                         (default unix:///var/run/docker.sock)
  NATRIG_HOSTS           several engines (a Swarm): the node is looked for on each

example:
  natrig logs 1201112441cc4f peer1 --since 5m
  natrig logs -f 1201112441cc4f gw --raw
]=],
}

local UNITS = { s = 1, m = 60, h = 3600, d = 86400 }

--- --since T as epoch seconds (now: the current time), or nil, message.
function M.since(t, now)
  local n, u = t:match("^(%d+%.?%d*)([smhd])$")
  if n then return now - tonumber(n) * UNITS[u] end
  if t:match("^%d+%.?%d*$") then return tonumber(t) end
  local y, mo, d, h, mi, s = t:match("^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):?(%d*)Z?$")
  if y then
    -- UTC: os.time reads the table as local time, so take the zone's offset back out.
    local tt = { year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h),
      min = tonumber(mi), sec = tonumber(s) or 0 }
    local t0 = os.time(tt)
    local utc = os.date("!*t", t0)
    utc.isdst = false
    return t0 + (t0 - os.time(utc))
  end
  return nil, ("--since %s: want 30s, 10m, 2h, 1d, epoch seconds or 2026-12-07T10:00:00"):format(t)
end

--- One parsed entry as a line: time level target: message k=v...
function M.format(e)
  local t = e.engine_time or e.time
  local ms = t and math.floor(t * 1000 + 0.5)
  local ts = ms and (os.date("!%H:%M:%S", ms // 1000) .. (".%03d"):format(ms % 1000)) or "--:--:--.---"
  local l = { ts, ("%-5s"):format((e.level or "-"):upper()) }
  if e.target and e.target ~= "" then l[#l + 1] = e.target .. ":" end
  l[#l + 1] = e.message or e.raw or ""
  local keys = {}
  for k in pairs(e.fields or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do l[#l + 1] = k .. "=" .. tostring(e.fields[k]) end
  return table.concat(l, " ")
end

-- RUN and NODE from the operands natrig.flags left.
function M.finish(o, ops)
  if #ops ~= 2 then return nil, "give RUN and NODE (natrig ls lists runs)" end
  o.run, o.node = ops[1], ops[2]
  return o
end

--- Parse argv (as `natrig logs` gets it).
function M.parse(args)
  local o, ops = require("natrig.flags").parse(M.flags, args)
  if not o then return nil, ops end
  return M.finish(o, ops)
end

function M.run(opts, ...)
  local o, perr = M.finish(opts, { ... })
  if not o then warn(perr .. " (natrig logs --help)") return 2 end
  local runref = require "natrig.runref"
  local ok, c, ferr = pcall(runref.find, o.run, o.node, o.holder)
  if not ok then warn(errstr(c)) return 2 end
  if not c then warn(ferr) return 2 end
  local task = require "natrig.task"
  local rest = { "", "" }
  local heads = {}
  local closed, stop, woke -- our reader gone (natrig logs ... | head): stop quietly
  local function out(f, ...)
    if closed then return end
    if not f:write(...) then
      closed = true
      if stop then stop() end
      if woke then woke() end
    end
  end
  local function line(s, stream)
    if o.raw then
      out(stream == 2 and io.stderr or io.stdout, (s:gsub("^%S+ ", "", 1)), "\n")
      return
    end
    local e = core.log_parse(s, heads[stream])
    if e.continuation and heads[stream] then
      out(io.stdout, "    ", e.raw, "\n")
    else
      heads[stream] = e
      out(io.stdout, M.format(e), "\n")
    end
  end
  local function feed(piece, stream)
    if piece == "" then return end
    local buf = rest[stream] .. piece
    local from = 1
    for l, nx in buf:gmatch("([^\n]*)\n()") do
      line(l, stream)
      from = nx
    end
    rest[stream] = buf:sub(from)
    io.stdout:flush()
  end
  local rok, rerr = pcall(task.wait_for, function(wake)
    woke = function() wake(nil) end
    stop = c.eng:follow_logs(c.id, { follow = o.follow == true, since = o.since, tail = o.tail, timestamps = true },
      function(so, se) if not closed then feed(so, 1) feed(se, 2) end end,
      function(e) wake(e) end)
  end, "the log of " .. c.name)
  for s = 1, 2 do if rest[s] ~= "" then line(rest[s], s) end end
  io.stdout:flush()
  runref.close(c.engines)
  if closed then return 141 end -- as SIGPIPE would (128+13)
  if not rok then
    local sig = cli.signalled()
    if sig then return 128 + sig end
    warn(errstr(rerr))
    return 2
  end
  if rerr then warn(("logs of %s: %s"):format(c.name, errstr(rerr))) return 2 end
  return 0
end

return M
