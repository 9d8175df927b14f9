/* impair.c - impairment spec, parsers, presets, tc argv lists and the userspace shaper's
 * per-packet decision (the iptables lists are in impair_nfq.c and impair_part.c). Pure: no I/O, no
 * clock, no global state. Uses base/err and base/xalloc, and libm for the jitter distributions. */
#include "core/impair.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/xalloc.h"

#define OP "impair"

/* netem's own default limit is 1000 packets, which a 200 ms delay overflows at 5000 packets/s
 * and then drops silently; the userspace shaper raises its queue for the same reason. */
#define NETEM_LIMIT 32768

/* --- spec ----------------------------------------------------------------------------------- */

void impair_spec_init(struct impair_spec *s)
{
    memset(s, 0, sizeof *s);
    s->dist = IMPAIR_DIST_UNIFORM;
    s->dir = IMPAIR_DIR_EGRESS;
    s->family = IMPAIR_FAMILY_BOTH;
}

int impair_spec_is_empty(const struct impair_spec *s)
{
    return s->delay_us == 0 && s->jitter_us == 0 && s->loss_pct == 0 && s->duplicate_pct == 0 &&
           s->reorder_pct == 0 && s->corrupt_pct == 0 && s->rate_bps == 0;
}

/* --- number parsing --------------------------------------------------------------------------- */

/* A plain non-negative decimal ("12", "1.5", ".5"): no sign, exponent, hex, inf or nan, which
 * strtod would all accept, and no locale dependence (strtod follows LC_NUMERIC, and Lua's
 * os.setlocale can change it under us). *end points at the unit. */
