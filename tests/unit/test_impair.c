/* test_impair.c - core/impair: value parsers (good and bad rows), presets and the environment
 * default, tc argv lists (iptables lists: test_impair_ipt.c), and the statistics of the per-packet
 * decision over 100k packets with fixed seeds. TAP. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/impair.h"
#include "tap.h"

#define N_PKT 100000

/* --- parsers --------------------------------------------------------------------------------- */

struct time_row {
    const char *in;
    long long want; /* -1: must fail */
    const char *errpart;
};

static const struct time_row time_rows[] = {
    {"100ms", 100000, NULL},
    {"1.5s", 1500000, NULL},
    {"250us", 250, NULL},
    {"0", 0, NULL},
    {"0ms", 0, NULL},
    {"0.5ms", 500, NULL},
    {"2sec", 2000000, NULL},
    {"40msec", 40000, NULL},
    {"7usec", 7, NULL},
    {"007ms", 7000, NULL},
    {".25s", 250000, NULL},
    {"60s", 60000000, NULL},
    {"100", -1, "needs a unit"},
    {"10xs", -1, "bad time unit in '10xs'"},
    {"-5ms", -1, "must not be negative"},
    {"", -1, "empty time"},
    {"ms", -1, "bad time 'ms'"},
    {"61s", -1, "out of range"},
    {"1e3ms", -1, "bad time unit"},
    {"inf", -1, "bad time 'inf'"},
    {"nan", -1, "bad time 'nan'"},
    {"0x10ms", -1, "bad time unit"},
    {"1.2.3ms", -1, "bad time unit"},
    {" 1ms", -1, "bad time"},
    {"1 ms", -1, "bad time unit"},
    {"100MS", -1, "bad time unit"},
};

static void test_time(void)
{
    size_t i;

    for (i = 0; i < sizeof time_rows / sizeof time_rows[0]; i++) {
        const struct time_row *r = &time_rows[i];
        struct nt_err err = {0};
        uint32_t v = 12345;
        int rc = impair_parse_time_us("delay", r->in, &v, &err);

        if (r->want >= 0) {
            ok(rc == 0 && v == (uint32_t)r->want, "time '%s' = %lldus (got rc %d, %u)", r->in,
               r->want, rc, v);
        } else {
            ok(rc == -1 && err.code == NT_EINVAL && strstr(err.msg, r->errpart) &&
                   strncmp(err.msg, "delay: ", 7) == 0,
               "time '%s' fails: %s", r->in, err.msg);
        }
    }
}

struct pct_row {
    const char *in;
    double want; /* < 0: must fail */
    const char *errpart;
};

static const struct pct_row pct_rows[] = {
    {"30%", 30, NULL},
    {"0.5", 0.5, NULL},
    {"0.5%", 0.5, NULL},
    {"100%", 100, NULL},
    {"0", 0, NULL},
    {"12.125%", 12.125, NULL},
    {"101%", -1, "above 100%"},
    {"30%%", -1, "bad percentage '30%%'"},
    {"abc", -1, "bad percentage 'abc'"},
    {"-1%", -1, "must not be negative"},
    {"5 %", -1, "bad percentage"},
    {"", -1, "empty percentage"},
    {"%", -1, "bad percentage"},
    {"1e1", -1, "bad percentage"},
};

static void test_pct(void)
{
    size_t i;

    for (i = 0; i < sizeof pct_rows / sizeof pct_rows[0]; i++) {
        const struct pct_row *r = &pct_rows[i];
        struct nt_err err = {0};
        double v = -7;
        int rc = impair_parse_pct("loss", r->in, &v, &err);

        if (r->want >= 0)
            ok(rc == 0 && fabs(v - r->want) < 1e-9, "pct '%s' = %g (got %g)", r->in, r->want, v);
        else
            ok(rc == -1 && strstr(err.msg, r->errpart) && strncmp(err.msg, "loss: ", 6) == 0,
               "pct '%s' fails: %s", r->in, err.msg);
    }
}

struct rate_row {
    const char *in;
    long long want; /* -1: must fail */
    const char *errpart;
};

static const struct rate_row rate_rows[] = {
    {"1mbit", 1000000, NULL},
    {"500kbit", 500000, NULL},
    {"10Mbit", 10000000, NULL},
    {"1.5gbit", 1500000000, NULL},
    {"1kibit", 1024, NULL},
    {"2mibit", 2097152, NULL},
    {"64bit", 64, NULL},
    {"0", 0, NULL},
    {"100gbit", 100000000000LL, NULL},
    {"10Mbps", -1, "ambiguous"},
    {"100kbps", -1, "ambiguous"},
    {"8bps", -1, "ambiguous"},
    {"100", -1, "needs a unit"},
    {"1xbit", -1, "bad rate unit in '1xbit'"},
    {"200gbit", -1, "out of range"},
    {"mbit", -1, "bad rate 'mbit'"},
    {"-1mbit", -1, "must not be negative"},
    {"0.1bit", -1, "rounds to 0"},
};

