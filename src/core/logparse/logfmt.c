/* logparse/logfmt.c - key=value lines (rule 5 of core/logparse.h): logrus's text formatter, Go
 * slog's TextHandler and go-kit all write this, quoting values with Go's strconv.Quote. */
#include "core/logparse/internal.h"

struct lf {
    const char *ks, *ke, *vs, *ve;
    int eq, quoted, cut;
};

/* One pair at p (not blank): key=value, key="quoted", key= or a bare key. Returns its end,
 * or NULL when p holds none (no key, or a closing quote glued to more text). */
static const char *lf_pair(const char *p, const char *end, struct lf *f)
{
    const char *q = p;

    while (q < end && is_lf_key((unsigned char)*q))
        q++;
    if (q == p)
        return NULL;
    f->ks = p;
    f->ke = f->vs = f->ve = q;
    f->eq = f->quoted = f->cut = 0;
    if (q == end || is_blank((unsigned char)*q))
        return q;
    if (*q != '=')
        return NULL;
    f->eq = 1;
    f->vs = ++q;
    if (q < end && *q == '"') {
        const char *r = lp_quote_end(q, end);
        f->quoted = 1;
        f->vs = q + 1;
        if (!r) { /* cut inside the quotes: keep what there is, flagged */
            f->ve = end;
            f->cut = 1;
            return end;
        }
        f->ve = r;
        return (r + 1 == end || is_blank((unsigned char)r[1])) ? r + 1 : NULL;
    }
    while (q < end && !is_blank((unsigned char)*q))
        q++;
    f->ve = q;
    return q;
}

/* Returns 0 when [p, end) is a logfmt line (entry filled), -1 (entry to be reset by the
 * caller) when it is not. */
int lp_parse_logfmt(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e)
{
    const char *q = p;
    int known = 0, have_msg = 0, have_target = 0, cut = 0;
    struct lf f;

    while (q < end) {
        struct logparse_span val;
        enum lp_key kind;
        int64_t ns;
        const char *next = lf_pair(q, end, &f);
        if (!next || (q == p && !f.eq)) /* the first token must be key=value */
            return -1;
        q = skip_blanks(next, end);
        cut |= f.cut;
        kind = lp_key_kind(f.ks, (size_t)(f.ke - f.ks));
        if (f.eq && (kind == LP_KEY_TIME || kind == LP_KEY_LEVEL || kind == LP_KEY_MSG))
            known = 1; /* a bare "level" word in free text is no evidence */
        if (kind == LP_KEY_TIME && e->ts_ns < 0 && !f.cut && lp_time_value(f.vs, f.ve, &ns) == 0) {
            e->ts_ns = ns;
            continue;
        }
        if (kind == LP_KEY_LEVEL && e->level == LOGPARSE_LEVEL_NONE) {
            int l = lp_level_value(f.vs, (size_t)(f.ve - f.vs));
            if (l > 0) {
                e->level = (enum logparse_level)l;
                continue;
            }
        }
        if ((kind == LP_KEY_MSG && have_msg) || (kind == LP_KEY_TARGET && have_target))
            kind = LP_KEY_OTHER; /* a second one is a field */
        if (kind != LP_KEY_MSG && kind != LP_KEY_TARGET && !lp_field_room(e))
            continue;
        val = f.quoted ? lp_unescape(sb, f.vs, f.ve, LP_ESC_GO) : span_between(f.vs, f.ve);
        if (kind == LP_KEY_MSG) {
            e->message = val;
            have_msg = 1;
        } else if (kind == LP_KEY_TARGET) {
            e->target = val;
            have_target = 1;
        } else {
            lp_add_field(e, span_between(f.ks, f.ke), val);
        }
    }
    if (!known)
        return -1;
    if (cut)
        e->flags |= LOGPARSE_F_UNTERMINATED;
    e->format = LOGPARSE_FMT_LOGFMT;
    return 0;
}
