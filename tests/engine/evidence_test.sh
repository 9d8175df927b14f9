#!/bin/bash
# Failures that explain themselves (needs:engine): packet captures read back by Debian's
# tcpdump (a passing run, a failed one, a Ctrl-C'd one), natrig's own actions in the
# timeline between the nodes' lines, file:line of a failing expect, failure.txt with the
# case, artifact folders named <scenario>-<case>-<run>.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export NATRIG_ARTIFACTS="$tmp/art"
FIX=tests/engine/fixtures

# 1. A passing run with captures: the punch is on the wire with the right addresses.
$NATRIG run $FIX/punch_capture.lua >"$tmp/o" 2>&1; rc=$?
[ $rc = 0 ]; ok $? "two peers punch through port-restricted NATs with captures on (exit $rc)"
run=$(sed -n 's/^UP \([0-9a-f]*\).*/\1/p' "$tmp/o")
read -r a b ra rb <<<"$(sed -n 's/^ADDR a=\(\S*\) b=\(\S*\) ra=\(\S*\) rb=\(\S*\)/\1 \2 \3 \4/p' "$tmp/o")"
d=$(ls -d "$tmp"/art/punch_capture-*"$run" 2>/dev/null)
[ -n "$d" ] && [ -s "$d/captures.txt" ]; ok $? "captures.txt in the artifacts ($d)"
grep -q "router-1-wan.pcap *router router-1, WAN side (public $ra" "$d/captures.txt" && grep -q "^a.pcap *node a" "$d/captures.txt"
ok $? "captures.txt says which pcap holds which link"
r1=$(grep -l "public $ra" "$d"/captures.txt >/dev/null && grep "WAN side (public $ra" "$d/captures.txt" | awk '{print $1}')
r1lan=${r1%-wan.pcap}-lan.pcap
tcpdump -n -r "$d/$r1" udp 2>"$tmp/e1" >"$tmp/wan.txt"; ok $? "tcpdump reads $r1 without error"
grep -q "IP $ra.31337 > $rb.31337: UDP" "$tmp/wan.txt" || { echo "# $r1 ra=$ra rb=$rb"; head -20 "$tmp/wan.txt" | sed 's/^/# /'; false; }; ok $? "WAN side: a's punch leaves as the NAT's public address ($ra -> $rb)"
grep -q "IP $rb.31337 > $ra.31337: UDP" "$tmp/wan.txt"; ok $? "WAN side: b's packets arrive at a's public address"
tcpdump -n -r "$d/$r1lan" udp 2>"$tmp/e2" >"$tmp/lan.txt"; ok $? "tcpdump reads $r1lan without error"
grep -q "IP $a.31337 > $rb.31337: UDP" "$tmp/lan.txt" && ! grep -q "IP $ra.31337 >" "$tmp/lan.txt"
ok $? "LAN side: the same punch from a's private address ($a), never the public one"
grep -q "IP $rb.31337 > $a.31337: UDP" "$tmp/lan.txt"; ok $? "LAN side: b's packets delivered to a's private address"
tcpdump -n -r "$d/a.pcap" udp 2>/dev/null | grep -q "IP $a.31337 > $rb.31337"; ok $? "the node's own capture shows its side of the punch"

# 2. A failed run: complete pcaps, failure.txt with the case, file:line, folder name.
$NATRIG run $FIX/punch_capture.lua fail=true >"$tmp/f" 2>&1; rc=$?
[ $rc = 1 ]; ok $? "fail=true fails (exit $rc)"
grep -q "punch_capture.lua:[0-9]*: expect fail on purpose" "$tmp/f"; ok $? "the failure names the scenario file and line"
run=$(sed -n 's/^UP \([0-9a-f]*\).*/\1/p' "$tmp/f")
read -r a b ra rb <<<"$(sed -n 's/^ADDR a=\(\S*\) b=\(\S*\) ra=\(\S*\) rb=\(\S*\)/\1 \2 \3 \4/p' "$tmp/f")"
d=$(ls -d "$tmp"/art/punch_capture-fail=true-"$run" 2>/dev/null)
[ -n "$d" ]; ok $? "the artifact folder is <scenario>-<case>-<run> ($d)"
head -4 "$d/failure.txt" | tr '\n' '|' | grep -q "^scenario: punch_capture (.*punch_capture.lua)|case: fail=true,hold=0|run: $run|at: .*punch_capture.lua:[0-9]*|"
ok $? "failure.txt starts with scenario, case, run and line"
np=0; bad=0; for f in "$d"/*.pcap; do np=$((np+1)); tcpdump -n -r "$f" >/dev/null 2>&1 || bad=$((bad+1)); done
[ $np = 7 ] && [ $bad = 0 ]; ok $? "the failed run's $np pcaps are complete ($bad unreadable)"
grep -q "^== map" "$d/diagnostics.txt" && grep -q "router router-1 .*wan $ra" "$d/diagnostics.txt" && grep -q " a  *peer  *private $a  *public $ra" "$d/diagnostics.txt"
ok $? "diagnostics start with the router -> nodes map and their addresses"

# 3. A Ctrl-C'd run: captures are stopped and saved before teardown.
$NATRIG run $FIX/punch_capture.lua hold=30 >"$tmp/i" 2>&1 & pid=$!
for _ in $(seq 600); do grep -q "^UP " "$tmp/i" 2>/dev/null && break; sleep 0.05; done
run=$(sed -n 's/^UP \([0-9a-f]*\).*/\1/p' "$tmp/i")
kill -INT $pid; wait $pid; rc=$?
[ $rc = 130 ]; ok $? "Ctrl-C ends the run (exit $rc)"
d=$(ls -d "$tmp"/art/punch_capture-hold=30-"$run" 2>/dev/null)
np=0; bad=0; for f in "$d"/*.pcap; do np=$((np+1)); tcpdump -n -r "$f" >/dev/null 2>&1 || bad=$((bad+1)); done
[ $np = 7 ] && [ $bad = 0 ]; ok $? "the interrupted run's $np pcaps are complete ($bad unreadable)"
[ "$(docker ps -aq --filter label=natrig.run=$run | wc -l)" = 0 ]; ok $? "and the run is gone"

done_tap
