#!/bin/bash
# Evidence a sweep leaves (issue 28.5/28.6; needs:engine): one scenario in two cases at -j 1,
# whose gateway prints two lines and exits 3 while the scenario waits on it. The console
# says when each case starts and how many are queued, and prints the app's last lines its
# error announces; failure.txt names the scenario's file:line (it said `at: ?` under a
# sweep); timeline.txt's lines all carry a time, natrig's own included, and the failure is
# its last line; the gateway's pcap leaves IPv6 out (no global IPv6 address) and says so.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export NATRIG_ARTIFACTS="$tmp/art"
FIX=tests/engine/fixtures
$NATRIG sweep -j 1 $FIX/exits_early.lua --json "$tmp/r.json" >"$tmp/o" 2>&1; rc=$?
[ $rc = 1 ]; ok $? "the sweep fails its two cases (exit $rc)"
grep -qE '^   start  exits_early \[n=1\] #1 \(1 running, 1 queued\)$' "$tmp/o" && \
  grep -qE '^   start  exits_early \[n=2\] #1 \(1 running, 0 queued\)$' "$tmp/o"
ok $? "the console says when each case starts and how many wait in the queue"
# the quoted block is every '|' line after the announcement (ping's own lines vary in number)
awk '/exited with code 3; last lines:$/ { q = 1; next } q && /^ +\| / { print; next } { q = 0 }' "$tmp/o" |
  grep -qE '^ +\| last-line-of-g$'
ok $? "the console prints the last lines the error announces"
for d in "$tmp"/art/exits_early-n=1-* "$tmp"/art/exits_early-n=2-*; do
  grep -qE "^at: $FIX/exits_early.lua:[0-9]+$" "$d/failure.txt"
  ok $? "failure.txt under a sweep names file:line ($(grep '^at:' "$d/failure.txt"))"
done
d=$(ls -d "$tmp"/art/exits_early-n=1-* | head -1)
# (the exit raises in wait_log when it is waiting by then, else the liveness watch fails the
# run: on a loaded machine net:up() can end after the app's 1.5 s)
tail -1 "$d/timeline.txt" |
  grep -qE "^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} natrig FAIL $FIX/exits_early.lua:[0-9]+: (wait_log on g|liveness: the app of g exited with code 3)"
ok $? "the failure is the timeline's last line ($(tail -1 "$d/timeline.txt"))"
grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} natrig up ' "$d/timeline.txt"; ok $? "natrig's own lines carry a time"
bad=$(grep -cvE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} ' "$d/timeline.txt")
[ "$bad" = 0 ]; ok $? "every timeline line starts with its time ($bad without)"
grep -q '^g.pcap .*IPv6 left out (eth[0-9]* has no global IPv6 address)' "$d/captures.txt"
ok $? "captures.txt says the gateway's capture leaves IPv6 out"
tcpdump -n -r "$d/g.pcap" >"$tmp/all" 2>/dev/null && [ "$(tcpdump -n -r "$d/g.pcap" ip6 2>/dev/null | wc -l)" = 0 ]
ok $? "tcpdump reads g.pcap and finds no IPv6 packet in it"
done_tap
