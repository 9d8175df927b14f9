/* bench_logparse.c - throughput of core/logparse on generated Freenet-like logs, one figure
 * per format (tracing text, ANSI-coloured text, tracing JSON, a Go program's nested JSON,
 * logfmt, zap console), against a floor measured in the same run: splitting the same
 * bytes into lines with memchr and touching each line. Prints MB/s (1 MB = 1e6 bytes) and
 * the ratio; not a pass/fail test.
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Isrc -o build/bench_logparse \
 *      tests/bench/bench_logparse.c src/core/logparse/[a-z]*.c && build/bench_logparse [MB]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/logparse.h"

static uint32_t rng_state = 2463534242u;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static const char *pick(const char *const *v, size_t n)
{
    return v[rng() % n];
}

#define PICK(v) pick(v, sizeof v / sizeof v[0])

static const char *const levels[] = {" INFO", " INFO", " INFO", "DEBUG",
                                     "DEBUG", " WARN", "ERROR", "TRACE"};
static const char *const targets[] = {
    "freenet::node::network_bridge",   "freenet::transport::connection_handler",
    "freenet::operations::connect",    "freenet::ring",
    "freenet::contract::executor",     "freenet::node::p2p_impl",
    "freenet::transport::packet_data", "freenet::server"};
static const char *const messages[] = {"connected to gateway",
                                       "NAT traversal connection established",
                                       "received packet from peer",
                                       "routing table updated",
                                       "subscribing to contract",
                                       "connection closed by remote",
                                       "retrying handshake after timeout",
                                       "forwarding get request to closest peer",
                                       "updated location estimate"};
static const char *const spans[] = {"",
                                    "",
                                    "",
                                    "join_ring{gateway=172.20.1.100:31337}:",
                                    "connect{attempt=2}:",
                                    "handle_request{id=42}:"};

/* A buffer of lines of one kind, about want bytes. */
static char *gen(size_t want, int kind, size_t *len_out, size_t *lines_out)
{
    char *b = malloc(want + 4096);
    size_t len = 0, lines = 0;

    if (!b) {
        perror("malloc");
        exit(1);
    }
    while (len < want) {
        unsigned us = rng() % 1000000, s = rng() % 60, port = 1024 + rng() % 60000;
        unsigned a = rng() % 256, peer = rng();
        const char *lvl = PICK(levels), *tgt = PICK(targets), *msg = PICK(messages);
        int n;
        const char *lv = lvl[0] == ' ' ? lvl + 1 : lvl;
        if (kind == 5) { /* zap console, development config */
            n = snprintf(b + len, 4096,
                         "2026-11-30T10:%02u:%02u.%03u+0100\t%s\tpeer/peer.go:%u\t%s\t"
                         "{\"peer\": \"v6M%08x\", \"addr\": \"172.20.%u.%u:%u\", \"hops\": %u}\n",
                         s % 60, s, us / 1000, lv, 40 + s, msg, peer, a, a / 2, port, s % 7);
        } else if (kind == 4) { /* logrus / slog text */
            n = snprintf(b + len, 4096,
                         "time=2026-11-30T10:%02u:%02u.%06uZ level=%s msg=\"%s\" "
                         "peer=v6M%08x addr=172.20.%u.%u:%u hops=%u err=\"read udp: \\\"x\\\"\"\n",
                         s % 60, s, us, lv, msg, peer, a, a / 2, port, s % 7);
        } else if (kind == 3) { /* a Go program's JSON: slog groups, nested objects */
            n = snprintf(b + len, 4096,
                         "{\"time\":\"2026-11-30T10:%02u:%02u.%06uZ\",\"level\":\"%s\","
                         "\"msg\":\"%s\",\"peer\":{\"id\":\"v6M%08x\",\"udpAddr\":"
                         "{\"ip\":\"172.20.%u.%u\",\"port\":%u}},\"hops\":%u,"
                         "\"tags\":[\"a\",\"b\"]}\n",
                         s % 60, s, us, lv, msg, peer, a, a / 2, port, s % 7);
        } else if (kind == 2) {
            n = snprintf(b + len, 4096,
                         "{\"timestamp\":\"2025-06-01T12:%02u:%02u.%06uZ\",\"level\":\"%s\","
                         "\"fields\":{\"message\":\"%s\",\"peer\":\"v6M%08x\",\"addr\":"
                         "\"172.20.%u.%u:%u\",\"hops\":%u},\"target\":\"%s\"}\n",
                         s % 60, s, us, lvl[0] == ' ' ? lvl + 1 : lvl, msg, peer, a, a / 2, port,
                         s % 7, tgt);
        } else if (kind == 1) {
            n = snprintf(b + len, 4096,
                         "\x1b[2m2025-06-01T12:%02u:%02u.%06uZ\x1b[0m \x1b[32m%s\x1b[0m "
                         "\x1b[2m%s\x1b[0m\x1b[2m:\x1b[0m %s \x1b[3mpeer\x1b[0m\x1b[2m="
                         "\x1b[0mv6M%08x \x1b[3maddr\x1b[0m\x1b[2m=\x1b[0m\"172.20.%u.%u:%u\"\n",
                         s % 60, s, us, lvl, tgt, msg, peer, a, a / 2, port);
        } else {
            n = snprintf(b + len, 4096,
                         "2025-06-01T12:%02u:%02u.%06uZ %s %s%s: %s peer=v6M%08x "
                         "addr=\"172.20.%u.%u:%u\" hops=%u\n",
                         s % 60, s, us, lvl, PICK(spans), tgt, msg, peer, a, a / 2, port, s % 7);
        }
        len += (size_t)n;
        lines++;
    }
    *len_out = len;
    *lines_out = lines;
    return b;
}

