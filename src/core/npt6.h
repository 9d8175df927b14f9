/* npt6.h - NPTv6 (RFC 6296) prefix arithmetic, pure: which outside /64 a LAN's /64 is
 * translated to so the translation is checksum-neutral (RFC 6296 section 3.1: the one's
 * complement sum of the 64 prefix bits is the same on both sides, so rewriting the prefix
 * alone leaves every upper-layer checksum valid and the interface identifier, the
 * address's suffix, untouched: the mapping is 1:1). Functions borrow their inputs. */
#ifndef NATRIG_CORE_NPT6_H
#define NATRIG_CORE_NPT6_H

#include <stdint.h>

#include "base/err.h"
#include "core/ipv6.h"

/* The one's complement sum of the first four 16-bit words (the /64 prefix) of a. */
uint16_t npt6_sum64(const struct ipv6_addr *a);

/* 1 when a and b (two /64 prefixes) have the same one's complement sum: rewriting one to
 * the other needs no checksum update. 0xffff and 0 are the same number (both zeros). */
int npt6_neutral(const struct ipv6_addr *a, const struct ipv6_addr *b);

/* The outside /64 for inside (a /64) from outside: a /48 gets word 3 (bits 48-63, its
 * subnet field) chosen so the pair is neutral, as RFC 6296 section 3.2 adjusts a /48; a /64
 * is taken as it is if it is neutral. Returns 0 and out, or -1 with err (NT_EINVAL): inside
 * not a /64, outside neither /48 nor /64, overlapping inside, or a /64 that is not neutral
 * (the message names the neutral /64 of its /48). */
int npt6_outside(const struct ipv6_cidr *inside, const struct ipv6_cidr *outside,
                 struct ipv6_cidr *out, struct nt_err *err);

/* The 64 prefix bits of a as one number (for nft's raw payload statement). */
uint64_t npt6_bits(const struct ipv6_addr *a);

#endif
