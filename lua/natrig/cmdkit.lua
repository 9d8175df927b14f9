--- natrig.cmdkit: what the commands (natrig.cmd.*) share: output, the engine with dead runs
-- reaped, key=value words, the interrupting signal, and the environment text their --help
-- lists. natrig.cli dispatches to the commands; they require this, never natrig.cli.
-- @module natrig.cmdkit
-- Every command runs with natrig's API loaded: natrig.init hands it to scenario and
-- profile files.
require "natrig"

local M = {}

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
  NATRIG_IP              address family of routers, gateways and nodes that name none:
                         v4 (default), dual or v6only
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
  NATRIG_LOG_DIRECT      0: every node's log comes by the engine's follow stream, never
                         from its json-file read directly (the default on a local engine)
  NATRIG_NICE            the nice value natrig raises itself to at net:up() (default
                         -20; root or CAP_SYS_NICE), so it keeps up with a loaded
                         machine (in a CPU cgroup of its own, "natrig", past its
                         session's autogroup, until it exits); 0 leaves its priority
  NATRIG_ENGINE_CALLS    engine calls in flight at most (default 32)
  NATRIG_ENGINE_TIMEOUT  seconds a short engine call may take before the engine counts
                         as overloaded (default 30)
  NATRIG_ARTIFACTS_TIMEOUT seconds a failed run spends collecting its artifacts (default
                         5; what is not collected in time is named in failure.txt)
  NATRIG_SIGNAL_EXIT     seconds natrig takes at most to exit after SIGINT/SIGTERM
                         (default 30; the watchdog removes what teardown has not)
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

return M
