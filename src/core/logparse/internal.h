/* logparse/internal.h - what the parsers of src/core/logparse/ share and nothing outside
 * uses: byte classes, spans, the scratch writer (struct sbuf: writes what fits, flags the
 * rest), timestamps, levels, key roles, the one unescaper and each format's parser. The
 * public contract and the recognition rules are in core/logparse.h. Every scan is bounded
 * by an end pointer and every write by struct sbuf, which is what makes the parser safe on
 * cut or binary lines. Files: line.c (the dispatcher: engine prefix, ANSI, which format,
 * continuation), tracing.c (text headers and trailing fields), json.c, logfmt.c (logrus,
 * slog's TextHandler, go-kit), zap.c, time.c, level.c, unescape.c, fields.c. */
#ifndef NT_LOGPARSE_INTERNAL_H
#define NT_LOGPARSE_INTERNAL_H

#include <string.h>

#include "core/logparse.h"

/* Where empty spans point: never NULL. */
extern const char lp_no_text[1];

/* --- spans and bytes ------------------------------------------------------------------- */

static inline struct logparse_span span_of(const char *p, size_t n)
{
    struct logparse_span s = {n ? p : lp_no_text, n};
    return s;
}

static inline struct logparse_span span_between(const char *a, const char *b)
{
    return span_of(a, (size_t)(b - a));
}

static inline int is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

static inline int is_alpha(unsigned char c)
{
    return (unsigned)((c | 0x20) - 'a') < 26u;
}

static inline int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* A logfmt key byte: anything printable but '=' and '"' (go-logfmt's rule; slog's group
 * keys hold dots, UTF-8 is allowed). */
static inline int is_lf_key(unsigned char c)
{
    return c > ' ' && c != '=' && c != '"' && c != 0x7f;
}

static inline int hex_val(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static inline int all_digits(const char *s, const char *e)
{
    if (s == e)
        return 0;
    for (; s < e; s++)
        if (!is_digit((unsigned char)*s))
            return 0;
    return 1;
}

/* n decimal digits at p, already checked to be digits. */
static inline int num_at(const char *p, int n)
{
    int v = 0;

    while (n--)
        v = v * 10 + (*p++ - '0');
    return v;
}

static inline const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank((unsigned char)*p))
        p++;
    return p;
}

