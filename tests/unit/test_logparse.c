/* test_logparse.c - TAP tests for core/logparse. Most cases are data: each
 * $NATRIG_FIXTURES/logs/NAME.txt (default tests/fixtures) holds input lines, and NAME.expected
 * one record per line, records separated by blank lines. A record is the entry rendered
 * by render() below, one "name value" line each, in this order, absent ones omitted:
 *
 *   format tracing                         always
 *   engine_ts 2026-11-24T13:11:17.123456789Z
 *   ts 2025-06-01T12:00:00.123456000Z     always UTC with nine digits
 *   level INFO
 *   thread / spans / target / location / msg <text>
 *   field.<key> <value>                    in order
 *   flags fields_dropped,scratch_full,unterminated,bad_json
 *   cont 1                                 logparse_is_continuation() said so
 *
 * Text is escaped: \\ \n \r \t, \xHH for other control bytes and bytes >= 0x80, and a
 * trailing space as \x20 (a key's spaces too). Lines starting with '#' are comments;
 * before the first record "@opts engine_ts" and "@scratch N" set how the file is parsed.
 * The rest checks what data cannot say well: every prefix of every fixture line (cut
 * lines) and small scratch sizes with guard bytes, generated very long and binary lines,
 * the scratch bound of flattened JSON, the continuation rule per format, and the level
 * and format helpers. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/logparse.h"
#include "tap.h"

#define GUARD 16
#define GUARD_BYTE 0xA5

struct text {
    char *p;
    size_t len, cap;
};

static void text_put(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        if (!t->p)
            abort();
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

static void text_puts(struct text *t, const char *s)
{
    text_put(t, s, strlen(s));
}

static void text_esc(struct text *t, const char *s, size_t n, int is_key)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char b[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
        if (c == '\\')
            text_puts(t, "\\\\");
        else if (c == '\n')
            text_puts(t, "\\n");
        else if (c == '\r')
            text_puts(t, "\\r");
        else if (c == '\t')
            text_puts(t, "\\t");
        else if (c < 0x20 || c >= 0x7f || (c == ' ' && (is_key || i + 1 == n)))
            text_put(t, b, 4);
        else
            text_put(t, (const char *)&c, 1);
    }
}

static void civil(int64_t days, int *y, int *m, int *d)
{
    int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void text_ts(struct text *t, const char *name, int64_t ns)
{
    char b[80];
    int64_t secs = ns / 1000000000, sod = secs % 86400;
    int y, m, d;

    civil(secs / 86400, &y, &m, &d);
    snprintf(b, sizeof b, "%s %04d-%02d-%02dT%02d:%02d:%02d.%09lldZ\n", name, y, m, d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
             (long long)(ns % 1000000000));
    text_puts(t, b);
}

static void text_span(struct text *t, const char *name, struct logparse_span s)
{
    if (!s.n)
        return;
    text_puts(t, name);
    text_puts(t, " ");
    text_esc(t, s.p, s.n, 0);
    text_puts(t, "\n");
}

static void render(struct text *t, const struct logparse_entry *e, int cont)
{
    static const struct {
        unsigned bit;
        const char *name;
    } flags[] = {{LOGPARSE_F_FIELDS_DROPPED, "fields_dropped"},
                 {LOGPARSE_F_SCRATCH_FULL, "scratch_full"},
                 {LOGPARSE_F_UNTERMINATED, "unterminated"},
                 {LOGPARSE_F_BAD_JSON, "bad_json"}};
    size_t i;
    int n = 0;

    t->len = 0;
    text_puts(t, "format ");
    text_puts(t, logparse_format_name(e->format));
    text_puts(t, "\n");
    if (e->engine_ts_ns >= 0)
        text_ts(t, "engine_ts", e->engine_ts_ns);
    if (e->ts_ns >= 0)
        text_ts(t, "ts", e->ts_ns);
    if (e->level != LOGPARSE_LEVEL_NONE) {
        text_puts(t, "level ");
        text_puts(t, logparse_level_name(e->level));
        text_puts(t, "\n");
    }
    text_span(t, "thread", e->thread);
    text_span(t, "spans", e->spans);
    text_span(t, "target", e->target);
    text_span(t, "location", e->location);
    text_span(t, "msg", e->message);
    for (i = 0; i < (size_t)e->nfields; i++) {
        text_puts(t, "field.");
        text_esc(t, e->fields[i].key.p, e->fields[i].key.n, 1);
        if (e->fields[i].val.n)
            text_puts(t, " ");
        text_esc(t, e->fields[i].val.p, e->fields[i].val.n, 0);
        text_puts(t, "\n");
    }
    for (i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        if (e->flags & flags[i].bit) {
            text_puts(t, n++ ? "," : "flags ");
            text_puts(t, flags[i].name);
        }
    }
    if (n)
        text_puts(t, "\n");
    if (cont)
        text_puts(t, "cont 1\n");
    if (t->len)
        t->p[--t->len] = 0; /* records are compared without their last newline */
}

