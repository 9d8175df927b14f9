/* test_demux.c - TAP tests for core/demux (the Engine's 8-byte framed stdout/stderr stream).
 *
 * Fixtures: every $NATRIG_FIXTURES/demux/NAME.bin (default tests/fixtures) is a captured
 * or hand-made stream; NAME.out and NAME.err hold the stdout and stderr bytes expected
 * (what was delivered before an error, for failing streams), and the optional NAME.result
 * holds one line: "ok boundary" (the default), "ok cut" (ended inside a frame),
 * "error parse" or "error limit". Each fixture, and each row of the table below, is fed
 * whole, one byte at a time, cut at every split point into two calls and (for short
 * inputs) at every pair of split points into three calls: the outcome must not depend on
 * where the bytes were cut. The rest checks max_frame, refusing sinks and NULL err. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/demux.h"
#include "tap.h"

/* --- a collecting sink -------------------------------------------------------------- */

struct bytes {
    char *p;
    size_t len, cap;
};

static void bytes_put(struct bytes *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static int bytes_eq(const struct bytes *b, const char *p, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->p, p, n) == 0);
}

struct sinkst {
    struct bytes s[3]; /* stdin echo, stdout, stderr */
    size_t calls, zero_calls, bad_stream;
    long refuse_after; /* refuse the call that would take the total beyond this; <0: never */
    size_t total;
};

static int sink(void *ud, int stream, const char *p, size_t n)
{
    struct sinkst *s = ud;
    s->calls++;
    if (n == 0)
        s->zero_calls++;
    if (stream < 0 || stream > 2) {
        s->bad_stream++;
        return 0;
    }
    if (s->refuse_after >= 0 && s->total + n > (size_t)s->refuse_after)
        return 1;
    s->total += n;
    bytes_put(&s->s[stream], p, n);
    return 0;
}

static void sink_init(struct sinkst *s, long refuse_after)
{
    memset(s, 0, sizeof *s);
    s->refuse_after = refuse_after;
}

static void sink_free(struct sinkst *s)
{
    for (int i = 0; i < 3; i++)
        free(s->s[i].p);
}

/* --- expectations ----------------------------------------------------------------- */

enum outcome { OK_BOUNDARY, OK_CUT, ERR_PARSE, ERR_LIMIT };

struct expect {
    enum outcome outcome;
    const char *in, *out, *err; /* expected stdin-echo, stdout, stderr bytes */
    size_t in_len, out_len, err_len;
};

struct run {
    int rc;
    struct nt_err err;
    int boundary;
    struct sinkst s;
};

/* Feed data cut at the offsets cuts[0..ncuts) (ascending), stopping at the first error. */
static void feed_cuts(const char *data, size_t len, const size_t *cuts, size_t ncuts,
                      uint32_t max_frame, struct run *r)
{
    struct demux d;
    size_t at = 0;

    demux_init(&d, max_frame);
    sink_init(&r->s, -1);
    memset(&r->err, 0, sizeof r->err);
    r->rc = 0;
    for (size_t i = 0; i <= ncuts && r->rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        /* Exact-size heap copy so ASan sees any read past the chunk. */
        char *chunk = malloc(end - at ? end - at : 1);
        if (!chunk)
            abort();
        memcpy(chunk, data + at, end - at);
        r->rc = demux_feed(&d, chunk, end - at, sink, &r->s, &r->err);
        free(chunk);
        at = end;
    }
    r->boundary = demux_at_boundary(&d);
}

/* 1 when the run matches e; describes the first difference in why[]. */
static int run_matches(const struct run *r, const struct expect *e, char *why, size_t cap)
{
    int want_rc = e->outcome == ERR_PARSE || e->outcome == ERR_LIMIT ? -1 : 0;
    if (r->rc != want_rc) {
        snprintf(why, cap, "rc %d, want %d (%s)", r->rc, want_rc, r->err.msg);
        return 0;
    }
    if (e->outcome == ERR_PARSE && r->err.code != NT_PARSE) {
        snprintf(why, cap, "code %s, want parse", nt_err_code_name(r->err.code));
        return 0;
    }
    if (e->outcome == ERR_LIMIT && r->err.code != NT_LIMIT) {
        snprintf(why, cap, "code %s, want limit", nt_err_code_name(r->err.code));
        return 0;
    }
    if (want_rc && !r->err.msg[0]) {
        snprintf(why, cap, "error without a message");
        return 0;
    }
    if (!want_rc && r->boundary != (e->outcome == OK_BOUNDARY)) {
        snprintf(why, cap, "at_boundary %d", r->boundary);
        return 0;
    }
    if (!bytes_eq(&r->s.s[0], e->in, e->in_len) || !bytes_eq(&r->s.s[1], e->out, e->out_len) ||
        !bytes_eq(&r->s.s[2], e->err, e->err_len)) {
        snprintf(why, cap, "delivered %zu/%zu/%zu bytes (stdin/stdout/stderr), want %zu/%zu/%zu",
                 r->s.s[0].len, r->s.s[1].len, r->s.s[2].len, e->in_len, e->out_len, e->err_len);
        return 0;
    }
    if (r->s.zero_calls || r->s.bad_stream) {
        snprintf(why, cap, "sink got %zu empty runs, %zu bad stream numbers", r->s.zero_calls,
                 r->s.bad_stream);
        return 0;
    }
    return 1;
}

