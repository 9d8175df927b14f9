/* ipv6.c - strict IPv6 address and CIDR parsing, formatting and arithmetic (ipv6.h). */
#include "core/ipv6.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "core/ipv4.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ipv6_parse_n(const char *s, size_t n, struct ipv6_addr *out)
{
    uint16_t g[8];
    int ng = 0, gap = -1; /* gap: index in g where "::" stands */
    size_t i = 0;

    if (!s || n < 2)
        return -1;
    if (s[0] == ':') {
        if (s[1] != ':')
            return -1;
        gap = 0;
        i = 2;
        if (i == n)
            goto done;
    }
    for (;;) {
        size_t start = i;
        unsigned v = 0;
        /* A dotted quad may stand for the last two groups. */
        size_t j = i;
        while (j < n && s[j] != ':' && s[j] != '.')
            j++;
        if (j < n && s[j] == '.') {
            uint32_t ip4;
            if (ng > 6 || ipv4_parse_n(s + i, n - i, &ip4))
                return -1;
            g[ng++] = (uint16_t)(ip4 >> 16);
            g[ng++] = (uint16_t)(ip4 & 0xffff);
            break;
        }
        while (i < n && i - start < 4 && hexval(s[i]) >= 0)
            v = v << 4 | (unsigned)hexval(s[i++]);
        if (i == start || ng == 8)
            return -1;
        g[ng++] = (uint16_t)v;
        if (i == n)
            break;
        if (s[i] != ':')
            return -1;
        i++;
        if (i < n && s[i] == ':') {
            if (gap >= 0)
                return -1;
            gap = ng;
            i++;
            if (i == n)
                break;
        } else if (i == n) {
            return -1; /* a single trailing ':' */
        }
    }
done:
    if ((gap < 0 && ng != 8) || (gap >= 0 && ng > 7))
        return -1;
    memset(out->b, 0, sizeof out->b);
    {
        int tail = gap < 0 ? 0 : ng - gap, k;
        int head = gap < 0 ? ng : gap;
        for (k = 0; k < head; k++) {
            out->b[2 * k] = (uint8_t)(g[k] >> 8);
            out->b[2 * k + 1] = (uint8_t)g[k];
        }
        for (k = 0; k < tail; k++) {
            int at = 8 - tail + k;
            out->b[2 * at] = (uint8_t)(g[head + k] >> 8);
            out->b[2 * at + 1] = (uint8_t)g[head + k];
        }
    }
    return 0;
}

int ipv6_parse(const char *s, struct ipv6_addr *out)
{
    return s ? ipv6_parse_n(s, strlen(s), out) : -1;
}

static int has_host_bits(const struct ipv6_addr *a, int prefix)
{
    struct ipv6_addr m = ipv6_masked(a, prefix);
    return !ipv6_equal(&m, a);
}

int ipv6_parse_cidr(const char *s, struct ipv6_cidr *out, int loose, struct nt_err *err)
{
    const char *op = "parse subnet", *slash;
    struct ipv6_addr a;
    unsigned prefix = 0;
    size_t n, i;

    if (!s)
        s = "";
    slash = strchr(s, '/');
    if (!slash) {
        nt_err_set(err, NT_EINVAL, op, "'%s' is not an IPv6 prefix addr/n", s);
        return -IPV6_ENOSLASH;
    }
    if (ipv6_parse_n(s, (size_t)(slash - s), &a)) {
        nt_err_set(err, NT_EINVAL, op, "'%s': bad IPv6 address (want e.g. 2001:db8::/64)", s);
        return -IPV6_EADDR;
    }
    n = strlen(slash + 1);
    for (i = 0; i < n && i < 3 && slash[1 + i] >= '0' && slash[1 + i] <= '9'; i++)
        prefix = prefix * 10 + (unsigned)(slash[1 + i] - '0');
    if (i == 0 || i != n || (slash[1] == '0' && n > 1) || prefix > 128) {
        nt_err_set(err, NT_EINVAL, op, "'%s': bad prefix length (want 0..128)", s);
        return -IPV6_EPREFIX;
    }
    if (has_host_bits(&a, (int)prefix)) {
        if (!loose) {
            out->addr = a;
            out->prefix = (int)prefix;
            nt_err_set(err, NT_EINVAL, op, "'%s' has host bits set", s);
            return -IPV6_EHOSTBITS;
        }
        a = ipv6_masked(&a, (int)prefix);
    }
    out->addr = a;
    out->prefix = (int)prefix;
    return 0;
}