static void test_rate(void)
{
    size_t i;

    for (i = 0; i < sizeof rate_rows / sizeof rate_rows[0]; i++) {
        const struct rate_row *r = &rate_rows[i];
        struct nt_err err = {0};
        uint64_t v = 99;
        int rc = impair_parse_rate("rate", r->in, &v, &err);

        if (r->want >= 0)
            ok(rc == 0 && v == (uint64_t)r->want, "rate '%s' = %lld bit/s (got %llu)", r->in,
               r->want, (unsigned long long)v);
        else
            ok(rc == -1 && strstr(err.msg, r->errpart) && strncmp(err.msg, "rate: ", 6) == 0,
               "rate '%s' fails: %s", r->in, err.msg);
    }
}

static void test_dist_dir(void)
{
    struct nt_err err = {0};
    enum impair_dist d = IMPAIR_DIST_UNIFORM;
    enum impair_dir dir = IMPAIR_DIR_EGRESS;

    ok(impair_parse_dist("distribution", "Normal", &d, &err) == 0 && d == IMPAIR_DIST_NORMAL,
       "distribution Normal");
    ok(impair_parse_dist("distribution", "paretonormal", &d, &err) == 0 &&
           d == IMPAIR_DIST_PARETONORMAL,
       "distribution paretonormal");
    ok(impair_parse_dist("distribution", "gauss", &d, &err) == -1 &&
           strstr(err.msg, "distribution: unknown distribution 'gauss' (valid: uniform, normal"),
       "distribution gauss fails: %s", err.msg);
    ok(impair_parse_dir("direction", "both", &dir, &err) == 0 && dir == IMPAIR_DIR_BOTH,
       "direction both");
    ok(impair_parse_dir("direction", "INGRESS", &dir, &err) == 0 && dir == IMPAIR_DIR_INGRESS,
       "direction INGRESS");
    ok(impair_parse_dir("direction", "out", &dir, &err) == -1 &&
           strstr(err.msg, "unknown direction 'out' (valid: egress, ingress, both)"),
       "direction out fails: %s", err.msg);
}

/* family: which IP versions the rules shape; both by default, kept across a preset, written
 * only when it is not both */
static void test_family(void)
{
    struct impair_spec s;
    struct nt_err err = {0};
    enum impair_family f = IMPAIR_FAMILY_BOTH;
    char buf[256];
    const char *v6[] = {"family=v6", "preset=regional", "delay=100ms"};
    const char *bad[] = {"family=v5"};

    impair_spec_init(&s);
    ok(s.family == IMPAIR_FAMILY_BOTH, "default family is both");
    ok(impair_parse_family("family", "IPv6", &f, &err) == 0 && f == IMPAIR_FAMILY_V6,
       "family IPv6");
    ok(impair_parse_family("family", "v4", &f, &err) == 0 && f == IMPAIR_FAMILY_V4, "family v4");
    ok(impair_parse_family("family", "both", &f, &err) == 0 && f == IMPAIR_FAMILY_BOTH,
       "family both");
    ok(impair_spec_parse_kv(&s, v6, 3, &err) == 0 && s.family == IMPAIR_FAMILY_V6 &&
           s.delay_us == 100000 && s.jitter_us == 10000,
       "family=v6 kept across preset=");
    impair_spec_format(&s, buf, sizeof buf);
    is_str(buf, "delay=100ms jitter=10ms loss=0.1% loss_corr=25% family=v6", "family formatted");
    impair_spec_init(&s);
    ok(impair_spec_parse_kv(&s, bad, 1, &err) == -1 &&
           strstr(err.msg, "family: unknown family 'v5' (valid: v4, v6, both)"),
       "family=v5 fails: %s", err.msg);
    impair_spec_init(&s);
    ok(impair_spec_set(&s, "family", "v4", &err) == 0 && impair_spec_is_empty(&s),
       "family alone impairs nothing");
    impair_spec_format(&s, buf, sizeof buf);
    is_str(buf, "family=v4", "family alone formatted");
    is_str(impair_family_name(IMPAIR_FAMILY_BOTH), "both", "family name both");
}

/* Split kv on spaces into tok (pointing into store). */
static int split_kv(const char *kv, char *store, size_t n, char **tok, size_t max)
{
    char *p;
    int k = 0;

    snprintf(store, n, "%s", kv);
    for (p = store; *p && (size_t)k < max;) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        tok[k++] = p;
        while (*p && *p != ' ')
            p++;
    }
    return k;
}

