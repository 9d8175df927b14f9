/* fuzz_logstore.c - libFuzzer target for core/logstore and core/logquery, the index the
 * parser's entries are kept in. The input is a log stream: fed in pieces of sizes taken
 * from its first bytes, on two streams, with a tiny memory budget so records spill (into
 * a buffer here). Then every record, spilled or in memory, must read back whole (index
 * lengths adding up, fields walkable, seq numbered 1..n in order), and queries built from
 * the input's own bytes run over all of them. The raw input is also read as records, to
 * prove that garbage is refused without reading past it. Built and run by tests/fuzz/run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/logquery.h"
#include "core/logstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
    char *spill;
    size_t n, cap;
};

static int on_spill(void *ud, const char *p, size_t n)
{
    struct out *o = ud;

    if (o->n + n > o->cap) {
        o->cap = (o->n + n) * 2;
        o->spill = realloc(o->spill, o->cap);
        if (!o->spill)
            __builtin_trap();
    }
    memcpy(o->spill + o->n, p, n);
    o->n += n;
    return 0;
}

static volatile unsigned sink;

/* Walk the records of [p, p + n); check each, run the queries; returns the count. */
static int64_t walk(const char *p, size_t n, int64_t seq, const struct logquery *qs, int nq,
                    char **scratch, size_t *cap)
{
    struct logstore_view v;
    size_t off = 0, k;

    while ((k = logstore_rec_at(p + off, n - off, &v)) != 0) {
        if (v.h.seq != ++seq)
            __builtin_trap();
        for (int i = 0; i < v.h.nfields; i++) {
            const char *fk, *fv;
            size_t kn, vn;
            if (logstore_field(&v, i, &fk, &kn, &fv, &vn) < 0)
                __builtin_trap();
            sink += kn ? (unsigned char)fk[kn - 1] : 0;
            sink += vn ? (unsigned char)fv[vn - 1] : 0;
        }
        for (int i = 0; i < nq; i++)
            sink += logquery_test(&qs[i], &v, scratch, cap);
        sink += (unsigned)logquery_hay(&v, scratch, cap);
        off += k;
    }
    if (off != n)
        __builtin_trap(); /* the store hands out and keeps whole records only */
    return seq;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct out o = {NULL, 0, 0};
    struct logstore_hooks h = {&o, NULL, on_spill, NULL};
    struct logstore *st;
    struct logstore_pending pend[2] = {{0}, {0}};
    struct logstore_stats stats;
    struct logquery qs[4];
    struct logparse_span msg;
    uint32_t hash;
    struct logparse_field fld;
    const char *p = (const char *)data;
    size_t n = size, mem_n, cap = 0;
    const char *mem;
    char *scratch = NULL, lit[64];
    unsigned step = size ? data[0] % 61 + 1 : 1;
    int64_t seq;
    struct logstore_view v;

    /* garbage as records */
    if (logstore_rec_at(p, n, &v))
        for (int i = 0; i < v.h.nfields; i++) {
            const char *fk, *fv;
            size_t kn, vn;
            if (logstore_field(&v, i, &fk, &kn, &fv, &vn) < 0)
                break;
        }

    st = logstore_new(&h);
    logstore_stream(st, "stdout", 6);
    logstore_stream(st, "stderr", 6);
    for (size_t at = 0, i = 0; at < n; i++) {
        size_t k = n - at < step ? n - at : step;
        int sid = (int)(i % 3 == 2);
        logstore_feed(st, sid, &pend[sid], p + at, k, (data[0] & 0x80) != 0, 512);
        at += k;
        step = step * 7 % 61 + 1;
    }
    logstore_flush(st, 0, &pend[0], 1, 512);
    logstore_flush(st, 1, &pend[1], 0, 512);

    /* queries from the input's own bytes */
    memset(qs, 0, sizeof qs);
    for (int i = 0; i < 4; i++)
        qs[i].stream = LOGQUERY_ANY_STREAM;
    qs[0].level = size ? data[size - 1] % 8 : 0;
    qs[0].has_match = 1;
    qs[0].match = p + (size > 8 ? 4 : 0);
    qs[0].match_n = size > 8 ? (size - 4) % 9 : 0;
    msg.p = p;
    msg.n = size < 16 ? size : 16;
    hash = logstore_hash(msg.p, msg.n);
    qs[1].messages = &msg;
    qs[1].message_hashes = &hash;
    qs[1].nmessages = 1;
    qs[1].has_since = 1;
    qs[1].since = 1.7e9;
    fld.key.p = p;
    fld.key.n = size < 3 ? size : 3;
    fld.val.p = p + fld.key.n;
    fld.val.n = size - fld.key.n < 2 ? size - fld.key.n : 2;
    qs[2].fields = &fld;
    qs[2].nfields = 1;
    qs[2].has_target = 1;
    qs[2].target = p;
    qs[2].target_n = size < 2 ? size : 2;
    {
        size_t ln = size < sizeof lit ? size : sizeof lit;
        size_t out_n;
        if (logquery_literal(p, ln, lit, &out_n)) {
            qs[3].has_match = 1;
            qs[3].match = lit;
            qs[3].match_n = out_n;
        }
    }

    seq = walk(o.spill ? o.spill : "", o.n, 0, qs, 4, &scratch, &cap);
    mem = logstore_mem(st, &mem_n);
    seq = walk(mem, mem_n, seq, qs, 4, &scratch, &cap);
    logstore_stats(st, &stats);
    if (seq != stats.seq || stats.spilled + stats.in_memory != stats.seq)
        __builtin_trap();

    free(scratch);
    free(o.spill);
    logstore_pending_free(&pend[0]);
    logstore_pending_free(&pend[1]);
    logstore_free(st);
    return 0;
}
