-- Nightly history, the pure parts (issue 27): the Mann-Whitney U test and the regression
-- rule (natrig.trend_stats), the trend model (natrig.trend_model: first bad night, fixed,
-- regressions and improvements), the pruning plan (natrig.history_prune) and the trend
-- page's markup (natrig.report.trend_html). No engine, no files.
local t = require "tap"
require "natrig"
local stats = require "natrig.trend_stats"
local tm = require "natrig.trend_model"
local prune = require "natrig.history_prune"
local page = require "natrig.report.trend_html"

local function near(a, b, eps) return a and math.abs(a - b) <= (eps or 1e-9) end

-- Mann-Whitney U: exact tails against values counted by hand
local p, U, how = stats.mann_whitney({ 4, 5, 6 }, { 1, 2, 3 })
t.ok(near(p, 1 / 20) and U == 9 and how == "exact", ("all three above all three: p = 1/C(6,3) (got %s, U %s)")
  :format(tostring(p), tostring(U)))
t.ok(near(stats.mann_whitney({ 1, 2, 3 }, { 4, 5, 6 }), 1), "all below: one-sided p = 1")
p = stats.mann_whitney({ 2.5, 6 }, { 1, 2, 3, 4, 5 })
-- U = 1 (2.5 > 1, 2) ... = 2 + 5 = 7 of 10; P(U >= 7) for m=2, n=5 = 6/21 (U = 7..10: 2,1,1,1... counted below)
local count = 0
for a = 1, 7 do for b = a + 1, 7 do
  local u = (a - 1) + (b - 2) -- ranks a < b of the two x's among 7: U = ranks - 3
  if u >= 7 then count = count + 1 end
end end
t.ok(near(p, count / 21), ("m=2 n=5 U=7: p = %d/21 (got %.4f)"):format(count, p or -1))
local pt, _, howt = stats.mann_whitney({ 5, 5, 6 }, { 1, 1, 5, 2 })
t.ok(howt == "normal" and pt > 0 and pt < 0.2, "ties: the normal approximation with tie correction (p " ..
  tostring(pt) .. ")")
t.ok(near(stats.upper_tail(0), 0.5, 1e-6) and near(stats.upper_tail(1.6448536), 0.05, 1e-4), "normal tail")
t.is(stats.median({ 3, 1, 2 }), 2, "median, odd")
t.is(stats.median({ 4, 1, 2, 3 }), 2.5, "median, even")
-- the hand-sorted summaries of 1..3 samples equal the sorted ones
local function ref_summary(v)
  local sv = { table.unpack(v) }
  table.sort(sv)
  local n = #sv
  local function q(pp)
    local pos = 1 + (n - 1) * pp
    local lo = math.floor(pos)
    local hi = math.min(lo + 1, n)
    return sv[lo] + (sv[hi] - sv[lo]) * (pos - lo)
  end
  return { n = n, min = sv[1], q1 = q(0.25), median = q(0.5), q3 = q(0.75), max = sv[n] }
end
local same = true
for _, v in ipairs({ { 1 }, { 2, 1 }, { 1, 2 }, { 1, 2, 3 }, { 1, 3, 2 }, { 2, 1, 3 }, { 2, 3, 1 }, { 3, 1, 2 },
  { 3, 2, 1 }, { 1, 1, 2 }, { 2, 1, 1 }, { 1, 2, 1 }, { 5, 5, 5 }, { 4, 1, 3, 2 } }) do
  local a, b = stats.summary(v), ref_summary(v)
  for _, k in ipairs({ "n", "min", "q1", "median", "q3", "max" }) do
    if not near(a[k], b[k], 1e-12) or not near(stats.median(v), b.median, 1e-12) then same = false end
  end
end
t.ok(same, "summaries and medians of 1, 2, 3 and 4 samples in any order")
t.ok(stats.higher_is_better("Mbit/s") and not stats.higher_is_better("ms"), "a rate's rise is better")

