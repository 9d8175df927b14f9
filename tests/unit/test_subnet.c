/* test_subnet.c - TAP tests for core/subnet: host numbering and allocation of free blocks
 * from a pool (parsing and overlap are core/ipv4's, tested in test_ipv4.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/subnet.h"
#include "tap.h"

#define IP(a, b, c, d)                                                                             \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* Literals in the tables below are parsed with core/ipv4 (tested in test_ipv4.c). */
static struct ipv4_cidr P(const char *s) {
    struct ipv4_cidr n = {0, 0};
    if (ipv4_parse_cidr(s, &n, 0, NULL))
        printf("# test bug: bad subnet literal %s\n", s);
    return n;
}

/* --- subnet_host ----------------------------------------------------------------------- */

struct host_row {
    const char *net;
    uint32_t n;
    const char *want; /* NULL: -1 */
};

static const struct host_row host_rows[] = {
    {"10.0.0.0/24", 1, "10.0.0.1"},
    {"10.0.0.0/24", 254, "10.0.0.254"},
    {"10.0.0.0/24", 255, NULL},
    {"10.0.0.0/24", 256, NULL},
    {"10.0.0.0/24", 0, NULL},
    {"10.0.0.0/16", 256, "10.0.1.0"},
    {"10.0.0.0/16", 65534, "10.0.255.254"},
    {"10.0.0.0/16", 65535, NULL},
    {"10.0.0.4/30", 1, "10.0.0.5"},
    {"10.0.0.4/30", 2, "10.0.0.6"},
    {"10.0.0.4/30", 3, NULL},
    {"10.0.0.0/31", 1, NULL},
    {"10.0.0.0/31", 0, NULL},
    {"10.0.0.1/32", 1, NULL},
    {"0.0.0.0/0", 1, "0.0.0.1"},
    {"0.0.0.0/0", 0xfffffffeu, "255.255.255.254"},
    {"0.0.0.0/0", 0xffffffffu, NULL},
};

static void check_host(void)
{
    for (size_t i = 0; i < sizeof host_rows / sizeof host_rows[0]; i++) {
        const struct host_row *r = &host_rows[i];
        struct ipv4_cidr s = P(r->net);
        uint32_t ip = 0xdeadbeef;
        char got[16];
        int rc = subnet_host(&s, r->n, &ip);
        if (r->want) {
            is_int(rc, 0, "host %u of %s exists", r->n, r->net);
            ipv4_format(ip, got, sizeof got);
            is_str(got, r->want, "host %u of %s = %s", r->n, r->net, r->want);
        } else {
            is_int(rc, -1, "host %u of %s is out of range", r->n, r->net);
            is_int(ip, 0xdeadbeef, "host %u of %s: output untouched", r->n, r->net);
        }
    }
}

/* --- subnet_alloc ---------------------------------------------------------------------- */

struct alloc_row {
    const char *name;
    const char *pool;
    int prefix;
    const char *taken[4];
    uint32_t start;
    size_t count;
    const char *want[5];   /* expected blocks in order; unused when failing */
    enum nt_err_code code; /* NT_OK: must succeed */
    const char *msg_has;
};