static void test_kv(void)
{
    struct impair_spec s, back;
    struct nt_err err = {0};
    char buf[512];
    const char *full[] = {"delay=100ms",  "jitter=10ms",     "distribution=normal",
                          "loss=1%",      "loss_corr=25%",   "duplicate=0.5%",
                          "reorder=25%",  "reorder_corr=50", "reorder_gap=5",
                          "corrupt=0.1%", "rate=1mbit",      "direction=both"};
    const char *bad_key[] = {"delay=1ms", "latency=5ms"};
    const char *no_eq[] = {"delay"};
    const char *reorder_nodelay[] = {"reorder=10%"};
    const char *preset[] = {"direction=ingress", "preset=regional", "loss=2%"};
    const char *bad_gap[] = {"delay=1ms", "reorder_gap=x"};

    impair_spec_init(&s);
    ok(impair_spec_is_empty(&s), "init is empty");
    ok(impair_spec_format(&s, buf, sizeof buf) == 0 && buf[0] == '\0', "empty formats to ''");

    impair_spec_init(&s);
    ok(impair_spec_parse_kv(&s, full, sizeof full / sizeof full[0], &err) == 0,
       "full kv parses (%s)", err.msg);
    ok(s.delay_us == 100000 && s.jitter_us == 10000 && s.dist == IMPAIR_DIST_NORMAL &&
           s.loss_pct == 1 && s.loss_corr_pct == 25 && s.duplicate_pct == 0.5 &&
           s.reorder_pct == 25 && s.reorder_corr_pct == 50 && s.reorder_gap == 5 &&
           s.corrupt_pct == 0.1 && s.rate_bps == 1000000 && s.dir == IMPAIR_DIR_BOTH,
       "full kv fields");
    impair_spec_format(&s, buf, sizeof buf);
    is_str(buf,
           "delay=100ms jitter=10ms distribution=normal loss=1% loss_corr=25% duplicate=0.5% "
           "reorder=25% reorder_corr=50% reorder_gap=5 corrupt=0.1% rate=1mbit direction=both",
           "canonical format");
    {
        /* the formatted text parses back to the same spec */
        char copy[512], *tok[32];
        int n = split_kv(buf, copy, sizeof copy, tok, 32);
        impair_spec_init(&back);
        ok(impair_spec_parse_kv(&back, (const char *const *)tok, (size_t)n, &err) == 0 &&
               memcmp(&back, &s, sizeof s) == 0,
           "format round-trips through parse_kv");
    }
    ok(impair_spec_format(&s, buf, 10) > 10 && strlen(buf) == 9, "format truncates, reports size");

    impair_spec_init(&s);
    ok(impair_spec_parse_kv(&s, bad_key, 2, &err) == -1 &&
           strstr(err.msg, "unknown impairment key 'latency' (valid: delay, jitter,"),
       "unknown key lists valid keys: %s", err.msg);
    ok(impair_spec_parse_kv(&s, no_eq, 1, &err) == -1 && strstr(err.msg, "key=value"),
       "token without '=': %s", err.msg);
    impair_spec_init(&s);
    ok(impair_spec_parse_kv(&s, reorder_nodelay, 1, &err) == -1 &&
           strstr(err.msg, "reorder needs a delay"),
       "reorder without delay: %s", err.msg);
    impair_spec_init(&s);
    ok(impair_spec_parse_kv(&s, preset, 3, &err) == 0 && s.delay_us == 40000 &&
           s.jitter_us == 10000 && s.loss_pct == 2 && s.loss_corr_pct == 25 &&
           s.dir == IMPAIR_DIR_INGRESS,
       "preset= then override, direction kept");
    impair_spec_init(&s);
    ok(impair_spec_parse_kv(&s, bad_gap, 2, &err) == -1 && strstr(err.msg, "reorder_gap: bad"),
       "bad reorder_gap: %s", err.msg);
    ok(impair_spec_set(&s, "preset", "mars", &err) == -1 &&
           strstr(err.msg, "unknown preset 'mars' (valid: lan, regional, intercontinental, "
                           "high_latency, challenging)"),
       "preset=mars: %s", err.msg);
}

/* --- presets --------------------------------------------------------------------------------- */

struct preset_row {
    const char *name;
    uint32_t delay_ms, jitter_ms;
    double loss, corr;
};

static const struct preset_row preset_rows[] = {
    {"lan", 1, 1, 0, 25},
    {"regional", 40, 10, 0.1, 25},
    {"intercontinental", 125, 25, 0.5, 25},
    {"high_latency", 200, 30, 1, 25},
    {"challenging", 150, 50, 3, 50},
    {"Challenging", 150, 50, 3, 50},
};

