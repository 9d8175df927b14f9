# lib.sh - shared by tests/nat/netns-classify and tests/nat/netns-holepunch (sourced, bash).
# Builds private network namespaces named ntr-<pid>-*, never touches the root namespace's
# firewall, routes or sysctls, sends nothing off the machine, and removes everything it made
# on exit (nt_cleanup, installed as the EXIT trap by nt_init).
#
# Public segment 203.0.113.0/24 (TEST-NET-3): a bridge inside namespace "pub"; the STUN server
# has .10 and .11, router N has .N as wan_ip. LAN N is 192.168.N.0/24, the router is .254.

NT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NT_ID=ntr-$$
NT_NS=()
NT_PIDS=()
NT_TMP=

nt_die() { echo "$(basename "$0"): $*" >&2; exit 2; }

nt_need() {
    local t
    [ "$(id -u)" = 0 ] || nt_die "needs root (network namespaces, nft)"
    for t in ip nft conntrack gcc "$@"; do
        command -v "$t" >/dev/null || nt_die "missing tool: $t"
    done
}

nt_cleanup() {
    local pid ns
    for pid in "${NT_PIDS[@]}"; do
        # `nt_x ... &` backgrounds a subshell whose child is the program (ip netns exec
        # becomes it): killing the subshell alone left every netns-tcp gateway running,
        # orphaned in its deleted namespace (12 after one make test)
        pkill -TERM -P "$pid" 2>/dev/null
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    for ns in "${NT_NS[@]}"; do
        ip netns del "$ns" 2>/dev/null
    done
    [ -n "$NT_TMP" ] && rm -rf "$NT_TMP"
    return 0
}

nt_init() {
    NT_TMP=$(mktemp -d /tmp/ntr-XXXXXX)
    trap nt_cleanup EXIT
    trap 'exit 130' INT TERM
    # NT_BIN=DIR: natrule_dump and punch already built there (run-all builds them once)
    if [ -n "${NT_BIN:-}" ] && [ -x "$NT_BIN/natrule_dump" ] && [ -x "$NT_BIN/punch" ] &&
        [ -x "$NT_BIN/tcppunch" ]; then
        NT_DUMP=$NT_BIN/natrule_dump
        NT_PUNCH=$NT_BIN/punch
        NT_TCPPUNCH=$NT_BIN/tcppunch
        return 0
    fi
    nt_build "$NT_TMP" || exit 2
    NT_DUMP=$NT_TMP/natrule_dump
    NT_PUNCH=$NT_TMP/punch
    NT_TCPPUNCH=$NT_TMP/tcppunch
}

# nt_build DIR: compile natrule_dump (against every C file under src/core and src/base,
# subfolders included: the core is pure, so no library is needed, and a module split there
# needs no change here), punch and tcppunch.
nt_build() {
    local cflags="-std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror -I$NT_ROOT/src" srcs
    mapfile -t srcs < <(find "$NT_ROOT/src/core" "$NT_ROOT/src/base" -name '*.c' | sort)
    gcc $cflags -o "$1/natrule_dump" "$NT_ROOT/tests/nat/natrule_dump.c" \
        "${srcs[@]}" -lm || nt_die "cannot build natrule_dump"
    gcc $cflags -o "$1/punch" "$NT_ROOT/tests/nat/punch.c" || nt_die "cannot build punch"
    gcc $cflags -o "$1/tcppunch" "$NT_ROOT/tests/nat/tcppunch.c" || nt_die "cannot build tcppunch"
}

# nt_ns NAME: create namespace $NT_ID-NAME with lo up.
nt_ns() {
    local ns=$NT_ID-$1
    ip netns add "$ns" || nt_die "cannot create namespace $ns"
    NT_NS+=("$ns")
    ip netns exec "$ns" ip link set lo up
}

nt_x() { local ns=$NT_ID-$1; shift; ip netns exec "$ns" "$@"; }

# nt_link NS1 IF1 NS2 IF2: a veth pair created directly inside the two namespaces.
nt_link() {
    ip link add "$2" netns "$NT_ID-$1" type veth peer name "$4" netns "$NT_ID-$3" ||
        nt_die "cannot create veth $1/$2 - $3/$4"
    nt_x "$1" ip link set "$2" up
    nt_x "$3" ip link set "$4" up
}

nt_public() {
    nt_ns pub
    nt_x pub ip link add br0 type bridge
    nt_x pub ip link set br0 up
}

# nt_on_public NS IFNAME ADDR...: plug NS into the public bridge with the given addresses.
nt_on_public() {
    local ns=$1 ifn=$2 a
    shift 2
    nt_link pub "p-$ns" "$ns" "$ifn"
    nt_x pub ip link set "p-$ns" master br0
    for a in "$@"; do nt_x "$ns" ip addr add "$a/24" dev "$ifn"; done
}