/* CPU time of this thread: on a machine busy with other builds, time spent waiting for a
 * CPU is not the parser's (wall time halved the figures at a load of 8 on 2 cores). */
static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The floor: find each line and read its first and last byte. */
static double run_floor(const char *b, size_t len, unsigned long *sink)
{
    const char *p = b, *end = b + len;
    double t0 = now();

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        *sink += (unsigned char)p[0] + (unsigned char)nl[-1];
        p = nl + 1;
    }
    return now() - t0;
}

static double run_parse(const char *b, size_t len, unsigned long *sink)
{
    static char scratch[65536];
    const char *p = b, *end = b + len;
    struct logparse_entry e;
    double t0 = now();

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        logparse_line(p, (size_t)(nl - p), 0, scratch, sizeof scratch, &e);
        *sink += (unsigned long)e.nfields + e.message.n + (unsigned long)e.level;
        p = nl + 1;
    }
    return now() - t0;
}

static void bench(const char *name, int kind, size_t want)
{
    size_t len, lines;
    char *b = gen(want, kind, &len, &lines);
    unsigned long sink = 0;
    double tf = 1e9, tp = 1e9;
    int i;

    for (i = 0; i < 5; i++) { /* best of five: a busy machine (parallel builds) skews fewer */
        double f = run_floor(b, len, &sink), p = run_parse(b, len, &sink);
        tf = f < tf ? f : tf;
        tp = p < tp ? p : tp;
    }
    printf("logparse %-11s %8.1f MB/s, %5.2f Mlines/s (floor memchr split: %7.1f MB/s, "
           "ratio %.3f; %.0f MB, avg line %zu B) [%lu]\n",
           name, (double)len / tp / 1e6, (double)lines / tp / 1e6, (double)len / tf / 1e6, tf / tp,
           (double)len / 1e6, len / lines, sink % 10);
    free(b);
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;

    if (mb == 0)
        mb = 200;
    bench("tracing", 0, mb * 1000000);
    bench("ansi", 1, mb * 1000000 / 2);
    bench("json", 2, mb * 1000000 / 2);
    bench("json-nested", 3, mb * 1000000 / 2);
    bench("logfmt", 4, mb * 1000000 / 2);
    bench("zap", 5, mb * 1000000 / 2);
    return 0;
}
