#!/bin/bash
# scenarios/cgn_keepalive.lua with short figures (needs:engine): two natrig-peers behind
# home routers behind one CGN with a 3 s UDP timeout. A 5 s keepalive loses the direct
# path and natrig-peer reports it; the sweep over (keepalive, timeout) with expect=direct
# has one failing cell, exactly where the keepalive is longer than the timeout (a 2 s
# keepalive keeps the path; the loss fails the case, saying what was expected). (The
# shipped defaults are 45 s vs 30 s.) Not serial: the 1 s margins (a 2 s keepalive against
# the kernel's 3 s timeout) held at a load average of 30 here; it runs among the parallel
# files.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
S=scenarios/cgn_keepalive.lua
run() { # rc_wanted, name, args...
  local want=$1 name=$2; shift 2
  $NATRIG run $S "$@" >"$tmp/out" 2>&1; local rc=$?
  sed 's/^/# /' "$tmp/out" | grep -vE "teardown: |engine slow"
  [ $rc = "$want" ]; ok $? "$name (exit $rc, want $want)"
}
run 0 "keepalive 5 s vs CGN UDP timeout 3 s: the direct path is lost, as predicted" keepalive=5 timeout=3
grep -qE "^keepalive 5 s, CGN UDP timeout 3 s: direct path lost after [0-9.]+ s \((a|b) reported it\)" "$tmp/out"
ok $? "natrig-peer reported the lost direct path"
# the sweep's grid, fast, its 4 cells at once: keepalive {2,5} x timeout {3,8}, expect=direct
# (2/3 passing is "a 2 s keepalive keeps the path", 5/3 failing is "expect=direct turns the
# loss into a failure")
NATRIG_CGN_GRID="2,5:3,8" $NATRIG sweep $S --set expect=direct -j 4 --json "$tmp/r.json" --html "$tmp/r.html" \
  >"$tmp/sweep" 2>&1; rc=$?
sed 's/^/# /' "$tmp/sweep" | tail -15
ok $([ $rc = 1 ] && echo 0 || echo 1) "the sweep fails (exit $rc): one cell loses the path"
cat >"$tmp/grid.lua" <<'LUA'
local core = require "natrig.core"
local d = core.json_decode(assert(core.read_file(arg[1])))
local got = {}
for _, c in ipairs(d.cases) do got[#got + 1] = ("%s/%s=%s"):format(c.params.keepalive, c.params.timeout, c.verdict) end
table.sort(got)
print(table.concat(got, " "))
LUA
$NATRIG lua "$tmp/grid.lua" "$tmp/r.json" >"$tmp/grid" 2>&1
echo "# grid: $(cat "$tmp/grid")"
[ "$(cat "$tmp/grid")" = "2/3=pass 2/8=pass 5/3=fail 5/8=pass" ]; ok $? "the grid fails only at keepalive 5 > timeout 3"
grep -q "keepalive" "$tmp/r.html" && grep -q "timeout" "$tmp/r.html"; ok $? "the HTML report has the grid's axes"
grep -q "the direct path survives (keepalive 5 s, timeout 3 s)" "$tmp/sweep"; ok $? "the failing cell says what was expected"
done_tap
