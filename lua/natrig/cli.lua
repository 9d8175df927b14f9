--- natrig.cli: the command line. Each command is a module of its own, natrig.cmd.<name>,
-- holding its usage, its --help text and its code; this module lists them, parses the
-- first words and dispatches (src/main.c only starts Lua and calls main). Every command
-- returns the process exit code: 0 success, 1 scenario failure, 2 usage/setup error,
-- 128+N after signal N.
-- @module natrig.cli
local M = {}

--- The commands, in the order `natrig --help` lists them.
M.COMMANDS = { "run", "repl", "exec", "logs", "sweep", "report", "doctor", "ls", "clean", "image", "version",
  "lua" }

--- The environment every command that makes a network reads (run, repl, lua list it in
-- their --help; one copy here).
M.ENV_NETWORK = [=[
  DOCKER_HOST            the engine: unix:///path or tcp://host:port
                         (default unix:///var/run/docker.sock)
  NATRIG_HOSTS           one network over several engines joined as a Docker Swarm:
                         DOCKER_HOST-style URLs (or name=url) separated by commas, the
                         first a Swarm manager; checked before anything is made
  NATRIG_NAT             NAT preset of peers that name none (default port_restricted);
                         else FREENET_TEST_SYMMETRIC_NAT / FREENET_TEST_FULL_CONE_NAT
  NATRIG_EMULATION       impair every node after up(): a preset (lan, regional,
                         intercontinental, high_latency, challenging) or key=value,...;
                         else FREENET_TEST_NETWORK_EMULATION
  NATRIG_IMPAIR_ENGINE   force `netem` or `userspace` (natrig-shaper) impairment
  NATRIG_SEED            seed of the shaper's random loss/jitter/reorder decisions
  NATRIG_CAPTURE         1: tcpdump captures on every router and node of the run
  NATRIG_ARTIFACTS       where logs, diagnostics and the timeline of a run go
                         (default ./natrig-artifacts/<run>; setting it keeps them)
  NATRIG_KEEP_ARTIFACTS  1: a passing run keeps its files too
  NATRIG_LOG_MEMORY      bytes of log lines kept in memory per run (default 4 MB)
  NATRIG_ENGINE_LOG_SIZE each node's json-file log rotates at this size (default 1g;
                         Docker 20.10's follow can lose lines at a rotation)
  NATRIG_ENGINE_CALLS    engine calls in flight at most (default 32)
  NATRIG_ENGINE_TIMEOUT  seconds a short engine call may take before the engine counts
                         as overloaded (default 30)
  NATRIG_ARTIFACTS_TIMEOUT seconds a failed run spends collecting its artifacts (default
                         5; what is not collected in time is named in failure.txt)
  NATRIG_NO_WATCHDOG     1: no watchdog child removing the run if natrig dies
  NATRIG_LIBEXEC         where natrig-peer and natrig-shaper are (default: beside
                         natrig)
  FREENET_BIN            the freenet binary, for the freenet profile
  XDG_STATE_HOME         kept runs are marked in $XDG_STATE_HOME/natrig/kept
  XDG_RUNTIME_DIR        natrig-shaper control sockets ($XDG_RUNTIME_DIR/natrig)
]=]

function M.say(...) io.stdout:write(...) io.stdout:write("\n") io.stdout:flush() end
function M.warn(...) io.stderr:write("natrig: ", ...) io.stderr:write("\n") io.stderr:flush() end
function M.errstr(e) return tostring(e) end
--- The signal that interrupted this process, or nil (the scheduler's note of it, else
-- the C flag).
function M.signalled()
  return require("natrig.task").signal() or require("natrig.core").interrupted()
end

--- Open the engine; every command that reaches it first removes what dead runs left
-- behind (their owner process is gone: SIGKILL, a crash, a killed CI job).
function M.open_engine()
  -- NATRIG_HOSTS: the first host (the Swarm manager) stands for the run; natrig.network
  -- reaches and checks the others itself.
  local hl = require("natrig.hosts").from(nil)
  local eng = require("natrig.engine").open(hl and hl[1].url or nil)
  local ok, n, runs = pcall(require("natrig.session").reap_dead, eng)
  if ok and n > 0 then M.warn(("removed leftovers of %d dead run(s): %s"):format(n, table.concat(runs, ", "))) end
  return eng
end

--- key=value words from args[from] on, as a table; nil, message for a word without "=".
function M.parse_kv(args, from)
  local kv = {}
  for i = from, #args do
    local k, v = args[i]:match("^([%w_]+)=(.*)$")
    if not k then return nil, ("bad parameter '%s' (want key=value)"):format(args[i]) end
    kv[k] = v
  end
  return kv
end

-- A command that declares `flags` (natrig.flags) gets its usage line and the options part
-- of its --help from them: `args` = the flags' usage and `operands`; `help` = `about`, the
-- options, then `more` (environment, examples).
local function finish(c)
  if c.flags and not c.args then
    local flags = require "natrig.flags"
    local u = flags.usage(c.flags)
    local ops = c.operands or ""
    c.args = (u == "" or ops == "") and (u .. ops) or c.flags_last and (ops .. " " .. u) or (u .. " " .. ops)
    c.help = (c.about or "") .. (c.about and "\n" or "") .. flags.help(c.flags) .. (c.more and ("\n" .. c.more) or "")
  end
  return c
end

local function command(name)
  for _, n in ipairs(M.COMMANDS) do
    if n == name then return finish(require("natrig.cmd." .. name)) end
  end
end
M.command = command

--- `natrig --help`: one line per command.
function M.usage(f)
  f:write("usage: natrig COMMAND [ARGS]\n\ncommands:\n")
  for _, n in ipairs(M.COMMANDS) do
    local c = command(n)
    if c.args == "" then f:write(("  %-8s %s\n"):format(c.name, c.summary))
    else f:write(("  %-8s %s\n           %s\n"):format(c.name, c.args, c.summary)) end
  end
  f:write("\n`natrig COMMAND --help` (or `natrig help COMMAND`) for one command; man natrig; README.md\n")
end

--- `natrig COMMAND --help`: the usage line, the summary, then the command's help text.
function M.help(c, f)
  f:write(("usage: natrig %s %s\n  %s\n"):format(c.name, c.args, c.summary))
  if c.help then f:write("\n", c.help) end
end

--- natrig's main: argv without the program name. Returns the exit code.
function M.main(...)
  local argv = { ... }
  local name = argv[1]
  -- `natrig help COMMAND` is `natrig COMMAND --help`.
  if name == "help" and argv[2] and command(argv[2]) then M.help(command(argv[2]), io.stdout) return 0 end
  if not name or name == "--help" or name == "-h" or name == "help" then
    M.usage(name and io.stdout or io.stderr)
    return name and 0 or 2
  end
  if name == "--version" then name = "version" end
  local c = command(name)
  if not c then
    io.stderr:write(("natrig: unknown command '%s'\n\n"):format(name))
    M.usage(io.stderr)
    return 2
  end
  -- --help (or -h) anywhere among natrig's own words: before `--`, and before the words a
  -- command hands on untouched (a script's arguments, the argv of natrig exec).
  local stop = c.opaque_from and c.opaque_from({ table.unpack(argv, 2) }) or math.huge
  for i = 2, math.min(#argv, stop) do
    if argv[i] == "--" then break end
    if argv[i] == "--help" or argv[i] == "-h" then M.help(c, io.stdout) return 0 end
  end
  if c.flags then
    -- parsed by the command's own declaration; run(opts, operands...)
    local o, ops = require("natrig.flags").parse(c.flags, { table.unpack(argv, 2) }, c.opaque)
    if not o then
      io.stderr:write(("natrig %s: %s\nusage: natrig %s %s\n"):format(c.name, ops, c.name, c.args))
      return 2
    end
    if #ops < c.min_args or (c.max_args >= 0 and #ops > c.max_args) then
      io.stderr:write(("usage: natrig %s %s\n"):format(c.name, c.args))
      return 2
    end
    return c.run(o, table.unpack(ops)) or 0
  end
  local n = #argv - 1
  if n < c.min_args or (c.max_args >= 0 and n > c.max_args) then
    io.stderr:write(("usage: natrig %s %s\n"):format(c.name, c.args))
    return 2
  end
  return c.run(table.unpack(argv, 2)) or 0
end

-- The REPL's hooks, kept under the names src/cli/cmd_repl.c calls.
function M.repl_init(...) return require("natrig.cmd.repl").init(...) end
function M.repl_after() return require("natrig.cmd.repl").after() end
function M.repl_exit() return require("natrig.cmd.repl").exit() end

return M
