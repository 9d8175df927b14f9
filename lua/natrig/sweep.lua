-- natrig.sweep: nightly sweeps. Scenarios x their parameter matrices x repeats, N cases
-- at once, each case in its own `natrig run` process with its own network; reports as
-- JUnit XML, JSON and one self-contained HTML page; shards and merges for CI.
--
--   natrig sweep [--repeat N] [-j N] [--allow-flaky] [--filter P] [--set k=v]
--                [--shard I/N] [--baseline OLD.json] [--junit F] [--json F] [--html F] FILE|DIR ...
--   natrig report merge A.json B.json ... [--html F] [--junit F] [--json F]
--
-- The pieces: natrig.sweep.args (command lines), natrig.sweep.plan (which cases, pure),
-- natrig.sweep.runner (child processes, -j, load), natrig.sweep.result (the child's side:
-- `natrig run --result-json`), natrig.sweep.model (verdicts, merge, baseline), and the
-- writers natrig.report.junit / natrig.report.html (JSON is the model itself).
local core = require "natrig.core"
local args_mod = require "natrig.sweep.args"
local plan = require "natrig.sweep.plan"
local model = require "natrig.sweep.model"

local M = {}

-- kept for callers of the first version
M.cases = plan.cases
M.case_name = plan.case_name
M.xml_escape = require("natrig.report.junit").escape
function M.junit(doc) return require("natrig.report.junit").render(doc) end
function M.html(doc, base_dir) return require("natrig.report.html").render(doc, base_dir) end
function M.json(doc) return core.json_encode(doc) .. "\n" end

local function say(...) io.stdout:write(...) io.stdout:write("\n") io.stdout:flush() end
local function warn(...) io.stderr:write("natrig sweep: ", ...) io.stderr:write("\n") io.stderr:flush() end

