/* impair_decide.c - the per-packet decision of an impairment spec: the seeded random
 * number generator, the delay distributions and what happens to each packet (drop,
 * delay, duplicate, reorder, corrupt). Pure: natrig-shaper calls it for every packet. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/impair.h"

void impair_rng_seed(struct impair_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t impair_rng_next(struct impair_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double impair_rng_unit(struct impair_rng *r)
{
    /* the top 53 bits fill a double's mantissa exactly */
    return (double)(impair_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

void impair_state_init(struct impair_state *st, uint64_t seed)
{
    memset(st, 0, sizeof *st);
    impair_rng_seed(&st->rng, seed);
}

static double sample_normal(struct impair_rng *r)
{
    /* Box-Muller; 1 - u keeps the logarithm's argument in (0, 1] */
    double u1 = 1.0 - impair_rng_unit(r), u2 = impair_rng_unit(r);

    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double sample_pareto(struct impair_rng *r)
{
    /* Pareto with shape 3 and scale 1 has mean 1.5 and variance 3/4: shift and scale to zero
     * mean, unit deviation. u is floored at 2^-14 so one sample stays below about 27 sigma,
     * like netem's finite table instead of an unbounded tail. */
    double u = 1.0 - impair_rng_unit(r);

    if (u < 1.0 / 16384)
        u = 1.0 / 16384;
    return (pow(u, -1.0 / 3.0) - 1.5) / sqrt(0.75);
}

static double sample_dist(enum impair_dist d, struct impair_rng *r)
{
    switch (d) {
    case IMPAIR_DIST_NORMAL:
        return sample_normal(r);
    case IMPAIR_DIST_PARETO:
        return sample_pareto(r);
    case IMPAIR_DIST_PARETONORMAL:
        /* netem's paretonormal mixes a quarter normal with three quarters pareto; rescale so
         * jitter stays the standard deviation */
        return (0.25 * sample_normal(r) + 0.75 * sample_pareto(r)) / sqrt(0.625);
    case IMPAIR_DIST_UNIFORM:
    default:
        return 2.0 * impair_rng_unit(r) - 1.0;
    }
}

static int loss_event(const struct impair_spec *s, struct impair_state *st)
{
    double p = s->loss_pct / 100, c = s->loss_corr_pct / 100, thr;
    int lost;

    if (p <= 0) {
        st->loss_bad = 0;
        return 0;
    }
    thr = st->loss_bad ? c + (1 - c) * p : (1 - c) * p;
    lost = impair_rng_unit(&st->rng) < thr;
    st->loss_bad = lost;
    return lost;
}

void impair_decide(const struct impair_spec *s, struct impair_state *st, size_t len,
                   struct impair_verdict *v)
{
    int count = 1;
    double d;

    memset(v, 0, sizeof *v);
    v->corrupt_at = -1;
    if (s->duplicate_pct > 0 && impair_rng_unit(&st->rng) * 100 < s->duplicate_pct)
        count++;
    if (loss_event(s, st))
        count--;
    if (count == 0) {
        v->drop = 1;
        return;
    }
    v->duplicate = count == 2;
    if (s->corrupt_pct > 0 && len > 0 && impair_rng_unit(&st->rng) * 100 < s->corrupt_pct) {
        uint64_t r = impair_rng_next(&st->rng);
        v->corrupt_at = (long)(r % len);
        v->corrupt_mask = (uint8_t)(1u << ((r >> 32) % 8));
    }
    if (s->reorder_pct > 0) {
        uint32_t gap = s->reorder_gap ? s->reorder_gap : 1;
        if (st->since_reorder + 1 >= gap) {
            double c = s->reorder_corr_pct / 100;
            double x = c * st->reorder_last + (1 - c) * impair_rng_unit(&st->rng);
            st->reorder_last = x;
            if (x * 100 < s->reorder_pct) {
                st->since_reorder = 0;
                v->reordered = 1;
                return;
            }
        }
        st->since_reorder++;
    }
    d = (double)s->delay_us;
    if (s->jitter_us)
        d += (double)s->jitter_us * sample_dist(s->dist, &st->rng);
    v->delay_us = d > 0 ? (uint64_t)llround(d) : 0;
}

uint64_t impair_rate_due(const struct impair_spec *s, struct impair_state *st, uint64_t now_us,
                         uint64_t delay_us, size_t len)
{
    uint64_t due = now_us + delay_us;

    if (!s->rate_bps)
        return due;
    if (st->rate_next_us > due)
        due = st->rate_next_us;
    /* serialisation time, rounded up so a saturated link never runs faster than the rate */
    due += ((uint64_t)len * 8 * 1000000 + s->rate_bps - 1) / s->rate_bps;
    st->rate_next_us = due;
    return due;
}