/* Print a multi-line record as TAP diagnostics, every line behind "#". */
static void diag_record(const char *label, const char *r)
{
    while (*r) {
        const char *nl = strchr(r, '\n');
        int n = nl ? (int)(nl - r) : (int)strlen(r);
        printf("#   %s %.*s\n", label, n, r);
        r += n + (nl != NULL);
        label = "     ";
    }
}

static void is_record(const char *got, const char *want, const char *file, size_t line)
{
    int same = strcmp(got, want) == 0;

    ok(same, "%s:%zu", file, line);
    if (!same) {
        diag_record("got: ", got);
        diag_record("want:", want);
    }
}

/* Whether span s lies in [a, a+an) or [b, b+bn); empty spans only need a pointer. */
static int span_in(struct logparse_span s, const char *a, size_t an, const char *b, size_t bn)
{
    uintptr_t p = (uintptr_t)s.p;

    if (!s.p)
        return 0;
    if (!s.n)
        return 1;
    if (a && p >= (uintptr_t)a && p + s.n <= (uintptr_t)a + an)
        return 1;
    return b && p >= (uintptr_t)b && p + s.n <= (uintptr_t)b + bn;
}

static int entry_sane(const struct logparse_entry *e, const char *line, size_t len,
                      const char *scratch, size_t used)
{
    const struct logparse_span *sp[] = {&e->thread, &e->spans, &e->target, &e->location,
                                        &e->message};
    size_t i;

    if (e->nfields < 0 || e->nfields > LOGPARSE_MAX_FIELDS)
        return 0;
    for (i = 0; i < sizeof sp / sizeof sp[0]; i++)
        if (!span_in(*sp[i], line, len, scratch, used))
            return 0;
    for (i = 0; i < (size_t)e->nfields; i++)
        if (!span_in(e->fields[i].key, line, len, scratch, used) ||
            !span_in(e->fields[i].val, line, len, scratch, used))
            return 0;
    return 1;
}

/* Parse a heap copy of exactly len bytes into a scratch of cap bytes followed by guard
 * bytes, so ASan sees any over-read and the guard any over-write. */
static int parse_checked(const char *src, size_t len, unsigned opts, size_t cap,
                         struct logparse_entry *e)
{
    char *line = malloc(len ? len : 1), *scratch = malloc(cap + GUARD);
    size_t used, i;
    int good = 1;

    if (!line || !scratch)
        abort();
    if (len)
        memcpy(line, src, len);
    memset(scratch, GUARD_BYTE, cap + GUARD);
    used = logparse_line(line, len, opts, cap ? scratch : NULL, cap, e);
    for (i = cap; i < cap + GUARD; i++)
        if ((unsigned char)scratch[i] != GUARD_BYTE)
            good = 0;
    if (used > cap || !entry_sane(e, line, len, scratch, used))
        good = 0;
    free(line);
    free(scratch);
    return good;
}

struct lines {
    const char **p;
    size_t *n;
    size_t count;
};

static void split_lines(char *buf, size_t len, struct lines *l)
{
    size_t i, start = 0;

    l->count = 0;
    l->p = malloc((len + 1) * sizeof *l->p);
    l->n = malloc((len + 1) * sizeof *l->n);
    if (!l->p || !l->n)
        abort();
    for (i = 0; i <= len; i++) {
        if (i == len && start == len)
            break;
        if (i == len || buf[i] == '\n') {
            l->p[l->count] = buf + start;
            l->n[l->count++] = i - start;
            start = i + 1;
        }
    }
}

