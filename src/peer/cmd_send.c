/* cmd_send.c - `natrig-peer send`: fire-and-forget datagrams from an (optionally fixed)
 * local port, then one line "sent N to IP:PORT from IP:PORT". Exit 0, or 1 when a send
 * failed. Uses peernet. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "peer/peercmd.h"
#include "peer/peernet.h"

#define SEND_MSG_MAX 65507 /* the largest UDP payload over IPv4 */

enum { OPT_TO = 256, OPT_FROM_PORT, OPT_MSG, OPT_COUNT, OPT_INTERVAL };

struct send_opts {
    struct peerproto_addr to;
    int has_to;
    uint16_t from_port;
    const char *msg;
    long count, interval_ms;
};

static int send_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct send_opts *o = ctx;

    switch (opt) {
    case OPT_TO:
        if (o->has_to)
            return nt_err_set(err, NT_EINVAL, "--to", "--to given twice");
        o->has_to = 1;
        return peerproto_parse_endpoint(arg, &o->to, "--to", err);
    case OPT_FROM_PORT:
        return peercmd_port(arg, 1, &o->from_port, "--from-port", err);
    case OPT_MSG:
        if (strlen(arg) > SEND_MSG_MAX)
            return nt_err_set(err, NT_LIMIT, "--msg", "--msg longer than %d bytes", SEND_MSG_MAX);
        o->msg = arg;
        return 0;
    case OPT_COUNT:
        return peercmd_long(arg, 1, 1000000, &o->count, "--count", err);
    case OPT_INTERVAL:
        return peercmd_long(arg, 0, 3600000, &o->interval_ms, "--interval", err);
    }
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static int send_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"to", required_argument, NULL, OPT_TO},
        {"from-port", required_argument, NULL, OPT_FROM_PORT},
        {"msg", required_argument, NULL, OPT_MSG},
        {"count", required_argument, NULL, OPT_COUNT},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct send_opts o = {.msg = "natrig", .count = 1, .interval_ms = 100};
    char b1[PEERPROTO_ADDR_STRLEN], b2[PEERPROTO_ADDR_STRLEN];
    struct peerproto_addr local = {0};
    struct nt_err err = {0};
    long sent = 0;
    int rc, fd;

    rc = peercmd_getopt(&cmd_send, argc, argv, opts, send_opt, &o);
    if (rc < 0 && !o.has_to)
        rc = peercmd_usage_error(&cmd_send, "missing --to IP:PORT");
    if (rc >= 0)
        return rc;
    peernet_signals_init();
    local.v6 = o.to.v6; /* the socket speaks --to's family */
    local.port = o.from_port;
    fd = peernet_udp_bind(&local, &err);
    /* connected, so the line can name the real source address the kernel picked */
    if (fd < 0 || peernet_connect(fd, &o.to, &err) < 0) {
        fprintf(stderr, "natrig-peer send: %s\n", err.msg);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    peernet_local_addr(fd, &local);
    rc = 0;
    while (sent < o.count) {
        /* an ICMP port unreachable for an earlier datagram surfaces once as ECONNREFUSED on
         * a connected socket; fire-and-forget means: ignore it and send again */
        if (peernet_send(fd, o.msg, strlen(o.msg), NULL, &err) < 0 &&
            (errno != ECONNREFUSED || peernet_send(fd, o.msg, strlen(o.msg), NULL, &err) < 0)) {
            fprintf(stderr, "natrig-peer send: %s\n", err.msg);
            rc = 1;
            break;
        }
        sent++;
        if (sent < o.count && o.interval_ms > 0 && peernet_wait(-1, o.interval_ms * 1000) < 0)
            break;
    }
    close(fd);
    printf("sent %ld to %s from %s\n", sent, peerproto_addr_format(&o.to, b1, sizeof b1),
           peerproto_addr_format(&local, b2, sizeof b2));
    return rc;
}

const struct peer_cmd cmd_send = {
    "send",
    "  --to IP:PORT [--from-port PORT] [--msg TEXT (natrig)] [--count N (1)]\n"
    "  [--interval MS (100)]\n"
    "  Fire-and-forget datagrams, then prints \"sent N to IP:PORT from IP:PORT\".\n"
    "  Exit 0, or 1 when a send failed; SIGINT/SIGTERM stop early (exit 0). IP:PORT is\n"
    "  IPv4:PORT or [IPv6]:PORT.\n",
    "fire-and-forget datagrams",
    send_run,
};
