--- natrig sweep: scenarios x parameter matrices x repeats, N at once, with reports.
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.sweep

local M = {
  name = "sweep",
  args = "[--repeat N] [-j N] [--allow-flaky] [--filter P] [--set k=v] [--shard I/N] " ..
    "[--baseline F] [--slower PCT] [--junit F] [--json F] [--html F] FILE|DIR ...",
  summary = "scenarios x parameter matrices x repeats, N at once, with reports", min_args = 1, max_args = -1,
  help = [=[
Runs every scenario of each FILE or DIR across its `matrix` of parameters, each case
in its own `natrig run` process and network, and writes reports.

options:
  --repeat N        run each case N times (flake rate; no hidden retries)
  -j N, --jobs N    N cases at once (default: a safe N for this machine)
  --allow-flaky     exit 0 when a case passed some repeats (still reported flaky)
  --filter P        only cases whose "scenario case" contains P (text or Lua pattern)
  --set k=v         fix a parameter (a matrix key is cut to that value)
  --shard I/N       run the I-th of N stable, balanced parts (CI matrices)
  --baseline F      compare with an earlier --json report
  --slower PCT      with --baseline: a time metric whose median rose by more than
                    PCT percent is reported slower (default 25)
  --junit F --json F --html F   reports
Exit: 0 every repeat passed, 1 a case failed, errored or was flaky, 2 usage.

environment (the cases' `natrig run` reads the rest, see natrig run --help):
  NATRIG_BIN             the natrig that runs each case (default: this one)
  NATRIG_SWEEP_STAGGER   seconds between two case starts (default 1)
  TMPDIR                 where the cases' result files go
  DOCKER_HOST            the engine: unix:///path or tcp://host:port
                         (default unix:///var/run/docker.sock)
  NATRIG_HOSTS           one network over several engines joined as a Docker Swarm:
                         DOCKER_HOST-style URLs (or name=url) separated by commas, the
                         first a Swarm manager; checked before anything is made

example:
  natrig sweep --filter nat=symmetric --junit out.xml --html out.html scenarios/
]=],
}

-- natrig sweep [--repeat N] [-j N] [--shard I/N] [--baseline F] [--junit F] [--json F] [--html F] ...
function M.run(...)
  return require("natrig.sweep").main({ ... })
end

return M
