/* logparse/tracing.c - text lines with a header: Rust tracing-subscriber's full and compact
 * formats and anything shaped like them ([ThreadId] [time] [LEVEL] [spans:] [target:]
 * [file.rs:line:] message key=value...). Rule 7 of core/logparse.h. */
#include "core/logparse/internal.h"

static int is_key_start(unsigned char c)
{
    return is_alpha(c) || c == '_';
}

static int is_key_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '.';
}

/* Characters of targets, span names and source paths in a text header. */
static int is_tok_char(unsigned char c)
{
    if (is_alpha(c) || is_digit(c))
        return 1;
    switch (c) {
    case '_':
    case '-':
    case '.':
    case '/':
    case '\\':
    case '<':
    case '>':
    case '@':
        return 1;
    default:
        return 0;
    }
}

/* --- text lines: header ------------------------------------------------------------------ */

/* "ThreadId(12)" at p followed by a blank or the end; returns its end or NULL. */
static const char *thread_id_at(const char *p, const char *end)
{
    const char *q;

    if (!has_prefix(p, end, "ThreadId(", 9))
        return NULL;
    for (q = p + 9; q < end && is_digit((unsigned char)*q); q++)
        ;
    if (q == p + 9 || q == end || *q != ')')
        return NULL;
    q++;
    return (q == end || is_blank((unsigned char)*q)) ? q : NULL;
}

/* "name ThreadId(12)" (with_thread_names and with_thread_ids), or a bare ThreadId. */
static const char *thread_at(const char *p, const char *end)
{
    const char *sp, *t = thread_id_at(p, end);

    if (t || p == end)
        return t;
    sp = memchr(p, ' ', (size_t)(end - p));
    return sp ? thread_id_at(sp + 1, end) : NULL;
}

