/* cmd_portmap.c - port mapping in natrig-peer (lua/natrig/portmap.lua runs miniupnpd in
 * routers):
 *  - `natrig-peer portmap`: ask the default gateway (or --gateway) for a mapping by NAT-PMP or
 *    PCP, retrying as RFC 6886 says (250 ms, doubling), and print one line:
 *    "portmap natpmp udp 6000 -> 10.128.0.5:6000 lifetime 60 epoch 12" (exit 0), or
 *    "portmap pcp refused NOT_AUTHORIZED (2)" / "portmap natpmp no answer" (exit 1);
 *  - `natrig-peer stun-reflect`: the STUN answer that tells the router's miniupnpd which
 *    external address to claim (see core/portmap.h for why). It listens on one address (the
 *    router's loopback) and answers every Binding request with XOR-MAPPED-ADDRESS = --ext :
 *    the request's source port. Runs until SIGINT/SIGTERM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/portmap.h"
#include "peer/peercmd.h"
#include "peer/peernet.h"

enum { OPT_LISTEN = 256, OPT_EXT };

struct reflect_opts {
    struct peerproto_addr listen, ext;
    int has_listen, has_ext;
};

static int reflect_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct reflect_opts *o = ctx;
    char buf[32];

    switch (opt) {
    case OPT_LISTEN:
        o->has_listen = 1;
        return peerproto_parse_endpoint(arg, &o->listen, "--listen", err);
    case OPT_EXT:
        o->has_ext = 1;
        snprintf(buf, sizeof buf, "%s:1", arg);
        return peerproto_parse_endpoint(buf, &o->ext, "--ext", err);
    }
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static int reflect_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"ext", required_argument, NULL, OPT_EXT},
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
    fd = peernet_udp_bind(o.listen.ip, o.listen.port, &err);
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
            int len = portmap_stun_answer(in, (size_t)n > sizeof in ? sizeof in : (size_t)n,
                                          o.ext.ip, from.port, out, sizeof out);
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
    "  --listen IPv4:PORT --ext IPv4\n"
    "  Answer every STUN Binding request with XOR-MAPPED-ADDRESS = EXT:<source port>: how\n"
    "  natrig tells a router's miniupnpd the external address to claim. Until SIGINT/SIGTERM.\n",
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

/* The default route's gateway from /proc/net/route (host byte order), or 0. */
static uint32_t default_gateway(void)
{
    FILE *f = fopen("/proc/net/route", "r");
    char line[256], ifname[64];
    unsigned long dst, gw;
    uint32_t out = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %lx %lx", ifname, &dst, &gw) == 3 && dst == 0 && gw != 0) {
            /* little-endian hex of the network-order address */
            out = (uint32_t)((gw & 0xff) << 24 | (gw >> 8 & 0xff) << 16 | (gw >> 16 & 0xff) << 8 |
                             (gw >> 24 & 0xff));
            break;
        }
    }
    fclose(f);
    return out;
}

/* Send req until an answer parse() accepts arrives: 250 ms, doubling, within timeout_ms.
 * Returns 0, or -1 (no answer). */
static int exchange(int fd, const uint8_t *req, size_t len, long timeout_ms,
                    int (*parse)(const uint8_t *, size_t, void *), void *ctx)
{
    int64_t end = peernet_now_us() + (int64_t)timeout_ms * 1000, wait = 250000;
    struct nt_err err = {0};
    uint8_t in[1100];

    while (peernet_now_us() < end) {
        int64_t until = peernet_now_us() + wait;
        if (peernet_send(fd, req, len, NULL, &err) < 0 && errno != ECONNREFUSED)
            return -1;
        if (until > end)
            until = end;
        for (;;) {
            int64_t left = until - peernet_now_us();
            struct peerproto_addr from;
            long n;
            int w;

            if (left <= 0)
                break;
            w = peernet_wait(fd, left);
            if (w < 0)
                return -1;
            if (w == 0)
                break;
            while ((n = peernet_recv(fd, in, sizeof in, &from)) >= 0)
                if (parse(in, (size_t)n > sizeof in ? sizeof in : (size_t)n, ctx) == 0)
                    return 0;
        }
        wait *= 2;
    }
    return -1;
}

