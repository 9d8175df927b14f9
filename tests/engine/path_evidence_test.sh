#!/bin/bash
# net:path's own verdict against the program's word (needs:engine; issue 26): two peers
# behind one router talk over their LAN (net:wait_path says lan: the engine check of that
# class) while their program logs "via relay". A path assertion that fails shows
# net:path's verdict beside each program's own lines, on the console, in failure.txt and in
# timeline.txt.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export NATRIG_ARTIFACTS="$tmp/art"
FIX=tests/engine/fixtures

# 1. want=lan: the LAN path is seen as lan, and the run passes
$NATRIG run $FIX/path_verdict.lua want=lan >"$tmp/o" 2>&1; rc=$?
[ $rc = 0 ] || sed 's/^/# /' "$tmp/o" | tail -20
[ $rc = 0 ]; ok $? "two peers behind one router talking to each other's private address: passes (exit $rc)"
grep -qE "^LAN lan via=nil (a->b [1-9][0-9]* packets, received [1-9][0-9]*; |.*; b->a [1-9][0-9]* packets, received [1-9][0-9]*$)" "$tmp/o"
ok $? "net:wait_path kind=lan returns lan, no via, packets sent and received ($(grep '^LAN' "$tmp/o"))"

# 2. want=relayed (the program's word): the assertion fails, and says both
$NATRIG run $FIX/path_verdict.lua >"$tmp/f" 2>&1; rc=$?
sed 's/^/# /' "$tmp/f" | grep -v "^# *$" | tail -16
[ $rc = 1 ]; ok $? "the path assertion fails (exit $rc)"
grep -q "expect the path a<->b: expected relayed, got lan" "$tmp/f"; ok $? "console: the assertion"
# counts in both directions, at least one of them not 0 (a fast machine fails the run before
# the second program has sent: "a->b 1 packets, b->a 0 packets")
grep -qE "net:path a<->b lan \(a->b ([1-9][0-9]* packets, b->a [0-9]+|[0-9]+ packets, b->a [1-9][0-9]*) packets\)" "$tmp/f"
ok $? "console: net:path's verdict with its counts"
grep -A3 "a's program, what it said of its connection:" "$tmp/f" | grep -q "connected to b via relay"
ok $? "console: a's own lines beside it"
grep -A3 "b's program, what it said of its connection:" "$tmp/f" | grep -q "connected to a via relay"
ok $? "console: b's own lines beside it"
d=$(ls -d "$tmp"/art/path_verdict-* 2>/dev/null | head -1)
[ -n "$d" ] && grep -q "net:path a<->b lan" "$d/failure.txt" && grep -q "connected to b via relay" "$d/failure.txt"
ok $? "failure.txt: the verdict and the programs' lines ($d)"
grep -q " natrig path a<->b verdict lan$" "$d/timeline.txt" && grep -q " a connected to b via relay" "$d/timeline.txt"
ok $? "timeline.txt: the verdict as a natrig line among the programs' lines"
v=$(grep -n " natrig path a<->b verdict lan$" "$d/timeline.txt" | cut -d: -f1)
f=$(grep -n " natrig FAIL " "$d/timeline.txt" | cut -d: -f1)
[ -n "$v" ] && [ -n "$f" ] && [ "$v" -lt "$f" ]; ok $? "timeline.txt: the verdict comes before the FAIL line ($v < $f)"

done_tap
