/* test_jsonlog.c - TAP tests for core/jsonlog (the engine's json-file log lines, decoded and
 * converted to the follow stream's form).
 *
 * Fixtures: every $NATRIG_FIXTURES/jsonlog/NAME.log (default tests/fixtures) is a json-file
 * log; NAME.expected holds "lines N bad M rest R" (records converted, lines that were no
 * records, bytes left unconsumed: a last line not yet whole), then the runs emitted, each
 * as "--- stdout" or "--- stderr" and its bytes ("\ no newline" after a run that does not
 * end a line). Each fixture is converted whole, and cut at every point into two calls (the
 * second offered what the first left): the merged runs must not depend on the cut. The
 * rows below check the decoder alone. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonlog.h"
#include "tap.h"

struct text {
    char *p;
    size_t len, cap;
};

static void put(struct text *t, const char *p, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        if (!t->p)
            abort();
    }
    memcpy(t->p + t->len, p, n);
    t->len += n;
    t->p[t->len] = 0;
}

/* The runs as the .expected files write them; merge: consecutive runs of one stream as
 * one (a cut may split a run). */
struct render {
    struct text t;
    int last_stream, merge, open_nl; /* open_nl: the last run did not end a line */
};

static void close_run(struct render *r)
{
    if (r->open_nl)
        put(&r->t, "\n\\ no newline\n", 14);
    r->open_nl = 0;
}

static void emit(void *ud, int stream, const char *p, size_t n)
{
    struct render *r = ud;

    if (!(r->merge && stream == r->last_stream)) {
        close_run(r);
        put(&r->t, stream == JSONLOG_STDERR ? "--- stderr\n" : "--- stdout\n", 11);
    }
    put(&r->t, p, n);
    r->open_nl = n > 0 && p[n - 1] != '\n';
    r->last_stream = stream;
}

static char *convert(const char *in, size_t n, size_t cut, int merge, size_t *rest,
                     struct jsonlog_conv *c)
{
    struct render r = {{NULL, 0, 0}, -1, merge, 0};
    size_t cap = JSONLOG_OUT_NEED(n), used;
    char *out = malloc(cap);

    if (!out)
        abort();
    memset(c, 0, sizeof *c);
    used = jsonlog_convert(c, in, cut, 0, out, cap, emit, &r);
    used += jsonlog_convert(c, in + used, n - used, 0, out, cap, emit, &r);
    close_run(&r);
    *rest = n - used;
    free(out);
    put(&r.t, "", 0);
    return r.t.p;
}

static void fixture(const char *dir, const char *name)
{
    char path[512], head[128];
    size_t n = 0, en = 0, rest;
    char *in, *want, *got, *nl;
    struct jsonlog_conv c;
    int all_cuts = 1;

    snprintf(path, sizeof path, "%s/%s.log", dir, name);
    in = tap_slurp(path, &n);
    snprintf(path, sizeof path, "%s/%s.expected", dir, name);
    want = tap_slurp(path, &en);
    ok(in && want, "%s: fixture and expected read", name);
    if (!in || !want)
        return;
    nl = strchr(want, '\n');
    got = convert(in, n, n, 0, &rest, &c);
    snprintf(head, sizeof head, "lines %zu bad %zu rest %zu", c.lines, c.bad, rest);
    ok(nl && strncmp(want, head, (size_t)(nl - want)) == 0, "%s: %s", name, head);
    is_str(got, nl ? nl + 1 : "", "%s: the runs, converted whole", name);
    free(got);
    /* merged, whole, is what every cut must give */
    {
        char *whole = convert(in, n, n, 1, &rest, &c);
        size_t rest0 = rest;
        for (size_t k = 0; k <= n; k++) {
            char *cut = convert(in, n, k, 1, &rest, &c);
            if (strcmp(cut, whole) != 0 || rest != rest0) {
                all_cuts = 0;
                printf("# cut at %zu differs\n", k);
                free(cut);
                break;
            }
            free(cut);
        }
        free(whole);
    }
    ok(all_cuts, "%s: the same at every cut into two calls", name);
    free(in);
    free(want);
}

struct row {
    const char *line;
    int rc;
    int stream;
    const char *ts, *log;
    const char *why;
};

