/* cmd_probe.c - `natrig-peer probe`: ask echo servers which source they see. All
 * destinations share ONE socket, so a NAT's mapping per destination can be compared
 * (endpoint-independent vs dependent mapping). One --to prints the reply payload; several
 * print "IP:PORT <payload>" or "IP:PORT timeout" per destination, in argument order.
 * Exit 0 when every destination answered, 1 otherwise. Uses peernet, peerlog. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "peer/peercmd.h"
#include "peer/peerlog.h"
#include "peer/peernet.h"

#define PROBE_MAX_TO 64
#define PROBE_REPLY_MAX 512
#define PROBE_PAYLOAD "natrig-probe"

enum { OPT_TO = 256, OPT_FROM_PORT, OPT_TIMEOUT, OPT_COUNT };

struct probe_target {
    struct peerproto_addr addr;
    int answered;
    size_t rlen;
    unsigned char reply[PROBE_REPLY_MAX];
};

struct probe {
    struct probe_target to[PROBE_MAX_TO];
    int nto;
    uint16_t from_port;
    long timeout_ms, count;
};

static int probe_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct probe *p = ctx;

    switch (opt) {
    case OPT_TO:
        if (p->nto == PROBE_MAX_TO)
            return nt_err_set(err, NT_LIMIT, "--to", "too many --to (max %d)", PROBE_MAX_TO);
        return peerproto_parse_endpoint(arg, &p->to[p->nto++].addr, "--to", err);
    case OPT_FROM_PORT:
        return peercmd_port(arg, 1, &p->from_port, "--from-port", err);
    case OPT_TIMEOUT:
        return peercmd_long(arg, 1, 3600000, &p->timeout_ms, "--timeout", err);
    case OPT_COUNT:
        return peercmd_long(arg, 1, 1000, &p->count, "--count", err);
    }
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static void probe_receive(struct probe *p, int fd)
{
    unsigned char buf[2048];
    struct peerproto_addr from;
    long n;
    int i, k;

    for (k = 0; k < 256; k++) {
        n = peernet_recv(fd, buf, sizeof buf, &from);
        if (n < 0)
            return;
        if (n > (long)sizeof buf)
            n = (long)sizeof buf;
        /* only the destination itself counts: a stray datagram must not pass for a reply */
        for (i = 0; i < p->nto; i++) {
            struct probe_target *t = &p->to[i];

            if (t->answered || !peerproto_addr_eq(&t->addr, &from))
                continue;
            t->answered = 1;
            t->rlen = (size_t)n < sizeof t->reply ? (size_t)n : sizeof t->reply;
            memcpy(t->reply, buf, t->rlen);
            break;
        }
    }
}

/* Returns the number of destinations that answered; -1 when interrupted. */
static int probe_exchange(struct probe *p, int fd)
{
    int64_t start = peernet_now_us(), now, wake;
    int64_t deadline = start + p->timeout_ms * 1000;
    int64_t round_us = p->timeout_ms * 1000 / p->count, next_round = start;
    struct nt_err err = {0};
    long rounds = 0;
    int i, answered, rc;

    for (;;) {
        now = peernet_now_us();
        for (answered = 0, i = 0; i < p->nto; i++)
            answered += p->to[i].answered;
        if (answered == p->nto || now >= deadline)
            return answered;
        if (rounds < p->count && now >= next_round) {
            /* --count spreads retries over the timeout, for lossy links */
            for (i = 0; i < p->nto; i++)
                if (!p->to[i].answered && peernet_send(fd, PROBE_PAYLOAD, strlen(PROBE_PAYLOAD),
                                                       &p->to[i].addr, &err) < 0)
                    fprintf(stderr, "natrig-peer probe: %s\n", err.msg);
            rounds++;
            next_round = start + rounds * round_us;
        }
        wake = rounds < p->count && next_round < deadline ? next_round : deadline;
        rc = peernet_wait(fd, wake > now ? wake - now : 0);
        if (rc < 0)
            return -1;
        if (rc > 0)
            probe_receive(p, fd);
    }
}

static int probe_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, OPT_TO},
        {"from-port", required_argument, NULL, OPT_FROM_PORT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"count", required_argument, NULL, OPT_COUNT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct probe p;
    char b[PEERPROTO_ADDR_STRLEN];
    struct peerproto_addr local;
    struct nt_err err = {0};
    int rc, fd, i, answered;

    memset(&p, 0, sizeof p);
    memset(&local, 0, sizeof local);
    p.timeout_ms = 2000;
    p.count = 1;
    rc = peercmd_getopt(&cmd_probe, argc, argv, opts, probe_opt, &p);
    if (rc < 0 && p.nto == 0)
        rc = peercmd_usage_error(&cmd_probe, "missing --to IP:PORT");
    if (rc >= 0)
        return rc;
    peernet_signals_init();
    for (i = 1; i < p.nto; i++)
        if (p.to[i].addr.v6 != p.to[0].addr.v6)
            return peercmd_usage_error(&cmd_probe, "every --to in one family (one socket sends "
                                                   "them all): IPv4 and IPv6 mixed");
    local.v6 = p.to[0].addr.v6;
    local.port = p.from_port;
    fd = peernet_udp_bind(&local, &err);
    if (fd < 0) {
        fprintf(stderr, "natrig-peer probe: %s\n", err.msg);
        return 1;
    }
    answered = probe_exchange(&p, fd);
    close(fd);
    if (answered < 0) {
        fprintf(stderr, "natrig-peer probe: interrupted\n");
        return 1;
    }
    if (p.nto == 1) {
        if (!p.to[0].answered) {
            fprintf(stderr, "natrig-peer probe: no reply from %s within %ld ms\n",
                    peerproto_addr_format(&p.to[0].addr, b, sizeof b), p.timeout_ms);
            return 1;
        }
        peerlog_print_escaped(stdout, p.to[0].reply, p.to[0].rlen);
        printf("\n");
        return 0;
    }
    for (i = 0; i < p.nto; i++) {
        printf("%s ", peerproto_addr_format(&p.to[i].addr, b, sizeof b));
        if (p.to[i].answered)
            peerlog_print_escaped(stdout, p.to[i].reply, p.to[i].rlen);
        else
            printf("timeout");
        printf("\n");
    }
    return answered == p.nto ? 0 : 1;
}

const struct peer_cmd cmd_probe = {
    "probe",
    "  --to IP:PORT [--to IP:PORT ...] [--from-port PORT] [--timeout MS (2000)]\n"
    "  [--count N (1)]\n"
    "  Sends \"" PROBE_PAYLOAD "\" from one socket to each destination (an echo server) and\n"
    "  prints the reply payload, e.g. \"seen 172.20.0.5:40000\". With several --to, one line\n"
    "  per destination in order: \"IP:PORT seen A:B\" or \"IP:PORT timeout\". --count N sends\n"
    "  up to N datagrams per destination, spread over the timeout. Exit 0 when all\n"
    "  answered, 1 on timeout or when interrupted. IP:PORT is IPv4:PORT or [IPv6]:PORT\n"
    "  (every --to one family: the socket is of that family).\n",
    "ask echo servers which source address they see",
    probe_run,
};
