/* peerlog.h - natrig-peer's log lines, written to stdout in the text format of Rust's
 * `tracing` (fmt subscriber, UTC timestamps) so natrig's log parser reads natrig-peer exactly
 * like Freenet:
 *
 *   2026-11-24T13:11:17.123456Z  INFO natrig_peer::punch: hole punched remote=b attempts=3
 *
 * A line is built field by field (peerlog_begin, peerlog_str/int/..., peerlog_end) so each
 * value is quoted on its own when it needs it. Lines are at most PEERLOG_LINE_MAX bytes;
 * longer ones are cut, never overflowed. Uses core/peerproto.h for addresses. */
#ifndef NT_PEERLOG_H
#define NT_PEERLOG_H

#include <stddef.h>
#include <stdio.h>

#include "core/peerproto.h"

#define PEERLOG_LINE_MAX 1024

enum peerlog_level { PEERLOG_ERROR, PEERLOG_WARN, PEERLOG_INFO, PEERLOG_DEBUG };

struct peerlog_line {
    char buf[PEERLOG_LINE_MAX];
    size_t len;
    int on; /* 0 when the level is filtered out: the field calls then do nothing */
};

/* Make stdout line-buffered and read the level from NATRIG_PEER_LOG (error, warn, info,
 * debug; default info). */
void peerlog_init(void);
void peerlog_set_level(enum peerlog_level max);
int peerlog_enabled(enum peerlog_level level);

void peerlog_begin(struct peerlog_line *l, enum peerlog_level level, const char *target,
                   const char *msg);
/* key=value; the value is quoted (Rust Debug style escapes) when empty or when it holds a
 * space, '"', '=', '\\' or a control byte. */
void peerlog_str(struct peerlog_line *l, const char *key, const char *val);
void peerlog_int(struct peerlog_line *l, const char *key, long long val);
void peerlog_addr(struct peerlog_line *l, const char *key, const struct peerproto_addr *a);
void peerlog_fmt(struct peerlog_line *l, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Write the line (one write, then flushed by line buffering). */
void peerlog_end(struct peerlog_line *l);

/* A rejected datagram: WARN for the first 10 and then at each power of two of st->bad_total,
 * DEBUG otherwise, so garbage floods cannot flood the log. */
void peerlog_bad_datagram(const char *target, const struct peerproto_stats *st,
                          enum peerproto_bad why, const struct peerproto_addr *from, size_t len);

/* Copy n bytes to f on one line: printable ASCII as is, '\\' as "\\\\", others as "\\xNN". */
void peerlog_print_escaped(FILE *f, const void *p, size_t n);

#endif
