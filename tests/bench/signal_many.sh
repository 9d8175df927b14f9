#!/bin/bash
# A SIGINT at a random point of a big run (issue 22): BENCH_SIGNAL_PEERS (default 200) NATed
# peers; BENCH_SIGNAL_RUNS (default 3) runs, each signalled at a random moment between its
# start and the end of its bring-up. Prints, per run, when the signal came, how long the
# exit took, what was left on the engine, and natrig's peak RSS; against a floor measured in
# the same run: an unsignalled run's own teardown of the same network. The bounds the
# issue sets (exit within 30 s, 0 left, RSS under 50 MB) are printed beside the figures.
# Never pass/fail.
cd "$(dirname "$0")/../.." || exit 1
NATRIG=${NATRIG_BIN:-${B:-build}/natrig}
PEERS=${BENCH_SIGNAL_PEERS:-200}
RUNS=${BENCH_SIGNAL_RUNS:-3}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
now_ms() { date +%s%3N; }
left() { echo $(( $(docker ps -aq --filter label=natrig.scenario=benchsig | wc -l) + $(docker network ls -q --filter label=natrig.scenario=benchsig | wc -l) )); }
# peak RSS of PID in MB while it runs (VmHWM, read until it exits)
watch_rss() { local m=0 v; while v=$(awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$1/status" 2>/dev/null) && [ -n "$v" ]; do m=$v; sleep 0.2; done; echo "$m" >"$2"; }

# The floor: a run that ends by itself; its teardown, as natrig reports it, and its bring-up.
t0=$(now_ms)
$NATRIG run tests/bench/fixtures/many.lua peers="$PEERS" >"$tmp/base" 2>&1 &
pid=$!; watch_rss $pid "$tmp/base.rss" & wait $pid; brc=$?
total=$(( $(now_ms) - t0 ))
up=$(sed -n 's/.*network up in \([0-9.]*\)s.*/\1/p' "$tmp/base" | head -1)
down=$(sed -n 's/.*removed [0-9]* containers and [0-9]* networks in \([0-9.]*\)s.*/\1/p' "$tmp/base" | head -1)
sleep 0.5
echo "floor: an unsignalled run of 1 gateway + $PEERS peers: exit $brc, up in ${up:-?} s, teardown ${down:-?} s, all ${total} ms, peak RSS $(cat "$tmp/base.rss") MB, left $(left)"
upms=$(echo "${up:-30} * 1000 / 1" | bc)
for i in $(seq 1 "$RUNS"); do
  at=$(( (RANDOM * 32768 + RANDOM) % (upms + 3000) ))
  $NATRIG run tests/bench/fixtures/many.lua peers="$PEERS" hold=60 >"$tmp/run.$i" 2>&1 &
  pid=$!; watch_rss $pid "$tmp/rss.$i" & w=$!
  sleep "$(echo "scale=3; $at / 1000" | bc)"
  t0=$(now_ms); kill -INT $pid; wait $pid; rc=$?; ms=$(( $(now_ms) - t0 ))
  wait $w; sleep 0.5
  n=$(left)
  ratio=$(echo "scale=2; $ms / (${down:-1} * 1000)" | bc)
  echo "run $i: SIGINT at $at ms: exit $rc after $ms ms (bound 30000; ratio to the floor's teardown $ratio), left $n (bound 0), peak RSS $(cat "$tmp/rss.$i") MB (bound 50)"
  [ "$n" = 0 ] || $NATRIG clean >/dev/null 2>&1 # the run is dead: its leftovers go
done
