/* peerrun_udp.c - `natrig-peer peer`'s messages over UDP: REGISTER to the rendezvous and its
 * answers (REGISTERED: our public endpoint; PEERS: remotes to punch), PUNCH/PUNCH_ACK from
 * remotes, PING/PONG. What each remote's state becomes is core/peerproto's; this file decodes,
 * sends and logs. Uses peernet, peerlog (see peerrun.h). */
#include <stdio.h>
#include <string.h>

#include "core/peerproto.h"
#include "peer/peerlog.h"
#include "peer/peernet.h"
#include "peer/peerrun.h"

#define T_PEER PEERRUN_T_PEER
#define T_PUNCH PEERRUN_T_PUNCH
#define T_PING PEERRUN_T_PING
#define PEER_REGISTER_RETRY_US 500000 /* until the gateway first answers */

int peerrun_is_expected(const struct peer *p, const char *name)
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

void peerrun_send_named(struct peer *p, enum peerproto_type type, uint32_t seq, const char *to_name,
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

void peerrun_send_register(struct peer *p, int64_t now)
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
        if (p->nexpect > 0 && !peerrun_is_expected(p, e->name)) {
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
        peerrun_send_named(p, PEERPROTO_PUNCH_ACK, m->seq, m->name, 0, from);
    if (p->nexpect > 0 && !peerrun_is_expected(p, m->name))
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

void peerrun_on_pong(struct peer *p, const struct peerproto_msg *m,
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

void peerrun_on_datagram(struct peer *p, const unsigned char *buf, size_t n, size_t cap,
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
        peerrun_send_named(p, PEERPROTO_PONG, m.seq, NULL, m.ts, from);
        return;
    case PEERPROTO_PONG:
        peerrun_on_pong(p, &m, from, now);
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
