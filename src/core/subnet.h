/* subnet.h - host numbering and allocation of free IPv4 blocks (parsing, formatting and
 * overlap live in core/ipv4). Pure.
 * natrig asks the engine for every subnet in use and picks blocks that overlap none of
 * them, so runs sharing an engine do not collide and nothing relies on random retries. */
#ifndef NT_SUBNET_H
#define NT_SUBNET_H
#include <stddef.h>
#include <stdint.h>

#include "core/ipv4.h"

struct nt_err;

/* The n-th address of s (1 = first host); -1 when n is outside the subnet's hosts. */
int subnet_host(const struct ipv4_cidr *s, uint32_t n, uint32_t *ip);

/* Pick count blocks of size /prefix inside pool that overlap none of taken[] nor each
 * other, scanning from the block index `start` (wrapping), so concurrent runs starting
 * at different offsets rarely race for the same block. Returns 0, or -1 with err filled
 * when the pool has fewer free blocks. */
int subnet_alloc(const struct ipv4_cidr *pool, int prefix, const struct ipv4_cidr *taken,
                 size_t ntaken, uint32_t start, size_t count, struct ipv4_cidr *out,
                 struct nt_err *err);
#endif
