/* cmd_portmap.c - `natrig-peer stun-reflect`: the STUN answer that tells the router's
 * miniupnpd which external address to claim (see core/portmap.h for why). It listens on
 * one address (the router's loopback) and answers every Binding request with
 * XOR-MAPPED-ADDRESS = --ext : the request's source port. Runs until SIGINT/SIGTERM. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/portmap.h"
#include "peer/peercmd.h"
#include "peer/peernet.h"

enum { OPT_LISTEN = 256, OPT_EXT };

struct reflect_opts {
    struct peerproto_addr listen, ext;
    int has_listen, has_ext;
};

static int reflect_opt(void *ctx, int opt, const char *arg, struct nt_err *err)
{
    struct reflect_opts *o = ctx;
    char buf[32];

    switch (opt) {
    case OPT_LISTEN:
        o->has_listen = 1;
        return peerproto_parse_endpoint(arg, &o->listen, "--listen", err);
    case OPT_EXT:
        o->has_ext = 1;
        snprintf(buf, sizeof buf, "%s:1", arg);
        return peerproto_parse_endpoint(buf, &o->ext, "--ext", err);
    }
    return nt_err_set(err, NT_EINVAL, "options", "unhandled option");
}

static int reflect_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"ext", required_argument, NULL, OPT_EXT},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct reflect_opts o;
    struct nt_err err = {0};
    uint8_t in[1500], out[PORTMAP_STUN_REPLY_LEN];
    long answered = 0;
    int rc, fd;

    memset(&o, 0, sizeof o);
    rc = peercmd_getopt(&cmd_stun_reflect, argc, argv, opts, reflect_opt, &o);
    if (rc < 0 && (!o.has_listen || !o.has_ext))
        rc = peercmd_usage_error(&cmd_stun_reflect, "needs --listen IP:PORT and --ext IP");
    if (rc >= 0)
        return rc;
    peernet_signals_init();
    fd = peernet_udp_bind(o.listen.ip, o.listen.port, &err);
    if (fd < 0) {
        fprintf(stderr, "natrig-peer stun-reflect: %s\n", err.msg);
        return 1;
    }
    printf("stun-reflect listening\n");
    fflush(stdout);
    for (;;) {
        struct peerproto_addr from;
        long n;
        int w = peernet_wait(fd, -1);

        if (w < 0)
            break;
        while ((n = peernet_recv(fd, in, sizeof in, &from)) >= 0) {
            int len = portmap_stun_answer(in, (size_t)n > sizeof in ? sizeof in : (size_t)n,
                                          o.ext.ip, from.port, out, sizeof out);
            if (len > 0 && peernet_send(fd, out, (size_t)len, &from, &err) == 0)
                answered++;
        }
    }
    close(fd);
    printf("stun-reflect answered %ld\n", answered);
    return 0;
}

const struct peer_cmd cmd_stun_reflect = {
    "stun-reflect",
    "  --listen IPv4:PORT --ext IPv4\n"
    "  Answer every STUN Binding request with XOR-MAPPED-ADDRESS = EXT:<source port>: how\n"
    "  natrig tells a router's miniupnpd the external address to claim. Until SIGINT/SIGTERM.\n",
    "tell a router's miniupnpd its external address (STUN)",
    reflect_run,
};
