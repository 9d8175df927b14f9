#!/bin/bash
# The command line (needs:engine): help, version, doctor, the REPL, run's exit codes,
# artifacts of a failed run, keep, DOCKER_HOST=tcp://.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"; [ -n "${sp:-}" ] && kill $sp 2>/dev/null' EXIT

$NATRIG --help >"$tmp/o" 2>&1; ok $? "natrig --help exits 0"
for c in run repl sweep doctor clean image version lua; do
  $NATRIG $c --help 2>&1 | grep -q "usage: natrig $c"; ok $? "natrig $c --help"
done
$NATRIG >/dev/null 2>&1; [ $? = 2 ]; ok $? "no command: exit 2"
$NATRIG frobnicate >/dev/null 2>&1; [ $? = 2 ]; ok $? "unknown command: exit 2"
$NATRIG run >/dev/null 2>&1; [ $? = 2 ]; ok $? "run without a file: exit 2"
$NATRIG run /nonexistent.lua >"$tmp/o" 2>&1; [ $? = 2 ] && grep -q "nonexistent" "$tmp/o"; ok $? "run of a missing file: exit 2, names it"
$NATRIG run scenarios/quickstart.lua natt=x >"$tmp/o" 2>&1; [ $? = 2 ] && grep -q "no parameter 'natt'" "$tmp/o"; ok $? "unknown scenario parameter: exit 2, named"
$NATRIG version >"$tmp/o" 2>&1 && grep -q "engine .*API 1\.4" "$tmp/o"; ok $? "version shows the engine and API version"
$NATRIG doctor >"$tmp/o" 2>&1; rc=$?
sed 's/^/# /' "$tmp/o"
grep -qE "^ok +engine +[0-9]" "$tmp/o"; ok $? "doctor reports the engine version"
grep -qE "sch_netem" "$tmp/o" && grep -qE "impairment engine" "$tmp/o"; ok $? "doctor says whether sch_netem exists and which impairment engine is used"
[ $rc = 0 ]; ok $? "doctor finds nothing missing on this machine (exit $rc)"

# images: build is a no-op when up to date, ls lists natrig's (prune: image_prune_test.sh)
$NATRIG image build >"$tmp/o" 2>&1 && grep -q "up to date\|built" "$tmp/o"; ok $? "image build"
$NATRIG image ls >"$tmp/o" 2>&1 && grep -q "natrig/base:" "$tmp/o"; ok $? "image ls lists the base image"

# sweep: one case of quickstart's matrix, with all three reports
$NATRIG sweep --filter "nat=symmetric" --junit "$tmp/j.xml" --json "$tmp/r.json" --html "$tmp/r.html" scenarios/ >"$tmp/s" 2>&1; rc=$?
sed 's/^/# /' "$tmp/s"
[ $rc = 0 ] && grep -q "1 case(s), 0 failed" "$tmp/s"; ok $? "sweep runs the selected matrix case (exit $rc)"
grep -q '<testcase classname="quickstart" name="nat=symmetric"' "$tmp/j.xml"; ok $? "sweep writes a JUnit report"
grep -q '"case":"nat=symmetric"' "$tmp/r.json" && grep -q '"ok":true' "$tmp/r.json"; ok $? "sweep writes a JSON report"
grep -q "1 of 1 cases passed" "$tmp/r.html"; ok $? "sweep writes an HTML report"

# the REPL: expressions print, errors do not end it, Ctrl-D quits and removes the network
printf 'return 1+1\nerror("boom")\nlocal x = 3\nx\nnet:gateway{name="g", cmd={"sleep","60"}}\nnet:up()\nprint("RUN " .. net.session.run_id)\n' \
  | $NATRIG repl >"$tmp/repl" 2>&1; rc=$?
sed 's/^/# /' "$tmp/repl"
grep -q "^natrig> 2" "$tmp/repl"; ok $? "repl prints the value of an expression"
grep -q "boom" "$tmp/repl"; ok $? "repl reports an error and goes on"
run=$(sed -n 's/.*RUN \([0-9a-f]*\).*/\1/p' "$tmp/repl")
[ $rc = 0 ] && [ -n "$run" ]; ok $? "repl built a live network ($run) and exited 0"
[ "$(docker ps -aq --filter label=natrig.run=$run | wc -l)" = 0 ]; ok $? "Ctrl-D tore the REPL's network down"

