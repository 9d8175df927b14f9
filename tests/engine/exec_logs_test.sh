#!/bin/bash
# The shell as a way in (needs:engine, tmux; issue 28): natrig exec and natrig logs on a
# kept run (NATRIG_KEEP=1) and on a live one, exec -it in a real terminal (tmux), exit
# codes (the command's own; unknown run or node: 2 naming the valid ones), run's ERROR for
# a setup error, natrig ls showing the case in full, --help of every command, and
# `make install PREFIX=...` then the installed natrig running a scenario.
. "$(dirname "$0")/lib.sh"
if ! command -v tmux >/dev/null; then
  if [ "$CI" = true ]; then echo "not ok 1 - tmux required under CI=true"; echo "1..1"; exit 1; fi
  echo "1..0 # SKIP tmux is not installed (make deps)"; exit 0
fi
tmp=$(mktemp -d); sess=natrig-exec-$$
runs=()
cleanup() {
  tmux kill-session -t "$sess" 2>/dev/null
  [ -n "${lp:-}" ] && kill "$lp" 2>/dev/null
  [ -n "${sp:-}" ] && kill "$sp" 2>/dev/null
  for r in "${runs[@]}"; do $NATRIG clean --force "$r" >/dev/null 2>&1; done
  rm -rf "$tmp"
}
trap cleanup EXIT
cnt() { docker ps -aq --filter "label=natrig.run=$1" | wc -l; }

# --help: every command, wherever --help is among natrig's own words.
for c in run repl exec logs sweep report doctor ls clean image version lua; do
  $NATRIG $c --help >"$tmp/h" 2>&1; rc=$?
  [ $rc = 0 ] && grep -q "^usage: natrig $c" "$tmp/h"; ok $? "natrig $c --help (exit $rc)"
done
$NATRIG image ls --help >"$tmp/h" 2>&1 && grep -q "^usage: natrig image" "$tmp/h" && ! grep -q "MB " "$tmp/h"
ok $? "natrig image ls --help prints image's help instead of listing"
$NATRIG sweep --help | grep -q -- "--slower PCT"; ok $? "natrig sweep --help lists --slower"
$NATRIG run --help | grep -q "ERROR"; ok $? "natrig run --help says which verdict is ERROR"

# A setup error that exits 2 says ERROR, not FAIL.
$NATRIG run scenarios/quickstart.lua nat=bogus >"$tmp/e" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "^ERROR quickstart" "$tmp/e" && ! grep -q "^FAIL" "$tmp/e"; ok $? "a bad preset: ERROR and exit 2 (exit $rc)"

# A kept run: its output says how to get in.
case_arg="who=somebody-with-a-rather-long-name-to-show"
NATRIG_KEEP=1 NATRIG_ARTIFACTS="$tmp/art" $NATRIG run tests/engine/fixtures/kept_case.lua "$case_arg" >"$tmp/k" 2>&1; rc=$?
run=$(sed -n 's/^UP \([0-9a-f]*\).*/\1/p' "$tmp/k")
[ -n "$run" ] || run=$(sed -n 's/^ *natrig clean \([0-9a-f]*\)$/\1/p' "$tmp/k" | head -1)
runs+=("$run")
sed 's/^/# /' "$tmp/k"
[ $rc = 1 ] && [ -n "$run" ] && [ "$(cnt "$run")" -gt 0 ]; ok $? "a failed run with NATRIG_KEEP=1 stays up (exit $rc)"
grep -q "natrig repl --attach $run" "$tmp/k" && grep -q "natrig exec -it $run NODE" "$tmp/k" \
  && grep -q "natrig logs $run NODE" "$tmp/k" && grep -q "natrig clean $run" "$tmp/k" && grep -q "natrig-$run-<node>" "$tmp/k"
ok $? "the kept run prints the repl --attach, exec, logs and clean lines and the container names"
docker inspect "natrig-$run-gw" "natrig-$run-a" >/dev/null 2>&1; ok $? "containers are named natrig-<run>-<node>"
$NATRIG ls >"$tmp/ls" 2>&1
grep "^$run " "$tmp/ls" | grep -q " $case_arg .* kept "; ok $? "natrig ls shows the run's case in full"

