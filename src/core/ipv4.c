/* ipv4.c - strict IPv4 address and CIDR parsing, formatting and arithmetic (ipv4.h). */
#include "core/ipv4.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"

/* One decimal number of 1..maxdig digits, no leading zero, at most max. Advances *i. */
static int number(const char *s, size_t n, size_t *i, unsigned maxdig, unsigned max, unsigned *out)
{
    size_t start = *i;
    unsigned v = 0;

    while (*i < n && s[*i] >= '0' && s[*i] <= '9' && *i - start < maxdig)
        v = v * 10 + (unsigned)(s[(*i)++] - '0');
    if (*i == start || (s[start] == '0' && *i - start > 1) || v > max)
        return -1;
    *out = v;
    return 0;
}

int ipv4_parse_n(const char *s, size_t n, uint32_t *out)
{
    uint32_t ip = 0;
    size_t i = 0;

    if (!s)
        return -1;
    for (int k = 0; k < 4; k++) {
        unsigned v;
        if (k > 0 && (i >= n || s[i++] != '.'))
            return -1;
        if (number(s, n, &i, 3, 255, &v))
            return -1;
        ip = ip << 8 | v;
    }
    if (i != n)
        return -1;
    *out = ip;
    return 0;
}

int ipv4_parse(const char *s, uint32_t *out)
{
    return s ? ipv4_parse_n(s, strlen(s), out) : -1;
}

int ipv4_parse_cidr(const char *s, struct ipv4_cidr *out, int loose, struct nt_err *err)
{
    const char *op = "parse subnet", *slash;
    uint32_t addr;
    unsigned prefix;
    size_t i = 0, n;

    if (!s)
        s = "";
    slash = strchr(s, '/');
    if (!slash) {
        nt_err_set(err, NT_EINVAL, op, "'%s' is not a.b.c.d/n", s);
        return -IPV4_ENOSLASH;
    }
    if (ipv4_parse_n(s, (size_t)(slash - s), &addr)) {
        nt_err_set(err, NT_EINVAL, op, "'%s': bad address (want a.b.c.d/n)", s);
        return -IPV4_EADDR;
    }
    n = strlen(slash + 1);
    if (number(slash + 1, n, &i, 2, 32, &prefix) || i != n) {
        nt_err_set(err, NT_EINVAL, op, "'%s': bad prefix length (want 0..32)", s);
        return -IPV4_EPREFIX;
    }
    if (addr & ~ipv4_mask((int)prefix)) {
        if (!loose) {
            out->addr = addr;
            out->prefix = (int)prefix;
            nt_err_set(err, NT_EINVAL, op, "'%s' has host bits set", s);
            return -IPV4_EHOSTBITS;
        }
        addr &= ipv4_mask((int)prefix);
    }
    out->addr = addr;
    out->prefix = (int)prefix;
    return 0;
}

void ipv4_format(uint32_t ip, char *out, size_t cap)
{
    snprintf(out, cap, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
}

void ipv4_format_cidr(const struct ipv4_cidr *c, char *out, size_t cap)
{
    char ip[16];
    ipv4_format(c->addr, ip, sizeof ip);
    snprintf(out, cap, "%s/%d", ip, c->prefix);
}

uint32_t ipv4_mask(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : 0xffffffffu << (32 - prefix);
}

int ipv4_cidr_overlaps(const struct ipv4_cidr *a, const struct ipv4_cidr *b)
{
    int p = a->prefix < b->prefix ? a->prefix : b->prefix;
    return ((a->addr ^ b->addr) & ipv4_mask(p)) == 0;
}

int ipv4_cidr_contains(const struct ipv4_cidr *c, uint32_t ip)
{
    return ((ip ^ c->addr) & ipv4_mask(c->prefix)) == 0;
}