/* Records of an .expected file (NUL-terminated, in place) and its directives. */
static size_t split_records(char *buf, char **rec, size_t max, unsigned *opts, size_t *scratch)
{
    size_t nrec = 0, out = 0;
    char *line = buf, *next, *cur = NULL;

    for (; *line; line = next) {
        next = strchr(line, '\n');
        next = next ? next + 1 : line + strlen(line);
        if (*line == '#')
            continue;
        if (*line == '@' && nrec == 0 && !cur) {
            if (strncmp(line, "@opts engine_ts", 15) == 0)
                *opts |= LOGPARSE_OPT_ENGINE_TS;
            else if (strncmp(line, "@scratch ", 9) == 0)
                *scratch = strtoul(line + 9, NULL, 10);
            continue;
        }
        if (*line == '\n') {
            if (cur) {
                buf[out++] = 0;
                cur = NULL;
            }
            continue;
        }
        if (!cur) {
            if (nrec == max)
                break;
            cur = rec[nrec++] = buf + out;
        } else {
            buf[out++] = '\n';
        }
        memmove(buf + out, line, (size_t)(next - line) - (next[-1] == '\n'));
        out += (size_t)(next - line) - (next[-1] == '\n');
    }
    buf[out] = 0;
    return nrec;
}

static void run_fixture(const char *dir, const char *name)
{
    char path[4096];
    size_t tlen = 0, elen = 0, nrec, i, cap = 0;
    unsigned opts = 0;
    char *txt, *exp, **rec;
    struct lines l;
    struct text t = {NULL, 0, 0};
    struct logparse_entry e, head;
    int have_head = 0;

    snprintf(path, sizeof path, "%s/logs/%s.txt", dir, name);
    txt = tap_slurp(path, &tlen);
    snprintf(path, sizeof path, "%s/logs/%s.expected", dir, name);
    exp = tap_slurp(path, &elen);
    ok(txt && exp, "%s: .txt and .expected readable", name);
    if (!txt || !exp) {
        free(txt);
        free(exp);
        return;
    }
    split_lines(txt, tlen, &l);
    rec = malloc((elen + 1) * sizeof *rec);
    if (!rec)
        abort();
    nrec = split_records(exp, rec, elen + 1, &opts, &cap);
    is_int(nrec, l.count, "%s: as many records (got) as input lines (want)", name);
    for (i = 0; i < l.count && i < nrec; i++) {
        size_t c = cap ? cap : 2 * l.n[i] + 1;
        char *scratch = malloc(c);
        int cont;
        if (!scratch)
            abort();
        logparse_line(l.p[i], l.n[i], opts, scratch, c, &e);
        cont = logparse_is_continuation(have_head ? &head : NULL, &e);
        render(&t, &e, cont);
        is_record(t.p, rec[i], name, i + 1);
        if (!cont) {
            head = e; /* only format and level are read later */
            have_head = 1;
        }
        free(scratch);
    }
    /* every prefix of every line, with scratch exactly as large as promised, then tight */
    size_t total_bad = 0, checked = 0;
    for (i = 0; i < l.count; i++) {
        size_t k, bad = 0, caps[] = {0, 1, 7, l.n[i] / 2, l.n[i]};
        for (k = 0; k <= l.n[i]; k++)
            if (!parse_checked(l.p[i], k, opts, LOGPARSE_SCRATCH_NEED(k), &e) ||
                (e.flags & LOGPARSE_F_SCRATCH_FULL))
                bad++;
        for (k = 0; k < sizeof caps / sizeof caps[0]; k++)
            if (!parse_checked(l.p[i], l.n[i], opts, caps[k], &e))
                bad++;
        if (bad)
            printf("#   %s:%zu: %zu prefixes or scratch sizes out of bounds\n", name, i + 1, bad);
        total_bad += bad;
        checked += l.n[i] + 1 + sizeof caps / sizeof caps[0];
    }
    ok(total_bad == 0 && checked > 0,
       "%s: %zu prefixes and small scratch sizes stay in bounds (%zu bad)", name, checked,
       total_bad);
    free(t.p);
    free(rec);
    free(l.p);
    free(l.n);
    free(txt);
    free(exp);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_fixtures(void)
{
    const char *dir = getenv("NATRIG_FIXTURES");
    char path[4096], *names[256];
    size_t n = 0, i;
    DIR *d;
    struct dirent *de;

    if (!dir || !*dir)
        dir = "tests/fixtures";
    snprintf(path, sizeof path, "%s/logs", dir);
    d = opendir(path);
    ok(d != NULL, "fixture directory %s", path);
    if (!d)
        return;
    for (;;) {
        size_t len;
        de = readdir(d);
        if (!de || n == sizeof names / sizeof names[0])
            break;
        len = strlen(de->d_name);
        if (len > 4 && strcmp(de->d_name + len - 4, ".txt") == 0) {
            names[n] = malloc(len - 3);
            if (!names[n])
                abort();
            memcpy(names[n], de->d_name, len - 4);
            names[n++][len - 4] = 0;
        }
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);
    ok(n >= 8, "found %zu fixture files", n);
    for (i = 0; i < n; i++) {
        run_fixture(dir, names[i]);
        free(names[i]);
    }
}

static void test_levels(void)
{
    static const struct {
        const char *in;
        int want;
    } rows[] = {
        {"info", LOGPARSE_LEVEL_INFO},
        {"INFO", LOGPARSE_LEVEL_INFO},
        {"Warning", LOGPARSE_LEVEL_WARN},
        {"warn", LOGPARSE_LEVEL_WARN},
        {"TRACE", LOGPARSE_LEVEL_TRACE},
        {"debug", LOGPARSE_LEVEL_DEBUG},
        {"error", LOGPARSE_LEVEL_ERROR},
        {"fatal", LOGPARSE_LEVEL_FATAL},
        {"CRITICAL", LOGPARSE_LEVEL_FATAL},
        {"notice", LOGPARSE_LEVEL_INFO},
        {"none", -1},
        {"", -1},
        {"inf", -1},
        {"information", LOGPARSE_LEVEL_INFO},
        {"inf\x30", -1},
        {"in-o", -1},
        {"WARNING", LOGPARSE_LEVEL_WARN},
        {"err", LOGPARSE_LEVEL_ERROR},
        {"ERR", LOGPARSE_LEVEL_ERROR},
        {"crit", LOGPARSE_LEVEL_FATAL},
        {"FATAL", LOGPARSE_LEVEL_FATAL},
        {"panic", LOGPARSE_LEVEL_PANIC},
        {"DPANIC", LOGPARSE_LEVEL_PANIC},
        {"dbg", LOGPARSE_LEVEL_DEBUG},
        {"Debug", LOGPARSE_LEVEL_DEBUG},
        {"informational", LOGPARSE_LEVEL_INFO},
        {"informationalx", -1},
        {"ERROR+2", -1},
    };
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
        is_int(logparse_level_from(rows[i].in, strlen(rows[i].in)), rows[i].want,
               "level_from(\"%s\")", rows[i].in);
    is_int(logparse_level_from(NULL, 0), -1, "level_from(NULL)");
    is_str(logparse_level_name(LOGPARSE_LEVEL_WARN), "WARN", "level_name(WARN)");
    is_str(logparse_level_name(LOGPARSE_LEVEL_NONE), "NONE", "level_name(NONE)");
    is_str(logparse_level_name((enum logparse_level)99), "NONE", "level_name(99)");
    is_str(logparse_level_name(LOGPARSE_LEVEL_PANIC), "PANIC", "level_name(PANIC)");
    for (i = LOGPARSE_LEVEL_TRACE; i <= LOGPARSE_LEVEL_PANIC; i++) {
        const char *nm = logparse_level_name((enum logparse_level)i);
        is_int(logparse_level_from(nm, strlen(nm)), i, "level_from(level_name(%zu))", i);
    }
}

static void test_formats(void)
{
    int i;

    for (i = LOGPARSE_FMT_PLAIN; i <= LOGPARSE_FMT_ZAP; i++) {
        const char *nm = logparse_format_name((enum logparse_format)i);
        is_int(logparse_format_from(nm, strlen(nm)), i, "format_from(format_name(%d))", i);
    }
    is_str(logparse_format_name(LOGPARSE_FMT_LOGFMT), "logfmt", "format_name(LOGFMT)");
    is_str(logparse_format_name((enum logparse_format)99), "plain", "format_name(99)");
    is_int(logparse_format_from("jso", 3), LOGPARSE_FMT_PLAIN, "format_from(\"jso\")");
    is_int(logparse_format_from(NULL, 0), LOGPARSE_FMT_PLAIN, "format_from(NULL)");
}

/* Which line continues which head: one row per head format and kind of line. */
static void test_continuation(void)
{
    static const struct {
        const char *head, *line;
        int want;
    } rows[] = {
        {"{\"msg\":\"x\"}", "plain text", 0},
        {"{\"msg\":\"x\"}", "    indented", 0},
        {"{\"msg\":\"x\"}", "", 0},
        {"{\"msg\":\"x\"}", "stack backtrace:", 0},
        {"time=2026-11-30T10:00:00Z level=info msg=x", "plain text", 0},
        {"time=2026-11-30T10:00:00Z level=info msg=x", "\tindented", 1},
        {"time=2026-11-30T10:00:00Z level=info msg=x", "", 0},
        {"2026-11-30T10:00:00Z\tERROR\tx", "main.main", 1},
        {"2026-11-30T10:00:00Z\tERROR\tx", "", 1},
        {"2025-06-01T12:00:00Z  INFO x::y: m", "second line", 1},
        {"panic: boom", "goroutine 1 [running]:", 1},
        {"plain", "plain", 0},
        {"plain", "note: x", 1},
        {"plain", "{\"msg\":\"json\"}", 0},
        {"2025-06-01T12:00:00Z  INFO x::y: m", "level=info msg=x", 0},
        {"2025-06-01T12:00:00Z  INFO x::y: m", "panic: boom", 0},
    };
    char sa[512], sb[512];
    struct logparse_entry h, e;
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        logparse_line(rows[i].head, strlen(rows[i].head), 0, sa, sizeof sa, &h);
        logparse_line(rows[i].line, strlen(rows[i].line), 0, sb, sizeof sb, &e);
        is_int(logparse_is_continuation(&h, &e), rows[i].want, "continuation: %s head, \"%s\"",
               logparse_format_name(h.format), rows[i].line);
    }
}

