/* tail.h - files followed as they grow, woken by inotify (no polling): a set of files,
 * each read from where its reader stopped, in pieces of the reader's size. One inotify
 * instance for the set, one watch per directory (IN_MODIFY for writes, IN_CREATE and
 * IN_MOVED_TO for a successor), so a writer that rotates (renames the file away and makes
 * a new one under its name, as the engine's json-file driver does at max-size) is
 * followed: the old file, still open, is read to its end first, then its successor from
 * its start (a reader more than one rotation behind finds each successor by its rotated
 * name, <path>.1, .2...). A file cut short in place (max-file 1) is read again from its start. Used
 * by src/lua/l_logtail.c for the engine's json-file logs; knows nothing of their format. */
#ifndef NT_TAIL_H
#define NT_TAIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"

/* Rotated files looked for (<path>.1 .. <path>.N): the json-file driver's max-file. */
#define TAIL_ROTATED_MAX 16

struct tail_set;

/* A new set, or NULL with err filled when the kernel gives no inotify instance. */
struct tail_set *tail_set_new(struct nt_err *err);
void tail_set_free(struct tail_set *ts);

/* The inotify descriptor (readable when a followed file may have grown). */
int tail_set_fd(const struct tail_set *ts);

/* Follow the file at path from its start (it must exist and be readable), and from the
 * oldest file rotated away before (<path>.N .. <path>.1) when there are. Returns its id
 * (>= 0, reused after tail_remove), or -1 with err filled (the path and why). */
int tail_add(struct tail_set *ts, const char *path, struct nt_err *err);
void tail_remove(struct tail_set *ts, int id);
/* The number of files followed. */
int tail_count(const struct tail_set *ts);

/* Take the events that have come (non-blocking) and mark their files ready. Returns the
 * number of files ready. A queue overflow marks every file ready. */
int tail_collect(struct tail_set *ts);
/* Wait up to timeout_ms for events. 1: events came, 0: none, -1: a signal came. */
int tail_wait(struct tail_set *ts, int timeout_ms);
/* The first ready file at or after id `from` (wrapping around), or -1 when none is ready. */
int tail_next_ready(const struct tail_set *ts, int from);
/* Whether file id is ready (the events say it grew, or its last read filled the buffer). */
int tail_ready(const struct tail_set *ts, int id);
/* Mark a file ready (its reader wants it read again whatever the events say). */
void tail_mark(struct tail_set *ts, int id);

/* Up to cap bytes of file id from where its reader stopped, into buf. Returns the bytes
 * (0: nothing new; the file is then not ready until an event says it grew), or -1 with err
 * filled. *final: these are the last bytes of a file rotated away (the reader must take
 * them all: nothing will complete a line cut there). A read that fills buf leaves the file
 * ready. Nothing is consumed until tail_advance. */
ssize_t tail_peek(struct tail_set *ts, int id, char *buf, size_t cap, int *final,
                  struct nt_err *err);
/* The reader took n bytes of what tail_peek returned. */
void tail_advance(struct tail_set *ts, int id, size_t n);

struct tail_info {
    uint64_t offset;      /* bytes taken of the current file */
    uint64_t taken;       /* bytes taken over every file (rotations included) */
    unsigned rotations;   /* successors opened after a rotation */
    unsigned truncations; /* times the file was found cut short and read again */
    unsigned lost;        /* rotations whose file was gone before it was read to its end */
};
void tail_info(const struct tail_set *ts, int id, struct tail_info *out);

#endif