# exec: output streams to stdout and stderr, the exit status is the command's own.
$NATRIG exec "$run" a -- sh -c 'echo to-out; echo to-err >&2; exit 7' >"$tmp/o" 2>"$tmp/e"; rc=$?
[ $rc = 7 ] && [ "$(cat "$tmp/o")" = to-out ] && [ "$(cat "$tmp/e")" = to-err ]; ok $? "exec: stdout, stderr apart, exit 7 passed through (exit $rc)"
$NATRIG exec "$run" a false; rc=$?; [ $rc = 1 ]; ok $? "exec without --: the command's exit 1 (exit $rc)"
$NATRIG exec "$run" a -- /no/such/binary >"$tmp/o" 2>&1; rc=$?
[ $rc = 126 ] || [ $rc = 127 ]; ok $? "exec of a missing binary: 126/127 as docker gives (exit $rc)"
printf 'one\ntwo\nthree\n' | $NATRIG exec -i "$run" a -- wc -l >"$tmp/o" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(tr -d ' ' <"$tmp/o")" = 3 ]; ok $? "exec -i: stdin reaches the command and its end ends it ($(cat "$tmp/o"))"
$NATRIG exec "$run" a ls --help >/dev/null 2>"$tmp/o"; grep -q "BusyBox\|Usage" "$tmp/o"; ok $? "words after NODE are the command's (ls --help runs ls)"
$NATRIG exec --holder "$run" a -- ip -4 -o addr >"$tmp/o" 2>&1; rc=$?
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "natrig-$run-a-net")
[ $rc = 0 ] && [ -n "$ip" ] && grep -q "inet $ip/" "$tmp/o"; ok $? "exec --holder runs in the node's network holder ($ip)"
router=$(docker ps --filter "label=natrig.run=$run" --filter label=natrig.role=router --format '{{.Label "natrig.node"}}')
$NATRIG exec "$run" "$router" -- nft list tables >"$tmp/o" 2>&1; grep -q "table ip natrig" "$tmp/o"; ok $? "exec in a router ($router) by its name"
$NATRIG exec "$run" zz -- true >"$tmp/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "no node 'zz'" "$tmp/o" && grep -q "a, gw, $router" "$tmp/o"; ok $? "exec on an unknown node: exit 2, names the nodes (exit $rc)"
$NATRIG exec nosuchrun a -- true >"$tmp/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "no run 'nosuchrun'" "$tmp/o" && grep -q "$run" "$tmp/o"; ok $? "exec on an unknown run: exit 2, names the runs (exit $rc)"
$NATRIG exec "$run" a >"$tmp/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "give the command" "$tmp/o"; ok $? "exec without a command or -t: usage, exit 2"

$NATRIG exec "$run" a -- seq 1000000 2>"$tmp/e" | head -1 >"$tmp/o"; rc=${PIPESTATUS[0]}
[ $rc = 141 ] && [ "$(cat "$tmp/o")" = 1 ] && [ ! -s "$tmp/e" ]; ok $? "exec into a closed pipe (| head): quiet, 141 as SIGPIPE (exit $rc)"

# Over DOCKER_HOST=tcp:// (the socket forwarded to loopback by socat): the same hijacked
# stream, stdin's end passed on as a half-close.
port=$((25000 + RANDOM % 2000))
# -t 30: after stdin's half-close socat waits for the answer 30 s, not its default 0.5 s (under
# load wc's output came later and was lost: "exec -i over tcp://" got nothing)
socat -t 30 TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:/var/run/docker.sock & sp=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
DOCKER_HOST=tcp://127.0.0.1:$port $NATRIG exec "$run" a -- sh -c 'echo over-tcp; exit 5' >"$tmp/o" 2>&1; rc=$?
[ $rc = 5 ] && grep -q over-tcp "$tmp/o"; ok $? "exec over tcp://: output and exit 5 (exit $rc)"
printf 'a\nb\n' | DOCKER_HOST=tcp://127.0.0.1:$port $NATRIG exec -i "$run" a -- wc -l >"$tmp/o" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(tr -d ' ' <"$tmp/o")" = 2 ]; ok $? "exec -i over tcp://: stdin and its end ($(cat "$tmp/o"))"
kill $sp 2>/dev/null; wait $sp 2>/dev/null

# exec -it in a real terminal: a shell, the terminal's size, Ctrl-C reaches the shell's
# child (not natrig), the shell's exit code comes back.
tmux new-session -d -s "$sess" -x 100 -y 30 "$NATRIG exec -it $run a; echo EXIT=\$?; sleep 60"
sleep 2
tmux send-keys -t "$sess" 'echo six-times-seven=$((6*7)); stty size' Enter
sleep 1
tmux send-keys -t "$sess" 'sleep 30' Enter; sleep 1; tmux send-keys -t "$sess" C-c; sleep 1
tmux send-keys -t "$sess" 'echo after-ctrl-c=$?' Enter; sleep 1
tmux send-keys -t "$sess" 'exit 3' Enter
for _ in $(seq 20); do tmux capture-pane -p -t "$sess" | grep -q "EXIT=" && break; sleep 0.5; done
tmux capture-pane -p -t "$sess" >"$tmp/tty"; sed 's/^/# /' "$tmp/tty"
grep -q "six-times-seven=42" "$tmp/tty"; ok $? "exec -it: an interactive shell in the node"
grep -q "^30 100" "$tmp/tty"; ok $? "exec -it: the terminal's size reaches the shell (stty size 30 100)"
grep -q "after-ctrl-c=130" "$tmp/tty"; ok $? "exec -it: Ctrl-C interrupts the shell's command, the shell lives"
grep -q "EXIT=3" "$tmp/tty"; ok $? "exec -it: the shell's exit status is natrig's"
tmux kill-session -t "$sess" 2>/dev/null