/* Flattened keys repeat their parent's path: the worst case needs the slack of
 * LOGPARSE_SCRATCH_NEED, and gets it. */
static void test_scratch_bound(void)
{
    char line[1024], *scratch;
    size_t len = 0, need, used, i;
    struct logparse_entry e;
    int good = 1;

    len += (size_t)snprintf(line + len, sizeof line - len, "{\"");
    for (i = 0; i < LOGPARSE_PREFIX_MAX; i++)
        line[len++] = 'p';
    len += (size_t)snprintf(line + len, sizeof line - len, "\":{");
    for (i = 0; i < LOGPARSE_MAX_FIELDS + 2; i++)
        len += (size_t)snprintf(line + len, sizeof line - len, "%s\"k%zu\":%zu", i ? "," : "",
                                i % 10, i);
    len += (size_t)snprintf(line + len, sizeof line - len, "}}");
    need = LOGPARSE_SCRATCH_NEED(len);
    ok(need > 2 * len, "nested JSON: worst case needs more than 2 * len (%zu > %zu)", need,
       2 * len);
    ok(parse_checked(line, len, 0, need, &e), "nested JSON: in bounds with the promised scratch");
    ok(!(e.flags & LOGPARSE_F_SCRATCH_FULL) && (e.flags & LOGPARSE_F_FIELDS_DROPPED),
       "nested JSON: promised scratch is enough, fields beyond %d dropped", LOGPARSE_MAX_FIELDS);
    scratch = malloc(need);
    if (!scratch)
        abort();
    used = logparse_line(line, len, 0, scratch, need, &e);
    for (i = 0; i < (size_t)e.nfields; i++)
        good &= e.fields[i].key.n == LOGPARSE_PREFIX_MAX + 3 &&
                e.fields[i].key.p[LOGPARSE_PREFIX_MAX] == '.' &&
                e.fields[i].key.p[LOGPARSE_PREFIX_MAX + 2] == (char)('0' + i % 10);
    ok(good && e.nfields == LOGPARSE_MAX_FIELDS && used <= need,
       "nested JSON: %d dotted keys of %d bytes", e.nfields, LOGPARSE_PREFIX_MAX + 3);
    /* one byte more of prefix and the object is a field of JSON text instead */
    memmove(line + 3, line + 2, len - 2);
    line[2] = 'p';
    len++;
    logparse_line(line, len, 0, scratch, need, &e);
    ok(e.nfields == 1 && e.fields[0].key.n == LOGPARSE_PREFIX_MAX + 1 &&
           e.fields[0].val.p[0] == '{',
       "nested JSON: a path over %d bytes keeps the object as text", LOGPARSE_PREFIX_MAX);
    free(scratch);
}

