/* fuzz_ipv6.c - libFuzzer target for core/ipv6. The input is an address or a prefix (any
 * bytes). Properties: an address is accepted exactly when glibc's inet_pton(AF_INET6)
 * accepts it, with the same bytes; its canonical text parses back to the same bytes and is
 * what inet_ntop writes (except where inet_ntop writes a dotted quad); a prefix accepted
 * in strict mode formats back to a prefix of the same value, one accepted in loose mode has
 * no host bits, and every refusal is one of the IPV6_E* reasons with an einval message.
 * Built and run by tests/fuzz/run. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/ipv6.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), out[IPV6_CIDR_TEXT_MAX], ref[INET6_ADDRSTRLEN];
    struct in6_addr p;
    struct ipv6_addr a, back;
    struct ipv6_cidr c, l, c2;
    struct nt_err err;
    int nul = memchr(data, 0, size) != NULL;

    memcpy(s, data, size);
    s[size] = '\0';
    int rc = ipv6_parse_n(s, size, &a);
    if (!nul && (rc == 0) != (inet_pton(AF_INET6, s, &p) == 1))
        __builtin_trap();
    if (rc == 0) {
        if (nul || memcmp(a.b, p.s6_addr, 16) != 0)
            __builtin_trap();
        ipv6_format(&a, out, sizeof out);
        if (ipv6_parse(out, &back) || !ipv6_equal(&a, &back))
            __builtin_trap();
        inet_ntop(AF_INET6, &p, ref, sizeof ref);
        if (!strchr(ref, '.') && strcmp(ref, out) != 0)
            __builtin_trap();
    }
    memset(&err, 0, sizeof err);
    rc = ipv6_parse_cidr(s, &c, 0, &err);
    if (rc == 0) {
        ipv6_format_cidr(&c, out, sizeof out);
        if (ipv6_parse_cidr(out, &c2, 0, NULL) || !ipv6_equal(&c.addr, &c2.addr) ||
            c.prefix != c2.prefix)
            __builtin_trap();
    } else if (rc < -IPV6_EHOSTBITS || rc > -IPV6_ENOSLASH || err.code != NT_EINVAL ||
               !err.msg[0]) {
        __builtin_trap();
    }
    int lrc = ipv6_parse_cidr(s, &l, 1, NULL);
    if (lrc == 0) {
        struct ipv6_addr m = ipv6_masked(&l.addr, l.prefix);
        if (!ipv6_equal(&m, &l.addr))
            __builtin_trap();
    }
    if ((lrc == 0) != (rc == 0 || rc == -IPV6_EHOSTBITS))
        __builtin_trap();
    free(s);
    return 0;
}
