/* logparse/unescape.c - the one unescaper, for the two quotings log values come in: Rust's
 * Debug strings (tracing's string fields) and Go's strconv.Quote (logrus, slog and go-kit
 * logfmt values), JSON strings being Go's escapes less some. What the dialects share (the
 * scan, \n \t \r \\ \" \', cut and unknown escapes kept as written, code points as UTF-8)
 * is written once; the switch names what only one of them has. */
#include "core/logparse/internal.h"

/* Code points that are not Unicode scalar values become U+FFFD. */
static void sb_utf8(struct sbuf *sb, unsigned long cp)
{
    char u[4];

    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        u[0] = (char)cp;
        sb_put(sb, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        sb_put(sb, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        sb_put(sb, u, 3);
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        sb_put(sb, u, 4);
    }
}

/* n (at most 8) hex digits at s into *v; returns 0, or -1 when they are not there. */
static int hex_n(const char *s, const char *e, int n, unsigned long *v)
{
    *v = 0;
    if (e - s < n)
        return -1;
    while (n--) {
        int h = hex_val((unsigned char)*s++);
        if (h < 0)
            return -1;
        *v = *v * 16 + (unsigned long)h;
    }
    return 0;
}

/* Rust's \u{1F600}: 1 to 6 hex digits in braces at s (after the 'u'). Returns the end, or
 * NULL when it is not that. */
static const char *rust_code_point(const char *s, const char *e, unsigned long *cp)
{
    int nd = 0;

    *cp = 0;
    if (s == e || *s != '{')
        return NULL;
    for (s++; s < e && nd < 6 && hex_val((unsigned char)*s) >= 0; s++, nd++)
        *cp = *cp * 16 + (unsigned long)hex_val((unsigned char)*s);
    return nd && s < e && *s == '}' ? s + 1 : NULL;
}

/* Go's \uXXXX and \UXXXXXXXX at s (at the 'u' or 'U'), a UTF-16 surrogate pair written as
 * two \u joined (go-logfmt, JSON). Returns the end, or NULL when it is not that. */
static const char *go_code_point(const char *s, const char *e, unsigned long *cp)
{
    unsigned long lo;
    int n = *s == 'u' ? 4 : 8;

    if (hex_n(s + 1, e, n, cp) < 0)
        return NULL;
    s += 1 + n;
    if (*cp >= 0xD800 && *cp <= 0xDBFF && e - s >= 6 && s[0] == '\\' && s[1] == 'u' &&
        hex_n(s + 2, e, 4, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
        s += 6;
    }
    return s;
}

/* The escape after a backslash at s (s < e): writes what it means and returns the first
 * byte after it, or returns NULL when the dialect has no such escape. */
static const char *escape(struct sbuf *sb, const char *s, const char *e, enum lp_esc dialect)
{
    const char *q;
    unsigned long cp;

    switch (*s) {
    case 'n':
        sb_putc(sb, '\n');
        return s + 1;
    case 't':
        sb_putc(sb, '\t');
        return s + 1;
    case 'r':
        sb_putc(sb, '\r');
        return s + 1;
    case '\\':
    case '"':
    case '\'':
        sb_putc(sb, *s);
        return s + 1;
    default:
        break;
    }
    if (dialect == LP_ESC_RUST) {
        if (*s == '0') {
            sb_putc(sb, '\0');
            return s + 1;
        }
        q = *s == 'u' ? rust_code_point(s + 1, e, &cp) : NULL;
        if (q)
            sb_utf8(sb, cp);
        return q;
    }
    /* Go: \a \b \f \v \/, \xHH and octal as raw bytes, \u and \U as code points */
    switch (*s) {
    case 'a':
        sb_putc(sb, '\a');
        return s + 1;
    case 'b':
        sb_putc(sb, '\b');
        return s + 1;
    case 'f':
        sb_putc(sb, '\f');
        return s + 1;
    case 'v':
        sb_putc(sb, '\v');
        return s + 1;
    case '/':
        sb_putc(sb, '/');
        return s + 1;
    default:
        break;
    }
    if (*s == 'x') {
        if (hex_n(s + 1, e, 2, &cp) < 0)
            return NULL;
        sb_putc(sb, (char)cp);
        return s + 3;
    }
    if (*s == 'u' || *s == 'U') {
        q = go_code_point(s, e, &cp);
        if (q)
            sb_utf8(sb, cp); /* a lone surrogate becomes U+FFFD */
        return q;
    }
    if (e - s >= 3 && *s >= '0' && *s <= '3' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' &&
        s[2] <= '7') {
        sb_putc(sb, (char)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0')));
        return s + 3;
    }
    return NULL;
}

void lp_unescape_put(struct sbuf *sb, const char *s, const char *e, enum lp_esc dialect)
{
    while (s < e) {
        const char *bs = memchr(s, '\\', (size_t)(e - s)), *next;
        if (!bs) {
            sb_put(sb, s, (size_t)(e - s));
            return;
        }
        sb_put(sb, s, (size_t)(bs - s));
        s = bs + 1;
        next = s < e ? escape(sb, s, e, dialect) : NULL;
        if (next)
            s = next;
        else
            sb_putc(sb, '\\'); /* not an escape of this dialect: kept as it was */
    }
}

struct logparse_span lp_unescape(struct sbuf *sb, const char *s, const char *e, enum lp_esc dialect)
{
    size_t start = sb->len;

    if (!memchr(s, '\\', (size_t)(e - s)))
        return span_between(s, e);
    lp_unescape_put(sb, s, e, dialect);
    return sb_since(sb, start);
}
