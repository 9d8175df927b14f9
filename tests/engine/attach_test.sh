#!/bin/bash
# `natrig repl --attach RUN` answers from the whole run, never a half-built one (issue 22):
# right after attaching, a node's log query sees every line it wrote, impair_stats() and
# net:dump() show the impairment in force, and the banner says Ctrl-D leaves the run up.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
run=
cleanup() { [ -n "$run" ] && $NATRIG clean "$run" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT
NATRIG_ARTIFACTS="$tmp/art" $NATRIG run tests/engine/fixtures/attach_full.lua >"$tmp/k" 2>&1
run=$(sed -n 's/.*UP \([0-9a-f]*\).*/\1/p' "$tmp/k")
[ -n "$run" ] && grep -q "keeping the network up" "$tmp/k"; ok $? "a failed run is kept ($run)"
for i in 1 2 3; do
  printf '%s\n' 'print("LINES:" .. #net:get("a"):logs{match = "^line "})' \
    'local st = net:get("gw"):impair_stats(); print("QUEUES:" .. #st .. " SPEC:" .. tostring(st[1] and st[1].spec))' \
    'net:dump()' | $NATRIG repl --attach "$run" >"$tmp/at.$i" 2>&1
  grep -q "LINES:1001$" "$tmp/at.$i"; ok $? "attach $i: a's log query right after attaching has all 1001 lines ($(grep -o 'LINES:[0-9]*' "$tmp/at.$i"))"
  grep -q "QUEUES:[1-9].*SPEC:.*delay=150ms" "$tmp/at.$i"; ok $? "attach $i: impair_stats() reads the shaper back ($(grep -o 'QUEUES:.*' "$tmp/at.$i"))"
  grep -q "gateway *gw .*impair .*delay=150ms" "$tmp/at.$i"; ok $? "attach $i: net:dump() shows the impairment"
  grep -q "partition rules" "$tmp/at.$i"; ok $? "attach $i: net:dump() shows the partition"
done
grep -q "Ctrl-D leaves the run up" "$tmp/at.1" && grep -q "Ctrl-D quits and leaves the attached run up" "$tmp/at.1"; ok $? "the banner and the greeting say Ctrl-D leaves the run up"
[ "$(docker ps -aq --filter label=natrig.run=$run | wc -l)" -gt 0 ]; ok $? "leaving the REPL left the run up"
done_tap
