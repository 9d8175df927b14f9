/* cmd_rtt.c - `natrig-peer rtt`: measure round-trip time and loss to an echo server.
 * Sends "rtt <seq>" every --interval ms (pipelined, so 1000 probes take seconds, not
 * minutes); the echo server returns such datagrams unchanged, so each reply is matched to
 * its own send time. Prints one line:
 *   rtt to=IP:PORT sent=N received=M loss_pct=X min_ms= median_ms= avg_ms= max_ms=
 * Uses peernet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer/peercmd.h"
#include "peer/peernet.h"

enum { OPT_TO = 256, OPT_FROM_PORT, OPT_COUNT, OPT_INTERVAL, OPT_TIMEOUT };

#define RTT_MAX_COUNT 100000

struct rtt_opts {
    struct peerproto_addr to;
    uint16_t from_port;
    long count, interval_ms, timeout_ms;
};

static int rtt_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct rtt_opts *o = ctx;
    switch (opt) {
    case OPT_TO:
        return peerproto_parse_endpoint(arg, &o->to, "--to", err);
    case OPT_FROM_PORT:
        return peercmd_port(arg, 0, &o->from_port, "--from-port", err);
    case OPT_COUNT:
        return peercmd_long(arg, 1, RTT_MAX_COUNT, &o->count, "--count", err);
    case OPT_INTERVAL:
        return peercmd_long(arg, 0, 60000, &o->interval_ms, "--interval", err);
    case OPT_TIMEOUT:
        return peercmd_long(arg, 1, 600000, &o->timeout_ms, "--timeout", err);
    }
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int rtt_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, OPT_TO},
        {"from-port", required_argument, NULL, OPT_FROM_PORT},
        {"count", required_argument, NULL, OPT_COUNT},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct rtt_opts o = {.count = 100, .interval_ms = 10, .timeout_ms = 1000};
    struct nt_err err = {0};
    struct peerproto_addr from, local = {0};
    char buf[64], to_s[PEERPROTO_ADDR_STRLEN];
    int64_t *sent_at, *rtts, next, deadline;
    long sent = 0, got = 0;
    int rc, fd;

    rc = peercmd_getopt(&cmd_rtt, argc, argv, opts, rtt_opt, &o);
    if (rc < 0 && o.to.port == 0)
        rc = peercmd_usage_error(&cmd_rtt, "missing --to IP:PORT");
    if (rc >= 0)
        return rc;
    peernet_signals_init();
    local.v6 = o.to.v6; /* the socket speaks --to's family */
    local.port = o.from_port;
    fd = peernet_udp_bind(&local, &err);
    if (fd < 0) {
        fprintf(stderr, "natrig-peer rtt: %s\n", err.msg);
        return 1;
    }
    sent_at = calloc((size_t)o.count, sizeof *sent_at);
    rtts = calloc((size_t)o.count, sizeof *rtts);
    if (!sent_at || !rtts) {
        fprintf(stderr, "natrig-peer rtt: out of memory\n");
        return 1;
    }
    next = peernet_now_us();
    deadline = next + (int64_t)o.count * o.interval_ms * 1000 + o.timeout_ms * 1000;
    while (!peernet_stop_signal()) {
        int64_t now = peernet_now_us();
        if (sent < o.count && now >= next) {
            int len = snprintf(buf, sizeof buf, "rtt %ld", sent);
            sent_at[sent] = now;
            if (peernet_send(fd, buf, (size_t)len, &o.to, &err) < 0)
                fprintf(stderr, "natrig-peer rtt: %s\n", err.msg);
            sent++;
            next += o.interval_ms * 1000;
            continue;
        }
        if (got == o.count || now >= deadline)
            break;
        /* after the last send, wait at most --timeout for stragglers */
        if (sent == o.count && deadline > now + o.timeout_ms * 1000)
            deadline = now + o.timeout_ms * 1000;
        int64_t wake = sent < o.count ? next : deadline;
        rc = peernet_wait(fd, wake > now ? wake - now : 0);
        if (rc < 0)
            break;
        for (int k = 0; rc > 0 && k < 256; k++) {
            long n = peernet_recv(fd, buf, sizeof buf - 1, &from);
            char *end;
            long seq;
            if (n < 0)
                break;
            if (!peerproto_addr_eq(&from, &o.to) || n < 5 || memcmp(buf, "rtt ", 4))
                continue;
            buf[n] = '\0';
            seq = strtol(buf + 4, &end, 10);
            if (end == buf + 4 || seq < 0 || seq >= sent || sent_at[seq] == 0)
                continue;
            rtts[got++] = peernet_now_us() - sent_at[seq];
            sent_at[seq] = 0; /* a duplicate reply counts once */
        }
    }
    qsort(rtts, (size_t)got, sizeof *rtts, cmp_i64);
    double sum = 0;
    for (long i = 0; i < got; i++)
        sum += (double)rtts[i];
    peerproto_addr_format(&o.to, to_s, sizeof to_s);
    printf("rtt to=%s sent=%ld received=%ld loss_pct=%.2f min_ms=%.3f median_ms=%.3f "
           "avg_ms=%.3f max_ms=%.3f\n",
           to_s, sent, got, sent ? 100.0 * (double)(sent - got) / (double)sent : 0.0,
           got ? (double)rtts[0] / 1000.0 : 0.0, got ? (double)rtts[got / 2] / 1000.0 : 0.0,
           got ? sum / (double)got / 1000.0 : 0.0, got ? (double)rtts[got - 1] / 1000.0 : 0.0);
    free(sent_at);
    free(rtts);
    return got > 0 ? 0 : 1;
}

const struct peer_cmd cmd_rtt = {
    "rtt",
    "  --to IP:PORT [--from-port PORT] [--count N (100)] [--interval MS (10)]\n"
    "  [--timeout MS (1000)]\n"
    "  Sends N datagrams \"rtt <seq>\" to an echo server (natrig-peer echo returns them\n"
    "  unchanged), one every MS, and prints \"rtt to= sent= received= loss_pct= min_ms=\n"
    "  median_ms= avg_ms= max_ms=\". Exit 0 when any reply came back. IP:PORT is\n"
    "  IPv4:PORT or [IPv6]:PORT.\n",
    "measure round-trip time and loss to an echo server",
    rtt_run,
};
