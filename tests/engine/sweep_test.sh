#!/bin/bash
# natrig sweep end to end (needs:engine): repeats and flake rate, -j, crash containment,
# load errors, 0 cases, --set, shards + merge, baseline, JUnit against junit-10.xsd
# (xmllint), the HTML report in a real headless browser (chromium: screenshot, no
# console errors, grid and plot present), and one small real-engine sweep.
# The fixture scenarios (tests/fixtures/sweep/) bring no network up: fast.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
F=tests/fixtures/sweep
B=${B:-build}
export NATRIG_SWEEP_STAGGER=0.1 # the fixtures bring no network up: no need to space their starts
LUA="$NATRIG lua"

# A Lua check run by natrig itself: check.lua REPORT.json EXPR... (each EXPR must be true)
cat >"$tmp/check.lua" <<'EOF'
local core = require "natrig.core"
local d = core.json_decode(assert(core.read_file(arg[1])))
local by = {}
for _, c in ipairs(d.cases) do by[c.id] = c end
local env = setmetatable({ d = d, by = by }, { __index = _G })
local bad = 0
for i = 2, #arg do
  local f = assert(load("return " .. arg[i], arg[i], "t", env))
  local ok, v = pcall(f)
  if not (ok and v) then print("# false: " .. arg[i] .. (ok and "" or (" (" .. tostring(v) .. ")"))); bad = bad + 1 end
end
os.exit(bad == 0 and 0 or 1)
EOF

# 1. fixtures: a flaky coin, a 3x2 grid with one failing cell, a crash, a load error
$NATRIG sweep --repeat 3 -j 3 --json "$tmp/r.json" --junit "$tmp/r.xml" --html "$tmp/r.html" $F >"$tmp/out" 2>&1; rc=$?
sed 's/^/# /' "$tmp/out" | tail -12
[ $rc = 1 ]; ok $? "a sweep with flaky, failing and broken cases exits 1 (got $rc)"
grep -q "^FLAKY flaky coin \[default\]: 2/3 passed" "$tmp/out"; ok $? "stdout: the seeded coin is flaky 2/3"
grep -q "cannot load tests/fixtures/sweep/broken.lua" "$tmp/out"; ok $? "a scenario that does not load is printed"
grep -q "^9 case(s), 1 failed, 1 flaky, 2 error(s): 17 of 25 runs passed" "$tmp/out"; ok $? "summary counts the load error and the crash as errors"
$LUA "$tmp/check.lua" "$tmp/r.json" \
  'by["flaky coin [default]"].verdict == "flaky" and by["flaky coin [default]"].passed == 2 and by["flaky coin [default]"].runs == 3' \
  'by["flaky coin [default]"].repeats[3].status == "fail"' \
  'by["flaky coin [default]"].repeats[3].where == "tests/fixtures/sweep/flaky.lua:12"' \
  'by["flaky coin [default]"].repeats[3].error:find("seeded coin", 1, true)' \
  'by["flaky coin [default]"].repeats[2].output:find("coin seeded with repeat 2", 1, true)' \
  'by["flaky coin [default]"].repeats[3].metrics[1].name == "coin time" and by["flaky coin [default]"].repeats[3].metrics[1].value == 8' \
  'by["grid [a=z b=2]"].verdict == "fail" and by["grid [a=z b=2]"].params.a == "z" and by["grid [a=z b=2]"].params.b == "2"' \
  'by["grid [a=x b=1]"].verdict == "pass" and by["grid [a=x b=1]"].repeats[1].duration >= 0' \
  'by["crash [default]"].verdict == "error" and by["crash [default]"].repeats[1].error:find("exited with code 9", 1, true)' \
  'by["crash [default]"].repeats[1].output:find("about to die", 1, true)' \
  'by["tests/fixtures/sweep/broken.lua [load]"].verdict == "error"' \
  'd.summary.flaky == 1 and d.summary.fail == 1 and d.summary.error == 2 and d.summary.pass == 5' \
  'd.hostname and d.started and d["repeat"] == 3 and d.jobs == 3'
ok $? "JSON: per repeat result, message, file:line, output, metrics, parameters; crash contained"