static int parse_decimal(const char *s, double *out, const char **end)
{
    uint64_t mant = 0;
    int sig = 0, frac = 0, any = 0, dot = 0;
    const char *p;

    for (p = s;; p++) {
        if (*p >= '0' && *p <= '9') {
            any = 1;
            if (mant == 0 && *p == '0' && !dot)
                continue; /* leading zeros are not significant */
            if (sig < 18) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                sig++;
                frac += dot;
            } else if (!dot) {
                return -1; /* too many integer digits to be a sensible value */
            }
            /* fraction digits past 18 significant ones are below any resolution we use */
        } else if (*p == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (!any)
        return -1;
    *out = (double)mant / pow(10.0, frac);
    *end = p;
    return 0;
}

int impair_parse_time_us(const char *key, const char *val, uint32_t *out, struct nt_err *err)
{
    static const struct {
        const char *unit;
        double us;
    } units[] = {{"us", 1}, {"usec", 1}, {"ms", 1e3}, {"msec", 1e3}, {"s", 1e6}, {"sec", 1e6}};
    const char *unit;
    double v, us = -1;
    size_t i;

    if (!val || !*val)
        return nt_err_set(err, NT_EINVAL, OP, "%s: empty time (use e.g. 100ms, 1.5s, 250us)", key);
    if (*val == '-')
        return nt_err_set(err, NT_EINVAL, OP, "%s: time '%s' must not be negative", key, val);
    if (parse_decimal(val, &v, &unit) < 0)
        return nt_err_set(err, NT_EINVAL, OP, "%s: bad time '%s' (use e.g. 100ms, 1.5s, 250us)",
                          key, val);
    if (!*unit) {
        if (v != 0)
            return nt_err_set(err, NT_EINVAL, OP,
                              "%s: time '%s' needs a unit (us, ms or s), e.g. %sms", key, val, val);
        us = 0;
    }
    for (i = 0; us < 0 && i < sizeof units / sizeof units[0]; i++)
        if (strcmp(unit, units[i].unit) == 0)
            us = v * units[i].us;
    if (us < 0)
        return nt_err_set(err, NT_EINVAL, OP, "%s: bad time unit in '%s' (use us, ms or s)", key,
                          val);
    if (us > (double)IMPAIR_MAX_TIME_US)
        return nt_err_set(err, NT_EINVAL, OP, "%s: time '%s' is out of range (at most 60s)", key,
                          val);
    *out = (uint32_t)llround(us);
    return 0;
}

int impair_parse_pct(const char *key, const char *val, double *out, struct nt_err *err)
{
    const char *rest;
    double v;

    if (!val || !*val)
        return nt_err_set(err, NT_EINVAL, OP, "%s: empty percentage (use e.g. 30%% or 0.5%%)", key);
    if (*val == '-')
        return nt_err_set(err, NT_EINVAL, OP, "%s: percentage '%s' must not be negative", key, val);
    if (parse_decimal(val, &v, &rest) < 0 || (*rest && strcmp(rest, "%") != 0))
        return nt_err_set(err, NT_EINVAL, OP, "%s: bad percentage '%s' (use e.g. 30%% or 0.5%%)",
                          key, val);
    if (v > 100)
        return nt_err_set(err, NT_EINVAL, OP, "%s: percentage '%s' is above 100%%", key, val);
    *out = v;
    return 0;
}

int impair_parse_rate(const char *key, const char *val, uint64_t *out, struct nt_err *err)
{
    static const struct {
        const char *unit;
        double bps;
    } units[] = {{"bit", 1},        {"kbit", 1e3},        {"mbit", 1e6},          {"gbit", 1e9},
                 {"kibit", 1024.0}, {"mibit", 1048576.0}, {"gibit", 1073741824.0}};
    const char *unit;
    double v, bps = -1;
    size_t i, ul;

    if (!val || !*val)
        return nt_err_set(err, NT_EINVAL, OP, "%s: empty rate (use e.g. 1mbit or 500kbit)", key);
    if (*val == '-')
        return nt_err_set(err, NT_EINVAL, OP, "%s: rate '%s' must not be negative", key, val);
    if (parse_decimal(val, &v, &unit) < 0)
        return nt_err_set(err, NT_EINVAL, OP, "%s: bad rate '%s' (use e.g. 1mbit or 500kbit)", key,
                          val);
    if (!*unit) {
        if (v != 0)
            return nt_err_set(err, NT_EINVAL, OP,
                              "%s: rate '%s' needs a unit (bit, kbit, mbit, gbit)", key, val);
        bps = 0;
    }
    ul = strlen(unit);
    if (bps < 0 && ul >= 3 && strcasecmp(unit + ul - 3, "bps") == 0)
        return nt_err_set(err, NT_EINVAL, OP,
                          "%s: rate '%s' is ambiguous: tc reads 'bps' as bytes per second; write "
                          "mbit/kbit for bits (10mbit), or multiply bytes by 8",
                          key, val);
    for (i = 0; bps < 0 && i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(unit, units[i].unit) == 0)
            bps = v * units[i].bps;
    if (bps < 0)
        return nt_err_set(err, NT_EINVAL, OP,
                          "%s: bad rate unit in '%s' (use bit, kbit, mbit, gbit, kibit, mibit, "
                          "gibit)",
                          key, val);
    if (bps > (double)IMPAIR_MAX_RATE_BPS)
        return nt_err_set(err, NT_EINVAL, OP, "%s: rate '%s' is out of range (at most 100gbit)",
                          key, val);
    *out = (uint64_t)llround(bps);
    if (*out == 0 && v != 0)
        return nt_err_set(err, NT_EINVAL, OP, "%s: rate '%s' rounds to 0 bit/s", key, val);
    return 0;
}

static const char *const dist_names[] = {"uniform", "normal", "pareto", "paretonormal"};

int impair_parse_dist(const char *key, const char *val, enum impair_dist *out, struct nt_err *err)
{
    size_t i;

    for (i = 0; val && i < sizeof dist_names / sizeof dist_names[0]; i++)
        if (strcasecmp(val, dist_names[i]) == 0) {
            *out = (enum impair_dist)i;
            return 0;
        }
    return nt_err_set(err, NT_EINVAL, OP,
                      "%s: unknown distribution '%s' (valid: uniform, normal, pareto, "
                      "paretonormal)",
                      key, val ? val : "");
}

static const char *dir_name(enum impair_dir d)
{
    return d == IMPAIR_DIR_INGRESS ? "ingress" : d == IMPAIR_DIR_BOTH ? "both" : "egress";
}

int impair_parse_dir(const char *key, const char *val, enum impair_dir *out, struct nt_err *err)
{
    if (val && strcasecmp(val, "egress") == 0)
        *out = IMPAIR_DIR_EGRESS;
    else if (val && strcasecmp(val, "ingress") == 0)
        *out = IMPAIR_DIR_INGRESS;
    else if (val && strcasecmp(val, "both") == 0)
        *out = IMPAIR_DIR_BOTH;
    else
        return nt_err_set(err, NT_EINVAL, OP,
                          "%s: unknown direction '%s' (valid: egress, ingress, both)", key,
                          val ? val : "");
    return 0;
}

const char *impair_family_name(enum impair_family f)
{
    return f == IMPAIR_FAMILY_V4 ? "v4" : f == IMPAIR_FAMILY_V6 ? "v6" : "both";
}

int impair_parse_family(const char *key, const char *val, enum impair_family *out,
                        struct nt_err *err)
{
    if (val && (strcasecmp(val, "v4") == 0 || strcasecmp(val, "ipv4") == 0))
        *out = IMPAIR_FAMILY_V4;
    else if (val && (strcasecmp(val, "v6") == 0 || strcasecmp(val, "ipv6") == 0))
        *out = IMPAIR_FAMILY_V6;
    else if (val && strcasecmp(val, "both") == 0)
        *out = IMPAIR_FAMILY_BOTH;
    else
        return nt_err_set(err, NT_EINVAL, OP, "%s: unknown family '%s' (valid: v4, v6, both)", key,
                          val ? val : "");
    return 0;
}

static int parse_gap(const char *key, const char *val, uint32_t *out, struct nt_err *err)
{
    unsigned long v = 0;
    const char *p = val;

    if (!val || !*val)
        return nt_err_set(err, NT_EINVAL, OP, "%s: empty packet count", key);
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > 1000000)
            return nt_err_set(err, NT_EINVAL, OP,
                              "%s: bad packet count '%s' (a whole number up to 1000000)", key, val);
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > 1000000)
        return nt_err_set(err, NT_EINVAL, OP,
                          "%s: bad packet count '%s' (a whole number up to 1000000)", key, val);
    *out = (uint32_t)v;
    return 0;
}

