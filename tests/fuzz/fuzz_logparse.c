/* fuzz_logparse.c - libFuzzer target for core/logparse: the input is one log line. It is
 * parsed with both options and four scratch sizes, each exactly allocated so ASan sees
 * any overrun, and every span of the entry is read to prove it lies in the line or in the
 * used part of scratch. Each entry is then stored as the log store keeps it (core/logstore:
 * its index and text, in a buffer of exactly its size) and read back: every span and field
 * must come back byte for byte. Built and run by tests/fuzz/run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/logparse.h"
#include "core/logstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int in(struct logparse_span s, const char *a, size_t an, const char *b, size_t bn)
{
    uintptr_t p = (uintptr_t)s.p;

    if (!s.p)
        return 0;
    if (!s.n)
        return 1;
    if (p >= (uintptr_t)a && p + s.n <= (uintptr_t)a + an)
        return 1;
    return b && p >= (uintptr_t)b && p + s.n <= (uintptr_t)b + bn;
}

static unsigned touch(struct logparse_span s, const char *a, size_t an, const char *b, size_t bn)
{
    unsigned sum = 0;
    size_t i;

    if (!in(s, a, an, b, bn))
        __builtin_trap();
    for (i = 0; i < s.n; i++)
        sum += (unsigned char)s.p[i];
    return sum;
}

static volatile unsigned sink;

static int same(struct logparse_span a, const char *p, size_t n)
{
    return a.n == n && (n == 0 || memcmp(a.p, p, n) == 0);
}

/* The entry as a log store record, read back. */
static void roundtrip(const struct logparse_entry *e, const char *raw, size_t raw_n)
{
    size_t need = logstore_encode(e, raw, raw_n, 7, 3, NULL, 0);
    char *rec;
    struct logstore_view v;

    if (need > UINT32_MAX)
        return;
    rec = malloc(need);
    if (!rec || logstore_encode(e, raw, raw_n, 7, 3, rec, need) != need)
        __builtin_trap();
    if (logstore_rec_at(rec, need, &v) != need || logstore_rec_at(rec, need - 1, &v) != 0)
        __builtin_trap();
    logstore_rec_at(rec, need, &v);
    if (v.h.seq != 7 || v.h.stream != 3 || v.h.level != e->level || v.h.format != e->format ||
        v.h.engine_ts_ns != e->engine_ts_ns || v.h.ts_ns != e->ts_ns || v.h.flags != e->flags ||
        v.h.nfields != e->nfields || v.h.cont_n != 0)
        __builtin_trap();
    if (!same(e->target, v.target, v.h.target_n) || !same(e->spans, v.spans, v.h.spans_n) ||
        !same(e->thread, v.thread, v.h.thread_n) || !same(e->location, v.loc, v.h.loc_n) ||
        !same(e->message, v.msg, v.h.msg_n) || v.h.raw_n != raw_n ||
        (raw_n && memcmp(v.raw, raw, raw_n) != 0))
        __builtin_trap();
    if (v.h.msg_hash != logstore_hash(e->message.p, e->message.n))
        __builtin_trap();
    for (int i = 0; i < e->nfields; i++) {
        const char *k, *val;
        size_t kn, vn;
        if (logstore_field(&v, i, &k, &kn, &val, &vn) < 0 || !same(e->fields[i].key, k, kn) ||
            !same(e->fields[i].val, val, vn))
            __builtin_trap();
    }
    free(rec);
}

static void check(const char *line, size_t len, unsigned opts, size_t cap)
{
    char *scratch = cap ? malloc(cap) : NULL;
    struct logparse_entry e, head;
    size_t used, i;
    unsigned sum = 0;

    used = logparse_line(line, len, opts, scratch, cap, &e);
    if (used > cap || e.nfields < 0 || e.nfields > LOGPARSE_MAX_FIELDS)
        __builtin_trap();
    if (cap >= LOGPARSE_SCRATCH_NEED(len) && (e.flags & LOGPARSE_F_SCRATCH_FULL))
        __builtin_trap(); /* the header promises this much is enough */
    if ((unsigned)e.format > LOGPARSE_FMT_ZAP || (unsigned)e.level > LOGPARSE_LEVEL_PANIC)
        __builtin_trap();
    sum += touch(e.thread, line, len, scratch, used) + touch(e.spans, line, len, scratch, used);
    sum += touch(e.target, line, len, scratch, used) + touch(e.location, line, len, scratch, used);
    sum += touch(e.message, line, len, scratch, used);
    for (i = 0; i < (size_t)e.nfields; i++)
        sum += touch(e.fields[i].key, line, len, scratch, used) +
               touch(e.fields[i].val, line, len, scratch, used);
    if (e.format == LOGPARSE_FMT_JSON && (e.flags & LOGPARSE_F_BAD_JSON))
        __builtin_trap();
    if (e.ts_ns < -1 || e.engine_ts_ns < -1)
        __builtin_trap();
    head = e;
    sum += (unsigned)logparse_is_continuation(&head, &e);
    sum += (unsigned)logparse_is_continuation(NULL, &e);
    sum += (unsigned)strlen(logparse_level_name(e.level));
    sum += (unsigned)strlen(logparse_format_name(e.format));
    if (logparse_format_from(logparse_format_name(e.format),
                             strlen(logparse_format_name(e.format))) != e.format)
        __builtin_trap(); /* l_log.c rebuilds a head from the name */
    sink += sum;
    roundtrip(&e, line, len);
    free(scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *line = (const char *)data;
    unsigned opts;

    for (opts = 0; opts < 2; opts++) {
        check(line, size, opts, LOGPARSE_SCRATCH_NEED(size));
        check(line, size, opts, 2 * size);
        check(line, size, opts, size / 2);
        check(line, size, opts, size % 8);
    }
    if (size <= 16) {
        int l = logparse_level_from(line, size);
        if (l < -1 || l > LOGPARSE_LEVEL_PANIC)
            __builtin_trap();
    }
    return 0;
}