/* Run data through every way of cutting it; one TAP line per cutting strategy. */
static void check_all_cuts(const char *name, const char *data, size_t len, uint32_t max_frame,
                           const struct expect *e)
{
    struct run r;
    char why[256] = "";
    size_t *cuts = malloc((len + 2) * sizeof *cuts);
    int good;

    if (!cuts)
        abort();

    feed_cuts(data, len, NULL, 0, max_frame, &r);
    good = run_matches(&r, e, why, sizeof why);
    sink_free(&r.s);
    ok(good, "%s: whole%s%s", name, good ? "" : ": ", why);

    for (size_t i = 1; i < len; i++)
        cuts[i - 1] = i;
    feed_cuts(data, len, cuts, len ? len - 1 : 0, max_frame, &r);
    good = run_matches(&r, e, why, sizeof why);
    sink_free(&r.s);
    ok(good, "%s: one byte per call%s%s", name, good ? "" : ": ", why);

    good = 1;
    for (size_t i = 0; i <= len && good; i++) {
        cuts[0] = i;
        feed_cuts(data, len, cuts, 1, max_frame, &r);
        if (!run_matches(&r, e, why, sizeof why)) {
            good = 0;
            snprintf(why + strlen(why), sizeof why - strlen(why), " (cut at %zu)", i);
        }
        sink_free(&r.s);
    }
    ok(good, "%s: every split into two calls%s%s", name, good ? "" : ": ", why);

    if (len <= 96) {
        good = 1;
        for (size_t i = 0; i <= len && good; i++)
            for (size_t j = i; j <= len && good; j++) {
                cuts[0] = i;
                cuts[1] = j;
                feed_cuts(data, len, cuts, 2, max_frame, &r);
                if (!run_matches(&r, e, why, sizeof why)) {
                    good = 0;
                    snprintf(why + strlen(why), sizeof why - strlen(why), " (cuts %zu, %zu)", i, j);
                }
                sink_free(&r.s);
            }
        ok(good, "%s: every split into three calls%s%s", name, good ? "" : ": ", why);
    }
    free(cuts);
}

/* --- table rows --------------------------------------------------------------------- */

#define S(lit) lit, sizeof(lit) - 1
#define NONE "", 0

struct row {
    const char *name;
    const char *data;
    size_t len;
    uint32_t max_frame;
    enum outcome outcome;
    const char *in;
    size_t in_len;
    const char *out;
    size_t out_len;
    const char *err;
    size_t err_len;
};

#define H1(n) "\x01\0\0\0\0\0\0" n /* stdout header, length n < 256 as an escape */
#define H2(n) "\x02\0\0\0\0\0\0" n
#define H0(n) "\x00\0\0\0\0\0\0" n