int impair_parse_seed(const char *key, const char *val, uint64_t *out, struct nt_err *err)
{
    uint64_t v = 0;
    const char *p = val;

    if (!val || !*val)
        return nt_err_set(err, NT_EINVAL, OP, "%s: empty seed", key);
    for (; *p; p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - d) / 10)
            return nt_err_set(err, NT_EINVAL, OP,
                              "%s: bad seed '%s' (a whole number, 0 to 18446744073709551615)", key,
                              val);
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* The impairment keys: one row each, read by impair_spec_set (parsing), impair_spec_format
 * (the canonical text, in this order) and the error that lists the valid keys. A new key
 * is a field of struct impair_spec and one row here ("preset" is not a field: it sets
 * many). */
enum key_kind { K_TIME, K_PCT, K_DIST, K_GAP, K_RATE, K_DIR, K_FAM, K_SEED };
static const struct impair_key {
    const char *name;
    enum key_kind kind;
    size_t off;
} keys[] = {
    {"delay", K_TIME, offsetof(struct impair_spec, delay_us)},
    {"jitter", K_TIME, offsetof(struct impair_spec, jitter_us)},
    {"distribution", K_DIST, offsetof(struct impair_spec, dist)},
    {"loss", K_PCT, offsetof(struct impair_spec, loss_pct)},
    {"loss_corr", K_PCT, offsetof(struct impair_spec, loss_corr_pct)},
    {"duplicate", K_PCT, offsetof(struct impair_spec, duplicate_pct)},
    {"reorder", K_PCT, offsetof(struct impair_spec, reorder_pct)},
    {"reorder_corr", K_PCT, offsetof(struct impair_spec, reorder_corr_pct)},
    {"reorder_gap", K_GAP, offsetof(struct impair_spec, reorder_gap)},
    {"corrupt", K_PCT, offsetof(struct impair_spec, corrupt_pct)},
    {"rate", K_RATE, offsetof(struct impair_spec, rate_bps)},
    {"direction", K_DIR, offsetof(struct impair_spec, dir)},
    {"family", K_FAM, offsetof(struct impair_spec, family)},
    {"seed", K_SEED, offsetof(struct impair_spec, seed)},
};
#define NKEYS (sizeof keys / sizeof keys[0])