/* Lines too long for fixture files, built here. */
static void test_long_lines(void)
{
    static const char head[] = "2025-06-01T12:00:00.123456Z  INFO freenet::x: many";
    size_t n = 1 << 20, len, i, used;
    char *line = malloc(n), *scratch = malloc(2 * n);
    struct logparse_entry e;

    if (!line || !scratch)
        abort();
    /* 1 MiB of fields: the first 32 are kept, the rest dropped with a flag */
    memcpy(line, head, sizeof head - 1);
    len = sizeof head - 1;
    for (i = 0; len + 32 < n; i++)
        len += (size_t)snprintf(line + len, n - len, " k%zu=\"v %zu\\n\"", i, i);
    used = logparse_line(line, len, 0, scratch, 2 * n, &e);
    is_int(e.nfields, LOGPARSE_MAX_FIELDS, "1 MiB of fields: %d kept", LOGPARSE_MAX_FIELDS);
    ok(e.flags & LOGPARSE_F_FIELDS_DROPPED, "1 MiB of fields: dropped flag");
    ok(e.nfields == LOGPARSE_MAX_FIELDS && e.fields[31].key.n == 3 &&
           memcmp(e.fields[31].key.p, "k31", 3) == 0 && e.fields[31].val.n == 5 &&
           memcmp(e.fields[31].val.p, "v 31\n", 5) == 0,
       "1 MiB of fields: field 32 unescaped");
    ok(e.message.n == 4 && memcmp(e.message.p, "many", 4) == 0, "1 MiB of fields: message");
    ok(used <= 2 * n && entry_sane(&e, line, len, scratch, used),
       "1 MiB of fields: spans in bounds");

    /* one 1 MiB quoted value that needs unescaping, into a scratch too small for it */
    len = sizeof head - 1;
    memcpy(line + len, " big=\"", 6);
    len += 6;
    while (len + 3 < n) {
        memcpy(line + len, "\\t", 2);
        len += 2;
    }
    line[len++] = '"';
    used = logparse_line(line, len, 0, scratch, 1000, &e);
    ok(e.nfields == 1 && e.fields[0].val.n == 1000 && used == 1000,
       "1 MiB quoted value: cut to the scratch size");
    ok(e.flags & LOGPARSE_F_SCRATCH_FULL, "1 MiB quoted value: scratch_full flag");

    /* 1 MiB logfmt line: 32 fields kept, escapes undone in the last kept one */
    len = (size_t)snprintf(line, n, "time=2026-11-30T10:00:00Z level=warn msg=\"many\"");
    for (i = 0; len + 32 < n; i++)
        len += (size_t)snprintf(line + len, n - len, " k%zu=\"v %zu\\n\"", i, i);
    used = logparse_line(line, len, 0, scratch, 2 * n, &e);
    ok(e.format == LOGPARSE_FMT_LOGFMT && e.level == LOGPARSE_LEVEL_WARN &&
           e.nfields == LOGPARSE_MAX_FIELDS && (e.flags & LOGPARSE_F_FIELDS_DROPPED) &&
           e.fields[31].val.n == 5 && memcmp(e.fields[31].val.p, "v 31\n", 5) == 0,
       "1 MiB logfmt line: 32 fields, dropped flag, unescaped");
    ok(used <= 2 * n && entry_sane(&e, line, len, scratch, used), "1 MiB logfmt: in bounds");

    /* 1 MiB zap line: a long message and a context with one long nested value */
    len = (size_t)snprintf(line, n, "2026-11-30T10:00:00Z\tERROR\tp/p.go:1\t");
    memset(line + len, 'm', n / 2);
    len += n / 2;
    len += (size_t)snprintf(line + len, n - len, "\t{\"o\":{\"s\":\"");
    for (i = 0; len + 8 < n; i++) {
        memcpy(line + len, "\\u00e9", 6);
        len += 6;
    }
    len += (size_t)snprintf(line + len, n - len, "\"}}");
    used = logparse_line(line, len, 0, scratch, 2 * n, &e);
    ok(e.format == LOGPARSE_FMT_ZAP && e.message.n == n / 2 && e.nfields == 1 &&
           e.fields[0].key.n == 3 && memcmp(e.fields[0].key.p, "o.s", 3) == 0 &&
           e.fields[0].val.n == 2 * i && memcmp(e.fields[0].val.p, "\xc3\xa9", 2) == 0,
       "1 MiB zap line: message and one unescaped nested field");
    ok(used <= 2 * n && entry_sane(&e, line, len, scratch, used), "1 MiB zap: in bounds");

    /* 1 MiB of plain text and 1 MiB of ANSI sequences */
    memset(line, 'x', n);
    logparse_line(line, n, 0, scratch, 0, &e);
    ok(e.format == LOGPARSE_FMT_PLAIN && e.message.n == n && e.message.p == line,
       "1 MiB plain line: message in place, no scratch needed");
    for (i = 0; i + 5 <= n; i += 5)
        memcpy(line + i, "\x1b[1mx", 5);
    used = logparse_line(line, i, 0, scratch, 2 * n, &e);
    ok(e.message.n == i / 5 && used == i / 5, "1 MiB of ANSI: stripped to %zu bytes", i / 5);
    free(line);
    free(scratch);
}

