/* logparse.h - turn one container log line into a structured entry, fast and without
 * allocating. Understands the Docker engine's timestamp prefix, ANSI colour sequences,
 * Rust tracing text output (tracing-subscriber's full and compact formats), JSON lines
 * (tracing-subscriber's and generic ones) and falls back to plain text. Pure: no I/O.
 *
 * Ownership: functions borrow their inputs. An entry owns no memory: each span points
 * either into the caller's line or into the caller's scratch buffer, so an entry stays
 * valid while both are unchanged. Spans are never NULL (empty ones point at a static ""),
 * are not NUL-terminated and may hold any byte, including NUL and invalid UTF-8.
 *
 * Recognition rules, in order:
 *  1. Trailing CR/LF and blanks are dropped.
 *  2. Engine prefix: with LOGPARSE_OPT_ENGINE_TS, a leading RFC 3339 timestamp (with 'T' and
 *     a zone) plus one space goes to engine_ts_ns. Without it, the prefix is taken only when
 *     a second timestamp follows it, since an application timestamp looks the same.
 *  3. If the rest holds an ESC byte, it is copied into scratch without escape sequences
 *     (CSI, OSC, other ESC sequences) and parsed from there.
 *  4. A line starting with '{' is parsed as one JSON object. Top-level keys timestamp, time,
 *     ts, @timestamp set ts_ns (RFC 3339 string, or epoch number in s/ms/us/ns by size);
 *     level, lvl, severity, levelname, log.level set level (names, or pino numbers 10..60);
 *     msg, message, @message set message; target, logger, logger_name set target;
 *     "fields" (tracing) contributes its "message" and its scalars; "spans" (else "span")
 *     is rendered into spans as "name{k=v k2=v2}:name2"; every other scalar becomes a
 *     field (strings unescaped, numbers and literals verbatim). Any syntax error (a cut
 *     line, trailing bytes, nesting deeper than 64) makes the line plain with
 *     LOGPARSE_F_BAD_JSON.
 *  5. Text header: [ThreadId(N)] [timestamp] [ThreadId(N)] [LEVEL] [thread ThreadId(N)]
 *     [spans: ] [target: ] [file.rs:line: ]. A timestamp or a level is needed. Levels are
 *     TRACE DEBUG INFO WARN WARNING ERROR in any case; without a timestamp a level must be
 *     upper case or be followed by a target, so "info about x" stays plain. Spans are a
 *     token holding {fields}, e.g. "conn{peer=a}:req{id=1}:", or the names before the
 *     target in compact output ("conn:req:freenet::x:"); a token without "::" followed by
 *     one with "::" is a field-less span before the target. The message runs to the
 *     trailing run of key=value fields: keys are [A-Za-z_][A-Za-z0-9_.]*, values are
 *     "quoted" with Rust escapes (\n \t \r \0 \\ \" \' \u{..}, unescaped into scratch) or
 *     bare up to a space outside ()[]{} and quotes (so Debug output like
 *     "Os { code: 111 }" is one value). Free text such as "x = y" or "a=b and c" is not a
 *     field because a field run must reach the end of the line.
 *  6. Anything else is plain: the whole line (leading blanks kept) is the message. A Rust
 *     panic head ("thread 'x' panicked at ...") gets level ERROR so it opens an entry.
 */
#ifndef NT_LOGPARSE_H
#define NT_LOGPARSE_H

#include <stddef.h>
#include <stdint.h>

enum logparse_level {
    LOGPARSE_LEVEL_NONE,
    LOGPARSE_LEVEL_TRACE,
    LOGPARSE_LEVEL_DEBUG,
    LOGPARSE_LEVEL_INFO,
    LOGPARSE_LEVEL_WARN,
    LOGPARSE_LEVEL_ERROR,
};

enum logparse_format {
    LOGPARSE_FMT_PLAIN,   /* nothing recognised; message is the line */
    LOGPARSE_FMT_TRACING, /* a text header (timestamp and/or level) was recognised */
    LOGPARSE_FMT_JSON,    /* one well-formed JSON object */
};