static const struct impair_key *key_find(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

int impair_key_is_time(const char *name)
{
    const struct impair_key *k = name ? key_find(name) : NULL;
    return k && k->kind == K_TIME;
}

/* "delay, jitter, ..., seed, preset", from the table */
static const char *valid_keys(void)
{
    static char text[256];

    if (!text[0]) {
        size_t l = 0;
        for (size_t i = 0; i < NKEYS && l < sizeof text; i++)
            l += (size_t)snprintf(text + l, sizeof text - l, "%s, ", keys[i].name);
        if (l < sizeof text)
            snprintf(text + l, sizeof text - l, "preset");
    }
    return text;
}

int impair_spec_set(struct impair_spec *s, const char *key, const char *val, struct nt_err *err)
{
    const struct impair_key *k;
    void *field;

    if (!key)
        key = "";
    if (strcmp(key, "preset") == 0) {
        struct impair_spec p;
        if (impair_preset(val, &p, err) < 0)
            return -1;
        p.dir = s->dir;
        p.family = s->family;
        p.has_seed = s->has_seed;
        p.seed = s->seed;
        *s = p;
        return 0;
    }
    k = key_find(key);
    if (!k)
        return nt_err_set(err, NT_EINVAL, OP, "unknown impairment key '%s' (valid: %s)", key,
                          valid_keys());
    field = (char *)s + k->off;
    switch (k->kind) {
    case K_TIME:
        return impair_parse_time_us(key, val, field, err);
    case K_PCT:
        return impair_parse_pct(key, val, field, err);
    case K_DIST:
        return impair_parse_dist(key, val, field, err);
    case K_GAP:
        return parse_gap(key, val, field, err);
    case K_RATE:
        return impair_parse_rate(key, val, field, err);
    case K_DIR:
        return impair_parse_dir(key, val, field, err);
    case K_FAM:
        return impair_parse_family(key, val, field, err);
    case K_SEED:
        if (impair_parse_seed(key, val, field, err) < 0)
            return -1;
        s->has_seed = 1;
        return 0;
    }
    return nt_err_set(err, NT_EINVAL, OP, "impairment key '%s': no parser", key);
}

int impair_spec_parse_kv(struct impair_spec *s, const char *const *tokens, size_t n,
                         struct nt_err *err)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const char *eq = strchr(tokens[i], '=');
        char key[32];
        size_t kl;

        if (!eq || eq == tokens[i])
            return nt_err_set(err, NT_EINVAL, OP, "expected key=value, got '%s'", tokens[i]);
        kl = (size_t)(eq - tokens[i]);
        if (kl >= sizeof key)
            return nt_err_set(err, NT_EINVAL, OP, "unknown impairment key '%.*s' (valid: %s)",
                              (int)kl, tokens[i], valid_keys());
        memcpy(key, tokens[i], kl);
        key[kl] = '\0';
        if (impair_spec_set(s, key, eq + 1, err) < 0)
            return -1;
    }
    return impair_spec_check(s, err);
}

int impair_spec_check(const struct impair_spec *s, struct nt_err *err)
{
    if (s->reorder_pct > 0 && s->delay_us == 0)
        return nt_err_set(err, NT_EINVAL, OP,
                          "reorder needs a delay: reordered packets overtake delayed ones "
                          "(add e.g. delay=10ms)");
    return 0;
}

/* --- formatting ------------------------------------------------------------------------------ */

/* Fixed-point, trailing zeros trimmed: "%g" would write 1e-05, which our parser (and the
 * reader) should not have to accept. */
static void fmt_num(char *out, size_t n, double v)
{
    size_t l;

    snprintf(out, n, "%.6f", v);
    l = strlen(out);
    while (l > 0 && out[l - 1] == '0')
        out[--l] = '\0';
    if (l > 0 && out[l - 1] == '.')
        out[--l] = '\0';
}

static void fmt_time(char *out, size_t n, uint32_t us)
{
    if (us % 1000 == 0)
        snprintf(out, n, "%ums", us / 1000);
    else
        snprintf(out, n, "%uus", us);
}

static void fmt_pct(char *out, size_t n, double v)
{
    char num[48];

    fmt_num(num, sizeof num, v);
    snprintf(out, n, "%s%%", num);
}