static const struct alloc_row alloc_rows[] = {
    {"first three",
     "10.10.0.0/16",
     24,
     {NULL},
     0,
     3,
     {"10.10.0.0/24", "10.10.1.0/24", "10.10.2.0/24"},
     NT_OK,
     NULL},
    {"skips a taken block",
     "10.10.0.0/16",
     24,
     {"10.10.1.0/24"},
     0,
     3,
     {"10.10.0.0/24", "10.10.2.0/24", "10.10.3.0/24"},
     NT_OK,
     NULL},
    {"skips a wider taken range",
     "10.10.0.0/16",
     24,
     {"10.10.0.0/23", "10.10.3.0/24"},
     0,
     2,
     {"10.10.2.0/24", "10.10.4.0/24"},
     NT_OK,
     NULL},
    {"skips a block holding a taken host",
     "10.10.0.0/16",
     24,
     {"10.10.0.5/32"},
     0,
     1,
     {"10.10.1.0/24"},
     NT_OK,
     NULL},
    {"taken outside the pool is ignored",
     "10.10.0.0/16",
     24,
     {"192.168.0.0/16", "10.11.0.0/16"},
     0,
     1,
     {"10.10.0.0/24"},
     NT_OK,
     NULL},
    {"starts at an offset",
     "10.10.0.0/16",
     24,
     {NULL},
     5,
     2,
     {"10.10.5.0/24", "10.10.6.0/24"},
     NT_OK,
     NULL},
    {"wraps from the start offset",
     "10.10.0.0/16",
     24,
     {NULL},
     254,
     4,
     {"10.10.254.0/24", "10.10.255.0/24", "10.10.0.0/24", "10.10.1.0/24"},
     NT_OK,
     NULL},
    {"wraps past taken blocks",
     "10.10.0.0/22",
     24,
     {"10.10.3.0/24", "10.10.0.0/24"},
     2,
     2,
     {"10.10.2.0/24", "10.10.1.0/24"},
     NT_OK,
     NULL},
    {"start beyond the block count is taken modulo",
     "10.10.0.0/16",
     24,
     {NULL},
     257,
     1,
     {"10.10.1.0/24"},
     NT_OK,
     NULL},
    {"start 0xffffffff",
     "10.10.0.0/16",
     24,
     {NULL},
     0xffffffffu,
     2,
     {"10.10.255.0/24", "10.10.0.0/24"},
     NT_OK,
     NULL},
    {"block as large as the pool", "10.10.0.0/24", 24, {NULL}, 7, 1, {"10.10.0.0/24"}, NT_OK, NULL},
    {"/30 blocks",
     "10.10.0.0/24",
     30,
     {"10.10.0.0/29"},
     0,
     2,
     {"10.10.0.8/30", "10.10.0.12/30"},
     NT_OK,
     NULL},
    {"count 0", "10.10.0.0/16", 24, {"10.0.0.0/8"}, 0, 0, {NULL}, NT_OK, NULL},
    {"exhausted: one short",
     "10.10.0.0/22",
     24,
     {"10.10.1.0/24"},
     0,
     4,
     {NULL},
     NT_LIMIT,
     "10.10.0.0/22"},
    {"exhausted: pool covered",
     "10.10.0.0/16",
     24,
     {"10.0.0.0/8"},
     0,
     1,
     {NULL},
     NT_LIMIT,
     "10.10.0.0/16"},
    {"exhausted: more than the pool holds",
     "10.10.0.0/24",
     26,
     {NULL},
     0,
     5,
     {NULL},
     NT_LIMIT,
     "only 4"},
    {"block wider than the pool", "10.10.0.0/16", 8, {NULL}, 0, 1, {NULL}, NT_EINVAL, "/16"},
    {"/31 blocks refused", "10.10.0.0/16", 31, {NULL}, 0, 1, {NULL}, NT_EINVAL, NULL},
};

static void check_alloc(void)
{
    for (size_t i = 0; i < sizeof alloc_rows / sizeof alloc_rows[0]; i++) {
        const struct alloc_row *r = &alloc_rows[i];
        struct ipv4_cidr pool = P(r->pool), taken[4], out[5];
        size_t ntaken = 0;
        struct nt_err err;

        for (; ntaken < 4 && r->taken[ntaken]; ntaken++)
            taken[ntaken] = P(r->taken[ntaken]);
        memset(&err, 0, sizeof err);
        memset(out, 0, sizeof out);
        int rc = subnet_alloc(&pool, r->prefix, taken, ntaken, r->start, r->count, out, &err);
        if (r->code == NT_OK) {
            int same = rc == 0;
            char got[256] = "", one[32];
            for (size_t k = 0; k < r->count && k < 5; k++) {
                ipv4_format_cidr(&out[k], one, sizeof one);
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s ", one);
                if (!r->want[k] || strcmp(one, r->want[k]) != 0)
                    same = 0;
            }
            ok(same, "alloc %s: %s%s", r->name, got, rc ? err.msg : "");
        } else {
            is_int(rc, -1, "alloc %s: refused", r->name);
            is_int(err.code, r->code, "alloc %s: code %s (%s)", r->name, nt_err_code_name(r->code),
                   err.msg);
            if (r->msg_has)
                ok(strstr(err.msg, r->msg_has) != NULL, "alloc %s: message has '%s'", r->name,
                   r->msg_has);
        }
    }
}