static const struct row rows[] = {
    {"empty stream", S(""), 0, OK_BOUNDARY, NONE, NONE, NONE},
    {"one stdout frame", S(H1("\x03") "abc"), 0, OK_BOUNDARY, NONE, S("abc"), NONE},
    {"one stderr frame", S(H2("\x03") "abc"), 0, OK_BOUNDARY, NONE, NONE, S("abc")},
    {"stdin echo frame goes to stream 0", S(H0("\x02") "in" H1("\x01") "o"), 0, OK_BOUNDARY,
     S("in"), S("o"), NONE},
    {"interleaved frames", S(H1("\x02") "o1" H2("\x02") "e1" H1("\x02") "o2" H2("\x01") "E"), 0,
     OK_BOUNDARY, NONE, S("o1o2"), S("e1E")},
    {"zero-length frames only", S(H1("\x00") H2("\x00") H0("\x00")), 0, OK_BOUNDARY, NONE, NONE,
     NONE},
    {"zero-length frames between data", S(H1("\x00") H1("\x01") "a" H2("\x00") H2("\x01") "b"), 0,
     OK_BOUNDARY, NONE, S("a"), S("b")},
    {"payload holding NULs and header-like bytes", S(H1("\x0a") "\x01\0\0\0\0\0\0\x05\0\xff"), 0,
     OK_BOUNDARY, NONE, S("\x01\0\0\0\0\0\0\x05\0\xff"), NONE},
    {"payload cut short", S(H1("\x05") "ab"), 0, OK_CUT, NONE, S("ab"), NONE},
    {"header cut short (1 byte)",
     S(H1("\x01") "a"
                  "\x02"),
     0, OK_CUT, NONE, S("a"), NONE},
    {"header cut short (7 bytes)",
     S(H1("\x01") "a"
                  "\x02\0\0\0\0\0\0"),
     0, OK_CUT, NONE, S("a"), NONE},
    {"first byte 0 is framed", S(H0("\x01") "x"), 0, OK_BOUNDARY, S("x"), NONE, NONE},
    {"frame of exactly max_frame", S(H1("\x04") "abcd"), 4, OK_BOUNDARY, NONE, S("abcd"), NONE},
    {"frame above max_frame", S(H1("\x01") "a" H1("\x05") "abcde"), 4, ERR_LIMIT, NONE, S("a"),
     NONE},
    {"first frame above max_frame", S(H2("\x09") "123456789"), 8, ERR_LIMIT, NONE, NONE, NONE},
    {"huge declared length, default max", S("\x01\0\0\0\xff\xff\xff\xff"), 0, ERR_LIMIT, NONE, NONE,
     NONE},
    {"64 MiB + 1 declared, default max", S("\x01\0\0\0\x04\0\0\x01"), 0, ERR_LIMIT, NONE, NONE,
     NONE},
    {"64 MiB declared, default max, cut",
     S("\x01\0\0\0\x04\0\0\0"
       "ab"),
     0, OK_CUT, NONE, S("ab"), NONE},
    {"bad stream byte 3 after a frame",
     S(H1("\x01") "a"
                  "\x03\0\0\0\0\0\0\x01"
                  "b"),
     0, ERR_PARSE, NONE, S("a"), NONE},
    {"bad stream byte 0xff after a frame",
     S(H2("\x01") "e"
                  "\xff\0\0\0\0\0\0\x01"
                  "b"),
     0, ERR_PARSE, NONE, NONE, S("e")},
    {"bad stream byte 0x7f after a zero frame", S(H1("\x00") "\x7f\0\0\0\0\0\0\0"), 0, ERR_PARSE,
     NONE, NONE, NONE},
    {"non-zero padding byte 1",
     S(H1("\x01") "a"
                  "\x01\x01\0\0\0\0\0\x01"
                  "b"),
     0, ERR_PARSE, NONE, S("a"), NONE},
    {"non-zero padding byte 2",
     S(H1("\x01") "a"
                  "\x02\0\x80\0\0\0\0\x01"
                  "b"),
     0, ERR_PARSE, NONE, S("a"), NONE},
    {"non-zero padding byte 3",
     S(H1("\x01") "a"
                  "\x01\0\0\x01\0\0\0\x01"
                  "b"),
     0, ERR_PARSE, NONE, S("a"), NONE},
    {"non-zero padding in the first header",
     S("\x01\0\0\x01\0\0\0\x01"
       "b"),
     0, ERR_PARSE, NONE, NONE, NONE},
    {"garbage checked before the limit", S(H1("\x00") "\x05\0\0\0\xff\xff\xff\xff"), 4, ERR_PARSE,
     NONE, NONE, NONE},
    {"raw: first byte 3", S("\x03\0\0\0\0\0\0\x01x"), 0, OK_BOUNDARY, NONE,
     S("\x03\0\0\0\0\0\0\x01x"), NONE},
    {"raw: text (TTY output)", S("hello\r\nworld\r\n"), 0, OK_BOUNDARY, NONE,
     S("hello\r\nworld\r\n"), NONE},
    {"raw: later frame-like bytes stay stdout",
     S("$ \x02\0\0\0\0\0\0\x01"
       "e"),
     0, OK_BOUNDARY, NONE,
     S("$ \x02\0\0\0\0\0\0\x01"
       "e"),
     NONE},
    {"raw: first byte 0xff", S("\xff\xfe"), 0, OK_BOUNDARY, NONE, S("\xff\xfe"), NONE},
    {"raw: max_frame irrelevant", S("xyz"), 1, OK_BOUNDARY, NONE, S("xyz"), NONE},
};

