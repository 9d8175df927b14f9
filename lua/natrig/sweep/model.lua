-- natrig.sweep.model: the sweep report as data, shared by every writer (JSON, JUnit,
-- HTML), by `natrig report merge` and by --baseline. Pure: no engine, no processes.
--
-- A report: { format = "natrig-sweep", format_version = 1, natrig, started, hostname,
--   wall, jobs, repeat, shard, filter, scenarios = { {name, file, axes} },
--   cases = { {id, order, scenario, file, case, params, verdict, passed, runs,
--              repeats = { {index, status, ok, params, duration, error, where, artifacts, pcaps,
--                           run_id, exit_code, output, metrics = { {name, value, unit} }} },
--              compare = { was, marks = {...}, slower = {...} },
--              paths = { {pair, kinds = { {kind, n} }, runs, text} } } },
--   summary = { cases, runs, pass, fail, flaky, error, runs_passed },
--   baseline = { file, new_failure, fixed, newly_flaky, slower } }
-- A case's verdict: pass (every repeat passed), flaky (some did), fail (none did and
-- at least one was a scenario failure), error (none did and every one was a setup error).
local core = require "natrig.core"

local M = {}
M.FORMAT = "natrig-sweep"

local function arr(t) return core.json_array(t or {}) end

function M.verdict(repeats)
  local passed, failed = 0, 0
  for _, r in ipairs(repeats) do
    if r.status == "pass" then passed = passed + 1 elseif r.status == "fail" then failed = failed + 1 end
  end
  local v
  if #repeats > 0 and passed == #repeats then v = "pass"
  elseif passed > 0 then v = "flaky"
  elseif failed > 0 then v = "fail"
  else v = "error" end
  return v, passed
end