# 2. JUnit: valid against junit-10.xsd, flaky 2/3, errors apart from failures
if command -v xmllint >/dev/null; then
  xmllint --noout --schema tests/fixtures/junit-10.xsd "$tmp/r.xml" 2>"$tmp/xl"; ok $? "JUnit validates against junit-10.xsd"
  [ $? = 0 ] || sed 's/^/# /' "$tmp/xl" | head
else
  [ "$CI" = true ]; ok $? "xmllint present (libxml2-utils) # SKIP xmllint missing"
fi
grep -q '<testsuite name="flaky coin \[default\]" tests="3" failures="1" errors="0"' "$tmp/r.xml" \
  && grep -q '<property name="natrig.passed" value="2/3"/>' "$tmp/r.xml"; ok $? "JUnit: flaky 2/3 (one failure of three)"
grep -q '<testsuite name="crash \[default\]" tests="3" failures="0" errors="3"' "$tmp/r.xml"; ok $? "JUnit: a crash is an error, not a failure"
grep -q '<property name="a" value="z"/>' "$tmp/r.xml" && grep -q 'timestamp="20' "$tmp/r.xml" && grep -q 'hostname="' "$tmp/r.xml"
ok $? "JUnit: parameters as properties, timestamp, hostname"
grep -q '<system-out>.*coin seeded with repeat 3' "$tmp/r.xml" || grep -q 'coin seeded with repeat 3' "$tmp/r.xml"; ok $? "JUnit: system-out holds the printed output"

# 3. HTML: grid, plots, flaky 2/3, failures with file:line; self-contained
grep -q '<table class="grid" data-scenario="grid" data-rows="3" data-cols="2">' "$tmp/r.html"; ok $? "HTML: a 3x2 grid for the grid scenario"
grep -q 'badge b-flaky">flaky</span></td><td>2/3' "$tmp/r.html"; ok $? "HTML: flaky 2/3"
grep -q '<svg class="metric-plot" data-metric="connect"' "$tmp/r.html"; ok $? "HTML: a plot of the scenario's metric"
grep -q 'at <code>tests/fixtures/sweep/flaky.lua:12</code>' "$tmp/r.html"; ok $? "HTML: failure with file:line"
! grep -qiE '(src|href)="https?://' "$tmp/r.html"; ok $? "HTML: nothing fetched from the network"

# 4. the HTML in a real headless browser: scripts run, no console errors, grid + plot
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -n "$CHROME" ]; then
  shot="$B/sweep-report.png"
  chrome() { timeout 90 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --host-resolver-rules="MAP * ~NOTFOUND" --enable-logging=stderr --v=0 "$@"; }
  # the harness sees console errors: a page with one must be caught
  printf '<!DOCTYPE html><html><body><script>console.error("sweep-test-marker"); nope();</script></body></html>' >"$tmp/bad.html"
  chrome --dump-dom "file://$tmp/bad.html" >/dev/null 2>"$tmp/bad.log"
  grep -q 'CONSOLE.*sweep-test-marker' "$tmp/bad.log" && grep -q 'CONSOLE.*Uncaught ReferenceError' "$tmp/bad.log"
  ok $? "browser harness catches console errors (control page)"
  chrome --dump-dom "file://$tmp/r.html" >"$tmp/dom" 2>"$tmp/chrome.log"
  ! grep -q 'CONSOLE' "$tmp/chrome.log"; ok $? "browser: the report logs nothing to the console"
  [ $? = 0 ] || grep CONSOLE "$tmp/chrome.log" | sed 's/^/# /' | head
  grep -q 'data-rendered="yes"' "$tmp/dom"; ok $? "browser: the report's script ran"
  grep -q '<table class="grid" data-scenario="grid"' "$tmp/dom" && [ "$(grep -o 'class="cell"' "$tmp/dom" | wc -l)" -ge 6 ]
  ok $? "browser: the grid and its cells are in the rendered page"
  grep -q '<svg class="metric-plot"' "$tmp/dom" && grep -q '<circle class="dot"' "$tmp/dom"; ok $? "browser: a plot with points is in the rendered page"
  rm -f "$shot"
  chrome --screenshot="$PWD/$shot" --window-size=1280,2000 --hide-scrollbars "file://$tmp/r.html" >/dev/null 2>&1
  [ -s "$shot" ] && [ "$(head -c 4 "$shot" | od -An -c | tr -d ' ')" = '211PNG' ]; ok $? "browser: screenshot taken ($shot)"
