/* jsonlog.h - the engine's json-file log, decoded: the file the json-file log driver writes
 * for a container holds one JSON object a line,
 *     {"log":"text\n","stream":"stdout","time":"2026-12-07T06:03:51.123456789Z"}
 * (keys in any order; others, such as "attrs", skipped). A line the app wrote longer than
 * the engine's buffer comes as several objects, only the last one ending with "\n".
 * jsonlog_convert turns whole lines of such a file into what the engine's follow stream
 * carries with timestamps on (each line "<time> <text>"), so the log store (core/logstore)
 * takes both alike. Pure: no I/O. */
#ifndef NT_JSONLOG_H
#define NT_JSONLOG_H

#include <stddef.h>

enum jsonlog_stream { JSONLOG_STDOUT = 0, JSONLOG_STDERR = 1, JSONLOG_OTHER = 2 };

/* Room for a time (the engine writes 20 to 30 characters; more is refused). */
#define JSONLOG_TS_MAX 40

struct jsonlog_line {
    enum jsonlog_stream stream;
    /* "time" as the follow stream prefixes it: a UTC time's fraction padded to 9 digits;
     * any other text as it was */
    char ts[JSONLOG_TS_MAX];
    size_t ts_n;
    char *log; /* the text, unescaped, in the caller's buffer */
    size_t log_n;
};

/* Decode one line (p, n bytes, without its '\n'). The text is unescaped into dst, which
 * must hold n bytes (unescaping never grows it). Returns 0, or -1 when the line is no
 * json-file record (not an object, no "log" string, a bad escape, a time too long). */
int jsonlog_decode(const char *p, size_t n, char *dst, struct jsonlog_line *out);

/* A file's conversion state: per stream, whether its last record ended mid-line (then the
 * next one continues that line, without a prefix of its own). Zero-initialise. */
struct jsonlog_conv {
    int mid_line[2];
    size_t lines, bad; /* records converted; lines that were not records (skipped) */
};

/* emit(ud, stream, text, n): a run of converted text of one stream (JSONLOG_STDOUT or
 * JSONLOG_STDERR), in the file's order. */
typedef void (*jsonlog_emit_fn)(void *ud, int stream, const char *p, size_t n);

/* Bytes of out that converting a piece of n bytes may need. */
#define JSONLOG_OUT_NEED(n) ((n) + JSONLOG_TS_MAX + 2)

/* Convert the whole lines of [p, p + n) (up to its last '\n'; everything when last is
 * set: the piece ends the file for good) into out (JSONLOG_OUT_NEED of the longest line at
 * least; emitted whenever it could not take the next record), calling emit for each run of
 * one stream. Records of streams other than stdout and stderr are skipped. Returns the
 * bytes consumed; the rest (a line not yet whole) is the caller's to offer again. */
size_t jsonlog_convert(struct jsonlog_conv *c, const char *p, size_t n, int last, char *out,
                       size_t out_cap, jsonlog_emit_fn emit, void *ud);

#endif