-- Recompute each case's verdict and the summary (after a run, a merge, a baseline).
function M.finish(doc)
  local s = { cases = #doc.cases, runs = 0, runs_passed = 0, pass = 0, fail = 0, flaky = 0, error = 0 }
  table.sort(doc.cases, function(a, b)
    if a.order ~= b.order then return (a.order or 0) < (b.order or 0) end
    return a.id < b.id
  end)
  for _, c in ipairs(doc.cases) do
    table.sort(c.repeats, function(a, b) return a.index < b.index end)
    c.verdict, c.passed = M.verdict(c.repeats)
    c.runs = #c.repeats
    s[c.verdict] = s[c.verdict] + 1
    s.runs = s.runs + c.runs
    s.runs_passed = s.runs_passed + c.passed
    c.repeats = arr(c.repeats)
    for _, r in ipairs(c.repeats) do
      r.metrics = arr(r.metrics)
      if r.pcaps then r.pcaps = arr(r.pcaps) end
    end
    c.paths = arr(M.case_paths(c))
  end
  doc.cases = arr(doc.cases)
  doc.scenarios = arr(doc.scenarios)
  doc.summary = s
  return doc
end

-- A new report from run results: cases = plan cases with .repeats filled in.
function M.new(meta, scenarios, cases)
  local doc = { format = M.FORMAT, format_version = 1, natrig = core.version, cases = {}, scenarios = {} }
  for k, v in pairs(meta or {}) do doc[k] = v end
  for _, s in ipairs(scenarios or {}) do
    local axes = {}
    for i, a in ipairs(s.axes or {}) do axes[i] = { key = a.key, values = arr(a.values) } end
    doc.scenarios[#doc.scenarios + 1] = { name = s.name, file = s.file, axes = arr(axes), load_error = s.load_error }
  end
  for _, c in ipairs(cases or {}) do
    doc.cases[#doc.cases + 1] = { id = c.id, order = c.order, scenario = c.scenario, file = c.file,
      case = c.case, params = c.params or {}, repeats = c.repeats or {}, load_error = c.load_error }
  end
  return M.finish(doc)
end

-- Exit code of a sweep: 0 when every repeat of every case passed (flaky ones too with
-- allow_flaky), 1 otherwise.
function M.exit_code(doc, allow_flaky)
  local s = doc.summary
  if s.fail + s.error > 0 then return 1 end
  if s.flaky > 0 and not allow_flaky then return 1 end
  return 0
end

-- Several reports (shards) -> one. The same case in two reports keeps every repeat
-- (renumbered after the first report's); run metadata comes from the first. Returns the doc
-- and the ids of cases found in more than one input (natrig report merge says so).
function M.merge(docs)
  local out = { cases = {}, scenarios = {} }
  local by_id, scen, from, overlap = {}, {}, {}, {}
  local wall, started = 0, nil
  for i, d in ipairs(docs) do
    if d.format ~= M.FORMAT then
      error(core.error { code = "einval", op = "report merge", status = 0,
        message = ("input %d is not a natrig sweep JSON report (format '%s')"):format(i, tostring(d.format)) }, 0)
    end
    if i == 1 then
      for k, v in pairs(d) do if type(v) ~= "table" then out[k] = v end end
    end
    wall = math.max(wall, d.wall or 0)
    if d.started and (not started or d.started < started) then started = d.started end
    for _, s in ipairs(d.scenarios or {}) do
      local key = tostring(s.name) .. "\0" .. tostring(s.file)
      if not scen[key] then scen[key] = true; out.scenarios[#out.scenarios + 1] = s end
    end
    for _, c in ipairs(d.cases or {}) do
      local m = by_id[c.id]
      if not m then
        m = {}
        for k, v in pairs(c) do m[k] = v end
        m.repeats = {}
        by_id[c.id] = m
        out.cases[#out.cases + 1] = m
      end
      -- a scenario that failed to load is in every shard's report: count it once
      local base = #m.repeats
      if c.load_error and base > 0 then goto next_case end
      -- the same case in two inputs (two runs of one sweep, not shards): repeats are added
      if from[c.id] and from[c.id] ~= i and not from[c.id .. "\0said"] then
        overlap[#overlap + 1] = c.id
        from[c.id .. "\0said"] = true
      end
      from[c.id] = from[c.id] or i
      for _, r in ipairs(c.repeats or {}) do
        local rr = {}
        for k, v in pairs(r) do rr[k] = v end
        rr.index = base + (r.index or 1)
        m.repeats[#m.repeats + 1] = rr
      end
      ::next_case::
    end
  end
  out.shard = nil
  out.wall, out.started = wall, started
  out.merged = #docs
  return M.finish(out), overlap
end

-- Quartiles and median of a list of numbers (sorted copy).
function M.stats(values)
  local v = {}
  for i, x in ipairs(values) do v[i] = x end
  table.sort(v)
  local n = #v
  if n == 0 then return nil end
  local function q(p)
    local pos = 1 + (n - 1) * p
    local lo = math.floor(pos)
    local hi = math.min(lo + 1, n)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)
  end
  return { n = n, min = v[1], q1 = q(0.25), median = q(0.5), q3 = q(0.75), max = v[n] }
end

-- Per case, metric name -> { unit, values = {...} } over its repeats, plus "duration".
function M.case_metrics(c)
  local out, names = {}, {}
  local function add(name, value, unit)
    local m = out[name]
    if not m then m = { unit = unit, values = {} }; out[name] = m; names[#names + 1] = name end
    m.values[#m.values + 1] = value
  end
  for _, r in ipairs(c.repeats) do
    if r.duration and r.status ~= "error" then add("duration", r.duration, "s") end
    for _, m in ipairs(r.metrics or {}) do add(m.name, m.value, m.unit) end
  end
  return out, names
end

-- The path column: net:record_path's metrics ("path a<->b direct", "path a<->b relayed via
-- r"), per pair, what kinds its repeats got: { {pair = "a<->b", kinds = { {kind = "direct",
-- n = 2}, ... }, runs = 3, text = "a<->b direct 2/3, relayed via r 1/3"} }, pairs sorted,
-- kinds by count. A repeat that recorded a pair twice counts the last kind.
function M.case_paths(c)
  local per, pairs_ = {}, {}
  for _, r in ipairs(c.repeats or {}) do
    local last = {}
    for _, m in ipairs(r.metrics or {}) do
      local pair, kind = tostring(m.name):match("^path (%S+<%->%S+) (.+)$")
      if pair then
        if not per[pair] then per[pair] = {}; pairs_[#pairs_ + 1] = pair end
        last[pair] = kind
      end
    end
    for pair, kind in pairs(last) do per[pair][kind] = (per[pair][kind] or 0) + 1 end
  end
  table.sort(pairs_)
  local runs = #(c.repeats or {})
  local out = {}
  for _, pair in ipairs(pairs_) do
    local kinds = {}
    for kind, n in pairs(per[pair]) do kinds[#kinds + 1] = { kind = kind, n = n } end
    table.sort(kinds, function(x, y) if x.n ~= y.n then return x.n > y.n end return x.kind < y.kind end)
    local parts = {}
    for i, k in ipairs(kinds) do parts[i] = ("%s %d/%d"):format(k.kind, k.n, runs) end
    out[#out + 1] = { pair = pair, kinds = arr(kinds), runs = runs, text = pair .. " " .. table.concat(parts, ", ") }
  end
  return out
end

local TIME_UNITS = { s = true, ms = true, us = true, ns = true }

-- Mark each case against a baseline report: new-failure (passed or flaky before, fails
-- now), fixed (failed or flaky before, passes now), newly-flaky (passed before, flaky
-- now), slower (a time metric's median grew by more than threshold, default 25%, and by
-- more than 1 ms). Cases absent from the baseline are marked new.
function M.compare(doc, base, threshold, base_name)
  threshold = threshold or 0.25
  local old = {}
  for _, c in ipairs(base.cases or {}) do old[c.id] = c end
  local counts = { file = base_name, threshold = threshold, new_failure = 0, fixed = 0, newly_flaky = 0,
    slower = 0, new = 0 }
  for _, c in ipairs(doc.cases) do
    local o = old[c.id]
    local marks, slower = {}, {}
    if not o then
      marks[#marks + 1] = "new"
      counts.new = counts.new + 1
    else
      local bad_now = c.verdict == "fail" or c.verdict == "error"
      local bad_then = o.verdict == "fail" or o.verdict == "error"
      if bad_now and not bad_then then
        marks[#marks + 1] = "new-failure"; counts.new_failure = counts.new_failure + 1
      end
      if c.verdict == "pass" and o.verdict ~= "pass" then
        marks[#marks + 1] = "fixed"; counts.fixed = counts.fixed + 1
      end
      if c.verdict == "flaky" and o.verdict == "pass" then
        marks[#marks + 1] = "newly-flaky"; counts.newly_flaky = counts.newly_flaky + 1
      end
      local now_m, names = M.case_metrics(c)
      local then_m = M.case_metrics(o)
      for _, name in ipairs(names) do
        local a, b = now_m[name], then_m[name]
        if b and TIME_UNITS[a.unit or ""] then
          local sa, sb = M.stats(a.values), M.stats(b.values)
          local scale = ({ s = 1, ms = 1e-3, us = 1e-6, ns = 1e-9 })[a.unit]
          if sa.median > sb.median * (1 + threshold) and (sa.median - sb.median) * scale > 0.001 then
            slower[#slower + 1] = { metric = name, unit = a.unit, old = sb.median, new = sa.median,
              ratio = sb.median > 0 and sa.median / sb.median or nil }
          end
        end
      end
      if #slower > 0 then marks[#marks + 1] = "slower"; counts.slower = counts.slower + 1 end
    end
    c.compare = { was = o and o.verdict or nil, was_passed = o and o.passed or nil, was_runs = o and o.runs or nil,
      marks = arr(marks), slower = arr(slower) }
  end
  doc.baseline = counts
  return doc
end

return M
