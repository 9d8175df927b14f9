-- natrig.sweep.args: the command lines of `natrig sweep` and `natrig report merge`.
-- Pure: argv in, an options table (or nil, message for a usage error: exit 2) out.
local plan = require "natrig.sweep.plan"

local M = {}

M.SWEEP_USAGE = [[usage: natrig sweep [options] FILE|DIR ...
  --repeat N        run each case N times (flake rate; no hidden retries)
  -j N, --jobs N    N cases at once, each in its own process and network
                    (default: a safe N for this machine)
  --allow-flaky     exit 0 when a case passed some repeats (still reported flaky)
  --filter P        only cases whose "scenario case" contains P (text or Lua pattern)
  --set k=v         fix a parameter (a matrix key is cut to that value)
  --shard I/N       run the I-th of N stable, balanced parts (CI matrices)
  --baseline F      compare with an earlier --json report: new failures, fixed,
                    newly flaky, slower (time metric median up by --slower %, default 25)
  --junit F --json F --html F   reports
Exit: 0 every repeat passed, 1 a case failed, errored or was flaky, 2 usage (or no cases).]]

M.MERGE_USAGE = [[usage: natrig report merge A.json B.json ... [--html F] [--junit F] [--json F]
                          [--baseline OLD.json] [--slower PCT] [--allow-flaky]
  Combines sweep JSON reports (e.g. the shards of a CI matrix) into one report.]]

local function int(v, what, min)
  local n = tonumber(v)
  if not n or n ~= math.floor(n) or n < min then
    return nil, ("%s wants a whole number >= %d, got '%s'"):format(what, min, tostring(v))
  end
  return math.floor(n)
end

-- sweep(args) -> opts | nil, message. opts: paths, set, filter, repeat_n, jobs,
-- allow_flaky, shard_i, shard_n, baseline, slower, junit, json, html, help.
function M.sweep(args)
  local o = { paths = {}, set = {}, repeat_n = 1 }
  local i = 1
  local function value(name)
    local v = args[i + 1]
    if v == nil then return nil, name .. " wants a value" end
    i = i + 2
    return v
  end
  while i <= #args do
    local a, err, v = args[i]
    if a == "--help" or a == "-h" then
      o.help = true
      i = i + 1
    elseif a == "--junit" or a == "--json" or a == "--html" or a == "--filter" or a == "--baseline" then
      v, err = value(a)
      o[a:sub(3)] = v
    elseif a == "--set" then
      v, err = value(a)
      if v then
        local k, val = v:match("^([%w_]+)=(.*)$")
        if not k then return nil, "--set wants key=value, got '" .. v .. "'" end
        o.set[k] = val
      end
    elseif a == "--repeat" then
      v, err = value(a)
      if v then o.repeat_n, err = int(v, "--repeat", 1) end
    elseif a == "-j" or a == "--jobs" or a:match("^%-j%d+$") then
      if a:match("^%-j%d+$") then v = a:sub(3); i = i + 1 else v, err = value(a) end
      if v then o.jobs, err = int(v, "-j", 1) end
    elseif a == "--slower" then
      v, err = value(a)
      if v then
        local p = tonumber((v:gsub("%%$", "")))
        if not p or p <= 0 then return nil, "--slower wants a percentage > 0, got '" .. v .. "'" end
        o.slower = p / 100
      end
    elseif a == "--shard" then
      v, err = value(a)
      if v then
        local si, sn = plan.parse_shard(v)
        if not si then return nil, sn end
        o.shard_i, o.shard_n = si, sn
      end
    elseif a == "--allow-flaky" then
      o.allow_flaky = true
      i = i + 1
    elseif a:sub(1, 1) == "-" then
      return nil, "unknown option " .. a
    else
      o.paths[#o.paths + 1] = a
      i = i + 1
    end
    if err then return nil, err end
  end
  if not o.help and #o.paths == 0 then return nil, "no scenario FILE or DIR given" end
  return o
end

-- merge(args) (after "merge") -> opts | nil, message
function M.merge(args)
  local o = { inputs = {} }
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "--html" or a == "--junit" or a == "--json" or a == "--baseline" or a == "--slower" then
      local v = args[i + 1]
      if v == nil then return nil, a .. " wants a value" end
      if a == "--slower" then
        local p = tonumber((v:gsub("%%$", "")))
        if not p or p <= 0 then return nil, "--slower wants a percentage > 0, got '" .. v .. "'" end
        o.slower = p / 100
      else
        o[a:sub(3)] = v
      end
      i = i + 2
    elseif a == "--allow-flaky" then
      o.allow_flaky = true
      i = i + 1
    elseif a == "--help" or a == "-h" then
      o.help = true
      i = i + 1
    elseif a:sub(1, 1) == "-" then
      return nil, "unknown option " .. a
    else
      o.inputs[#o.inputs + 1] = a
      i = i + 1
    end
  end
  if not o.help and #o.inputs == 0 then return nil, "no JSON report given" end
  return o
end

return M
