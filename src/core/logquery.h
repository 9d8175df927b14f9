/* logquery.h - a log query (node:logs{ level, target, stream, since, until, message,
 * match, fields }) tested against stored records (core/logstore) without building
 * anything: the index first (level, times, stream, message hash), the text only when
 * needed. A `match` that is a Lua pattern with magic characters is left to the caller (the
 * binding runs it in Lua on the candidates): logquery_test says LOGQUERY_PATTERN then. Pure.
 *
 * Semantics, as lua/natrig/logs.lua's matches() had them: level is a minimum (an entry
 * without one has none); target is a prefix of the entry's (non-empty) target; since and
 * until bound the entry's time, the engine's when known, else the line's own, else 0, as
 * seconds in a double; message is one of a list, exactly; match is searched in the message,
 * a space and the raw text (the raw text alone when the message is empty); fields all
 * equal, as text (the last of a repeated key counts). */
#ifndef NT_LOGQUERY_H
#define NT_LOGQUERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/logparse.h"
#include "core/logstore.h"

#define LOGQUERY_ANY_STREAM (-2)
#define LOGQUERY_NO_STREAM (-1) /* a stream the store never saw: nothing matches */

enum logquery_result { LOGQUERY_NO, LOGQUERY_YES, LOGQUERY_PATTERN };

struct logquery {
    int level; /* the least enum logparse_level, 0 for any */
    const char *target;
    size_t target_n;
    int has_target;
    int stream; /* a stream id, or LOGQUERY_ANY_STREAM / LOGQUERY_NO_STREAM */
    int has_since, has_until;
    double since, until;
    const struct logparse_span *messages; /* the caller's, nmessages of them */
    const uint32_t *message_hashes;       /* logstore_hash of each, same order */
    int nmessages;
    const char *match; /* plain text, or a Lua pattern when match_pattern */
    size_t match_n;
    int has_match, match_pattern;
    const struct logparse_field *fields; /* the caller's */
    int nfields;
};

/* Whether the Lua pattern pat (n bytes) means plain text: no magic character but escaped
 * punctuation (%- %. %%...). Writes that text to out (n bytes are enough) and its length to
 * *out_n; returns 1, or 0 when the pattern needs Lua. */
int logquery_literal(const char *pat, size_t n, char *out, size_t *out_n);

/* The entry's time for since/until, in seconds. */
double logquery_when(const struct logstore_view *v);

/* The text `match` searches: message, " ", raw (raw alone when the message is empty),
 * written to *buf (grown with realloc as needed, *cap its size). Returns its length. */
size_t logquery_hay(const struct logstore_view *v, char **buf, size_t *cap);

/* Whether spill chunk c may hold a match of q (0: skip it): its levels, streams, times
 * and message hashes. */
int logquery_chunk_may(const struct logquery *q, const struct logstore_chunk *c);

/* Test record v against q. scratch/cap: a buffer the test may grow (realloc) and reuse. */
enum logquery_result logquery_test(const struct logquery *q, const struct logstore_view *v,
                                   char **scratch, size_t *cap);

#endif
