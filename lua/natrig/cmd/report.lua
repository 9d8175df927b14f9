--- natrig report: combine sweep JSON reports (CI shards) into one report.
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua).
-- @module natrig.cmd.report
local cli = require "natrig.cli"
local warn = cli.warn

local M = {
  name = "report",
  args = "merge A.json B.json ... [--html F] [--junit F] [--json F] [--baseline F] [--slower PCT] [--allow-flaky]",
  summary = "combine sweep JSON reports (CI shards) into one report", min_args = 2, max_args = -1,
  help = [=[
options:
  --html F --junit F --json F   the merged report
  --baseline F                  compare with an earlier report (OLD.json)
  --slower PCT                  a time metric median up by more is slower (default 25)
  --allow-flaky                 exit 0 when cases were only flaky

environment: none.

example:
  natrig report merge shard-*.json --html report.html --junit report.xml
]=],
}

-- natrig report merge A.json B.json ... [--html F] [--junit F] [--json F]
function M.run(sub, ...)
  if sub ~= "merge" then
    warn("usage: natrig report " .. M.args)
    return 2
  end
  return require("natrig.sweep").merge_main({ ... })
end

return M
