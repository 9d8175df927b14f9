/* logparse.c - one container log line to a struct logparse_entry: the engine's timestamp
 * prefix, ANSI escapes, tracing text headers, trailing key=value fields, a small JSON
 * scanner and the continuation rule. Uses only <string.h>; logparse.h has the contract
 * and the recognition rules. Every scan is bounded by an end pointer and every write by
 * struct sbuf, which is what makes the parser safe on cut or binary lines. */
#include "core/logparse.h"

#include <string.h>

/* Deeper JSON is not a log line worth structuring; the bound keeps recursion small. */
#define JSON_MAX_DEPTH 64

static const char no_text[1] = {0};

/* --- small helpers --------------------------------------------------------------------- */

static struct logparse_span span_of(const char *p, size_t n)
{
    struct logparse_span s = {n ? p : no_text, n};
    return s;
}

static struct logparse_span span_between(const char *a, const char *b)
{
    return span_of(a, (size_t)(b - a));
}

static int is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

static int is_alpha(unsigned char c)
{
    return (unsigned)((c | 0x20) - 'a') < 26u;
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

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

static int hex_val(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int all_digits(const char *s, const char *e)
{
    if (s == e)
        return 0;
    for (; s < e; s++)
        if (!is_digit((unsigned char)*s))
            return 0;
    return 1;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank((unsigned char)*p))
        p++;
    return p;
}

static const char *trim_end(const char *p, const char *end)
{
    while (end > p && (is_blank((unsigned char)end[-1]) || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    return end;
}

static int has_prefix(const char *p, const char *end, const char *s, size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

/* --- scratch writer: writes what fits, flags the rest ------------------------------------ */

struct sbuf {
    char *p;
    size_t len, cap;
    unsigned *flags;
};

static void sb_put(struct sbuf *sb, const char *s, size_t n)
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

static void sb_putc(struct sbuf *sb, char c)
{
    sb_put(sb, &c, 1);
}

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

/* The text written since start; no pointer arithmetic when nothing was (scratch may be NULL). */
static struct logparse_span sb_since(const struct sbuf *sb, size_t start)
{
    if (sb->len == start)
        return span_of(NULL, 0);
    return span_of(sb->p + start, sb->len - start);
}

/* --- timestamps -------------------------------------------------------------------------- */

static int64_t days_from_civil(int y, int m, int d)
{
    /* Howard Hinnant's algorithm; y >= 1970 here, so the era is never negative. */
    int era, yoe, doy, doe;

    y -= m <= 2;
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + doe - 719468;
}

static int num_at(const char *p, int n)
{
    int v = 0;

    while (n--)
        v = v * 10 + (*p++ - '0');
    return v;
}

/* An RFC 3339 timestamp at p: YYYY-MM-DDTHH:MM:SS[.frac][Z|+hh:mm|+hhmm|+hh]. strict (the
 * engine's prefix) wants 'T' and a zone; otherwise 't' or ' ' may separate and a missing
 * zone means UTC. Any number of fraction digits, the first nine count. Years 1970..2261
 * keep the result a non-negative int64. Returns the end, or NULL. */
static const char *ts_parse(const char *p, const char *end, int strict, int64_t *out)
{
    static const unsigned char digit_at[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *q;
    int y, mo, d, h, mi, s, off = 0;
    size_t i;
    unsigned char sep;
    int64_t frac = 0, secs;

    if (end - p < 19 || p[4] != '-' || p[7] != '-' || p[13] != ':' || p[16] != ':')
        return NULL;
    sep = (unsigned char)p[10];
    if (sep != 'T' && (strict || (sep != 't' && sep != ' ')))
        return NULL;
    for (i = 0; i < sizeof digit_at; i++)
        if (!is_digit((unsigned char)p[digit_at[i]]))
            return NULL;
    y = num_at(p, 4);
    mo = num_at(p + 5, 2);
    d = num_at(p + 8, 2);
    h = num_at(p + 11, 2);
    mi = num_at(p + 14, 2);
    s = num_at(p + 17, 2);
    if (y < 1970 || y > 2261 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
        mi > 59 || s > 60)
        return NULL;
    if (mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
        return NULL;
    q = p + 19;
    if (q < end && (*q == '.' || *q == ',')) {
        int nd = 0;
        q++;
        if (q == end || !is_digit((unsigned char)*q))
            return NULL;
        for (; q < end && is_digit((unsigned char)*q); q++) {
            if (nd < 9) {
                frac = frac * 10 + (*q - '0');
                nd++;
            }
        }
        for (; nd < 9; nd++)
            frac *= 10;
    }
    if (q < end && (*q == 'Z' || *q == 'z')) {
        q++;
    } else if (q < end && (*q == '+' || *q == '-')) {
        int sign = *q == '-' ? -1 : 1, oh, om = 0;
        if (end - q < 3 || !is_digit((unsigned char)q[1]) || !is_digit((unsigned char)q[2]))
            return NULL;
        oh = num_at(q + 1, 2);
        q += 3;
        if (q < end && *q == ':') {
            if (end - q < 3 || !is_digit((unsigned char)q[1]) || !is_digit((unsigned char)q[2]))
                return NULL;
            om = num_at(q + 1, 2);
            q += 3;
        } else if (end - q >= 2 && is_digit((unsigned char)q[0]) && is_digit((unsigned char)q[1])) {
            om = num_at(q, 2);
            q += 2;
        }
        if (oh > 23 || om > 59)
            return NULL;
        off = sign * (oh * 3600 + om * 60);
    } else if (strict) {
        return NULL;
    }
    secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off;
    if (secs < 0)
        return NULL;
    *out = secs * 1000000000 + frac;
    return q;
}

/* An epoch number from JSON: seconds, ms, us or ns told apart by size (1e11 s is year
 * 5138, so smaller values are seconds). No exponents, no negatives. */
static int epoch_parse(const char *s, const char *e, int64_t *out)
{
    uint64_t ip = 0, unit, frac = 0, scale = 1;
    int nd = 0;

    for (; s < e && is_digit((unsigned char)*s); s++) {
        if (++nd > 19)
            return -1;
        ip = ip * 10 + (uint64_t)(*s - '0');
    }
    if (!nd)
        return -1;
    if (ip < 100000000000ull)
        unit = 1000000000;
    else if (ip < 100000000000000ull)
        unit = 1000000;
    else if (ip < 100000000000000000ull)
        unit = 1000;
    else
        unit = 1;
    if (s < e && *s == '.') {
        for (s++, nd = 0; s < e && is_digit((unsigned char)*s); s++) {
            if (nd < 9) {
                frac = frac * 10 + (uint64_t)(*s - '0');
                scale *= 10;
                nd++;
            }
        }
    }
    if (s != e || ip > (uint64_t)INT64_MAX / unit - 1)
        return -1;
    *out = (int64_t)(ip * unit + frac * unit / scale);
    return 0;
}

/* epoch_parse, also for a mantissa with an exponent: zap's console encoder prints its epoch
 * time with Go's %v, "1.7329608001234567e+09". The digits are moved to plain notation. */
static int epoch_text(const char *s, const char *e, int64_t *out)
{
    char d[48], buf[52];
    const char *x;
    int nd = 0, point = -1, exp = 0, sign = 1, k, n = 0;

    for (x = s; x < e && *x != 'e' && *x != 'E'; x++)
        ;
    if (x == e)
        return epoch_parse(s, e, out);
    for (; s < x; s++) {
        if (*s == '.' && point < 0)
            point = nd;
        else if (is_digit((unsigned char)*s) && nd < (int)sizeof d)
            d[nd++] = *s;
        else
            return -1;
    }
    if (point < 0)
        point = nd;
    if (++x < e && (*x == '+' || *x == '-'))
        sign = *x++ == '-' ? -1 : 1;
    if (x == e || e - x > 2 || !all_digits(x, e))
        return -1;
    for (; x < e; x++)
        exp = exp * 10 + (*x - '0');
    point += sign * exp;
    if (nd == 0 || point < 1 || point > 19)
        return -1;
    for (k = 0; k < point; k++)
        buf[n++] = k < nd ? d[k] : '0';
    if (point < nd) {
        buf[n++] = '.';
        for (; k < nd; k++)
            buf[n++] = d[k];
    }
    return epoch_parse(buf, buf + n, out);
}

/* --- levels ------------------------------------------------------------------------------ */

static const char *const level_names[] = {"NONE", "TRACE", "DEBUG", "INFO",
                                          "WARN", "ERROR", "FATAL", "PANIC"};
static const char *const format_names[] = {"plain", "tracing", "json", "logfmt", "zap"};

const char *logparse_level_name(enum logparse_level level)
{
    if ((unsigned)level >= sizeof level_names / sizeof level_names[0])
        return level_names[0];
    return level_names[level];
}

const char *logparse_format_name(enum logparse_format format)
{
    if ((unsigned)format >= sizeof format_names / sizeof format_names[0])
        return format_names[0];
    return format_names[format];
}

enum logparse_format logparse_format_from(const char *s, size_t n)
{
    size_t i;

    for (i = 0; s && i < sizeof format_names / sizeof format_names[0]; i++)
        if (strlen(format_names[i]) == n && memcmp(format_names[i], s, n) == 0)
            return (enum logparse_format)i;
    return LOGPARSE_FMT_PLAIN;
}

struct level_alias {
    const char *name;
    size_t n;
    enum logparse_level level;
    int strict; /* also accepted as a word in a text header */
};

/* The names loggers print, most frequent first: logrus, slog, zap, tracing, syslog
 * (informational, crit, alert, emerg), log15 (dbug, eror), serilog (verbose). */
static const struct level_alias level_aliases[] = {
    {"info", 4, LOGPARSE_LEVEL_INFO, 1},           {"debug", 5, LOGPARSE_LEVEL_DEBUG, 1},
    {"warn", 4, LOGPARSE_LEVEL_WARN, 1},           {"error", 5, LOGPARSE_LEVEL_ERROR, 1},
    {"trace", 5, LOGPARSE_LEVEL_TRACE, 1},         {"warning", 7, LOGPARSE_LEVEL_WARN, 1},
    {"fatal", 5, LOGPARSE_LEVEL_FATAL, 1},         {"panic", 5, LOGPARSE_LEVEL_PANIC, 1},
    {"err", 3, LOGPARSE_LEVEL_ERROR, 0},           {"dbg", 3, LOGPARSE_LEVEL_DEBUG, 0},
    {"notice", 6, LOGPARSE_LEVEL_INFO, 0},         {"information", 11, LOGPARSE_LEVEL_INFO, 0},
    {"informational", 13, LOGPARSE_LEVEL_INFO, 0}, {"critical", 8, LOGPARSE_LEVEL_FATAL, 0},
    {"crit", 4, LOGPARSE_LEVEL_FATAL, 0},          {"dpanic", 6, LOGPARSE_LEVEL_PANIC, 0},
    {"alert", 5, LOGPARSE_LEVEL_FATAL, 0},         {"emerg", 5, LOGPARSE_LEVEL_FATAL, 0},
    {"emergency", 9, LOGPARSE_LEVEL_FATAL, 0},     {"dbug", 4, LOGPARSE_LEVEL_DEBUG, 0},
    {"eror", 4, LOGPARSE_LEVEL_ERROR, 0},          {"verbose", 7, LOGPARSE_LEVEL_TRACE, 0},
};

static int level_lookup(const char *s, size_t n, int strict)
{
    char w[16];
    size_t i;

    if (n < 3 || n > sizeof w)
        return -1;
    for (i = 0; i < n; i++)
        w[i] = (char)(s[i] | 0x20); /* ASCII letters only match below, so this is enough */
    for (i = 0; i < sizeof level_aliases / sizeof level_aliases[0]; i++) {
        const struct level_alias *a = &level_aliases[i];
        if (a->n == n && (a->strict || !strict) && memcmp(a->name, w, n) == 0) {
            size_t k;
            for (k = 0; k < n && is_alpha((unsigned char)s[k]); k++)
                ;
            return k == n ? (int)a->level : -1;
        }
    }
    return -1;
}

/* A level value from a structured format: any alias, or slog's "ERROR+2"/"DEBUG-4" (a
 * custom level between the named ones) as its base name. */
static int level_value(const char *s, size_t n)
{
    int l = level_lookup(s, n, 0);
    size_t k = n;

    if (l >= 0)
        return l;
    while (k > 0 && is_digit((unsigned char)s[k - 1]))
        k--;
    if (k == n || k < 2 || (s[k - 1] != '+' && s[k - 1] != '-'))
        return -1;
    return level_lookup(s, k - 1, 0);
}

int logparse_level_from(const char *s, size_t n)
{
    if (!s)
        return -1;
    return level_lookup(s, n, 0);
}

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

/* --- unescaping -------------------------------------------------------------------------- */

/* Rust Debug string escapes (what tracing prints for string fields). Unknown escapes stay
 * as written. Points at the input when there is nothing to unescape. */
static struct logparse_span unescape_rust(struct sbuf *sb, const char *s, const char *e)
{
    size_t start = sb->len;

    if (!memchr(s, '\\', (size_t)(e - s)))
        return span_between(s, e);
    while (s < e) {
        const char *bs = memchr(s, '\\', (size_t)(e - s));
        unsigned char c;
        if (!bs) {
            sb_put(sb, s, (size_t)(e - s));
            break;
        }
        sb_put(sb, s, (size_t)(bs - s));
        s = bs + 1;
        if (s == e) {
            sb_putc(sb, '\\');
            break;
        }
        c = (unsigned char)*s++;
        switch (c) {
        case 'n':
            sb_putc(sb, '\n');
            break;
        case 't':
            sb_putc(sb, '\t');
            break;
        case 'r':
            sb_putc(sb, '\r');
            break;
        case '0':
            sb_putc(sb, '\0');
            break;
        case '\\':
        case '"':
        case '\'':
            sb_putc(sb, (char)c);
            break;
        case 'u': {
            const char *q = s;
            unsigned long cp = 0;
            int nd = 0;
            if (q < e && *q == '{') {
                for (q++; q < e && nd < 6 && hex_val((unsigned char)*q) >= 0; q++, nd++)
                    cp = cp * 16 + (unsigned long)hex_val((unsigned char)*q);
                if (nd && q < e && *q == '}') {
                    sb_utf8(sb, cp);
                    s = q + 1;
                    break;
                }
            }
            sb_put(sb, "\\u", 2);
            break;
        }
        default:
            sb_putc(sb, '\\');
            sb_putc(sb, (char)c);
        }
    }
    return sb_since(sb, start);
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

/* Go's strconv.Quote escapes (logrus, slog and go-kit quote values with it) plus the
 * JSON-style \/ and surrogate pairs of go-logfmt. \xHH and octal give raw bytes, as in Go.
 * Unknown or cut escapes stay as written; the output is never longer than the input. */
static struct logparse_span unescape_go(struct sbuf *sb, const char *s, const char *e)
{
    size_t start = sb->len;

    while (s < e) {
        const char *bs = memchr(s, '\\', (size_t)(e - s));
        unsigned long cp, lo;
        if (!bs) {
            sb_put(sb, s, (size_t)(e - s));
            break;
        }
        sb_put(sb, s, (size_t)(bs - s));
        s = bs + 1;
        if (s == e) {
            sb_putc(sb, '\\');
            break;
        }
        switch (*s) {
        case 'n':
            sb_putc(sb, '\n');
            s++;
            continue;
        case 't':
            sb_putc(sb, '\t');
            s++;
            continue;
        case 'r':
            sb_putc(sb, '\r');
            s++;
            continue;
        case 'a':
            sb_putc(sb, '\a');
            s++;
            continue;
        case 'b':
            sb_putc(sb, '\b');
            s++;
            continue;
        case 'f':
            sb_putc(sb, '\f');
            s++;
            continue;
        case 'v':
            sb_putc(sb, '\v');
            s++;
            continue;
        case '\\':
        case '"':
        case '\'':
        case '/':
            sb_putc(sb, *s++);
            continue;
        case 'x':
            if (hex_n(s + 1, e, 2, &cp) == 0) {
                sb_putc(sb, (char)cp);
                s += 3;
                continue;
            }
            break;
        case 'u':
        case 'U':
            if (hex_n(s + 1, e, *s == 'u' ? 4 : 8, &cp) == 0) {
                s += *s == 'u' ? 5 : 9;
                if (cp >= 0xD800 && cp <= 0xDBFF && e - s >= 6 && s[0] == '\\' && s[1] == 'u' &&
                    hex_n(s + 2, e, 4, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    s += 6;
                }
                sb_utf8(sb, cp);
                continue;
            }
            break;
        default:
            if (e - s >= 3 && *s >= '0' && *s <= '3' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' &&
                s[2] <= '7') {
                sb_putc(sb, (char)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0')));
                s += 3;
                continue;
            }
        }
        sb_putc(sb, '\\'); /* not an escape Go writes: keep it as it was */
    }
    return sb_since(sb, start);
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

/* A quoted string at p ('"'); returns the position of the closing quote or NULL if cut. */
static const char *quote_end(const char *p, const char *end)
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

/* Past the balanced {...} group at p, quotes respected; NULL if it does not close. */
static const char *braces_end(const char *p, const char *end)
{
    int depth = 0;

    for (; p < end; p++) {
        if (*p == '"') {
            p = quote_end(p, end);
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
        const char *r = quote_end(q, end);
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
            const char *r = quote_end(q, end);
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
                f->val = kv.quoted ? unescape_rust(sb, kv.vs, kv.ve) : span_between(kv.vs, kv.ve);
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

/* A timestamp already parsed at at (ending at end), so a line is not parsed twice. */
struct ts_hint {
    const char *at, *end;
    int64_t ns;
};

/* Returns 0 when [p, end) has a text header, -1 (entry untouched) when it is plain. */
static int parse_text(const char *p, const char *end, const struct ts_hint *hint, struct sbuf *sb,
                      struct logparse_entry *e)
{
    struct header h = {{no_text, 0}, {no_text, 0}, {no_text, 0}};
    struct logparse_span thread = {no_text, 0};
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
        t = ts_parse(q, end, 0, &ts);
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
        level = level_lookup(q, (size_t)(w - q), 1);
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

/* --- JSON -------------------------------------------------------------------------------- */

struct json {
    const char *p, *end;
};

enum jtype { J_STR, J_NUM, J_LIT, J_OBJ, J_ARR };

struct jval {
    enum jtype type;
    const char *s, *e; /* strings: the content between the quotes; others: the text */
    int esc;           /* a string holding backslash escapes */
};

static void js_ws(struct json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* A string at j->p; escapes are validated here so unescaping cannot fail later. */
static int js_string(struct json *j, struct jval *v)
{
    const char *q = j->p + 1;

    v->type = J_STR;
    v->esc = 0;
    for (;;) {
        while (q < j->end && *q != '"' && *q != '\\')
            q++;
        if (q >= j->end)
            return -1;
        if (*q == '"')
            break;
        v->esc = 1;
        if (++q >= j->end)
            return -1;
        switch (*q) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            q++;
            break;
        case 'u':
            if (j->end - q < 5 || hex_val((unsigned char)q[1]) < 0 ||
                hex_val((unsigned char)q[2]) < 0 || hex_val((unsigned char)q[3]) < 0 ||
                hex_val((unsigned char)q[4]) < 0)
                return -1;
            q += 5;
            break;
        default:
            return -1;
        }
    }
    v->s = j->p + 1;
    v->e = q;
    j->p = q + 1;
    return 0;
}

static int js_digits(struct json *j)
{
    const char *s = j->p;

    while (j->p < j->end && is_digit((unsigned char)*j->p))
        j->p++;
    return j->p > s ? 0 : -1;
}

static int js_number(struct json *j, struct jval *v)
{
    v->type = J_NUM;
    v->s = j->p;
    if (*j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (js_digits(j) < 0)
        return -1;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (js_digits(j) < 0)
            return -1;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (js_digits(j) < 0)
            return -1;
    }
    v->e = j->p;
    return 0;
}

static int js_value(struct json *j, struct jval *v, int depth);

/* The members or elements of the object or array at j->p, each value checked, none kept. */
static int js_container(struct json *j, int depth)
{
    char close = *j->p == '{' ? '}' : ']';
    struct jval v;

    if (depth > JSON_MAX_DEPTH)
        return -1;
    j->p++;
    js_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (j->p >= j->end || *j->p != '"' || js_string(j, &v) < 0)
                return -1;
            js_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return -1;
            j->p++;
            js_ws(j);
        }
        if (js_value(j, &v, depth + 1) < 0)
            return -1;
        js_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == close) {
            j->p++;
            return 0;
        }
        if (*j->p != ',')
            return -1;
        j->p++;
        js_ws(j);
    }
}

/* Any value at j->p; containers are checked and skipped, v->s..v->e spans their text. */
static int js_value(struct json *j, struct jval *v, int depth)
{
    if (j->p >= j->end)
        return -1;
    switch (*j->p) {
    case '"':
        return js_string(j, v);
    case '{':
    case '[':
        v->type = *j->p == '{' ? J_OBJ : J_ARR;
        v->s = j->p;
        if (js_container(j, depth) < 0)
            return -1;
        v->e = j->p;
        return 0;
    case 't':
    case 'f':
    case 'n': {
        static const char *const lits[] = {"true", "false", "null"};
        const char *lit = lits[*j->p == 't' ? 0 : *j->p == 'f' ? 1 : 2];
        size_t n = strlen(lit);
        if (!has_prefix(j->p, j->end, lit, n))
            return -1;
        v->type = J_LIT;
        v->s = j->p;
        v->e = j->p += n;
        return 0;
    }
    default:
        if (*j->p == '-' || is_digit((unsigned char)*j->p))
            return js_number(j, v);
        return -1;
    }
}

/* Four hex digits already validated by js_string. */
static unsigned long hex4(const char *s)
{
    return (unsigned long)(hex_val((unsigned char)s[0]) << 12 | hex_val((unsigned char)s[1]) << 8 |
                           hex_val((unsigned char)s[2]) << 4 | hex_val((unsigned char)s[3]));
}

/* Append the decoded string content [s, e) (already validated by js_string). */
static void js_append(struct sbuf *sb, const char *s, const char *e)
{
    while (s < e) {
        const char *bs = memchr(s, '\\', (size_t)(e - s));
        unsigned long cp;
        if (!bs) {
            sb_put(sb, s, (size_t)(e - s));
            return;
        }
        sb_put(sb, s, (size_t)(bs - s));
        if (e - bs < 2)
            return;
        s = bs + 2;
        switch (bs[1]) {
        case 'b':
            sb_putc(sb, '\b');
            break;
        case 'f':
            sb_putc(sb, '\f');
            break;
        case 'n':
            sb_putc(sb, '\n');
            break;
        case 'r':
            sb_putc(sb, '\r');
            break;
        case 't':
            sb_putc(sb, '\t');
            break;
        case 'u':
            if (e - s < 4)
                return;
            cp = hex4(s);
            s += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && e - s >= 6 && s[0] == '\\' && s[1] == 'u') {
                unsigned long lo = hex4(s + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    s += 6;
                }
            }
            sb_utf8(sb, cp); /* a lone surrogate becomes U+FFFD */
            break;
        default: /* '"' '\\' '/' */
            sb_putc(sb, bs[1]);
        }
    }
}

/* A value as text: strings decoded (in place when they hold no escapes), others verbatim. */
static struct logparse_span js_text(struct sbuf *sb, const struct jval *v)
{
    size_t start = sb->len;

    if (v->type != J_STR || !v->esc)
        return span_between(v->s, v->e);
    js_append(sb, v->s, v->e);
    return sb_since(sb, start);
}

static void add_field(struct logparse_entry *e, struct logparse_span k, struct logparse_span v)
{
    if (e->nfields >= LOGPARSE_MAX_FIELDS) {
        e->flags |= LOGPARSE_F_FIELDS_DROPPED;
        return;
    }
    e->fields[e->nfields].key = k;
    e->fields[e->nfields].val = v;
    e->nfields++;
}

/* Whether one more field fits; sets the flag when not, so nothing is built for nothing. */
static int field_room(struct logparse_entry *e)
{
    if (e->nfields < LOGPARSE_MAX_FIELDS)
        return 1;
    e->flags |= LOGPARSE_F_FIELDS_DROPPED;
    return 0;
}

enum jkey { JK_OTHER, JK_TIME, JK_LEVEL, JK_MSG, JK_TARGET, JK_FIELDS, JK_SPAN, JK_SPANS };

/* Key roles shared by JSON and logfmt. */
static enum jkey key_kind(const char *p, size_t n)
{
    static const struct {
        const char *name;
        size_t n;
        enum jkey kind;
    } keys[] = {
        {"time", 4, JK_TIME},       {"level", 5, JK_LEVEL},      {"msg", 3, JK_MSG},
        {"ts", 2, JK_TIME},         {"timestamp", 9, JK_TIME},   {"message", 7, JK_MSG},
        {"lvl", 3, JK_LEVEL},       {"@timestamp", 10, JK_TIME}, {"severity", 8, JK_LEVEL},
        {"levelname", 9, JK_LEVEL}, {"log.level", 9, JK_LEVEL},  {"@message", 8, JK_MSG},
        {"target", 6, JK_TARGET},   {"logger", 6, JK_TARGET},    {"logger_name", 11, JK_TARGET},
        {"fields", 6, JK_FIELDS},   {"span", 4, JK_SPAN},        {"spans", 5, JK_SPANS},
    };
    size_t i;

    if (n < 2 || n > 11)
        return JK_OTHER;
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].n == n && memcmp(keys[i].name, p, n) == 0)
            return keys[i].kind;
    return JK_OTHER;
}

static int span_is(struct logparse_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* A time value: RFC 3339 text or an epoch number, all of [s, e). */
static int time_value(const char *s, const char *e, int64_t *ns)
{
    if (ts_parse(s, e, 0, ns) == e)
        return 0;
    return (s < e && is_digit((unsigned char)*s)) ? epoch_text(s, e, ns) : -1;
}

/* Whose keys a JSON object's members are: the line's (roles apply, also to dotted keys
 * such as "log.level"), tracing's "fields" (only "message" is special) or plain fields. */
enum jroles { JR_TOP, JR_FIELDS, JR_NONE };

/* The dotted path of a flattened member: its raw key, under its parent's path. */
struct jpath {
    const struct jpath *up;
    const struct jval *key;
    size_t n; /* raw bytes of the whole path, dots included */
};

static void path_put(struct sbuf *sb, const struct jpath *p)
{
    if (p->up) {
        path_put(sb, p->up);
        sb_putc(sb, '.');
    }
    if (p->key->esc)
        js_append(sb, p->key->s, p->key->e);
    else
        sb_put(sb, p->key->s, (size_t)(p->key->e - p->key->s));
}

/* The role of a dotted key, matched on its raw text; longer than any role name is none. */
static enum jkey path_kind(const struct jpath *p)
{
    char buf[16];
    struct sbuf tmp;
    unsigned fl = 0;

    if (p->n > sizeof buf)
        return JK_OTHER;
    tmp.p = buf;
    tmp.len = 0;
    tmp.cap = sizeof buf;
    tmp.flags = &fl;
    path_put(&tmp, p);
    return key_kind(buf, tmp.len);
}

/* One member's value when no role took it: a field, its key built now that it is kept. */
static void js_field(struct sbuf *sb, struct logparse_entry *e, struct logparse_span key,
                     const struct jpath *path, const struct jval *v)
{
    size_t start = sb->len;

    if (!field_room(e))
        return;
    if (path->up) {
        path_put(sb, path);
        key = sb_since(sb, start);
    }
    add_field(e, key, js_text(sb, v));
}

/* One scalar member; a value the key's role cannot use is kept as a field instead. */
static void js_member(struct sbuf *sb, struct logparse_entry *e, enum jkey kind,
                      struct logparse_span key, const struct jpath *path, const struct jval *v)
{
    int64_t ns;

    switch (kind) {
    case JK_TIME:
        if ((v->type == J_STR && !v->esc) || v->type == J_NUM) {
            if (time_value(v->s, v->e, &ns) == 0) {
                e->ts_ns = ns;
                return;
            }
        }
        break;
    case JK_LEVEL:
        if (v->type == J_STR) {
            int l = level_value(v->s, (size_t)(v->e - v->s));
            if (l > 0) {
                e->level = (enum logparse_level)l;
                return;
            }
        } else if (v->type == J_NUM && v->e - v->s == 2 && all_digits(v->s, v->e)) {
            int n = num_at(v->s, 2); /* pino and bunyan: 10 trace .. 50 error, 60 fatal */
            if (n >= 10 && n <= 60) {
                e->level = n <= 10   ? LOGPARSE_LEVEL_TRACE
                           : n <= 20 ? LOGPARSE_LEVEL_DEBUG
                           : n <= 30 ? LOGPARSE_LEVEL_INFO
                           : n <= 40 ? LOGPARSE_LEVEL_WARN
                           : n <= 50 ? LOGPARSE_LEVEL_ERROR
                                     : LOGPARSE_LEVEL_FATAL;
                return;
            }
        }
        break;
    case JK_MSG:
        e->message = js_text(sb, v);
        return;
    case JK_TARGET:
        if (v->type == J_STR) {
            e->target = js_text(sb, v);
            return;
        }
        break;
    default:
        break;
    }
    js_field(sb, e, key, path, v);
}

/* Whether the object at p (at '{') is "{}" with any blanks. */
static int js_empty_object(const char *p, const char *end)
{
    struct json j = {p + 1, end};

    js_ws(&j);
    return j.p < j.end && *j.p == '}';
}

/* The members of the object at j->p, flattened under up (NULL: none). span_at/spans_at get
 * where the line's "span"/"spans" start so they can be rendered once the line is known to
 * parse. */
static int js_object(struct json *j, struct sbuf *sb, struct logparse_entry *e, enum jroles roles,
                     const struct jpath *up, int depth, const char **span_at, const char **spans_at)
{
    struct jval k, v;

    if (depth > JSON_MAX_DEPTH)
        return -1;
    j->p++;
    js_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        struct logparse_span key = {no_text, 0};
        struct jpath path;
        enum jkey kind = JK_OTHER;
        if (j->p >= j->end || *j->p != '"' || js_string(j, &k) < 0)
            return -1;
        js_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return -1;
        j->p++;
        js_ws(j);
        path.up = up;
        path.key = &k;
        path.n = (up ? up->n + 1 : 0) + (size_t)(k.e - k.s);
        if (!up) {
            key = js_text(sb, &k); /* in place unless escaped */
            if (roles == JR_TOP)
                kind = key_kind(key.p, key.n);
            else if (roles == JR_FIELDS && span_is(key, "message"))
                kind = JK_MSG;
        } else if (roles == JR_TOP) {
            kind = path_kind(&path);
        }
        if (j->p >= j->end)
            return -1;
        if (kind == JK_FIELDS && !up && *j->p == '{') {
            if (js_object(j, sb, e, JR_FIELDS, NULL, depth + 1, span_at, spans_at) < 0)
                return -1;
        } else if (*j->p == '{' && path.n <= LOGPARSE_PREFIX_MAX && kind != JK_SPAN &&
                   !js_empty_object(j->p, j->end)) {
            /* flattened: its members' keys are this path plus theirs */
            if (js_object(j, sb, e, roles == JR_FIELDS ? JR_NONE : roles, &path, depth + 1, span_at,
                          spans_at) < 0)
                return -1;
        } else {
            if (kind == JK_SPAN && !up && *j->p == '{')
                *span_at = j->p;
            else if (kind == JK_SPANS && !up && *j->p == '[')
                *spans_at = j->p;
            if (js_value(j, &v, depth + 1) < 0)
                return -1;
            if ((kind == JK_SPAN || kind == JK_SPANS) && (v.type == J_OBJ || v.type == J_ARR))
                ; /* rendered into spans */
            else if (v.type == J_OBJ || v.type == J_ARR)
                js_field(sb, e, key, &path, &v);
            else
                js_member(sb, e, kind, key, &path, &v);
        }
        js_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == '}') {
            j->p++;
            return 0;
        }
        if (*j->p != ',')
            return -1;
        j->p++;
        js_ws(j);
    }
}

/* Render one tracing span object {"name":"conn","peer":"a"} as conn{peer=a}. The text was
 * validated by the first pass, so errors only stop the rendering early. */
static void js_render_span(struct json *j, struct sbuf *sb)
{
    struct json scan = *j;
    struct jval k, v;
    int pass, nother = 0;

    for (pass = 0; pass < 2; pass++) {
        *j = scan;
        j->p++;
        js_ws(j);
        while (j->p < j->end && *j->p == '"') {
            int is_name;
            if (js_string(j, &k) < 0)
                return;
            js_ws(j);
            j->p++; /* ':' */
            js_ws(j);
            if (js_value(j, &v, 2) < 0)
                return;
            is_name = k.e - k.s == 4 && memcmp(k.s, "name", 4) == 0;
            if (pass == 0 && is_name && v.type == J_STR) {
                js_append(sb, v.s, v.e);
            } else if (pass == 1 && !is_name) {
                sb_putc(sb, nother++ ? ' ' : '{');
                js_append(sb, k.s, k.e);
                sb_putc(sb, '=');
                if (v.type == J_STR)
                    js_append(sb, v.s, v.e);
                else
                    sb_put(sb, v.s, (size_t)(v.e - v.s));
            }
            js_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                js_ws(j);
            }
        }
    }
    if (nother)
        sb_putc(sb, '}');
    if (j->p < j->end)
        j->p++; /* '}' */
}

static struct logparse_span js_render_spans(struct sbuf *sb, const char *at, const char *end)
{
    struct json j = {at, end};
    size_t start = sb->len;
    int n = 0;

    if (*j.p == '{') {
        js_render_span(&j, sb);
        return sb_since(sb, start);
    }
    j.p++;
    js_ws(&j);
    while (j.p < j.end && *j.p != ']') {
        struct jval v;
        if (*j.p == '{') {
            if (n++)
                sb_putc(sb, ':');
            js_render_span(&j, sb);
        } else if (js_value(&j, &v, 2) < 0) {
            break;
        }
        js_ws(&j);
        if (j.p < j.end && *j.p == ',') {
            j.p++;
            js_ws(&j);
        }
    }
    return sb_since(sb, start);
}

static int parse_json(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e)
{
    struct json j = {p, end};
    const char *span_at = NULL, *spans_at = NULL;

    js_ws(&j);
    if (js_object(&j, sb, e, JR_TOP, NULL, 1, &span_at, &spans_at) < 0)
        return -1;
    js_ws(&j);
    if (j.p != j.end)
        return -1;
    e->format = LOGPARSE_FMT_JSON;
    if (spans_at)
        e->spans = js_render_spans(sb, spans_at, end);
    else if (span_at)
        e->spans = js_render_spans(sb, span_at, end);
    return 0;
}

/* --- logfmt ------------------------------------------------------------------------------ */

/* A logfmt key byte: anything printable but '=' and '"' (go-logfmt's rule; slog's group
 * keys hold dots, UTF-8 is allowed). */
static int is_lf_key(unsigned char c)
{
    return c > ' ' && c != '=' && c != '"' && c != 0x7f;
}

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
        const char *r = quote_end(q, end);
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
static int parse_logfmt(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e)
{
    const char *q = p;
    int known = 0, have_msg = 0, have_target = 0, cut = 0;
    struct lf f;

    while (q < end) {
        struct logparse_span val;
        enum jkey kind;
        int64_t ns;
        const char *next = lf_pair(q, end, &f);
        if (!next || (q == p && !f.eq)) /* the first token must be key=value */
            return -1;
        q = skip_blanks(next, end);
        cut |= f.cut;
        kind = key_kind(f.ks, (size_t)(f.ke - f.ks));
        if (f.eq && (kind == JK_TIME || kind == JK_LEVEL || kind == JK_MSG))
            known = 1; /* a bare "level" word in free text is no evidence */
        if (kind == JK_TIME && e->ts_ns < 0 && !f.cut && time_value(f.vs, f.ve, &ns) == 0) {
            e->ts_ns = ns;
            continue;
        }
        if (kind == JK_LEVEL && e->level == LOGPARSE_LEVEL_NONE) {
            int l = level_value(f.vs, (size_t)(f.ve - f.vs));
            if (l > 0) {
                e->level = (enum logparse_level)l;
                continue;
            }
        }
        if ((kind == JK_MSG && have_msg) || (kind == JK_TARGET && have_target))
            kind = JK_OTHER; /* a second one is a field */
        if (kind != JK_MSG && kind != JK_TARGET && !field_room(e))
            continue;
        if (f.quoted && memchr(f.vs, '\\', (size_t)(f.ve - f.vs)))
            val = unescape_go(sb, f.vs, f.ve);
        else
            val = span_between(f.vs, f.ve);
        if (kind == JK_MSG) {
            e->message = val;
            have_msg = 1;
        } else if (kind == JK_TARGET) {
            e->target = val;
            have_target = 1;
        } else {
            add_field(e, span_between(f.ks, f.ke), val);
        }
    }
    if (!known)
        return -1;
    if (cut)
        e->flags |= LOGPARSE_F_UNTERMINATED;
    e->format = LOGPARSE_FMT_LOGFMT;
    return 0;
}

/* --- zap console ------------------------------------------------------------------------- */

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

/* The trailing {json} column of zap: its members become fields (flattened, no roles). */
static int zap_fields(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e)
{
    struct json j = {p, end};
    const char *span_at = NULL, *spans_at = NULL;

    if (js_object(&j, sb, e, JR_NONE, NULL, 1, &span_at, &spans_at) < 0)
        return -1;
    js_ws(&j);
    return j.p == j.end ? 0 : -1;
}

/* Returns 0 when [p, end) is a zap console line (entry filled), -1 (entry untouched but for
 * scratch the caller drops) when it is not. */
static int parse_zap(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e)
{
    const char *tab = memchr(p, '\t', (size_t)(end - p)), *q = p, *w, *col, *t2, *body_end;
    int64_t ts = -1;
    int level;

    if (!tab)
        return -1;
    if (time_value(p, tab, &ts) == 0) {
        q = tab + 1;
        tab = memchr(q, '\t', (size_t)(end - q));
        if (!tab)
            tab = end; /* "time LEVEL" and nothing more */
    } else {
        ts = -1;
    }
    for (w = q; w < tab && is_alpha((unsigned char)*w); w++)
        ;
    level = w == tab ? level_value(q, (size_t)(w - q)) : -1;
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
        if (zap_fields(t2 + 1, end, sb, e) == 0) {
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

/* --- the line ---------------------------------------------------------------------------- */

static void entry_init(struct logparse_entry *e)
{
    struct logparse_span none = {no_text, 0};

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
static enum shape line_shape(const char *q, const char *end, struct ts_hint *hint)
{
    const char *t;
    int64_t ns;

    if (q < end && is_digit((unsigned char)*q)) {
        if (hint->at != q) {
            t = ts_parse(q, end, 0, &ns);
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
    const char *p = line && len ? line : no_text;
    const char *end = p + (line ? len : 0), *t, *q;
    struct ts_hint hint = {NULL, NULL, -1};
    int64_t ns;

    entry_init(out);
    end = trim_end(p, end);

    t = ts_parse(p, end, 1, &ns);
    if (t && (t == end || *t == ' ')) {
        int64_t ns2;
        q = t == end ? t : t + 1;
        if ((opts & LOGPARSE_OPT_ENGINE_TS) || ts_parse(skip_escapes(q, end), end, 0, &ns2)) {
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
        p = sb.len ? sb.p : no_text;
        end = trim_end(p, p + sb.len);
    }

    q = skip_blanks(p, end);
    if (q < end && *q == '{') {
        size_t mark = sb.len;
        unsigned flags0 = out->flags;
        int64_t engine_ts = out->engine_ts_ns;
        if (parse_json(q, end, &sb, out) == 0)
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
        if (shape == SHAPE_LOGFMT && parse_logfmt(q, end, &sb, out) == 0)
            return sb.len;
        if (shape == SHAPE_ZAP && parse_zap(q, end, &sb, out) == 0)
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
        parse_text(p, end, &hint, &sb, out) == 0)
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
