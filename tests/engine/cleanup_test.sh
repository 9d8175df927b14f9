#!/bin/bash
# Cleanup against the real engine (needs:engine): SIGKILL mid-run, SIGINT, two runs at
# once, bad input. Uses the docker CLI as an outside judge of what is left. It runs among
# the parallel files: every natrig command reaps dead runs, so a dead run of this file may
# be reaped by another file's command first; the checks are on what is left, whoever
# reaped it.
. "$(dirname "$0")/lib.sh"
left() { # containers+networks of a run id
  local c k
  c=$(docker ps -aq --filter "label=natrig.run=$1" | wc -l)
  k=$(docker network ls -q --filter "label=natrig.run=$1" | wc -l)
  echo $((c + k))
}
wait_up() { # file -> run id once the scenario printed UP
  for _ in $(seq 1 300); do
    id=$(sed -n 's/.*UP \([0-9a-f]*\).*/\1/p' "$1" | head -1)
    [ -n "$id" ] && { echo "$id"; return 0; }
    sleep 0.1
  done
  return 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1. SIGKILL mid-run: the watchdog child removes everything on its own.
$NATRIG run tests/engine/fixtures/hold.lua hold=120 >"$tmp/k1" 2>&1 &
pid=$!
run=$(wait_up "$tmp/k1"); ok $? "SIGKILL case: network came up (run $run)"
[ "$(left "$run")" -gt 0 ]; ok $? "resources exist before the kill ($(left "$run"))"
kill -9 $pid; wait $pid 2>/dev/null
# the engine's work: up to 30 s on a loaded machine (1 s here)
for _ in $(seq 1 300); do [ "$(left "$run")" = 0 ] && break; sleep 0.1; done
[ "$(left "$run")" = 0 ]; ok $? "after SIGKILL the watchdog removed everything"

# 2. SIGKILL with no watchdog (as if the whole process tree died): the next command reaps.
NATRIG_NO_WATCHDOG=1 $NATRIG run tests/engine/fixtures/hold.lua hold=120 >"$tmp/k2" 2>&1 &
pid=$!
run=$(wait_up "$tmp/k2"); ok $? "no-watchdog case: network came up (run $run)"
kill -9 $pid; wait $pid 2>/dev/null
[ "$(left "$run")" -gt 0 ]; ok $? "without the watchdog the resources outlive the process"
[ -d "${XDG_RUNTIME_DIR:-/run}/natrig/$run" ]; ok $? "the run's shaper control directory exists on the host"
$NATRIG version >/dev/null 2>&1
[ "$(left "$run")" = 0 ]; ok $? "the next natrig command (version) reaped the dead run"
[ ! -e "${XDG_RUNTIME_DIR:-/run}/natrig/$run" ]; ok $? "and removed its control directory"

# 3. SIGINT: teardown runs in-process before exit.
NATRIG_NO_WATCHDOG=1 $NATRIG run tests/engine/fixtures/hold.lua hold=120 >"$tmp/i" 2>&1 &
pid=$!
run=$(wait_up "$tmp/i"); ok $? "SIGINT case: network came up"
kill -INT $pid; wait $pid; rc=$?
[ $rc = 130 ]; ok $? "SIGINT ends the run as interrupted (exit $rc = 128 + SIGINT)"
grep -q "interrupted" "$tmp/i"; ok $? "the run says it was interrupted"
[ "$(left "$run")" = 0 ]; ok $? "after SIGINT nothing is left (teardown ran before exit)"

# 4. Two runs at once on one engine do not collide.
$NATRIG run tests/engine/fixtures/hold.lua hold=0 >"$tmp/a" 2>&1 &
pa=$!
$NATRIG run tests/engine/fixtures/hold.lua hold=0 nat=symmetric >"$tmp/b" 2>&1 &
pb=$!
wait $pa; ra=$?; wait $pb; rb=$?
[ $ra = 0 ] && [ $rb = 0 ]; ok $? "two concurrent runs both pass (exit $ra, $rb)"
[ $ra = 0 ] || sed 's/^/# a: /' "$tmp/a"; [ $rb = 0 ] || sed 's/^/# b: /' "$tmp/b"
a=$(sed -n 's/.*UP \([0-9a-f]*\).*/\1/p' "$tmp/a"); b=$(sed -n 's/.*UP \([0-9a-f]*\).*/\1/p' "$tmp/b")
[ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; ok $? "they had distinct run ids ($a, $b)"
[ "$(left "$a")" = 0 ] && [ "$(left "$b")" = 0 ]; ok $? "both cleaned up"

# 5. Bad input: a clear error naming the valid presets, nothing left behind.
before=$(docker ps -aq --filter label=natrig.scenario=badnat | wc -l)
$NATRIG run tests/engine/fixtures/badnat.lua >"$tmp/bad" 2>&1; rc=$?
[ $rc = 2 ]; ok $? "an unknown NAT type is a usage error (exit $rc)"
grep -q "fully_coned" "$tmp/bad" && grep -q "port_restricted" "$tmp/bad"; ok $? "the error names the bad value and the valid presets"
[ "$(docker ps -aq --filter label=natrig.scenario=badnat | wc -l)" = "$before" ] && [ "$(docker network ls -q --filter label=natrig.scenario=badnat | wc -l)" = 0 ]
ok $? "nothing was created"

# 6. natrig clean removes dead runs and leaves live ones alone (never --all here: other
#    natrig runs may share this engine).
NATRIG_NO_WATCHDOG=1 $NATRIG run tests/engine/fixtures/hold.lua hold=120 >"$tmp/dead" 2>&1 &
pd=$!
$NATRIG run tests/engine/fixtures/hold.lua hold=120 >"$tmp/live" 2>&1 &
pl=$!
dead=$(wait_up "$tmp/dead"); live=$(wait_up "$tmp/live")
kill -9 $pd; wait $pd 2>/dev/null
$NATRIG clean >"$tmp/clean" 2>&1
[ "$(left "$dead")" = 0 ]; ok $? "natrig clean removed the dead run ($dead)"
[ "$(left "$live")" -gt 0 ]; ok $? "natrig clean left the live run alone ($live)"
kill -INT $pl; wait $pl
[ "$(left "$live")" = 0 ]; ok $? "the live run cleaned up after itself"

# 7. Run lifecycle: natrig ls, natrig clean RUN (a live run only with --force), two
#    concurrent runs where cleaning one leaves the other untouched.
$NATRIG run tests/engine/fixtures/hold.lua hold=120 >"$tmp/la" 2>&1 & pa=$!
$NATRIG run tests/engine/fixtures/hold.lua hold=120 >"$tmp/lb" 2>&1 & pb=$!
ra=$(wait_up "$tmp/la"); rb=$(wait_up "$tmp/lb")
$NATRIG ls >"$tmp/ls" 2>&1
grep -q "^$ra  *hold .* alive  *-  *2 " "$tmp/ls" && grep -q "^$rb  *hold .* alive  *-  *2 " "$tmp/ls"
ok $? "natrig ls lists both live runs with scenario, owner alive and node count"
$NATRIG clean "$ra" </dev/null >"$tmp/c1" 2>&1; rc=$?
[ $rc = 2 ] && [ "$(left "$ra")" -gt 0 ] && grep -q "is live" "$tmp/c1"; ok $? "natrig clean RUN refuses a live run without --force or a yes (exit $rc)"
$NATRIG clean --force "$ra" >"$tmp/c2" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(left "$ra")" = 0 ]; ok $? "natrig clean --force RUN removes it (exit $rc)"
[ "$(left "$rb")" -gt 0 ]; ok $? "the other run is untouched"
$NATRIG clean nosuchrun >/dev/null 2>&1; [ $? = 2 ]; ok $? "an unknown run id is a usage error"
kill -INT $pa $pb 2>/dev/null; wait $pa $pb 2>/dev/null
[ "$(left "$rb")" = 0 ]; ok $? "the other run still ends cleanly"

# 8. NATRIG_KEEP=1 keeps a run whose net:up() failed; natrig clean RUN removes it.
NATRIG_KEEP=1 $NATRIG run tests/engine/fixtures/upfails.lua >"$tmp/u" 2>&1; rc=$?
run=$(sed -n 's/.*natrig clean \([0-9a-f]*\).*/\1/p' "$tmp/u" | head -1)
[ $rc = 1 ] && [ -n "$run" ] && grep -q "ghost exited with code 127" "$tmp/u"; ok $? "a failed up() with NATRIG_KEEP=1 names the cause and natrig clean $run (exit $rc)"
[ "$(left "$run")" -gt 0 ]; ok $? "the run whose up() failed is kept ($(left "$run") resources)"
$NATRIG ls | grep -q "^$run  *upfails .* dead  *kept "; ok $? "natrig ls shows it kept"
$NATRIG clean "$run" >/dev/null 2>&1; rc=$?
[ $rc = 0 ] && [ "$(left "$run")" = 0 ]; ok $? "natrig clean $run removes it (exit $rc)"

done_tap
