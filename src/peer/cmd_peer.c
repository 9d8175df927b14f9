/* cmd_peer.c - `natrig-peer peer`: registers with the gateway (retrying until answered, then
 * as a keepalive), punches a hole to every remote the gateway introduces (PUNCH every
 * --punch-interval from both sides until a PUNCH or PUNCH_ACK arrives), then exchanges
 * PING/PONG and logs the RTTs. Runs until SIGINT/SIGTERM (or --exit-when-done), answering
 * punches and pings. The per-remote logic is core/peerproto's state machine; this file
 * does the I/O and the logging. With --portmap it first asks its router for a mapping and
 * registers the mapped endpoint (REGISTER_AT), so remotes punch to it. With --tcp the punch is a
 * TCP simultaneous open instead (peertcp.c): every punch interval, while no connection to the
 * remote is up or under way, a connect() from the registered port to the remote's public endpoint
 * (a listener on the same port takes a SYN that arrives first); the remote counts as punched when
 * its HELLO line arrives on a connection, and the pings go over that connection. The rendezvous
 * stays UDP: the remote's public endpoint is the one the gateway saw its UDP from, which is its TCP
 * one where the NAT preserves ports (every natrig preset with EIM does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "core/peerproto.h"
#include "peer/peercmd.h"
#include "peer/peerlog.h"
#include "peer/peermap.h"
#include "peer/peernet.h"
#include "peer/peertcp.h"

#define T_PEER "natrig_peer::peer"
#define T_PUNCH "natrig_peer::punch"
#define T_PING "natrig_peer::ping"
#define T_MAP "natrig_peer::portmap"
#define PEER_MAP_LIFETIME 3600 /* one request, never renewed: a test peer lives shorter */

#define PEER_REGISTER_RETRY_US 500000 /* until the gateway first answers */
#define PEER_MAX_EXPECT 64

enum {
    OPT_GATEWAY = 256,
    OPT_NAME,
    OPT_PORT,
    OPT_BIND,
    OPT_PUNCH_TIMEOUT,
    OPT_INTRO_TIMEOUT,
    OPT_PUNCH_INTERVAL,
    OPT_PUNCH_DELAY,
    OPT_PINGS,
    OPT_PING_INTERVAL,
    OPT_KEEPALIVE,
    OPT_EXPECT,
    OPT_EXIT_WHEN_DONE,
    OPT_TCP,
    OPT_PORTMAP,
};

struct peer {
    /* options */
    struct peerproto_addr gateway, local;
    int has_gateway;
    char name[PEERPROTO_NAME_MAX + 1];
    struct peerproto_timing t;
    int64_t keepalive_us;
    char expect[PEER_MAX_EXPECT][PEERPROTO_NAME_MAX + 1];
    int nexpect;
    int exit_when_done;
    int tcp;     /* --tcp: punch by TCP simultaneous open */
    int portmap; /* 0 off, 1 NAT-PMP, 2 PCP */
    /* state */
    struct peertcp t_tcp;
    int fd;
    struct peerproto_table tb;
    struct peerproto_stats st;
    unsigned long unexpected, send_errors;
    int registered;
    struct peerproto_addr public_addr;
    uint32_t reg_seq;
    unsigned reg_unanswered;
    int64_t next_register_us;
    int expect_reported, expect_failed;
    int has_mapped;
    struct peerproto_addr
        mapped; /* the router's mapping of our port: registered with REGISTER_AT */
};

