#!/bin/bash
# The shipped churn scenario (needs:engine): peers join and leave a running network while a
# long-lived pair keeps every ping. It runs among the parallel files (a loaded engine):
# round_budget=12 lets a round take 12 s before the pair's pings end (3 s idle).
. "$(dirname "$0")/lib.sh"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# make test: 5 rounds of churn; make test-full: the default 10
rounds=5; [ "${NATRIG_TEST_FULL:-}" = 1 ] && rounds=10
$NATRIG run scenarios/churn.lua rounds=$rounds round_budget=12 >"$out" 2>&1; rc=$?
sed 's/^/# /' "$out"
ok $rc "churn: $rounds peers join and $rounds leave while a long-lived pair keeps every ping (exit $rc)"
grep -q "churn: $rounds joins, $rounds leaves" "$out"; ok $? "the churn happened ($rounds joins, $rounds leaves)"
done_tap
