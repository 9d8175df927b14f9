#!/bin/bash
# A SIGINT at a random point of a big run (issue 22): BENCH_SIGNAL_PEERS (default 200) NATed
# peers (natrig-peer behind its own router each, as a user would declare them);
# BENCH_SIGNAL_RUNS (default 3) runs signalled at a random moment between the start and the
# end of the bring-up, then one signalled 1 s after it is fully up. Prints, per run, when
# the signal came, how long the exit took, what the run had left on the engine at the exit
# (natrig hands what teardown has not removed by NATRIG_SIGNAL_EXIT to its watchdog), how
# long until nothing of it was left, whether the engine refused a network ("has active
# endpoints"), natrig's peak RSS (VmHWM) and the load average; against a floor measured in
# the same run: an unsignalled run's own teardown of the same network (BENCH_SIGNAL_FLOOR=0
# skips it and compares the exits with the 30 s of the issue only), and below that floor the
# engine's own: what it takes to remove that many containers, networks and endpoints made
# without natrig (engine_floor). The bounds the issue
# sets (exit within 30 s, 0 left, RSS under 50 MB) are printed beside the figures. Never
# pass/fail.
cd "$(dirname "$0")/../.." || exit 1
NATRIG=${NATRIG_BIN:-${B:-build}/natrig}
PEERS=${BENCH_SIGNAL_PEERS:-200}
RUNS=${BENCH_SIGNAL_RUNS:-3}
# BENCH_SIGNAL_OUT: a folder that keeps each run's output (else a temporary one)
if [ -n "$BENCH_SIGNAL_OUT" ]; then tmp=$BENCH_SIGNAL_OUT; mkdir -p "$tmp"; else tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT; fi
now_ms() { date +%s%3N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# what process PID's run has on the engine (its containers and networks carry natrig.owner
# host:PID:start; other runs of the same scenario, a stuck network among them, do not count)
left() {
  local c n
  c=$(docker ps -a --filter label=natrig.scenario=benchsig --format '{{.Label "natrig.owner"}}' | grep -c ":$1:")
  n=$(docker network ls --filter label=natrig.scenario=benchsig --format '{{.Label "natrig.owner"}}' | grep -c ":$1:")
  echo "$((c + n))"
}
# until PID's run has nothing left (at most 600 s): prints the ms it took
drained() { local t0 i=0; t0=$(now_ms); while [ "$(left "$1")" != 0 ] && [ $i -lt 3000 ]; do sleep 0.2; i=$((i+1)); done; echo $(( $(now_ms) - t0 )); }
# peak RSS of PID in MB while it runs (VmHWM, read until it exits)
watch_rss() { local m=0 v; while v=$(awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$1/status" 2>/dev/null) && [ -n "$v" ]; do m=$v; sleep 0.2; done; echo "$m" >"$2"; }

# The engine's own floor (BENCH_SIGNAL_ENGINE=0 skips it): what this engine takes to remove
# what a run of PEERS NATed peers is made of (3 containers a peer: app, holder, router; a
# bridge network a LAN; the routers' endpoints on the public network, which leave it one at
# a time: natrig.teardown), from K of each (BENCH_SIGNAL_K, default 100) made here without
# natrig, with natrig's base image, on 198.18.0.0/15 (RFC 2544), sending nothing. The lower
# bound assumes the three overlap perfectly; the 30 s of issue 22 is printed beside it.
# remove the floor's containers, N at once, by the Engine API itself (no CLI process each)
floor_rm_ctrs() { docker ps -aq --filter label=natrig-bench=engine-floor | xargs -r -P "$1" -I{} curl -s -o /dev/null \
  --unix-socket /var/run/docker.sock -X DELETE "http://x/v1.41/containers/{}?force=1"; }
floor_rm() { floor_rm_ctrs 16
  docker network ls -q --filter label=natrig-bench=engine-floor | xargs -r docker network rm >/dev/null 2>&1; }
engine_floor() {
  local k=${BENCH_SIGNAL_K:-100} img t0 c_ms n_ms e_ms i nk
  nk=$(( k / 4 ))
  # "REF is up to date", or "built REF" when it had to build it
  img=$($NATRIG image build 2>/dev/null | grep -o 'natrig/base:[0-9a-f]*' | head -1)
  [ -n "$img" ] || { echo "engine floor: no base image (natrig image build failed)"; return; }
  trap 'floor_rm; [ -z "$BENCH_SIGNAL_OUT" ] && rm -rf "$tmp"' EXIT
  # containers with no network, removed 16 at once (the rate does not grow past that here)
  seq 1 "$k" | xargs -P 8 -I{} docker run -d --label natrig-bench=engine-floor --network none "$img" sleep 600 >/dev/null
  t0=$(now_ms)
  floor_rm_ctrs 16
  c_ms=$(( $(now_ms) - t0 ))
  # bridge networks as natrig makes a LAN (masquerade off), removed 8 at once
  for i in $(seq 1 "$nk"); do
    docker network create --label natrig-bench=engine-floor -o com.docker.network.bridge.enable_ip_masquerade=false \
      --subnet "198.18.$i.0/24" "natrig-bench-floor-$i" >/dev/null
  done
  t0=$(now_ms)
  docker network ls -q --filter label=natrig-bench=engine-floor | xargs -P 8 -n 1 docker network rm >/dev/null
  n_ms=$(( $(now_ms) - t0 ))
  # endpoints of one network, their containers removed one at a time
  docker network create --label natrig-bench=engine-floor --subnet 198.19.0.0/22 natrig-bench-floor-pub >/dev/null
  seq 1 "$nk" | xargs -P 8 -I{} docker run -d --label natrig-bench=engine-floor --network natrig-bench-floor-pub \
    "$img" sleep 600 >/dev/null
  t0=$(now_ms)
  floor_rm_ctrs 1
  e_ms=$(( $(now_ms) - t0 ))
  floor_rm
  local c n e
  c=$(( c_ms * 3 * PEERS / k )) n=$(( n_ms * (PEERS + 1) / nk )) e=$(( e_ms * (PEERS + 1) / nk ))
  echo "engine floor: $k containers without a network removed in $c_ms ms (16 at once), $nk LAN-like networks in $n_ms ms" \
    "(8 at once), $nk endpoints of one network one at a time in $e_ms ms"
  echo "engine floor for $PEERS peers: $(( 3 * PEERS )) containers $c ms, $(( PEERS + 1 )) networks $n ms," \
    "$(( PEERS + 1 )) public endpoints $e ms: at least $(printf '%s\n' $c $n $e | sort -n | tail -1) ms to remove" \
    "everything (the issue's bound on the exit: 30000 ms), load $(load)"
}
[ "${BENCH_SIGNAL_ENGINE:-1}" != 0 ] && engine_floor

down=""
if [ "${BENCH_SIGNAL_FLOOR:-1}" != 0 ]; then
  # The floor: a run that ends by itself; its teardown, as natrig reports it, and its bring-up.
  l0=$(load); t0=$(now_ms)
  $NATRIG run tests/bench/fixtures/many.lua peers="$PEERS" >"$tmp/base" 2>&1 &
  pid=$!; watch_rss $pid "$tmp/base.rss" & w=$!; wait $pid; brc=$?; wait $w
  total=$(( $(now_ms) - t0 ))
  up=$(sed -n 's/.*network up in \([0-9.]*\)s.*/\1/p' "$tmp/base" | head -1)
  down=$(sed -n 's/.*removed [0-9]* containers and [0-9]* networks in \([0-9.]*\)s.*/\1/p' "$tmp/base" | head -1)
  echo "floor: an unsignalled run of 1 gateway + $PEERS peers: exit $brc, up in ${up:-?} s, teardown ${down:-?} s," \
    "all ${total} ms, peak RSS $(cat "$tmp/base.rss") MB, left $(left $pid), load $l0 -> $(load)"
fi
upms=$(echo "${up:-${BENCH_SIGNAL_UP:-300}} * 1000 / 1" | bc)

# one NAME AT: a run signalled AT ms after its start ("up": 1 s after it says it is up)
one() {
  local name=$1 at=$2 out="$tmp/run.$1" pid w rc ms n drain l0
  $NATRIG run tests/bench/fixtures/many.lua peers="$PEERS" hold=600 >"$out" 2>&1 &
  pid=$!; watch_rss $pid "$out.rss" & w=$!
  if [ "$at" = up ]; then
    local i=0; while ! grep -q "^UP " "$out" && kill -0 $pid 2>/dev/null && [ $i -lt 18000 ]; do sleep 0.1; i=$((i+1)); done
    sleep 1
  else
    sleep "$(echo "scale=3; $at / 1000" | bc)"
  fi
  l0=$(load)
  local t0; t0=$(now_ms); kill -INT $pid; wait $pid; rc=$?; ms=$(( $(now_ms) - t0 ))
  n=$(left $pid); wait $w
  drain=$(drained $pid)
  local ratio="-"; [ -n "$down" ] && ratio=$(echo "scale=2; $ms / ($down * 1000)" | bc)
  echo "$name: SIGINT at ${at}$([ "$at" = up ] || echo " ms") ($(grep -c . "$out") lines of output): exit $rc after $ms ms" \
    "(bound 30000; ratio to the floor's teardown $ratio), left at the exit $n (bound 0), nothing left $drain ms" \
    "after the exit, peak RSS $(cat "$out.rss") MB (bound 50), load $l0 -> $(load)"
  grep -h "network up in\|left to the watchdog\|removed [0-9]* containers" "$out" | sed 's/^ */  natrig: /'
  grep -q "active endpoints" "$out" && echo "  natrig: $(grep -m1 "active endpoints" "$out")"
  [ "$(left $pid)" = 0 ] || $NATRIG clean >/dev/null 2>&1 # the run is dead: its leftovers go
}
for i in $(seq 1 "$RUNS"); do one "run $i" $(( (RANDOM * 32768 + RANDOM) % (upms + 3000) )); done
one "up" up
