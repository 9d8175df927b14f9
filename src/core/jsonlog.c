/* jsonlog.c - the engine's json-file log lines, decoded and converted to the follow
 * stream's form (see jsonlog.h). A dedicated decoder rather than cJSON: it unescapes the
 * text straight into the caller's buffer, builds no tree and allocates nothing (measured on
 * the benchmark's lines: see tests/bench/jsonlog). */
#include "core/jsonlog.h"

#include <string.h>

#define DEPTH_MAX 32 /* nesting of a skipped value ("attrs") */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static int hex4(const char *p, const char *end, unsigned *v)
{
    unsigned x = 0;

    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        x = x * 16 + d;
    }
    *v = x;
    return 0;
}

static char *put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xC0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xE0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *d++ = (char)(0xF0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    return d;
}

/* The JSON string whose opening quote is at p: unescaped into dst (NULL: only skipped; an
 * escape never writes more than it reads, so the string's length is room enough). Returns
 * the byte after the closing quote, or NULL when the string is cut or badly escaped; *n
 * gets the bytes written. */
static const char *string_at(const char *p, const char *end, char *dst, size_t *n)
{
    char *d = dst;

    p++;
    for (;;) {
        const char *q = p;
        char ch;
        while (q < end && *q != '"' && *q != '\\')
            q++;
        if (q == end)
            return NULL;
        if (d) {
            memcpy(d, p, (size_t)(q - p));
            d += q - p;
        }
        p = q;
        if (*p == '"') {
            if (n)
                *n = d ? (size_t)(d - dst) : 0;
            return p + 1;
        }
        if (end - p < 2)
            return NULL;
        ch = p[1];
        p += 2;
        switch (ch) {
        case '"':
        case '\\':
        case '/':
            break;
        case 'b':
            ch = '\b';
            break;
        case 'f':
            ch = '\f';
            break;
        case 'n':
            ch = '\n';
            break;
        case 'r':
            ch = '\r';
            break;
        case 't':
            ch = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(p, end, &cp) != 0)
                return NULL;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                hex4(p + 2, end, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD; /* a lone surrogate: what Go writes for invalid UTF-8 */
            }
            if (d)
                d = put_utf8(d, cp);
            continue;
        }
        default:
            return NULL;
        }
        if (d)
            *d++ = ch;
    }
}

