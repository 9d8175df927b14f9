/* fuzz_ipv4.c - libFuzzer target for core/ipv4. The input is an address or a CIDR (any
 * bytes). Properties: an address is accepted exactly when glibc's inet_pton accepts it
 * (four decimal octets, no leading zeros), and then formatting gives the input back byte
 * for byte (the strict syntax is canonical); a CIDR accepted in strict mode formats back
 * to the input too, one accepted in loose mode has no host bits, and every refusal is one
 * of the IPV4_E* reasons with an einval message. Built and run by tests/fuzz/run. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/ipv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), out[32];
    struct in_addr a;
    struct ipv4_cidr c, l;
    struct nt_err err;
    uint32_t ip;
    int nul = memchr(data, 0, size) != NULL;

    memcpy(s, data, size);
    s[size] = '\0';
    /* ipv4_parse_n reads exactly size bytes; a NUL inside is just a bad byte. */
    int rc = ipv4_parse_n(s, size, &ip);
    if (!nul && (rc == 0) != (inet_pton(AF_INET, s, &a) == 1))
        __builtin_trap();
    if (rc == 0) {
        if (nul || ip != ntohl(a.s_addr))
            __builtin_trap();
        ipv4_format(ip, out, sizeof out);
        if (strcmp(out, s) != 0)
            __builtin_trap();
    }
    memset(&err, 0, sizeof err);
    rc = ipv4_parse_cidr(s, &c, 0, &err);
    if (rc == 0) {
        ipv4_format_cidr(&c, out, sizeof out);
        if (strcmp(out, s) != 0 || (c.addr & ~ipv4_mask(c.prefix)))
            __builtin_trap();
    } else if (rc < -IPV4_EHOSTBITS || rc > -IPV4_ENOSLASH || err.code != NT_EINVAL ||
               !err.msg[0]) {
        __builtin_trap();
    }
    int lrc = ipv4_parse_cidr(s, &l, 1, NULL);
    if (lrc == 0 && (l.addr & ~ipv4_mask(l.prefix)))
        __builtin_trap();
    /* loose differs from strict only in accepting host bits */
    if ((lrc == 0) != (rc == 0 || rc == -IPV4_EHOSTBITS))
        __builtin_trap();
    free(s);
    return 0;
}
