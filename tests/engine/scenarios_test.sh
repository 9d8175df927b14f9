#!/bin/bash
# The shipped scenarios, run by the natrig binary against the real engine (needs:engine):
# quickstart, every NAT preset judged by coturn, the hole-punching matrix (both orders of
# arrival, UDP and TCP), and the real Freenet when FREENET_BIN points at a binary. Churn, which times
# itself, is churn_test.sh (serial); these run beside other files.
. "$(dirname "$0")/lib.sh"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() { # name, file, args...
  local name=$1; shift
  $NATRIG run "$@" >"$out" 2>&1; local rc=$?
  sed 's/^/# /' "$out"
  ok $rc "$name (exit $rc)"
}
run "quickstart passes" scenarios/quickstart.lua
run "quickstart with a symmetric NAT" scenarios/quickstart.lua nat=symmetric
# The grids over Docker: every preset under make test-full (NATRIG_TEST_FULL=1); make test
# takes port_restricted (and linux_masquerade for the race), plus the double NATs, since
# tests/nat proves every preset and combination in namespaces with the same rules.
if [ "${NATRIG_TEST_FULL:-}" = 1 ]; then
  run "every NAT preset, hairpin on/off and double NAT, measured by coturn equal natrig's claims" scenarios/nat_types.lua
  grep -q "linux_masquerade (hairpin off)" "$out"; ok $? "the NAT table lists every preset"
  run "hole-punching matrix matches RFC 4787 (UDP) and RFC 5382 (TCP) predictions in both orders of arrival" \
    scenarios/holepunch_matrix.lua
else
  echo "# every preset over Docker (NAT table, hole-punching matrix): make test-full (NATRIG_TEST_FULL=1)"
  run "port_restricted, hairpin on/off, and the double NATs, measured by coturn equal natrig's claims" \
    scenarios/nat_types.lua presets=port_restricted
  grep -q "port_restricted (hairpin off)" "$out" && grep -q "port_restricted behind symmetric CGNAT" "$out" &&
    grep -q "full_cone behind full_cone CGNAT" "$out"
  ok $? "the NAT table lists port_restricted both ways and both double NATs"
  run "hole-punching port_restricted x linux_masquerade matches RFC 4787 (UDP) and RFC 5382 (TCP) predictions in both orders of arrival" \
    scenarios/holepunch_matrix.lua presets=port_restricted,linux_masquerade
fi
grep -qE "udp +port_restricted +linux_masquerade +a +failed" "$out" &&
  grep -qE "udp +port_restricted +linux_masquerade +b +direct" "$out"
ok $? "UDP: the racy preset fails where the faithful one succeeds (order of arrival matters)"
# (racy x racy is "either": only two SYNs that cross in flight connect, which load makes
# possible; natrig.holepunch)
grep -qE "tcp +port_restricted +port_restricted +- +direct +direct" "$out" &&
  grep -qE "tcp +port_restricted +linux_masquerade +a +direct +direct" "$out" &&
  grep -qE "tcp +linux_masquerade +linux_masquerade +- +(failed|direct) +either" "$out"
ok $? "TCP simultaneous open: cone x cone direct, racy x cone direct in either order, racy x racy either"
# the path column (net:path): TCP counts an established exchange only, so a failed pair's
# SYNs and RSTs both ways are no path (racy x racy, unless its SYNs crossed: then direct);
# the pair that connected is direct (issue 26)
grep -qE "tcp +linux_masquerade +linux_masquerade +- +(failed +either +[a-z-]+ +none|direct +either +[a-z-]+ +direct) " "$out" &&
  grep -qE "tcp +port_restricted +port_restricted +- +direct +direct +[a-z-]+ +direct " "$out" &&
  grep -qE "udp +port_restricted +linux_masquerade +b +direct +direct +[a-z-]+ +direct " "$out"
ok $? "net:path: TCP racy x racy is none when it failed (SYNs and RSTs both ways), direct when its SYNs crossed; TCP and UDP pairs that connected are direct"
if [ -n "${FREENET_BIN:-}" ]; then
  run "real Freenet peers connect directly through port-restricted NATs" scenarios/freenet_direct.lua
  grep -q "a -> b after" "$out" && grep -q "b -> a after" "$out"; ok $? "both peers logged the direct connection"
else
  echo "# FREENET_BIN not set: the real-Freenet test does not run (cargo install freenet, then FREENET_BIN=...)"
fi
done_tap