static void check_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *w = &rows[i];
        struct expect e = {w->outcome, w->in, w->out, w->err, w->in_len, w->out_len, w->err_len};
        check_all_cuts(w->name, w->data, w->len, w->max_frame, &e);
    }
}

/* --- fixtures ----------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_fixtures(void)
{
    const char *root = getenv("NATRIG_FIXTURES");
    char dir[1024], path[1200];
    DIR *dp;
    struct dirent *de;
    char *names[256];
    size_t nnames = 0;

    snprintf(dir, sizeof dir, "%s/demux", root && *root ? root : "tests/fixtures");
    dp = opendir(dir);
    ok(dp != NULL, "fixture directory %s opens", dir);
    if (!dp)
        return;
    while ((de = readdir(dp)) && nnames < 256) {
        size_t n = strlen(de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".bin") == 0)
            names[nnames++] = strndup(de->d_name, n - 4);
    }
    closedir(dp);
    qsort(names, nnames, sizeof names[0], cmp_names);
    ok(nnames >= 8, "found %zu demux fixtures", nnames);

    for (size_t i = 0; i < nnames; i++) {
        size_t blen = 0, olen = 0, elen = 0, rlen = 0;
        char *bin, *out, *err, *res;
        struct expect e = {OK_BOUNDARY, "", NULL, NULL, 0, 0, 0};

        snprintf(path, sizeof path, "%s/%s.bin", dir, names[i]);
        bin = tap_slurp(path, &blen);
        snprintf(path, sizeof path, "%s/%s.out", dir, names[i]);
        out = tap_slurp(path, &olen);
        snprintf(path, sizeof path, "%s/%s.err", dir, names[i]);
        err = tap_slurp(path, &elen);
        snprintf(path, sizeof path, "%s/%s.result", dir, names[i]);
        res = tap_slurp(path, &rlen);
        ok(bin && out && err, "fixture %s: .bin, .out and .err read", names[i]);
        if (res) {
            res[strcspn(res, "\r\n")] = '\0';
            if (strcmp(res, "ok cut") == 0)
                e.outcome = OK_CUT;
            else if (strcmp(res, "error parse") == 0)
                e.outcome = ERR_PARSE;
            else if (strcmp(res, "error limit") == 0)
                e.outcome = ERR_LIMIT;
            else
                ok(strcmp(res, "ok boundary") == 0, "fixture %s: known result '%s'", names[i], res);
        }
        if (bin && out && err) {
            e.out = out;
            e.out_len = olen;
            e.err = err;
            e.err_len = elen;
            check_all_cuts(names[i], bin, blen, 0, &e);
        }
        free(bin);
        free(out);
        free(err);
        free(res);
        free(names[i]);
    }
}

/* --- the rest ----------------------------------------------------------------------- */

static void check_refusing_sink(void)
{
    static const char framed[] = H1("\x04") "abcd" H2("\x04") "efgh";
    static const char raw[] = "plain tty text";
    struct demux d;
    struct sinkst s;
    struct nt_err err;
    int rc, framed_code;

    /* Framed: the sink takes the first frame, refuses the second. */
    demux_init(&d, 0);
    sink_init(&s, 4);
    memset(&err, 0, sizeof err);
    rc = demux_feed(&d, framed, sizeof framed - 1, sink, &s, &err);
    is_int(rc, -1, "framed: a refusing sink stops demux_feed");
    ok(err.code != NT_OK && err.msg[0], "framed: refusal fills err (%s: %s)",
       nt_err_code_name(err.code), err.msg);
    ok(bytes_eq(&s.s[1], "abcd", 4) && s.s[2].len == 0, "framed: bytes before the refusal kept");
    framed_code = err.code;
    sink_free(&s);

    /* Framed, refusing the very first run. */
    demux_init(&d, 0);
    sink_init(&s, 0);
    rc = demux_feed(&d, framed, sizeof framed - 1, sink, &s, NULL);
    is_int(rc, -1, "framed: refusal of the first run with err NULL");
    sink_free(&s);

    /* Raw. */
    demux_init(&d, 0);
    sink_init(&s, 0);
    memset(&err, 0, sizeof err);
    rc = demux_feed(&d, raw, sizeof raw - 1, sink, &s, &err);
    is_int(rc, -1, "raw: a refusing sink stops demux_feed");
    ok(err.code != NT_OK && err.msg[0], "raw: refusal fills err (%s: %s)",
       nt_err_code_name(err.code), err.msg);
    /* Not asserted equal: framed refusal reports NT_LIMIT, raw refusal NT_EINVAL. */
    printf("# refusal codes: framed %s, raw %s\n", nt_err_code_name((enum nt_err_code)framed_code),
           nt_err_code_name(err.code));
    sink_free(&s);
}

