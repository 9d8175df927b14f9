/* peermap.c - natrig-peer's NAT-PMP / PCP client: see peermap.h. */
#include "peer/peermap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer/peernet.h"

/* The default route's gateway from /proc/net/route (host byte order), or 0. */
uint32_t peermap_default_gateway(void)
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

int peermap_request(struct peermap_req *q, struct portmap_answer *a, uint32_t *ext_ip,
                    struct nt_err *err)
{
    struct peerproto_addr local = {0}; /* NAT-PMP and PCP here are IPv4 */
    struct parse_ctx c;
    uint8_t req[PORTMAP_PCP_MAP_LEN], nonce[12];
    uint16_t ext = q->external ? q->external : q->port;
    int rc, fd, len, i;

    if (!q->gw.ip) {
        q->gw.ip = peermap_default_gateway();
        if (!q->gw.ip)
            return nt_err_set(err, NT_EINVAL, "portmap", "no default route (give --gateway IP)");
    }
    if (!q->gw.port)
        q->gw.port = PORTMAP_PORT;
    fd = peernet_udp_bind(&local, err);
    if (fd < 0)
        return -1;
    if (peernet_connect(fd, &q->gw, err) < 0) {
        close(fd);
        return -1;
    }
    peernet_local_addr(fd, &local);
    memset(&c, 0, sizeof c);
    c.proto = q->tcp ? PORTMAP_TCP : PORTMAP_UDP;
    if (q->pcp) {
        srand((unsigned)(peernet_now_us() ^ getpid()));
        for (i = 0; i < 12; i++)
            nonce[i] = (uint8_t)(rand() & 0xff);
        c.nonce = nonce;
        len = portmap_pcp_map_req(c.proto, local.ip, q->port, ext, q->lifetime, nonce, req,
                                  sizeof req);
        rc = exchange(fd, req, (size_t)len, q->timeout_ms, parse_pcp, &c);
        *ext_ip = c.a.ext_ip;
    } else {
        len = portmap_natpmp_addr_req(req, sizeof req);
        rc = exchange(fd, req, (size_t)len, q->timeout_ms, parse_natpmp, &c);
        *ext_ip = c.a.ext_ip;
        if (rc == 0 && c.a.result == 0) {
            c.map = 1;
            len = portmap_natpmp_map_req(c.proto, q->port, ext, q->lifetime, req, sizeof req);
            rc = exchange(fd, req, (size_t)len, q->timeout_ms, parse_natpmp, &c);
        }
    }
    close(fd);
    *a = c.a;
    return rc < 0 ? 1 : 0;
}