static void fmt_rate(char *out, size_t n, uint64_t bps)
{
    if (bps && bps % 1000000000ull == 0)
        snprintf(out, n, "%llugbit", (unsigned long long)(bps / 1000000000ull));
    else if (bps && bps % 1000000ull == 0)
        snprintf(out, n, "%llumbit", (unsigned long long)(bps / 1000000ull));
    else if (bps && bps % 1000ull == 0)
        snprintf(out, n, "%llukbit", (unsigned long long)(bps / 1000ull));
    else
        snprintf(out, n, "%llubit", (unsigned long long)bps);
}

/* snprintf-style appender: keeps counting past the end so the caller learns the size. */
struct fmtbuf {
    char *buf;
    size_t n, len;
};

static void fb_add(struct fmtbuf *f, const char *key, const char *val)
{
    int w = snprintf(f->buf && f->len < f->n ? f->buf + f->len : NULL,
                     f->buf && f->len < f->n ? f->n - f->len : 0, "%s%s=%s", f->len ? " " : "", key,
                     val);
    if (w > 0)
        f->len += (size_t)w;
}

static void fb_time(struct fmtbuf *f, const char *key, uint32_t us)
{
    char v[32];

    fmt_time(v, sizeof v, us);
    fb_add(f, key, v);
}

static void fb_pct(struct fmtbuf *f, const char *key, double pct)
{
    char v[64];

    fmt_pct(v, sizeof v, pct);
    fb_add(f, key, v);
}

size_t impair_spec_format(const struct impair_spec *s, char *buf, size_t n)
{
    struct fmtbuf f = {buf, n, 0};
    char v[64];

    if (buf && n)
        buf[0] = '\0';
    for (size_t i = 0; i < NKEYS; i++) {
        const struct impair_key *k = &keys[i];
        const void *field = (const char *)s + k->off;
        switch (k->kind) {
        case K_TIME:
            if (*(const uint32_t *)field)
                fb_time(&f, k->name, *(const uint32_t *)field);
            break;
        case K_PCT:
            if (*(const double *)field > 0)
                fb_pct(&f, k->name, *(const double *)field);
            break;
        case K_DIST:
            if (*(const enum impair_dist *)field != IMPAIR_DIST_UNIFORM)
                fb_add(&f, k->name, dist_names[*(const enum impair_dist *)field]);
            break;
        case K_GAP:
            if (*(const uint32_t *)field) {
                snprintf(v, sizeof v, "%u", *(const uint32_t *)field);
                fb_add(&f, k->name, v);
            }
            break;
        case K_RATE:
            if (*(const uint64_t *)field) {
                fmt_rate(v, sizeof v, *(const uint64_t *)field);
                fb_add(&f, k->name, v);
            }
            break;
        case K_DIR:
            if (*(const enum impair_dir *)field != IMPAIR_DIR_EGRESS)
                fb_add(&f, k->name, dir_name(*(const enum impair_dir *)field));
            break;
        case K_FAM:
            if (*(const enum impair_family *)field != IMPAIR_FAMILY_BOTH)
                fb_add(&f, k->name, impair_family_name(*(const enum impair_family *)field));
            break;
        case K_SEED:
            if (s->has_seed) {
                snprintf(v, sizeof v, "%llu", (unsigned long long)*(const uint64_t *)field);
                fb_add(&f, k->name, v);
            }
            break;
        }
    }
    return f.len;
}

/* --- presets --------------------------------------------------------------------------------- */

/* The seed's NetworkEmulation presets (seed-docker.rs): delay and jitter in ms, loss with its
 * default 25% correlation, challenging with 50%. */
static const struct {
    const char *name;
    uint32_t delay_ms, jitter_ms;
    double loss, corr;
} presets[] = {
    {"lan", 1, 1, 0.0, 25.0},
    {"regional", 40, 10, 0.1, 25.0},
    {"intercontinental", 125, 25, 0.5, 25.0},
    {"high_latency", 200, 30, 1.0, 25.0},
    {"challenging", 150, 50, 3.0, 50.0},
};
#define NPRESETS (sizeof presets / sizeof presets[0])

const char *impair_preset_name(size_t i)
{
    return i < NPRESETS ? presets[i].name : NULL;
}

static const char preset_list[] = "lan, regional, intercontinental, high_latency, challenging";

