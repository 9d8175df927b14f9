/* fuzz_jsonlog.c - libFuzzer target for core/jsonlog, the engine's json-file lines decoded
 * and converted to the follow stream's form. The input is a json-file log: converted whole
 * and cut in two at a point taken from its first byte (the second call offered what the
 * first left), the two conversions must agree (runs of one stream merged) and consume the
 * same bytes; each line is also decoded alone (the text never longer than the line); the
 * converted runs go into a log store as a follow stream's pieces do. Built and run by
 * tests/fuzz/run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonlog.h"
#include "core/logstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct runs {
    char *p;
    size_t n, cap;
    int last;
    struct logstore *st;
    struct logstore_pending pend[2];
};

static void emit(void *ud, int stream, const char *p, size_t n)
{
    struct runs *r = ud;

    if (stream != JSONLOG_STDOUT && stream != JSONLOG_STDERR)
        __builtin_trap();
    if (r->n + n + 1 > r->cap) {
        r->cap = (r->n + n + 1) * 2;
        r->p = realloc(r->p, r->cap);
        if (!r->p)
            __builtin_trap();
    }
    if (stream != r->last)
        r->p[r->n++] = (char)('0' + stream); /* a run of another stream starts */
    memcpy(r->p + r->n, p, n);
    r->n += n;
    r->last = stream;
    if (r->st)
        logstore_feed(r->st, stream, &r->pend[stream], p, n, 1, 4096);
}

static size_t convert(const char *p, size_t n, size_t cut, struct runs *r, int last)
{
    struct jsonlog_conv c;
    size_t cap = JSONLOG_OUT_NEED(n), used;
    char *out = malloc(cap ? cap : 1);

    memset(&c, 0, sizeof c);
    used = jsonlog_convert(&c, p, cut, 0, out, cap, emit, r);
    if (used > cut)
        __builtin_trap();
    used += jsonlog_convert(&c, p + used, n - used, last, out, cap, emit, r);
    free(out);
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct runs a = {NULL, 0, 0, -1, NULL, {{0}, {0}}}, b = {NULL, 0, 0, -1, NULL, {{0}, {0}}};
    struct logstore_hooks h = {NULL, NULL, NULL, NULL};
    size_t cut = size ? data[0] * size / 256 : 0, ua, ub;

    a.st = logstore_new(&h);
    logstore_stream(a.st, "stdout", 6);
    logstore_stream(a.st, "stderr", 6);
    ua = convert(p, size, size, &a, 0);
    ub = convert(p, size, cut, &b, 0);
    if (ua != ub || a.n != b.n || (a.n && memcmp(a.p, b.p, a.n) != 0))
        __builtin_trap();
    logstore_flush(a.st, 0, &a.pend[0], 1, 4096);
    logstore_flush(a.st, 1, &a.pend[1], 1, 4096);
    logstore_pending_free(&a.pend[0]);
    logstore_pending_free(&a.pend[1]);
    logstore_free(a.st);
    b.n = 0;
    b.last = -1;
    if (convert(p, size, cut, &b, 1) != size) /* the end for good: every byte is taken */
        __builtin_trap();

    /* each line alone */
    for (size_t at = 0; at < size;) {
        const char *nl = memchr(p + at, '\n', size - at);
        size_t ln = nl ? (size_t)(nl - p - at) : size - at;
        char *dst = malloc(ln ? ln : 1);
        struct jsonlog_line l;
        if (jsonlog_decode(p + at, ln, dst, &l) == 0 &&
            (l.log_n > ln || l.ts_n == 0 || l.ts_n >= JSONLOG_TS_MAX))
            __builtin_trap();
        free(dst);
        at += ln + 1;
    }
    free(a.p);
    free(b.p);
    return 0;
}
