/* ipv4.h - the one IPv4 address and CIDR parser/formatter of natrig. Pure.
 * Strict on purpose: exactly four decimal octets 0..255, no leading zeros ("010" reads
 * as octal to inet_aton and as ten to strtol, so natrig refuses it), no signs, spaces or
 * trailing bytes; a prefix is 0..32 in decimal without leading zeros. Addresses are host
 * byte order. Functions borrow their inputs. */
#ifndef NT_IPV4_H
#define NT_IPV4_H
#include <stddef.h>
#include <stdint.h>

struct nt_err;

/* An IPv4 subnet: addr in host byte order, prefix 0..32. */
struct ipv4_cidr {
    uint32_t addr;
    int prefix;
};

/* Why a CIDR did not parse (ipv4_parse_cidr returns one of these, negated). */
enum ipv4_status {
    IPV4_OK = 0,
    IPV4_ENOSLASH = 1, /* no '/' */
    IPV4_EADDR = 2,    /* the address part is not a strict dotted quad */
    IPV4_EPREFIX = 3,  /* the prefix is not 0..32 */
    IPV4_EHOSTBITS = 4 /* host bits set (strict mode); *out holds what was read */
};

/* "a.b.c.d" (n bytes, no NUL needed) into *out. Returns 0, or -1 with *out untouched. */
int ipv4_parse_n(const char *s, size_t n, uint32_t *out);
/* The same for a NUL-terminated string (NULL is refused). */
int ipv4_parse(const char *s, uint32_t *out);
/* "a.b.c.d/n". With loose set, host bits are cleared instead of refused. Returns 0, or
 * -IPV4_E* with err (may be NULL) filled: op "parse subnet", a message naming s. On
 * IPV4_EHOSTBITS *out holds the address and prefix as written; otherwise untouched. */
int ipv4_parse_cidr(const char *s, struct ipv4_cidr *out, int loose, struct nt_err *err);

/* "a.b.c.d" into out (16 bytes always fit); truncated to cap like snprintf. */
void ipv4_format(uint32_t ip, char *out, size_t cap);
/* "a.b.c.d/n" into out (19 bytes always fit). */
void ipv4_format_cidr(const struct ipv4_cidr *c, char *out, size_t cap);

/* The netmask of a prefix (0..32). */
uint32_t ipv4_mask(int prefix);
int ipv4_cidr_overlaps(const struct ipv4_cidr *a, const struct ipv4_cidr *b);
int ipv4_cidr_contains(const struct ipv4_cidr *c, uint32_t ip);
#endif
