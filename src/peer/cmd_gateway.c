/* cmd_gateway.c - `natrig-peer gateway`: the UDP rendezvous. Records the source endpoint each
 * REGISTER arrives from (or the endpoint a REGISTER_AT names: a peer's port mapping), answers
 * REGISTERED with the source, and introduces peers to each other with PEERS lists. Uses
 * core/peerproto (table, wire format), peernet, peerlog. Each --bind (one per family) is a
 * socket with a table of its own: peers of one family are introduced to each other only (a
 * peer's socket speaks one family, so an endpoint of the other would be of no use to it). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "core/peerproto.h"
#include "peer/peercmd.h"
#include "peer/peerlog.h"
#include "peer/peernet.h"

#define GW_TARGET "natrig_peer::gateway"

enum { OPT_PORT = 256, OPT_BIND, OPT_TTL };

struct gw_opts {
    struct peerproto_addr bind[2]; /* at most one per family */
    int nbind;
    uint16_t port;
    long ttl_s;
};

struct gw {
    int fd;
    struct peerproto_gw table;
    struct peerproto_stats st;
    unsigned long unexpected, send_errors;
};

static int gw_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct gw_opts *o = ctx;

    switch (opt) {
    case OPT_PORT:
        return peercmd_port(arg, 0, &o->port, "--port", err);
    case OPT_BIND:
        if (o->nbind == 2)
            return nt_err_set(err, NT_EINVAL, "--bind",
                              "--bind given more than twice (one IPv4, one IPv6)");
        if (peerproto_parse_host(arg, &o->bind[o->nbind], "--bind", err) < 0)
            return -1;
        if (o->nbind == 1 && o->bind[0].v6 == o->bind[1].v6)
            return nt_err_set(err, NT_EINVAL, "--bind",
                              "two --bind of one family: give one IPv4 and one IPv6 address");
        o->nbind++;
        return 0;
    case OPT_TTL:
        return peercmd_long(arg, 1, 86400, &o->ttl_s, "--ttl", err);
    }
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static void gw_send(struct gw *g, const struct peerproto_msg *m, const struct peerproto_addr *to)
{
    unsigned char out[PEERPROTO_MAX_DGRAM];
    struct nt_err err = {0};
    struct peerlog_line l;
    long n = peerproto_encode(m, out, sizeof out, &err);

    if (n < 0 || peernet_send(g->fd, out, (size_t)n, to, &err) < 0) {
        g->send_errors++;
        peerlog_begin(&l, g->send_errors <= 10 ? PEERLOG_WARN : PEERLOG_DEBUG, GW_TARGET,
                      "send failed");
        peerlog_addr(&l, "to", to);
        peerlog_str(&l, "type", peerproto_type_name((int)m->type));
        peerlog_str(&l, "error", err.msg);
        peerlog_int(&l, "send_errors", (long long)g->send_errors);
        peerlog_end(&l);
    }
}

/* Every other registered peer, paged into as many PEERS datagrams as it takes. */
static void gw_send_peer_list(struct gw *g, const char *name, const struct peerproto_addr *to)
{
    struct peerproto_msg m;
    size_t skip = 0, n, per = peerproto_peers_per_dgram(peerproto_addr_family(to));

    for (;;) {
        memset(&m, 0, sizeof m);
        m.type = PEERPROTO_PEERS;
        n = peerproto_gw_peers(&g->table, name, skip, m.peers, per);
        if (n == 0)
            return;
        m.npeers = n;
        gw_send(g, &m, to);
        skip += n;
        if (n < per)
            return;
    }
}

/* Tell everybody else about a new (or moved) peer. */
static void gw_announce(struct gw *g, const char *name, const struct peerproto_addr *addr)
{
    struct peerproto_msg m;
    struct peerlog_line l;
    size_t i;

    memset(&m, 0, sizeof m);
    m.type = PEERPROTO_PEERS;
    m.npeers = 1;
    snprintf(m.peers[0].name, sizeof m.peers[0].name, "%s", name);
    m.peers[0].addr = *addr;
    for (i = 0; i < g->table.n; i++) {
        if (strcmp(g->table.e[i].name, name) == 0)
            continue;
        gw_send(g, &m, &g->table.e[i].addr);
        peerlog_begin(&l, PEERLOG_DEBUG, GW_TARGET, "introduced");
        peerlog_str(&l, "name", name);
        peerlog_str(&l, "to", g->table.e[i].name);
        peerlog_end(&l);
    }
}

