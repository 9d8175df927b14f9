/* lathist.c - the fixed log-linear latency histogram of lathist.h. Pure. */
#include "core/lathist.h"

#include <math.h>
#include <string.h>

void lathist_reset(struct lathist *h)
{
    memset(h, 0, sizeof *h);
}

unsigned lathist_bucket(uint64_t us)
{
    unsigned e = 0;
    uint64_t v = us;

    if (us < LATHIST_SUB)
        return (unsigned)us;
    while (v >>= 1)
        e++;
    /* e >= 4: the top five bits of us are 1mmmm; m picks one of 16 sub-buckets */
    if (e > LATHIST_MAX_EXP)
        return LATHIST_BUCKETS - 1;
    return LATHIST_SUB + (e - 4) * LATHIST_SUB + (unsigned)((us >> (e - 4)) & (LATHIST_SUB - 1));
}

uint64_t lathist_bucket_max(unsigned b)
{
    unsigned e, m;

    if (b < LATHIST_SUB)
        return b;
    if (b >= LATHIST_BUCKETS - 1)
        return UINT64_MAX;
    e = (b - LATHIST_SUB) / LATHIST_SUB + 4;
    m = (b - LATHIST_SUB) % LATHIST_SUB;
    return (((uint64_t)LATHIST_SUB + m + 1) << (e - 4)) - 1;
}

void lathist_add(struct lathist *h, uint64_t us)
{
    h->b[lathist_bucket(us)]++;
    h->n++;
    h->sum += us;
    if (us > h->max)
        h->max = us;
}

uint64_t lathist_quantile(const struct lathist *h, double q)
{
    uint64_t rank, seen = 0;
    unsigned b;

    if (h->n == 0)
        return 0;
    if (!(q > 0))
        q = 0;
    if (q > 1)
        q = 1;
    rank = (uint64_t)ceil(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    for (b = 0; b < LATHIST_BUCKETS; b++) {
        seen += h->b[b];
        if (seen >= rank) {
            uint64_t top = lathist_bucket_max(b);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}