else
  [ "$CI" = true ]; ok $? "headless browser present (chromium) # SKIP no chromium: apt-get install chromium"
fi

# 5. exit codes: flaky alone fails unless --allow-flaky; 0 cases is a usage error naming the filter
$NATRIG sweep --repeat 3 -j 3 $F/flaky.lua >"$tmp/o" 2>&1; [ $? = 1 ]; ok $? "flaky only: exit 1"
$NATRIG sweep --repeat 3 -j 3 --allow-flaky $F/flaky.lua >"$tmp/o" 2>&1; [ $? = 0 ]; ok $? "flaky only with --allow-flaky: exit 0"
$NATRIG sweep --filter no-such-case $F/grid.lua >"$tmp/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "no-such-case" "$tmp/o"; ok $? "0 cases: exit 2 naming the filter (got $rc)"
$NATRIG sweep --set nosuch=1 $F/grid.lua >"$tmp/o" 2>&1; [ $? = 2 ] && grep -q "nosuch" "$tmp/o"; ok $? "--set of an unknown parameter: exit 2, named"
$NATRIG sweep --repeat 0 $F/grid.lua >"$tmp/o" 2>&1; [ $? = 2 ]; ok $? "--repeat 0: exit 2"
$NATRIG sweep -j 4 --set a=x --json "$tmp/set.json" $F/grid.lua >"$tmp/o" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "^2 case(s), 0 failed" "$tmp/o"; ok $? "--set on a matrix key: 2 cases, none twice (exit $rc)"

# Ctrl-C: the sweep stops its children (each tears its network down) and exits 130
# slow.lua from a path of this test's own, so the checks count this sweep's children only
# (another sweep_test may run on the machine: pgrep -f sees every process)
mkdir -p "$tmp/slow" && cp $F/slow/slow.lua "$tmp/slow/slow.lua"
SLOW=$tmp/slow/slow.lua
$NATRIG sweep -j 3 --json "$tmp/int.json" --junit "$tmp/int.xml" $F/flaky.lua "$SLOW" >"$tmp/int" 2>&1 & sp=$!
# until flaky has a verdict and both slow runs are under way (seconds here; 180 s allowed:
# it runs among the parallel files, on a loaded engine)
for _ in $(seq 900); do [ "$(pgrep -fc "natrig run $SLOW")" -ge 2 ] && grep -q "PASS  flaky" "$tmp/int" && break; sleep 0.2; done
sleep 1
kill -INT $sp; t0=$(date +%s); wait $sp; rc=$?; dt=$(( $(date +%s) - t0 ))
# each child's watchdog (a fork: the same command line, named natrig-reaper) checks the
# engine once more after its run ended; the runs themselves must be gone at once
runs_left() { for p in $(pgrep -f "natrig run $SLOW"); do [ "$(cat /proc/$p/comm 2>/dev/null)" = natrig-reaper ] || echo $p; done; }
left=$(runs_left)
for _ in $(seq 100); do pgrep -f "natrig run $SLOW" >/dev/null || break; sleep 0.1; done
[ $rc = 130 ] && [ $dt -lt 15 ] && [ -z "$left" ]; ok $? "SIGINT: exit 130 in ${dt}s, no child left (rc $rc${left:+, left: $left})"
! pgrep -f "natrig run $SLOW" >/dev/null; ok $? "their watchdogs end within 10 s too"
$LUA "$tmp/check.lua" "$tmp/int.json" 'd.interrupted == true' '#d.cases == 1 and d.cases[1].id == "flaky coin [default]"'
ok $? "SIGINT: the reports keep the runs that finished, marked interrupted"

# 6. shards + merge = the unsharded report (same cases, verdicts, repeat results)
for i in 1 2 3 4; do
  $NATRIG sweep --repeat 3 -j 3 --shard $i/4 --json "$tmp/s$i.json" $F >"$tmp/so$i" 2>&1