/* REGISTER: the peer is introduced at the source observed (from); REGISTER_AT: at the
 * endpoint it names (a port mapping its router granted). Answers go to from either way. */
static void gw_on_register(struct gw *g, const struct peerproto_msg *m,
                           const struct peerproto_addr *from, int64_t now)
{
    struct peerproto_addr prev;
    struct peerproto_msg reply;
    struct peerlog_line l;
    const struct peerproto_addr *at = m->type == PEERPROTO_REGISTER_AT ? &m->addr : from;
    enum peerproto_gw_result res;

    if (at->v6 != from->v6) {
        /* this table's peers all speak from's family */
        peerlog_begin(&l, PEERLOG_WARN, GW_TARGET, "registration refused");
        peerlog_str(&l, "name", m->name);
        peerlog_addr(&l, "addr", from);
        peerlog_str(&l, "reason", "family");
        peerlog_addr(&l, "at", at);
        peerlog_end(&l);
        return;
    }
    res = peerproto_gw_register(&g->table, m->name, at, now, &prev);
    if (res == PEERPROTO_GW_FULL) {
        peerlog_begin(&l, PEERLOG_WARN, GW_TARGET, "registration refused");
        peerlog_str(&l, "name", m->name);
        peerlog_addr(&l, "addr", from);
        peerlog_str(&l, "reason", "table_full");
        peerlog_int(&l, "max", PEERPROTO_MAX_PEERS);
        peerlog_end(&l);
        return;
    }
    memset(&reply, 0, sizeof reply);
    reply.type = PEERPROTO_REGISTERED;
    reply.seq = m->seq;
    reply.addr = *from;
    gw_send(g, &reply, from);

    if (res == PEERPROTO_GW_REFRESHED) {
        peerlog_begin(&l, PEERLOG_DEBUG, GW_TARGET, "registration refreshed");
        peerlog_str(&l, "name", m->name);
        peerlog_addr(&l, "addr", from);
        peerlog_end(&l);
    } else {
        peerlog_begin(&l, PEERLOG_INFO, GW_TARGET, "peer registered");
        peerlog_str(&l, "name", m->name);
        peerlog_addr(&l, "addr", at);
        if (at != from)
            peerlog_addr(&l, "observed", from);
        if (res == PEERPROTO_GW_MOVED)
            peerlog_addr(&l, "previous", &prev);
        peerlog_int(&l, "peers", (long long)g->table.n);
        peerlog_end(&l);
        gw_announce(g, m->name, at);
    }
    /* the whole list on every (re-)registration: a lost PEERS is repaired by the next keepalive */
    gw_send_peer_list(g, m->name, from);
}

/* n is the datagram's real length, possibly more than the buffer held (cap). */
static void gw_on_datagram(struct gw *g, const unsigned char *buf, size_t n, size_t cap,
                           const struct peerproto_addr *from, int64_t now)
{
    struct peerproto_msg m;
    struct peerlog_line l;
    /* a cut datagram is still longer than PEERPROTO_MAX_DGRAM: it decodes as oversized */
    enum peerproto_bad why = peerproto_decode(buf, n < cap ? n : cap, &m, &g->st);

    if (why != PEERPROTO_OK) {
        peerlog_bad_datagram(GW_TARGET, &g->st, why, from, n);
        return;
    }
    if (m.type != PEERPROTO_REGISTER && m.type != PEERPROTO_REGISTER_AT) {
        g->unexpected++;
        peerlog_begin(&l, PEERLOG_DEBUG, GW_TARGET, "ignored unexpected message");
        peerlog_addr(&l, "from", from);
        peerlog_str(&l, "type", peerproto_type_name((int)m.type));
        peerlog_int(&l, "unexpected", (long long)g->unexpected);
        peerlog_end(&l);
        return;
    }
    gw_on_register(g, &m, from, now);
}

/* Expire peers silent for ttl_s, then read what is waiting (bounded, so expiry still runs
 * under a flood). */
