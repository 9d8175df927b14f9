#!/bin/bash
# The shipped churn scenario (needs:engine): peers join and leave a running network while a
# long-lived pair keeps every ping. It times nothing (the pair pings until the churn is
# over), so it runs among the parallel files.
. "$(dirname "$0")/lib.sh"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# make test: 3 rounds of churn (each round is a peer and its router made and removed, and
# make test is bound by the engine's CPU: 85 % busy); make test-full: the default 10
rounds=3; [ "${NATRIG_TEST_FULL:-}" = 1 ] && rounds=10
$NATRIG run scenarios/churn.lua rounds=$rounds >"$out" 2>&1; rc=$?
sed 's/^/# /' "$out"
ok $rc "churn: $rounds peers join and $rounds leave while a long-lived pair keeps every ping (exit $rc)"
grep -q "churn: $rounds joins, $rounds leaves" "$out"; ok $? "the churn happened ($rounds joins, $rounds leaves)"
done_tap
