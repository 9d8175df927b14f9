/* cmd_portmap.c - port mapping in natrig-peer (lua/natrig/portmap.lua runs miniupnpd in
 * routers):
 *  - `natrig-peer portmap`: ask the default gateway (or --gateway) for a mapping by NAT-PMP or
 *    PCP, retrying as RFC 6886 says (250 ms, doubling), and print one line:
 *    "portmap natpmp udp 6000 -> 10.128.0.5:6000 lifetime 60 epoch 12" (exit 0), or
 *    "portmap pcp refused NOT_AUTHORIZED (2)" / "portmap natpmp no answer" (exit 1);
 *  - `natrig-peer stun-reflect`: the STUN answer that tells the router's miniupnpd which
 *    external address to claim (see core/portmap.h for why). It listens on one address (the
 *    router's loopback) and answers every Binding request with XOR-MAPPED-ADDRESS = --ext :
 *    the request's source port (+ --port-shift: an upstream NAT that changes ports, the cgn
 *    fault). Runs until SIGINT/SIGTERM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/portmap.h"
#include "peer/peercmd.h"
#include "peer/peermap.h"
#include "peer/peernet.h"

enum { OPT_LISTEN = 256, OPT_EXT, OPT_PORT_SHIFT };

struct reflect_opts {
    struct peerproto_addr listen, ext;
    int has_listen, has_ext;
    long port_shift;
};

static int reflect_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct reflect_opts *o = ctx;
    char buf[32];

    switch (opt) {
    case OPT_LISTEN:
        o->has_listen = 1;
        if (peerproto_parse_endpoint(arg, &o->listen, "--listen", err) < 0)
            return -1;
        /* STUN here answers for miniupnpd, whose external address is IPv4 */
        if (o->listen.v6)
            return nt_err_set(err, NT_EINVAL, "--listen", "--listen '%s': IPv4 only", arg);
        return 0;
    case OPT_EXT:
        o->has_ext = 1;
        snprintf(buf, sizeof buf, "%s:1", arg);
        return peerproto_parse_endpoint(buf, &o->ext, "--ext", err);
    case OPT_PORT_SHIFT:
        return peercmd_long(arg, 0, 1000, &o->port_shift, "--port-shift", err);
    }
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static int reflect_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"ext", required_argument, NULL, OPT_EXT},
        {"port-shift", required_argument, NULL, OPT_PORT_SHIFT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct reflect_opts o;
    struct nt_err err = {0};
    uint8_t in[1500], out[PORTMAP_STUN_REPLY_LEN];
    long answered = 0;
    int rc, fd;

    memset(&o, 0, sizeof o);
    rc = peercmd_getopt(&cmd_stun_reflect, argc, argv, opts, reflect_opt, &o);
    if (rc < 0 && (!o.has_listen || !o.has_ext))
        rc = peercmd_usage_error(&cmd_stun_reflect, "needs --listen IP:PORT and --ext IP");
    if (rc >= 0)
        return rc;
    peernet_signals_init();
    fd = peernet_udp_bind(&o.listen, &err);
    if (fd < 0) {
        fprintf(stderr, "natrig-peer stun-reflect: %s\n", err.msg);
        return 1;
    }
    printf("stun-reflect listening\n");
    fflush(stdout);
    for (;;) {
        struct peerproto_addr from;
        long n;
        int w = peernet_wait(fd, -1);

        if (w < 0)
            break;
        while ((n = peernet_recv(fd, in, sizeof in, &from)) >= 0) {
            int len =
                portmap_stun_answer(in, (size_t)n > sizeof in ? sizeof in : (size_t)n, o.ext.ip,
                                    (uint16_t)(from.port + o.port_shift), out, sizeof out);
            if (len > 0 && peernet_send(fd, out, (size_t)len, &from, &err) == 0)
                answered++;
        }
    }
    close(fd);
    printf("stun-reflect answered %ld\n", answered);
    return 0;
}

const struct peer_cmd cmd_stun_reflect = {
    "stun-reflect",
    "  --listen IPv4:PORT --ext IPv4 [--port-shift N]\n"
    "  Answer every STUN Binding request with XOR-MAPPED-ADDRESS = EXT:<source port + N>: how\n"
    "  natrig tells a router's miniupnpd the external address to claim. N (default 0) > 0 is a\n"
    "  port-changing (symmetric) NAT upstream: miniupnpd then turns port forwarding off, as\n"
    "  behind a carrier-grade NAT. Until SIGINT/SIGTERM.\n",
    "tell a router's miniupnpd its external address (STUN)",
    reflect_run,
};

/* --- portmap ---------------------------------------------------------------------------- */

