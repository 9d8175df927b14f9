-- natrig.trend_model: nights of sweep reports -> what the trend page and the terminal
-- summary show (pure: tables in, tables out; no files, no engine).
--
--   build(nights, opts) -> t
--   nights: oldest first, each { id, seq, started, labels = {k = v}, doc = sweep report,
--           links = { report =, json = }, runs = { [case id] = { {index, status, files =
--           { {name, href} }} } } }
--   opts:   skipped = { {id, reason} }, recent = N (improvements from the last N nights are
--           listed; default 7)
--   t:      nights (as given, with .label text and .summary), skipped, scenarios = {
--           {name, cases = { row } } }, regressions, improvements, latest (index)
--   row:    id, scenario, case, cells[i] = {verdict, passed, runs} (nil: not run that
--           night), verdict (latest), event = {kind = "bad" | "fixed" | "always-bad",
--           since, other}, metrics = { {name, unit, nights[i] = summary, flags, change} },
--           changed (nights since the last change of verdict or metric flag; nil: never)
--
-- A case's verdict goes bad when it was pass on its previous night and is flaky, fail or
-- error now (pass -> flaky is a regression); it stays a regression while it is bad. A
-- metric regression is natrig.trend_stats.flags' change in the bad direction (up, or down
-- for a rate): see that module for the test and its thresholds.
local stats = require "natrig.trend_stats"

local M = {}
M.RECENT = 7
M.SEVERITY = { pass = 0, flaky = 1, fail = 2, error = 2 }
M.NO_REGRESSION = { duration = true } -- natrig's own run time: engine load, not the program