#define LOGPARSE_MAX_FIELDS 32

/* Options for logparse_line. */
#define LOGPARSE_OPT_ENGINE_TS 0x1u /* every line starts with the engine's "<RFC 3339> " */

/* Entry flags: set when the entry is not the whole story. */
#define LOGPARSE_F_FIELDS_DROPPED 0x1u /* more than LOGPARSE_MAX_FIELDS fields; the rest dropped */
#define LOGPARSE_F_SCRATCH_FULL 0x2u   /* scratch too small: some text is cut short */
#define LOGPARSE_F_UNTERMINATED 0x4u   /* a quoted value ran to the end of the line */
#define LOGPARSE_F_BAD_JSON 0x8u       /* started with '{' but did not parse; kept as plain */

struct logparse_span {
    const char *p;
    size_t n;
};

struct logparse_field {
    struct logparse_span key, val;
};

struct logparse_entry {
    int64_t engine_ts_ns; /* ns since the epoch from the engine prefix, -1 when absent */
    int64_t ts_ns;        /* ns since the epoch from the line itself, -1 when absent */
    enum logparse_level level;
    enum logparse_format format;
    struct logparse_span thread;   /* "ThreadId(02)" or "worker ThreadId(02)" */
    struct logparse_span spans;    /* "conn{peer=a}:req", as printed (JSON: rendered so) */
    struct logparse_span target;   /* "freenet::node::network_bridge" */
    struct logparse_span location; /* "src/node.rs:42" when with_file/with_line_number */
    struct logparse_span message;
    struct logparse_field fields[LOGPARSE_MAX_FIELDS]; /* only the first nfields are set */
    int nfields;
    unsigned flags; /* LOGPARSE_F_* */
};

/* Parse one line of len bytes (need not be NUL-terminated; line may be NULL when len is
 * 0) into *out, which is fully overwritten. opts is 0 or LOGPARSE_OPT_ENGINE_TS. scratch
 * (scratch_cap bytes, may be NULL when 0) receives the ANSI-stripped copy and unescaped
 * values; 2 * len bytes are always enough, with less the text is cut short (possibly
 * inside a UTF-8 sequence) and LOGPARSE_F_SCRATCH_FULL is set. Never reads past len, never
 * writes past scratch_cap, never fails: unrecognised input is a plain entry. Returns the
 * number of scratch bytes used, so a caller may parse several lines into one scratch
 * buffer by passing scratch + used. */
size_t logparse_line(const char *line, size_t len, unsigned opts, char *scratch,
                     size_t scratch_cap, struct logparse_entry *out);

/* Whether entry e (just parsed) continues head, the entry being assembled (NULL: none), so
 * the caller appends e's line to head instead of starting a new entry. Only head's format
 * and level are read, so a copy whose spans went stale is fine. The rule:
 *  - never with no head, nor for a JSON or tracing line, nor for a panic head;
 *  - after a structured head (tracing, JSON, or a plain line with a level such as a
 *    panic head) every plain line continues it, blank ones included: panic messages,
 *    "note: run with `RUST_BACKTRACE=1`", "stack backtrace:", frames, multi-line
 *    messages;
 *  - after a plain head only indented lines (space or tab), "stack backtrace:" and
 *    "note: " lines continue it, so a program printing plain lines keeps one entry each.
 * Returns 1 or 0. */
int logparse_is_continuation(const struct logparse_entry *head, const struct logparse_entry *e);

/* "TRACE" "DEBUG" "INFO" "WARN" "ERROR", "NONE" for LOGPARSE_LEVEL_NONE and unknown values. */
const char *logparse_level_name(enum logparse_level level);

/* Level for a name, case-insensitive, for filters and JSON: trace debug info warn warning
 * error, plus notice (info) and err fatal critical crit panic alert emerg emergency
 * (error). Returns the enum logparse_level value, or -1 when unknown (also for "none"). */
int logparse_level_from(const char *s, size_t n);

/* "plain" "tracing" "json". */
const char *logparse_format_name(enum logparse_format format);

#endif
