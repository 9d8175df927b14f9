/* peerrun_map.c - `natrig-peer peer --portmap natpmp|pcp`: before registering, ask the router
 * (the default gateway) for a mapping of our UDP port (and TCP port with --tcp) by NAT-PMP or
 * PCP (peermap.c) and register the mapped endpoint (REGISTER_AT), so remotes punch to it. */
#include <stdio.h>
#include <string.h>

#include "core/peerproto.h"
#include "peer/peerlog.h"
#include "peer/peermap.h"
#include "peer/peerrun.h"

#define T_MAP PEERRUN_T_MAP
#define PEER_MAP_LIFETIME 3600 /* one request, never renewed: a test peer lives shorter */

/* One mapping of our port (UDP, or TCP) by NAT-PMP or PCP, logged. Returns 1 with *ext set
 * when granted, else 0. */
static int map_one(struct peer *p, int tcp, struct peerproto_addr *ext)
{
    struct peermap_req q;
    struct portmap_answer a;
    struct nt_err err = {0};
    struct peerlog_line l;
    const char *proto = p->portmap == 2 ? "pcp" : "natpmp";
    uint32_t ext_ip = 0;
    int rc;

    memset(&q, 0, sizeof q);
    q.pcp = p->portmap == 2;
    q.tcp = tcp;
    q.port = p->local.port;
    q.lifetime = PEER_MAP_LIFETIME;
    q.timeout_ms = 4000;
    rc = peermap_request(&q, &a, &ext_ip, &err);
    if (rc == 0 && a.result == 0) {
        ext->ip = ext_ip;
        ext->port = a.eport;
        peerlog_begin(&l, PEERLOG_INFO, T_MAP, "port mapped");
        peerlog_str(&l, "proto", proto);
        peerlog_str(&l, "transport", tcp ? "tcp" : "udp");
        peerlog_int(&l, "port", p->local.port);
        peerlog_addr(&l, "external", ext);
        peerlog_int(&l, "lifetime", a.lifetime);
        peerlog_end(&l);
        return 1;
    }
    peerlog_begin(&l, PEERLOG_WARN, T_MAP, "port mapping failed");
    peerlog_str(&l, "proto", proto);
    peerlog_str(&l, "transport", tcp ? "tcp" : "udp");
    peerlog_int(&l, "port", p->local.port);
    if (rc < 0) {
        peerlog_str(&l, "error", err.msg);
    } else if (rc > 0) {
        peerlog_str(&l, "reason", "no_answer");
        peerlog_addr(&l, "gateway", &q.gw);
    } else {
        peerlog_str(&l, "reason", portmap_result_name(q.pcp, a.result));
        peerlog_int(&l, "result", a.result);
    }
    peerlog_end(&l);
    return 0;
}

/* --portmap: ask the default gateway (the router) to map our UDP port (and, with --tcp, our
 * TCP port: the remote connects to the registered endpoint), by NAT-PMP or PCP, and register
 * the UDP mapping. A refusal or silence is logged and the peer goes on unmapped, as a P2P
 * program falls back to punching. */
void peerrun_portmap(struct peer *p)
{
    struct peerproto_addr udp = {0}, tcp = {0};
    struct peerlog_line l;

    if (!map_one(p, 0, &udp))
        return;
    p->has_mapped = 1;
    p->mapped = udp;
    if (p->tcp && map_one(p, 1, &tcp) && !peerproto_addr_eq(&tcp, &udp)) {
        /* the remote connects to the registered (UDP) endpoint: say when TCP's differs */
        peerlog_begin(&l, PEERLOG_WARN, T_MAP, "tcp mapping differs from the udp one");
        peerlog_addr(&l, "udp", &udp);
        peerlog_addr(&l, "tcp", &tcp);
        peerlog_end(&l);
    }
}
