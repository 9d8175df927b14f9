/* logparse/zap.c - zap's console encoder (rule 6 of core/logparse.h): tab-separated
 * [time] LEVEL [logger] [caller] message [{context json}]. */
#include "core/logparse/internal.h"

/* A caller column, "peer/peer.go:42": no blanks, a file name with an extension, ":line". */
static int is_caller(const char *s, const char *e)
{
    const char *colon = e, *dot = NULL, *q;

    while (colon > s && is_digit((unsigned char)colon[-1]))
        colon--;
    if (colon == e || colon - s < 4 || colon[-1] != ':')
        return 0;
    for (q = s; q < colon - 1; q++) {
        if (is_blank((unsigned char)*q))
            return 0;
        if (*q == '.')
            dot = q;
        else if (*q == '/')
            dot = NULL;
    }
    return dot && dot > s && dot + 1 < colon - 1;
}

static int has_blank(const char *s, const char *e)
{
    return memchr(s, ' ', (size_t)(e - s)) != NULL || memchr(s, '\t', (size_t)(e - s)) != NULL;
}

/* Returns 0 when [p, end) is a zap console line (entry filled), -1 (entry untouched but for
 * scratch the caller drops) when it is not. */
int lp_parse_zap(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e)
{
    const char *tab = memchr(p, '\t', (size_t)(end - p)), *q = p, *w, *col, *t2, *body_end;
    int64_t ts = -1;
    int level;

    if (!tab)
        return -1;
    if (lp_time_value(p, tab, &ts) == 0) {
        q = tab + 1;
        tab = memchr(q, '\t', (size_t)(end - q));
        if (!tab)
            tab = end; /* "time LEVEL" and nothing more */
    } else {
        ts = -1;
    }
    for (w = q; w < tab && is_alpha((unsigned char)*w); w++)
        ;
    level = w == tab ? lp_level_value(q, (size_t)(w - q)) : -1;
    if (level <= 0)
        return -1;
    e->format = LOGPARSE_FMT_ZAP;
    e->ts_ns = ts;
    e->level = (enum logparse_level)level;
    if (tab == end)
        return 0;
    col = tab + 1;
    body_end = end;
    /* the context object after the message's tab, when it parses */
    t2 = memrchr(col, '\t', (size_t)(end - col));
    if (t2 && t2 + 1 < end && t2[1] == '{') {
        size_t mark = sb->len;
        unsigned flags0 = e->flags;
        if (lp_json_fields(t2 + 1, end, sb, e) == 0) {
            body_end = t2;
        } else { /* not JSON after all: part of the message */
            sb->len = mark;
            e->nfields = 0;
            e->flags = flags0;
        }
    }
    /* logger name and caller columns come before the message, each only when present */
    t2 = memchr(col, '\t', (size_t)(body_end - col));
    if (t2 && is_caller(col, t2)) {
        e->location = span_between(col, t2);
        col = t2 + 1;
    } else if (t2 && t2 > col && !has_blank(col, t2)) {
        const char *t3 = memchr(t2 + 1, '\t', (size_t)(body_end - t2 - 1));
        e->target = span_between(col, t2);
        col = t2 + 1;
        if (t3 && is_caller(col, t3)) {
            e->location = span_between(col, t3);
            col = t3 + 1;
        }
    }
    e->message = span_between(col, body_end);
    return 0;
}
