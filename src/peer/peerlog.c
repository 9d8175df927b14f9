/* peerlog.c - tracing-compatible log lines on stdout (see peerlog.h). */
#include "peer/peerlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum peerlog_level peerlog_max = PEERLOG_INFO;

void peerlog_init(void)
{
    const char *env = getenv("NATRIG_PEER_LOG");

    /* logs are read live by natrig (wait_log) through a pipe: never sit in a buffer */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!env)
        return;
    if (strcasecmp(env, "error") == 0)
        peerlog_max = PEERLOG_ERROR;
    else if (strcasecmp(env, "warn") == 0)
        peerlog_max = PEERLOG_WARN;
    else if (strcasecmp(env, "debug") == 0 || strcasecmp(env, "trace") == 0)
        peerlog_max = PEERLOG_DEBUG;
}

void peerlog_set_level(enum peerlog_level max)
{
    peerlog_max = max;
}

int peerlog_enabled(enum peerlog_level level)
{
    return level <= peerlog_max;
}

static void put(struct peerlog_line *l, const char *s, size_t n)
{
    /* keep one byte for the newline peerlog_end adds */
    size_t room = sizeof l->buf - 1 - l->len;

    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(struct peerlog_line *l, const char *s)
{
    put(l, s, strlen(s));
}

void peerlog_begin(struct peerlog_line *l, enum peerlog_level level, const char *target,
                   const char *msg)
{
    /* tracing right-aligns the level in five columns: " INFO", " WARN", "ERROR", "DEBUG" */
    static const char *names[] = {"ERROR", " WARN", " INFO", "DEBUG"};
    struct timespec ts;
    struct tm tm;
    char stamp[64];
    size_t n;

    l->len = 0;
    l->on = peerlog_enabled(level);
    if (!l->on)
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + n, sizeof stamp - n, ".%06ldZ ", ts.tv_nsec / 1000);
    puts_(l, stamp);
    puts_(l, names[level]);
    puts_(l, " ");
    puts_(l, target);
    puts_(l, ": ");
    puts_(l, msg);
}

static int needs_quotes(const char *v)
{
    const unsigned char *p = (const unsigned char *)v;

    if (!*p)
        return 1;
    for (; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 127)
            return 1;
    return 0;
}

void peerlog_str(struct peerlog_line *l, const char *key, const char *val)
{
    const unsigned char *p;
    char esc[8];

    if (!l->on)
        return;
    put(l, " ", 1);
    puts_(l, key);
    put(l, "=", 1);
    if (!needs_quotes(val)) {
        puts_(l, val);
        return;
    }
    put(l, "\"", 1);
    for (p = (const unsigned char *)val; *p; p++) {
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(l, esc, 2);
        } else if (*p == '\n') {
            put(l, "\\n", 2);
        } else if (*p == '\t') {
            put(l, "\\t", 2);
        } else if (*p == '\r') {
            put(l, "\\r", 2);
        } else if (*p < ' ' || *p == 127) {
            snprintf(esc, sizeof esc, "\\u{%x}", *p);
            puts_(l, esc);
        } else {
            put(l, (const char *)p, 1);
        }
    }
    put(l, "\"", 1);
}

void peerlog_int(struct peerlog_line *l, const char *key, long long val)
{
    char b[32];

    snprintf(b, sizeof b, "%lld", val);
    peerlog_str(l, key, b);
}

void peerlog_addr(struct peerlog_line *l, const char *key, const struct peerproto_addr *a)
{
    char b[PEERPROTO_ADDR_STRLEN];

    peerlog_str(l, key, peerproto_addr_format(a, b, sizeof b));
}

void peerlog_fmt(struct peerlog_line *l, const char *key, const char *fmt, ...)
{
    char b[512];
    va_list ap;

    if (!l->on)
        return;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    peerlog_str(l, key, b);
}

void peerlog_end(struct peerlog_line *l)
{
    if (!l->on)
        return;
    l->buf[l->len++] = '\n';
    fwrite(l->buf, 1, l->len, stdout);
    fflush(stdout);
}

static int is_pow2(unsigned long v)
{
    return v && !(v & (v - 1));
}

void peerlog_bad_datagram(const char *target, const struct peerproto_stats *st,
                          enum peerproto_bad why, const struct peerproto_addr *from, size_t len)
{
    enum peerlog_level level =
        st->bad_total <= 10 || is_pow2(st->bad_total) ? PEERLOG_WARN : PEERLOG_DEBUG;
    struct peerlog_line l;

    peerlog_begin(&l, level, target, "ignored bad datagram");
    peerlog_addr(&l, "from", from);
    peerlog_str(&l, "reason", peerproto_bad_name(why));
    peerlog_int(&l, "len", (long long)len);
    peerlog_int(&l, "bad_total", (long long)st->bad_total);
    peerlog_end(&l);
}

void peerlog_print_escaped(FILE *f, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] == '\\')
            fputs("\\\\", f);
        else if (b[i] >= ' ' && b[i] < 127)
            fputc(b[i], f);
        else
            fprintf(f, "\\x%02x", b[i]);
    }
}
