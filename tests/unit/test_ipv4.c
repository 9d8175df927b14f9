/* test_ipv4.c - TAP tests for core/ipv4, the one IPv4 parser: strict dotted quads (no
 * leading zeros, no out-of-range octets, no trailing bytes), CIDR parsing with the reason
 * for each refusal, formatting, overlap and containment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/ipv4.h"
#include "tap.h"

#define IP(a, b, c, d)                                                                             \
    ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* --- ipv4_parse_cidr ------------------------------------------------------------------- */

struct parse_row {
    const char *in;
    int loose;
    const char *want; /* formatted result; NULL: must fail with NT_EINVAL */
    enum ipv4_status why;
};

static const struct parse_row parse_rows[] = {
    {"10.0.0.0/8", 0, "10.0.0.0/8", IPV4_OK},
    {"192.168.1.0/24", 0, "192.168.1.0/24", IPV4_OK},
    {"172.16.0.0/12", 0, "172.16.0.0/12", IPV4_OK},
    {"0.0.0.0/0", 0, "0.0.0.0/0", IPV4_OK},
    {"255.255.255.255/32", 0, "255.255.255.255/32", IPV4_OK},
    {"10.1.2.3/32", 0, "10.1.2.3/32", IPV4_OK},
    {"10.1.2.4/30", 0, "10.1.2.4/30", IPV4_OK},
    /* host bits: strict refuses, loose clears them */
    {"10.1.2.3/8", 0, NULL, IPV4_EHOSTBITS},
    {"10.1.2.3/8", 1, "10.0.0.0/8", IPV4_OK},
    {"172.17.0.1/16", 0, NULL, IPV4_EHOSTBITS},
    {"172.17.0.1/16", 1, "172.17.0.0/16", IPV4_OK},
    {"10.1.2.5/30", 1, "10.1.2.4/30", IPV4_OK},
    {"255.255.255.255/0", 1, "0.0.0.0/0", IPV4_OK},
    {"1.2.3.4/0", 0, NULL, IPV4_EHOSTBITS},
    /* bad prefix */
    {"10.0.0.0/33", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0/-1", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0/", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0", 0, NULL, IPV4_ENOSLASH},
    {"10.0.0.0/8x", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0/abc", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0/8/9", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0/999999999999999999999", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0/8 ", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0/ 8", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0/+8", 0, NULL, IPV4_EPREFIX},
    /* bad addresses */
    {"256.0.0.0/8", 0, NULL, IPV4_EADDR},
    {"10.256.0.0/16", 1, NULL, IPV4_EADDR},
    {"1.2.3/24", 0, NULL, IPV4_EADDR},
    {"1.2.3.4.5/32", 0, NULL, IPV4_EADDR},
    {"1.2.3./24", 0, NULL, IPV4_EADDR},
    {"10..0.0/8", 0, NULL, IPV4_EADDR},
    {"1.2.3.1000/32", 0, NULL, IPV4_EADDR},
    {"0001.2.3.4/32", 0, NULL, IPV4_EADDR},
    {"-1.2.3.4/32", 0, NULL, IPV4_EADDR},
    {"1.2.3.-4/32", 0, NULL, IPV4_EADDR},
    {" 10.0.0.0/8", 0, NULL, IPV4_EADDR},
    {"x10.0.0.0/8", 0, NULL, IPV4_EADDR},
    {"10.0.0.0x/8", 0, NULL, IPV4_EADDR},
    {"", 0, NULL, IPV4_ENOSLASH},
    {"/8", 0, NULL, IPV4_EADDR},
    {"a.b.c.d/8", 0, NULL, IPV4_EADDR},
    {"1111111111111111111111111111111.0.0.0/8", 0, NULL, IPV4_EADDR},
    /* strictness: leading zeros read as octal elsewhere, so they are refused everywhere */
    {"10.1.0.010/32", 0, NULL, IPV4_EADDR},
    {"10.01.0.0/16", 0, NULL, IPV4_EADDR},
    {"010.0.0.0/8", 1, NULL, IPV4_EADDR},
    {"10.0.0.00/24", 0, NULL, IPV4_EADDR},
    {"10.0.0.0/08", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0/00", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0/8\n", 0, NULL, IPV4_EPREFIX},
    {"0x0a.0.0.0/8", 0, NULL, IPV4_EADDR},
    {"10.0.0.0/0x8", 0, NULL, IPV4_EPREFIX},
    {"10.0.0.0\n/8", 0, NULL, IPV4_EADDR},
    {"10.0.0.0/24", 0, "10.0.0.0/24", IPV4_OK},
    {"100.64.0.0/10", 0, "100.64.0.0/10", IPV4_OK},
};

static void check_parse(void)
{
    for (size_t i = 0; i < sizeof parse_rows / sizeof parse_rows[0]; i++) {
        const struct parse_row *r = &parse_rows[i];
        struct ipv4_cidr s = {0xdeadbeef, 99};
        struct nt_err err;
        char got[32];

        memset(&err, 0, sizeof err);
        int rc = ipv4_parse_cidr(r->in, &s, r->loose, &err);
        if (r->want) {
            is_int(rc, 0, "parse '%s'%s accepted%s%s", r->in, r->loose ? " (loose)" : "",
                   rc ? ": " : "", err.msg);
            ipv4_format_cidr(&s, got, sizeof got);
            is_str(got, r->want, "parse '%s'%s -> %s", r->in, r->loose ? " (loose)" : "", r->want);
        } else {
            is_int(rc, -(int)r->why, "parse '%s'%s refused (%d)", r->in, r->loose ? " (loose)" : "",
                   r->why);
            ok(rc == 0 || (err.code == NT_EINVAL && strstr(err.msg, r->in) != NULL),
               "parse '%s': einval naming the input (%s)", r->in, err.msg);
        }
    }
}

/* --- ipv4_parse / format ---------------------------------------------------------- */

struct ip_row {
    const char *in;
    int rc;
    uint32_t want;
};

static const struct ip_row ip_rows[] = {
    {"1.2.3.4", 0, IP(1, 2, 3, 4)},
    {"0.0.0.0", 0, 0},
    {"255.255.255.255", 0, 0xffffffffu},
    {"10.0.0.1", 0, IP(10, 0, 0, 1)},
    {"192.168.255.254", 0, IP(192, 168, 255, 254)},
    {"256.1.1.1", -1, 0},
    {"1.2.3.256", -1, 0},
    {"1.2.3", -1, 0},
    {"1.2.3.4.", -1, 0},
    {"1.2.3.4 ", -1, 0},
    {"1.2.3.4/8", -1, 0},
    {"", -1, 0},
    {".1.2.3", -1, 0},
    {"1.2.3.x", -1, 0},
    {"99999999999.1.1.1", -1, 0},
    {"10.1.0.010", -1, 0},
    {"01.2.3.4", -1, 0},
    {"1.2.3.00", -1, 0},
    {"1.02.3.4", -1, 0},
    {"1.2.3.0", 0, IP(1, 2, 3, 0)},
    {"0.0.0.1", 0, 1},
    {"100.200.250.255", 0, IP(100, 200, 250, 255)},
    {"1.2.3.4\n", -1, 0},
    {"0x1.2.3.4", -1, 0},
    {"1.2.3.+4", -1, 0},
    {"1.2.3.4:80", -1, 0},
    {"1 .2.3.4", -1, 0},
    {"1.2.3.4 5", -1, 0},
};

struct fmt_row {
    uint32_t addr;
    int prefix;
    size_t cap;
    const char *want;
};

static const struct fmt_row fmt_rows[] = {
    {IP(10, 0, 0, 0), 8, 32, "10.0.0.0/8"},
    {0, 0, 32, "0.0.0.0/0"},
    {0xffffffffu, 32, 32, "255.255.255.255/32"},
    {IP(192, 168, 1, 128), 25, 32, "192.168.1.128/25"},
    {IP(192, 168, 1, 128), 25, 19, "192.168.1.128/25"},
    {IP(192, 168, 1, 128), 25, 8, "192.168"},
    {IP(10, 0, 0, 0), 8, 1, ""},
};

static void check_ip_and_format(void)
{
    for (size_t i = 0; i < sizeof ip_rows / sizeof ip_rows[0]; i++) {
        const struct ip_row *r = &ip_rows[i];
        uint32_t ip = 0x12345678;
        int rc = ipv4_parse(r->in, &ip);
        is_int(rc, r->rc, "parse '%s' rc %d", r->in, r->rc);
        if (r->rc == 0)
            is_int(ip, r->want, "parse '%s' value", r->in);
        else
            is_int(ip, 0x12345678, "parse '%s': output untouched", r->in);
    }
    for (size_t i = 0; i < sizeof fmt_rows / sizeof fmt_rows[0]; i++) {
        const struct fmt_row *r = &fmt_rows[i];
        struct ipv4_cidr s = {r->addr, r->prefix};
        char *out = malloc(r->cap);
        ipv4_format_cidr(&s, out, r->cap);
        is_str(out, r->want, "format (cap %zu) -> '%s'", r->cap, r->want);
        free(out);
    }
    {
        char out[16];
        ipv4_format(IP(1, 22, 133, 244), out, sizeof out);
        is_str(out, "1.22.133.244", "format_ip");
        ipv4_format(0xffffffffu, out, sizeof out);
        is_str(out, "255.255.255.255", "format_ip fits 16 bytes");
    }
}

/* --- overlaps / contains -------------------------------------------------------------- */

struct pair_row {
    const char *a, *b;
    int want;
};

static const struct pair_row overlap_rows[] = {
    {"10.0.0.0/8", "10.1.0.0/16", 1},        /* nested */
    {"10.1.0.0/16", "10.0.0.0/8", 1},        /* nested, other order */
    {"10.0.0.0/24", "10.0.1.0/24", 0},       /* disjoint neighbours */
    {"10.0.0.0/24", "10.0.0.0/24", 1},       /* equal */
    {"10.0.0.0/25", "10.0.0.128/25", 0},     /* adjacent halves */
    {"10.0.0.0/23", "10.0.1.0/24", 1},       /* second half */
    {"0.0.0.0/0", "192.168.1.0/24", 1},      /* everything */
    {"172.16.0.0/12", "172.32.0.0/16", 0},   /* just past the end */
    {"172.16.0.0/12", "172.31.255.0/24", 1}, /* last /24 inside */
    {"10.0.0.5/32", "10.0.0.0/24", 1},       /* host route */
    {"10.0.0.5/32", "10.0.0.6/32", 0},       {"192.168.0.0/16", "10.0.0.0/8", 0},
};

struct contains_row {
    const char *net;
    const char *ip;
    int want;
};

static const struct contains_row contains_rows[] = {
    {"10.0.0.0/8", "10.255.255.255", 1},    {"10.0.0.0/8", "11.0.0.0", 0},
    {"10.0.0.0/8", "10.0.0.0", 1},          {"10.0.0.0/8", "9.255.255.255", 0},
    {"1.2.3.4/32", "1.2.3.4", 1},           {"1.2.3.4/32", "1.2.3.5", 0},
    {"0.0.0.0/0", "255.255.255.255", 1},    {"192.168.1.0/25", "192.168.1.128", 0},
    {"192.168.1.0/25", "192.168.1.127", 1},
};

static struct ipv4_cidr P(const char *s) {
    struct ipv4_cidr n = {0, 0};
    if (ipv4_parse_cidr(s, &n, 0, NULL))
        printf("# test bug: bad subnet literal %s\n", s);
    return n;
}

static uint32_t
A(const char *s)
{
    uint32_t ip = 0;
    if (ipv4_parse(s, &ip))
        printf("# test bug: bad address literal %s\n", s);
    return ip;
}

static void check_overlaps(void)
{
    for (size_t i = 0; i < sizeof overlap_rows / sizeof overlap_rows[0]; i++) {
        const struct pair_row *r = &overlap_rows[i];
        struct ipv4_cidr a = P(r->a), b = P(r->b);
        is_int(ipv4_cidr_overlaps(&a, &b), r->want, "overlaps(%s, %s) = %d", r->a, r->b, r->want);
        is_int(ipv4_cidr_overlaps(&b, &a), r->want, "overlaps(%s, %s) = %d", r->b, r->a, r->want);
    }
    for (size_t i = 0; i < sizeof contains_rows / sizeof contains_rows[0]; i++) {
        const struct contains_row *r = &contains_rows[i];
        struct ipv4_cidr n = P(r->net);
        is_int(ipv4_cidr_contains(&n, A(r->ip)), r->want, "contains(%s, %s) = %d", r->net, r->ip,
               r->want);
    }
}

/* --- ipv4_parse_n, NULL, mask, the host-bits out value ------------------------------ */

static void check_parse_n(void)
{
    uint32_t ip = 7;
    struct ipv4_cidr c = {0, 0};
    struct nt_err err;

    is_int(ipv4_parse_n("10.1.2.3:80", 8, &ip), 0, "parse_n stops at n bytes");
    is_int(ip, IP(10, 1, 2, 3), "parse_n value");
    is_int(ipv4_parse_n("10.1.2.3", 7, &ip), -1, "parse_n: a cut last octet that ends in '.'");
    is_int(ipv4_parse_n("10.1.2.34", 8, &ip), 0, "parse_n: a cut octet is a shorter octet");
    is_int(ip, IP(10, 1, 2, 3), "parse_n: 8 bytes of 10.1.2.34 are 10.1.2.3");
    is_int(ipv4_parse_n("", 0, &ip), -1, "parse_n: empty");
    is_int(ipv4_parse(NULL, &ip), -1, "parse: NULL refused");
    is_int(ipv4_parse_n(NULL, 4, &ip), -1, "parse_n: NULL refused");
    memset(&err, 0, sizeof err);
    is_int(ipv4_parse_cidr(NULL, &c, 0, &err), -IPV4_ENOSLASH, "parse_cidr: NULL is not a subnet");
    ok(err.code == NT_EINVAL && strcmp(err.op, "parse subnet") == 0, "parse_cidr: einval, op");
    is_int(ipv4_parse_cidr("10.1.2.3/24", &c, 0, NULL), -IPV4_EHOSTBITS, "host bits, no err");
    ok(c.addr == IP(10, 1, 2, 3) && c.prefix == 24, "host bits: out holds what was written");
    is_int(ipv4_mask(0), 0, "mask /0");
    is_int(ipv4_mask(8), 0xff000000u, "mask /8");
    is_int(ipv4_mask(31), 0xfffffffeu, "mask /31");
    is_int(ipv4_mask(32), 0xffffffffu, "mask /32");
}

int main(void)
{
    check_parse();
    check_ip_and_format();
    check_overlaps();
    check_parse_n();
    return tap_done();
}