int impair_preset(const char *name, struct impair_spec *out, struct nt_err *err)
{
    size_t i;

    for (i = 0; name && i < NPRESETS; i++) {
        if (strcasecmp(name, presets[i].name) != 0)
            continue;
        impair_spec_init(out);
        out->delay_us = presets[i].delay_ms * 1000;
        out->jitter_us = presets[i].jitter_ms * 1000;
        out->loss_pct = presets[i].loss;
        out->loss_corr_pct = presets[i].corr;
        return 0;
    }
    return nt_err_set(err, NT_EINVAL, OP, "unknown preset '%s' (valid: %s)", name ? name : "",
                      preset_list);
}

int impair_preset_from_env(const char *natrig_env, const char *freenet_env, struct impair_spec *out,
                           struct nt_err *err)
{
    const char *var = "NATRIG_EMULATION", *val = natrig_env;

    if (!val || !*val) {
        var = "FREENET_TEST_NETWORK_EMULATION";
        val = freenet_env;
    }
    if (!val || !*val)
        return 0;
    if (strcasecmp(val, "none") == 0 || strcasecmp(val, "off") == 0)
        return 0;
    if (impair_preset(val, out, NULL) == 0)
        return 1;
    return nt_err_set(err, NT_EINVAL, "network emulation",
                      "%s: unknown preset '%s' (valid: %s, none)", var, val, preset_list);
}

/* --- argv lists ------------------------------------------------------------------------------ */

void impair_argv_push(struct impair_argv *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = xrealloc(a->v, a->cap * sizeof *a->v);
    }
    a->v[a->n++] = xstrdup(s);
    a->v[a->n] = NULL;
}

void impair_argv_pushv(struct impair_argv *a, const char *const *v)
{
    for (; *v; v++)
        impair_argv_push(a, *v);
}

