/* subnet.c - IPv4 subnets: parse, format, overlap, allocation. */
#include "core/subnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

static uint32_t mask_of(int prefix)
{
    return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int subnet_parse_ip(const char *s, uint32_t *out, struct nt_err *err)
{
    uint32_t ip = 0;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        char *end;
        long v;
        if (*p < '0' || *p > '9')
            return nt_err_set(err, NT_EINVAL, "parse address", "'%s' is not an IPv4 address", s);
        v = strtol(p, &end, 10);
        if (v > 255 || end - p > 3 || (i < 3 && *end != '.') || (i == 3 && *end))
            return nt_err_set(err, NT_EINVAL, "parse address", "'%s' is not an IPv4 address", s);
        ip = ip << 8 | (uint32_t)v;
        p = end + 1;
    }
    *out = ip;
    return 0;
}

int subnet_parse(const char *s, struct subnet *out, int loose, struct nt_err *err)
{
    char ip[32];
    const char *slash = strchr(s, '/');
    char *end;
    long prefix;
    size_t n;

    if (!slash || (n = (size_t)(slash - s)) >= sizeof ip)
        return nt_err_set(err, NT_EINVAL, "parse subnet", "'%s' is not a.b.c.d/n", s);
    memcpy(ip, s, n);
    ip[n] = '\0';
    if (subnet_parse_ip(ip, &out->addr, err))
        return nt_err_set(err, NT_EINVAL, "parse subnet", "'%s' is not a.b.c.d/n", s);
    /* strtol would take " 8" and "+8": demand a digit first. */
    if (slash[1] < '0' || slash[1] > '9')
        return nt_err_set(err, NT_EINVAL, "parse subnet", "'%s': bad prefix length", s);
    prefix = strtol(slash + 1, &end, 10);
    if (end == slash + 1 || *end || prefix < 0 || prefix > 32)
        return nt_err_set(err, NT_EINVAL, "parse subnet", "'%s': bad prefix length", s);
    out->prefix = (int)prefix;
    if (out->addr & ~mask_of(out->prefix)) {
        if (!loose)
            return nt_err_set(err, NT_EINVAL, "parse subnet", "'%s' has host bits set", s);
        out->addr &= mask_of(out->prefix);
    }
    return 0;
}

void subnet_format_ip(uint32_t ip, char *out, size_t cap)
{
    snprintf(out, cap, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
}

void subnet_format(const struct subnet *s, char *out, size_t cap)
{
    char ip[16];
    subnet_format_ip(s->addr, ip, sizeof ip);
    snprintf(out, cap, "%s/%d", ip, s->prefix);
}

int subnet_overlaps(const struct subnet *a, const struct subnet *b)
{
    int p = a->prefix < b->prefix ? a->prefix : b->prefix;
    return ((a->addr ^ b->addr) & mask_of(p)) == 0;
}

int subnet_contains(const struct subnet *s, uint32_t ip)
{
    return ((ip ^ s->addr) & mask_of(s->prefix)) == 0;
}

int subnet_host(const struct subnet *s, uint32_t n, uint32_t *ip)
{
    uint64_t size = (uint64_t)1 << (32 - s->prefix);
    /* /31 and /32 have no network/broadcast addresses to skip; natrig never uses them. */
    if (s->prefix > 30 || n == 0 || n >= size - 1)
        return -1;
    *ip = s->addr + n;
    return 0;
}

int subnet_alloc(const struct subnet *pool, int prefix, const struct subnet *taken,
                 size_t ntaken, uint32_t start, size_t count, struct subnet *out,
                 struct nt_err *err)
{
    const char *op = "allocate subnets";
    uint64_t nblocks;
    size_t got = 0;

    if (prefix < pool->prefix || prefix > 30)
        return nt_err_set(err, NT_EINVAL, op, "/%d blocks do not fit a /%d pool", prefix,
                          pool->prefix);
    nblocks = (uint64_t)1 << (prefix - pool->prefix);
    for (uint64_t i = 0; i < nblocks && got < count; i++) {
        struct subnet c = {pool->addr + (uint32_t)(((start + i) % nblocks) << (32 - prefix)),
                           prefix};
        int clash = 0;
        for (size_t t = 0; t < ntaken && !clash; t++)
            clash = subnet_overlaps(&c, &taken[t]);
        for (size_t t = 0; t < got && !clash; t++)
            clash = subnet_overlaps(&c, &out[t]);
        if (!clash)
            out[got++] = c;
    }
    if (got < count) {
        char p[24];
        subnet_format(pool, p, sizeof p);
        return nt_err_set(err, NT_LIMIT, op,
                          "only %zu free /%d blocks left in %s, %zu needed: remove stale "
                          "networks (`natrig clean`) or choose another pool",
                          got, prefix, p, count);
    }
    return 0;
}