static void test_presets(void)
{
    size_t i;
    struct nt_err err = {0};
    struct impair_spec s;

    for (i = 0; i < sizeof preset_rows / sizeof preset_rows[0]; i++) {
        const struct preset_row *r = &preset_rows[i];
        ok(impair_preset(r->name, &s, &err) == 0 && s.delay_us == r->delay_ms * 1000 &&
               s.jitter_us == r->jitter_ms * 1000 && s.loss_pct == r->loss &&
               s.loss_corr_pct == r->corr && s.dist == IMPAIR_DIST_UNIFORM &&
               s.dir == IMPAIR_DIR_EGRESS,
           "preset %s", r->name);
    }
    for (i = 0; impair_preset_name(i); i++)
        ;
    is_int(i, 5, "five preset names");
    ok(impair_preset("wan", &s, &err) == -1 &&
           strcmp(err.msg, "unknown preset 'wan' (valid: lan, regional, intercontinental, "
                           "high_latency, challenging)") == 0,
       "unknown preset lists names: %s", err.msg);
}

struct env_row {
    const char *natrig, *freenet;
    int rc;
    uint32_t delay_ms;
    const char *errpart;
};

static const struct env_row env_rows[] = {
    {NULL, NULL, 0, 0, NULL},
    {"", "", 0, 0, NULL},
    {"regional", NULL, 1, 40, NULL},
    {NULL, "high_latency", 1, 200, NULL},
    {"", "LAN", 1, 1, NULL},
    {"challenging", "lan", 1, 150, NULL},
    {"none", "lan", 0, 0, NULL},
    {"OFF", "regional", 0, 0, NULL},
    {"mars", "lan", -1, 0, "NATRIG_EMULATION: unknown preset 'mars' (valid: lan,"},
    {NULL, "slow", -1, 0, "FREENET_TEST_NETWORK_EMULATION: unknown preset 'slow'"},
};

static void test_env(void)
{
    size_t i;

    for (i = 0; i < sizeof env_rows / sizeof env_rows[0]; i++) {
        const struct env_row *r = &env_rows[i];
        struct nt_err err = {0};
        struct impair_spec s;
        int rc;

        impair_spec_init(&s);
        rc = impair_preset_from_env(r->natrig, r->freenet, &s, &err);
        if (r->rc == 1)
            ok(rc == 1 && s.delay_us == r->delay_ms * 1000, "env (%s, %s) -> %ums",
               r->natrig ? r->natrig : "NULL", r->freenet ? r->freenet : "NULL", r->delay_ms);
        else if (r->rc == 0)
            ok(rc == 0, "env (%s, %s) -> none", r->natrig ? r->natrig : "NULL",
               r->freenet ? r->freenet : "NULL");
        else
            ok(rc == -1 && strstr(err.msg, r->errpart) && strstr(err.msg, "none)"),
               "env (%s, %s) fails: %s", r->natrig ? r->natrig : "NULL",
               r->freenet ? r->freenet : "NULL", err.msg);
    }
}

/* --- argv ------------------------------------------------------------------------------------ */

struct netem_row {
    const char *kv; /* space-separated tokens */
    const char *dev;
    const char *want; /* NULL: must fail */
    const char *errpart;
};

static const struct netem_row netem_rows[] = {
    {"delay=100ms jitter=10ms distribution=normal loss=1%", "eth0",
     "tc qdisc replace dev eth0 root netem limit 32768 delay 100ms 10ms distribution normal "
     "loss 1%",
     NULL},
    {"delay=100ms jitter=10ms loss=1% loss_corr=25%", "eth1",
     "tc qdisc replace dev eth1 root netem limit 32768 delay 100ms 10ms loss gemodel 0.75% "
     "74.25%",
     NULL},
    {"delay=20ms duplicate=1% reorder=25% reorder_corr=50% reorder_gap=5 corrupt=0.1% "
     "rate=500kbit",
     "veth0",
     "tc qdisc replace dev veth0 root netem limit 32768 delay 20ms duplicate 1% reorder 25% 50% "
     "gap 5 corrupt 0.1% rate 500kbit",
     NULL},
    {"delay=1500us jitter=250us distribution=uniform", "eth0",
     "tc qdisc replace dev eth0 root netem limit 32768 delay 1500us 250us", NULL},
    {"loss=100% loss_corr=50%", "eth0",
     "tc qdisc replace dev eth0 root netem limit 32768 loss 100%", NULL},
    {"preset=regional", "eth0",
     "tc qdisc replace dev eth0 root netem limit 32768 delay 40ms 10ms loss gemodel 0.075% "
     "74.925%",
     NULL},
    {"", "eth0", "tc qdisc replace dev eth0 root netem limit 32768", NULL},
    {"delay=1ms", "", NULL, "bad device name ''"},
    {"delay=1ms", "averyveryverylongname", NULL, "bad device name"},
    {"delay=1ms", "eth 0", NULL, "bad device name"},
    /* the same rule as the NFQUEUE engine's: the node's link only, never loopback */
    {"delay=1ms", "lo", NULL, "loopback is never shaped"},
};

