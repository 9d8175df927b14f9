/* impair_nfq.c - the iptables argv lists that feed the userspace shaper (NFQUEUE rules in
 * chains of our own in the mangle table), and the iptables helpers impair_part.c shares.
 * Pure: no I/O. Uses base/err and base/xalloc. */
#include <stdio.h>
#include <string.h>

#include "base/xalloc.h"
#include "core/impair.h"
#include "core/ipv4.h"
#include "core/ipv6.h"

#define OP "impair"

struct impair_argv *impair_ipt_cmd(struct impair_cmds *c, const char *ipt, const char *table,
                                   int may_fail)
{
    struct impair_cmd *cmd;

    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 8;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    cmd = &c->v[c->n++];
    memset(cmd, 0, sizeof *cmd);
    cmd->may_fail = may_fail;
    impair_argv_push(&cmd->argv, ipt ? ipt : "iptables");
    /* -w: wait for the xtables lock instead of failing when Docker holds it */
    impair_argv_push(&cmd->argv, "-w");
    if (table) {
        impair_argv_push(&cmd->argv, "-t");
        impair_argv_push(&cmd->argv, table);
    }
    return &cmd->argv;
}

/* The NFQUEUE rules live in the mangle table. */
static struct impair_argv *cmd_new(struct impair_cmds *c, const char *ipt, int may_fail)
{
    return impair_ipt_cmd(c, ipt, "mangle", may_fail);
}

static int check_dir(enum impair_dir dir, struct nt_err *err)
{
    if (dir != IMPAIR_DIR_EGRESS && dir != IMPAIR_DIR_INGRESS && dir != IMPAIR_DIR_BOTH)
        return nt_err_set(err, NT_EINVAL, OP, "bad direction %d", (int)dir);
    return 0;
}

int impair_check_ipt(const char *ipt, struct nt_err *err)
{
    if (ipt && (!*ipt || strchr(ipt, ' ')))
        return nt_err_set(err, NT_EINVAL, OP, "bad iptables program name '%s'", ipt);
    return 0;
}

int impair_ipt_is_v6(const char *ipt)
{
    return ipt && strncmp(ipt, "ip6tables", 9) == 0;
}

int impair_ipt_for_family(const char *ipt, enum impair_family f, char *out, size_t n,
                          struct nt_err *err)
{
    const char *base = ipt ? ipt : "iptables";

    if (impair_check_ipt(ipt, err) < 0)
        return -1;
    if (f != IMPAIR_FAMILY_V4 && f != IMPAIR_FAMILY_V6)
        return nt_err_set(err, NT_EINVAL, OP, "one family at a time (v4 or v6), not %d", (int)f);
    if (impair_ipt_is_v6(base))
        return nt_err_set(err, NT_EINVAL, OP,
                          "give the IPv4 program ('%s' is ip6tables): the family picks the other",
                          base);
    if (f == IMPAIR_FAMILY_V4) {
        if ((size_t)snprintf(out, n, "%s", base) >= n)
            return nt_err_set(err, NT_EINVAL, OP, "iptables program name too long");
        return 0;
    }
    /* iptables, iptables-legacy, iptables-nft: the same suffix after ip6tables */
    if (strncmp(base, "iptables", 8) != 0)
        return nt_err_set(err, NT_EINVAL, OP,
                          "cannot name the IPv6 program for '%s' (want iptables[-SUFFIX])", base);
    if ((size_t)snprintf(out, n, "ip6tables%s", base + 8) >= n)
        return nt_err_set(err, NT_EINVAL, OP, "iptables program name too long");
    return 0;
}

int impair_nfq_setup_cmds(const char *iptables, enum impair_dir dir, struct impair_cmds *out,
                          struct nt_err *err)
{
    int k;

    if (check_dir(dir, err) < 0 || impair_check_ipt(iptables, err) < 0)
        return -1;
    for (k = 0; k < 2; k++) {
        const char *chain = k == 0 ? IMPAIR_CHAIN_OUT : IMPAIR_CHAIN_IN;
        const char *hook = k == 0 ? "POSTROUTING" : "PREROUTING";
        char mark[16];
        struct impair_argv *a;

        if (!(dir & (k == 0 ? IMPAIR_DIR_EGRESS : IMPAIR_DIR_INGRESS)))
            continue;
        a = cmd_new(out, iptables, 1);
        impair_argv_pushv(a, (const char *const[]){"-N", chain, NULL});
        a = cmd_new(out, iptables, 0);
        impair_argv_pushv(a, (const char *const[]){"-F", chain, NULL});
        /* the shaper's own injected duplicates must not be queued (and delayed) again */
        snprintf(mark, sizeof mark, "0x%x", IMPAIR_SHAPER_MARK);
        a = cmd_new(out, iptables, 0);
        impair_argv_pushv(a, (const char *const[]){"-A", chain, "-m", "mark", "--mark", mark, "-j",
                                                   "RETURN", NULL});
        /* delete-then-insert keeps exactly one jump however often setup runs */
        a = cmd_new(out, iptables, 1);
        impair_argv_pushv(a, (const char *const[]){"-D", hook, "-j", chain, NULL});
        a = cmd_new(out, iptables, 0);
        impair_argv_pushv(a, (const char *const[]){"-I", hook, "1", "-j", chain, NULL});
    }
    return 0;
}

/* IPv4 address with an optional /0..32; writes "a.b.c.d/len". Read by core/ipv4, as every
 * address natrig takes (010.1.0.1 is refused there, not read as 10.1.0.1). */
