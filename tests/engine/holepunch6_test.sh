#!/bin/bash
# The hole-punching matrix over IPv6 on Docker (needs:engine; issue 25): natrig-peers behind
# dual-stack routers punch over IPv6 through the routers' RFC 6092 firewalls via a rendezvous
# that serves IPv6 (scenarios/holepunch_matrix.lua family=6), each cell judged by
# natrig.holepunch.predict6. make test takes three pairs (APDF x APDF: direct only because
# both send; APDF x closed: the closed side never hears the rendezvous; EIF x ADF), the
# different ones in both orders of arrival; make test-full (NATRIG_TEST_FULL=1) all 25
# cells of the 5 x 5 grid (tests/nat/netns-fw6 covers every pair in namespaces too).
. "$(dirname "$0")/lib.sh"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { # name, args...
  local name=$1; shift
  $NATRIG run scenarios/holepunch_matrix.lua family=6 "$@" >"$out" 2>&1; local rc=$?
  sed 's/^/# /' "$out"
  ok $rc "$name (exit $rc)"
}
if [ "${NATRIG_TEST_FULL:-}" = 1 ]; then
  run "every pair of IPv6 firewalls (EIF, ADF, APDF, closed, open) matches RFC 6092 in both orders of arrival"
  grep -cE "^ +udp6 " "$out" | grep -qx 25; ok $? "25 IPv6 cells"
else
  echo "# the whole 5 x 5 IPv6 grid over Docker: make test-full (NATRIG_TEST_FULL=1)"
  run "IPv6 cells APDF x APDF, APDF x closed, EIF x ADF match RFC 6092" cells=APDF/APDF,APDF/closed,EIF/ADF
  grep -cE "^ +udp6 " "$out" | grep -qx 5; ok $? "5 IPv6 cells (the different pairs in both orders)"
fi
grep -qE "udp6 +APDF +APDF +- +direct +direct +- +direct " "$out"
ok $? "APDF x APDF: direct over IPv6, and net:path saw it direct"
grep -qE "udp6 +APDF +closed +a +failed +failed " "$out" && grep -qE "udp6 +APDF +closed +b +failed +failed " "$out"
ok $? "APDF x closed: failed in either order (the closed side never hears the rendezvous)"
grep -qE "udp6 +EIF +ADF +a +direct +direct " "$out" && grep -qE "udp6 +EIF +ADF +b +direct +direct " "$out"
ok $? "EIF x ADF: direct in either order"
done_tap
