/* npt6.c - NPTv6 (RFC 6296) checksum-neutral prefix arithmetic (npt6.h). Pure. */
#include "core/npt6.h"

#define OP "npt6"

static uint16_t word(const struct ipv6_addr *a, int i)
{
    return (uint16_t)(a->b[2 * i] << 8 | a->b[2 * i + 1]);
}

static uint16_t ones_add(uint16_t x, uint16_t y)
{
    uint32_t s = (uint32_t)x + y;
    return (uint16_t)((s & 0xffffu) + (s >> 16));
}

uint16_t npt6_sum64(const struct ipv6_addr *a)
{
    uint16_t s = 0;
    for (int i = 0; i < 4; i++)
        s = ones_add(s, word(a, i));
    return s;
}

/* one's complement: 0xffff and 0 are both zero */
static uint16_t canon(uint16_t x)
{
    return x == 0xffffu ? 0 : x;
}

int npt6_neutral(const struct ipv6_addr *a, const struct ipv6_addr *b)
{
    return canon(npt6_sum64(a)) == canon(npt6_sum64(b));
}

uint64_t npt6_bits(const struct ipv6_addr *a)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | a->b[i];
    return v;
}

int npt6_outside(const struct ipv6_cidr *inside, const struct ipv6_cidr *outside,
                 struct ipv6_cidr *out, struct nt_err *err)
{
    char in[IPV6_CIDR_TEXT_MAX], o[IPV6_CIDR_TEXT_MAX], alt[IPV6_CIDR_TEXT_MAX];
    struct ipv6_cidr c = *outside, s48;
    uint16_t w;

    ipv6_format_cidr(inside, in, sizeof in);
    ipv6_format_cidr(outside, o, sizeof o);
    if (inside->prefix != 64)
        return nt_err_set(err, NT_EINVAL, OP, "the LAN prefix %s is not a /64", in);
    if (outside->prefix != 48 && outside->prefix != 64)
        return nt_err_set(err, NT_EINVAL, OP,
                          "%s: give a /48 (natrig picks the checksum-neutral /64 in it) or a "
                          "checksum-neutral /64",
                          o);
    if (ipv6_cidr_overlaps(inside, outside))
        return nt_err_set(err, NT_EINVAL, OP, "%s overlaps the LAN prefix %s: give another", o, in);
    /* word 3 makes the sums equal: w = sum(inside) - sum(outside's first three words) */
    s48 = (struct ipv6_cidr){ipv6_masked(&outside->addr, 48), 48};
    w = ones_add(npt6_sum64(&inside->addr), (uint16_t)~npt6_sum64(&s48.addr));
    if (w == 0xffffu) /* RFC 6296 3.2: 0xFFFF is written as 0x0000 */
        w = 0;
    if (outside->prefix == 48) {
        c.addr = s48.addr;
        c.addr.b[6] = (uint8_t)(w >> 8);
        c.addr.b[7] = (uint8_t)(w & 0xff);
        c.prefix = 64;
        if (ipv6_cidr_overlaps(inside, &c))
            return nt_err_set(err, NT_EINVAL, OP,
                              "the neutral /64 of %s is the LAN prefix %s itself: give another", o,
                              in);
    } else if (!npt6_neutral(&inside->addr, &outside->addr)) {
        s48.addr.b[6] = (uint8_t)(w >> 8);
        s48.addr.b[7] = (uint8_t)(w & 0xff);
        s48.prefix = 64;
        ipv6_format_cidr(&s48, alt, sizeof alt);
        return nt_err_set(err, NT_EINVAL, OP,
                          "%s is not checksum-neutral with the LAN prefix %s (RFC 6296 3.1: "
                          "the suffix would have to change); %s is, or give a /48",
                          o, in, alt);
    }
    *out = c;
    return 0;
}