static int peer_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct peer *p = ctx;
    long v;

    switch (opt) {
    case OPT_GATEWAY:
        p->has_gateway = 1;
        return peerproto_parse_endpoint(arg, &p->gateway, "--gateway", err);
    case OPT_NAME:
        if (!peerproto_name_valid(arg))
            return nt_err_set(err, NT_EINVAL, "--name",
                              "invalid --name '%s': 1..%d of [A-Za-z0-9._-]", arg,
                              PEERPROTO_NAME_MAX);
        snprintf(p->name, sizeof p->name, "%s", arg);
        return 0;
    case OPT_PORT:
        return peercmd_port(arg, 1, &p->local.port, "--port", err);
    case OPT_BIND:
        return peerproto_parse_ip(arg, &p->local.ip, "--bind", err);
    case OPT_PUNCH_TIMEOUT:
        if (peercmd_long(arg, 1, 86400, &v, "--punch-timeout", err) < 0)
            return -1;
        p->t.punch_timeout_us = (int64_t)v * 1000000;
        return 0;
    case OPT_INTRO_TIMEOUT:
        if (peercmd_long(arg, 1, 86400, &v, "--intro-timeout", err) < 0)
            return -1;
        p->t.intro_timeout_us = (int64_t)v * 1000000;
        return 0;
    case OPT_PUNCH_INTERVAL:
        if (peercmd_long(arg, 1, 60000, &v, "--punch-interval", err) < 0)
            return -1;
        p->t.punch_interval_us = (int64_t)v * 1000;
        return 0;
    case OPT_PUNCH_DELAY:
        if (peercmd_long(arg, 0, 600000, &v, "--punch-delay", err) < 0)
            return -1;
        p->t.punch_delay_us = (int64_t)v * 1000;
        return 0;
    case OPT_PINGS:
        if (peercmd_long(arg, 0, PEERPROTO_MAX_PINGS, &v, "--pings", err) < 0)
            return -1;
        p->t.pings = (unsigned)v;
        return 0;
    case OPT_PING_INTERVAL:
        if (peercmd_long(arg, 1, 600000, &v, "--ping-interval", err) < 0)
            return -1;
        p->t.ping_interval_us = (int64_t)v * 1000;
        return 0;
    case OPT_KEEPALIVE:
        if (peercmd_long(arg, 1, 3600, &v, "--keepalive", err) < 0)
            return -1;
        p->keepalive_us = (int64_t)v * 1000000;
        return 0;
    case OPT_EXPECT:
        v = peerproto_parse_names(arg, p->expect, PEER_MAX_EXPECT, "--expect", err);
        if (v < 0)
            return -1;
        p->nexpect = (int)v;
        return 0;
    case OPT_EXIT_WHEN_DONE:
        p->exit_when_done = 1;
        return 0;
    case OPT_TCP:
        p->tcp = 1;
        return 0;
    case OPT_PORTMAP:
        if (strcmp(arg, "natpmp") && strcmp(arg, "pcp"))
            return nt_err_set(err, NT_EINVAL, "--portmap", "--portmap: '%s' (valid: natpmp, pcp)",
                              arg);
        p->portmap = strcmp(arg, "pcp") == 0 ? 2 : 1;
        return 0;
    }
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static int is_expected(const struct peer *p, const char *name)
{
    int i;

    for (i = 0; i < p->nexpect; i++)
        if (strcmp(p->expect[i], name) == 0)
            return 1;
    return 0;
}

static void peer_send(struct peer *p, const struct peerproto_msg *m,
                      const struct peerproto_addr *to)
{
    unsigned char out[PEERPROTO_MAX_DGRAM];
    struct nt_err err = {0};
    struct peerlog_line l;
    long n = peerproto_encode(m, out, sizeof out, &err);

    if (n >= 0 && peernet_send(p->fd, out, (size_t)n, to, &err) == 0)
        return;
    /* a NAT test may well make sends fail (EPERM from a DROP rule): say so, never quit */
    p->send_errors++;
    peerlog_begin(&l, p->send_errors <= 10 ? PEERLOG_WARN : PEERLOG_DEBUG, T_PEER, "send failed");
    peerlog_addr(&l, "to", to);
    peerlog_str(&l, "type", peerproto_type_name((int)m->type));
    peerlog_str(&l, "error", err.msg);
    peerlog_int(&l, "send_errors", (long long)p->send_errors);
    peerlog_end(&l);
}

static void send_named(struct peer *p, enum peerproto_type type, uint32_t seq, const char *to_name,
                       uint64_t ts, const struct peerproto_addr *to)
{
    struct peerproto_msg m;

    memset(&m, 0, sizeof m);
    m.type = type;
    m.seq = seq;
    snprintf(m.name, sizeof m.name, "%s", p->name);
    if (to_name)
        snprintf(m.to, sizeof m.to, "%s", to_name);
    m.ts = ts;
    peer_send(p, &m, to);
}

static void send_register(struct peer *p, int64_t now)
{
    struct peerproto_msg m;
    struct peerlog_line l;

    memset(&m, 0, sizeof m);
    /* with a port mapping: introduce me at the mapped endpoint, not the observed source */
    m.type = p->has_mapped ? PEERPROTO_REGISTER_AT : PEERPROTO_REGISTER;
    m.addr = p->mapped;
    m.seq = ++p->reg_seq;
    snprintf(m.name, sizeof m.name, "%s", p->name);
    peer_send(p, &m, &p->gateway);
    p->reg_unanswered++;
    p->next_register_us = now + (p->registered ? p->keepalive_us : PEER_REGISTER_RETRY_US);
    /* every 10th unanswered try before the first answer, every 3rd keepalive after it */
    if (p->reg_unanswered % (p->registered ? 3u : 10u) == 0 && p->reg_unanswered > 1) {
        peerlog_begin(&l, PEERLOG_WARN, T_PEER, "gateway not answering");
        peerlog_addr(&l, "gateway", &p->gateway);
        peerlog_int(&l, "attempts", (long long)p->reg_unanswered);
        peerlog_end(&l);
    }
}