# a failed run: exit 1, artifacts written and printed
NATRIG_ARTIFACTS="$tmp/art" $NATRIG run tests/engine/fixtures/fails.lua >"$tmp/f" 2>&1; rc=$?
[ $rc = 1 ]; ok $? "a failed expectation: exit 1"
grep -q "expected 2, got 1" "$tmp/f"; ok $? "the failure says what was expected and what was seen"
run=$(sed -n 's/.*UP \([0-9a-f]*\).*/\1/p' "$tmp/f")
d=$(ls -d "$tmp"/art/*-"$run" 2>/dev/null)
grep -q "artifacts: $d" "$tmp/f"; ok $? "the artifact directory is printed"
[ -s "$d/gw.log" ] && grep -q "datagram echoed" "$d/gw.log"; ok $? "each node's log is in the artifacts"
grep -q "table ip natrig" "$d/diagnostics.txt" && grep -q "default via" "$d/diagnostics.txt"; ok $? "diagnostics (NAT rules, conntrack, routes) in the artifacts"
grep -q "echo listening" "$d/timeline.txt"; ok $? "the merged timeline in the artifacts"
[ "$(docker ps -aq --filter label=natrig.run=$run | wc -l)" = 0 ]; ok $? "the failed run was torn down"

# keep: a failed network stays up, with the command to remove it
NATRIG_KEEP=1 NATRIG_ARTIFACTS="$tmp/art" $NATRIG run tests/engine/fixtures/fails.lua >"$tmp/k" 2>&1
run=$(sed -n 's/.*UP \([0-9a-f]*\).*/\1/p' "$tmp/k")
grep -q "keeping the network up" "$tmp/k" && grep -q "natrig clean $run" "$tmp/k" && ! grep -q -- "--all" "$tmp/k"; ok $? "keep says the network stays and how to remove it (natrig clean RUN, never --all)"
[ "$(docker ps -aq --filter label=natrig.run=$run | wc -l)" -gt 0 ]; ok $? "a kept network survives the process"
$NATRIG version >/dev/null 2>&1
[ "$(docker ps -aq --filter label=natrig.run=$run | wc -l)" -gt 0 ]; ok $? "the next command does not reap a kept run"
$NATRIG ls >"$tmp/ls" 2>&1 && grep -q "^$run  *fails .* dead  *kept " "$tmp/ls"; ok $? "natrig ls shows the kept run, its owner dead"
printf 'net:dump()\nprint("OUT:" .. net:get("a"):exec{"echo","hello-from-a"}.stdout)\nprint("GW:" .. #net:get("gw"):logs{match="echo listening"})\n' \
  | $NATRIG repl --attach "$run" >"$tmp/at" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "attached to run $run (fails): 2 node(s), 1 router(s)" "$tmp/at" && grep -q "peer  *a  *10\..* -> 10\." "$tmp/at"
ok $? "natrig repl --attach rebuilds the kept run's net (nodes, router, addresses) (exit $rc)"
grep -q "OUT:hello-from-a" "$tmp/at" && grep -q "GW:1" "$tmp/at"; ok $? "and can exec in a node and read its logs"
grep -q "leaving attached run $run as it is" "$tmp/at" && [ "$(docker ps -aq --filter label=natrig.run=$run | wc -l)" -gt 0 ]
ok $? "quitting leaves the attached run as it was"
$NATRIG clean "$run" >"$tmp/c" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(docker ps -aq --filter label=natrig.run=$run | wc -l)" = 0 ] && [ "$(docker network ls -q --filter label=natrig.run=$run | wc -l)" = 0 ]
ok $? "natrig clean RUN removes the kept run (exit $rc)"
[ ! -e "${XDG_STATE_HOME:-$HOME/.local/state}/natrig/kept/$run" ]; ok $? "and forgets that it was kept"

# artifacts: a passing run leaves nothing in the working directory unless asked to
mkdir -p "$tmp/cwd"; nb=$(realpath "$NATRIG"); top=$PWD
(cd "$tmp/cwd" && env -u NATRIG_ARTIFACTS "$nb" run "$top/scenarios/quickstart.lua" >"$tmp/p" 2>&1); rc=$?
[ $rc = 0 ] && [ ! -e "$tmp/cwd/natrig-artifacts" ]; ok $? "a passing run leaves no artifacts directory behind (exit $rc)"
(cd "$tmp/cwd" && env -u NATRIG_ARTIFACTS "$nb" run --keep-artifacts "$top/scenarios/quickstart.lua" >"$tmp/p" 2>&1); rc=$?
[ $rc = 0 ] && ls "$tmp"/cwd/natrig-artifacts/*/echo.log >/dev/null 2>&1; ok $? "--keep-artifacts keeps a passing run's logs (exit $rc)"
(cd "$tmp/cwd" && rm -rf natrig-artifacts && env -u NATRIG_ARTIFACTS "$nb" run "$top/tests/engine/fixtures/fails.lua" >"$tmp/p" 2>&1)
d=$(sed -n 's/.*artifacts: //p' "$tmp/p")
[ -n "$d" ] && [ -s "$tmp/cwd/$d/failure.txt" ]; ok $? "a failing run keeps its artifacts and prints the path ($d)"
$NATRIG run --frobnicate scenarios/quickstart.lua >/dev/null 2>&1; [ $? = 2 ]; ok $? "an unknown run option is a usage error (exit 2)"

# DOCKER_HOST=tcp:// (the socket forwarded to loopback by socat)
port=$((23000 + RANDOM % 2000))
socat TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:/var/run/docker.sock & sp=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
DOCKER_HOST=tcp://127.0.0.1:$port $NATRIG version >"$tmp/t" 2>&1 && grep -q "tcp://127.0.0.1:$port" "$tmp/t"; ok $? "DOCKER_HOST=tcp:// is honoured"
DOCKER_HOST=tcp://127.0.0.1:$port $NATRIG run scenarios/quickstart.lua >"$tmp/t" 2>&1; ok $? "a scenario runs over tcp://"
DOCKER_HOST=tcp://127.0.0.1:$port $NATRIG run tests/engine/fixtures/impair_small.lua >"$tmp/t" 2>&1; rc=$?
sed 's/^/# /' "$tmp/t"
[ $rc = 0 ]; ok $? "over tcp:// impairment is applied and changed through exec (no local control socket)"
DOCKER_HOST=ssh://x $NATRIG version >"$tmp/t" 2>&1; grep -q "unsupported DOCKER_HOST" "$tmp/t"; ok $? "an unsupported DOCKER_HOST is a clear error"
done_tap
