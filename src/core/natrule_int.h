/* natrule_int.h - what natrule.c shares with its family-specific part natrule_fw6.c (the
 * IPv6 firewall): the text writer and the pieces of the ruleset both families emit. Not a
 * public interface. */
#ifndef NT_NATRULE_INT_H
#define NT_NATRULE_INT_H
#include <stdarg.h>
#include <stdio.h>

#include "core/natrule.h"
#include "core/natrule_tcp.h"

/* struct out and natrule_vemit: natrule_tcp.h's, the one writer of the ruleset text. */
static inline void natrule_emit(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void natrule_emit(struct out *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    natrule_vemit(o, fmt, ap);
    va_end(ap);
}

/* A learned set or map with the spec's timeout. */
void natrule_emit_dynset(struct out *o, const char *kind, const char *name, const char *type,
                         unsigned timeout, const char *why);

/* The family 6 pieces (natrule_fw6.c). */
int natrule_fw6_validate(const struct natrule_spec *s, struct nt_err *err);
/* Options of family 6 only (npt6): 0, -1 with err, or 1 when key is not one of them. */
int natrule_fw6_option(struct natrule_spec *s, const char *key, const char *value,
                       struct nt_err *err);
void natrule_fw6_lan_elements(struct out *o, const struct natrule_spec *s);
void natrule_fw6_body(struct out *o, const struct natrule_spec *s);
size_t natrule_fw6_objects(const struct natrule_spec *s, struct natrule_object *out, size_t max);
int natrule_fw6_check_lans(const struct natrule_spec *s, const char *blk, size_t len,
                           struct nt_err *err);
#endif