function M.label_text(labels)
  local keys = {}
  for k in pairs(labels or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. tostring(labels[k]) end
  return table.concat(out, " ")
end

-- Per metric name, the samples of one case in one night (the repeats' values; natrig's
-- "duration" from the repeats that ran to a verdict), and the names in first-seen order.
-- (called for every case of every night: a top-level function, not a closure a call)
local function add(out, names, name, value, unit)
  if type(value) ~= "number" then return end
  local m = out[name]
  if not m then m = { unit = unit or "", values = {} }; out[name] = m; names[#names + 1] = name end
  local v = m.values
  v[#v + 1] = value
end
local function samples(c)
  local out, names = {}, {}
  local reps = c.repeats or {}
  for i = 1, #reps do
    local r = reps[i]
    if r.duration and r.status ~= "error" then add(out, names, "duration", r.duration, "s") end
    local ms = r.metrics
    if ms then
      for j = 1, #ms do local m = ms[j]; add(out, names, m.name, m.value, m.unit) end
    end
  end
  return out, names
end

local function verdict_event(row, last)
  local cells = row.cells
  local latest
  for i = last, 1, -1 do if cells[i] then latest = i break end end
  if not latest then return end
  row.verdict, row.latest = cells[latest].verdict, latest
  local sev = M.SEVERITY[row.verdict] or 2
  local since, other = latest, nil
  for i = latest - 1, 1, -1 do
    if cells[i] then
      local s = M.SEVERITY[cells[i].verdict] or 2
      if (sev > 0) ~= (s > 0) then other = i break end
      since = i
    end
  end
  if sev > 0 then
    row.event = { kind = other and "bad" or "always-bad", since = since, other = other }
  elseif other then
    row.event = { kind = "fixed", since = since, other = other }
  end
end

-- The last night (index) at which the row changed: its verdict, or a metric's flag.
local function last_change(row, last)
  local at
  local prev
  for i = 1, last do
    local c = row.cells[i]
    if c then
      if prev and prev ~= c.verdict then at = i end
      prev = c.verdict
    end
  end
  for _, m in ipairs(row.metrics) do
    local pf = 0
    for i = 1, last do
      local f = m.flags[i]
      if m.nights[i] then
        if f ~= pf then at = math.max(at or 0, i) end
        pf = f
      end
    end
  end
  return at and (last - at) or nil
end

--- fn(...) with the collector's pause at 400 % (restored after, also on an error): a long
-- history is a large input that stays live while a table per night and metric is made and
-- dropped, and at the default 200 % each cycle marks that input again (365 nights x 50
-- cases: 30 % less CPU). Used by build and by the trend page's render.
-- @local
function M.roomy(fn, ...)
  local pause = collectgarbage("setpause", 400)
  local r = table.pack(pcall(fn, ...))
  collectgarbage("setpause", pause)
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

local build
function M.build(nights, opts) return M.roomy(build, nights, opts) end

function build(nights, opts)
  opts = opts or {}
  local recent = opts.recent or M.RECENT
  local t = { nights = nights, skipped = opts.skipped or {}, scenarios = {}, regressions = {}, improvements = {} }
  local last = #nights
  t.latest = last > 0 and last or nil
  local scen_by, rows_by = {}, {}
  for i, n in ipairs(nights) do
    n.label = M.label_text(n.labels)
    n.summary = n.doc.summary
    for _, c in ipairs(n.doc.cases or {}) do
      local sc = scen_by[c.scenario]
      if not sc then
        sc = { name = c.scenario, cases = {} }
        scen_by[c.scenario] = sc
        t.scenarios[#t.scenarios + 1] = sc
      end
      local row = rows_by[c.id]
      if not row then
        row = { id = c.id, scenario = c.scenario, case = c.case, cells = {}, metric_by = {}, metrics = {},
          order = c.order or 0 }
        rows_by[c.id] = row
        sc.cases[#sc.cases + 1] = row
      end
      row.order = c.order or row.order
      row.cells[i] = { verdict = c.verdict, passed = c.passed, runs = c.runs }
      local ms, names = samples(c)
      for _, name in ipairs(names) do
        local m = row.metric_by[name]
        if not m then
          m = { name = name, unit = ms[name].unit, series = {}, nights = {} }
          row.metric_by[name] = m
          row.metrics[#row.metrics + 1] = m
        end
        m.series[i] = ms[name].values
        m.nights[i] = stats.summary(ms[name].values)
      end
    end
  end
  for _, sc in ipairs(t.scenarios) do
    table.sort(sc.cases, function(a, b)
      if a.order ~= b.order then return a.order < b.order end
      return a.id < b.id
    end)
    for _, row in ipairs(sc.cases) do
      verdict_event(row, last)
      table.sort(row.metrics, function(a, b)
        if (a.name == "duration") ~= (b.name == "duration") then return b.name == "duration" end
        return a.name < b.name
      end)
      for _, m in ipairs(row.metrics) do
        if M.NO_REGRESSION[m.name] then
          m.flags = {}
          for i = 1, last do m.flags[i] = 0 end
        else
          m.flags, m.change = stats.flags(m.series, m.unit, last)
        end
        m.series = nil
      end
      row.metric_by = nil
      row.changed = last_change(row, last)
      local ev = row.event
      if ev and ev.kind == "bad" and row.latest == last then
        t.regressions[#t.regressions + 1] = { kind = "verdict", row = row, verdict = row.verdict,
          cell = row.cells[row.latest], since = ev.since, other = ev.other }
      elseif ev and ev.kind == "fixed" and row.latest == last and ev.since > last - recent then
        t.improvements[#t.improvements + 1] = { kind = "fixed", row = row, verdict = row.verdict,
          since = ev.since, other = ev.other }
      end
      for _, m in ipairs(row.metrics) do
        local ch = m.change
        if ch and ch.night == last then
          local worse = (ch.dir > 0) ~= stats.higher_is_better(m.unit)
          local before
          for i = ch.since - 1, 1, -1 do if m.nights[i] then before = i break end end
          local e = { kind = "metric", row = row, metric = m, change = ch, since = ch.since, other = before }
          if worse then t.regressions[#t.regressions + 1] = e
          else t.improvements[#t.improvements + 1] = e end
        end
      end
    end
  end
  -- what changed since the previous night (for the terminal's first lines)
  t.since_last = { bad = 0, fixed = 0, metric = 0 }
  for _, list in ipairs({ t.regressions, t.improvements }) do
    for _, e in ipairs(list) do
      if e.since == last then
        local k = e.kind == "metric" and "metric" or e.kind == "fixed" and "fixed" or "bad"
        t.since_last[k] = t.since_last[k] + 1
      end
    end
  end
  return t
end

-- One line of text per regression or improvement (terminal and page share them).
function M.describe(t, e)
  local function night(i)
    if not i then return "?" end
    local n = t.nights[i]
    return ("#%s%s"):format(n.seq or i, n.label ~= "" and (" (" .. n.label .. ")") or "")
  end
  local id = e.row.id
  if e.kind == "verdict" then
    local c = e.cell
    local what = c.verdict == "flaky" and ("flaky %d/%d"):format(c.passed, c.runs) or c.verdict
    return ("%s: %s since night %s; last good night %s"):format(id, what, night(e.since), night(e.other))
  elseif e.kind == "fixed" then
    return ("%s: passes since night %s; last bad night %s"):format(id, night(e.since), night(e.other))
  end
  local ch, unit = e.change, e.metric.unit ~= "" and (" " .. e.metric.unit) or ""
  local pct = ch.ref_median ~= 0 and ("%+.0f%%"):format((ch.median / ch.ref_median - 1) * 100) or "changed"
  return ("%s: %s %s (median %.4g -> %.4g%s, Mann-Whitney p=%.2g) since night %s; before: night %s")
    :format(id, e.metric.name, pct, ch.ref_median, ch.median, unit, ch.p, night(e.since), night(e.other))
end

return M
