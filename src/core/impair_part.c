/* impair_part.c - the iptables argv lists of partitions and isolation: rules in chains of our
 * own in the filter table (NATRIG_PART_IN from INPUT, NATRIG_PART_OUT from OUTPUT). Pure: no
 * I/O. Uses base/err and base/xalloc, and the iptables helpers of impair_nfq.c.
 *
 * Silence. On a real partition a send succeeds and nothing arrives; P2P programs take other
 * code paths for a send that fails. A DROP verdict in the sender's own output path (OUTPUT or
 * POSTROUTING) is not silent: the kernel turns it into -EPERM for the sendmsg() or connect()
 * that made the packet (seen on this kernel: five UDP sends gave five EPERM). So:
 *   - a partition drops on the receive side only (INPUT of each node, from the other's
 *     address); partition() cuts both nodes, so both directions are covered, and each
 *     sender's packet really leaves and crosses the path before it vanishes;
 *   - isolate drops what the node receives on INPUT, and sends what it emits to an NFQUEUE
 *     queue nobody binds (IMPAIR_PART_VOID_QUEUE), without --queue-bypass: with no listener
 *     nf_queue frees the packet and reports it stolen, so the sender sees success (seen: five
 *     UDP sends all "sent", a TCP connect timed out instead of failing).
 * Families: the program picks them. iptables* writes IPv4 rules, ip6tables* IPv6 ones (the
 * same chains in the ip6 tables; a block's address must be of that family), so a dual-stack
 * node is cut in both by running each family's list. */
#include <stdio.h>

#include "core/impair.h"
#include "core/ipv6.h"

#define OP "impair"

int impair_part_cmds(const char *iptables, enum impair_part_op op, const char *addr,
                     struct impair_cmds *out, struct nt_err *err)
{
    static const char *const chains[2][2] = {{IMPAIR_PART_CHAIN_IN, "INPUT"},
                                             {IMPAIR_PART_CHAIN_OUT, "OUTPUT"}};
    char a[IPV6_CIDR_TEXT_MAX], q[8];
    int k;

    if (impair_check_ipt(iptables, err) < 0)
        return -1;
    switch (op) {
    case IMPAIR_PART_SETUP:
        for (k = 0; k < 2; k++) {
            /* -N fails when the chain exists (its rules are kept); delete-then-insert keeps
             * exactly one jump, first, however often setup runs */
            impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 1),
                              (const char *const[]){"-N", chains[k][0], NULL});
            impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 1),
                              (const char *const[]){"-D", chains[k][1], "-j", chains[k][0], NULL});
            impair_argv_pushv(
                impair_ipt_cmd(out, iptables, NULL, 0),
                (const char *const[]){"-I", chains[k][1], "1", "-j", chains[k][0], NULL});
        }
        return 0;
    case IMPAIR_PART_BLOCK:
        if (!addr)
            return nt_err_set(err, NT_EINVAL, OP, "a partition needs the address to cut off");
        if (impair_norm_addr_for(iptables, addr, a, sizeof a, err) < 0)
            return -1;
        /* receive side only: an INPUT drop is silent for the sender (see the top) */
        impair_argv_pushv(
            impair_ipt_cmd(out, iptables, NULL, 0),
            (const char *const[]){"-A", IMPAIR_PART_CHAIN_IN, "-s", a, "-j", "DROP", NULL});
        return 0;
    case IMPAIR_PART_ISOLATE:
        /* everything but loopback: the node's own processes still talk to each other */
        snprintf(q, sizeof q, "%u", (unsigned)IMPAIR_PART_VOID_QUEUE);
        impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 0),
                          (const char *const[]){"-A", IMPAIR_PART_CHAIN_OUT, "!", "-o", "lo", "-j",
                                                "NFQUEUE", "--queue-num", q, NULL});
        impair_argv_pushv(
            impair_ipt_cmd(out, iptables, NULL, 0),
            (const char *const[]){"-A", IMPAIR_PART_CHAIN_IN, "!", "-i", "lo", "-j", "DROP", NULL});
        return 0;
    case IMPAIR_PART_HEAL:
        for (k = 0; k < 2; k++)
            impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 0),
                              (const char *const[]){"-F", chains[k][0], NULL});
        return 0;
    case IMPAIR_PART_DOWN:
        for (k = 0; k < 2; k++) {
            impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 1),
                              (const char *const[]){"-D", chains[k][1], "-j", chains[k][0], NULL});
            impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 1),
                              (const char *const[]){"-F", chains[k][0], NULL});
            impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 1),
                              (const char *const[]){"-X", chains[k][0], NULL});
        }
        return 0;
    }
    return nt_err_set(err, NT_EINVAL, OP, "bad partition operation %d", (int)op);
}

int impair_part_fwd_cmds(const char *iptables, enum impair_part_op op, const char *src,
                         const char *dst, struct impair_cmds *out, struct nt_err *err)
{
    char s[IPV6_CIDR_TEXT_MAX], d[IPV6_CIDR_TEXT_MAX];

    if (impair_check_ipt(iptables, err) < 0)
        return -1;
    switch (op) {
    case IMPAIR_PART_SETUP:
        /* as for the node's chains: exactly one jump, first, however often setup runs */
        impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 1),
                          (const char *const[]){"-N", IMPAIR_PART_CHAIN_FWD, NULL});
        impair_argv_pushv(
            impair_ipt_cmd(out, iptables, NULL, 1),
            (const char *const[]){"-D", "FORWARD", "-j", IMPAIR_PART_CHAIN_FWD, NULL});
        impair_argv_pushv(
            impair_ipt_cmd(out, iptables, NULL, 0),
            (const char *const[]){"-I", "FORWARD", "1", "-j", IMPAIR_PART_CHAIN_FWD, NULL});
        return 0;
    case IMPAIR_PART_BLOCK:
        if (!src || !dst)
            return nt_err_set(err, NT_EINVAL, OP,
                              "a router's partition rule needs both addresses (from, to)");
        if (impair_norm_addr_for(iptables, src, s, sizeof s, err) < 0 ||
            impair_norm_addr_for(iptables, dst, d, sizeof d, err) < 0)
            return -1;
        impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 0),
                          (const char *const[]){"-A", IMPAIR_PART_CHAIN_FWD, "-s", s, "-d", d, "-j",
                                                "DROP", NULL});
        return 0;
    case IMPAIR_PART_HEAL:
        impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 0),
                          (const char *const[]){"-F", IMPAIR_PART_CHAIN_FWD, NULL});
        return 0;
    case IMPAIR_PART_DOWN:
        impair_argv_pushv(
            impair_ipt_cmd(out, iptables, NULL, 1),
            (const char *const[]){"-D", "FORWARD", "-j", IMPAIR_PART_CHAIN_FWD, NULL});
        impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 1),
                          (const char *const[]){"-F", IMPAIR_PART_CHAIN_FWD, NULL});
        impair_argv_pushv(impair_ipt_cmd(out, iptables, NULL, 1),
                          (const char *const[]){"-X", IMPAIR_PART_CHAIN_FWD, NULL});
        return 0;
    case IMPAIR_PART_ISOLATE:
        break;
    }
    return nt_err_set(err, NT_EINVAL, OP, "bad router partition operation %d", (int)op);
}