/* Random bytes, and random mixes of the parser's own punctuation. */
static void test_binary(void)
{
    static const char alphabet[] = "{}[]\":,\\u0aZ= Tt-+.{\x1b[m\"INFO :: x";
    uint32_t seed = 12345;
    char buf[512];
    size_t i, k, bad = 0;
    struct logparse_entry e;

    for (i = 0; i < 20000; i++) {
        size_t len = i % sizeof buf;
        for (k = 0; k < len; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[k] = (i & 1) ? (char)(seed >> 16) : alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        if (!parse_checked(buf, len, (unsigned)i & 1, (i & 2) ? 2 * len : len / 3, &e))
            bad++;
    }
    is_int(bad, 0, "20000 random lines stay in bounds");
    ok(parse_checked(NULL, 0, 0, 0, &e) && e.format == LOGPARSE_FMT_PLAIN && e.message.n == 0,
       "empty input with no scratch");
    logparse_line(NULL, 0, 0, NULL, 0, &e);
    ok(e.message.p != NULL && e.message.n == 0, "NULL line gives an empty, non-NULL message");
}

/* The return value lets several lines share one scratch buffer. */
static void test_scratch_chaining(void)
{
    static const char a[] = "\x1b[32m INFO\x1b[0m x::y: one k=\"a\\tb\"";
    static const char b[] = "{\"msg\":\"two\\n\",\"level\":\"warn\"}";
    char scratch[256];
    struct logparse_entry ea, eb;
    size_t ua, ub;

    ua = logparse_line(a, sizeof a - 1, 0, scratch, sizeof scratch, &ea);
    ub = logparse_line(b, sizeof b - 1, 0, scratch + ua, sizeof scratch - ua, &eb);
    ok(ua > 0 && ub == 4, "chained scratch: %zu + %zu bytes used", ua, ub);
    ok(ea.nfields == 1 && ea.fields[0].val.n == 3 && memcmp(ea.fields[0].val.p, "a\tb", 3) == 0,
       "chained scratch: first entry intact after the second parse");
    ok(eb.message.n == 4 && memcmp(eb.message.p, "two\n", 4) == 0, "chained scratch: second entry");
}

int main(void)
{
    run_fixtures();
    test_levels();
    test_formats();
    test_continuation();
    test_scratch_bound();
    test_long_lines();
    test_binary();
    test_scratch_chaining();
    return tap_done();
}