static void log_punch_failed(const struct peerproto_remote *r, const char *reason)
{
    struct peerlog_line l;

    peerlog_begin(&l, PEERLOG_WARN, T_PUNCH, "hole punch failed");
    peerlog_str(&l, "remote", r->name);
    peerlog_int(&l, "attempts", (long long)r->attempts);
    peerlog_str(&l, "reason", reason);
    if (r->has_public)
        peerlog_addr(&l, "public_addr", &r->public_addr);
    peerlog_end(&l);
}

static void log_pings_done(const struct peerproto_remote *r, unsigned pings)
{
    struct peerlog_line l;

    peerlog_begin(&l, r->pongs == pings ? PEERLOG_INFO : PEERLOG_WARN, T_PING, "pings done");
    peerlog_str(&l, "remote", r->name);
    peerlog_addr(&l, "addr", &r->actual_addr);
    peerlog_int(&l, "sent", (long long)pings);
    peerlog_int(&l, "received", (long long)r->pongs);
    if (r->pongs > 0) {
        peerlog_fmt(&l, "rtt_min_ms", "%.3f", (double)r->rtt_min_us / 1000.0);
        peerlog_fmt(&l, "rtt_avg_ms", "%.3f", (double)r->rtt_sum_us / 1000.0 / r->pongs);
        peerlog_fmt(&l, "rtt_max_ms", "%.3f", (double)r->rtt_max_us / 1000.0);
    }
    peerlog_end(&l);
}

static void on_pong(struct peer *p, const struct peerproto_msg *m,
                    const struct peerproto_addr *from, int64_t now);

/* --tcp: a PUNCH is a connect() (while none to r is up or under way), a PING a line on the
 * connection. Returns 1 when it handled the action. */
static int tcp_action(struct peer *p, struct peerproto_remote *r, const struct peerproto_action *a,
                      int64_t now)
{
    int idx = (int)(r - p->tb.r), i = peertcp_find(&p->t_tcp, idx, 0);
    char line[96];
    struct peerlog_line l;

    if (a->kind == PEERPROTO_ACT_PUNCH) {
        if (i < 0 && peertcp_connect(&p->t_tcp, &a->to, idx) >= 0) {
            peerlog_begin(&l, PEERLOG_DEBUG, T_PUNCH, "tcp connect started");
            peerlog_str(&l, "remote", r->name);
            peerlog_addr(&l, "to", &a->to);
            peerlog_int(&l, "attempt", (long long)a->seq);
            peerlog_end(&l);
        }
        return 1;
    }
    if (a->kind == PEERPROTO_ACT_PING || a->kind == PEERPROTO_ACT_KEEPALIVE) {
        snprintf(line, sizeof line, "PING %lu %lld", (unsigned long)a->seq, (long long)now);
        i = peertcp_find(&p->t_tcp, idx, 1);
        if (i >= 0)
            peertcp_send(&p->t_tcp, i, line);
        return 1;
    }
    return 0;
}

static void tcp_connected(void *ctx, struct peertcp *t, int i, int err)
{
    struct peer *p = ctx;
    struct peerlog_line l;
    char line[64];

    if (err) {
        peerlog_begin(&l, PEERLOG_DEBUG, T_PUNCH, "tcp connect failed");
        peerlog_str(&l, "remote", p->tb.r[t->c[i].remote].name);
        peerlog_addr(&l, "to", &t->c[i].addr);
        peerlog_str(&l, "error", strerror(err));
        peerlog_end(&l);
        return;
    }
    snprintf(line, sizeof line, "HELLO %s", p->name);
    peertcp_send(t, i, line);
}

static void tcp_accepted(void *ctx, struct peertcp *t, int i)
{
    struct peer *p = ctx;
    char line[64];

    snprintf(line, sizeof line, "HELLO %s", p->name);
    peertcp_send(t, i, line);
}