# nt_stun: STUN server namespace with coturn's turnserver on two addresses (RFC 5780 needs
# both for CHANGE-REQUEST), waited for by polling its sockets, not by sleeping blindly.
nt_stun() {
    nt_ns stun
    nt_on_public stun wan 203.0.113.10 203.0.113.11
    ip netns exec "$NT_ID-stun" turnserver -n -L 203.0.113.10 -L 203.0.113.11 --no-auth \
        --stun-only --no-cli --no-tls --no-dtls --no-software-attribute \
        --userdb "$NT_TMP/turndb" --log-file "$NT_TMP/turnserver.log" --simple-log \
        --pidfile "$NT_TMP/turnserver.pid" >/dev/null 2>&1 &
    NT_PIDS+=($!)
    local i
    for i in $(seq 100); do
        if [ "$(nt_x stun ss -Hnul | grep -cE '203\.0\.113\.1[01]:347[89] ')" -ge 4 ]; then
            return 0
        fi
        sleep 0.05
    done
    nt_die "turnserver did not listen on 203.0.113.10/.11 ports 3478/3479"
}

# nt_router N: router namespace "rN" with wan 203.0.113.N and LAN 192.168.N.0/24 (.254),
# forwarding on. The LAN switch is a bridge in its own namespace "lanN", as Docker's bridge
# lives outside the router: a bridge inside the router would make br_netfilter bridge a
# hairpinned packet back out of its ingress port, which a bridge never does.
nt_router() {
    local n=$1
    nt_ns "r$n"
    nt_on_public "r$n" wan "203.0.113.$n"
    nt_ns "lan$n"
    nt_x "lan$n" ip link add br0 type bridge
    nt_x "lan$n" ip link set br0 up
    nt_link "lan$n" "p-r$n" "r$n" lan
    nt_x "lan$n" ip link set "p-r$n" master br0
    nt_x "r$n" ip addr add "192.168.$n.254/24" dev lan
    nt_x "r$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.default.rp_filter=0
}

# nt_client NAME N HOST: client namespace on LAN N with address 192.168.N.HOST, default
# route via the router.
nt_client() {
    local name=$1 n=$2 host=$3
    nt_ns "$name"
    nt_link "lan$n" "p-$name" "$name" eth0
    nt_x "lan$n" ip link set "p-$name" master br0
    nt_x "$name" ip addr add "192.168.$n.$host/24" dev eth0
    nt_x "$name" ip route add default via "192.168.$n.254"
}

# nt_load N PRESET [key=value...]: generate the ruleset for router N, load it with one
# `nft -f`, then check readiness on the real listing (natrule_check_listing).
nt_load() {
    local n=$1 preset=$2
    shift 2
    "$NT_DUMP" ruleset "$preset" "203.0.113.$n" "192.168.$n.0/24" "$@" >"$NT_TMP/r$n.nft" ||
        nt_die "natrule_dump ruleset $preset $*"
    nt_x "r$n" nft -f "$NT_TMP/r$n.nft" || nt_die "nft -f failed for router $n"
    nt_x "r$n" nft list table ip natrig >"$NT_TMP/r$n.list"
    "$NT_DUMP" check "$preset" "203.0.113.$n" "192.168.$n.0/24" "$@" <"$NT_TMP/r$n.list" \
        >/dev/null || nt_die "ruleset of router $n is not ready"
}

# nt_flush N PRESET [key=value...]: forget every mapping of router N with the flush argvs
# natrule_argv.c gives (flush the learned sets and maps, then conntrack -F).
nt_flush() {
    local n=$1 preset=$2 what args
    shift 2
    "$NT_DUMP" argv "$preset" "203.0.113.$n" "192.168.$n.0/24" "$@" >"$NT_TMP/argv$n" ||
        nt_die "natrule_dump argv"
    while read -r what args; do
        [ "$what" = flush ] || continue
        # shellcheck disable=SC2086 # argvs have no blanks inside arguments
        nt_x "r$n" $args >/dev/null 2>&1 || nt_die "router $n: $args failed"
    done <"$NT_TMP/argv$n"
}

# nt_diag N: what the router holds (rules with counters and learned elements, conntrack).
nt_diag() {
    echo "--- router $1: nft list table ip natrig"
    nt_x "r$1" nft list table ip natrig
    echo "--- router $1: conntrack -L -p udp"
    nt_x "r$1" conntrack -L -p udp 2>/dev/null
    echo "--- router $1: conntrack -L -p tcp"
    nt_x "r$1" conntrack -L -p tcp 2>/dev/null
}
