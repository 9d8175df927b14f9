# netns-lib.sh - shared by tests/shaper/netns-check and tests/bench/bench_shaper_netns:
# two network namespaces of our own (ntsh-<pid>-a, ntsh-<pid>-b) joined by a veth pair, a
# natrig-shaper in each, ping helpers and figures. Touches nothing outside those namespaces:
# no root-namespace firewall or route, no traffic off the machine. Source it; needs bash.

NTSH_TAG="ntsh-$$"
NSA="$NTSH_TAG-a"
NSB="$NTSH_TAG-b"
VETHA="ntsh$$a"
VETHB="ntsh$$b"
ADDRA=10.213.0.1
ADDRB=10.213.0.2
NTSH_DIR=""
SHAPER_PIDS=""

# The shaper binary: $SHAPER, else the build tree's.
ntsh_find_shaper() {
    local root b="${B:-build}"
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    case "$b" in /*) ;; *) b="$root/$b" ;; esac
    SHAPER="${SHAPER:-$b/natrig-shaper}"
    [ -x "$SHAPER" ] || { echo "natrig-shaper not found at $SHAPER (make build/natrig-shaper, or set SHAPER=)"; return 1; }
}

# Skip (exit 0) when this machine cannot run the check, unless CI=true (then fail).
ntsh_need() {
    local why=""
    [ "$(id -u)" = 0 ] || why="needs root (ip netns, iptables)"
    [ -z "$why" ] && ! command -v ip >/dev/null && why="needs iproute2"
    [ -z "$why" ] && ! command -v iptables >/dev/null && why="needs iptables"
    if [ -n "$why" ]; then
        if [ "${CI:-}" = true ]; then echo "FAIL: $why"; exit 1; fi
        echo "SKIP: $why"; exit 0
    fi
    # ping at SCHED_FIFO where chrt exists: on a busy host a normal-priority ping wakes late for
    # its replies and adds that to every RTT; the figures are about the shaper, not about ping
    local rt=()
    command -v chrt >/dev/null && chrt -f 5 true 2>/dev/null && rt=(chrt -f 5)
    if command -v ping >/dev/null && ping -V 2>&1 | grep -q iputils; then
        PING=("${rt[@]}" ping)
    elif command -v busybox >/dev/null; then
        PING=("${rt[@]}" busybox ping)
    else
        if [ "${CI:-}" = true ]; then echo "FAIL: needs ping (iputils or busybox)"; exit 1; fi
        echo "SKIP: needs ping (iputils or busybox)"; exit 0
    fi
}

# check NAME VALUE LO HI UNIT: one measured figure against its bounds; counts FAILS
FAILS=0
check() {
    if within "$2" "$3" "$4"; then
        printf 'ok   %-44s %10s %s  (want %s..%s)\n' "$1" "$2" "$5" "$3" "$4"
    else
        printf 'FAIL %-44s %10s %s  (want %s..%s)\n' "$1" "$2" "$5" "$3" "$4"
        FAILS=$((FAILS + 1))
    fi
}
fatal() { echo "FAIL: $*"; exit 1; }

nsa() { ip netns exec "$NSA" "$@"; }
nsb() { ip netns exec "$NSB" "$@"; }

ntsh_cleanup() {
    local p
    ntsh_idle
    for p in $SHAPER_PIDS; do kill -TERM "$p" 2>/dev/null; done
    for p in $SHAPER_PIDS; do wait "$p" 2>/dev/null; done
    SHAPER_PIDS=""
    ip netns del "$NSA" 2>/dev/null
    ip netns del "$NSB" 2>/dev/null
    [ -n "$NTSH_DIR" ] && rm -rf "$NTSH_DIR"
    return 0
}

# ntsh_busy N: keep N CPUs busy (shell loops in the root cgroup); ntsh_idle stops them.
BUSY_PIDS=""
ntsh_busy() {
    local i
    for i in $(seq "$1"); do
        sh -c 'while :; do :; done' &
        BUSY_PIDS="$BUSY_PIDS $!"
    done
}
ntsh_idle() {
    local p
    for p in $BUSY_PIDS; do kill "$p" 2>/dev/null; done
    for p in $BUSY_PIDS; do wait "$p" 2>/dev/null; done
    BUSY_PIDS=""
}

ntsh_setup() {
    NTSH_DIR="$(mktemp -d /tmp/ntsh.XXXXXX)"
    trap ntsh_cleanup EXIT
    trap 'exit 130' INT TERM
    ip netns add "$NSA" && ip netns add "$NSB" &&
    ip link add "$VETHA" type veth peer name "$VETHB" &&
    ip link set "$VETHA" netns "$NSA" && ip link set "$VETHB" netns "$NSB" &&
    ip -n "$NSA" addr add "$ADDRA/24" dev "$VETHA" &&
    ip -n "$NSB" addr add "$ADDRB/24" dev "$VETHB" &&
    ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up &&
    ip -n "$NSA" link set "$VETHA" up && ip -n "$NSB" link set "$VETHB" up || return 1
    # the first packets over a fresh veth can wait for neighbour resolution
    nsa "${PING[@]}" -c 3 -i 0.2 -W 2 "$ADDRB" >/dev/null 2>&1
}

# ntsh_start_shaper NS NAME QUEUE...: run a shaper in NS with its control socket under NTSH_DIR
# (NTSH_SCHED=normal: without real-time scheduling, as where it is refused; the array
# NTSH_WRAP: a command the shaper runs under, e.g. setpriv).
ntsh_start_shaper() {
    local ns="$1" name="$2" q args=() i
    shift 2
    for q in "$@"; do args+=(--queue "$q"); done
    ip netns exec "$ns" ${NTSH_WRAP[@]+"${NTSH_WRAP[@]}"} "$SHAPER" run "${args[@]}" --control "$NTSH_DIR/$name.sock" \
        --seed 12345 --sched "${NTSH_SCHED:-auto}" 2>"$NTSH_DIR/$name.log" &
    SHAPER_PIDS="$SHAPER_PIDS $!"
    eval "PID_$name=$!"
    for i in $(seq 100); do
        "$SHAPER" ping --control "$NTSH_DIR/$name.sock" >/dev/null 2>&1 && return 0
        sleep 0.02
    done
    echo "shaper $name did not become ready:"; cat "$NTSH_DIR/$name.log"
    return 1
}

# ctl NAME ARGS...: a client command against shaper NAME.
ctl() {
    local name="$1" cmd="$2"
    shift 2
    "$SHAPER" "$cmd" --control "$NTSH_DIR/$name.sock" "$@"
}

# rtts: per-packet round-trip times (ms) from ping output on stdin, duplicates left out.
rtts() { grep -v DUP | sed -n 's/.*time=\([0-9.]*\) *ms.*/\1/p'; }
# sent/received counts from the summary line
ping_sent() { awk '/packets transmitted/ {print $1}'; }
ping_recv() { awk '/packets transmitted/ {print $4}'; }
ping_dups() { grep -oE '\+?[0-9]+ duplicates' | tr -dc '0-9'; }

# Figures over numbers on stdin: median, p99, mean, sd, min, max (one line).
figures() {
    sort -n | awk '{a[NR]=$1; s+=$1; q+=$1*$1}
        END { if (NR == 0) { print "nan nan nan nan nan nan"; exit }
              m = s / NR; v = q / NR - m * m; if (v < 0) v = 0
              p = int(NR * 0.99 + 0.999); if (p < 1) p = 1; if (p > NR) p = NR
              printf "%.3f %.3f %.3f %.3f %.3f %.3f\n", a[int((NR + 1) / 2)], a[p], m, sqrt(v), a[1], a[NR] }'
}
median() { figures | awk '{print $1}'; }

# within X LO HI: numeric range check
within() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x + 0 >= lo && x + 0 <= hi) }'; }

# A stats field of one queue: stat NAME QUEUE FIELD
stat() { ctl "$1" stats --queue "$2" | tr ' ' '\n' | sed -n "s/^$3=//p"; }

now_ms() { local t="${EPOCHREALTIME/[.,]/}"; echo $((t / 1000)); }
now_us() { local t="${EPOCHREALTIME/[.,]/}"; echo "$t"; }
