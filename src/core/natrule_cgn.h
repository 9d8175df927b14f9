/* natrule_cgn.h - a carrier-grade NAT's rules (RFC 6888, RFC 7021, shared address space
 * 100.64.0.0/10 of RFC 6598): from a CGN spec (a pool of public addresses, the inside subnet,
 * its customers, port blocks, filtering, hairpinning, per-protocol timeouts) to one nftables
 * ruleset text for `nft -f`, its readiness check and its flush argvs. Pure: no I/O.
 * Lives beside core/natrule (a home router's RFC 4787 NAT) and shares its table name, argv
 * helpers and diagnostics: a router holds one or the other.
 *
 * How each behaviour is built (UDP unless it says TCP):
 *  - Customers: every address on the inside subnet that is a home router's WAN or a node
 *    directly behind the CGN. Customer i (in the order given) gets the pool address
 *    pool[i % n_pool] for all its flows, TCP and UDP alike (paired pooling, RFC 6888
 *    REQ-2), and `blocks` blocks of `port_block` ports on it, reserved for it at bring-up
 *    (deterministic allocation in the manner of RFC 7422: the k-th customer on an address
 *    holds ports 1024 + k * blocks * port_block up to the next customer's). Every new
 *    mapping is SNATed to a random free port of the customer's blocks (RFC 6056), never
 *    outside them.
 *  - Port quota: blocks * port_block mappings per customer, UDP and TCP together. Set q_<i>
 *    (size = quota; each element a protocol . inside port, living udp_timeout or
 *    tcp_timeout, refreshed by the customer's outbound packets) holds the inside ports the
 *    customer has mapped; chain port_quota (filter forward, -10) adds each outbound packet's
 *    one. A full set refuses a new element, the rule does not match, and the next rule drops
 *    the packet and counts it in counter oop_<i>: a new mapping beyond the quota is dropped,
 *    live mappings go on.
 *  - Mapping: endpoint independent (RFC 6888 REQ-1). `learn` (postrouting, 300) records
 *    inside endpoint -> public address . port in eim_out, and later flows of that endpoint
 *    are SNATed to it; pub_to_inside holds the reverse, for inbound and hairpinned packets.
 *  - Filtering (before conntrack, prerouting -300, as in natrule.h): EIF accepts any live
 *    mapping, ADF a remote address the mapping sent to, APDF a remote endpoint it sent to.
 *  - Hairpinning (RFC 6888 REQ-9): a customer's packet to a pool address and live mapped port
 *    is DNATed to the owner and SNATed to the sender's own public mapping, so the receiver
 *    sees the sender's public endpoint, as from outside. Hairpinned packets are not filtered.
 *  - Timeouts per protocol: a ct timeout policy per protocol (udp_timeout for UDP in both
 *    states, the learned sets too; tcp_timeout for established TCP, RFC 5382 REQ-5 asks for
 *    at least 2 h 4 min).
 *  - The table comment names the spec (natrule_cgn_describe), so a stale table is caught.
 *
 * Not offered: address dependent or per-flow mapping (RFC 6888 REQ-1 asks for EIM), port
 * preservation (random ports inside the blocks), blocks handed out on demand (reserved up
 * front). */
#ifndef NT_NATRULE_CGN_H
#define NT_NATRULE_CGN_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "core/natclass.h"
#include "core/natrule.h"

#define NATRULE_CGN_MAX_POOL 256
#define NATRULE_CGN_MAX_CUSTOMERS 252
#define NATRULE_CGN_PORT_LO 1024u /* ports 1024..65535 are handed out in blocks */
#define NATRULE_CGN_PORT_RANGE 64512u
#define NATRULE_CGN_TCP_TIMEOUT_DEFAULT 7440u /* RFC 5382 REQ-5: 2 h 4 min */
#define NATRULE_CGN_SHARED "100.64.0.0/10"    /* RFC 6598 */