static void tcp_hello(struct peer *p, struct peertcp *t, int i, const char *name, int64_t now)
{
    struct peerproto_remote *r = NULL;
    struct peerlog_line l;

    if (p->nexpect == 0 || is_expected(p, name))
        r = peerproto_table_get(&p->tb, name);
    if (!r) {
        peertcp_close(t, i);
        return;
    }
    /* the first connection to say HELLO carries the pings; a second one (both connect()s
     * and the listener can each win) is closed */
    if (peertcp_find(t, (int)(r - p->tb.r), 1) >= 0) {
        peertcp_close(t, i);
        return;
    }
    t->c[i].remote = (int)(r - p->tb.r);
    t->c[i].hello = 1;
    if (peerproto_remote_on_punch(r, &t->c[i].addr, now, &p->t) == PEERPROTO_EV_PUNCHED) {
        peerlog_begin(&l, PEERLOG_INFO, T_PUNCH, "hole punched");
        peerlog_str(&l, "remote", r->name);
        peerlog_addr(&l, "addr", &t->c[i].addr);
        peerlog_int(&l, "attempts", (long long)r->attempts);
        peerlog_str(&l, "via", "tcp");
        if (r->has_public)
            peerlog_addr(&l, "public_addr", &r->public_addr);
        peerlog_end(&l);
    }
}

static void tcp_line(void *ctx, struct peertcp *t, int i, const char *line)
{
    struct peer *p = ctx;
    int64_t now = peernet_now_us();
    unsigned long seq;
    long long ts;
    char name[PEERPROTO_NAME_MAX + 2], out[96];

    /* 32: PEERPROTO_NAME_MAX */
    if (sscanf(line, "HELLO %32s", name) == 1 && peerproto_name_valid(name)) {
        tcp_hello(p, t, i, name, now);
    } else if (t->c[i].remote >= 0 && sscanf(line, "PING %lu %lld", &seq, &ts) == 2) {
        snprintf(out, sizeof out, "PONG %lu %lld", seq, ts);
        peertcp_send(t, i, out);
    } else if (t->c[i].remote >= 0 && sscanf(line, "PONG %lu %lld", &seq, &ts) == 2) {
        struct peerproto_msg m;

        memset(&m, 0, sizeof m);
        snprintf(m.name, sizeof m.name, "%s", p->tb.r[t->c[i].remote].name);
        m.seq = (uint32_t)seq;
        m.ts = (uint64_t)ts;
        on_pong(p, &m, &t->c[i].addr, now);
    }
}

static void tcp_closed(void *ctx, struct peertcp *t, int i)
{
    struct peer *p = ctx;
    struct peerlog_line l;

    if (t->c[i].remote < 0)
        return;
    peerlog_begin(&l, PEERLOG_DEBUG, T_PUNCH, "tcp connection closed");
    peerlog_str(&l, "remote", p->tb.r[t->c[i].remote].name);
    peerlog_addr(&l, "addr", &t->c[i].addr);
    peerlog_end(&l);
}

static void do_action(struct peer *p, struct peerproto_remote *r, const struct peerproto_action *a,
                      int64_t now)
{
    struct peerlog_line l;

    if (p->tcp && tcp_action(p, r, a, now))
        return;
    switch (a->kind) {
    case PEERPROTO_ACT_PUNCH:
        send_named(p, PEERPROTO_PUNCH, a->seq, r->name, 0, &a->to);
        peerlog_begin(&l, PEERLOG_DEBUG, T_PUNCH, "punch sent");
        peerlog_str(&l, "remote", r->name);
        peerlog_addr(&l, "to", &a->to);
        peerlog_int(&l, "attempt", (long long)a->seq);
        peerlog_end(&l);
        break;
    case PEERPROTO_ACT_PUNCH_FAILED:
        log_punch_failed(r, a->reason);
        break;
    case PEERPROTO_ACT_PING:
    case PEERPROTO_ACT_KEEPALIVE:
        send_named(p, PEERPROTO_PING, a->seq, NULL, (uint64_t)now, &a->to);
        break;
    case PEERPROTO_ACT_PINGS_DONE:
        log_pings_done(r, p->t.pings);
        break;
    case PEERPROTO_ACT_PATH_LOST:
        peerlog_begin(&l, PEERLOG_WARN, T_PING, "direct path lost");
        peerlog_str(&l, "remote", r->name);
        peerlog_addr(&l, "addr", &a->to);
        peerlog_fmt(&l, "keepalive_s", "%.1f", (double)p->keepalive_us / 1e6);
        peerlog_str(&l, "why", "keepalive unanswered");
        peerlog_end(&l);
        break;
    case PEERPROTO_ACT_NONE:
        break;
    }
}

