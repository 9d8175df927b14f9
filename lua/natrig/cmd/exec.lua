--- natrig exec: run a command in a node of a live or kept run (-it: an interactive shell).
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.exec
local core = require "natrig.core"
local cli = require "natrig.cmdkit"
local warn, errstr = cli.warn, cli.errstr

local M = {
  name = "exec", operands = "RUN NODE [--] [ARGV...]",
  summary = "run a command in a node of a live or kept run (-it: an interactive shell)", min_args = 0,
  max_args = -1, opaque = 2,
  flags = {
    { "-i", "--interactive", key = "i", help = "pass stdin to the command (its end ends the command's stdin)" },
    { "-t", "--tty", key = "t", help = "a terminal (keys go to the command as typed; Ctrl-C included); "
      .. "-it is both: an interactive shell" },
    { "--holder", help = "the node's network holder (natrig's tools: ip, tc, nft, conntrack, tcpdump) "
      .. "instead of its app container" },
    { "--user", arg = "U", help = "run as user U" },
    { "--env", arg = "K=V", many = true, help = "set an environment variable (repeatable)",
      check = function(v)
        if not v:match("^[%w_]+=") then return nil, ("--env %s: want K=V"):format(v) end
        return v
      end },
  },
  about = [=[
Runs ARGV in NODE's container of run RUN (see natrig ls; a run kept with NATRIG_KEEP=1,
or one still running), like `docker exec` on natrig-<run>-<node>. Output streams as it
comes; the exit status is the command's own. With -t and no ARGV: sh. NODE is a node's
or a router's name. Unknown RUN or NODE: exit 2, naming the ones there are. Without -t,
Ctrl-C ends natrig exec (exit 130) and the command goes on in the container, as with
docker exec; with -t, Ctrl-C goes to the command.
]=],
  more = [=[
environment:
  TERM                   with -t, passed on to the command (default xterm)
  DOCKER_HOST            the engine: unix:///path or tcp://host:port
                         (default unix:///var/run/docker.sock)
  NATRIG_HOSTS           several engines (a Swarm): the node is looked for on each

example:
  natrig exec 1201112441cc4f peer1 -- ip route
  natrig exec -it 1201112441cc4f gw
  echo hello | natrig exec -i 1201112441cc4f peer1 -- cat
]=],
}

local function usage(msg)
  warn(msg .. " (natrig exec --help)")
  return 2
end

-- RUN, NODE and ARGV from the operands natrig.flags left (options come before ARGV).
function M.finish(o, ops)
  o.env = o.env or {}
  o.run, o.node = ops[1], ops[2]
  if not o.run or not o.node then return nil, "give RUN and NODE (natrig ls lists runs)" end
  local i = 3
  if ops[i] == "--" then i = i + 1 end
  o.argv = table.move(ops, i, #ops, 1, {})
  if #o.argv == 0 then
    if not o.t then return nil, "give the command to run after NODE (or -it for a shell)" end
    o.argv = { "sh" }
  end
  return o
end

--- Parse argv (as `natrig exec` gets it): options, RUN NODE, then an optional `--` and ARGV.
function M.parse(args)
  local o, ops = require("natrig.flags").parse(M.flags, args, M.opaque)
  if not o then return nil, ops end
  return M.finish(o, ops)
end

-- The words after NODE are the command's (its own --help included).
function M.opaque_from(args)
  local i = 1
  while args[i] and args[i]:match("^%-") and args[i] ~= "--" do
    i = i + ((args[i] == "--user" or args[i] == "--env") and 2 or 1)
  end
  return i + 2
end

function M.run(opts, ...)
  local o, perr = M.finish(opts, { ... })
  if not o then return usage(perr) end
  local runref = require "natrig.runref"
  local ok, c, ferr = pcall(runref.find, o.run, o.node, o.holder)
  if not ok then warn(errstr(c)) return 2 end
  if not c then warn(ferr) return 2 end
  local function done(rc) runref.close(c.engines) return rc end
  if c.state ~= "running" then
    warn(("%s (%s) is %s, not running: nothing can run in it; `natrig logs %s %s` shows its last lines")
      :format(o.node, c.name, c.state, o.run, o.node))
    return done(2)
  end
  local env = o.env
  if o.t then env[#env + 1] = "TERM=" .. (core.getenv("TERM") or "xterm") end
  local rok, code = pcall(function()
    local ex = c.eng:json("exec_create", { id = c.id }, { Cmd = core.json_array(o.argv), AttachStdin = o.i == true,
      AttachStdout = true, AttachStderr = true, Tty = o.t == true, Env = #env > 0 and core.json_array(env) or nil,
      User = o.user }, c.name).Id
    c.eng.raw:exec_attach(ex, o.t == true, o.i == true)
    -- The stream can end before the engine has reaped the process (seen over tcp:// with
    -- -i: Running still true, ExitCode null): asked again until it has, for 5 s at most.
    local info
    for _ = 1, 100 do
      info = c.eng:json("exec_inspect", { id = ex })
      if not (info and info.Running) then break end
      core.sleep(0.05)
    end
    return info and info.ExitCode
  end)
  if not rok then
    local sig = cli.signalled()
    if sig then return done(128 + sig) end
    -- Our reader went away (natrig exec ... | head): quietly, as SIGPIPE would (128+13).
    if errstr(code):find("the output was closed", 1, true) then return done(141) end
    warn(("exec in %s: %s"):format(c.name, errstr(code)))
    return done(2)
  end
  -- The command's own status (126/127: it could not be started/found, as docker says).
  if type(code) ~= "number" then
    warn(("exec in %s: the engine gave no exit code (the container stopped meanwhile?)"):format(c.name))
    return done(1)
  end
  return done(code)
end

return M