static const struct row rows[] = {
    {"{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-07T06:03:51Z\"}", 0,
     JSONLOG_STDOUT, "2026-12-07T06:03:51.000000000Z", "x\n", "no fraction: padded to 9 digits"},
    {"{\"log\":\"x\",\"stream\":\"stderr\",\"time\":\"2026-12-07T06:03:51.1234567891Z\"}", 0,
     JSONLOG_STDERR, "2026-12-07T06:03:51.1234567891Z", "x", "10 fraction digits: as written"},
    {"{\"log\":\"\\/\\\\\\b\\f\\r\",\"stream\":\"stdout\",\"time\":\"t\"}", 0, JSONLOG_STDOUT, "t",
     "/\\\b\f\r", "every short escape; a time that is no time is kept as it is"},
    {"{\"log\":\"\\ud800x\",\"stream\":\"stdout\",\"time\":\"t\"}", 0, JSONLOG_STDOUT, "t",
     "\xef\xbf\xbdx", "a lone surrogate is U+FFFD"},
    {"{\"log\":\"\\u0041\\u00DF\",\"time\":\"t\"}", 0, JSONLOG_OTHER, "t", "A\xc3\x9f",
     "no stream: other"},
    {"{\"log\":\"\\q\",\"stream\":\"stdout\",\"time\":\"t\"}", -1, 0, NULL, NULL, "a bad escape"},
    {"{\"log\":\"\\u12G4\",\"stream\":\"stdout\",\"time\":\"t\"}", -1, 0, NULL, NULL, "bad hex"},
    {"{\"log\":\"x\",\"stream\":\"stdout\"}", -1, 0, NULL, NULL, "no time"},
    {"{\"stream\":\"stdout\",\"time\":\"t\"}", -1, 0, NULL, NULL, "no log"},
    {"{\"log\":5,\"stream\":\"stdout\",\"time\":\"t\"}", -1, 0, NULL, NULL, "log not a string"},
    {"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"t\"} x", -1, 0, NULL, NULL, "trailing bytes"},
    {"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"t\"", -1, 0, NULL, NULL, "cut"},
    {"{\"log\":\"x\",\"time\":\"0123456789012345678901234567890123456789\"}", -1, 0, NULL, NULL,
     "a time of 40 characters"},
    {"{\"log\":\"x\",\"time\":\"t\\n\"}", -1, 0, NULL, NULL, "a time with an escape"},
    {"{\"log\":\"x\",\"time\":\"t\",\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]"
     "]]]]]]]]]]]]]]]]]]]]]]]}",
     -1, 0, NULL, NULL, "nesting beyond 32"},
    {"{\"log\":\"x\",\"time\":\"t\",\"a\":{\"b\":[1,true,null,\"}\"]}}", 0, JSONLOG_OTHER, "t", "x",
     "a nested value skipped"},
    {"[\"log\"]", -1, 0, NULL, NULL, "not an object"},
    {"{}", -1, 0, NULL, NULL, "an empty object"},
    {"", -1, 0, NULL, NULL, "nothing"},
};

static void decode_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        size_t n = strlen(r->line);
        char *dst = malloc(n + 1);
        struct jsonlog_line l;
        int rc = jsonlog_decode(r->line, n, dst, &l);

        is_int(rc, r->rc, "decode: %s", r->why);
        if (rc == 0 && r->rc == 0) {
            ok(l.log_n <= n, "decode: %s: the text no longer than the line", r->why);
            is_int(l.stream, r->stream, "decode: %s: stream", r->why);
            ok(l.ts_n == strlen(r->ts) && memcmp(l.ts, r->ts, l.ts_n) == 0,
               "decode: %s: time '%.*s'", r->why, (int)l.ts_n, l.ts);
            ok(l.log_n == strlen(r->log) && memcmp(l.log, r->log, l.log_n) == 0, "decode: %s: text",
               r->why);
        }
        free(dst);
    }
}

/* A line the output buffer cannot take is skipped (counted bad); the rest goes on. */
static void small_buffer(void)
{
    const char *in = "{\"log\":\"a long line of text\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n"
                     "{\"log\":\"b\\n\",\"stream\":\"stdout\",\"time\":\"t\"}\n";
    struct render r = {{NULL, 0, 0}, -1, 1, 0};
    struct jsonlog_conv c = {{0, 0}, 0, 0};
    char out[JSONLOG_OUT_NEED(48)];
    size_t used = jsonlog_convert(&c, in, strlen(in), 0, out, sizeof out, emit, &r);

    is_int(used, strlen(in), "small buffer: everything consumed");
    is_int(c.bad, 1, "small buffer: the line too long for it counted bad");
    is_str(r.t.p, "--- stdout\nt b\n", "small buffer: the next line converted");
    free(r.t.p);
}

int main(void)
{
    char dir[512];
    DIR *d;
    struct dirent *e;
    int nfix = 0;

    decode_rows();
    small_buffer();
    snprintf(dir, sizeof dir, "%s/jsonlog", tap_fixture_dir());
    d = opendir(dir);
    ok(d != NULL, "fixture directory %s", dir);
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        char name[256];
        if (l < 5 || strcmp(e->d_name + l - 4, ".log") != 0 || l - 4 >= sizeof name)
            continue;
        memcpy(name, e->d_name, l - 4);
        name[l - 4] = 0;
        fixture(dir, name);
        nfix++;
    }
    if (d)
        closedir(d);
    ok(nfix > 0, "%d fixtures", nfix);
    return tap_done();
}
