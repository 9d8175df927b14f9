/* ipv6.h - the one IPv6 address and CIDR parser/formatter of natrig (beside core/ipv4). Pure.
 * Reads RFC 4291 text: eight groups of 1..4 hex digits, one "::" for a run of zero groups,
 * an optional dotted quad (core/ipv4's strict syntax) as the last 32 bits; no zone ("%eth0"),
 * brackets, spaces or trailing bytes. A prefix is 0..128 in decimal without leading zeros.
 * Formats the RFC 5952 canonical text (lower case, longest run of two or more zero groups
 * as "::", the first when tied; no dotted quad). Functions borrow their inputs. */
#ifndef NT_IPV6_H
#define NT_IPV6_H
#include <stddef.h>
#include <stdint.h>

struct nt_err;

/* An address in network byte order. */
struct ipv6_addr {
    uint8_t b[16];
};

/* An IPv6 subnet: prefix 0..128. */
struct ipv6_cidr {
    struct ipv6_addr addr;
    int prefix;
};

/* Why a CIDR did not parse (ipv6_parse_cidr returns one of these, negated). */
enum ipv6_status {
    IPV6_OK = 0,
    IPV6_ENOSLASH = 1, /* no '/' */
    IPV6_EADDR = 2,    /* the address part is not IPv6 text */
    IPV6_EPREFIX = 3,  /* the prefix is not 0..128 */
    IPV6_EHOSTBITS = 4 /* host bits set (strict mode); *out holds what was read */
};

#define IPV6_TEXT_MAX 40 /* the longest canonical text and its NUL */
#define IPV6_CIDR_TEXT_MAX 44

/* Text of n bytes (no NUL needed) into *out. Returns 0, or -1 with *out untouched. */
int ipv6_parse_n(const char *s, size_t n, struct ipv6_addr *out);
/* The same for a NUL-terminated string (NULL is refused). */
int ipv6_parse(const char *s, struct ipv6_addr *out);
/* "addr/n". With loose set, host bits are cleared instead of refused. Returns 0, or
 * -IPV6_E* with err (may be NULL) filled: op "parse subnet", a message naming s. On
 * IPV6_EHOSTBITS *out holds the address and prefix as written; otherwise untouched. */
int ipv6_parse_cidr(const char *s, struct ipv6_cidr *out, int loose, struct nt_err *err);

/* Canonical text into out (IPV6_TEXT_MAX always fits); truncated to cap like snprintf. */
void ipv6_format(const struct ipv6_addr *a, char *out, size_t cap);
/* "addr/n" into out (IPV6_CIDR_TEXT_MAX always fits). */
void ipv6_format_cidr(const struct ipv6_cidr *c, char *out, size_t cap);

/* a with every bit past prefix cleared. */
struct ipv6_addr ipv6_masked(const struct ipv6_addr *a, int prefix);
int ipv6_equal(const struct ipv6_addr *a, const struct ipv6_addr *b);
int ipv6_cidr_overlaps(const struct ipv6_cidr *a, const struct ipv6_cidr *b);
int ipv6_cidr_contains(const struct ipv6_cidr *c, const struct ipv6_addr *a);

/* The n-th address of c (c's address plus n, n >= 1). -1 when n does not fit c's host bits. */
int ipv6_host(const struct ipv6_cidr *c, uint64_t n, struct ipv6_addr *out);

/* Pick count blocks of size /prefix inside pool that overlap none of taken[] nor each other,
 * scanning from block index start (wrapping), as subnet_alloc does for IPv4. prefix - the
 * pool's prefix must be 1..62 (at most 2^62 blocks to scan from). Returns 0, or -1 with err
 * filled when the pool has fewer free blocks than count. */
int ipv6_subnet_alloc(const struct ipv6_cidr *pool, int prefix, const struct ipv6_cidr *taken,
                      size_t ntaken, uint64_t start, size_t count, struct ipv6_cidr *out,
                      struct nt_err *err);
#endif