/* Past the balanced {...} group at p, quotes respected; NULL if it does not close. */
static const char *braces_end(const char *p, const char *end)
{
    int depth = 0;

    for (; p < end; p++) {
        if (*p == '"') {
            p = lp_quote_end(p, end);
            if (!p)
                return NULL;
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}' && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

/* A header token at p: target, span chain or source location, ended by a ':' followed by
 * a blank or the end ("freenet::node:", "conn{peer=\"a b\"}:req:", "src/x.rs:12:").
 * Returns the position of that ':' or NULL. */
static const char *hdr_token(const char *p, const char *end)
{
    const char *q = p;

    if (p == end || *p == ':' || *p == '{')
        return NULL;
    while (q < end) {
        unsigned char c = (unsigned char)*q;
        if (c == ':') {
            if (q + 1 == end || is_blank((unsigned char)q[1]))
                return q;
            q++;
        } else if (c == '{') {
            q = braces_end(q, end);
            if (!q)
                return NULL;
        } else if (is_tok_char(c)) {
            q++;
        } else {
            return NULL;
        }
    }
    return NULL;
}

static int has_path_sep(const char *s, const char *e)
{
    for (; e - s >= 2; s++)
        if (s[0] == ':' && s[1] == ':')
            return 1;
    return 0;
}

/* The last single ':' in [s, e), "::" being part of a path; NULL if none. */
static const char *last_sep(const char *s, const char *e)
{
    const char *last = NULL;

    for (; s < e; s++) {
        if (*s != ':')
            continue;
        if (e - s >= 2 && s[1] == ':')
            s++;
        else
            last = s;
    }
    return last;
}

static int ends_rs(const char *s, const char *e)
{
    return e - s > 3 && memcmp(e - 3, ".rs", 3) == 0;
}

/* A lone "file.rs:line" or "file.rs" token (full format with_file/with_line_number). */
static int is_location(const char *s, const char *e)
{
    const char *sep = last_sep(s, e);

    if (sep)
        return all_digits(sep + 1, e) && ends_rs(s, sep) && !last_sep(s, sep);
    return ends_rs(s, e);
}

struct header {
    struct logparse_span spans, target, location;
};

/* The token that holds the target. Compact output puts span names and the location in
 * the same token ("conn:req:freenet::x:src/x.rs:12"), so peel the location off the end,
 * then the last component is the target and the ones before it are spans. */
static void target_token(const char *s, const char *e, struct header *h)
{
    const char *sep = last_sep(s, e);

    if (sep && all_digits(sep + 1, e)) {
        const char *sep2 = last_sep(s, sep), *fs = sep2 ? sep2 + 1 : s;
        if (ends_rs(fs, sep)) {
            h->location = span_between(fs, e);
            e = sep2 ? sep2 : s;
        }
    } else if (ends_rs(sep ? sep + 1 : s, e)) {
        h->location = span_between(sep ? sep + 1 : s, e);
        e = sep ? sep : s;
    }
    if (e == s)
        return;
    sep = last_sep(s, e);
    if (sep && !h->spans.n) {
        h->spans = span_between(s, sep);
        h->target = span_between(sep + 1, e);
    } else {
        h->target = span_between(s, e);
    }
}

/* Spans, target and location after the level; returns where the message starts. */
static const char *parse_header(const char *q, const char *end, struct header *h)
{
    const char *t1 = hdr_token(q, end), *after1, *t2;

    if (!t1)
        return q;
    after1 = skip_blanks(t1 + 1, end);
    if (memchr(q, '{', (size_t)(t1 - q))) { /* full format span chain, then the target */
        h->spans = span_between(q, t1);
        q = after1;
        t2 = hdr_token(q, end);
        if (t2 && !memchr(q, '{', (size_t)(t2 - q))) {
            target_token(q, t2, h);
            q = skip_blanks(t2 + 1, end);
        }
    } else {
        t2 = hdr_token(after1, end);
        if (t2 && !has_path_sep(q, t1) && has_path_sep(after1, t2) &&
            !memchr(after1, '{', (size_t)(t2 - after1))) {
            h->spans = span_between(q, t1); /* field-less spans before a module path */
            q = after1;
            t1 = t2;
            after1 = skip_blanks(t2 + 1, end);
        }
        target_token(q, t1, h);
        q = after1;
    }
    if (!h->location.n) {
        t2 = hdr_token(q, end);
        if (t2 && is_location(q, t2)) {
            h->location = span_between(q, t2);
            q = skip_blanks(t2 + 1, end);
        }
    }
    return q;
}

/* --- text lines: fields ------------------------------------------------------------------ */

struct kv {
    const char *ks, *ke, *vs, *ve;
    int quoted, cut;
};

/* key=value at p. Returns the end of the value, or NULL and *stop (where the scan gave up)
 * when p does not start a field. */
static const char *field_at(const char *p, const char *end, struct kv *kv, const char **stop)
{
    const char *q = p + 1;
    int depth = 0;

    *stop = p;
    if (!is_key_start((unsigned char)*p))
        return NULL;
    while (q < end && is_key_char((unsigned char)*q))
        q++;
    *stop = q;
    if (q == end || *q != '=')
        return NULL;
    kv->ks = p;
    kv->ke = q++;
    kv->quoted = kv->cut = 0;
    if (q < end && *q == '"') {
        const char *r = lp_quote_end(q, end);
        kv->vs = q + 1;
        kv->quoted = 1;
        if (!r) {
            kv->ve = end;
            kv->cut = 1;
            return end;
        }
        if (r + 1 < end && !is_blank((unsigned char)r[1])) {
            *stop = r + 1; /* "a"b is no tracing value */
            return NULL;
        }
        kv->ve = r;
        return r + 1;
    }
    kv->vs = q;
    for (; q < end; q++) {
        unsigned char c = (unsigned char)*q;
        if (is_blank(c)) {
            if (depth == 0 && !(end - q >= 2 && q[1] == '{')) /* "Os { code: 1 }" goes on */
                break;
        } else if (c == '(' || c == '[' || c == '{') {
            depth++;
        } else if (c == ')' || c == ']' || c == '}') {
            if (depth)
                depth--;
        } else if (c == '"' && depth) {
            const char *r = lp_quote_end(q, end);
            if (!r) {
                q = end;
                kv->cut = 1;
                break;
            }
            q = r;
        }
    }
    kv->ve = q;
    return q;
}

/* Split [q, end) into message and the trailing run of fields. A run restarts at every
 * token that is not a field, and so does its scratch use. */
static void parse_fields(const char *q, const char *end, struct sbuf *sb, struct logparse_entry *e)
{
    const char *run = NULL;
    size_t mark = sb->len;
    unsigned flags0 = e->flags;
    int dropped = 0, cut = 0;
    struct kv kv;

    e->nfields = 0;
    for (const char *t = q; t < end;) {
        const char *stop, *ve = field_at(t, end, &kv, &stop);
        if (ve) {
            if (!run)
                run = t;
            if (e->nfields < LOGPARSE_MAX_FIELDS) {
                struct logparse_field *f = &e->fields[e->nfields++];
                f->key = span_between(kv.ks, kv.ke);
                f->val = kv.quoted ? lp_unescape(sb, kv.vs, kv.ve, LP_ESC_RUST)
                                   : span_between(kv.vs, kv.ve);
            } else {
                dropped = 1;
            }
            cut |= kv.cut;
            t = ve;
        } else {
            run = NULL;
            e->nfields = 0;
            dropped = cut = 0;
            sb->len = mark;
            e->flags = flags0;
            for (t = stop; t < end && !is_blank((unsigned char)*t); t++)
                ;
        }
        t = skip_blanks(t, end);
    }
    if (dropped)
        e->flags |= LOGPARSE_F_FIELDS_DROPPED;
    if (cut)
        e->flags |= LOGPARSE_F_UNTERMINATED;
    e->message = span_between(q, trim_end(q, run ? run : end));
}

/* Returns 0 when [p, end) has a text header, -1 (entry untouched) when it is plain. */
int lp_parse_text(const char *p, const char *end, const struct lp_ts_hint *hint, struct sbuf *sb,
                  struct logparse_entry *e)
{
    struct header h = {{lp_no_text, 0}, {lp_no_text, 0}, {lp_no_text, 0}};
    struct logparse_span thread = {lp_no_text, 0};
    const char *q = skip_blanks(p, end), *t, *w;
    int64_t ts = -1;
    int level = LOGPARSE_LEVEL_NONE, upper = 0;

    t = thread_id_at(q, end);
    if (t) {
        thread = span_between(q, t);
        q = skip_blanks(t, end);
    }
    if (hint->at == q) {
        t = hint->end;
        ts = hint->ns;
    } else {
        t = lp_ts_parse(q, end, 0, &ts);
    }
    if (t && (t == end || is_blank((unsigned char)*t)))
        q = skip_blanks(t, end);
    else
        ts = -1;
    if (!thread.n) {
        t = thread_id_at(q, end);
        if (t) {
            thread = span_between(q, t);
            q = skip_blanks(t, end);
        }
    }
    for (w = q; w < end && is_alpha((unsigned char)*w); w++)
        ;
    if (w - q >= 4 && w - q <= 7 && (w == end || is_blank((unsigned char)*w))) {
        level = lp_level_lookup(q, (size_t)(w - q), 1);
        if (level > 0) {
            upper = q[0] >= 'A' && q[0] <= 'Z' && q[1] >= 'A' && q[1] <= 'Z';
            q = skip_blanks(w, end);
        } else {
            level = LOGPARSE_LEVEL_NONE;
        }
    }
    if (ts < 0 && level == LOGPARSE_LEVEL_NONE)
        return -1;
    if (!thread.n) {
        t = thread_at(q, end);
        if (t) {
            thread = span_between(q, t);
            q = skip_blanks(t, end);
        }
    }
    q = parse_header(q, end, &h);
    if (ts < 0 && !upper && !h.target.n)
        return -1;
    e->format = LOGPARSE_FMT_TRACING;
    e->ts_ns = ts;
    e->level = (enum logparse_level)level;
    e->thread = thread;
    e->spans = h.spans;
    e->target = h.target;
    e->location = h.location;
    parse_fields(q, end, sb, e);
    return 0;
}
