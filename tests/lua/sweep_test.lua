-- Sweep planning, verdicts, merge, baseline and the report writers (pure: no engine).
local t = require "tap"
local natrig = require "natrig"
local sweep = require "natrig.sweep"
local plan = require "natrig.sweep.plan"
local model = require "natrig.sweep.model"
local args = require "natrig.sweep.args"
local junit = require "natrig.report.junit"
local html = require "natrig.report.html"
local metrics = require "natrig.metrics"

-- matrices
local cases = sweep.cases { nat = { "a", "b" }, delay = { "0ms", "150ms", "300ms" } }
t.is(#cases, 6, "cartesian product of the matrix")
t.is(sweep.case_name(cases[1]), "delay=0ms nat=a", "case names are stable and sorted")
t.is(#sweep.cases(nil), 1, "no matrix: one default case")
t.is(sweep.case_name({}), "default", "the default case")

-- planning: --set never duplicates, filter, shards
local defs = {
  { name = "s", file = "s.lua", params = { nat = "a", delay = "0ms", x = 1 },
    matrix = { nat = { "a", "b" }, delay = { "0ms", "9ms" } } },
  { name = "t", file = "t.lua", params = {}, matrix = nil },
}
local all = plan.plan(defs, {})
t.is(#all, 5, "4 matrix cases + 1 default case")
local fixed = plan.plan(defs, { set = { nat = "b" } })
t.is(#fixed, 3, "--set on a matrix key cuts the matrix: no duplicate cases")
local names = {}
for _, c in ipairs(fixed) do names[#names + 1] = c.id end
t.is(table.concat(names, ","), "s [delay=0ms nat=b],s [delay=9ms nat=b],t [default]", "--set keeps each case once")
local extra, unused = plan.plan(defs, { set = { x = "7", nope = "1" } })
t.is(extra[1].params.x, "7", "--set on a plain parameter reaches the case")
t.is(unused[1], "nope", "--set of a parameter no scenario has is reported")
t.is(#plan.plan(defs, { filter = "nat=b" }), 2, "filter by case name")
t.is(#plan.plan(defs, { filter = "zzz" }), 0, "filter matching nothing: 0 cases")
t.is(#plan.plan(defs, { filter = "delay=9ms nat=a" }), 1, "filter is plain text too")
local seen, total = {}, 0
for i = 1, 3 do
  for _, c in ipairs(plan.plan(defs, { shard_i = i, shard_n = 3 })) do
    t.ok(not seen[c.id], "shard " .. i .. " has " .. c.id .. " only once overall")
    seen[c.id] = true
    total = total + 1
  end
end
t.is(total, 5, "shards partition the cases")
t.is(plan.plan(defs, { shard_i = 2, shard_n = 3 })[1].id, plan.plan(defs, { shard_i = 2, shard_n = 3 })[1].id,
  "shards are stable")
t.ok(not plan.parse_shard("4/3") and not plan.parse_shard("0/2") and plan.parse_shard("2/4") == 2,
  "--shard I/N checked")

-- command lines
local o = args.sweep { "--repeat", "3", "-j", "4", "--allow-flaky", "--set", "a=1", "--set", "b=2", "--shard", "1/4",
  "x.lua" }
t.is(o.repeat_n, 3, "--repeat")
t.is(o.jobs, 4, "-j N")
t.ok(o.allow_flaky and o.set.a == "1" and o.set.b == "2" and o.shard_n == 4, "--allow-flaky, --set twice, --shard")
t.is(args.sweep { "-j2", "x" }.jobs, 2, "-jN")
t.ok(not args.sweep { "--repeat", "0", "x" }, "--repeat 0 is a usage error")
t.ok(not args.sweep { "--frob", "x" }, "unknown option is a usage error")
t.ok(not args.sweep { "--repeat" }, "missing value is a usage error")
t.is(#args.merge { "a.json", "b.json", "--html", "r.html" }.inputs, 2, "merge inputs")

-- verdicts
t.is(model.verdict { { status = "pass" }, { status = "pass" } }, "pass", "all passed: pass")
local v, p = model.verdict { { status = "pass" }, { status = "fail" }, { status = "pass" } }
t.ok(v == "flaky" and p == 2, "some passed: flaky 2/3")
t.is(model.verdict { { status = "fail" }, { status = "error" } }, "fail", "none passed, a failure: fail")
t.is(model.verdict { { status = "error" } }, "error", "only setup errors: error")

-- a report with a flaky case, a failing case and metrics
local function rep(i, st, extra_)
  local r = { index = i, status = st, ok = st == "pass", duration = 1 + i,
    metrics = { { name = "rtt", value = 10 * i, unit = "ms" } },
    output = "printed <" .. i .. ">" }
  for k, vv in pairs(extra_ or {}) do r[k] = vv end
  return r
end
local function doc_of(shard)
  local cs = {
    { id = "s [delay=0ms nat=a]", order = 1, scenario = "s", file = "s.lua", case = "delay=0ms nat=a",
      params = { nat = "a", delay = "0ms" },
      repeats = { rep(1, "pass"), rep(2, "pass"),
        rep(3, "fail", { error = "expect: boom & \"bust\"\nline 2", where = "s.lua:12", artifacts = "/tmp/art/x" }) } },
    { id = "s [delay=0ms nat=b]", order = 2, scenario = "s", file = "s.lua", case = "delay=0ms nat=b",
      params = { nat = "b", delay = "0ms" },
      repeats = { rep(1, "error", { error = "net:up: engine said no" }), rep(2, "fail", { error = "x" }),
        rep(3, "fail", { error = "y" }) } },
    { id = "s [delay=9ms nat=a]", order = 3, scenario = "s", file = "s.lua", case = "delay=9ms nat=a",
      params = { nat = "a", delay = "9ms" },
      repeats = { rep(1, "pass"), rep(2, "pass"), rep(3, "pass") } },
  }
  local mine = {}
  for _, c in ipairs(cs) do if not shard or (c.order - 1) % 2 == shard - 1 then mine[#mine + 1] = c end end
  return model.new({ started = 1700000000, hostname = "h", wall = 5, jobs = 2, ["repeat"] = 3 },
    { { name = "s", file = "s.lua", axes = plan.axes(defs[1].matrix) } }, mine)
end
local d = doc_of()
t.is(d.summary.flaky, 1, "one flaky case")
t.is(d.cases[1].verdict .. " " .. d.cases[1].passed .. "/" .. d.cases[1].runs, "flaky 2/3", "flaky 2/3")
t.is(d.summary.fail, 1, "one failing case")
t.is(model.exit_code(d), 1, "flaky or failing: exit 1")
local onlyflaky = model.new({}, {}, { { id = "f", order = 1, scenario = "f", case = "default", params = {},
  repeats = { rep(1, "pass"), rep(2, "fail") } } })
t.is(model.exit_code(onlyflaky), 1, "flaky fails the exit code")
t.is(model.exit_code(onlyflaky, true), 0, "--allow-flaky: flaky alone exits 0")

-- JSON round trip, merge of shards equals the unsharded report
local core = require "natrig.core"
local function norm(doc)
  local out = {}
  for _, c in ipairs(doc.cases) do
    local st = {}
    for _, r in ipairs(c.repeats) do st[#st + 1] = r.index .. r.status .. tostring(r.error) end
    out[#out + 1] = c.id .. "|" .. c.verdict .. "|" .. c.passed .. "/" .. c.runs .. "|" .. table.concat(st, ",")
  end
  return table.concat(out, "\n")
end
local s1 = core.json_decode(sweep.json(doc_of(1)))
local s2 = core.json_decode(sweep.json(doc_of(2)))
local merged = model.merge { s2, s1 }
t.is(norm(merged), norm(d), "merge of two shards = the unsharded report")
t.is(merged.summary.cases, 3, "merged summary counts every case")
t.ok(not pcall(model.merge, { { format = "other" } }), "merge refuses a non-sweep JSON")

-- baseline comparison
local old = core.json_decode(sweep.json(d))
old.cases[2].verdict = "pass" -- was passing: now a new failure
old.cases[3].verdict = "fail" -- was failing: now fixed
old.cases[1].verdict = "pass" -- was passing: now newly flaky
for _, r in ipairs(old.cases[3].repeats) do r.metrics[1].value = r.metrics[1].value / 2 end -- now slower
model.compare(d, old, 0.25, "old.json")
t.is(table.concat(d.cases[1].compare.marks, ","), "newly-flaky", "newly flaky")
t.is(table.concat(d.cases[2].compare.marks, ","), "new-failure", "new failure")
t.is(table.concat(d.cases[3].compare.marks, ","), "fixed,slower", "fixed, and its rtt median doubled: slower")
t.ok(d.baseline.new_failure == 1 and d.baseline.fixed == 1 and d.baseline.newly_flaky == 1 and d.baseline.slower == 1,
  "baseline counts")

-- JUnit
local x = junit.render(d)
t.like(x, '<testsuite name="s %[delay=0ms nat=a%]" tests="3" failures="1" errors="0"',
  "one suite per case with failures and errors")
t.like(x, '<testsuite name="s %[delay=0ms nat=b%]" tests="3" failures="2" errors="1"',
  "setup errors counted apart from failures")
t.like(x, 'timestamp="2023%-11%-14T22:13:20" hostname="h"', "timestamp and hostname")
t.like(x, '<property name="nat" value="a"/>', "parameters as properties")
t.like(x, '<property name="natrig.passed" value="2/3"/>', "flaky 2/3 in JUnit")
t.like(x, '<failure message="expect: boom &amp; &quot;bust&quot;" type="natrig.expect">',
  "failure message escaped, first line")
t.like(x, "at s.lua:12", "file:line in the failure")
t.like(x, '<error message="net:up: engine said no" type="natrig.setup">', "setup error as <error>")
t.like(x, "<system%-out>artifacts: /tmp/art/x\nmetric rtt = 30 ms\nprinted &lt;3&gt;</system%-out>",
  "system-out: artifacts, metrics, output")
t.is(sweep.xml_escape("a\1b"), "a?b", "control characters replaced")

-- HTML
local h = html.render(d, "/tmp")
t.like(h, '<table class="grid" data%-scenario="s" data%-rows="2" data%-cols="2">', "a 2-D grid for the 2x2 matrix")
t.like(h, 'data%-verdict="flaky" style="background:hsl%(80,', "flaky cell coloured by its pass rate")
t.like(h, ">2/3</a>", "cell shows the count")
t.like(h, '<svg class="metric%-plot" data%-metric="rtt"', "a plot per metric")
t.like(h, '<svg class="metric%-plot" data%-metric="duration"', "a plot of the run durations")
t.like(h, "at <code>s.lua:12</code>", "failures show file:line")
t.like(h, 'href="art/x"', "artifacts linked relative to the report")
t.like(h, "printed &lt;3&gt;", "failures show the output, escaped")
t.like(h, "newly%-flaky", "baseline marks in the HTML")
t.ok(not h:find("https?://") or not h:find('src="http'), "no network fetches")
t.ok(not h:find("<script src") and not h:find("<link "), "self-contained: no external script or stylesheet")

-- the path column: net:record_path's metrics ("path a<->b KIND"), per pair, in JSON, JUnit, HTML
do
  local function prep(i, kind, more)
    local ms = { { name = "rtt", value = 30, unit = "ms" }, { name = "path a<->b " .. kind, value = 1, unit = "" } }
    if more then ms[#ms + 1] = { name = more, value = 1, unit = "" } end
    return { index = i, status = kind == "direct" and "pass" or "fail", ok = kind == "direct", duration = 1,
      metrics = ms }
  end
  local pd = model.new({ started = 1700000000, hostname = "h" }, {}, {
    { id = "p [default]", order = 1, scenario = "p", case = "default", params = {},
      repeats = { prep(1, "direct", "path a<->r direct"), prep(2, "relayed via turn"), prep(3, "direct") } },
    { id = "q [default]", order = 2, scenario = "q", case = "default", params = {}, repeats = { rep(1, "pass") } },
  })
  local back = core.json_decode(sweep.json(pd))
  local pc = back.cases[1].paths
  t.is(#pc, 2, "JSON: one path entry per pair the case recorded")
  t.is(pc[1].pair .. " " .. pc[1].kinds[1].kind .. " " .. pc[1].kinds[1].n, "a<->b direct 2",
    "JSON: the pair's most frequent kind first, with its count")
  t.is(pc[1].text, "a<->b direct 2/3, relayed via turn 1/3", "JSON: the column's text")
  t.is(pc[2].text, "a<->r direct 1/3", "JSON: a pair recorded in one repeat only")
  t.is(#back.cases[2].paths, 0, "JSON: a case that recorded no path has an empty list")
  local merged2 = model.merge { back, back }
  t.is(merged2.cases[1].paths[1].text, "a<->b direct 4/6, relayed via turn 2/6", "merge recounts the paths")
  local px = junit.render(pd)
  t.like(px, '<property name="natrig.path.a&lt;%-&gt;b" value="direct 2/3, relayed via turn 1/3"/>',
    "JUnit: a property per pair")
  local ph = html.render(pd, "/tmp")
  t.like(ph, "<th>path</th>", "HTML: the cases table has a path column")
  t.like(ph, '<span class="path" data%-pair="a&lt;%-&gt;b" data%-kind="direct">'
    .. 'a&lt;%-&gt;b direct 2/3, relayed via turn 1/3</span>', "HTML: the case's path cell")
  t.ok(not ph:find('data%-metric="path '), "HTML: path metrics are the column, not plots of ones")
  t.like(ph, 'data%-metric="rtt"', "HTML: the other metrics are still plotted")
end

-- metrics
metrics.reset()
natrig.metric("connect", 1.5, "s")
t.ok(not pcall(natrig.metric, "bad", 0 / 0), "NaN refused")
t.ok(not pcall(natrig.metric, "", 1), "empty name refused")
local m = metrics.take()
t.ok(#m == 1 and m[1].name == "connect" and m[1].value == 1.5 and m[1].unit == "s",
  "natrig.metric records name, value, unit")
t.is(#metrics.take(), 0, "take() starts a new list")
metrics.reset()
t.is(metrics.wait_log_name("gw"), "wait_log gw #1", "wait_log metric name: node and sequence")
t.is(metrics.wait_log_name("gw"), "wait_log gw #2", "the node's second wait_log")
t.is(metrics.wait_log_name("a"), "wait_log a #1", "counted per node")
metrics.reset()
metrics.wait_log("gw", { match = "10.1.2.3" }, require("natrig.core").now() - 0.25)
local wl = metrics.take()[1]
t.ok(wl.name == "wait_log gw #1" and wl.unit == "s" and wl.value >= 0.25 and wl.value < 5,
  "wait_log records the seconds it took, under a name without the run's addresses")

-- core.spawn: child processes by argv, polled without blocking, killed, reaped
local tmpd = (core.getenv("TMPDIR") or "/tmp") .. "/natrig-spawn-test-" .. core.pid()
core.mkdir_p(tmpd)
local pr = core.spawn({ "echo", "hello", "world" }, { stdout = tmpd .. "/out", stderr = "stdout" })
t.is(pr:wait(), 0, "spawn: echo exits 0")
t.is(core.read_file(tmpd .. "/out"), "hello world\n", "spawn: stdout to a file")
t.like(tostring(pr), "natrig.Process %(pid %d+, ended 0%)", "spawn: __tostring shows the state")
t.is(core.spawn({ "false" }):wait(), 1, "spawn: the exit code")
local envp = core.spawn({ "env" }, { stdout = tmpd .. "/env", env = { NATRIG_REPEAT = "7" } })
envp:wait()
t.like(core.read_file(tmpd .. "/env"), "\nNATRIG_REPEAT=7\n", "spawn: env adds variables")
t.like(core.read_file(tmpd .. "/env"), "PATH=", "spawn: env keeps the rest of the environment")
local sl = core.spawn({ "sleep", "30" })
t.is(sl:poll(), nil, "spawn: poll is nil while the child runs")
t.ok(sl:kill(core.SIGTERM), "spawn: kill")
local t0, code = core.now(), nil
while not code and core.now() - t0 < 5 do code = sl:poll(); core.sleep(0.01) end
t.is(code, 128 + core.SIGTERM, "spawn: a killed child ends with 128 + signal")
t.is(sl:kill(), false, "spawn: kill of an ended child says false")
local sg = core.spawn({ "sleep", "30" })
core.sleep(0.2)
local ign = tonumber((core.read_file("/proc/" .. sg:pid() .. "/status") or ""):match("\nSigIgn:%s*(%x+)") or "x", 16)
t.ok(ign and (ign >> 12) & 1 == 0 and (ign >> 1) & 1 == 0 and (ign >> 14) & 1 == 0,
  "spawn: the child does not ignore SIGPIPE, SIGINT or SIGTERM (natrig ignores SIGPIPE; exec would keep that)")
sg:close()
local sl2 = core.spawn({ "sleep", "30" })
local pid2 = sl2:pid()
sl2:close()
t.ok(not core.proc_start(pid2), "spawn: close kills and reaps a running child")
t.raises(function() sl2:poll() end, "closed", "spawn: a closed handle raises")
t.raises(function() core.spawn({ "/nonexistent/natrig-no-such-binary" }) end, "cannot run",
  "spawn: a missing program raises")
t.raises(function() core.spawn({}) end, "argv", "spawn: empty argv raises")
t.raises(function() core.spawn({ "true" }, { stdin = "x" }) end, "unknown option 'stdin'", "spawn: options are strict")
core.remove(tmpd .. "/out"); core.remove(tmpd .. "/env"); core.rmdir(tmpd)
t.done()
