/* reap.h - the watchdog: a child process that cleans a run up once its parent is gone. */
#ifndef NT_REAP_H
#define NT_REAP_H

#include "base/err.h"

/* Called in the child once the parent has died: remove everything carrying label. */
typedef void (*reap_fn)(const char *host, const char *label);

/* Fork a watchdog child that calls fn(host, label) once this process dies in any way
 * (SIGKILL included): the child holds the read end of a pipe and, on EOF, acts once it is
 * no longer the parent's child (a stray close() in a live parent never reaps). host and
 * label must stay valid (the child has its own copy of memory). Returns the child's pid,
 * or -1 with err filled. host may be NULL (DOCKER_HOST). */
int reap_spawn_watchdog(const char *host, const char *label, reap_fn fn, struct nt_err *err);
#endif
