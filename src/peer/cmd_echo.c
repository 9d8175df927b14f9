/* cmd_echo.c - `natrig-peer echo`: a STUN-lite UDP server. Every datagram is answered with
 * the text "seen IP:PORT", the source it arrived from, so a client behind a NAT learns its
 * mapping. Uses peernet, peerlog. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "peer/peercmd.h"
#include "peer/peerlog.h"
#include "peer/peernet.h"

#define T_ECHO "natrig_peer::echo"

enum { OPT_PORT = 256, OPT_BIND, OPT_ANNOUNCE };

struct echo_opts {
    struct peerproto_addr local;
    struct peerproto_addr announce; /* port 0: none */
};

static int echo_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct echo_opts *o = ctx;

    if (opt == OPT_PORT)
        return peercmd_port(arg, 0, &o->local.port, "--port", err);
    if (opt == OPT_BIND)
        return peerproto_parse_host(arg, &o->local, "--bind", err);
    if (opt == OPT_ANNOUNCE)
        return peerproto_parse_endpoint(arg, &o->announce, "--announce", err);
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static int echo_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, OPT_PORT},
        {"bind", required_argument, NULL, OPT_BIND},
        {"announce", required_argument, NULL, OPT_ANNOUNCE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static unsigned char buf[65536];
    struct echo_opts o;
    struct peerproto_addr from;
    struct nt_err err = {0};
    struct peerlog_line l;
    unsigned long seen = 0;
    int rc, fd, k;
    long n;

    memset(&o, 0, sizeof o);
    rc = peercmd_getopt(&cmd_echo, argc, argv, opts, echo_opt, &o);
    if (rc < 0 && o.local.port == 0)
        rc = peercmd_usage_error(&cmd_echo, "missing --port PORT");
    if (rc < 0 && o.announce.port && o.announce.v6 != o.local.v6)
        rc = peercmd_usage_error(
            &cmd_echo, "--announce is IPv%d but --bind IPv%d: give both in one family",
            peerproto_addr_family(&o.announce), peerproto_addr_family(&o.local));
    if (rc >= 0)
        return rc;
    peernet_signals_init();
    fd = peernet_udp_bind(&o.local, &err);
    if (fd < 0) {
        peerlog_begin(&l, PEERLOG_ERROR, T_ECHO, "cannot listen");
        peerlog_str(&l, "error", err.msg);
        peerlog_end(&l);
        return 1;
    }
    /* --announce: one datagram out first, so a NAT in front of us opens a mapping for
     * this port (a full-cone NAT then lets anyone reach the echo server). */
    if (o.announce.port && peernet_send(fd, "hello", 5, &o.announce, &err) < 0) {
        peerlog_begin(&l, PEERLOG_WARN, T_ECHO, "announce failed");
        peerlog_str(&l, "error", err.msg);
        peerlog_end(&l);
    }
    peerlog_begin(&l, PEERLOG_INFO, T_ECHO, "echo listening");
    peerlog_addr(&l, "addr", &o.local);
    peerlog_end(&l);
    for (;;) {
        rc = peernet_wait(fd, -1);
        if (rc < 0)
            break;
        for (k = 0; rc > 0 && k < 256; k++) {
            n = peernet_recv(fd, buf, sizeof buf, &from);
            if (n < 0)
                break;
            /* "rtt <seq>" datagrams (natrig-peer rtt) go back unchanged and unlogged:
             * they come by the thousand. */
            if (n >= 4 && memcmp(buf, "rtt ", 4) == 0) {
                peernet_send(fd, buf, (size_t)n, &from, &err);
                continue;
            }
            seen++;
            rc = peercmd_reply_seen(fd, &from, &err);
            peerlog_begin(&l, rc < 0 ? PEERLOG_WARN : PEERLOG_INFO, T_ECHO,
                          rc < 0 ? "echo failed" : "datagram echoed");
            peerlog_addr(&l, "from", &from);
            peerlog_int(&l, "len", n);
            peerlog_int(&l, "seen", (long long)seen);
            if (rc < 0)
                peerlog_str(&l, "error", err.msg);
            peerlog_end(&l);
            rc = 1;
        }
    }
    peerlog_begin(&l, PEERLOG_INFO, T_ECHO, "shutting down");
    peerlog_str(&l, "signal", peernet_signal_name(peernet_stop_signal()));
    peerlog_int(&l, "seen", (long long)seen);
    peerlog_end(&l);
    close(fd);
    return 0;
}

const struct peer_cmd cmd_echo = {
    "echo",
    "  --port PORT [--bind IP (0.0.0.0; :: for IPv6)] [--announce IP:PORT] [-v]\n"
    "  Answers every datagram with \"seen IP:PORT\" (its observed source); logs each.\n"
    "  Datagrams starting \"rtt \" (natrig-peer rtt) come back unchanged, unlogged.\n"
    "  --announce sends one datagram there first, opening a NAT mapping for PORT.\n",
    "STUN-lite: reply \"seen IP:PORT\" to every datagram",
    echo_run,
};