enum { OPT_PROTO = 300, OPT_GATEWAY, OPT_PORT, OPT_EXTERNAL, OPT_LIFETIME, OPT_TCP, OPT_TIMEOUT };

struct map_opts {
    int pcp, tcp, has_gw;
    struct peerproto_addr gw;
    uint16_t port, external;
    long lifetime, timeout_ms;
};

static int map_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct map_opts *o = ctx;
    char buf[32];

    switch (opt) {
    case OPT_PROTO:
        if (strcmp(arg, "natpmp") && strcmp(arg, "pcp"))
            return nt_err_set(err, NT_EINVAL, "--proto", "--proto: '%s' (valid: natpmp, pcp)", arg);
        o->pcp = strcmp(arg, "pcp") == 0;
        return 0;
    case OPT_GATEWAY:
        o->has_gw = 1;
        snprintf(buf, sizeof buf, "%s:%d", arg, PORTMAP_PORT);
        return peerproto_parse_endpoint(buf, &o->gw, "--gateway", err);
    case OPT_PORT:
        return peercmd_port(arg, 0, &o->port, "--port", err);
    case OPT_EXTERNAL:
        return peercmd_port(arg, 1, &o->external, "--external", err);
    case OPT_LIFETIME:
        return peercmd_long(arg, 0, 86400, &o->lifetime, "--lifetime", err);
    case OPT_TCP:
        o->tcp = 1;
        return 0;
    case OPT_TIMEOUT:
        return peercmd_long(arg, 100, 120000, &o->timeout_ms, "--timeout", err);
    }
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static int map_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"proto", required_argument, NULL, OPT_PROTO},
        {"gateway", required_argument, NULL, OPT_GATEWAY},
        {"port", required_argument, NULL, OPT_PORT},
        {"external", required_argument, NULL, OPT_EXTERNAL},
        {"lifetime", required_argument, NULL, OPT_LIFETIME},
        {"tcp", no_argument, NULL, OPT_TCP},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct map_opts o;
    struct nt_err err = {0};
    struct peermap_req q;
    struct portmap_answer a;
    const char *name;
    char ip[PEERPROTO_ADDR_STRLEN];
    uint32_t ext_ip = 0;
    int rc;

    memset(&o, 0, sizeof o);
    o.lifetime = 60;
    o.timeout_ms = 4000;
    rc = peercmd_getopt(&cmd_portmap, argc, argv, opts, map_opt, &o);
    if (rc < 0 && !o.port)
        rc = peercmd_usage_error(&cmd_portmap, "missing --port PORT");
    if (rc >= 0)
        return rc;
    name = o.pcp ? "pcp" : "natpmp";
    peernet_signals_init();
    memset(&q, 0, sizeof q);
    q.pcp = o.pcp;
    q.tcp = o.tcp;
    if (o.has_gw)
        q.gw = o.gw;
    q.port = o.port;
    q.external = o.external;
    q.lifetime = (uint32_t)o.lifetime;
    q.timeout_ms = o.timeout_ms;
    rc = peermap_request(&q, &a, &ext_ip, &err);
    if (rc < 0) {
        fprintf(stderr, "natrig-peer portmap: %s\n", err.msg);
        return 1;
    }
    if (rc > 0) {
        printf("portmap %s no answer from %s\n", name, peerproto_addr_format(&q.gw, ip, sizeof ip));
        return 1;
    }
    if (a.result != 0) {
        printf("portmap %s refused %s (%d) epoch %u\n", name, portmap_result_name(o.pcp, a.result),
               a.result, a.epoch);
        return 1;
    }
    {
        struct peerproto_addr e = {.ip = ext_ip, .port = a.eport};
        printf("portmap %s %s %u -> %s lifetime %u epoch %u\n", name, o.tcp ? "tcp" : "udp",
               (unsigned)o.port, peerproto_addr_format(&e, ip, sizeof ip), a.lifetime, a.epoch);
    }
    return 0;
}

const struct peer_cmd cmd_portmap = {
    "portmap",
    "  --port PORT [--proto natpmp|pcp (natpmp)] [--tcp] [--external PORT] [--lifetime S (60;\n"
    "  0 deletes)] [--gateway IPv4 (the default route's)] [--timeout MS (4000)]\n"
    "  Ask the router for a mapping of this host's PORT and print one line:\n"
    "  \"portmap natpmp udp PORT -> EXT_IP:EXT_PORT lifetime S epoch E\" (exit 0), or\n"
    "  \"portmap pcp refused NAME (CODE) epoch E\" / \"portmap natpmp no answer from IP:5351\"\n"
    "  (exit 1).\n",
    "ask the router for a port mapping (NAT-PMP or PCP)",
    map_run,
};
