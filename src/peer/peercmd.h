/* peercmd.h - one natrig-peer subcommand per file (cmd_*.c), each exporting a
 * const struct peer_cmd; main.c only dispatches. Also the option-parsing helpers they share,
 * so every mode reports usage errors the same way (exit status 2). */
#ifndef NT_PEERCMD_H
#define NT_PEERCMD_H

#include <getopt.h>
#include <stdint.h>

#include "base/err.h"
#include "core/peerproto.h"

#define PEERCMD_EXIT_USAGE 2

struct peer_cmd {
    const char *name;
    const char *usage;   /* the options, one per line after "usage: natrig-peer NAME" */
    const char *summary; /* one line for the top-level usage */
    int (*run)(int argc, char **argv); /* argv[0] is the mode name; returns the exit status */
};

extern const struct peer_cmd cmd_gateway, cmd_peer, cmd_echo, cmd_probe, cmd_send, cmd_listen,
    cmd_rtt, cmd_stun_reflect, cmd_portmap, cmd_dnsfail, cmd_every;

/* Print "natrig-peer NAME: <message>" and the usage to stderr. Returns PEERCMD_EXIT_USAGE. */
int peercmd_usage_error(const struct peer_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void peercmd_usage(const struct peer_cmd *cmd, int to_stderr);

/* Walk argv with getopt_long over opts (which must hold "help" -> 'h' and "verbose" -> 'v';
 * everything else long-only). -h prints the usage, -v turns on DEBUG logs; each other option
 * goes to cb, which returns 0, or -1 after filling err. Positional arguments are refused.
 * Returns -1 to go on, or the exit status to end with (0 after --help, 2 on usage errors). */
int peercmd_getopt(const struct peer_cmd *cmd, int argc, char **argv, const struct option *opts,
                   int (*cb)(void *ctx, int opt, const char *arg, struct nt_err *err), void *ctx);

/* Value parsers that fill err with a usage message naming the option. */
int peercmd_port(const char *arg, int allow_zero, uint16_t *out, const char *opt,
                 struct nt_err *err);
/* Answer a datagram from `from` with the text "seen IP:PORT" (what echo and listen --reply
 * send). Returns 0 or -1 with err. */
int peercmd_reply_seen(int fd, const struct peerproto_addr *from, struct nt_err *err);
int peercmd_long(const char *arg, long min, long max, long *out, const char *opt,
                 struct nt_err *err);

#endif
