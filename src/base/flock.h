/* flock.h - advisory whole-file locks (flock) that many processes share or one holds
 * alone, e.g. natrig runs (shared) against natrig image prune (exclusive). */
#ifndef NT_FLOCK_H
#define NT_FLOCK_H

/* Open path (created 0644 when absent) and try once to lock it, shared or exclusive,
 * without waiting. Returns the descriptor that holds the lock (close it to release), or
 * -1 with errno set: EWOULDBLOCK when another descriptor holds a conflicting lock. */
int nt_flock_try(const char *path, int exclusive);
#endif
