/* test_ipv6.c - TAP tests for core/ipv6, the one IPv6 parser: RFC 4291 text (one "::", a
 * dotted quad at the end, 1..4 hex digits a group), every refusal, RFC 5952 canonical
 * formatting, prefixes with the reason for each refusal, overlap, containment, host
 * numbering and block allocation. Each accepted address is checked against inet_pton. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/ipv6.h"
#include "tap.h"

struct addr_row {
    const char *in;
    const char *want; /* canonical text; NULL: refused */
};

static const struct addr_row addr_rows[] = {
    {"::", "::"},
    {"::1", "::1"},
    {"1::", "1::"},
    {"2001:db8::1", "2001:db8::1"},
    {"2001:DB8::A", "2001:db8::a"},
    {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
    {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},    /* the first of two equal runs */
    {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},          /* the longest run */
    {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"}, /* one zero group is not "::" */
    {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
    {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
    {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
    {"::ffff:10.1.2.3", "::ffff:a01:203"},
    {"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
    {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
    {"fe80::1:2", "fe80::1:2"},
    {"", NULL},
    {":", NULL},
    {":::", NULL},
    {"1:::2", NULL},
    {"::1::", NULL},
    {"1::2::3", NULL},
    {":1::", NULL},
    {"1::2:", NULL},
    {"1:", NULL},
    {"12345::", NULL},
    {"g::", NULL},
    {"1:2:3:4:5:6:7", NULL},
    {"1:2:3:4:5:6:7:8:9", NULL},
    {"1:2:3:4::5:6:7:8", NULL}, /* "::" must stand for at least one group */
    {"::1.2.3", NULL},
    {"::1.2.3.04", NULL},
    {"::256.1.1.1", NULL},
    {"1.2.3.4::", NULL},
    {"::1.2.3.4:5", NULL},
    {"1:2:3:4:5:6:7:1.2.3.4", NULL},
    {"fe80::1%eth0", NULL},
    {"[::1]", NULL},
    {" ::1", NULL},
    {"::1 ", NULL},
    {"10.1.2.3", NULL},
    {"0x1::", NULL},
    {"-1::", NULL},
};

static void check_addrs(void)
{
    for (size_t i = 0; i < sizeof addr_rows / sizeof addr_rows[0]; i++) {
        const struct addr_row *r = &addr_rows[i];
        struct ipv6_addr a;
        struct in6_addr p;
        char out[IPV6_TEXT_MAX];
        int rc = ipv6_parse(r->in, &a);
        int prc = inet_pton(AF_INET6, r->in, &p) == 1;
        if (!r->want) {
            ok(rc == -1, "'%s' refused", r->in);
            ok(!prc, "'%s' refused by inet_pton too", r->in);
            continue;
        }
        ok(rc == 0, "'%s' parses", r->in);
        ok(prc && memcmp(p.s6_addr, a.b, 16) == 0, "'%s': the bytes inet_pton reads", r->in);
        ipv6_format(&a, out, sizeof out);
        is_str(out, r->want, "'%s' formats canonically", r->in);
    }
    struct ipv6_addr a;
    is_int(ipv6_parse(NULL, &a), -1, "NULL refused");
    is_int(ipv6_parse_n("2001:db8::1/64", 11, &a), 0, "parse_n stops at n bytes");
}

struct cidr_row {
    const char *in;
    int loose;
    const char *want;
    enum ipv6_status why;
};

static const struct cidr_row cidr_rows[] = {
    {"2001:db8::/32", 0, "2001:db8::/32", IPV6_OK},
    {"2001:db8:1:2::/64", 0, "2001:db8:1:2::/64", IPV6_OK},
    {"::/0", 0, "::/0", IPV6_OK},
    {"::1/128", 0, "::1/128", IPV6_OK},
    {"64:ff9b::/96", 0, "64:ff9b::/96", IPV6_OK},
    {"2001:db8::1/64", 0, NULL, IPV6_EHOSTBITS},
    {"2001:db8::1/64", 1, "2001:db8::/64", IPV6_OK},
    {"2001:db8:ffff::/33", 1, "2001:db8:8000::/33", IPV6_OK},
    {"2001:db8::/129", 0, NULL, IPV6_EPREFIX},
    {"2001:db8::/064", 0, NULL, IPV6_EPREFIX},
    {"2001:db8::/", 0, NULL, IPV6_EPREFIX},
    {"2001:db8::/6x", 0, NULL, IPV6_EPREFIX},
    {"2001:db8::/-1", 0, NULL, IPV6_EPREFIX},
    {"2001:db8::/1000", 0, NULL, IPV6_EPREFIX},
    {"2001:db8::", 0, NULL, IPV6_ENOSLASH},
    {"2001:db8:::/48", 0, NULL, IPV6_EADDR},
    {"10.0.0.0/8", 0, NULL, IPV6_EADDR},
    {"/64", 0, NULL, IPV6_EADDR},
    {"", 0, NULL, IPV6_ENOSLASH},
};

static void check_cidrs(void)
{
    for (size_t i = 0; i < sizeof cidr_rows / sizeof cidr_rows[0]; i++) {
        const struct cidr_row *r = &cidr_rows[i];
        struct ipv6_cidr c;
        struct nt_err err;
        char out[IPV6_CIDR_TEXT_MAX];
        memset(&err, 0, sizeof err);
        int rc = ipv6_parse_cidr(r->in, &c, r->loose, &err);
        is_int(rc, -(int)r->why, "'%s' (loose %d): status", r->in, r->loose);
        if (r->want) {
            ipv6_format_cidr(&c, out, sizeof out);
            is_str(out, r->want, "'%s' formats", r->in);
        } else {
            ok(err.code == NT_EINVAL && strstr(err.msg, r->in) != NULL, "'%s': einval naming it",
               r->in);
        }
    }
}

static struct ipv6_cidr P(const char *s) {
    struct ipv6_cidr c;
    if (ipv6_parse_cidr(s, &c, 0, NULL))
        abort();
    return c;
}

static void
check_arith(void)
{
    struct ipv6_cidr a = P("2001:db8:1::/48"), b = P("2001:db8:1:5::/64"), d = P("2001:db8:2::/48");
    struct ipv6_addr x;
    char out[IPV6_CIDR_TEXT_MAX];

    ok(ipv6_cidr_overlaps(&a, &b) && ipv6_cidr_overlaps(&b, &a), "a /64 inside a /48 overlaps");
    ok(!ipv6_cidr_overlaps(&a, &d), "neighbouring /48s do not");
    ipv6_parse("2001:db8:1:5::fe", &x);
    ok(ipv6_cidr_contains(&b, &x) && !ipv6_cidr_contains(&d, &x), "contains");
    is_int(ipv6_host(&b, 254, &x), 0, "host 254");
    ipv6_format(&x, out, sizeof out);
    is_str(out, "2001:db8:1:5::fe", "host 254 of a /64");
    is_int(ipv6_host(&b, 1000, &x), 0, "host 1000");
    ipv6_format(&x, out, sizeof out);
    is_str(out, "2001:db8:1:5::3e8", "host 1000 of a /64");
    struct ipv6_cidr small = P("2001:db8::/120");
    is_int(ipv6_host(&small, 256, &x), -1, "host 256 does not fit a /120");
    is_int(ipv6_host(&small, 0, &x), -1, "host 0 is no host");

    /* allocation: /48 blocks of 2001:db8::/32, from an offset, around what is taken */
    struct ipv6_cidr pool = P("2001:db8::/32"), out3[3];
    struct ipv6_cidr taken[] = {P("2001:db8:5::/64"), P("2001:db8:7::/48"), P("2001:db8:7::/48")};
    struct nt_err err = {0};
    is_int(ipv6_subnet_alloc(&pool, 48, taken, 2, 5, 3, out3, &err), 0, "three /48s");
    ipv6_format_cidr(&out3[0], out, sizeof out);
    is_str(out, "2001:db8:6::/48", "block 5 is taken by a /64 inside it: 6");
    ipv6_format_cidr(&out3[1], out, sizeof out);
    is_str(out, "2001:db8:8::/48", "block 7 is taken whole: 8");
    ipv6_format_cidr(&out3[2], out, sizeof out);
    is_str(out, "2001:db8:9::/48", "then 9");
    is_int(ipv6_subnet_alloc(&pool, 48, taken, 2, 65535, 2, out3, &err), 0, "wraps");
    ipv6_format_cidr(&out3[1], out, sizeof out);
    is_str(out, "2001:db8::/48", "after the last block comes the first");
    struct ipv6_cidr whole = P("2001:db8::/32");
    memset(&err, 0, sizeof err);
    is_int(ipv6_subnet_alloc(&pool, 48, &whole, 1, 0, 1, out3, &err), -1, "a full pool");
    ok(err.code == NT_LIMIT && strstr(err.msg, "2001:db8::/32"), "names the pool: %s", err.msg);
    is_int(ipv6_subnet_alloc(&pool, 32, NULL, 0, 0, 1, out3, &err), -1, "a /32 block of a /32");
}

int main(void)
{
    check_addrs();
    check_cidrs();
    check_arith();
    return tap_done();
}