int impair_norm_addr(const char *addr, char *out, size_t n, struct nt_err *err)
{
    struct ipv4_cidr c;
    uint32_t ip;

    if (!addr || !*addr)
        return nt_err_set(err, NT_EINVAL, OP, "empty link address");
    if (strchr(addr, ':'))
        return nt_err_set(
            err, NT_EINVAL, OP,
            "link address '%s' is IPv6: an IPv4 (iptables) rule needs an IPv4 address", addr);
    if (strchr(addr, '/')) {
        if (ipv4_parse_cidr(addr, &c, 1, NULL) < 0)
            return nt_err_set(err, NT_EINVAL, OP, "bad link address '%s' (want a.b.c.d[/len])",
                              addr);
    } else {
        if (ipv4_parse(addr, &ip) < 0)
            return nt_err_set(err, NT_EINVAL, OP, "bad link address '%s' (want a.b.c.d[/len])",
                              addr);
        c.addr = ip;
        c.prefix = 32;
    }
    ipv4_format_cidr(&c, out, n);
    return 0;
}

int impair_norm_addr_for(const char *ipt, const char *addr, char *out, size_t n, struct nt_err *err)
{
    if (!impair_ipt_is_v6(ipt))
        return impair_norm_addr(addr, out, n, err);
    if (!addr || !*addr)
        return nt_err_set(err, NT_EINVAL, OP, "empty link address");
    if (!strchr(addr, ':'))
        return nt_err_set(err, NT_EINVAL, OP,
                          "link address '%s' is IPv4: an IPv6 (%s) rule needs an IPv6 address",
                          addr, ipt);
    /* core/ipv6, as every IPv6 address natrig takes; written canonical, with its prefix */
    {
        struct ipv6_cidr c;
        if (strchr(addr, '/')) {
            if (ipv6_parse_cidr(addr, &c, 1, NULL) < 0)
                return nt_err_set(err, NT_EINVAL, OP,
                                  "bad link address '%s' (want an IPv6 address[/len])", addr);
        } else {
            if (ipv6_parse(addr, &c.addr) < 0)
                return nt_err_set(err, NT_EINVAL, OP,
                                  "bad link address '%s' (want an IPv6 address[/len])", addr);
            c.prefix = 128;
        }
        ipv6_format_cidr(&c, out, n);
    }
    return 0;
}

static int link_cmds(const char *iptables, const struct impair_nfq_link *l, const char *op,
                     struct impair_cmds *out, struct nt_err *err)
{
    char addr[64], q[8];
    int k;

    if (check_dir(l->dir, err) < 0 || impair_check_ipt(iptables, err) < 0)
        return -1;
    if (!l->dev)
        return nt_err_set(err, NT_EINVAL, OP,
                          "a queue rule needs the interface that carries the node's address "
                          "(else a packet crossing two interfaces is shaped twice)");
    if (impair_check_link_dev(l->dev, err) < 0)
        return -1;
    if (l->addr && impair_norm_addr_for(iptables, l->addr, addr, sizeof addr, err) < 0)
        return -1;
    snprintf(q, sizeof q, "%u", (unsigned)l->queue);
    for (k = 0; k < 2; k++) {
        struct impair_argv *a;

        if (!(l->dir & (k == 0 ? IMPAIR_DIR_EGRESS : IMPAIR_DIR_INGRESS)))
            continue;
        a = cmd_new(out, iptables, 0);
        impair_argv_push(a, op);
        impair_argv_push(a, k == 0 ? IMPAIR_CHAIN_OUT : IMPAIR_CHAIN_IN);
        impair_argv_push(a, k == 0 ? "-o" : "-i");
        impair_argv_push(a, l->dev);
        if (l->addr) {
            impair_argv_push(a, k == 0 ? "-d" : "-s");
            impair_argv_push(a, addr);
        }
        /* --queue-bypass: with no shaper bound to the queue, traffic flows unshaped instead of
         * being dropped, so a crashed shaper cannot partition the test network */
        impair_argv_pushv(
            a, (const char *const[]){"-j", "NFQUEUE", "--queue-num", q, "--queue-bypass", NULL});
    }
    return 0;
}

int impair_nfq_link_add_cmds(const char *iptables, const struct impair_nfq_link *link,
                             struct impair_cmds *out, struct nt_err *err)
{
    return link_cmds(iptables, link, "-A", out, err);
}

int impair_nfq_link_del_cmds(const char *iptables, const struct impair_nfq_link *link,
                             struct impair_cmds *out, struct nt_err *err)
{
    return link_cmds(iptables, link, "-D", out, err);
}

int impair_nfq_teardown_cmds(const char *iptables, enum impair_dir dir, struct impair_cmds *out,
                             struct nt_err *err)
{
    int k;

    if (check_dir(dir, err) < 0 || impair_check_ipt(iptables, err) < 0)
        return -1;
    for (k = 0; k < 2; k++) {
        const char *chain = k == 0 ? IMPAIR_CHAIN_OUT : IMPAIR_CHAIN_IN;
        const char *hook = k == 0 ? "POSTROUTING" : "PREROUTING";
        struct impair_argv *a;

        if (!(dir & (k == 0 ? IMPAIR_DIR_EGRESS : IMPAIR_DIR_INGRESS)))
            continue;
        a = cmd_new(out, iptables, 1);
        impair_argv_pushv(a, (const char *const[]){"-D", hook, "-j", chain, NULL});
        a = cmd_new(out, iptables, 1);
        impair_argv_pushv(a, (const char *const[]){"-F", chain, NULL});
        a = cmd_new(out, iptables, 1);
        impair_argv_pushv(a, (const char *const[]){"-X", chain, NULL});
    }
    return 0;
}