static void on_registered(struct peer *p, const struct peerproto_msg *m, int64_t now)
{
    struct peerproto_remote *r;
    struct peerlog_line l;
    int i;

    p->reg_unanswered = 0;
    if (!p->registered) {
        p->registered = 1;
        p->public_addr = m->addr;
        p->next_register_us = now + p->keepalive_us;
        peerlog_begin(&l, PEERLOG_INFO, T_PEER, "registered with gateway");
        peerlog_str(&l, "name", p->name);
        peerlog_addr(&l, "public_addr", &m->addr);
        peerlog_addr(&l, "gateway", &p->gateway);
        peerlog_end(&l);
        /* an expected remote's introduction deadline runs from here */
        for (i = 0; i < p->nexpect; i++) {
            r = peerproto_table_get(&p->tb, p->expect[i]);
            if (r)
                peerproto_remote_expect(r, now, &p->t);
        }
    } else if (!peerproto_addr_eq(&p->public_addr, &m->addr)) {
        peerlog_begin(&l, PEERLOG_INFO, T_PEER, "public address changed");
        peerlog_addr(&l, "public_addr", &m->addr);
        peerlog_addr(&l, "previous", &p->public_addr);
        peerlog_end(&l);
        p->public_addr = m->addr;
    }
}

static void on_peers(struct peer *p, const struct peerproto_msg *m, int64_t now)
{
    struct peerproto_remote *r;
    struct peerlog_line l;
    size_t i;

    for (i = 0; i < m->npeers; i++) {
        const struct peerproto_peer *e = &m->peers[i];

        if (strcmp(e->name, p->name) == 0)
            continue;
        if (p->nexpect > 0 && !is_expected(p, e->name)) {
            peerlog_begin(&l, PEERLOG_DEBUG, T_PEER, "not punching peer outside --expect");
            peerlog_str(&l, "remote", e->name);
            peerlog_end(&l);
            continue;
        }
        r = peerproto_table_get(&p->tb, e->name);
        if (!r) {
            peerlog_begin(&l, PEERLOG_WARN, T_PEER, "peer table full");
            peerlog_str(&l, "remote", e->name);
            peerlog_int(&l, "max", PEERPROTO_MAX_PEERS);
            peerlog_end(&l);
            continue;
        }
        if (peerproto_remote_introduce(r, &e->addr, now, &p->t)) {
            peerlog_begin(&l, PEERLOG_INFO, T_PUNCH, "hole punch started");
            peerlog_str(&l, "remote", r->name);
            peerlog_addr(&l, "addr", &e->addr);
            peerlog_end(&l);
        }
    }
}

static void on_punch(struct peer *p, const struct peerproto_msg *m,
                     const struct peerproto_addr *from, int64_t now)
{
    struct peerproto_remote *r;
    struct peerlog_line l;
    struct peerproto_addr prev;

    if (strcmp(m->to, p->name) != 0) {
        /* a stale mapping can hand us another peer's traffic: not ours to answer */
        p->unexpected++;
        peerlog_begin(&l, PEERLOG_DEBUG, T_PUNCH, "ignored misdirected punch");
        peerlog_str(&l, "remote", m->name);
        peerlog_str(&l, "to", m->to);
        peerlog_addr(&l, "from", from);
        peerlog_end(&l);
        return;
    }
    /* always answer a PUNCH where it came from: for a remote behind a symmetric NAT that
     * is the only way through */
    if (m->type == PEERPROTO_PUNCH)
        send_named(p, PEERPROTO_PUNCH_ACK, m->seq, m->name, 0, from);
    if (p->nexpect > 0 && !is_expected(p, m->name))
        return;
    r = peerproto_table_get(&p->tb, m->name);
    if (!r)
        return;
    prev = r->actual_addr;
    switch (peerproto_remote_on_punch(r, from, now, &p->t)) {
    case PEERPROTO_EV_PUNCHED:
        /* one keepalive clock: the gateway's refresh goes out with the peers' keepalives, so
         * the gap a NAT sees between two packets of this socket is the keepalive, not
         * whatever offset the punch happened to have (two interleaved timers would keep a
         * mapping alive that either alone lets expire) */
        if (p->registered)
            p->next_register_us = now + p->keepalive_us;
        peerlog_begin(&l, PEERLOG_INFO, T_PUNCH, "hole punched");
        peerlog_str(&l, "remote", r->name);
        peerlog_addr(&l, "addr", from);
        peerlog_int(&l, "attempts", (long long)r->attempts);
        peerlog_str(&l, "via", peerproto_type_name((int)m->type));
        if (r->has_public)
            peerlog_addr(&l, "public_addr", &r->public_addr);
        peerlog_end(&l);
        break;
    case PEERPROTO_EV_ADDR_MOVED:
        peerlog_begin(&l, PEERLOG_INFO, T_PUNCH, "remote address changed");
        peerlog_str(&l, "remote", r->name);
        peerlog_addr(&l, "addr", from);
        peerlog_addr(&l, "previous", &prev);
        peerlog_end(&l);
        break;
    case PEERPROTO_EV_NONE:
        break;
    }
}

