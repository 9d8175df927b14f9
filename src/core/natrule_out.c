/* natrule_out.c - the one writer of nftables ruleset text, shared by natrule_ruleset.c,
 * natrule_tcp.c, natrule_fw6.c and natrule_cgn.c: bounded lines appended to a buf, one
 * failure sticky. Pure. */
#include "core/natrule_out.h"

#include <stdio.h>

void natrule_vemit(struct out *o, const char *fmt, va_list ap)
{
    char line[1024];
    int n;

    if (o->failed)
        return;
    n = vsnprintf(line, sizeof line, fmt, ap);
    /* Every line is built from short names and addresses; one this long is a bug here. */
    if (n < 0 || (size_t)n >= sizeof line || buf_append(o->b, line, (size_t)n) < 0)
        o->failed = 1;
}

void natrule_emit_dynset(struct out *o, const char *kind, const char *name, const char *type,
                         unsigned timeout, const char *why)
{
    natrule_emit(o, "\t# %s\n", why);
    natrule_emit(o, "\t%s %s {\n\t\ttype %s\n\t\tflags dynamic,timeout\n\t\ttimeout %us\n\t}\n",
                 kind, name, type, timeout);
}