local function files_of(paths)
  local out = {}
  for _, p in ipairs(paths) do
    local st = core.stat(p)
    if st and st.type == "dir" then
      local names = {}
      for _, n in ipairs(core.list_dir(p) or {}) do
        if n:match("%.lua$") then names[#names + 1] = n end
      end
      table.sort(names)
      for _, n in ipairs(names) do out[#out + 1] = (p:gsub("/+$", "")) .. "/" .. n end
    elseif st then
      out[#out + 1] = p
    else
      return nil, "no such file or directory: " .. p
    end
  end
  return out
end

local function dirname(p)
  local d = tostring(p):match("^(.*)/[^/]*$")
  if d == nil then return "." end
  return d == "" and "/" or d
end

-- Write the reports asked for in opts (junit, json, html); false + message on failure.
function M.write_reports(doc, opts)
  local ok, err = pcall(function()
    for _, k in ipairs({ "json", "junit", "html" }) do
      if opts[k] then core.mkdir_p(dirname(opts[k])) end
    end
    if opts.json then core.write_file(opts.json, M.json(doc)) end
    if opts.junit then core.write_file(opts.junit, M.junit(doc)) end
    if opts.html then
      local base = core.realpath(dirname(opts.html)) or dirname(opts.html)
      core.write_file(opts.html, M.html(doc, base))
    end
  end)
  return ok, not ok and tostring(err) or nil
end

local function read_report(path)
  local raw = core.read_file(path)
  if not raw then return nil, "cannot read " .. path end
  local ok, doc = pcall(core.json_decode, raw)
  if not ok or type(doc) ~= "table" or doc.format ~= model.FORMAT then
    return nil, path .. " is not a natrig sweep JSON report"
  end
  return doc
end

local function summary_line(doc)
  local s = doc.summary
  return ("%d case(s), %d failed, %d flaky, %d error(s): %d of %d runs passed"):format(
    s.cases, s.fail, s.flaky, s.error, s.runs_passed, s.runs)
end

local function print_baseline(doc)
  local b = doc.baseline
  if not b then return end
  say(("baseline %s: %d new failure(s), %d fixed, %d newly flaky, %d slower, %d new"):format(
    b.file or "?", b.new_failure, b.fixed, b.newly_flaky, b.slower, b.new))
  for _, c in ipairs(doc.cases) do
    if #c.compare.marks > 0 and not (#c.compare.marks == 1 and c.compare.marks[1] == "new") then
      say(("  %-12s %s"):format(table.concat(c.compare.marks, ","), c.id))
    end
  end
end

local function first_line(s) return (tostring(s or ""):match("[^\n]*")) end

--- natrig sweep, with its options parsed (natrig.sweep.args.SWEEP_FLAGS by natrig.flags).
function M.main(o, paths)
  local opts, aerr = args_mod.sweep_opts(o, paths)
  if not opts then warn(aerr, " (natrig sweep --help)") return 2 end
  if not M.check_history(opts) then return 2 end
  local files, ferr = files_of(opts.paths)
  if not files then warn(ferr) return 2 end
  if #files == 0 then warn("no scenario files (*.lua) in ", table.concat(opts.paths, " ")) return 2 end
  local base
  if opts.baseline then
    local berr
    base, berr = read_report(opts.baseline)
    if not base then warn("--baseline: ", berr) return 2 end
  end

  -- Load every scenario here (names, parameters, matrices); a scenario that does not
  -- load is printed and counted as an error case, the others still run.
  local scenario = require "natrig.scenario"
  local defs, scenarios, load_errors = {}, {}, {}
  for _, f in ipairs(files) do
    local ok, def = pcall(scenario.load, f)
    if ok then
      defs[#defs + 1] = def
      scenarios[#scenarios + 1] = { name = def.name, file = f, axes = plan.axes(def.matrix), timeout = def.timeout }
    else
      local msg = tostring(def)
      warn("cannot load ", f, ": ", msg)
      scenarios[#scenarios + 1] = { name = f, file = f, axes = {}, load_error = msg }
      load_errors[#load_errors + 1] = { id = f .. " [load]", order = -(#files - #load_errors), scenario = f, file = f,
        case = "load", params = {}, load_error = true,
        repeats = { { index = 1, status = "error", ok = false, duration = 0, error = "scenario does not load: " .. msg,
          metrics = {} } } }
    end
  end
  local cases, unused = plan.plan(defs,
    { set = opts.set, filter = opts.filter, shard_i = opts.shard_i, shard_n = opts.shard_n })
  if #unused > 0 and #defs > 0 then
    warn(("--set %s: no scenario here has that parameter"):format(table.concat(unused, ", ")))
    return 2
  end
  if #cases == 0 and #load_errors == 0 then
    if opts.shard_n then
      local all = plan.plan(defs, { set = opts.set, filter = opts.filter })
      if #all > 0 then say(("shard %d/%d has no cases (%d in all)"):format(opts.shard_i, opts.shard_n, #all)) end
      if #all > 0 then
        local doc = model.new({ started = core.time(), hostname = core.hostname(), wall = 0, jobs = 0,
          ["repeat"] = opts.repeat_n, shard = ("%d/%d"):format(opts.shard_i, opts.shard_n) }, scenarios, {})
        local wok, werr = M.write_reports(doc, opts)
        if not wok then warn(werr) return 2 end
        return 0
      end
    end
    if opts.filter then
      warn(("0 cases: --filter '%s' matches none of the cases in %s"):format(opts.filter,
        table.concat(opts.paths, " ")))
    else
      warn("0 cases to run in ", table.concat(opts.paths, " "))
    end
    return 2
  end
  local by_name = {}
  for _, s in ipairs(scenarios) do by_name[s.name] = s end

  local jobs_n = opts.jobs or require("natrig.sweep.runner").default_jobs()
  local jobs = {}
  for r = 1, opts.repeat_n do
    for _, c in ipairs(cases) do
      c.repeats = c.repeats or {}
      jobs[#jobs + 1] = { case = c, ["repeat"] = r, timeout = (by_name[c.scenario] or {}).timeout }
    end
  end
  say(("sweep: %d case(s) x %d repeat(s) = %d run(s), %d at once%s%s"):format(#cases, opts.repeat_n, #jobs,
    jobs_n, opts.jobs and "" or " (default for this machine; -j N to change)",
    opts.shard_n and (", shard %d/%d"):format(opts.shard_i, opts.shard_n) or ""))
  if opts.labels then say("labels: ", require("natrig.trend_model").label_text(opts.labels)) end

  local scratch = ("%s/natrig-sweep-%d-%d"):format(core.getenv("TMPDIR") or "/tmp", core.pid(),
    math.floor(core.time() * 1000) % 1000000)
  core.mkdir_p(scratch)
  local runner = require "natrig.sweep.runner"
  local t0, started = core.now(), core.time()
  local done = 0
  local rok, rerr = pcall(runner.run, jobs, { jobs = jobs_n, dir = scratch, log = function(m) say("   ", m) end,
    on_done = function(job, r)
      done = done + 1
      local c = job.case
      c.repeats[#c.repeats + 1] = r
      if r.artifacts then r.artifacts = core.realpath(r.artifacts) or r.artifacts end
      local tag = r.status == "pass" and "PASS" or r.status == "fail" and "FAIL" or "ERROR"
      say(("%-5s %s #%d/%d (%.1fs) [%d/%d]"):format(tag, c.id, r.index, opts.repeat_n, r.duration or 0, done, #jobs))
      if r.status ~= "pass" then
        say("      ", first_line(r.error))
        -- an error that announces the app's last lines ("...; last lines:") gets them
        if first_line(r.error):match("last lines:$") then
          for l in tostring(r.error):gsub("^[^\n]*\n", ""):gmatch("[^\n]+") do say("        ", l) end
        end
        if r.where then say("      at ", r.where) end
        if r.artifacts then say("      artifacts: ", r.artifacts) end
      end
    end })
  pcall(core.rmdir, scratch)
  -- Interrupted (Ctrl-C, a CI job's SIGTERM): the children are stopped; the reports
  -- still get every repeat that finished, marked interrupted, and the exit is 130.
  if not rok then warn(tostring(rerr)) end

  local all_cases = {}
  for _, c in ipairs(load_errors) do all_cases[#all_cases + 1] = c end
  for _, c in ipairs(cases) do
    if rok or (c.repeats and #c.repeats > 0) then all_cases[#all_cases + 1] = c end
  end
  local doc = model.new({ started = started, hostname = core.hostname(), wall = core.now() - t0, jobs = jobs_n,
    ["repeat"] = opts.repeat_n, filter = opts.filter, interrupted = not rok or nil, labels = opts.labels,
    shard = opts.shard_n and ("%d/%d"):format(opts.shard_i, opts.shard_n) or nil }, scenarios, all_cases)
  if not rok then
    local wok, werr = M.write_reports(doc, opts)
    if not wok then warn(werr) end
    say(("interrupted: %d of %d run(s) finished; %s"):format(done, #jobs, summary_line(doc)))
    if opts.history then warn("--history: an interrupted sweep is not added to ", opts.history) end
    return 130
  end
  if base then model.compare(doc, base, opts.slower, opts.baseline) end
  for _, c in ipairs(doc.cases) do
    if c.verdict ~= "pass" then say(("%-5s %s: %d/%d passed"):format(c.verdict:upper(), c.id, c.passed, c.runs)) end
  end
  print_baseline(doc)
  local wok, werr = M.write_reports(doc, opts)
  if not wok then warn(werr) return 2 end
  say(("%s, in %.1fs with -j %d"):format(summary_line(doc), doc.wall, jobs_n))
  return M.history_step(doc, opts, model.exit_code(doc, opts.allow_flaky))
end

-- natrig report merge A.json B.json ... [--html F] [--junit F] [--json F]
function M.merge_main(o, inputs)
  local opts, aerr = args_mod.merge_opts(o, inputs)
  if not opts then warn(aerr, " (natrig report --help)") return 2 end
  local docs = {}
  for _, f in ipairs(opts.inputs) do
    local d, err = read_report(f)
    if not d then warn(err) return 2 end
    docs[#docs + 1] = d
  end
  if not M.check_history(opts) then return 2 end
  local ok, doc, overlap = pcall(model.merge, docs)
  if not ok then warn(tostring(doc)) return 2 end
  if #overlap > 0 then
    say(("report merge: %d case(s) are in more than one input (%s): their repeats are added up, "
      .. "numbered on"):format(#overlap, table.concat(overlap, ", ", 1, math.min(#overlap, 5))
      .. (#overlap > 5 and ", ..." or "")))
  end
  local labels = {}
  for _, d in ipairs(docs) do
    for k, v in pairs(type(d.labels) == "table" and d.labels or {}) do labels[k] = tostring(v) end
  end
  for k, v in pairs(opts.labels or {}) do labels[k] = v end
  doc.labels = next(labels) and labels or nil
  if opts.baseline then
    local b, berr = read_report(opts.baseline)
    if not b then warn("--baseline: ", berr) return 2 end
    model.compare(doc, b, opts.slower, opts.baseline)
    print_baseline(doc)
  end
  local wok, werr = M.write_reports(doc, opts)
  if not wok then warn(werr) return 2 end
  say(("merged %d report(s): %s"):format(#docs, summary_line(doc)))
  return M.history_step(doc, opts, model.exit_code(doc, opts.allow_flaky))
end

-- --history DIR must be a history, an empty folder or a new one: checked before anything
-- runs (exit 2, nothing touched).
function M.check_history(opts)
  if not opts.history then return true end
  local state, err = require("natrig.history").check(opts.history)
  if not state then warn("--history: ", err) return false end
  return true
end

-- The night into the history, the trend page, the summary; --fail-on-regression.
function M.history_step(doc, opts, rc)
  if not opts.history then return rc end
  local t, err = require("natrig.trend").record(doc, opts, warn)
  if not t then warn("--history: ", err) return math.max(rc, 2) end
  if opts.fail_on_regression and #t.regressions > 0 then return math.max(rc, 1) end
  return rc
end

return M
