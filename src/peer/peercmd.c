/* peercmd.c - shared option handling for natrig-peer's subcommands (see peercmd.h). */
#include "peer/peercmd.h"

#include <stdarg.h>
#include <stdio.h>

#include "peer/peerlog.h"
#include "peer/peernet.h"

void peercmd_usage(const struct peer_cmd *cmd, int to_stderr)
{
    FILE *f = to_stderr ? stderr : stdout;

    fprintf(f, "usage: natrig-peer %s\n%s", cmd->name, cmd->usage);
}

int peercmd_usage_error(const struct peer_cmd *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "natrig-peer %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    peercmd_usage(cmd, 1);
    return PEERCMD_EXIT_USAGE;
}

int peercmd_getopt(const struct peer_cmd *cmd, int argc, char **argv, const struct option *opts,
                   int (*cb)(void *ctx, int opt, const char *arg, struct nt_err *err), void *ctx)
{
    struct nt_err err = {0};
    int c;

    opterr = 0;
    optind = 0; /* 0 makes glibc reinitialise fully */
    for (;;) {
        /* '+': stop at the first non-option; ':': tell a missing value from an unknown one */
        c = getopt_long(argc, argv, "+:hv", opts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'h':
            peercmd_usage(cmd, 0);
            return 0;
        case 'v':
            peerlog_set_level(PEERLOG_DEBUG);
            break;
        case ':':
            return peercmd_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        case '?':
            /* also a value given to a flag ("--reply=x"); the token itself says which */
            return peercmd_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        default:
            if (cb(ctx, c, optarg, &err) < 0)
                return peercmd_usage_error(cmd, "%s", err.msg);
        }
    }
    if (optind < argc)
        return peercmd_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return -1;
}

int peercmd_port(const char *arg, int allow_zero, uint16_t *out, const char *opt,
                 struct nt_err *err)
{
    long v;

    if (peerproto_parse_long(arg, allow_zero ? 0 : 1, 65535, &v, opt, err) < 0)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

int peercmd_long(const char *arg, long min, long max, long *out, const char *opt,
                 struct nt_err *err)
{
    return peerproto_parse_long(arg, min, max, out, opt, err);
}

int peercmd_reply_seen(int fd, const struct peerproto_addr *from, struct nt_err *err)
{
    char text[8 + PEERPROTO_ADDR_STRLEN], b[PEERPROTO_ADDR_STRLEN];
    int n = snprintf(text, sizeof text, "seen %s", peerproto_addr_format(from, b, sizeof b));

    return peernet_send(fd, text, (size_t)n, from, err);
}