void ipv6_format(const struct ipv6_addr *a, char *out, size_t cap)
{
    char buf[IPV6_TEXT_MAX];
    unsigned g[8];
    int best = -1, bestlen = 0, k, p = 0;

    for (k = 0; k < 8; k++)
        g[k] = (unsigned)a->b[2 * k] << 8 | a->b[2 * k + 1];
    for (k = 0; k < 8;) { /* the longest run of zero groups, two or more (RFC 5952 4.2) */
        int e = k;
        while (e < 8 && g[e] == 0)
            e++;
        if (e - k > bestlen && e - k >= 2) {
            best = k;
            bestlen = e - k;
        }
        k = e > k ? e : k + 1;
    }
    for (k = 0; k < 8; k++) {
        if (k == best) {
            p += snprintf(buf + p, sizeof buf - (size_t)p, "::");
            k += bestlen - 1;
            continue;
        }
        p += snprintf(buf + p, sizeof buf - (size_t)p, "%s%x",
                      k > 0 && k != best + bestlen ? ":" : "", g[k]);
    }
    snprintf(out, cap, "%s", buf);
}

void ipv6_format_cidr(const struct ipv6_cidr *c, char *out, size_t cap)
{
    char ip[IPV6_TEXT_MAX];
    ipv6_format(&c->addr, ip, sizeof ip);
    snprintf(out, cap, "%s/%d", ip, c->prefix);
}

struct ipv6_addr ipv6_masked(const struct ipv6_addr *a, int prefix)
{
    struct ipv6_addr m = *a;
    for (int k = 0; k < 16; k++) {
        int keep = prefix - 8 * k;
        if (keep <= 0)
            m.b[k] = 0;
        else if (keep < 8)
            m.b[k] &= (uint8_t)(0xff << (8 - keep));
    }
    return m;
}

int ipv6_equal(const struct ipv6_addr *a, const struct ipv6_addr *b)
{
    return memcmp(a->b, b->b, 16) == 0;
}

int ipv6_cidr_overlaps(const struct ipv6_cidr *a, const struct ipv6_cidr *b)
{
    int p = a->prefix < b->prefix ? a->prefix : b->prefix;
    struct ipv6_addr x = ipv6_masked(&a->addr, p), y = ipv6_masked(&b->addr, p);
    return ipv6_equal(&x, &y);
}

int ipv6_cidr_contains(const struct ipv6_cidr *c, const struct ipv6_addr *a)
{
    struct ipv6_addr x = ipv6_masked(a, c->prefix), y = ipv6_masked(&c->addr, c->prefix);
    return ipv6_equal(&x, &y);
}

/* a + (v << shift) over the 128 bits (wrapping). */
static void add_shifted(struct ipv6_addr *a, uint64_t v, int shift)
{
    unsigned carry = 0;
    for (int bit = 0; bit < 128; bit += 8) {
        int byte = 15 - bit / 8;
        unsigned add = 0;
        if (bit + 8 > shift && bit < shift + 64) {
            int rel = bit - shift; /* which bits of v land in this byte */
            add = rel >= 0 ? (unsigned)(v >> rel) & 0xff : (unsigned)(v << -rel) & 0xff;
        }
        unsigned sum = a->b[byte] + add + carry;
        a->b[byte] = (uint8_t)sum;
        carry = sum >> 8;
    }
}

int ipv6_host(const struct ipv6_cidr *c, uint64_t n, struct ipv6_addr *out)
{
    int hostbits = 128 - c->prefix;
    if (n == 0 || (hostbits < 64 && n >> hostbits != 0))
        return -1;
    *out = ipv6_masked(&c->addr, c->prefix);
    add_shifted(out, n, 0);
    return 0;
}

int ipv6_subnet_alloc(const struct ipv6_cidr *pool, int prefix, const struct ipv6_cidr *taken,
                      size_t ntaken, uint64_t start, size_t count, struct ipv6_cidr *out,
                      struct nt_err *err)
{
    const char *op = "allocate subnets";
    int bits = prefix - pool->prefix;
    uint64_t nblocks, scanned = 0;
    size_t got = 0;

    if (bits < 1 || bits > 62 || prefix > 128)
        return nt_err_set(err, NT_EINVAL, op, "/%d blocks do not fit a /%d pool", prefix,
                          pool->prefix);
    nblocks = (uint64_t)1 << bits;
    /* A taken subnet no bigger than a block rules out one block, so a free one is near; a
     * bigger one may rule out many, hence the slack before giving up. */
    for (uint64_t i = 0; i < nblocks && got < count; i++, scanned++) {
        struct ipv6_cidr c = {ipv6_masked(&pool->addr, pool->prefix), prefix};
        int clash = 0;
        add_shifted(&c.addr, (start + i) % nblocks, 128 - prefix);
        for (size_t t = 0; t < ntaken && !clash; t++)
            clash = ipv6_cidr_overlaps(&c, &taken[t]);
        for (size_t t = 0; t < got && !clash; t++)
            clash = ipv6_cidr_overlaps(&c, &out[t]);
        if (!clash)
            out[got++] = c;
        if (scanned > ntaken + count + 65536)
            break;
    }
    if (got < count) {
        char p[IPV6_CIDR_TEXT_MAX];
        ipv6_format_cidr(pool, p, sizeof p);
        return nt_err_set(err, NT_LIMIT, op,
                          "only %zu free /%d blocks found in %s, %zu needed: remove stale "
                          "networks (`natrig clean`) or choose another pool",
                          got, prefix, p, count);
    }
    return 0;
}
