/* cmd_listen.c - `natrig-peer listen`: wait for the first datagram on a port and print
 * "from IP:PORT msg TEXT" (one line); --reply answers it with "seen IP:PORT". Exit status 0
 * when one arrived, 1 on timeout or when interrupted first. Uses peernet, peerlog. */
#include <stdio.h>
#include <unistd.h>

#include "peer/peercmd.h"
#include "peer/peerlog.h"
#include "peer/peernet.h"

enum { OPT_PORT = 256, OPT_BIND, OPT_TIMEOUT, OPT_REPLY };

struct listen_opts {
    struct peerproto_addr local;
    long timeout_ms; /* 0: forever */
    int reply;
};

static int listen_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct listen_opts *o = ctx;

    switch (opt) {
    case OPT_PORT:
        return peercmd_port(arg, 0, &o->local.port, "--port", err);
    case OPT_BIND:
        return peerproto_parse_host(arg, &o->local, "--bind", err);
    case OPT_TIMEOUT:
        return peercmd_long(arg, 0, 86400000, &o->timeout_ms, "--timeout", err);
    case OPT_REPLY:
        o->reply = 1;
        return 0;
    }
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static int listen_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, OPT_PORT},
        {"bind", required_argument, NULL, OPT_BIND},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"reply", no_argument, NULL, OPT_REPLY},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static unsigned char buf[65536];
    struct listen_opts o = {.timeout_ms = 0};
    char b[PEERPROTO_ADDR_STRLEN];
    struct peerproto_addr from;
    struct nt_err err = {0};
    int64_t deadline, now;
    int rc, fd;
    long n;

    rc = peercmd_getopt(&cmd_listen, argc, argv, opts, listen_opt, &o);
    if (rc < 0 && o.local.port == 0)
        rc = peercmd_usage_error(&cmd_listen, "missing --port PORT");
    if (rc >= 0)
        return rc;
    peernet_signals_init();
    fd = peernet_udp_bind(&o.local, &err);
    if (fd < 0) {
        fprintf(stderr, "natrig-peer listen: %s\n", err.msg);
        return 1;
    }
    deadline = peernet_now_us() + o.timeout_ms * 1000;
    for (;;) {
        now = peernet_now_us();
        if (o.timeout_ms > 0 && now >= deadline) {
            fprintf(stderr, "natrig-peer listen: nothing arrived within %ld ms\n", o.timeout_ms);
            close(fd);
            return 1;
        }
        rc = peernet_wait(fd, o.timeout_ms > 0 ? deadline - now : -1);
        if (rc < 0) {
            fprintf(stderr, "natrig-peer listen: interrupted before anything arrived\n");
            close(fd);
            return 1;
        }
        if (rc == 0)
            continue;
        n = peernet_recv(fd, buf, sizeof buf, &from);
        if (n >= 0)
            break;
    }
    if (n > (long)sizeof buf)
        n = (long)sizeof buf;
    printf("from %s msg ", peerproto_addr_format(&from, b, sizeof b));
    peerlog_print_escaped(stdout, buf, (size_t)n);
    printf("\n");
    fflush(stdout);
    rc = 0;
    if (o.reply && peercmd_reply_seen(fd, &from, &err) < 0) {
        fprintf(stderr, "natrig-peer listen: reply failed: %s\n", err.msg);
        rc = 1;
    }
    close(fd);
    return rc;
}

const struct peer_cmd cmd_listen = {
    "listen",
    "  --port PORT [--bind IP (0.0.0.0; :: for IPv6)] [--timeout MS (0: forever)] [--reply]\n"
    "  Waits for the first datagram and prints \"from IP:PORT msg TEXT\" (bytes outside\n"
    "  printable ASCII as \\xNN, '\\' as \\\\); --reply answers \"seen IP:PORT\".\n"
    "  Exit 0 when one arrived, 1 on timeout or when interrupted before.\n",
    "print the first datagram that arrives",
    listen_run,
};
