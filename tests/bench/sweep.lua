-- Sweep bench: the hole-punching matrix as a sweep over UDP, unmapped (36 cases x 3 repeats, each case its
-- own network), once with -j 4 and once with -j 1 on this machine. Prints both wall
-- times, their ratio (goal: -j 4 at most 0.5 x the -j 1 time on 2 cores), whether the
-- verdicts are the same, and whether the JUnit validates. Run by `make bench`.
--   NATRIG_BENCH_SWEEP_FILTER="second=full_cone"  a subset of the cases
--   NATRIG_BENCH_SWEEP_REPEAT=1                   fewer repeats
--   NATRIG_BENCH_SWEEP_OUT=dir                    where the reports go (default build/bench)
local core = require "natrig.core"

local scenario = "scenarios/holepunch_matrix.lua"
local filter = core.getenv("NATRIG_BENCH_SWEEP_FILTER")
local rep = core.getenv("NATRIG_BENCH_SWEEP_REPEAT") or "3"
local out = core.getenv("NATRIG_BENCH_SWEEP_OUT") or ((core.getenv("B") or "build") .. "/bench")
local bin = core.getenv("NATRIG_BIN") or (core.libexec_dir() .. "/natrig")
core.mkdir_p(out)

local function sweep(j)
  -- UDP only, as the bench has always measured (the matrix's TCP half doubles the cases)
  local argv = { bin, "sweep", scenario, "--set", "proto=udp", "--set", "mapped=none", "--repeat", rep,
    "-j", tostring(j),
    "--json", ("%s/sweep-j%d.json"):format(out, j), "--junit", ("%s/sweep-j%d.xml"):format(out, j),
    "--html", ("%s/sweep-j%d.html"):format(out, j) }
  if filter and filter ~= "" then argv[#argv + 1] = "--filter"; argv[#argv + 1] = filter end
  local log = ("%s/sweep-j%d.log"):format(out, j)
  local t0 = core.now()
  local p = core.spawn(argv, { stdout = log, stderr = "stdout" })
  local code = p:wait()
  local wall = core.now() - t0
  local doc = core.json_decode(core.read_file(("%s/sweep-j%d.json"):format(out, j)) or "{}")
  local verdicts = {}
  for _, c in ipairs(doc.cases or {}) do verdicts[#verdicts + 1] = c.id .. "=" .. c.verdict .. ":" .. c.passed end
  print(("  -j %d: %.1f s wall, exit %d, %s (log %s)"):format(j, wall, code,
    doc.summary and ("%d case(s): %d pass, %d fail, %d flaky, %d error; %d/%d runs passed"):format(doc.summary.cases,
      doc.summary.pass, doc.summary.fail, doc.summary.flaky, doc.summary.error, doc.summary.runs_passed,
        doc.summary.runs)
      or "no report", log))
  return wall, table.concat(verdicts, "\n"), doc
end

print(("sweep bench: %s --repeat %s%s, %s CPU(s)"):format(scenario, rep,
  filter and (" --filter '" .. filter .. "'") or "", select(2, core.run({ "nproc" })):gsub("%s+$", "")))
local w4, v4 = sweep(4)
local w1, v1 = sweep(1)
print(("  ratio -j 4 / -j 1 = %.2f (goal <= 0.50)"):format(w4 / w1))
print(("  same verdicts with -j 4 and -j 1: %s"):format(v4 == v1 and "yes" or "NO"))
local xok, code = pcall(core.run,
  { "xmllint", "--noout", "--schema", "tests/fixtures/junit-10.xsd", out .. "/sweep-j4.xml" })
print(("  JUnit (-j 4) valid against junit-10.xsd: %s"):format(xok and code == 0 and "yes" or "NO"))
