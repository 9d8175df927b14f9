/* lathist.h - a small fixed latency histogram: counts of microsecond values in log-linear
 * buckets (exact below 16 us, then 16 buckets per power of two, so a quantile is at most
 * 1/16 = 6.25% above the true value), plus count, sum and maximum. No allocation, no I/O:
 * natrig-shaper keeps one per queue for how late it releases held packets.
 *
 * Ownership: a struct lathist is plain data; zero it (or lathist_reset) to start. */
#ifndef NT_LATHIST_H
#define NT_LATHIST_H

#include <stdint.h>

#define LATHIST_SUB 16 /* buckets per power of two */
#define LATHIST_MAX_EXP 40
#define LATHIST_BUCKETS (LATHIST_SUB + (LATHIST_MAX_EXP - 3) * LATHIST_SUB)

struct lathist {
    uint64_t n, sum, max;
    uint64_t b[LATHIST_BUCKETS];
};

void lathist_reset(struct lathist *h);
void lathist_add(struct lathist *h, uint64_t us);
/* The q-quantile (0 < q <= 1) of the values added: the upper end of the bucket that holds the
 * value of rank ceil(q n), but never above the maximum. 0 when empty. */
uint64_t lathist_quantile(const struct lathist *h, double q);
/* The bucket a value falls in, and the largest value of a bucket (for tests). */
unsigned lathist_bucket(uint64_t us);
uint64_t lathist_bucket_max(unsigned b);

#endif
