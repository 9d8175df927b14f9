/* test_lathist.c - core/lathist: bucket edges, quantiles against the exact order statistics
 * of known samples (within the 1/16 bucket width), and the corner cases. TAP. */
#include <stdlib.h>

#include "core/lathist.h"
#include "tap.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_buckets(void)
{
    unsigned b, bad = 0;
    uint64_t v;

    for (v = 0; v < 16; v++)
        is_int(lathist_bucket(v), v, "%llu us is exact", (unsigned long long)v);
    /* every bucket's largest value is in it and the next value is in the next bucket */
    for (b = 0; b + 2 < LATHIST_BUCKETS; b++) {
        uint64_t top = lathist_bucket_max(b);
        if (lathist_bucket(top) != b || lathist_bucket(top + 1) != b + 1)
            bad++;
    }
    is_int(bad, 0, "bucket edges are contiguous over all %d buckets", LATHIST_BUCKETS);
    /* relative width at most 1/16 */
    for (b = 16, bad = 0; b + 2 < LATHIST_BUCKETS; b++) {
        uint64_t lo = lathist_bucket_max(b - 1) + 1, hi = lathist_bucket_max(b);
        if ((double)(hi - lo + 1) / (double)lo > 1.0 / 16 + 1e-12)
            bad++;
    }
    is_int(bad, 0, "every bucket spans at most 1/16 of its lower edge");
    is_int(lathist_bucket(UINT64_MAX), LATHIST_BUCKETS - 1, "huge values land in the last bucket");
    is_int(lathist_bucket(100000), lathist_bucket(101000), "100 ms and 101 ms share a bucket");
}

static void test_quantiles(void)
{
    static uint64_t v[10000];
    struct lathist h;
    size_t i;
    uint64_t s = 12345;
    double qs[] = {0.5, 0.9, 0.99, 1.0};
    size_t k;

    lathist_reset(&h);
    is_int(lathist_quantile(&h, 0.5), 0, "empty: 0");
    lathist_add(&h, 70);
    is_int(lathist_quantile(&h, 0.5), 70, "one value: its bucket capped at the max (70)");
    is_int(lathist_quantile(&h, 0.99), 70, "one value: p99 70");

    lathist_reset(&h);
    for (i = 0; i < 10000; i++) {
        /* a long tail: mostly tens of us, some ms, a few tens of ms */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        v[i] = (s >> 33) % 100;
        if (i % 10 == 0)
            v[i] = 1000 + (s >> 20) % 9000;
        if (i % 100 == 0)
            v[i] = 20000 + (s >> 24) % 60000;
        lathist_add(&h, v[i]);
    }
    qsort(v, 10000, sizeof v[0], cmp_u64);
    is_int(h.n, 10000, "count");
    is_int(h.max, v[9999], "max");
    for (k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        size_t rank = (size_t)(qs[k] * 10000 + 0.999999);
        uint64_t exact = v[rank - 1], got = lathist_quantile(&h, qs[k]);
        ok(got >= exact && (double)got <= (double)exact * (1 + 1.0 / 16) + 1,
           "q%.2f: %llu us, exact %llu (at most 1/16 above)", qs[k], (unsigned long long)got,
           (unsigned long long)exact);
    }
}

int main(void)
{
    test_buckets();
    test_quantiles();
    return tap_done();
}
