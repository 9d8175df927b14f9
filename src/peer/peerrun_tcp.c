/* peerrun_tcp.c - `natrig-peer peer --tcp`: the punch is a TCP simultaneous open. Every punch
 * interval, while no connection to the remote is up or under way, a connect() from the
 * registered port to the remote's public endpoint (peertcp.c's listener on the same port takes
 * a SYN that arrives first); the remote counts as punched when its HELLO line arrives on a
 * connection, and the pings go over that connection as lines. The rendezvous stays UDP
 * (peerrun_udp.c). */
#include <stdio.h>
#include <string.h>

#include "core/peerproto.h"
#include "peer/peerlog.h"
#include "peer/peernet.h"
#include "peer/peerrun.h"
#include "peer/peertcp.h"

#define T_PUNCH PEERRUN_T_PUNCH

int peerrun_tcp_action(struct peer *p, struct peerproto_remote *r, const struct peerproto_action *a,
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

    if (p->nexpect == 0 || peerrun_is_expected(p, name))
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
        peerrun_on_pong(p, &m, &t->c[i].addr, now);
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

struct peertcp_cb peerrun_tcp_callbacks(struct peer *p)
{
    struct peertcp_cb cb = {p, tcp_connected, tcp_accepted, tcp_line, tcp_closed};

    return cb;
}