static void test_netem(void)
{
    size_t i;
    char buf[512];

    for (i = 0; i < sizeof netem_rows / sizeof netem_rows[0]; i++) {
        const struct netem_row *r = &netem_rows[i];
        struct nt_err err = {0};
        struct impair_spec s;
        struct impair_argv a;
        char store[512], *tok[32];
        int n = split_kv(r->kv, store, sizeof store, tok, 32), rc;

        impair_spec_init(&s);
        if (impair_spec_parse_kv(&s, (const char *const *)tok, (size_t)n, &err) < 0) {
            ok(0, "netem row %zu kv: %s", i, err.msg);
            continue;
        }
        rc = impair_netem_argv(&s, r->dev, &a, &err);
        if (r->want) {
            impair_argv_join(&a, buf, sizeof buf);
            ok(rc == 0, "netem argv row %zu", i);
            is_str(buf, r->want, "netem argv '%s'", r->kv);
            ok(a.v[a.n] == NULL, "argv NULL-terminated");
        } else {
            ok(rc == -1 && strstr(err.msg, r->errpart), "netem row %zu fails: %s", i, err.msg);
        }
        impair_argv_free(&a);
    }
    {
        struct impair_argv a;
        struct impair_spec s;
        struct nt_err err = {0};

        ok(impair_netem_clear_argv("eth0", &a, &err) == 0, "clear argv");
        impair_argv_join(&a, buf, sizeof buf);
        is_str(buf, "tc qdisc del dev eth0 root", "clear argv text");
        impair_argv_free(&a);

        impair_spec_init(&s);
        s.rate_bps = 1000000;
        ok(impair_tbf_argv(&s, "eth0", &a, &err) == 0, "tbf argv");
        impair_argv_join(&a, buf, sizeof buf);
        is_str(buf, "tc qdisc replace dev eth0 root tbf rate 1mbit burst 4096 latency 50ms",
               "tbf 1mbit");
        impair_argv_free(&a);
        s.rate_bps = 100000000;
        impair_tbf_argv(&s, "eth0", &a, &err);
        impair_argv_join(&a, buf, sizeof buf);
        is_str(buf, "tc qdisc replace dev eth0 root tbf rate 100mbit burst 125000 latency 50ms",
               "tbf 100mbit: 10 ms burst");
        impair_argv_free(&a);
        s.rate_bps = 1000000;
        ok(impair_tbf_argv(&s, "lo", &a, &err) == -1 && strstr(err.msg, "loopback is never shaped"),
           "tbf on lo refused: %s", err.msg);
        impair_argv_free(&a);
        s.rate_bps = 0;
        ok(impair_tbf_argv(&s, "eth0", &a, &err) == -1 && strstr(err.msg, "tbf needs a rate"),
           "tbf without rate: %s", err.msg);
        impair_argv_free(&a);
    }
}

/* --- decision statistics ------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stats {
    double mean, sd, min, max;
};

static struct stats delay_stats(const struct impair_spec *s, uint64_t seed, size_t n,
                                double *median)
{
    struct impair_state st;
    struct impair_verdict v;
    struct stats r = {0, 0, 1e18, -1e18};
    double sum = 0, sq = 0, *all = malloc(n * sizeof *all);
    size_t i, k = 0;

    impair_state_init(&st, seed);
    for (i = 0; i < n; i++) {
        impair_decide(s, &st, 100, &v);
        if (v.drop || v.reordered)
            continue;
        all[k++] = (double)v.delay_us;
        sum += (double)v.delay_us;
        sq += (double)v.delay_us * (double)v.delay_us;
        if (v.delay_us < r.min)
            r.min = (double)v.delay_us;
        if (v.delay_us > r.max)
            r.max = (double)v.delay_us;
    }
    r.mean = sum / (double)k;
    r.sd = sqrt(sq / (double)k - r.mean * r.mean);
    if (median) {
        qsort(all, k, sizeof *all, cmp_double);
        *median = all[k / 2];
    }
    free(all);
    return r;
}

/* Loss rate and mean burst length (consecutive drops). */
static void loss_stats(const struct impair_spec *s, uint64_t seed, size_t n, double *rate,
                       double *burst)
{
    struct impair_state st;
    struct impair_verdict v;
    size_t i, lost = 0, bursts = 0;
    int prev = 0;

    impair_state_init(&st, seed);
    for (i = 0; i < n; i++) {
        impair_decide(s, &st, 100, &v);
        lost += v.drop;
        bursts += v.drop && !prev;
        prev = v.drop;
    }
    *rate = 100.0 * (double)lost / (double)n;
    *burst = bursts ? (double)lost / (double)bursts : 0;
}