static void on_pong(struct peer *p, const struct peerproto_msg *m,
                    const struct peerproto_addr *from, int64_t now)
{
    struct peerproto_remote *r = peerproto_table_find(&p->tb, m->name);
    int64_t rtt = now - (int64_t)m->ts;
    struct peerlog_line l;
    int res;

    if (!r)
        return;
    res = peerproto_remote_on_pong(r, m->seq, rtt);
    if (res == 0)
        return;
    peerlog_begin(&l, res == 2 ? PEERLOG_DEBUG : PEERLOG_INFO, T_PING,
                  res == 1   ? "rtt"
                  : res == 3 ? "direct path restored"
                             : "keepalive rtt");
    peerlog_str(&l, "remote", r->name);
    peerlog_addr(&l, "addr", from);
    if (res == 1)
        peerlog_int(&l, "seq", (long long)m->seq);
    peerlog_fmt(&l, "rtt_ms", "%.3f", (double)rtt / 1000.0);
    peerlog_end(&l);
}

static void on_datagram(struct peer *p, const unsigned char *buf, size_t n, size_t cap,
                        const struct peerproto_addr *from, int64_t now)
{
    struct peerproto_msg m;
    struct peerlog_line l;
    int from_gateway = peerproto_addr_eq(from, &p->gateway);
    enum peerproto_bad why = peerproto_decode(buf, n < cap ? n : cap, &m, &p->st);

    if (why != PEERPROTO_OK) {
        peerlog_bad_datagram("natrig_peer::proto", &p->st, why, from, n);
        return;
    }
    switch (m.type) {
    case PEERPROTO_REGISTERED:
        if (!from_gateway)
            break;
        on_registered(p, &m, now);
        return;
    case PEERPROTO_PEERS:
        if (!from_gateway)
            break;
        on_peers(p, &m, now);
        return;
    case PEERPROTO_PUNCH:
    case PEERPROTO_PUNCH_ACK:
        if (!p->tcp) /* --tcp: only a TCP connection counts */
            on_punch(p, &m, from, now);
        return;
    case PEERPROTO_PING:
        /* anyone who can reach us gets an answer: that is what a test peer is for */
        send_named(p, PEERPROTO_PONG, m.seq, NULL, m.ts, from);
        return;
    case PEERPROTO_PONG:
        on_pong(p, &m, from, now);
        return;
    case PEERPROTO_REGISTER:
    case PEERPROTO_REGISTER_AT:
        break;
    }
    p->unexpected++;
    peerlog_begin(&l, PEERLOG_DEBUG, T_PEER, "ignored unexpected message");
    peerlog_addr(&l, "from", from);
    peerlog_str(&l, "type", peerproto_type_name((int)m.type));
    peerlog_int(&l, "unexpected", (long long)p->unexpected);
    peerlog_end(&l);
}

/* Append name to a comma list in buf. */
static void list_add(char *buf, size_t cap, const char *name)
{
    size_t len = strlen(buf);

    snprintf(buf + len, cap - len, "%s%s", len ? "," : "", name);
}

/* Once every expected remote is connected or failed, say so in one line scenarios can wait
 * on. Returns 1 when --exit-when-done may exit now (settled, and pings of connected remotes
 * reported). */
