/* cmd_peer.c - `natrig-peer peer`: registers with the gateway (retrying until answered, then
 * as a keepalive), punches a hole to every remote the gateway introduces (PUNCH every
 * --punch-interval from both sides until a PUNCH or PUNCH_ACK arrives), then exchanges
 * PING/PONG and logs the RTTs. Runs until SIGINT/SIGTERM (or --exit-when-done), answering
 * punches and pings. The per-remote logic is core/peerproto's state machine. With --portmap it
 * first asks its router for a mapping and registers the mapped endpoint (REGISTER_AT), so
 * remotes punch to it. With --tcp the punch is a TCP simultaneous open instead. The rendezvous
 * stays UDP: the remote's public endpoint is the one the gateway saw its UDP from, which is its
 * TCP one where the NAT preserves ports (every natrig preset with EIM does).
 * The parts: this file (options, the loop, the state machine's actions, the --expect verdict),
 * peerrun_udp.c (messages), peerrun_tcp.c (--tcp), peerrun_map.c (--portmap); peerrun.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "core/peerproto.h"
#include "peer/peercmd.h"
#include "peer/peerlog.h"
#include "peer/peernet.h"
#include "peer/peerrun.h"
#include "peer/peertcp.h"

#define T_PEER PEERRUN_T_PEER
#define T_PUNCH PEERRUN_T_PUNCH
#define T_PING PEERRUN_T_PING
#define PEER_MAX_EXPECT PEERRUN_MAX_EXPECT

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
        p->has_bind = 1;
        return peerproto_parse_host(arg, &p->local, "--bind", err);
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

/* Stopped (SIGINT/SIGTERM) while pinging: what each ping run had so far, so a scenario can
 * let the pings run until it stops the peer (churn.lua) instead of guessing a count that
 * outlasts the machine's speed. The last PING may still be in flight. */
static void log_pings_stopped(struct peer *p)
{
    struct peerlog_line l;
    size_t i;

    for (i = 0; i < p->tb.n; i++) {
        const struct peerproto_remote *r = &p->tb.r[i];
        if (r->pings_sent == 0 || r->pings_reported)
            continue;
        peerlog_begin(&l, r->pongs + 1 >= r->pings_sent ? PEERLOG_INFO : PEERLOG_WARN, T_PING,
                      "pings stopped");
        peerlog_str(&l, "remote", r->name);
        peerlog_int(&l, "sent", (long long)r->pings_sent);
        peerlog_int(&l, "received", (long long)r->pongs);
        peerlog_end(&l);
    }
}

static void do_action(struct peer *p, struct peerproto_remote *r, const struct peerproto_action *a,
                      int64_t now)
{
    struct peerlog_line l;

    if (p->tcp && peerrun_tcp_action(p, r, a, now))
        return;
    switch (a->kind) {
    case PEERPROTO_ACT_PUNCH:
        peerrun_send_named(p, PEERPROTO_PUNCH, a->seq, r->name, 0, &a->to);
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
        peerrun_send_named(p, PEERPROTO_PING, a->seq, NULL, (uint64_t)now, &a->to);
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
    const struct peertcp_cb tcp_cb = peerrun_tcp_callbacks(p);

    p->next_register_us = peernet_now_us();
    for (;;) {
        now = peernet_now_us();
        if (now >= p->next_register_us)
            peerrun_send_register(p, now);
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
            peerrun_on_datagram(p, buf, (size_t)n, sizeof buf, &from, peernet_now_us());
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
    if (rc < 0 && p->nexpect > 0 && peerrun_is_expected(p, p->name))
        rc = peercmd_usage_error(&cmd_peer, "--expect names this peer itself ('%s')", p->name);
    /* one socket, the gateway's family: the rendezvous introduces peers of that family */
    if (rc < 0 && p->has_bind && p->local.v6 != p->gateway.v6)
        rc = peercmd_usage_error(
            &cmd_peer, "--bind is IPv%d but --gateway IPv%d: give both in one family",
            peerproto_addr_family(&p->local), peerproto_addr_family(&p->gateway));
    if (rc < 0 && p->portmap && p->gateway.v6)
        rc = peercmd_usage_error(&cmd_peer,
                                 "--portmap maps an IPv4 port (NAT-PMP, PCP here); over IPv6 "
                                 "nothing is translated: drop --portmap");
    p->local.v6 = p->gateway.v6;
    if (rc >= 0) {
        free(p);
        return rc;
    }
    p->t.keepalive_us = p->keepalive_us;
    peernet_signals_init();
    p->t_tcp.lfd = -1;
    p->fd = peernet_udp_bind(&p->local, &err);
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
        peerrun_portmap(p);
    rc = peer_loop(p);
    if (peernet_stop_signal())
        log_pings_stopped(p);
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
    "  --gateway IP:PORT --name NAME [--port PORT (31337)] [--bind IP (0.0.0.0 or ::)]\n"
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
    "  and its next answer \"direct path restored\".\n"
    "  IP:PORT is IPv4:PORT or [IPv6]:PORT: the peer speaks the gateway's family (one\n"
    "  socket; --bind in that family) and punches to the peers of that family it introduces.\n",
    "hole-punching test peer",
    peer_run,
};