static void test_decide(void)
{
    struct impair_spec s;
    struct impair_state st, st2;
    struct impair_verdict v, v2;
    double rate, burst, burst0, med;
    struct stats ds;
    size_t i, k;

    /* nothing configured: every packet passes at once */
    impair_spec_init(&s);
    impair_state_init(&st, 1);
    for (i = k = 0; i < 1000; i++) {
        impair_decide(&s, &st, 100, &v);
        k += v.drop || v.duplicate || v.corrupt_at >= 0 || v.delay_us || v.reordered;
    }
    is_int(k, 0, "empty spec changes nothing");

    /* loss 30% -> 29..31% */
    s.loss_pct = 30;
    loss_stats(&s, 42, N_PKT, &rate, &burst0);
    ok(rate >= 29 && rate <= 31, "loss 30%%: measured %.2f%%", rate);
    ok(burst0 > 1.35 && burst0 < 1.5, "loss 30%% uncorrelated burst %.3f (theory 1.43)", burst0);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        loss_stats(&s, seed, N_PKT, &rate, &burst);
        ok(rate >= 29 && rate <= 31, "loss 30%% seed %llu: %.2f%%", (unsigned long long)seed, rate);
    }

    /* correlation keeps the rate and lengthens bursts: 1/((1-c)(1-p)) = 2.86 at c=50% */
    s.loss_corr_pct = 50;
    loss_stats(&s, 42, N_PKT, &rate, &burst);
    ok(rate >= 29 && rate <= 31, "loss 30%% corr 50%%: rate %.2f%%", rate);
    ok(burst > 2.7 && burst < 3.0 && burst > burst0 * 1.8,
       "loss 30%% corr 50%%: burst %.3f (theory 2.86) > uncorrelated %.3f", burst, burst0);

    /* the seed's regional preset, 0.1% with 25% correlation: netem's correlated random would
     * lose almost nothing; the chain keeps 0.1% */
    impair_preset("regional", &s, NULL);
    loss_stats(&s, 7, 1000000, &rate, &burst);
    ok(rate > 0.08 && rate < 0.12, "regional 0.1%% corr 25%%: %.3f%% over 1M", rate);
    impair_preset("challenging", &s, NULL);
    loss_stats(&s, 7, 1000000, &rate, &burst);
    ok(rate > 2.85 && rate < 3.15 && burst > 1.9, "challenging 3%% corr 50%%: %.3f%%, burst %.2f",
       rate, burst);

    /* loss 100% drops all, 0% none */
    impair_spec_init(&s);
    s.loss_pct = 100;
    loss_stats(&s, 3, 10000, &rate, &burst);
    ok(rate == 100, "loss 100%%: %.1f%%", rate);

    /* jitter: uniform 100ms +- 10ms -> mean 100ms, sd 10/sqrt(3) = 5.774ms, bounded */
    impair_spec_init(&s);
    s.delay_us = 100000;
    s.jitter_us = 10000;
    ds = delay_stats(&s, 11, N_PKT, &med);
    ok(fabs(ds.mean - 100000) < 100, "uniform mean %.0fus", ds.mean);
    ok(fabs(ds.sd - 5773.5) < 5773.5 * 0.02, "uniform sd %.0fus (theory 5774)", ds.sd);
    ok(ds.min >= 90000 && ds.max <= 110000, "uniform within 90..110ms (%.0f..%.0f)", ds.min,
       ds.max);

    s.dist = IMPAIR_DIST_NORMAL;
    ds = delay_stats(&s, 12, N_PKT, &med);
    ok(fabs(ds.mean - 100000) < 150, "normal mean %.0fus", ds.mean);
    ok(fabs(ds.sd - 10000) < 300, "normal sd %.0fus (want 10000)", ds.sd);
    ok(fabs(med - 100000) < 200, "normal median %.0fus", med);

    s.dist = IMPAIR_DIST_PARETO;
    ds = delay_stats(&s, 13, N_PKT, &med);
    ok(fabs(ds.mean - 100000) < 500, "pareto mean %.0fus", ds.mean);
    ok(fabs(ds.sd - 10000) < 1500, "pareto sd %.0fus (want ~10000)", ds.sd);
    ok(med < ds.mean - 1000 && ds.max - ds.mean > 5 * (ds.mean - ds.min) / 2,
       "pareto skewed right: median %.0f < mean %.0f, tail to %.0f", med, ds.mean, ds.max);

    s.dist = IMPAIR_DIST_PARETONORMAL;
    ds = delay_stats(&s, 14, N_PKT, &med);
    ok(fabs(ds.mean - 100000) < 500, "paretonormal mean %.0fus", ds.mean);
    ok(fabs(ds.sd - 10000) < 1500, "paretonormal sd %.0fus (want ~10000)", ds.sd);

    /* jitter larger than the delay clamps at 0, never wraps */
    s.dist = IMPAIR_DIST_NORMAL;
    s.delay_us = 5000;
    ds = delay_stats(&s, 15, N_PKT, NULL);
    ok(ds.min == 0 && ds.max < 100000, "delay 5ms jitter 10ms: min %.0f max %.0f", ds.min, ds.max);

    /* duplicate 10% */
    impair_spec_init(&s);
    s.duplicate_pct = 10;
    impair_state_init(&st, 21);
    for (i = k = 0; i < N_PKT; i++) {
        impair_decide(&s, &st, 100, &v);
        k += v.duplicate;
    }
    ok(k >= 9500 && k <= 10500, "duplicate 10%%: %zu of %d", k, N_PKT);

    /* duplicate and lose the same packet: delivered once (netem's count) */
    s.duplicate_pct = 100;
    s.loss_pct = 100;
    impair_state_init(&st, 22);
    impair_decide(&s, &st, 100, &v);
    ok(!v.drop && !v.duplicate, "duplicate+loss on one packet: delivered once");

    /* corrupt 5%: index inside the packet, one bit */
    impair_spec_init(&s);
    s.corrupt_pct = 5;
    impair_state_init(&st, 31);
    {
        size_t bad = 0, hist[8] = {0};
        for (i = k = 0; i < N_PKT; i++) {
            impair_decide(&s, &st, 37, &v);
            if (v.corrupt_at < 0)
                continue;
            k++;
            bad += v.corrupt_at >= 37 || __builtin_popcount(v.corrupt_mask) != 1;
            hist[__builtin_ctz(v.corrupt_mask)]++;
        }
        ok(k >= 4700 && k <= 5300, "corrupt 5%%: %zu of %d", k, N_PKT);
        is_int(bad, 0, "corrupt index < len and a single bit");
        ok(hist[0] > k / 10 && hist[7] > k / 10, "corrupt bits spread (%zu, %zu)", hist[0],
           hist[7]);
        impair_decide(&s, &st, 0, &v);
        ok(v.corrupt_at == -1, "nothing to corrupt in an empty payload");
    }

    /* reorder 25% with a delay: a quarter go at once, the rest wait */
    impair_spec_init(&s);
    s.delay_us = 10000;
    s.reorder_pct = 25;
    impair_state_init(&st, 41);
    for (i = k = 0; i < N_PKT; i++) {
        impair_decide(&s, &st, 100, &v);
        if (v.reordered) {
            k++;
            if (v.delay_us != 0)
                break;
        } else if (v.delay_us != 10000) {
            break;
        }
    }
    ok(i == N_PKT && k >= 24000 && k <= 26000, "reorder 25%%: %zu of %d at once", k, N_PKT);

    /* gap 5: at most one in five, never two within 5 packets */
    s.reorder_gap = 5;
    s.reorder_pct = 100;
    impair_state_init(&st, 42);
    {
        long last = -100, closest = 1000;
        for (i = k = 0; i < N_PKT; i++) {
            impair_decide(&s, &st, 100, &v);
            if (!v.reordered)
                continue;
            k++;
            if ((long)i - last < closest)
                closest = (long)i - last;
            last = (long)i;
        }
        ok(k == N_PKT / 5 && closest == 5, "reorder 100%% gap 5: %zu reordered, spacing %ld", k,
           closest);
    }

    /* determinism: one seed, one sequence; another seed, another */
    impair_preset("challenging", &s, NULL);
    s.duplicate_pct = 3;
    s.corrupt_pct = 3;
    impair_state_init(&st, 99);
    impair_state_init(&st2, 99);
    for (i = k = 0; i < 10000; i++) {
        impair_decide(&s, &st, 100, &v);
        impair_decide(&s, &st2, 100, &v2);
        k += memcmp(&v, &v2, sizeof v) != 0;
    }
    is_int(k, 0, "same seed, same verdicts");
    impair_state_init(&st, 99);
    impair_state_init(&st2, 100);
    for (i = k = 0; i < 1000; i++) {
        impair_decide(&s, &st, 100, &v);
        impair_decide(&s, &st2, 100, &v2);
        k += v.delay_us != v2.delay_us;
    }
    ok(k > 900, "different seeds differ (%zu of 1000)", k);

    /* rate: 1250 bytes at 1mbit take 10ms; back to back they queue, after idle they don't */
    impair_spec_init(&s);
    s.rate_bps = 1000000;
    impair_state_init(&st, 1);
    ok(impair_rate_due(&s, &st, 0, 0, 1250) == 10000, "rate: first packet 10ms");
    ok(impair_rate_due(&s, &st, 0, 0, 1250) == 20000, "rate: second queues behind");
    ok(impair_rate_due(&s, &st, 5000, 0, 1250) == 30000, "rate: third queues behind");
    ok(impair_rate_due(&s, &st, 1000000, 0, 1250) == 1010000, "rate: after idle, no queue");
    ok(impair_rate_due(&s, &st, 1000000, 50000, 125) == 1051000, "rate: delay then 1ms");
    s.rate_bps = 0;
    ok(impair_rate_due(&s, &st, 7, 5, 1250) == 12, "no rate: now + delay");
}

