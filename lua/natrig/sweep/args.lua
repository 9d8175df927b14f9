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
M.MERGE_FLAGS = REPORTS

-- opts from what natrig.flags parsed: paths, set, filter, repeat_n, jobs, allow_flaky,
-- shard_i, shard_n, baseline, slower, junit, json, html.
function M.sweep_opts(o, paths)
  o.paths, o.repeat_n = paths, o.repeat_n or 1
  if o.shard then o.shard_i, o.shard_n, o.shard = o.shard[1], o.shard[2], nil end
  if #o.paths == 0 then return nil, "no scenario FILE or DIR given" end
  return o
end

function M.merge_opts(o, inputs)
  o.inputs = inputs
  if #o.inputs == 0 then return nil, "no JSON report given" end
  return o
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
