-- natrig.sweep.args: the options of `natrig sweep` and `natrig report merge`, declared once
-- (natrig.flags: the same entries parse the command line and write the usage line and the
-- options part of --help). Pure: argv in, an options table (or nil, message for a usage
-- error: exit 2) out.
local flags = require "natrig.flags"
local plan = require "natrig.sweep.plan"

local M = {}

-- Shared by both commands: reports and the comparison with an earlier one.
local REPORTS = {
  { "--junit", arg = "F", help = "a JUnit XML report" },
  { "--json", arg = "F", help = "the JSON report (what --baseline and report merge read)" },
  { "--html", arg = "F", help = "the HTML report" },
  { "--baseline", arg = "F", help = "compare with an earlier --json report: new failures, fixed, "
    .. "newly flaky, slower" },
  { "--slower", arg = "PCT", kind = "percent", help = "with --baseline: a time metric whose median rose by "
    .. "more than PCT percent is reported slower (default 25)" },
  { "--allow-flaky", help = "exit 0 when a case passed some repeats (still reported flaky)" },
}

-- Shared by both commands too: the night goes into a history (natrig.history, natrig.trend).
local HISTORY = {
  { "--history", arg = "DIR", help = "add this night to the history in DIR (its JSON, page and failing runs' "
    .. "artifacts) and write DIR/index.html, the trend page (natrig report trend)" },
  { "--keep-nights", arg = "N", kind = "int", min = 1, help = "with --history: keep the newest N nights" },
  { "--keep-bytes", arg = "B", help = "with --history: keep the nights in DIR under B bytes (500M, 2G): the "
    .. "oldest nights' "
    .. "artifacts go first, then the oldest nights",
    check = function(v) return require("natrig.history_prune").parse_bytes(v) end },
  { "--label", arg = "K=V", many = true, help = "what was tested (version=1.2, commit=abc, kernel=6.1): in every "
    .. "report, the JUnit properties and the trend page; repeatable",
    check = function(v)
      if not v:match("^[%w_.%-]+=.") then return nil, ("--label wants K=V, got '%s'"):format(v) end
      return v
    end },
  { "--fail-on-regression", help = "with --history: exit 1 when the trend finds a regression" },
}

M.SWEEP_FLAGS = {
  { "--repeat", arg = "N", kind = "int", min = 1, key = "repeat_n",
    help = "run each case N times (flake rate; no hidden retries)" },
  { "-j", "--jobs", arg = "N", kind = "int", min = 1, glued = true,
    help = "N cases at once, each in its own process and network (default: a safe N for this machine)" },
  { "--filter", arg = "P", help = 'only cases whose "scenario case" contains P (text or Lua pattern)' },
  { "--set", arg = "k=v", kind = "kv", help = "fix a parameter (a matrix key is cut to that value)" },
  { "--shard", arg = "I/N", help = "run the I-th of N stable, balanced parts (CI matrices)",
    check = function(v) local i, n = plan.parse_shard(v) return i and { i, n }, n end },
}
for _, f in ipairs(REPORTS) do M.SWEEP_FLAGS[#M.SWEEP_FLAGS + 1] = f end
M.MERGE_FLAGS = {}
for _, f in ipairs(REPORTS) do M.MERGE_FLAGS[#M.MERGE_FLAGS + 1] = f end
for _, f in ipairs(HISTORY) do
  M.SWEEP_FLAGS[#M.SWEEP_FLAGS + 1] = f
  M.MERGE_FLAGS[#M.MERGE_FLAGS + 1] = f
end

-- natrig report trend DIR
M.TREND_FLAGS = {
  { "--html", arg = "F", help = "the trend page (DIR/index.html is the one sweep --history writes)" },
  { "--fail-on-regression", help = "exit 1 when the latest night has a regression" },
}

-- The history options together: labels as a table, the ones that need --history.
local function history_opts(o)
  local labels = {}
  for _, kv in ipairs(o.label or {}) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    labels[k] = v
  end
  o.labels, o.label = next(labels) and labels or nil, nil
  if not o.history then
    for _, k in ipairs({ "keep_nights", "keep_bytes", "fail_on_regression" }) do
      if o[k] then return nil, ("--%s needs --history DIR"):format(k:gsub("_", "-")) end
    end
  end
  return o
end

-- opts from what natrig.flags parsed: paths, set, filter, repeat_n, jobs, allow_flaky,
-- shard_i, shard_n, baseline, slower, junit, json, html.
function M.sweep_opts(o, paths)
  o.paths, o.repeat_n = paths, o.repeat_n or 1
  if o.shard then o.shard_i, o.shard_n, o.shard = o.shard[1], o.shard[2], nil end
  if #o.paths == 0 then return nil, "no scenario FILE or DIR given" end
  if o.history and o.shard_n then
    return nil, "--history with --shard would make a partial night: give each shard a --json, then "
      .. "natrig report merge them with --history DIR"
  end
  return history_opts(o)
end

function M.merge_opts(o, inputs)
  o.inputs = inputs
  if #o.inputs == 0 then return nil, "no JSON report given" end
  return history_opts(o)
end

-- sweep(args) -> opts | nil, message (the whole command line, as the tests give it)
function M.sweep(args)
  local o, ops = flags.parse(M.SWEEP_FLAGS, args)
  if not o then return nil, ops end
  return M.sweep_opts(o, ops)
end

-- merge(args) (after "merge") -> opts | nil, message
function M.merge(args)
  local o, ops = flags.parse(M.MERGE_FLAGS, args)
  if not o then return nil, ops end
  return M.merge_opts(o, ops)
end

return M
