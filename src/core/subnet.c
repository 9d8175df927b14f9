/* subnet.c - IPv4 host numbering and block allocation (core/ipv4 does the parsing). */
#include "core/subnet.h"

#include "base/err.h"

int subnet_host(const struct ipv4_cidr *s, uint32_t n, uint32_t *ip)
{
    uint64_t size = (uint64_t)1 << (32 - s->prefix);
    /* /31 and /32 have no network/broadcast addresses to skip; natrig never uses them. */
    if (s->prefix > 30 || n == 0 || n >= size - 1)
        return -1;
    *ip = s->addr + n;
    return 0;
}

int subnet_alloc(const struct ipv4_cidr *pool, int prefix, const struct ipv4_cidr *taken,
                 size_t ntaken, uint32_t start, size_t count, struct ipv4_cidr *out,
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
        uint32_t off = (uint32_t)(((start + i) % nblocks) << (32 - prefix));
        struct ipv4_cidr c = {pool->addr + off, prefix};
        int clash = 0;
        for (size_t t = 0; t < ntaken && !clash; t++)
            clash = ipv4_cidr_overlaps(&c, &taken[t]);
        for (size_t t = 0; t < got && !clash; t++)
            clash = ipv4_cidr_overlaps(&c, &out[t]);
        if (!clash)
            out[got++] = c;
    }
    if (got < count) {
        char p[24];
        ipv4_format_cidr(pool, p, sizeof p);
        return nt_err_set(err, NT_LIMIT, op,
                          "only %zu free /%d blocks left in %s, %zu needed: remove stale "
                          "networks (`natrig clean`) or choose another pool",
                          got, prefix, p, count);
    }
    return 0;
}
