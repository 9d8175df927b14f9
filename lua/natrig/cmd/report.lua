--- natrig report: combine sweep JSON reports (CI shards) into one report.
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.report
local cli = require "natrig.cli"
local warn = cli.warn

local M = {
  name = "report", operands = "merge A.json B.json ...",
  summary = "combine sweep JSON reports (CI shards) into one report", min_args = 2, max_args = -1,
  flags = require("natrig.sweep.args").MERGE_FLAGS, flags_last = true,
  about = [=[
Combines sweep JSON reports (e.g. the shards of a CI matrix) into one report: the cases
of all of them, with the same reports and comparison as natrig sweep.
]=],
  more = [=[
environment: none.

example:
  natrig report merge shard-*.json --html report.html --junit report.xml
]=],
}

-- natrig report merge A.json B.json ... [--html F] [--junit F] [--json F]
function M.run(o, sub, ...)
  if sub ~= "merge" then
    warn("usage: natrig report " .. M.args)
    return 2
  end
  return require("natrig.sweep").merge_main(o, { ... })
end

return M
