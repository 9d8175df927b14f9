#!/bin/bash
# tests/engine/two_engines.sh: a second Docker engine on this machine, joined with the main
# one as a Docker Swarm, for natrig's multi-engine tests (issue 16). The recipe is
# PLATFORM.md's "Beyond one machine": the second dockerd runs in a network namespace of its
# own (entered with nsenter, not `ip netns exec`, which remounts /sys), with its own empty
# config file (the host's daemon.json sets data-root), reached over a veth pair.
#
#   tests/engine/two_engines.sh start   start engine 2, init/join the Swarm (idempotent);
#                                       prints the NATRIG_HOSTS line to eval
#   tests/engine/two_engines.sh stop    leave the Swarm on both, stop engine 2, remove the
#                                       netns and the veth, remove docker_gwbridge from the
#                                       main engine (idempotent; what is not there is fine)
#   tests/engine/two_engines.sh env     print `export NATRIG_HOSTS=...; export DOCKER_HOST2=...`
#   tests/engine/two_engines.sh status  say what is up
#   tests/engine/two_engines.sh purge   stop, then delete engine 2's data root (its images)
#   tests/engine/two_engines.sh run CMD...  start, run CMD with NATRIG_HOSTS set, stop
#                                       after (also on failure or a signal: a trap)
# Needs root. Engine 2's data root (/var/lib/natrig-e2) is kept across stop/start so its
# images (natrig's base image, imported on first use) survive; `purge` removes it.
# The main engine is the Swarm's manager. Never run while someone else uses Swarm mode on
# the main engine: `stop` makes it leave. Leaving a Swarm, an engine disconnects every
# container from every *attachable* network (Docker's clearAttachableNetworks), so a run of
# a natrig whose bridges are attachable (before main's 84cfff1) going on meanwhile loses
# its interfaces; natrig's bridges are not attachable now, only a run's own overlay is.
set -u
NS=${NATRIG_E2_NETNS:-natrig-e2}
HOST_IF=${NS}-h            # veth end on the host
NS_IF=${NS}-c              # veth end inside the namespace
HOST_IP=${NATRIG_E2_HOST_IP:-192.168.222.1}
NS_IP=${NATRIG_E2_NS_IP:-192.168.222.2}
RUN=/run/$NS               # config, pid file, socket, exec root (short: socket path limits)
DATA=${NATRIG_E2_DATA:-/var/lib/$NS}
SOCK=$RUN/docker.sock
MAIN_HOST=${NATRIG_E2_MAIN:-${DOCKER_HOST:-unix:///var/run/docker.sock}}
E2_HOST=unix://$SOCK

say() { echo "two_engines: $*" >&2; }
die() { say "$*"; exit 1; }
d1() { DOCKER_HOST=$MAIN_HOST docker "$@"; }
d2() { DOCKER_HOST=$E2_HOST docker "$@"; }
e2_pid() { [ -s "$RUN/dockerd.pid" ] && cat "$RUN/dockerd.pid"; }
e2_alive() { local p; p=$(e2_pid) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
# "<state> <node id>"; a worker's info has no Cluster, only its RemoteManagers
swarm_state() { "$@" info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}' 2>/dev/null; }
managers_of() { "$@" info --format '{{range .Swarm.RemoteManagers}}{{.NodeID}} {{end}}' 2>/dev/null; }

print_env() {
    echo "export NATRIG_HOSTS=$MAIN_HOST,$E2_HOST"
    echo "export DOCKER_HOST2=$E2_HOST"
}

start() {
    [ "$(id -u)" = 0 ] || die "needs root (network namespaces, a second dockerd)"
    command -v fuse-overlayfs >/dev/null || die "fuse-overlayfs is missing: apt-get install fuse-overlayfs"
    d1 info >/dev/null 2>&1 || die "the main engine ($MAIN_HOST) does not answer"
    # 1. the namespace and the veth pair
    if [ ! -e "/var/run/netns/$NS" ]; then
        ip netns add "$NS" || die "ip netns add $NS failed"
    fi
    if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
        ip link add "$HOST_IF" type veth peer name "$NS_IF" || die "veth $HOST_IF failed"
        ip link set "$NS_IF" netns "$NS"
        ip addr add "$HOST_IP/24" dev "$HOST_IF"
        ip link set "$HOST_IF" up
        nsenter --net="/var/run/netns/$NS" ip addr add "$NS_IP/24" dev "$NS_IF"
        nsenter --net="/var/run/netns/$NS" ip link set "$NS_IF" up
        nsenter --net="/var/run/netns/$NS" ip link set lo up
    fi
    # 2. the second daemon (its own empty config file, data root, exec root, socket)
    mkdir -p "$RUN" "$DATA"
    [ -f "$RUN/daemon.json" ] || echo '{}' >"$RUN/daemon.json"
    if ! e2_alive; then
        rm -f "$SOCK" "$RUN/dockerd.pid"
        nsenter --net="/var/run/netns/$NS" setsid dockerd --config-file "$RUN/daemon.json" \
            --storage-driver fuse-overlayfs --data-root "$DATA" --exec-root "$RUN/exec" \
            --pidfile "$RUN/dockerd.pid" -H "$E2_HOST" --bridge=none --iptables=false \
            --ip-masq=false </dev/null >"$RUN/dockerd.log" 2>&1 &
        for _ in $(seq 1 150); do d2 info >/dev/null 2>&1 && break; sleep 0.2; done
        d2 info >/dev/null 2>&1 || { tail -20 "$RUN/dockerd.log" >&2; die "engine 2 did not answer within 30 s (log: $RUN/dockerd.log)"; }
    fi
    # 3. the Swarm: the main engine is the manager
    local s1 s2
    s1=$(swarm_state d1); s2=$(swarm_state d2)
    if [ "${s1%% *}" != active ]; then
        d1 swarm init --advertise-addr "$HOST_IP" --listen-addr "$HOST_IP:2377" >/dev/null ||
            die "docker swarm init on the main engine failed"
        s1=$(swarm_state d1)
    fi
    if [ "${s2%% *}" = active ] && [[ " $(managers_of d2) " != *" ${s1#* } "* ]]; then
        d2 swarm leave --force >/dev/null 2>&1
        s2=$(swarm_state d2)
    fi
    if [ "${s2%% *}" != active ]; then
        local token
        token=$(d1 swarm join-token -q worker) || die "no join token from the main engine"
        d2 swarm join --advertise-addr "$NS_IP" --listen-addr "$NS_IP:2377" --token "$token" \
            "$HOST_IP:2377" >/dev/null || die "docker swarm join on engine 2 failed"
    fi
    for _ in $(seq 1 100); do
        [ "$(d1 node ls --format '{{.Status}}' 2>/dev/null | grep -c Ready)" -ge 2 ] && break
        sleep 0.2
    done
    [ "$(d1 node ls --format '{{.Status}}' | grep -c Ready)" -ge 2 ] || die "the Swarm does not show 2 Ready nodes"
    say "engine 2 up at $E2_HOST (netns $NS, $NS_IP), Swarm managed by node $(swarm_state d1 | cut -d' ' -f2), 2 Ready nodes"
    print_env
}

stop() {
    local rc=0
    if e2_alive || [ -S "$SOCK" ]; then d2 swarm leave --force >/dev/null 2>&1; fi
    if [ "$(swarm_state d1 | cut -d' ' -f1)" != inactive ]; then
        d1 swarm leave --force >/dev/null 2>&1 || { say "the main engine did not leave the Swarm"; rc=1; }
    fi
    local kids=""
    if e2_alive; then
        local p
        p=$(e2_pid)
        kids=$(pgrep -P "$p") # its own containerd: by parent pid, never by name
        kill -TERM "$p"
        for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        if kill -0 "$p" 2>/dev/null; then say "engine 2 ($p) ignored SIGTERM for 30 s: SIGKILL"; kill -KILL "$p"; fi
    fi
    # Its containerd, if it outlived the daemon (a child of that daemon, by pid).
    local q
    for q in $kids; do kill -0 "$q" 2>/dev/null && kill -TERM "$q"; done
    rm -f "$SOCK" "$RUN/dockerd.pid"
    # fuse-overlayfs mounts of engine 2 that outlived it
    grep -o " $DATA/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    grep -o " $RUN/[^ ]*" /proc/mounts 2>/dev/null | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    ip link del "$HOST_IF" 2>/dev/null
    [ -e "/var/run/netns/$NS" ] && { ip netns del "$NS" || rc=1; }
    # Leaving Swarm mode leaves docker_gwbridge on the main engine.
    if d1 network inspect docker_gwbridge >/dev/null 2>&1; then
        if [ -z "$(d1 network inspect docker_gwbridge --format '{{range $k, $v := .Containers}}{{$k}} {{end}}' | tr -d ' ')" ]; then
            d1 network rm docker_gwbridge >/dev/null || rc=1
        else
            say "docker_gwbridge still has containers: left in place"; rc=1
        fi
    fi
    say "stopped: Swarm $(swarm_state d1 | cut -d' ' -f1) on the main engine, engine 2 down, netns $NS removed"
    return $rc
}

status() {
    echo "main engine $MAIN_HOST: swarm $(swarm_state d1 || echo '?')"
    if e2_alive; then echo "engine 2 $E2_HOST: pid $(e2_pid), swarm $(swarm_state d2 || echo '?')"
    else echo "engine 2: not running"; fi
    [ -e "/var/run/netns/$NS" ] && echo "netns $NS: present" || echo "netns $NS: absent"
}

case ${1:-} in
start) start ;;
stop) stop ;;
env) print_env ;;
status) status ;;
purge) stop; rm -rf "$DATA" "$RUN" ;;
run)
    shift
    [ $# -gt 0 ] || die "usage: $0 run CMD..."
    trap 'stop' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    out=$(start) || exit 1
    eval "$out"
    "$@"
    ;;
*) echo "usage: $0 start|stop|env|status|purge|run CMD..." >&2; exit 2 ;;
esac