/* --- seeds ----------------------------------------------------------------------------------- */

struct seed_row {
    const char *in;
    int ok;
    unsigned long long want;
};

static const struct seed_row seed_rows[] = {
    {"0", 1, 0},
    {"42", 1, 42},
    {"007", 1, 7},
    {"18446744073709551615", 1, 18446744073709551615ull},
    {"18446744073709551616", 0, 0},
    {"99999999999999999999", 0, 0},
    {"-1", 0, 0},
    {"1e3", 0, 0},
    {"0x10", 0, 0},
    {"", 0, 0},
    {" 1", 0, 0},
};

static void test_seed(void)
{
    struct impair_spec s, back;
    struct impair_state a, b;
    struct impair_verdict va, vb;
    struct nt_err err = {0};
    const char *kv[] = {"seed=1234", "preset=regional", "loss=30%"};
    char buf[256], copy[256], *tok[16];
    uint64_t v;
    size_t i, same;
    int n;

    for (i = 0; i < sizeof seed_rows / sizeof seed_rows[0]; i++) {
        const struct seed_row *r = &seed_rows[i];
        v = 0;
        if (r->ok)
            ok(impair_parse_seed("seed", r->in, &v, &err) == 0 && v == r->want, "seed '%s'", r->in);
        else
            ok(impair_parse_seed("seed", r->in, &v, &err) == -1 && strstr(err.msg, "seed"),
               "bad seed '%s': %s", r->in, err.msg);
    }
    /* a seed survives a preset that follows it, formats last and round-trips */
    impair_spec_init(&s);
    ok(impair_spec_parse_kv(&s, kv, 3, &err) == 0 && s.has_seed && s.seed == 1234 &&
           s.delay_us == 40000 && s.loss_pct == 30,
       "seed=, preset=, loss=: %s", err.msg);
    impair_spec_format(&s, buf, sizeof buf);
    is_str(buf, "delay=40ms jitter=10ms loss=30% loss_corr=25% seed=1234", "seed is formatted");
    n = split_kv(buf, copy, sizeof copy, tok, 16);
    impair_spec_init(&back);
    ok(impair_spec_parse_kv(&back, (const char *const *)tok, (size_t)n, &err) == 0 &&
           memcmp(&back, &s, sizeof s) == 0,
       "seeded spec round-trips");
    impair_spec_init(&s);
    ok(impair_spec_set(&s, "seed", "5", &err) == 0 && impair_spec_is_empty(&s),
       "a seed alone impairs nothing");
    impair_spec_format(&s, buf, sizeof buf);
    is_str(buf, "seed=5", "a seed alone formats");
    impair_spec_init(&s);
    ok(impair_spec_set(&s, "seed", "x", &err) == -1 && strstr(err.msg, "seed: bad seed 'x'"),
       "bad seed through spec_set: %s", err.msg);

    /* the shaper re-seeds its queue state with the spec's seed: same seed, same fates for
     * the same packet sequence; another seed, others */
    impair_spec_init(&s);
    s.loss_pct = 30;
    s.duplicate_pct = 5;
    s.delay_us = 20000;
    s.jitter_us = 5000;
    s.reorder_pct = 10;
    impair_state_init(&a, 1234);
    impair_state_init(&b, 1234);
    for (i = same = 0; i < 1000; i++) {
        impair_decide(&s, &a, 100, &va);
        impair_decide(&s, &b, 100, &vb);
        same += memcmp(&va, &vb, sizeof va) == 0;
    }
    is_int(same, 1000, "seed 1234 twice: 1000 identical verdicts");
    impair_state_init(&a, 1234);
    impair_state_init(&b, 1235);
    for (i = same = 0; i < 1000; i++) {
        impair_decide(&s, &a, 100, &va);
        impair_decide(&s, &b, 100, &vb);
        same += va.drop == vb.drop;
    }
    ok(same < 800, "seeds 1234 and 1235 drop different packets (%zu of 1000 agree)", same);
}

int main(void)
{
    test_time();
    test_pct();
    test_rate();
    test_dist_dir();
    test_family();
    test_kv();
    test_presets();
    test_env();
    test_netem();
    test_seed();
    test_decide();
    return tap_done();
}