static void gw_serve(struct gw *g, int readable, long ttl_s)
{
    unsigned char buf[PEERPROTO_MAX_DGRAM + 1];
    struct peerproto_gw_entry gone;
    struct peerproto_addr from;
    struct peerlog_line l;
    long n;
    int i;

    while (peerproto_gw_expire(&g->table, peernet_now_us(), ttl_s * 1000000, &gone)) {
        peerlog_begin(&l, PEERLOG_INFO, GW_TARGET, "peer expired");
        peerlog_str(&l, "name", gone.name);
        peerlog_addr(&l, "addr", &gone.addr);
        peerlog_int(&l, "peers", (long long)g->table.n);
        peerlog_end(&l);
    }
    for (i = 0; readable && i < 256; i++) {
        n = peernet_recv(g->fd, buf, sizeof buf, &from);
        if (n < 0)
            break;
        gw_on_datagram(g, buf, (size_t)n, sizeof buf, &from, peernet_now_us());
    }
}

static void gw_free(struct gw **g, int n)
{
    for (int i = 0; i < n; i++) {
        if (g[i] && g[i]->fd >= 0)
            close(g[i]->fd);
        free(g[i]);
    }
}

static int gw_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, OPT_PORT},
        {"bind", required_argument, NULL, OPT_BIND},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct gw_opts o = {.port = PEERPROTO_PORT, .ttl_s = 30};
    struct pollfd pfd[2];
    struct nt_err err = {0};
    struct peerlog_line l;
    struct gw *g[2] = {NULL, NULL};
    unsigned long peers = 0, ok = 0, bad = 0;
    int rc, i, n;

    rc = peercmd_getopt(&cmd_gateway, argc, argv, opts, gw_opt, &o);
    if (rc >= 0)
        return rc;
    n = o.nbind > 0 ? o.nbind : 1; /* none: 0.0.0.0, IPv4 */
    peernet_signals_init();
    for (i = 0; i < n; i++) {
        o.bind[i].port = o.port;
        g[i] = xcalloc(1, sizeof *g[i]);
        peerproto_gw_init(&g[i]->table);
        g[i]->fd = peernet_udp_bind(&o.bind[i], &err);
        if (g[i]->fd < 0) {
            peerlog_begin(&l, PEERLOG_ERROR, GW_TARGET, "cannot listen");
            peerlog_str(&l, "error", err.msg);
            peerlog_end(&l);
            gw_free(g, i + 1);
            return 1;
        }
        peerlog_begin(&l, PEERLOG_INFO, GW_TARGET, "gateway listening");
        peerlog_addr(&l, "addr", &o.bind[i]);
        peerlog_int(&l, "ttl_s", o.ttl_s);
        peerlog_end(&l);
    }
    for (;;) {
        for (i = 0; i < n; i++)
            pfd[i] = (struct pollfd){g[i]->fd, POLLIN, 0};
        rc = peernet_waitv(pfd, (size_t)n, 1000000); /* wake once a second to expire */
        if (rc < 0)
            break;
        for (i = 0; i < n; i++)
            gw_serve(g[i], rc > 0 && pfd[i].revents, o.ttl_s);
    }
    for (i = 0; i < n; i++) {
        peers += g[i]->table.n;
        ok += g[i]->st.ok;
        bad += g[i]->st.bad_total;
    }
    peerlog_begin(&l, PEERLOG_INFO, GW_TARGET, "shutting down");
    peerlog_str(&l, "signal", peernet_signal_name(peernet_stop_signal()));
    peerlog_int(&l, "peers", (long long)peers);
    peerlog_int(&l, "datagrams_ok", (long long)ok);
    peerlog_int(&l, "bad_total", (long long)bad);
    peerlog_end(&l);
    gw_free(g, n);
    return 0;
}

const struct peer_cmd cmd_gateway = {
    "gateway",
    "  [--port PORT (31337)] [--bind IP (0.0.0.0)] [--bind IP] [--ttl SECS (30)] [-v]\n"
    "  UDP rendezvous: answers REGISTER with the observed source endpoint and introduces\n"
    "  registered peers to each other; forgets peers silent for --ttl seconds. --bind twice\n"
    "  (one IPv4, one IPv6, e.g. --bind 0.0.0.0 --bind ::) serves both families, each\n"
    "  with its own peers: a peer is introduced to those of its own family.\n",
    "UDP rendezvous that introduces peers",
    gw_run,
};
