/* logparse.h - turn one container log line into a structured entry, fast and without
 * allocating. Understands the Docker engine's timestamp prefix, ANSI colour sequences,
 * Rust tracing text output (tracing-subscriber's full and compact formats), logfmt (logrus
 * text, Go slog's TextHandler, go-kit), zap's console format, JSON lines (tracing-subscriber's
 * and generic ones, nested objects flattened) and falls back to plain text. Pure: no I/O.
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
 *  4. A line starting with '{' is parsed as one JSON object. Keys timestamp, time, ts,
 *     @timestamp set ts_ns (RFC 3339, or epoch s/ms/us/ns by size, number or string);
 *     level, lvl, severity, levelname, log.level set level (names, or pino numbers 10..60);
 *     msg, message, @message set message; target, logger, logger_name set target;
 *     "fields" (tracing) contributes its "message" and its members; "spans" (else "span")
 *     is rendered into spans as "name{k=v k2=v2}:name2"; every other member becomes a
 *     field: strings unescaped, numbers and literals verbatim, arrays and empty objects as
 *     their JSON text, objects flattened to dotted keys ({"a":{"b":1}} is a.b=1, and
 *     {"log":{"level":"warn"}} sets the level like "log.level"). A dotted prefix longer
 *     than LOGPARSE_PREFIX_MAX bytes stops the flattening: that object is kept as text.
 *     Any syntax error (a cut line, trailing bytes, nesting deeper than 64) makes the line
 *     plain with LOGPARSE_F_BAD_JSON.
 *  5. logfmt: a line whose first token is key=value and whose every token is key=value,
 *     key="quoted value" (Go escapes: \n \t \" \xHH \uHHHH ..., unescaped into scratch)
 *     or a bare key (empty value), with at least one of the JSON keys for time, level or
 *     message above. Those keys set ts_ns/level/message/target when their value is usable
 *     (the first of each), everything else becomes a field.
 *  6. zap console: [time TAB] LEVEL TAB [logger TAB] [caller TAB] message [TAB {json}].
 *     time is RFC 3339/ISO 8601 or epoch seconds ("1.7329608e+09"); without a time the
 *     level must be followed by a tab. A column like "peer/peer.go:42" is the location, a
 *     blank-free column before it (or before the message) the target; the trailing JSON
 *     object, when it parses, gives the fields (flattened as in 4).
 *  7. Text header: [ThreadId(N)] [timestamp] [ThreadId(N)] [LEVEL] [thread ThreadId(N)]
 *     [spans: ] [target: ] [file.rs:line: ]. A timestamp or a level is needed. Levels are
 *     TRACE DEBUG INFO WARN WARNING ERROR FATAL PANIC in any case; without a timestamp a
 *     level must be upper case or be followed by a target, so "info about x" stays plain.
 *     Spans are a token holding {fields}, e.g. "conn{peer=a}:req{id=1}:", or the names
 *     before the target in compact output ("conn:req:freenet::x:"); a token without "::"
 *     followed by one with "::" is a field-less span before the target. The message runs
 *     to the trailing run of key=value fields: keys are [A-Za-z_][A-Za-z0-9_.]*, values
 *     are "quoted" with Rust escapes (\n \t \r \0 \\ \" \' \u{..}, unescaped into
 *     scratch) or bare up to a space outside ()[]{} and quotes (so Debug output like
 *     "Os { code: 111 }" is one value). Free text such as "x = y" or "a=b and c" is not a
 *     field because a field run must reach the end of the line.
 *  8. Anything else is plain: the whole line (leading blanks kept) is the message. A panic
 *     head gets a level so it opens an entry: Rust's "thread 'x' panicked at ..." and Go's
 *     "panic: " get PANIC, Go's runtime "fatal error: " gets FATAL.
 *
 * Level names from every format are normalised: warn/warning, err/error, fatal/crit/
 * critical (and syslog's alert/emerg), panic (and zap's dpanic), dbg/debug, trace,
 * info/information/notice. slog's offsets ("ERROR+2") count as their base level.
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
    LOGPARSE_LEVEL_FATAL, /* the process is going away: fatal, crit, critical */
    LOGPARSE_LEVEL_PANIC, /* a panic: Rust or Go panic heads, logrus/zap "panic" */
};