struct parse_ctx {
    int map;
    enum portmap_proto proto;
    const uint8_t *nonce;
    struct portmap_answer a;
};

static int parse_natpmp(const uint8_t *in, size_t n, void *ctx)
{
    struct parse_ctx *c = ctx;
    return portmap_natpmp_parse(in, n, c->map, c->proto, &c->a);
}

static int parse_pcp(const uint8_t *in, size_t n, void *ctx)
{
    struct parse_ctx *c = ctx;
    return portmap_pcp_parse(in, n, c->nonce, &c->a);
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
    struct peerproto_addr local = {0, 0};
    struct parse_ctx c;
    uint8_t req[PORTMAP_PCP_MAP_LEN], nonce[12];
    const char *name;
    char ip[PEERPROTO_ADDR_STRLEN];
    uint32_t ext_ip = 0;
    int rc, fd, len, i;

    memset(&o, 0, sizeof o);
    o.lifetime = 60;
    o.timeout_ms = 4000;
    rc = peercmd_getopt(&cmd_portmap, argc, argv, opts, map_opt, &o);
    if (rc < 0 && !o.port)
        rc = peercmd_usage_error(&cmd_portmap, "missing --port PORT");
    if (rc >= 0)
        return rc;
    name = o.pcp ? "pcp" : "natpmp";
    if (!o.has_gw) {
        o.gw.ip = default_gateway();
        o.gw.port = PORTMAP_PORT;
        if (!o.gw.ip) {
            fprintf(stderr, "natrig-peer portmap: no default route (give --gateway IP)\n");
            return 1;
        }
    }
    peernet_signals_init();
    fd = peernet_udp_bind(0, 0, &err);
    if (fd < 0 || peernet_connect(fd, &o.gw, &err) < 0) {
        fprintf(stderr, "natrig-peer portmap: %s\n", err.msg);
        return 1;
    }
    peernet_local_addr(fd, &local);
    memset(&c, 0, sizeof c);
    c.proto = o.tcp ? PORTMAP_TCP : PORTMAP_UDP;
    if (o.pcp) {
        srand((unsigned)(peernet_now_us() ^ getpid()));
        for (i = 0; i < 12; i++)
            nonce[i] = (uint8_t)(rand() & 0xff);
        c.nonce = nonce;
        len = portmap_pcp_map_req(c.proto, local.ip, o.port, o.external ? o.external : o.port,
                                  (uint32_t)o.lifetime, nonce, req, sizeof req);
        rc = exchange(fd, req, (size_t)len, o.timeout_ms, parse_pcp, &c);
        ext_ip = c.a.ext_ip;
    } else {
        len = portmap_natpmp_addr_req(req, sizeof req);
        rc = exchange(fd, req, (size_t)len, o.timeout_ms, parse_natpmp, &c);
        ext_ip = c.a.ext_ip;
        if (rc == 0 && c.a.result == 0) {
            c.map = 1;
            len = portmap_natpmp_map_req(c.proto, o.port, o.external ? o.external : o.port,
                                         (uint32_t)o.lifetime, req, sizeof req);
            rc = exchange(fd, req, (size_t)len, o.timeout_ms, parse_natpmp, &c);
        }
    }
    close(fd);
    if (rc < 0) {
        printf("portmap %s no answer from %s\n", name, peerproto_addr_format(&o.gw, ip, sizeof ip));
        return 1;
    }
    if (c.a.result != 0) {
        printf("portmap %s refused %s (%d) epoch %u\n", name,
               portmap_result_name(o.pcp, c.a.result), c.a.result, c.a.epoch);
        return 1;
    }
    {
        struct peerproto_addr e = {ext_ip, c.a.eport};
        printf("portmap %s %s %u -> %s lifetime %u epoch %u\n", name, o.tcp ? "tcp" : "udp",
               (unsigned)o.port, peerproto_addr_format(&e, ip, sizeof ip), c.a.lifetime, c.a.epoch);
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
