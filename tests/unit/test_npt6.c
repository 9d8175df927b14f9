/* test_npt6.c - TAP tests for core/npt6: the checksum-neutral outside /64 of a LAN /64
 * (RFC 6296), and proof by a real UDP checksum: the same datagram summed with the inside
 * and with the translated source address gives the same checksum. */
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "core/npt6.h"
#include "tap.h"

static struct ipv6_cidr P(const char *s) {
    struct ipv6_cidr c;
    memset(&c, 0, sizeof c);
    if (ipv6_parse_cidr(s, &c, 0, NULL))
        printf("# test bug: bad prefix literal %s\n", s);
    return c;
}

struct row {
    const char *inside, *outside;
    const char *want; /* NULL: an error containing err_has */
    const char *err_has;
};

static const struct row rows[] = {
    {"2001:db8:5:1::/64", "2001:db8:77::/48", "2001:db8:77:ff8e::/64", NULL},
    {"2001:db8:5:1::/64", "2001:db8:77:ff8e::/64", "2001:db8:77:ff8e::/64", NULL},
    {"2001:db8:5:2::/64", "2001:db8:77::/48", "2001:db8:77:ff8f::/64", NULL},
    {"2001:db8:5::/64", "2001:db8:5::/48", NULL, "overlaps the LAN prefix"},
    {"2001:db8:5:1::/64", "2001:db8:77:1::/64", NULL, "2001:db8:77:ff8e::/64 is, or give a /48"},
    {"2001:db8:5:1::/64", "2001:db8:5::/48", NULL, "overlaps the LAN prefix"},
    {"2001:db8:5:1::/64", "2001:db8:77::/56", NULL, "give a /48"},
    {"2001:db8:5::/48", "2001:db8:77::/48", NULL, "is not a /64"},
    {"fd00:1:2:3::/64", "2001:db8:ab::/48", NULL, NULL},
};

/* the UDP checksum of an 8-byte header plus payload, over the IPv6 pseudo-header */
static unsigned udp_sum(const struct ipv6_addr *src, const struct ipv6_addr *dst,
                        const unsigned char *udp, size_t len)
{
    unsigned long s = 0;
    for (int i = 0; i < 16; i += 2)
        s +=
            (unsigned)(src->b[i] << 8 | src->b[i + 1]) + (unsigned)(dst->b[i] << 8 | dst->b[i + 1]);
    s += len + 17;
    for (size_t i = 0; i < len; i += 2)
        s += (unsigned)(udp[i] << 8 | (i + 1 < len ? udp[i + 1] : 0));
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (unsigned)(~s & 0xffff);
}

int main(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        struct ipv6_cidr in = P(r->inside), out = P(r->outside), got;
        struct nt_err err = {0};
        char buf[IPV6_CIDR_TEXT_MAX];
        int rc = npt6_outside(&in, &out, &got, &err);
        if (r->want) {
            is_int(rc, 0, "%s with %s: a neutral /64", r->inside, r->outside);
            ipv6_format_cidr(&got, buf, sizeof buf);
            is_str(buf, r->want, "%s -> %s", r->inside, r->want);
        } else if (r->err_has) {
            ok(rc < 0 && strstr(err.msg, r->err_has), "%s with %s refused: %s", r->inside,
               r->outside, err.msg);
        } else {
            is_int(rc, 0, "%s with %s: a neutral /64", r->inside, r->outside);
        }
        if (rc == 0) {
            /* a host of the LAN and its translation: same suffix, same UDP checksum */
            struct ipv6_addr a = in.addr, b = got.addr, peer;
            const unsigned char udp[] = {0x9c, 0x40, 0x0f, 0xa0, 0x00, 0x0d, 0x00,
                                         0x00, 'h',  'e',  'l',  'l',  'o'};
            ipv6_parse("2001:db8:99::2", &peer);
            a.b[15] = b.b[15] = 0x05;
            a.b[9] = b.b[9] = 0x42;
            ok(npt6_neutral(&in.addr, &got.addr), "%s and %s have equal sums", r->inside, buf);
            is_int(udp_sum(&b, &peer, udp, sizeof udp), udp_sum(&a, &peer, udp, sizeof udp),
                   "a UDP datagram's checksum is the same from the inside and translated address");
            ok(memcmp(a.b + 8, b.b + 8, 8) == 0, "the suffix is untouched");
        }
    }
    {
        struct ipv6_addr x;
        ipv6_parse("2001:db8:5:1::", &x);
        ok(npt6_bits(&x) == 0x20010db800050001ull, "npt6_bits: the prefix's 64 bits");
    }
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}
