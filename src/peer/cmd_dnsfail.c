/* cmd_dnsfail.c - `natrig-peer dnsfail`: answers every DNS query on a UDP port with a
 * failure (SERVFAIL unless --rcode says otherwise) built by core/dnsfail, and logs each.
 * A DNS node (natrig.dns) sends its queries here while its servfail fault is on. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/dnsfail.h"
#include "peer/peercmd.h"
#include "peer/peerlog.h"
#include "peer/peernet.h"

#define T_DNS "natrig_peer::dnsfail"

enum { OPT_PORT = 256, OPT_BIND, OPT_RCODE };

struct dnsfail_opts {
    struct peerproto_addr local;
    long rcode;
};

static int dnsfail_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct dnsfail_opts *o = ctx;

    if (opt == OPT_PORT)
        return peercmd_port(arg, 0, &o->local.port, "--port", err);
    if (opt == OPT_BIND)
        return peerproto_parse_host(arg, &o->local, "--bind", err);
    if (opt == OPT_RCODE)
        return peercmd_long(arg, 1, 15, &o->rcode, "--rcode", err);
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static int dnsfail_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, OPT_PORT},
        {"bind", required_argument, NULL, OPT_BIND},
        {"rcode", required_argument, NULL, OPT_RCODE},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static unsigned char buf[65536], out[1024];
    struct dnsfail_opts o = {.rcode = DNSFAIL_SERVFAIL};
    struct peerproto_addr from;
    struct nt_err err = {0};
    struct peerlog_line l;
    unsigned long answered = 0;
    int rc, fd, k;
    long n, r;

    rc = peercmd_getopt(&cmd_dnsfail, argc, argv, opts, dnsfail_opt, &o);
    if (rc < 0 && o.local.port == 0)
        rc = peercmd_usage_error(&cmd_dnsfail, "missing --port PORT");
    if (rc >= 0)
        return rc;
    peernet_signals_init();
    fd = peernet_udp_bind(&o.local, &err);
    if (fd < 0) {
        peerlog_begin(&l, PEERLOG_ERROR, T_DNS, "cannot listen");
        peerlog_str(&l, "error", err.msg);
        peerlog_end(&l);
        return 1;
    }
    peerlog_begin(&l, PEERLOG_INFO, T_DNS, "dnsfail listening");
    peerlog_addr(&l, "addr", &o.local);
    peerlog_int(&l, "rcode", o.rcode);
    peerlog_end(&l);
    for (;;) {
        rc = peernet_wait(fd, -1);
        if (rc < 0)
            break;
        for (k = 0; rc > 0 && k < 256; k++) {
            n = peernet_recv(fd, buf, sizeof buf, &from);
            if (n < 0)
                break;
            r = dnsfail_reply(buf, (size_t)n, (int)o.rcode, out, sizeof out);
            if (r > 0 && peernet_send(fd, out, (size_t)r, &from, &err) >= 0)
                answered++;
            peerlog_begin(&l, r > 0 ? PEERLOG_INFO : PEERLOG_WARN, T_DNS,
                          r > 0 ? "query failed as asked" : "not a DNS query");
            peerlog_addr(&l, "from", &from);
            peerlog_int(&l, "len", n);
            peerlog_end(&l);
            rc = 1;
        }
    }
    peerlog_begin(&l, PEERLOG_INFO, T_DNS, "shutting down");
    peerlog_int(&l, "answered", (long long)answered);
    peerlog_end(&l);
    close(fd);
    return 0;
}

const struct peer_cmd cmd_dnsfail = {
    "dnsfail",
    "  --port PORT [--bind IP (0.0.0.0; :: for IPv6)] [--rcode N (2: SERVFAIL)] [-v]\n"
    "  Answers every DNS query with its id and question and the RCODE, no records; logs each.\n",
    "DNS server that fails every query (SERVFAIL)",
    dnsfail_run,
};
