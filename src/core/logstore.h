/* logstore.h - a node's log kept in C: pieces of its streams in, entries out. Lines are
 * split, parsed (core/logparse), joined to the entry above when they continue it, dropped
 * when a re-attach repeats them, and appended to an arena as records: a fixed index (times,
 * level, format, stream, lengths) followed by the entry's text. Queries (core/logquery)
 * read the index first and the text only when they must. Pure: no I/O. The caller (the
 * Lua binding, src/lua/l_log.c) writes what the store hands it: kept lines for the node's
 * raw log, and the older half of the records when the arena is over its budget (the spill
 * file), which it reads back for queries with logstore_next.
 *
 * Semantics are those lua/natrig/logs.lua had when entries were Lua tables:
 *  - a line is split at '\n', one trailing '\r' dropped, empty lines skipped; a pending
 *    line longer than LOGSTORE_LINE_MAX without a newline is taken as it is;
 *  - a line that logparse_is_continuation says continues the node's last entry (same
 *    stream, within 50 ms of the entry's last line by the engine's clock when both have
 *    one) is appended to it: raw and message each get "\n" and the line (up to
 *    LOGSTORE_ENTRY_MAX bytes an entry: an endless run of them cannot hold the arena);
 *  - per stream, a line stamped earlier than the last one seen, or at the same time with
 *    the same text, is a repeat after a re-attach and dropped;
 *  - entries are numbered (seq) from 1 in arrival order, across streams. */
#ifndef NT_LOGSTORE_H
#define NT_LOGSTORE_H

#include <stddef.h>
#include <stdint.h>

#define LOGSTORE_LINE_MAX 1048576      /* a line without newline is cut here */
#define LOGSTORE_STREAMS 64            /* stream names a store tells apart */
#define LOGSTORE_CONT_NS 50000000      /* a continuation comes within 50 ms of the entry's tail */
#define LOGSTORE_MIN_KEEP 16           /* never spill a store holding fewer entries */
#define LOGSTORE_ENTRY_MAX (16u << 20) /* a continuation beyond this starts an entry */

/* The index of one entry as stored (unaligned in the arena: read with logstore_rec_at).
 * Its text follows in this order: target, spans, thread, location, the fields (nfields
 * times: u32 key length, u32 value length, key, value), the message as parsed (msg_n), the
 * line (raw_n, without the engine's timestamp) and what continuation lines added (cont_n,
 * each "\n" + line), which belongs to both: raw is raw + cont, message is msg + cont. */
struct logstore_rec {
    uint32_t size; /* the whole record, this index included */
    uint32_t msg_hash;
    int64_t seq;
    int64_t engine_ts_ns, ts_ns, tail_ts_ns; /* -1 when absent */
    uint32_t flags;
    uint8_t level, format, stream, nfields;
    uint32_t target_n, spans_n, thread_n, loc_n, fields_n, msg_n, raw_n, cont_n;
};

#define LOGSTORE_REC_HDR sizeof(struct logstore_rec)

/* A record's text, pointers into the bytes it was read from. */
struct logstore_view {
    struct logstore_rec h;
    const char *target, *spans, *thread, *loc, *fields, *msg, *raw, *cont;
};

struct logstore;

/* What the store asks of its owner. on_entry: an entry was added (grown: 1 when a
 * continuation line was appended to it); off is its offset in the arena (logstore_mem).
 * on_spill: write these n bytes (whole records, oldest first) to the spill; return 0 when
 * written, -1 to keep them in memory. on_disk: n bytes of kept lines ("\n"-terminated,
 * engine prefix included) for the raw log. Any may be NULL. */
struct logstore_hooks {
    void *ud;
    void (*on_entry)(void *ud, struct logstore *st, size_t off, int grown);
    int (*on_spill)(void *ud, const char *p, size_t n);
    void (*on_disk)(void *ud, const char *p, size_t n);
};

struct logstore *logstore_new(const struct logstore_hooks *hooks);
void logstore_free(struct logstore *st);

