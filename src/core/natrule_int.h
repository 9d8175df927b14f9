/* natrule_int.h - what the parts of core/natrule share and nobody else uses: the spec's tag
 * (natrule_ruleset.c writes it, natrule_check.c looks for it) and the family 6 pieces
 * (natrule_fw6.c, the IPv6 firewall) that the spec, the ruleset and the checker call. The
 * text writer is natrule_out.h's. Not a public interface. */
#ifndef NT_NATRULE_INT_H
#define NT_NATRULE_INT_H

#include <stddef.h>

#include "core/natrule.h"
#include "core/natrule_out.h"

/* The table comment: "natrig <describe without TCP> wan_ip=<ip>", cut to n. */
void natrule_spec_tag(const struct natrule_spec *s, char *dst, size_t n);

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
