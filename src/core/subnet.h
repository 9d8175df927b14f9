/* subnet.h - IPv4 subnet arithmetic and allocation of free blocks. Pure.
 * natrig asks the engine for every subnet in use and picks blocks that overlap none of
 * them, so runs sharing an engine do not collide and nothing relies on random retries. */
#ifndef NT_SUBNET_H
#define NT_SUBNET_H
#include <stddef.h>
#include <stdint.h>

struct nt_err;

struct subnet {
    uint32_t addr; /* network address, host byte order */
    int prefix;    /* 0..32 */
};

/* Parse "a.b.c.d/n" (host bits must be zero unless loose is set, then they are cleared). */
int subnet_parse(const char *s, struct subnet *out, int loose, struct nt_err *err);
/* Parse a dotted IPv4 address. */
int subnet_parse_ip(const char *s, uint32_t *out, struct nt_err *err);
void subnet_format(const struct subnet *s, char *out, size_t cap);
void subnet_format_ip(uint32_t ip, char *out, size_t cap);
int subnet_overlaps(const struct subnet *a, const struct subnet *b);
int subnet_contains(const struct subnet *s, uint32_t ip);
/* The n-th address of s (1 = first host); -1 when n is outside the subnet's hosts. */
int subnet_host(const struct subnet *s, uint32_t n, uint32_t *ip);

/* Pick count blocks of size /prefix inside pool that overlap none of taken[] nor each
 * other, scanning from the block index `start` (wrapping), so concurrent runs starting
 * at different offsets rarely race for the same block. Returns 0, or -1 with err filled
 * when the pool has fewer free blocks. */
int subnet_alloc(const struct subnet *pool, int prefix, const struct subnet *taken,
                 size_t ntaken, uint32_t start, size_t count, struct subnet *out,
                 struct nt_err *err);
#endif