static const char *skip_value(const char *p, const char *end, int depth)
{
    const char *q;

    p = skip_ws(p, end);
    if (p == end)
        return NULL;
    if (*p == '"')
        return string_at(p, end, NULL, NULL);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        if (depth >= DEPTH_MAX)
            return NULL;
        p = skip_ws(p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                if (p == end || *p != '"')
                    return NULL;
                p = string_at(p, end, NULL, NULL);
                if (!p)
                    return NULL;
                p = skip_ws(p, end);
                if (p == end || *p != ':')
                    return NULL;
                p++;
            }
            p = skip_value(p, end, depth + 1);
            if (!p)
                return NULL;
            p = skip_ws(p, end);
            if (p == end)
                return NULL;
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p = skip_ws(p + 1, end);
        }
    }
    /* a number, true, false or null */
    for (q = p; q < end; q++) {
        unsigned char c = (unsigned char)*q;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' ||
              c == '.' || c == 'E'))
            break;
    }
    return q > p ? q : NULL;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The time as the follow stream writes it: "YYYY-MM-DDTHH:MM:SS[.f]Z" (Go's RFC3339Nano
 * drops trailing zeros) gets its fraction padded to 9 digits; other text stays as it is
 * (the store's parser judges it). */
static size_t norm_time(const char *t, size_t n, char *out)
{
    size_t i = 19, fd = 0;

    if (n >= 20 && t[10] == 'T' && t[n - 1] == 'Z') {
        if (t[19] == '.')
            for (i = 20; i < n - 1 && is_digit(t[i]); i++)
                fd++;
        if (i == n - 1 && fd <= 9 && (t[19] != '.' || fd > 0)) {
            memcpy(out, t, 19);
            out[19] = '.';
            memcpy(out + 20, t + 20, fd);
            memset(out + 20 + fd, '0', 9 - fd);
            out[29] = 'Z';
            return 30;
        }
    }
    memcpy(out, t, n);
    return n;
}

static int key_is(const char *k, size_t kn, const char *name)
{
    size_t n = strlen(name);
    return kn == n && memcmp(k, name, n) == 0;
}

int jsonlog_decode(const char *p, size_t n, char *dst, struct jsonlog_line *out)
{
    const char *end = p + n, *t = NULL;
    size_t tn = 0;
    int have_log = 0;

    out->stream = JSONLOG_OTHER;
    out->ts_n = 0;
    out->log = dst;
    out->log_n = 0;
    p = skip_ws(p, end);
    if (p == end || *p != '{')
        return -1;
    p = skip_ws(p + 1, end);
    for (;;) {
        const char *k, *v;
        size_t kn;
        /* keys are compared as written: the engine never escapes its own key names */
        if (p == end || *p != '"')
            return -1;
        k = p + 1;
        p = string_at(p, end, NULL, NULL);
        if (!p)
            return -1;
        kn = (size_t)(p - 1 - k);
        p = skip_ws(p, end);
        if (p == end || *p != ':')
            return -1;
        v = skip_ws(p + 1, end);
        if (key_is(k, kn, "log")) {
            if (v == end || *v != '"')
                return -1;
            p = string_at(v, end, dst, &out->log_n);
            have_log = p != NULL;
        } else if (key_is(k, kn, "stream") && v < end && *v == '"') {
            p = string_at(v, end, NULL, NULL);
            if (p && key_is(v + 1, (size_t)(p - 2 - v), "stdout"))
                out->stream = JSONLOG_STDOUT;
            else if (p && key_is(v + 1, (size_t)(p - 2 - v), "stderr"))
                out->stream = JSONLOG_STDERR;
            else
                out->stream = JSONLOG_OTHER;
        } else if (key_is(k, kn, "time") && v < end && *v == '"') {
            p = string_at(v, end, NULL, NULL);
            t = v + 1;
            tn = p ? (size_t)(p - 2 - v) : 0;
            if (p && (tn >= JSONLOG_TS_MAX || memchr(t, '\\', tn)))
                return -1;
        } else {
            p = skip_value(v, end, 0);
        }
        if (!p)
            return -1;
        p = skip_ws(p, end);
        if (p == end)
            return -1;
        if (*p == '}')
            break;
        if (*p != ',')
            return -1;
        p = skip_ws(p + 1, end);
    }
    if (skip_ws(p + 1, end) != end || !have_log || !t || tn == 0)
        return -1;
    out->ts_n = norm_time(t, tn, out->ts);
    return 0;
}

static int blank(const char *p, size_t n)
{
    return skip_ws(p, p + n) == p + n;
}

size_t jsonlog_convert(struct jsonlog_conv *c, const char *p, size_t n, int last, char *out,
                       size_t out_cap, jsonlog_emit_fn emit, void *ud)
{
    const char *s = p, *end = p + n;
    size_t len = 0;
    int cur = -1;

    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : (last ? end : NULL);
        struct jsonlog_line line;
        size_t ln;
        char *text;
        int st;

        if (!le)
            break;
        ln = (size_t)(le - s);
        if (len && len + JSONLOG_OUT_NEED(ln) > out_cap) {
            emit(ud, cur, out, len);
            len = 0;
        }
        /* the text goes behind room for the prefix, then moves to its place */
        text = out + len + JSONLOG_TS_MAX + 1;
        if (JSONLOG_OUT_NEED(ln) > out_cap || jsonlog_decode(s, ln, text, &line) != 0 ||
            line.stream == JSONLOG_OTHER) {
            if (!blank(s, ln))
                c->bad++;
        } else if (line.log_n > 0) {
            st = (int)line.stream;
            if (len && cur != st) {
                emit(ud, cur, out, len);
                len = 0;
            }
            if (!c->mid_line[st]) {
                memcpy(out + len, line.ts, line.ts_n);
                out[len + line.ts_n] = ' ';
                len += line.ts_n + 1;
            }
            memmove(out + len, text, line.log_n);
            len += line.log_n;
            c->mid_line[st] = out[len - 1] != '\n';
            cur = st;
            c->lines++;
        }
        s = nl ? nl + 1 : end;
    }
    if (len)
        emit(ud, cur, out, len);
    return (size_t)(s - p);
}
