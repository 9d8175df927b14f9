/* natrule_out.h - the one writer of nftables ruleset text (natrule_out.c), shared by the NAT
 * ruleset (natrule_ruleset.c, its TCP and IPv6 pieces) and the CGN's (natrule_cgn.c). Not a
 * public interface. */
#ifndef NT_NATRULE_OUT_H
#define NT_NATRULE_OUT_H

#include <stdarg.h>

#include "base/buf.h"

/* The ruleset text being written: one failed append marks it failed, and later writes do
 * nothing, so a writer checks `failed` once at its end. */
struct out {
    struct buf *b;
    int failed;
};

/* Append one formatted piece (under 1024 bytes: every line is built from short names and
 * addresses, so a longer one is a bug and fails the text). */
void natrule_vemit(struct out *o, const char *fmt, va_list ap);

static inline void natrule_emit(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void natrule_emit(struct out *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    natrule_vemit(o, fmt, ap);
    va_end(ap);
}

/* A learned set or map with a timeout, after a comment line saying why. */
void natrule_emit_dynset(struct out *o, const char *kind, const char *name, const char *type,
                         unsigned timeout, const char *why);

#endif