struct natrule_cgn {
    enum natrule_filtering filtering; /* EIF (default), ADF or APDF */
    int hairpin;                      /* default on */
    unsigned port_block, blocks;      /* default 512 ports, 4 blocks */
    unsigned udp_timeout, tcp_timeout;
    struct ipv4_cidr inside; /* inside subnet, within 100.64.0.0/10; prefix 0 = unset */
    size_t n_pool;
    uint32_t pool[NATRULE_CGN_MAX_POOL]; /* host byte order */
    size_t n_cust;
    uint32_t cust[NATRULE_CGN_MAX_CUSTOMERS];
};

/* Defaults: EIF, hairpin on, 512-port blocks, 4 of them, udp 120 s, tcp 7440 s, nothing
 * else set. */
void natrule_cgn_init(struct natrule_cgn *c);

/* What an RFC 5780 client behind the CGN should measure. home: the class of a home router
 * between the client and the CGN (natclass_from_spec), or NULL for a node right behind it.
 * Mapping: the home router's when it is not EIM, else EIM (the CGN's). Filtering: the
 * stricter of the two (the CGN DNATs, so the home router sees the true remote endpoint).
 * Hairpin: the CGN hairpins, and, behind a home router, that router lets the hairpinned
 * packet in: it arrives from the CGN's public mapping of the other socket, which the first
 * socket never sent to, so only EIF lets it through. Port: never preserved (random ports in
 * the customer's blocks). */
void natrule_cgn_claim(const struct natrule_cgn *c, const struct natclass *home,
                       struct natclass *out);

/* Set one option by name: filtering (EIF|ADF|APDF), hairpin (on|off...), port_block,
 * blocks, udp_timeout, tcp_timeout (numbers), inside (a.b.c.d/len), pool (adds a public
 * address), customer (adds an inside address). Unknown keys are an error listing the
 * valid ones. Returns 0 or -1 with err (NT_EINVAL). */
int natrule_cgn_set_option(struct natrule_cgn *c, const char *key, const char *value,
                           struct nt_err *err);

/* Check that the spec can be built: a port block that divides the 64512 ports, blocks >= 1,
 * a pool (distinct addresses, none inside), an inside subnet within 100.64.0.0/10, at least
 * one customer (a CGN with nothing behind it is a mistake), every customer inside it and
 * distinct, and the customers' blocks fit on the pool. Returns 0 or -1 with err saying what
 * is wrong and what to change. */
int natrule_cgn_validate(const struct natrule_cgn *c, struct nt_err *err);

/* Customer i's public address and its reserved ports [lo, hi]. Returns 0, -1 when out of
 * range. Needs a valid spec. */
int natrule_cgn_customer(const struct natrule_cgn *c, size_t i, uint32_t *addr, unsigned *lo,
                         unsigned *hi);

/* One line: "cgnat filtering=EIF hairpin=on port_block=512 blocks=4 udp_timeout=30
 * tcp_timeout=7440 pool=2 customers=3". Appends to out; 0, or -1 when out is full. */
int natrule_cgn_describe(const struct natrule_cgn *c, struct buf *out);

/* Append the whole ruleset for `nft -f` (replaces table ip natrig atomically). Validates
 * first. Returns 0, or -1 with err. */
int natrule_cgn_ruleset(const struct natrule_cgn *c, struct buf *out, struct nt_err *err);

/* Readiness check on `nft list table ip natrig`: the comment names this spec, every chain
 * (with its hook), set, map, counter and ct timeout is there, each pool address is in set
 * pool. Returns 0, or -1 with err (NT_PARSE) naming the first thing missing. */
int natrule_cgn_check_listing(const struct natrule_cgn *c, const char *listing, struct nt_err *err);

/* Forget every mapping: `nft flush set|map ip natrig NAME` for each learned set, map and
 * quota set, then {"conntrack", "-F"}. Fills up to max, returns how many there are. The
 * argvs point into names, which must hold max * 16 bytes and live as long as out. */
size_t natrule_cgn_flush_argvs(const struct natrule_cgn *c, struct natrule_argv *out,
                               char (*names)[16], size_t max);

#endif