done
$NATRIG report merge "$tmp/s1.json" "$tmp/s2.json" "$tmp/s3.json" "$tmp/s4.json" --json "$tmp/m.json" \
  --junit "$tmp/m.xml" --html "$tmp/m.html" >"$tmp/mo" 2>&1; rc=$?
sed 's/^/# /' "$tmp/mo"
[ $rc = 1 ] && grep -q "merged 4 report(s): 9 case(s), 1 failed, 1 flaky, 2 error(s): 17 of 25 runs passed" "$tmp/mo"
ok $? "report merge of 4 shards: the same summary, exit 1 (got $rc)"
cat >"$tmp/norm.lua" <<'EOF'
local core = require "natrig.core"
local out = {}
for _, c in ipairs(core.json_decode(core.read_file(arg[1])).cases) do
  local st = {}
  for _, r in ipairs(c.repeats) do st[#st + 1] = r.index .. ":" .. r.status .. ":" .. tostring(r.where) .. ":" .. tostring(r.error):gsub("%s+", " ") end
  out[#out + 1] = c.id .. " | " .. c.verdict .. " " .. c.passed .. "/" .. c.runs .. " | " .. table.concat(st, " ; ")
end
print(table.concat(out, "\n"))
EOF
$LUA "$tmp/norm.lua" "$tmp/r.json" >"$tmp/n1"; $LUA "$tmp/norm.lua" "$tmp/m.json" >"$tmp/n2"
[ -s "$tmp/n1" ] && diff "$tmp/n1" "$tmp/n2" >"$tmp/nd"; ok $? "shards merged = unsharded: every case, verdict and repeat"
[ -s "$tmp/nd" ] && sed 's/^/# /' "$tmp/nd" | head
if command -v xmllint >/dev/null; then
  xmllint --noout --schema tests/fixtures/junit-10.xsd "$tmp/m.xml" 2>/dev/null; ok $? "merged JUnit validates"
fi
grep -q 'data-rows="3" data-cols="2"' "$tmp/m.html" && grep -q "merged from 4 reports" "$tmp/m.html"; ok $? "merged HTML has the grid"
$NATRIG report merge "$tmp/nonexistent.json" >"$tmp/o" 2>&1; [ $? = 2 ]; ok $? "report merge of a missing file: exit 2"
$NATRIG report frob >"$tmp/o" 2>&1; [ $? = 2 ]; ok $? "report with an unknown subcommand: exit 2"

# 7. baseline: the same results again: nothing new, nothing fixed; marks in JSON and HTML
$NATRIG sweep --repeat 3 -j 3 --baseline "$tmp/r.json" --json "$tmp/b.json" --html "$tmp/b.html" $F/grid.lua $F/flaky.lua >"$tmp/bo" 2>&1
grep -q "^baseline .*: 0 new failure(s), 0 fixed, 0 newly flaky" "$tmp/bo"; ok $? "baseline: same verdicts, no new failures or fixes"
$LUA "$tmp/check.lua" "$tmp/b.json" 'd.baseline.new_failure == 0 and d.baseline.fixed == 0' \
  'by["grid [a=z b=2]"].compare.was == "fail"'; ok $? "baseline: comparison in the JSON"
grep -q 'id="baseline"' "$tmp/b.html"; ok $? "baseline: comparison in the HTML"

# 8. a real-engine sweep: quickstart's 3 matrix cases, 3 at once, same verdicts as one by one
$NATRIG sweep -j 3 --json "$tmp/q.json" scenarios/quickstart.lua >"$tmp/q" 2>&1; rc=$?
sed 's/^/# /' "$tmp/q" | tail -5
[ $rc = 0 ] && grep -q "^3 case(s), 0 failed, 0 flaky, 0 error(s): 3 of 3 runs passed" "$tmp/q"; ok $? "quickstart matrix with -j 3: every case passes (exit $rc)"
$LUA "$tmp/check.lua" "$tmp/q.json" '#d.cases == 3' 'd.cases[1].repeats[1].output:find("probe says", 1, true)'
ok $? "real sweep: each case's printed output in the JSON"
done_tap