static int check_expected(struct peer *p)
{
    char ok[PEER_MAX_EXPECT * (PEERPROTO_NAME_MAX + 1) + 1] = "";
    char bad[sizeof ok] = "";
    struct peerproto_remote *r;
    struct peerlog_line l;
    int i, pinging = 0;

    if (p->nexpect == 0 || !p->registered)
        return 0;
    for (i = 0; i < p->nexpect; i++) {
        r = peerproto_table_find(&p->tb, p->expect[i]);
        if (!r)
            return 0;
        if (r->state == PEERPROTO_ST_CONNECTED) {
            list_add(ok, sizeof ok, r->name);
            if (p->t.pings > 0 && !r->pings_reported)
                pinging = 1;
        } else if (r->state == PEERPROTO_ST_FAILED) {
            list_add(bad, sizeof bad, r->name);
        } else {
            return 0;
        }
    }
    if (!p->expect_reported) {
        p->expect_reported = 1;
        p->expect_failed = bad[0] != '\0';
        if (!p->expect_failed) {
            peerlog_begin(&l, PEERLOG_INFO, T_PEER, "all expected peers connected");
            peerlog_str(&l, "peers", ok);
        } else {
            peerlog_begin(&l, PEERLOG_WARN, T_PEER, "expected peers missing");
            peerlog_str(&l, "connected", ok);
            peerlog_str(&l, "failed", bad);
        }
        peerlog_end(&l);
    }
    return !pinging;
}

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
static void peer_portmap(struct peer *p)
{
    struct peerproto_addr udp = {0, 0}, tcp = {0, 0};
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

static int peer_loop(struct peer *p)
{
    unsigned char buf[PEERPROTO_MAX_DGRAM + 1];
    struct peerproto_action act;
    struct peerproto_addr from;
    int64_t now, wake, w;
    size_t i, pn;
    int rc, k;
    long n;
    struct pollfd pfd[PEERTCP_MAX + 2];
    const struct peertcp_cb tcp_cb = {p, tcp_connected, tcp_accepted, tcp_line, tcp_closed};

    p->next_register_us = peernet_now_us();
    for (;;) {
        now = peernet_now_us();
        if (now >= p->next_register_us)
            send_register(p, now);
        wake = p->next_register_us;
        for (i = 0; i < p->tb.n; i++) {
            while (peerproto_remote_next(&p->tb.r[i], now, &p->t, &act))
                do_action(p, &p->tb.r[i], &act, now);
            w = peerproto_remote_wakeup(&p->tb.r[i], &p->t);
            if (w < wake)
                wake = w;
        }
        if (check_expected(p) && p->exit_when_done)
            return p->expect_failed ? 1 : 0;
        pn = 1;
        pfd[0] = (struct pollfd){p->fd, POLLIN, 0};
        if (p->tcp)
            pn += peertcp_pollfds(&p->t_tcp, pfd + 1, PEERTCP_MAX + 1);
        rc = peernet_waitv(pfd, pn, wake > now ? wake - now : 0);
        if (rc < 0)
            return 0;
        if (p->tcp && rc > 0)
            peertcp_handle(&p->t_tcp, pfd + 1, pn - 1, &tcp_cb);
        for (k = 0; rc > 0 && pfd[0].revents && k < 256; k++) {
            n = peernet_recv(p->fd, buf, sizeof buf, &from);
            if (n < 0)
                break;
            on_datagram(p, buf, (size_t)n, sizeof buf, &from, peernet_now_us());
        }
    }
}

static int peer_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, OPT_GATEWAY},
        {"name", required_argument, NULL, OPT_NAME},
        {"port", required_argument, NULL, OPT_PORT},
        {"bind", required_argument, NULL, OPT_BIND},
        {"punch-timeout", required_argument, NULL, OPT_PUNCH_TIMEOUT},
        {"intro-timeout", required_argument, NULL, OPT_INTRO_TIMEOUT},
        {"punch-interval", required_argument, NULL, OPT_PUNCH_INTERVAL},
        {"punch-delay", required_argument, NULL, OPT_PUNCH_DELAY},
        {"pings", required_argument, NULL, OPT_PINGS},
        {"ping-interval", required_argument, NULL, OPT_PING_INTERVAL},
        {"keepalive", required_argument, NULL, OPT_KEEPALIVE},
        {"expect", required_argument, NULL, OPT_EXPECT},
        {"exit-when-done", no_argument, NULL, OPT_EXIT_WHEN_DONE},
        {"tcp", no_argument, NULL, OPT_TCP},
        {"portmap", required_argument, NULL, OPT_PORTMAP},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct peerlog_line l;
    struct nt_err err = {0};
    struct peer *p = xcalloc(1, sizeof *p);
    int rc;

    p->local.port = PEERPROTO_PORT;
    p->t.punch_interval_us = 100000;
    p->t.punch_timeout_us = 20 * 1000000LL;
    p->t.intro_timeout_us = 60 * 1000000LL;
    p->t.pings = 5;
    p->t.ping_interval_us = 200000;
    p->t.ping_wait_us = 2000000;
    p->keepalive_us = 5 * 1000000LL;
    rc = peercmd_getopt(&cmd_peer, argc, argv, opts, peer_opt, p);
    if (rc < 0 && !p->has_gateway)
        rc = peercmd_usage_error(&cmd_peer, "missing --gateway IP:PORT");
    if (rc < 0 && !p->name[0])
        rc = peercmd_usage_error(&cmd_peer, "missing --name NAME");
    if (rc < 0 && p->exit_when_done && p->nexpect == 0)
        rc = peercmd_usage_error(&cmd_peer, "--exit-when-done needs --expect");
    if (rc < 0 && p->nexpect > 0 && is_expected(p, p->name))
        rc = peercmd_usage_error(&cmd_peer, "--expect names this peer itself ('%s')", p->name);
    if (rc >= 0) {
        free(p);
        return rc;
    }
    p->t.keepalive_us = p->keepalive_us;
    peernet_signals_init();
    p->t_tcp.lfd = -1;
    p->fd = peernet_udp_bind(p->local.ip, p->local.port, &err);
    if (p->fd >= 0 && p->tcp && peertcp_listen(&p->t_tcp, &p->local, &err) < 0) {
        close(p->fd);
        p->fd = -1;
    }
    if (p->fd < 0) {
        peerlog_begin(&l, PEERLOG_ERROR, T_PEER, "cannot listen");
        peerlog_str(&l, "error", err.msg);
        peerlog_end(&l);
        free(p);
        return 1;
    }
    peerlog_begin(&l, PEERLOG_INFO, T_PEER, "peer listening");
    peerlog_str(&l, "name", p->name);
    peerlog_addr(&l, "addr", &p->local);
    peerlog_addr(&l, "gateway", &p->gateway);
    peerlog_str(&l, "punch", p->tcp ? "tcp" : "udp");
    peerlog_end(&l);
    if (p->portmap)
        peer_portmap(p);
    rc = peer_loop(p);
    peerlog_begin(&l, PEERLOG_INFO, T_PEER, "shutting down");
    if (peernet_stop_signal())
        peerlog_str(&l, "signal", peernet_signal_name(peernet_stop_signal()));
    else
        peerlog_str(&l, "reason", "done");
    peerlog_int(&l, "status", rc);
    peerlog_int(&l, "datagrams_ok", (long long)p->st.ok);
    peerlog_int(&l, "bad_total", (long long)p->st.bad_total);
    peerlog_end(&l);
    close(p->fd);
    if (p->tcp)
        peertcp_free(&p->t_tcp);
    free(p);
    return rc;
}