/* The stream id for name (created on first use), or -1 when LOGSTORE_STREAMS are taken. */
int logstore_stream(struct logstore *st, const char *name, size_t n);
/* A stream's name ("" for an unknown id). */
const char *logstore_stream_name(const struct logstore *st, int id);
/* The id of name if the store has seen it, else -1. */
int logstore_stream_find(const struct logstore *st, const char *name, size_t n);

/* The partial line after a piece's last '\n', owned by whoever feeds: a follow and a
 * fetch of the same stream each have their own. Zero-initialise; free with
 * logstore_pending_free. */
struct logstore_pending {
    char *p;
    size_t n, cap;
};
void logstore_pending_free(struct logstore_pending *pend);

/* Feed a piece of a stream. engine_prefix: its lines start with the engine's timestamp.
 * budget: bytes of records to keep in memory before spilling the older half. */
void logstore_feed(struct logstore *st, int stream, struct logstore_pending *pend, const char *p,
                   size_t n, int engine_prefix, size_t budget);
/* The stream ended: its pending partial line, if any, is taken as a line. */
void logstore_flush(struct logstore *st, int stream, struct logstore_pending *pend,
                    int engine_prefix, size_t budget);

/* What one spill (one on_spill call: whole records, consecutive) holds, so a query reads
 * only the chunks that may match (core/logquery's logquery_chunk_may). Times are the
 * entries' times as queries see them (engine, else the line's own, else 0). */
struct logstore_chunk {
    uint64_t off, size; /* where in the spill */
    int64_t min_ns, max_ns;
    int64_t first_seq, count;
    uint64_t streams;  /* bit i: stream id i */
    uint64_t bloom[4]; /* 2 bits of 256 per whole message's logstore_hash */
    uint8_t max_level;
};

/* The spill's chunks, oldest first. */
const struct logstore_chunk *logstore_chunks(const struct logstore *st, size_t *n);

/* The bloom bits of a message hash. */
#define LOGSTORE_BLOOM_A(h) ((h)&255u)
#define LOGSTORE_BLOOM_B(h) (((h) >> 8) & 255u)

/* The in-memory records: arena bytes [0, *len). */
const char *logstore_mem(const struct logstore *st, size_t *len);

struct logstore_stats {
    int64_t seq;          /* entries so far (the last one's seq) */
    int64_t spilled;      /* entries moved to the spill */
    int64_t in_memory;    /* entries in the arena */
    size_t mem_bytes;     /* arena bytes in use */
    size_t spill_bytes;   /* bytes handed to on_spill */
    int64_t last_ts_ns;   /* the newest entry's engine time, -1 when none */
    int64_t resume_ts_ns; /* the earliest of the streams' last engine times, -1 when none */
};
void logstore_stats(const struct logstore *st, struct logstore_stats *out);

/* The record at p (n bytes available): fills *v and returns its size, or 0 when the bytes
 * hold no whole, well-formed record (cut, or garbage). */
size_t logstore_rec_at(const char *p, size_t n, struct logstore_view *v);

/* The i-th field of v (i < nfields); returns 0, or -1 when the record is malformed. */
int logstore_field(const struct logstore_view *v, int i, const char **k, size_t *kn,
                   const char **val, size_t *vn);

/* FNV-1a (32 bits) of a message, what msg_hash holds; logstore_hash_more continues one. */
uint32_t logstore_hash(const char *p, size_t n);
uint32_t logstore_hash_more(uint32_t h, const char *p, size_t n);

/* The arena record for one parsed line, for tests and fuzzers: encodes e (parsed from the
 * line of len bytes without its engine prefix) into out (cap bytes). Returns the record's
 * size, or the size needed when cap is too small. */
#include "core/logparse.h"
size_t logstore_encode(const struct logparse_entry *e, const char *raw, size_t raw_n, int64_t seq,
                       int stream, char *out, size_t cap);

#endif
