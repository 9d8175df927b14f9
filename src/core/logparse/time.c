/* logparse/time.c - timestamps: RFC 3339 text (the engine's prefix and applications'),
 * epoch numbers of any unit, zap's exponent notation. */
#include "core/logparse/internal.h"

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

/* An RFC 3339 timestamp at p: YYYY-MM-DDTHH:MM:SS[.frac][Z|+hh:mm|+hhmm|+hh]. strict (the
 * engine's prefix) wants 'T' and a zone; otherwise 't' or ' ' may separate and a missing
 * zone means UTC. Any number of fraction digits, the first nine count. Years 1970..2261
 * keep the result a non-negative int64. Returns the end, or NULL. */
const char *lp_ts_parse(const char *p, const char *end, int strict, int64_t *out)
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

int lp_time_value(const char *s, const char *e, int64_t *ns)
{
    if (lp_ts_parse(s, e, 0, ns) == e)
        return 0;
    return (s < e && is_digit((unsigned char)*s)) ? epoch_text(s, e, ns) : -1;
}