static inline const char *trim_end(const char *p, const char *end)
{
    while (end > p && (is_blank((unsigned char)end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    return end;
}

static inline int has_prefix(const char *p, const char *end, const char *s, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

/* --- scratch writer: writes what fits, flags the rest ------------------------------------ */

struct sbuf {
    char *p;
    size_t len, cap;
    unsigned *flags;
};

static inline void sb_put(struct sbuf *sb, const char *s, size_t n)
{
    size_t room = sb->cap - sb->len;

    if (n > room) {
        n = room;
        *sb->flags |= LOGPARSE_F_SCRATCH_FULL;
    }
    if (n) {
        memcpy(sb->p + sb->len, s, n);
        sb->len += n;
    }
}

static inline void sb_putc(struct sbuf *sb, char c)
{
    sb_put(sb, &c, 1);
}

/* The text written since start; no pointer arithmetic when nothing was (scratch may be NULL). */
static inline struct logparse_span sb_since(const struct sbuf *sb, size_t start)
{
    if (sb->len == start)
        return span_of(NULL, 0);
    return span_of(sb->p + start, sb->len - start);
}

/* --- time.c ------------------------------------------------------------------------------ */

/* An RFC 3339 timestamp at p: YYYY-MM-DDTHH:MM:SS[.frac][Z|+hh:mm|+hhmm|+hh]. strict (the
 * engine's prefix) wants 'T' and a zone; otherwise 't' or ' ' may separate and a missing
 * zone means UTC. Any number of fraction digits, the first nine count. Years 1970..2261
 * keep the result a non-negative int64. Returns the end, or NULL. */
const char *lp_ts_parse(const char *p, const char *end, int strict, int64_t *out);

/* A time value: RFC 3339 text or an epoch number (seconds, ms, us or ns told apart by
 * size; zap's "1.7329608e+09" too), all of [s, e). Returns 0 or -1. */
int lp_time_value(const char *s, const char *e, int64_t *ns);

/* --- level.c ----------------------------------------------------------------------------- */

/* A level name (any alias; strict: only those a text header may hold), or -1. */
int lp_level_lookup(const char *s, size_t n, int strict);

/* A level value from a structured format: any alias, or slog's "ERROR+2"/"DEBUG-4" (a
 * custom level between the named ones) as its base name; -1 when none. */
int lp_level_value(const char *s, size_t n);

/* --- unescape.c -------------------------------------------------------------------------- */

/* The quoting a value was written with. JSON's escapes (validated by the scanner) are a
 * subset of Go's and mean the same, so JSON strings use LP_ESC_GO. */
enum lp_esc {
    LP_ESC_RUST, /* Rust's Debug: \n \t \r \0 \\ \" \' \u{..} (tracing's string fields) */
    LP_ESC_GO,   /* Go's strconv.Quote plus \/ and surrogate pairs: logfmt, and JSON */
};

/* Append [s, e) unescaped to sb. Unknown or cut escapes stay as written; the output is
 * never longer than the input. */
void lp_unescape_put(struct sbuf *sb, const char *s, const char *e, enum lp_esc dialect);

/* [s, e) unescaped: the input itself when it holds no backslash, else the text appended
 * to sb. */
struct logparse_span lp_unescape(struct sbuf *sb, const char *s, const char *e,
                                 enum lp_esc dialect);

/* --- fields.c ---------------------------------------------------------------------------- */

/* Key roles shared by JSON and logfmt. */
enum lp_key {
    LP_KEY_OTHER,
    LP_KEY_TIME,
    LP_KEY_LEVEL,
    LP_KEY_MSG,
    LP_KEY_TARGET,
    LP_KEY_FIELDS,
    LP_KEY_SPAN,
    LP_KEY_SPANS
};

/* The helpers below run once or more per field of every line: inline here, since the
 * parser was split one file per format they were calls across files, and logfmt lost 9 %,
 * nested JSON 7 % of their speed (tests/bench/bench_logparse; -O2, no LTO). */

/* Key roles shared by JSON and logfmt. */
static inline enum lp_key lp_key_kind(const char *p, size_t n)
{
    static const struct {
        const char *name;
        size_t n;
        enum lp_key kind;
    } keys[] = {
        {"time", 4, LP_KEY_TIME},
        {"level", 5, LP_KEY_LEVEL},
        {"msg", 3, LP_KEY_MSG},
        {"ts", 2, LP_KEY_TIME},
        {"timestamp", 9, LP_KEY_TIME},
        {"message", 7, LP_KEY_MSG},
        {"lvl", 3, LP_KEY_LEVEL},
        {"@timestamp", 10, LP_KEY_TIME},
        {"severity", 8, LP_KEY_LEVEL},
        {"levelname", 9, LP_KEY_LEVEL},
        {"log.level", 9, LP_KEY_LEVEL},
        {"@message", 8, LP_KEY_MSG},
        {"target", 6, LP_KEY_TARGET},
        {"logger", 6, LP_KEY_TARGET},
        {"logger_name", 11, LP_KEY_TARGET},
        {"fields", 6, LP_KEY_FIELDS},
        {"span", 4, LP_KEY_SPAN},
        {"spans", 5, LP_KEY_SPANS},
    };
    size_t i;

    if (n < 2 || n > 11)
        return LP_KEY_OTHER;
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].n == n && memcmp(keys[i].name, p, n) == 0)
            return keys[i].kind;
    return LP_KEY_OTHER;
}

/* Whether one more field fits; sets the flag when not, so nothing is built for nothing. */
static inline int lp_field_room(struct logparse_entry *e)
{
    if (e->nfields < LOGPARSE_MAX_FIELDS)
        return 1;
    e->flags |= LOGPARSE_F_FIELDS_DROPPED;
    return 0;
}

/* Adds one field, or sets LOGPARSE_F_FIELDS_DROPPED when there is no room. */
static inline void lp_add_field(struct logparse_entry *e, struct logparse_span k,
                                struct logparse_span v)
{
    if (!lp_field_room(e))
        return;
    e->fields[e->nfields].key = k;
    e->fields[e->nfields].val = v;
    e->nfields++;
}

/* A quoted string at p ('"'); returns the position of the closing quote or NULL if cut. */
static inline const char *lp_quote_end(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            if (++p == end)
                return NULL;
        } else if (*p == '"') {
            return p;
        }
    }
    return NULL;
}

/* --- the formats: each returns 0 when [p, end) is its format (entry filled), else -1 ----- */

/* A timestamp already parsed at at (ending at end), so a line is not parsed twice. */
struct lp_ts_hint {
    const char *at, *end;
    int64_t ns;
};

/* tracing.c: a text header (entry untouched when -1). */
int lp_parse_text(const char *p, const char *end, const struct lp_ts_hint *hint, struct sbuf *sb,
                  struct logparse_entry *e);

/* json.c: one JSON object (the caller resets the entry and scratch when -1). */
int lp_parse_json(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e);

/* json.c: an object whose members all become fields, flattened, no key roles (zap's
 * context column); -1 when [p, end) is not exactly one object. */
int lp_json_fields(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e);

/* logfmt.c (the caller resets the entry and scratch when -1). */
int lp_parse_logfmt(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e);

/* zap.c (entry untouched but for scratch the caller drops when -1). */
int lp_parse_zap(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e);

#endif