# logs: parsed, raw, tail, since, follow.
$NATRIG logs "$run" gw >"$tmp/l" 2>&1; rc=$?
[ $rc = 0 ] && grep -qE "^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} INFO  natrig_peer::echo: echo listening addr=0.0.0.0:3478" "$tmp/l"
ok $? "logs: parsed lines (time, level, target, message, fields)"
$NATRIG logs --raw "$run" gw >"$tmp/l" 2>&1
grep -qE "^20[0-9-]+T[0-9:.]+Z +INFO natrig_peer::echo: echo listening" "$tmp/l"; ok $? "logs --raw: the lines as the program wrote them"
nl=$($NATRIG logs --raw --tail 1 "$run" gw | wc -l); [ "$nl" = 1 ]; ok $? "logs --tail 1: one line ($nl)"
nl=$($NATRIG logs --since $(( $(date +%s) + 3600 )) "$run" gw | wc -l); [ "$nl" = 0 ]; ok $? "logs --since a later time: nothing ($nl)"
nl=$($NATRIG logs --since 1h "$run" gw | wc -l); [ "$nl" -gt 0 ]; ok $? "logs --since 1h: the lines ($nl)"
$NATRIG logs --since yesterday "$run" gw >"$tmp/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "since yesterday" "$tmp/o"; ok $? "logs --since with a bad time: exit 2, says what it takes"
$NATRIG logs "$run" zz >"$tmp/o" 2>&1; rc=$?
[ $rc = 2 ] && grep -q "no node 'zz'" "$tmp/o"; ok $? "logs of an unknown node: exit 2, names the nodes"
$NATRIG logs -f --raw "$run" gw >"$tmp/f" 2>&1 & lp=$!
sleep 2
docker exec "natrig-$run-gw" sh -c 'echo follow-mark-$$ >/proc/1/fd/1'
for _ in $(seq 20); do grep -q "follow-mark" "$tmp/f" && break; sleep 0.5; done
grep -q "follow-mark" "$tmp/f"; ok $? "logs -f: a new line arrives while following"
kill -INT $lp; wait $lp; rc=$?; lp=
[ $rc = 130 ]; ok $? "logs -f ends on Ctrl-C (exit $rc)"

$NATRIG clean "$run" >/dev/null 2>&1; [ "$(cnt "$run")" = 0 ]; ok $? "natrig clean removes the kept run"

# A live run (its natrig still running): exec and logs work on it too.
$NATRIG run tests/engine/fixtures/kept_case.lua hold=120 >"$tmp/live" 2>&1 & lr=$!
for _ in $(seq 120); do grep -q "^UP " "$tmp/live" && break; sleep 0.5; done
live=$(sed -n 's/^UP \([0-9a-f]*\).*/\1/p' "$tmp/live"); runs+=("$live")
$NATRIG exec "$live" gw -- echo live-exec >"$tmp/o" 2>&1; rc=$?
[ -n "$live" ] && [ $rc = 0 ] && grep -q live-exec "$tmp/o"; ok $? "exec in a live run ($live)"
$NATRIG logs "$live" gw | grep -q "echo listening"; ok $? "logs of a live run"
kill -TERM $lr; wait $lr; rc=$?
[ $rc = 143 ] && [ "$(cnt "$live")" = 0 ]; ok $? "the live run ends on SIGTERM and is removed (exit $rc)"

# make install PREFIX=...: the installed natrig runs a scenario, its man page exists.
prefix=$(mktemp -d)
# (-o: install what this run tests, never rebuild it under the other engine tests' feet)
b=${B:-build}
make --no-print-directory B="$b" -o "$b/natrig" -o "$b/lua/natrig.so" -o "$b/natrig-peer" -o "$b/natrig-shaper" \
  install PREFIX="$prefix" >"$tmp/i" 2>&1; rc=$?
sed 's/^/# /' "$tmp/i"
[ $rc = 0 ] && [ -x "$prefix/bin/natrig" ] && [ -x "$prefix/bin/natrig-peer" ] && [ -x "$prefix/bin/natrig-shaper" ]
ok $? "make install PREFIX=... installs natrig, natrig-peer, natrig-shaper (exit $rc)"
man -l "$prefix/share/man/man1/natrig.1" 2>/dev/null | grep -q "natrig exec"; ok $? "and the man page natrig(1), with every command"
LUA_CPATH="$prefix/lib/lua/5.4/?.so;;" lua5.4 -e 'require "natrig"; io.write(require("natrig.core").libexec_dir())' >"$tmp/o" 2>&1
[ -x "$(cat "$tmp/o")/natrig-peer" ]; ok $? "require \"natrig\" from stock lua5.4 finds the installed module and its helpers"
PATH="$prefix/bin:/usr/sbin:/usr/bin:/sbin:/bin" env -u NATRIG_LIBEXEC -u NATRIG_BIN natrig run scenarios/quickstart.lua >"$tmp/q" 2>&1; rc=$?
sed 's/^/# /' "$tmp/q"
[ $rc = 0 ] && grep -q "^PASS quickstart" "$tmp/q"; ok $? "the installed natrig runs scenarios/quickstart.lua (exit $rc)"
rm -rf "$prefix"
done_tap
