/* fuzz_logparse.c - libFuzzer target for core/logparse: the input is one log line. It is
 * parsed with both options and four scratch sizes, each exactly allocated so ASan sees
 * any overrun, and every span of the entry is read to prove it lies in the line or in the
 * used part of scratch. Built and run by tests/fuzz/run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/logparse.h"

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