static void check_misc(void)
{
    struct demux d;
    struct sinkst s;
    struct nt_err err;
    static const char garbage[] = H1("\x00") "\x09\0\0\0\0\0\0\0";

    demux_init(&d, 0);
    ok(demux_at_boundary(&d), "fresh demuxer is at a boundary");
    is_int(d.max_frame, 64u << 20, "max_frame 0 means 64 MiB");
    demux_init(&d, 123);
    is_int(d.max_frame, 123, "max_frame kept");

    /* Empty feeds neither start the stream nor decide raw mode. */
    demux_init(&d, 0);
    sink_init(&s, -1);
    is_int(demux_feed(&d, "", 0, sink, &s, NULL), 0, "empty feed accepted");
    is_int(demux_feed(&d, H2("\x01") "e", 9, sink, &s, NULL), 0, "framed data after empty feed");
    ok(bytes_eq(&s.s[2], "e", 1) && s.s[1].len == 0 && d.raw == 0,
       "an empty first feed does not make the stream raw");
    is_int(s.calls, 1, "empty feeds make no sink calls");
    sink_free(&s);

    /* Garbage with err NULL. */
    demux_init(&d, 0);
    sink_init(&s, -1);
    is_int(demux_feed(&d, garbage, sizeof garbage - 1, sink, &s, NULL), -1,
           "garbage header with err NULL returns -1");
    sink_free(&s);

    /* Error message names the offending bytes / sizes. */
    demux_init(&d, 0);
    sink_init(&s, -1);
    memset(&err, 0, sizeof err);
    demux_feed(&d, garbage, sizeof garbage - 1, sink, &s, &err);
    ok(strstr(err.msg, "09") != NULL, "garbage message shows the stream byte: %s", err.msg);
    sink_free(&s);

    demux_init(&d, 16);
    sink_init(&s, -1);
    memset(&err, 0, sizeof err);
    demux_feed(&d, H1("\x11"), 8, sink, &s, &err);
    ok(strstr(err.msg, "17") && strstr(err.msg, "16"), "limit message shows both sizes: %s",
       err.msg);
    ok(!demux_at_boundary(&d), "not at a boundary after an oversized header");
    sink_free(&s);

    /* Boundary tracking across a frame cut, then completed. */
    demux_init(&d, 0);
    sink_init(&s, -1);
    demux_feed(&d, H1("\x03") "a", 9, sink, &s, NULL);
    ok(!demux_at_boundary(&d), "cut frame: not at a boundary");
    demux_feed(&d, "bc", 2, sink, &s, NULL);
    ok(demux_at_boundary(&d), "completed frame: at a boundary again");
    demux_feed(&d, "\x01\0\0", 3, sink, &s, NULL);
    ok(!demux_at_boundary(&d), "partial header: not at a boundary");
    sink_free(&s);

    /* Raw mode is always at a boundary. */
    demux_init(&d, 0);
    sink_init(&s, -1);
    demux_feed(&d, "x", 1, sink, &s, NULL);
    ok(demux_at_boundary(&d), "raw stream is always at a boundary");
    sink_free(&s);

    /* A large frame: payload handed on as it arrives, in as many runs as calls. */
    {
        size_t n = 100000;
        char *big = malloc(8 + n);
        if (!big)
            abort();
        memcpy(big, "\x02\0\0\0", 4);
        big[4] = (char)(n >> 24);
        big[5] = (char)(n >> 16 & 255);
        big[6] = (char)(n >> 8 & 255);
        big[7] = (char)(n & 255);
        for (size_t i = 0; i < n; i++)
            big[8 + i] = (char)(i * 7);
        demux_init(&d, 0);
        sink_init(&s, -1);
        int rc = 0;
        for (size_t at = 0; at < 8 + n && rc == 0; at += 4093) {
            size_t k = 8 + n - at < 4093 ? 8 + n - at : 4093;
            rc = demux_feed(&d, big + at, k, sink, &s, NULL);
        }
        ok(rc == 0 && bytes_eq(&s.s[2], big + 8, n) && demux_at_boundary(&d),
           "100000-byte frame fed in 4093-byte pieces");
        sink_free(&s);
        free(big);
    }
}

int main(void)
{
    check_rows();
    check_fixtures();
    check_refusing_sink();
    check_misc();
    return tap_done();
}