-- the rule: p < ALPHA and the medians >= MIN_EFFECT apart
t.is(stats.ALPHA, 0.01, "ALPHA 0.01 (README)")
t.is(stats.MIN_EFFECT, 0.10, "MIN_EFFECT 10 % (README)")
local ref = {}
for i = 1, 30 do ref[i] = 100 + (i % 7) - 3 end
t.ok(stats.compare({ 140, 141, 139 }, ref, "ms") ~= nil, "+40 % with 3 repeats against 30 samples: found")
t.ok(stats.compare({ 105, 106, 104 }, ref, "ms") == nil, "+5 %: below the effect floor, not a change")
t.ok(stats.compare({ 140 }, { 100, 101, 99 }, "ms") == nil, "1 sample against 3: never significant")
t.ok(stats.compare({ 1.4, 1.41, 1.39 }, { 1, 1, 1.01, 0.99, 1, 1, 1.01, 0.99, 1, 1 }, "us") == nil,
  "a time metric must move by at least 1 ms")

-- series: random stable metrics raise (almost) nothing; a 40 % step is found at its night
math.randomseed(27)
local function gauss() return math.sqrt(-2 * math.log(1 - math.random())) * math.cos(2 * math.pi * math.random()) end
local function series(step_at, rise, sigma, repeats)
  local s = {}
  for n = 1, 30 do
    s[n] = {}
    for r = 1, repeats do
      local v = 100 * (1 + sigma * gauss())
      if step_at and n >= step_at then v = v * rise end
      s[n][r] = v
    end
  end
  return s
end
local fp, trials = 0, 400
for _ = 1, trials do
  local _, ch = stats.flags(series(nil, 1, 0.05, 3), "ms")
  if ch then fp = fp + 1 end
end
t.ok(fp <= trials * 0.01, ("stable metrics (sd 5 %%, 3 repeats, 30 nights): %d of %d flagged at the latest night")
  :format(fp, trials))
local found, at20 = 0, 0
for _ = 1, 100 do
  local _, ch = stats.flags(series(20, 1.4, 0.05, 3), "ms")
  if ch and ch.dir == 1 then found = found + 1; if ch.since == 20 then at20 = at20 + 1 end end
end
t.ok(found == 100 and at20 >= 95, ("+40 %% from night 20: found %d/100, dated night 20 in %d"):format(found, at20))
local _, back = stats.flags(series(20, 1.4, 0.05, 3), "ms", 19)
t.ok(back == nil, "up to night 19 nothing has changed")

