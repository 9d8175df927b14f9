/* fuzz_demux.c - libFuzzer target for core/demux. The first input byte picks how the rest
 * is cut into demux_feed calls (low 4 bits seed the chunk sizes) and the max_frame limit
 * (bits 4-5); the rest is the stream. Each input is demuxed in chunks and compared with a
 * plain reference parse of the whole buffer: same result, same error code, the same bytes
 * on each stream, the same boundary state; when it parses on a boundary, the bytes
 * delivered equal the sum of the declared frame lengths. Built and run by tests/fuzz/run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/demux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct col {
    char *s[3];
    size_t n[3];
    size_t calls_empty;
};

static int sink(void *ud, int stream, const char *p, size_t n)
{
    struct col *c = ud;
    if (stream < 0 || stream > 2 || n == 0)
        __builtin_trap();
    memcpy(c->s[stream] + c->n[stream], p, n);
    c->n[stream] += n;
    return 0;
}

struct ref {
    int rc;
    enum nt_err_code code;
    int boundary;
    uint64_t declared; /* sum of frame lengths */
    struct col c;
};

static void reference(const unsigned char *p, size_t n, uint32_t max, struct ref *r)
{
    size_t i = 0;

    r->rc = 0;
    r->boundary = 1;
    r->declared = 0;
    if (n == 0)
        return;
    if (p[0] > 2) {
        memcpy(r->c.s[1], p, n);
        r->c.n[1] = n;
        r->declared = n;
        return;
    }
    while (i < n) {
        if (n - i < 8) {
            r->boundary = 0;
            return;
        }
        const unsigned char *h = p + i;
        if (h[0] > 2 || h[1] || h[2] || h[3]) {
            r->rc = -1;
            r->code = NT_PARSE;
            return;
        }
        uint32_t len = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
        if (len > max) {
            r->rc = -1;
            r->code = NT_LIMIT;
            return;
        }
        i += 8;
        r->declared += len;
        size_t take = n - i < len ? n - i : len;
        memcpy(r->c.s[h[0]] + r->c.n[h[0]], p + i, take);
        r->c.n[h[0]] += take;
        i += take;
        if (take < len)
            r->boundary = 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t maxes[4] = {0, 16, 300, 1u << 20};
    struct demux d;
    struct col c;
    struct ref r;
    struct nt_err err;
    uint32_t rng, max;
    size_t at = 0;
    int rc = 0;

    if (size < 1)
        return 0;
    rng = 0x9e3779b9u ^ (data[0] & 15u);
    max = maxes[(data[0] >> 4) & 3];
    data++;
    size--;

    memset(&c, 0, sizeof c);
    memset(&r, 0, sizeof r);
    for (int s = 0; s < 3; s++) {
        c.s[s] = malloc(size + 1);
        r.c.s[s] = malloc(size + 1);
    }

    demux_init(&d, max);
    memset(&err, 0, sizeof err);
    while (at < size && rc == 0) {
        size_t k;
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        k = (rng & 7) == 0 ? 0 : 1 + (rng >> 8) % ((rng & 1) ? 9 : 64);
        if (k > size - at)
            k = size - at;
        /* An exact-size copy of the chunk so ASan sees a read past it. */
        char *chunk = malloc(k ? k : 1);
        memcpy(chunk, data + at, k);
        rc = demux_feed(&d, chunk, k, sink, &c, &err);
        free(chunk);
        at += k;
    }

    reference(data, size, max ? max : 64u << 20, &r);
    if (rc != r.rc)
        __builtin_trap();
    if (rc && (err.code != r.code || !err.msg[0]))
        __builtin_trap();
    for (int s = 0; s < 3; s++)
        if (c.n[s] != r.c.n[s] || memcmp(c.s[s], r.c.s[s], c.n[s]) != 0)
            __builtin_trap();
    if (rc == 0 && demux_at_boundary(&d) != r.boundary)
        __builtin_trap();
    if (rc == 0 && r.boundary && c.n[0] + c.n[1] + c.n[2] != r.declared)
        __builtin_trap();

    for (int s = 0; s < 3; s++) {
        free(c.s[s]);
        free(r.c.s[s]);
    }
    return 0;
}
