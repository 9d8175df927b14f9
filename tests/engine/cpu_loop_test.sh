#!/bin/bash
# A scenario that loops on the CPU without yielding (issue 22): in the run body and in a
# natrig.parallel branch (behind a pcall), it still ends at its deadline and on SIGINT or
# SIGTERM, within 1 s of either, with the timeout's exit 1 or 128 + signal. Before the
# watch hook, the deadline never fired and a looping parallel branch ignored signals.
# (Not serial: exit within 1 s of a deadline or a signal held at a load average of 42 on this 2-core machine; it runs
# among the parallel files.)
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# times in us from bash itself (EPOCHREALTIME): no `date` or $(...) forked inside a timed
# span, which under load counted against natrig
us() { t=${EPOCHREALTIME/./}; }
wait_for() { local i=0; while ! grep -q "$2" "$1" 2>/dev/null; do sleep 0.02; i=$((i+1)); [ $i -gt $(($3*50)) ] && return 1; done; }

for where in main parallel; do
  # the deadline: timeout = 2 (the fixture reads CPULOOP_TIMEOUT); the run starts its
  # clock before the loop prints LOOPING, so from there the exit is due within 2 + 1 s
  CPULOOP_TIMEOUT=2 timeout -s KILL 30 $NATRIG run tests/engine/fixtures/cpuloop.lua where=$where >"$tmp/d.$where" 2>&1 &
  pid=$!
  wait_for "$tmp/d.$where" "^LOOPING" 30
  us; t0=$t
  wait $pid; rc=$?; us; ms=$(( (t - t0) / 1000 ))
  ok $(( rc != 1 || ms > 3000 )) "loop in $where: the 2 s deadline ends the run (exit $rc $ms ms after LOOPING, want 1 within 3000)"
  [ $rc = 1 ] || sed 's/^/#   /' "$tmp/d.$where" | tail -5
  grep -q "timed out after 2 s" "$tmp/d.$where"
  ok $? "loop in $where: the verdict says it timed out"
  for sig in INT TERM; do
    $NATRIG run tests/engine/fixtures/cpuloop.lua where=$where >"$tmp/s.$where.$sig" 2>&1 &
    pid=$!
    wait_for "$tmp/s.$where.$sig" "^LOOPING" 30
    sleep 0.3
    # a hang must not hang the test: SIGKILL 10 s after the signal
    ( sleep 10.3; kill -KILL $pid 2>/dev/null ) & killer=$!
    us; t0=$t; kill -$sig $pid
    wait $pid; rc=$?; us; ms=$(( (t - t0) / 1000 ))
    kill $killer 2>/dev/null; wait $killer 2>/dev/null
    want=130; [ $sig = TERM ] && want=143
    ok $(( rc != want || ms > 1000 )) "loop in $where: SIG$sig ends the run (exit $rc after $ms ms, want $want within 1000)"
    [ $rc = $want ] || sed 's/^/#   /' "$tmp/s.$where.$sig" | tail -5
  done
done
left=$(( $(docker ps -aq --filter label=natrig.scenario=cpuloop | wc -l) + $(docker network ls -q --filter label=natrig.scenario=cpuloop | wc -l) ))
ok $(( left != 0 )) "nothing left on the engine ($left)"
done_tap