-- the model: synthetic nights (flaky from 12, fixed at 25, metric +40 % from 20)
local function night(i)
  local function case(id, verdict, passed, metric)
    local reps = {}
    for r = 1, 3 do
      local st = r <= passed and "pass" or "fail"
      reps[r] = { index = r, status = st, duration = 0.2,
        metrics = { { name = "connect", value = metric * (1 + 0.01 * ((i * 3 + r) % 5 - 2)), unit = "ms" } } }
    end
    return { id = "s [case=" .. id .. "]", scenario = "s", case = "case=" .. id, verdict = verdict, passed = passed,
      runs = 3, repeats = reps, order = #id }
  end
  local doc = { cases = {
    case("flake", i >= 12 and "flaky" or "pass", i >= 12 and 2 or 3, 100),
    case("slow", "pass", 3, i >= 20 and 140 or 100),
    case("fixed", i >= 25 and "pass" or "fail", i >= 25 and 3 or 0, 100),
  }, summary = { pass = 1 } }
  return { id = ("%04d-x"):format(i), seq = i, labels = { version = "v" .. i }, doc = doc,
    links = { report = ("nights/%04d-x/report.html"):format(i), json = ("nights/%04d-x/report.json"):format(i) },
    runs = {} }
end
local nights = {}
for i = 1, 30 do nights[i] = night(i) end
local m = tm.build(nights, { skipped = { { id = "0031-bad", reason = "report.json is corrupt" } } })
local rows = {}
for _, row in ipairs(m.scenarios[1].cases) do rows[row.case] = row end
t.ok(rows["case=flake"].event.kind == "bad" and rows["case=flake"].event.since == 12
  and rows["case=flake"].event.other == 11, "flake: bad since night 12, last good night 11")
t.ok(rows["case=fixed"].event.kind == "fixed" and rows["case=fixed"].event.since == 25
  and rows["case=fixed"].event.other == 24, "fixed: passes since night 25, last bad night 24")
local regs = {}
for _, e in ipairs(m.regressions) do regs[#regs + 1] = e.kind .. ":" .. e.row.case .. ":" .. e.since end
table.sort(regs)
t.is(table.concat(regs, " "), "metric:case=slow:20 verdict:case=flake:12", "regressions: the flake and the metric")
t.is(#m.improvements, 1, "improvements: the fix (within the last 7 nights)")
t.like(tm.describe(m, m.regressions[1]), "since night #%d+ %(version=v%d+%)", "a regression names its night's label")
t.is(rows["case=slow"].changed, 10, "slow last changed 10 nights ago (the flag began at 20)")
local html = page.render(m, "")
t.like(html, 'data%-kind="verdict" data%-case="s %[case=flake%]" data%-since="#12"', "page: the flake at night 12")
t.like(html, 'data%-metric="connect" data%-since="#20"', "page: the metric at night 20")
t.like(html, "version=v11", "page: the last good night's label")
t.like(html, 'class="skipped" data%-night="0031%-bad"', "page: the skipped night is named")
t.like(html, '<tr class="row ch7 ch30" data%-case="s %[case=fixed%]"',
  "filter: fixed 5 nights ago is in the last 7 and 30")
t.like(html, '<tr class="row ch30" data%-case="s %[case=flake%]"',
  "filter: the flake (18 nights ago) only in the last 30")
t.like(html, "#chg%-7:checked~%.scenarios tr%.row:not%(%.ch7%){display:none}", "filter: CSS alone hides the others")
t.ok(not html:find("<script", 1, true) and not html:find('href="http', 1, true) and not html:find('src="', 1, true),
  "page: no script, nothing fetched")
local m2 = tm.build({ nights[1] })
t.is(#m2.regressions + #m2.improvements, 0, "one night: nothing to compare")
t.ok(tm.build({}).latest == nil and page.render(tm.build({})):find('id="empty"'), "no night: an empty page")

-- the terminal: at most 10 lines, whatever the number of changes
local many = {}
for i = 1, 3 do
  local cases = {}
  for c = 1, 20 do
    cases[c] = { id = "m [c=" .. c .. "]", scenario = "m", case = "c=" .. c, order = c,
      verdict = i == 3 and "flaky" or "pass", passed = i == 3 and 2 or 3, runs = 3, repeats = {} }
  end
  many[i] = { id = "n" .. i, seq = i, labels = {}, doc = { cases = cases, summary = {} }, runs = {},
    links = { json = "x" } }
end
local mm = tm.build(many, { skipped = { { id = "n0", reason = "corrupt" } } })
local lines = require("natrig.trend").summary_lines(mm, "DIR/index.html")
t.is(#mm.regressions, 20, "20 cases went flaky")
t.ok(#lines <= 10 and lines[#lines] == "page: DIR/index.html" and lines[#lines - 1]:match("^skipped 1 night")
  and table.concat(lines, "\n"):match("and 1[0-9] more"),
  ("the terminal summary: %d lines, the rest on the page"):format(#lines))

-- pruning
local ns = {}
for i = 1, 10 do ns[i] = { id = "n" .. i, bytes = 100, run_bytes = 60 } end
local pl = prune.plan(ns, { keep_nights = 4 })
t.is(table.concat(pl.drop, ","), "n1,n2,n3,n4,n5,n6", "--keep-nights 4: the 6 oldest go")
t.is(table.concat(pl.keep, ","), "n7,n8,n9,n10", "--keep-nights 4: the newest 4 stay")
pl = prune.plan(ns, { keep_bytes = 800 })
t.is(table.concat(pl.drop_runs, ","), "n1,n2,n3,n4", "--keep-bytes: artifacts first, oldest first")
t.is(#pl.drop, 0, "--keep-bytes: no night dropped while artifacts suffice")
pl = prune.plan(ns, { keep_bytes = 250 })
t.ok(#pl.keep >= 1 and pl.keep[#pl.keep] == "n10" and pl.bytes <= 250,
  "--keep-bytes: whole nights go, never the newest")
pl = prune.plan(ns, { keep_bytes = 10 })
t.ok(pl.keep[1] == "n10" and #pl.keep == 1 and pl.over, "a budget below the newest night: it stays, said")
t.is(prune.parse_bytes("2G"), 2 * 1024 ^ 3, "2G")
t.is(prune.parse_bytes("500M"), 500 * 1024 * 1024, "500M")
t.is(prune.parse_bytes("1000"), 1000, "bytes")
t.ok(prune.parse_bytes("lots") == nil, "a size that does not parse")

t.done()
