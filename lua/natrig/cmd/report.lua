--- natrig report: combine sweep JSON reports (CI shards) into one report, or show the
-- trend of a history of nights.
-- The command's usage, --help text and code live here together (natrig.cli lists the
-- commands and dispatches; src/cli only starts Lua). Two forms, each with its own flags
-- (natrig.sweep.args MERGE_FLAGS and TREND_FLAGS); natrig.cli parses with their union and
-- run() refuses an option of the other form.
-- @module natrig.cmd.report
local cli = require "natrig.cmdkit"
local flags = require "natrig.flags"
local args = require "natrig.sweep.args"
local warn = cli.warn

local union, seen = {}, {}
for _, list in ipairs({ args.MERGE_FLAGS, args.TREND_FLAGS }) do
  for _, f in ipairs(list) do
    if not seen[f[#f]] then seen[f[#f]] = true; union[#union + 1] = f end
  end
end

local M = {
  name = "report",
  args = "merge A.json B.json ... " .. flags.usage(args.MERGE_FLAGS) .. " | trend DIR "
    .. flags.usage(args.TREND_FLAGS),
  summary = "combine sweep JSON reports (CI shards) into one report, or show a history's trend", min_args = 2,
  max_args = -1,
  flags = union,
}
M.help = [=[
merge: combines sweep JSON reports (e.g. the shards of a CI matrix) into one report: the
cases of all of them, with the same reports and comparison as natrig sweep; --history DIR
adds the merged report to a history as one night.
trend: reads a history (natrig sweep --history DIR) and prints what changed in the latest
night in at most 10 lines: cases that went bad (pass -> flaky, fail or error) and since
which night, metrics that moved (a one-sided Mann-Whitney U test, p < 0.01, medians 10 %
apart), cases fixed; --html F writes the trend page (DIR/index.html is written after each
sweep). Exit: 0, or 1 with --fail-on-regression when there is a regression; 2 usage or a
DIR that is not a history. trend takes --html and --fail-on-regression only.

]=] .. flags.help(union) .. [=[

environment: none.

example:
  natrig report merge shard-*.json --html report.html --junit report.xml
  natrig report trend nightly/ --html trend.html --fail-on-regression
]=]

local function only(o, list, form)
  local ok = {}
  for _, f in ipairs(list) do ok[flags.key_of(f)] = true end
  for k in pairs(o) do
    -- kv options are always present (empty) in what natrig.flags returns
    if not ok[k] and not (type(o[k]) == "table" and next(o[k]) == nil) then
      return nil, ("natrig report %s takes no --%s"):format(form, (k:gsub("_", "-")))
    end
  end
  return true
end

-- natrig report merge A.json B.json ... | natrig report trend DIR
function M.run(o, sub, ...)
  if sub == "merge" then
    local ok, err = only(o, args.MERGE_FLAGS, "merge")
    if not ok then warn(err) return 2 end
    return require("natrig.sweep").merge_main(o, { ... })
  elseif sub == "trend" then
    local ok, err = only(o, args.TREND_FLAGS, "trend")
    if not ok then warn(err) return 2 end
    local rest = { ... }
    if #rest ~= 1 then warn("usage: natrig report trend DIR " .. flags.usage(args.TREND_FLAGS)) return 2 end
    return require("natrig.trend").main(o, rest[1], function(...)
      io.stderr:write("natrig report trend: ", ...)
      io.stderr:write("\n")
    end)
  end
  warn("usage: natrig report " .. M.args)
  return 2
end

return M
