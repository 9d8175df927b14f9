/* reap.h - remove every container and network carrying a label filter, containers first
 * (a network refuses removal while endpoints remain), all removals in flight at once. */
#ifndef NT_REAP_H
#define NT_REAP_H

#include "engine/engine.h"

/* label: "natrig.run=abc" or "natrig". Counts go to *containers / *networks (may be NULL).
 * Returns 0, or -1 with err filled when listing failed or something could not be removed. */
int reap_label(struct engine *e, const char *label, int *containers, int *networks,
               struct nt_err *err);

/* Fork a reaper child that removes everything labelled `label` once this process dies in
 * any way (SIGKILL included): the child holds the read end of a pipe and reaps on EOF.
 * Returns the child's pid, or -1 with err filled. host may be NULL (DOCKER_HOST). */
int reap_spawn_watchdog(const char *host, const char *label, struct nt_err *err);
#endif
