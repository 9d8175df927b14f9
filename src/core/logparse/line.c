/* logparse/line.c - one container log line to a struct logparse_entry: the engine's
 * timestamp prefix, ANSI escapes, which format's parser to try, the plain fallback and the
 * continuation rule. The formats are in their own files (see logparse/internal.h). */
#include "core/logparse/internal.h"

/* --- ANSI escapes ------------------------------------------------------------------------ */

/* p is at ESC; returns the first byte after the sequence (ECMA-48 shapes). A cut sequence
 * ends at end; a malformed one ends where it stops making sense. */
static const char *esc_skip(const char *p, const char *end)
{
    unsigned char c;

    if (++p == end)
        return p;
    c = (unsigned char)*p;
    if (c == '[') { /* CSI: parameters, intermediates, one final byte */
        for (p++; p < end && (unsigned char)*p >= 0x30 && (unsigned char)*p <= 0x3F; p++)
            ;
        for (; p < end && (unsigned char)*p >= 0x20 && (unsigned char)*p <= 0x2F; p++)
            ;
        if (p < end && (unsigned char)*p >= 0x40 && (unsigned char)*p <= 0x7E)
            p++;
        return p;
    }
    if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_') { /* strings: to BEL or ST */
        for (p++; p < end; p++) {
            if (*p == 0x07)
                return p + 1;
            if (*p == 0x1b)
                return (end - p >= 2 && p[1] == '\\') ? p + 2 : p;
        }
        return p;
    }
    for (; p < end && (unsigned char)*p >= 0x20 && (unsigned char)*p <= 0x2F; p++)
        ;
    if (p < end && (unsigned char)*p >= 0x30 && (unsigned char)*p <= 0x7E)
        p++;
    return p;
}

static void ansi_strip(struct sbuf *sb, const char *p, const char *end)
{
    while (p < end) {
        const char *esc = memchr(p, 0x1b, (size_t)(end - p));
        if (!esc) {
            sb_put(sb, p, (size_t)(end - p));
            return;
        }
        sb_put(sb, p, (size_t)(esc - p));
        p = esc_skip(esc, end);
    }
}
/* --- the line ---------------------------------------------------------------------------- */

static void entry_init(struct logparse_entry *e)
{
    struct logparse_span none = {lp_no_text, 0};

    e->engine_ts_ns = -1;
    e->ts_ns = -1;
    e->level = LOGPARSE_LEVEL_NONE;
    e->format = LOGPARSE_FMT_PLAIN;
    e->thread = e->spans = e->target = e->location = e->message = none;
    e->nfields = 0;
    e->flags = 0;
}

/* The level of a plain line that opens a crash report, or LOGPARSE_LEVEL_NONE: Rust's panic
 * message, Go's panic and its runtime's fatal errors (stack traces follow all three). */
static enum logparse_level panic_level(const char *p, size_t n)
{
    switch (n > 7 ? *p : 0) { /* the first byte keeps this off the way of every other line */
    case 't':
        if (n > 8 && memcmp(p, "thread '", 8) == 0 && memmem(p, n, "' panicked at", 13) != NULL)
            return LOGPARSE_LEVEL_PANIC;
        break;
    case 'p':
        if (memcmp(p, "panic: ", 7) == 0)
            return LOGPARSE_LEVEL_PANIC;
        break;
    case 'f':
        if (n > 13 && memcmp(p, "fatal error: ", 13) == 0)
            return LOGPARSE_LEVEL_FATAL;
        break;
    default:
        break;
    }
    return LOGPARSE_LEVEL_NONE;
}

enum shape { SHAPE_TEXT, SHAPE_LOGFMT, SHAPE_ZAP };

/* Which parser to try, from the first token alone so text lines pay little: "key=" may be
 * logfmt, a token ended by a tab may be zap. A leading timestamp is parsed once here and
 * left in *hint for parse_text. */
static enum shape line_shape(const char *q, const char *end, struct lp_ts_hint *hint)
{
    const char *t;
    int64_t ns;

    if (q < end && is_digit((unsigned char)*q)) {
        if (hint->at != q) {
            t = lp_ts_parse(q, end, 0, &ns);
            if (t) {
                hint->at = q;
                hint->end = t;
                hint->ns = ns;
            }
        }
        if (hint->at == q) /* a timestamp then a tab is zap; then anything else is text */
            return hint->end < end && *hint->end == '\t' ? SHAPE_ZAP : SHAPE_TEXT;
    }
    for (t = q; t < end && is_lf_key((unsigned char)*t); t++)
        ;
    if (t > q && t < end && *t == '=')
        return SHAPE_LOGFMT;
    while (t < end && !is_blank((unsigned char)*t))
        t++;
    return t > q && t < end && *t == '\t' ? SHAPE_ZAP : SHAPE_TEXT;
}

