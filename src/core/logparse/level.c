/* logparse/level.c - level and format names: what every format prints, normalised, and the
 * names natrig shows. */
#include "core/logparse/internal.h"

static const char *const level_names[] = {"NONE", "TRACE", "DEBUG", "INFO",
                                          "WARN", "ERROR", "FATAL", "PANIC"};
static const char *const level_lower[] = {NULL,   "trace", "debug", "info",
                                          "warn", "error", "fatal", "panic"};
static const char *const format_names[] = {"plain", "tracing", "json", "logfmt", "zap"};

const char *logparse_level_name(enum logparse_level level)
{
    if ((unsigned)level >= sizeof level_names / sizeof level_names[0])
        return level_names[0];
    return level_names[level];
}

const char *logparse_level_lower(enum logparse_level level)
{
    if ((unsigned)level >= sizeof level_lower / sizeof level_lower[0])
        return NULL;
    return level_lower[level];
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

int lp_level_lookup(const char *s, size_t n, int strict)
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
int lp_level_value(const char *s, size_t n)
{
    int l = lp_level_lookup(s, n, 0);
    size_t k = n;

    if (l >= 0)
        return l;
    while (k > 0 && is_digit((unsigned char)s[k - 1]))
        k--;
    if (k == n || k < 2 || (s[k - 1] != '+' && s[k - 1] != '-'))
        return -1;
    return lp_level_lookup(s, k - 1, 0);
}

int logparse_level_from(const char *s, size_t n)
{
    if (!s)
        return -1;
    return lp_level_lookup(s, n, 0);
}
