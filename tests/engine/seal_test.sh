#!/bin/bash
# natrig-test: serial
# A sealed lab (issue 29), needs:engine needs:root (serial: it times DNS answers).
# A stand-in "outside" on this machine: a network namespace reached through a veth, owning
# TEST-NET-3 (203.0.113.0/24), with a route on the host (PLATFORM.md). Nothing is sent
# before `ip route get 203.0.113.7` says the veth; nothing is ever sent to an address that
# is not on this machine (the DNS checks verify that the nodes' resolver is natrig's before
# any unknown name is looked up). The checks are in tests/engine/fixtures/seal_lab.lua
# (TAP); this file makes the namespace, the veth and the route, and always removes them
# (trap).
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ]; then
  if [ "$CI" = true ]; then echo "not ok 1 - root required under CI=true (netns, nft)"; echo "1..1"; exit 1; fi
  echo "1..0 # SKIP needs root (a network namespace and a host route)"; exit 0
fi
NS=natrig-sealout H=sealo-h N=sealo-n
out_down() {
  ip route del 203.0.113.0/24 dev $H 2>/dev/null
  ip link del $H 2>/dev/null
  ip netns del $NS 2>/dev/null
  rm -rf "$TMPD"
}
TMPD=$(mktemp -d)
trap out_down EXIT
trap 'exit 1' INT TERM
out_down 2>/dev/null; TMPD=$(mktemp -d) # a crashed earlier run's leftovers
ip netns add $NS && ip link add $H type veth peer name $N && ip link set $N netns $NS \
  && ip addr add 203.0.113.1/24 dev $H && ip link set $H up \
  && ip netns exec $NS sh -c "ip addr add 203.0.113.7/24 dev $N && ip link set $N up && ip link set lo up" \
  || { echo "not ok 1 - make the stand-in outside (netns $NS, veth $H)"; echo "1..1"; exit 1; }
route=$(ip route get 203.0.113.7)
case "$route" in
*"dev $H "*) ;;
*) echo "not ok 1 - the route to 203.0.113.7 goes through $H (got: $route): nothing sent"; echo "1..1"; exit 1 ;;
esac
SEAL_NS=$NS SEAL_IF=$N SEAL_HOSTIF=$H SEAL_TMP=$TMPD NATRIG_BIN=$NATRIG \
  $NATRIG lua tests/engine/fixtures/seal_lab.lua
