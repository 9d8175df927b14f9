/* logquery.c - a query against a stored record: index checks first, then the text. See
 * logquery.h for the semantics. */
#include "core/logquery.h"

#include <string.h>

#include "base/xalloc.h"

int logquery_literal(const char *pat, size_t n, char *out, size_t *out_n)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)pat[i];
        if (c == '%') {
            unsigned char d;
            if (i + 1 == n)
                return 0;
            d = (unsigned char)pat[++i];
            if ((d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z'))
                return 0; /* a class (%d %a ...), a capture (%1) or %b %f */
            out[k++] = (char)d;
            continue;
        }
        if (strchr("^$*+?.([-", c) || c == 0)
            return 0;
        out[k++] = (char)c;
    }
    *out_n = k;
    return 1;
}

double logquery_when(const struct logstore_view *v)
{
    if (v->h.engine_ts_ns >= 0)
        return (double)v->h.engine_ts_ns / 1e9;
    if (v->h.ts_ns >= 0)
        return (double)v->h.ts_ns / 1e9;
    return 0;
}

static void ensure(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    *cap = need < 256 ? 256 : need * 2;
    *buf = xrealloc(*buf, *cap);
}

size_t logquery_hay(const struct logstore_view *v, char **buf, size_t *cap)
{
    size_t n = 0, msg_n = (size_t)v->h.msg_n + v->h.cont_n;
    size_t total = (msg_n ? msg_n + 1 : 0) + v->h.raw_n + v->h.cont_n;
    char *p;

    ensure(buf, cap, total + 1);
    p = *buf;
    if (msg_n) {
        memcpy(p, v->msg, v->h.msg_n);
        memcpy(p + v->h.msg_n, v->cont, v->h.cont_n);
        n = msg_n;
        p[n++] = ' ';
    }
    memcpy(p + n, v->raw, (size_t)v->h.raw_n + v->h.cont_n); /* raw and cont are adjacent */
    return total;
}

static int has(const char *h, size_t hn, const char *s, size_t sn)
{
    return sn == 0 || (hn >= sn && memmem(h, hn, s, sn) != NULL);
}

/* q's plain match in the hay, without building it when the entry has no continuation. */
static int match_plain(const struct logquery *q, const struct logstore_view *v, char **scratch,
                       size_t *cap)
{
    size_t m = q->match_n, a, b;
    char win[512];

    if (has(v->raw, (size_t)v->h.raw_n + v->h.cont_n, q->match, m))
        return 1;
    if (v->h.msg_n + v->h.cont_n == 0)
        return 0;
    if (v->h.cont_n == 0 && m <= 255) {
        if (has(v->msg, v->h.msg_n, q->match, m))
            return 1;
        /* across the space between message and raw */
        a = v->h.msg_n < m - 1 ? v->h.msg_n : m - 1;
        b = v->h.raw_n < m - 1 ? v->h.raw_n : m - 1;
        memcpy(win, v->msg + v->h.msg_n - a, a);
        win[a] = ' ';
        memcpy(win + a + 1, v->raw, b);
        return has(win, a + 1 + b, q->match, m);
    }
    a = logquery_hay(v, scratch, cap);
    return has(*scratch, a, q->match, m);
}

static int message_is(const struct logstore_view *v, const struct logparse_span *s, uint32_t hash)
{
    if ((size_t)v->h.msg_n + v->h.cont_n != s->n)
        return 0;
    if (v->h.cont_n == 0)
        return v->h.msg_hash == hash && memcmp(v->msg, s->p, s->n) == 0;
    return memcmp(v->msg, s->p, v->h.msg_n) == 0 &&
           memcmp(v->cont, s->p + v->h.msg_n, v->h.cont_n) == 0;
}

/* The last value of key k, or -1 when the entry has no such field. */
static int field_is(const struct logstore_view *v, const struct logparse_field *f)
{
    int found = -1;

    for (int i = 0; i < v->h.nfields; i++) {
        const char *k, *val;
        size_t kn, vn;
        if (logstore_field(v, i, &k, &kn, &val, &vn) < 0)
            return 0;
        if (kn == f->key.n && memcmp(k, f->key.p, kn) == 0)
            found = vn == f->val.n && memcmp(val, f->val.p, vn) == 0;
    }
    return found == 1;
}

int logquery_chunk_may(const struct logquery *q, const struct logstore_chunk *c)
{
    if (q->level && c->max_level < q->level)
        return 0;
    if (q->stream != LOGQUERY_ANY_STREAM &&
        (q->stream < 0 || q->stream > 63 || !(c->streams & (1ull << q->stream))))
        return 0;
    if (q->has_since && (double)c->max_ns / 1e9 < q->since)
        return 0;
    if (q->has_until && (double)c->min_ns / 1e9 > q->until)
        return 0;
    if (q->messages) {
        int any = 0;
        for (int i = 0; i < q->nmessages && !any; i++) {
            uint32_t a = LOGSTORE_BLOOM_A(q->message_hashes[i]);
            uint32_t b = LOGSTORE_BLOOM_B(q->message_hashes[i]);
            any = (c->bloom[a / 64] >> (a % 64) & 1) && (c->bloom[b / 64] >> (b % 64) & 1);
        }
        if (!any)
            return 0;
    }
    return 1;
}

enum logquery_result logquery_test(const struct logquery *q, const struct logstore_view *v,
                                   char **scratch, size_t *cap)
{
    if (q->level && v->h.level < q->level)
        return LOGQUERY_NO;
    if (q->stream != LOGQUERY_ANY_STREAM && v->h.stream != q->stream)
        return LOGQUERY_NO;
    if (q->has_since || q->has_until) {
        double t = logquery_when(v);
        if ((q->has_since && t < q->since) || (q->has_until && t > q->until))
            return LOGQUERY_NO;
    }
    if (q->has_target && (v->h.target_n == 0 || v->h.target_n < q->target_n ||
                          memcmp(v->target, q->target, q->target_n) != 0))
        return LOGQUERY_NO;
    if (q->nmessages) {
        int ok = 0;
        for (int i = 0; i < q->nmessages && !ok; i++)
            ok = message_is(v, &q->messages[i], q->message_hashes[i]);
        if (!ok)
            return LOGQUERY_NO;
    } else if (q->messages) {
        return LOGQUERY_NO; /* an empty list of messages: none matches */
    }
    for (int i = 0; i < q->nfields; i++)
        if (!field_is(v, &q->fields[i]))
            return LOGQUERY_NO;
    if (q->has_match) {
        if (q->match_pattern)
            return LOGQUERY_PATTERN;
        if (!match_plain(q, v, scratch, cap))
            return LOGQUERY_NO;
    }
    return LOGQUERY_YES;
}