enum logparse_format {
    LOGPARSE_FMT_PLAIN,   /* nothing recognised; message is the line */
    LOGPARSE_FMT_TRACING, /* a text header (timestamp and/or level) was recognised */
    LOGPARSE_FMT_JSON,    /* one well-formed JSON object */
    LOGPARSE_FMT_LOGFMT,  /* key=value pairs: logrus text, slog TextHandler, go-kit */
    LOGPARSE_FMT_ZAP,     /* zap's tab-separated console encoder */
};

#define LOGPARSE_MAX_FIELDS 32

/* Flattened JSON keys repeat their parent's dotted path once per field; capping that path
 * bounds the scratch a line can need (see logparse_line). */
#define LOGPARSE_PREFIX_MAX 63

/* Scratch that is always enough for a line of len bytes. */
#define LOGPARSE_SCRATCH_NEED(len)                                                                 \
    (2 * (size_t)(len) + LOGPARSE_MAX_FIELDS * (LOGPARSE_PREFIX_MAX + 1))

/* Options for logparse_line. */
#define LOGPARSE_OPT_ENGINE_TS 0x1u /* every line starts with the engine's "<RFC 3339> " */

/* Entry flags: set when the entry is not the whole story. */
#define LOGPARSE_F_FIELDS_DROPPED 0x1u /* over LOGPARSE_MAX_FIELDS fields; the rest dropped */
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
 * values; LOGPARSE_SCRATCH_NEED(len) bytes are always enough (2 * len unless nested JSON
 * objects are flattened), with less the text is cut short (possibly
 * inside a UTF-8 sequence) and LOGPARSE_F_SCRATCH_FULL is set. Never reads past len, never
 * writes past scratch_cap, never fails: unrecognised input is a plain entry. Returns the
 * number of scratch bytes used, so a caller may parse several lines into one scratch
 * buffer by passing scratch + used. */
size_t logparse_line(const char *line, size_t len, unsigned opts, char *scratch, size_t scratch_cap,
                     struct logparse_entry *out);

/* Whether entry e (just parsed) continues head, the entry being assembled (NULL: none), so
 * the caller appends e's line to head instead of starting a new entry. Only head's format
 * and level are read, so a copy whose spans went stale is fine. Only a plain line without
 * a level continues anything; what it continues depends on the head:
 *  - nothing continues a JSON entry: the object is the whole entry, and a text line after
 *    it (an error printed to stderr) is another entry;
 *  - after a tracing or zap head, or a plain line with a level such as a panic head, every
 *    plain line continues it, blank ones included: their messages are printed raw and may
 *    span lines, and panic messages, "note: run with `RUST_BACKTRACE=1`",
 *    "stack backtrace:", frames and zap's stack traces follow them;
 *  - after a logfmt head (always one line: values are quoted) or a plain head, only
 *    indented lines (space or tab), "stack backtrace:" and "note: " lines continue it, so a
 *    program printing plain lines keeps one entry each.
 * Returns 1 or 0. */
int logparse_is_continuation(const struct logparse_entry *head, const struct logparse_entry *e);

/* "TRACE" "DEBUG" "INFO" "WARN" "ERROR" "FATAL" "PANIC", "NONE" for LOGPARSE_LEVEL_NONE and
 * unknown values. */
const char *logparse_level_name(enum logparse_level level);
/* The same names in lower case, as natrig's Lua side shows them ("trace" .. "panic"); NULL
 * for LOGPARSE_LEVEL_NONE and unknown values. The enum's order is the severity order. */
const char *logparse_level_lower(enum logparse_level level);

/* Level for a name, case-insensitive, for filters and every format: the names of
 * logparse_level_name and their aliases (see the top of this file). Returns the enum
 * logparse_level value, or -1 when unknown (also for "none"). */
int logparse_level_from(const char *s, size_t n);

/* "plain" "tracing" "json" "logfmt" "zap". */
const char *logparse_format_name(enum logparse_format format);

/* The format named s (n bytes) as logparse_format_name spells it; LOGPARSE_FMT_PLAIN for
 * any other name, so an entry rebuilt from its name never claims more than it had. */
enum logparse_format logparse_format_from(const char *s, size_t n);

#endif