void impair_argv_free(struct impair_argv *a)
{
    size_t i;

    for (i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

void impair_cmds_free(struct impair_cmds *c)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        impair_argv_free(&c->v[i].argv);
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}

size_t impair_argv_join(const struct impair_argv *a, char *buf, size_t n)
{
    struct fmtbuf f = {buf, n, 0};
    size_t i;

    if (buf && n)
        buf[0] = '\0';
    for (i = 0; i < a->n; i++) {
        int w = snprintf(f.buf && f.len < f.n ? f.buf + f.len : NULL,
                         f.buf && f.len < f.n ? f.n - f.len : 0, "%s%s", i ? " " : "", a->v[i]);
        if (w > 0)
            f.len += (size_t)w;
    }
    return f.len;
}

static int check_dev(const char *dev, struct nt_err *err)
{
    size_t i, l = dev ? strlen(dev) : 0;

    /* IFNAMSIZ is 16 with the NUL; '/' and blanks cannot appear in a Linux interface name */
    if (l == 0 || l > 15)
        return nt_err_set(err, NT_EINVAL, OP, "bad device name '%s' (1 to 15 characters)",
                          dev ? dev : "");
    for (i = 0; i < l; i++)
        if (dev[i] == '/' || dev[i] == ' ' || dev[i] == '\t' || dev[i] == '\n' || dev[i] == ':')
            return nt_err_set(err, NT_EINVAL, OP, "bad device name '%s'", dev);
    return 0;
}

/* A shaped link is never loopback, in either engine (see impair_nfq_link). */
int impair_check_link_dev(const char *dev, struct nt_err *err)
{
    if (check_dev(dev, err) < 0)
        return -1;
    if (strcmp(dev, "lo") == 0)
        return nt_err_set(err, NT_EINVAL, OP, "loopback is never shaped (dev lo)");
    return 0;
}

int impair_netem_argv(const struct impair_spec *s, const char *dev, struct impair_argv *out,
                      struct nt_err *err)
{
    static const char *const head[] = {"tc", "qdisc", "replace", "dev", NULL};
    char v[64], lim[16];

    memset(out, 0, sizeof *out);
    if (impair_check_link_dev(dev, err) < 0 || impair_spec_check(s, err) < 0)
        return -1;
    impair_argv_pushv(out, head);
    impair_argv_push(out, dev);
    impair_argv_push(out, "root");
    impair_argv_push(out, "netem");
    impair_argv_push(out, "limit");
    snprintf(lim, sizeof lim, "%d", NETEM_LIMIT);
    impair_argv_push(out, lim);
    if (s->delay_us || s->jitter_us) {
        impair_argv_push(out, "delay");
        fmt_time(v, sizeof v, s->delay_us);
        impair_argv_push(out, v);
        if (s->jitter_us) {
            fmt_time(v, sizeof v, s->jitter_us);
            impair_argv_push(out, v);
            /* no table means uniform in netem, and there is no uniform.dist for tc to load */
            if (s->dist != IMPAIR_DIST_UNIFORM) {
                impair_argv_push(out, "distribution");
                impair_argv_push(out, dist_names[s->dist]);
            }
        }
    }
    if (s->loss_pct > 0) {
        impair_argv_push(out, "loss");
        if (s->loss_corr_pct > 0 && s->loss_pct < 100) {
            /* Gilbert chain with p = P(good->bad), r = P(bad->good): stationary loss p/(p+r) is
             * the requested rate and P(lost | lost) is corr + (1-corr)rate, as impair_decide */
            double c = s->loss_corr_pct / 100;
            impair_argv_push(out, "gemodel");
            fmt_pct(v, sizeof v, (1 - c) * s->loss_pct);
            impair_argv_push(out, v);
            fmt_pct(v, sizeof v, (1 - c) * (100 - s->loss_pct));
            impair_argv_push(out, v);
        } else {
            fmt_pct(v, sizeof v, s->loss_pct);
            impair_argv_push(out, v);
        }
    }
    if (s->duplicate_pct > 0) {
        impair_argv_push(out, "duplicate");
        fmt_pct(v, sizeof v, s->duplicate_pct);
        impair_argv_push(out, v);
    }
    if (s->reorder_pct > 0) {
        impair_argv_push(out, "reorder");
        fmt_pct(v, sizeof v, s->reorder_pct);
        impair_argv_push(out, v);
        if (s->reorder_corr_pct > 0) {
            fmt_pct(v, sizeof v, s->reorder_corr_pct);
            impair_argv_push(out, v);
        }
        if (s->reorder_gap > 1) {
            impair_argv_push(out, "gap");
            snprintf(v, sizeof v, "%u", s->reorder_gap);
            impair_argv_push(out, v);
        }
    }
    if (s->corrupt_pct > 0) {
        impair_argv_push(out, "corrupt");
        fmt_pct(v, sizeof v, s->corrupt_pct);
        impair_argv_push(out, v);
    }
    if (s->rate_bps) {
        impair_argv_push(out, "rate");
        fmt_rate(v, sizeof v, s->rate_bps);
        impair_argv_push(out, v);
    }
    return 0;
}

int impair_netem_clear_argv(const char *dev, struct impair_argv *out, struct nt_err *err)
{
    static const char *const head[] = {"tc", "qdisc", "del", "dev", NULL};

    memset(out, 0, sizeof *out);
    if (check_dev(dev, err) < 0)
        return -1;
    impair_argv_pushv(out, head);
    impair_argv_push(out, dev);
    impair_argv_push(out, "root");
    return 0;
}

int impair_tbf_argv(const struct impair_spec *s, const char *dev, struct impair_argv *out,
                    struct nt_err *err)
{
    static const char *const head[] = {"tc", "qdisc", "replace", "dev", NULL};
    uint64_t burst;
    char v[64];

    memset(out, 0, sizeof *out);
    if (impair_check_link_dev(dev, err) < 0)
        return -1;
    if (!s->rate_bps)
        return nt_err_set(err, NT_EINVAL, OP, "tbf needs a rate (rate=0 means unlimited)");
    /* tbf drops any packet larger than its bucket, so at least a few MTUs; and at least 10 ms
     * of traffic, else a timer tick of 4 ms (HZ=250) empties the bucket before it refills */
    burst = s->rate_bps / 800;
    if (burst < 4096)
        burst = 4096;
    impair_argv_pushv(out, head);
    impair_argv_push(out, dev);
    impair_argv_push(out, "root");
    impair_argv_push(out, "tbf");
    impair_argv_push(out, "rate");
    fmt_rate(v, sizeof v, s->rate_bps);
    impair_argv_push(out, v);
    impair_argv_push(out, "burst");
    snprintf(v, sizeof v, "%llu", (unsigned long long)burst);
    impair_argv_push(out, v);
    impair_argv_push(out, "latency");
    impair_argv_push(out, "50ms");
    return 0;
}