static const char *skip_escapes(const char *p, const char *end)
{
    while (p < end && *p == 0x1b)
        p = esc_skip(p, end);
    return p;
}

size_t logparse_line(const char *line, size_t len, unsigned opts, char *scratch, size_t scratch_cap,
                     struct logparse_entry *out)
{
    struct sbuf sb = {scratch, 0, scratch ? scratch_cap : 0, &out->flags};
    const char *p = line && len ? line : lp_no_text;
    const char *end = p + (line ? len : 0), *t, *q;
    struct lp_ts_hint hint = {NULL, NULL, -1};
    int64_t ns;

    entry_init(out);
    end = trim_end(p, end);

    t = lp_ts_parse(p, end, 1, &ns);
    if (t && (t == end || *t == ' ')) {
        int64_t ns2;
        q = t == end ? t : t + 1;
        if ((opts & LOGPARSE_OPT_ENGINE_TS) || lp_ts_parse(skip_escapes(q, end), end, 0, &ns2)) {
            out->engine_ts_ns = ns;
            p = q;
        } else { /* the application's own timestamp: parse_text need not redo it */
            hint.at = p;
            hint.end = t;
            hint.ns = ns;
        }
    }

    if (memchr(p, 0x1b, (size_t)(end - p))) {
        ansi_strip(&sb, p, end);
        p = sb.len ? sb.p : lp_no_text;
        end = trim_end(p, p + sb.len);
    }

    q = skip_blanks(p, end);
    if (q < end && *q == '{') {
        size_t mark = sb.len;
        unsigned flags0 = out->flags;
        int64_t engine_ts = out->engine_ts_ns;
        if (lp_parse_json(q, end, &sb, out) == 0)
            return sb.len;
        /* keep nothing from the failed attempt but the ANSI copy made before it */
        sb.len = mark;
        entry_init(out);
        out->engine_ts_ns = engine_ts;
        out->flags = flags0 | LOGPARSE_F_BAD_JSON;
    } else {
        enum shape shape = line_shape(q, end, &hint);
        size_t mark = sb.len;
        unsigned flags0 = out->flags;
        int64_t engine_ts = out->engine_ts_ns;
        if (shape == SHAPE_LOGFMT && lp_parse_logfmt(q, end, &sb, out) == 0)
            return sb.len;
        if (shape == SHAPE_ZAP && lp_parse_zap(q, end, &sb, out) == 0)
            return sb.len;
        if (shape != SHAPE_TEXT) { /* keep nothing from the failed attempt */
            sb.len = mark;
            entry_init(out);
            out->engine_ts_ns = engine_ts;
            out->flags = flags0;
        }
    }
    /* a panic head is checked first: "fatal error: x" would read as level and target */
    if (panic_level(p, (size_t)(end - p)) == LOGPARSE_LEVEL_NONE &&
        lp_parse_text(p, end, &hint, &sb, out) == 0)
        return sb.len;

    out->format = LOGPARSE_FMT_PLAIN;
    out->message = span_between(p, end);
    out->level = panic_level(p, (size_t)(end - p));
    return sb.len;
}

int logparse_is_continuation(const struct logparse_entry *head, const struct logparse_entry *e)
{
    const char *p = e->message.p, *end = p + e->message.n;

    if (!head || e->format != LOGPARSE_FMT_PLAIN || e->level != LOGPARSE_LEVEL_NONE)
        return 0;
    switch (head->format) {
    case LOGPARSE_FMT_JSON:
        return 0; /* the object is the whole entry */
    case LOGPARSE_FMT_TRACING:
    case LOGPARSE_FMT_ZAP:
        return 1; /* raw multi-line messages, backtraces, zap's stack traces */
    case LOGPARSE_FMT_LOGFMT:
        break; /* one line by construction: only what looks like a trace joins it */
    default:
        if (head->level != LOGPARSE_LEVEL_NONE)
            return 1; /* a panic head: its message and stack follow */
    }
    if (p == end)
        return 0;
    return is_blank((unsigned char)*p) || has_prefix(p, end, "stack backtrace:", 16) ||
           has_prefix(p, end, "note: ", 6);
}