/* Property: over many pools, taken sets and offsets, results are aligned /prefix blocks
 * inside the pool, overlap nothing taken and not each other; and allocation succeeds
 * exactly when enough free blocks exist (counted by brute force). */
static void check_alloc_property(void)
{
    unsigned seed = 12345;
    int bad = 0, runs = 0, refused = 0;

    for (int iter = 0; iter < 2000; iter++) {
        struct ipv4_cidr pool, taken[6], out[64];
        size_t ntaken, count;
        int prefix;
        uint32_t start;

        seed = seed * 1103515245u + 12345u;
        pool.prefix = 16 + (int)(seed >> 16) % 9; /* /16../24 */
        pool.addr = IP(10, (seed >> 8) & 255, 0, 0) & (0xffffffffu << (32 - pool.prefix));
        seed = seed * 1103515245u + 12345u;
        prefix = pool.prefix + (int)((seed >> 16) % 5);
        if (prefix > 30)
            prefix = 30;
        ntaken = (seed >> 8) % 7;
        for (size_t t = 0; t < ntaken; t++) {
            seed = seed * 1103515245u + 12345u;
            taken[t].prefix = pool.prefix - 2 + (int)((seed >> 16) % 12);
            if (taken[t].prefix > 32)
                taken[t].prefix = 32;
            taken[t].addr =
                (pool.addr + ((seed >> 4) & 0xffff)) & (0xffffffffu << (32 - taken[t].prefix));
        }
        seed = seed * 1103515245u + 12345u;
        start = seed >> 3;
        count = 1 + (seed >> 20) % 8;

        /* brute-force count of free blocks */
        uint64_t nblocks = (uint64_t)1 << (prefix - pool.prefix);
        size_t free_blocks = 0;
        for (uint64_t k = 0; k < nblocks; k++) {
            struct ipv4_cidr c = {pool.addr + (uint32_t)(k << (32 - prefix)), prefix};
            int clash = 0;
            for (size_t t = 0; t < ntaken; t++)
                clash |= ipv4_cidr_overlaps(&c, &taken[t]);
            free_blocks += !clash;
        }

        runs++;
        int rc = subnet_alloc(&pool, prefix, taken, ntaken, start, count, out, NULL);
        if ((rc == 0) != (free_blocks >= count)) {
            bad++;
            printf("# iter %d: rc %d with %zu free, %zu wanted\n", iter, rc, free_blocks, count);
            continue;
        }
        if (rc) {
            refused++;
            continue;
        }
        for (size_t k = 0; k < count; k++) {
            int good = out[k].prefix == prefix && ipv4_cidr_overlaps(&out[k], &pool) &&
                       (out[k].addr & ~(0xffffffffu << (32 - prefix))) == 0 &&
                       ipv4_cidr_contains(&pool, out[k].addr);
            for (size_t t = 0; t < ntaken; t++)
                good &= !ipv4_cidr_overlaps(&out[k], &taken[t]);
            for (size_t m = 0; m < k; m++)
                good &= !ipv4_cidr_overlaps(&out[k], &out[m]);
            if (!good) {
                bad++;
                printf("# iter %d: block %zu wrong\n", iter, k);
                break;
            }
        }
    }
    ok(bad == 0, "alloc property holds over %d runs (%d refused as exhausted)", runs, refused);
}

int main(void)
{
    check_host();
    check_alloc();
    check_alloc_property();
    return tap_done();
}
