#!/bin/bash
# A deadline ends the process, not only the verdict (issue 22): collecting a failed run's
# artifacts has a budget (NATRIG_ARTIFACTS_TIMEOUT, default 5 s), what is not collected in
# it is named in failure.txt, and the process exits once teardown is done.
# (Not serial: its exit after a deadline held at a load average of 55 on this 2-core machine; it runs
# among the parallel files.)
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
now_ms() { date +%s%3N; }
export NATRIG_ARTIFACTS="$tmp/art"

# A budget nothing fits in: the engine round trips are cut off and named, the rest written.
# (12 s: with 4 files at once a 6 s deadline came before the routers existed, and with no
# router there was no diagnostics.txt to cut off)
t0=$(now_ms)
UPTO_TIMEOUT=12 NATRIG_ARTIFACTS_TIMEOUT=0.001 $NATRIG run tests/engine/fixtures/upto.lua n=4 >"$tmp/out" 2>&1
rc=$? ms=$(( $(now_ms) - t0 ))
ok $(( rc != 1 )) "the deadline fails the run (exit $rc, want 1)"
f=$(ls "$tmp"/art/*/failure.txt 2>/dev/null | head -1)
grep -q "timed out after 12 s" "$f" 2>/dev/null
ok $? "failure.txt gives the verdict"
grep -q "^not collected within 0.001 s (NATRIG_ARTIFACTS_TIMEOUT): diagnostics.txt" "$f" 2>/dev/null
r=$?
ok $r "failure.txt names what was not collected in time: $(grep '^not collected' "$f" 2>/dev/null | cut -c1-100)"
[ $r = 0 ] || sed 's/^/#   failure.txt: /' "$f" 2>/dev/null | head -n 30
[ -s "$(dirname "$f")/timeline.txt" ]
ok $? "the timeline is written all the same"
secs=$(sed -n 's/.*artifacts written to .* (\([0-9.]*\) s)$/\1/p' "$tmp/out")
ok $(( $(echo "${secs:-99} > 2" | bc) )) "collecting took ${secs:-?} s with a 0.001 s budget (want under 2: only the timeline and the seeds are written after the budget)"

# The default budget, on a run with nodes up: the process ends after verdict + budget +
# teardown, each bounded (50 s in all is far above what this takes: a hang takes minutes).
t0=$(now_ms)
UPTO_TIMEOUT=20 timeout -s KILL 120 $NATRIG run tests/engine/fixtures/upto.lua n=2 >"$tmp/out2" 2>&1 &
pid=$!
i=0; while ! grep -q "^UP\|exit codes\|up in" "$tmp/out2" && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
wait $pid; rc=$?; ms=$(( $(now_ms) - t0 ))
grep -q "artifacts written to" "$tmp/out2"
ok $? "the default budget collects a small run's artifacts: $(grep -o 'artifacts written to .*' "$tmp/out2" | sed 's|.*(||')"
ok $(( rc != 1 || ms > 50000 )) "exit $rc after $ms ms (20 s deadline, want 1 within 50 s)"
# what the run said of its own times, when it took too long or did not collect
if [ $rc != 1 ] || [ $ms -gt 50000 ] || ! grep -q "artifacts written to" "$tmp/out2"; then
  sed 's/^/#   run: /' "$tmp/out2" | tail -n 40
fi
left=$(( $(docker ps -aq --filter label=natrig.scenario=upto | wc -l) + $(docker network ls -q --filter label=natrig.scenario=upto | wc -l) ))
ok $(( left != 0 )) "nothing left on the engine ($left)"
done_tap
