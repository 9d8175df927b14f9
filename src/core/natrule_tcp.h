/* natrule_tcp.h - private to core/natrule*.c: the TCP half of the NAT ruleset (RFC 5382), one
 * function per place of the ruleset natrule_ruleset.c writes; its options and validation for
 * natrule.c, its tag for natrule_check.c. natrule_tcp.c says how each behaviour
 * is built. */
#ifndef NT_NATRULE_TCP_H
#define NT_NATRULE_TCP_H

#include <stddef.h>

#include "base/err.h"
#include "core/natrule.h"
#include "core/natrule_out.h"

/* natrule_set_option for the tcp_* keys: 1 when key is not TCP's, else 0 or -1 with err. */
int natrule_tcp_option(struct natrule_spec *s, const char *key, const char *value,
                       struct nt_err *err);
/* What TCP needs that the spec cannot give (racy: conntrack's own filtering and its stack's
 * RST). 0 or -1 with err. */
int natrule_tcp_validate(const struct natrule_spec *s, struct nt_err *err);
/* Appends the non-default TCP settings to dst (which holds len bytes of n); returns the new
 * length, or -1 when it does not fit. */
int natrule_tcp_describe(const struct natrule_spec *s, char *dst, size_t n, int len);

/* TCP's identity, "natrig tcp mapping=EIM filtering=APDF syn=drop established=7440
 * transitory=240": chain ct_policy's comment, checked by natrule_check_listing. */
void natrule_tcp_tag(const struct natrule_spec *s, char *dst, size_t n);

/* The objects TCP adds, appended at all[*k] (room for NATRULE_MAX_OBJECTS in all). */
void natrule_tcp_objects(const struct natrule_spec *s, struct natrule_object *all, size_t *k);

/* Sets and maps, the ct timeout policy, then one function per chain natrule_ruleset.c writes:
 * guard (pre selects unsolicited packets to wan_ip), pm_late (the guard's deferred verdict on
 * a portmap router), ct_policy, dnat_in (pre as UDP's), snat_out (pre as UDP's), learn
 * (pre: after NAT, from wan_ip), and the regular chains learn jumps to. */
void natrule_tcp_sets(struct out *o, const struct natrule_spec *s);
void natrule_tcp_guard(struct out *o, const struct natrule_spec *s, const char *pre);
void natrule_tcp_pm_late(struct out *o, const struct natrule_spec *s);
void natrule_tcp_ct_policy(struct out *o);
void natrule_tcp_dnat(struct out *o, const struct natrule_spec *s, const char *pre);
void natrule_tcp_mapping_rules(struct out *o, const struct natrule_spec *s, const char *pre,
                               const char *wan);
void natrule_tcp_learn(struct out *o, const struct natrule_spec *s, const char *wan);
void natrule_tcp_chains(struct out *o, const struct natrule_spec *s);

#endif
