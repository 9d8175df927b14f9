--- natrig sweep: scenarios x parameter matrices x repeats, N at once, with reports.
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.sweep

local M = {
  name = "sweep", operands = "FILE|DIR ...",
  summary = "scenarios x parameter matrices x repeats, N at once, with reports", min_args = 1, max_args = -1,
  flags = require("natrig.sweep.args").SWEEP_FLAGS,
  about = [=[
Runs every scenario of each FILE or DIR across its `matrix` of parameters, each case
in its own `natrig run` process and network, and writes reports.
Exit: 0 every repeat passed, 1 a case failed, errored or was flaky, 2 usage.
]=],
  more = [=[
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

function M.run(o, ...)
  return require("natrig.sweep").main(o, { ... })
end

return M