const struct peer_cmd cmd_peer = {
    "peer",
    "  --gateway IPv4:PORT --name NAME [--port PORT (31337)] [--bind IPv4 (0.0.0.0)]\n"
    "  [--punch-timeout SECS (20)] [--punch-interval MS (100)] [--punch-delay MS (0)]\n"
    "  [--intro-timeout SECS (60)] [--pings N (5)]\n"
    "  [--ping-interval MS (200)] [--keepalive SECS (5)] [--expect NAME,NAME...]\n"
    "  [--exit-when-done] [--tcp] [--portmap natpmp|pcp] [-v]\n"
    "  Registers with the gateway, punches a UDP hole to each peer it introduces (only the\n"
    "  --expect ones when given), then exchanges N pings with each and logs the RTTs.\n"
    "  Runs until SIGINT/SIGTERM; --exit-when-done exits once every --expect peer is\n"
    "  connected (status 0) or failed (status 1) and its pings are done. An --expect peer\n"
    "  the gateway has not introduced within --intro-timeout of registering has failed.\n"
    "  --tcp: punch by TCP simultaneous open instead (connect() from --port to the peer's\n"
    "  public endpoint, with a listener on --port too), ping over that connection.\n"
    "  --portmap first asks the default gateway (the router) to map the UDP port (and the\n"
    "  TCP one with --tcp; one request each, 3600 s) and registers the mapped endpoint,\n"
    "  so others punch to it.\n"
    "  Keepalives (every --keepalive to the gateway and each connected peer) keep the NAT\n"
    "  mappings open; one a peer leaves unanswered for 2 s logs \"direct path lost\" (warn)\n"
    "  and its next answer \"direct path restored\".\n",
    "hole-punching test peer",
    peer_run,
};
