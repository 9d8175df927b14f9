/* test_impair_ipt.c - core/impair's iptables argv lists: the NFQUEUE rules feeding the
 * userspace shaper (impair_nfq.c) and partitions (impair_part.c), which must never drop in a
 * sender's own output path. TAP. */
#include <stdio.h>
#include <string.h>

#include "core/impair.h"
#include "tap.h"

/* --- NFQUEUE rules --------------------------------------------------------------------------- */

struct ipt_want {
    int may_fail;
    const char *cmd;
};

static void check_cmds(const struct impair_cmds *c, const struct ipt_want *w, size_t nw,
                       const char *what)
{
    size_t i;
    char buf[512];

    is_int(c->n, nw, "%s: %zu commands", what, nw);
    for (i = 0; i < c->n && i < nw; i++) {
        impair_argv_join(&c->v[i].argv, buf, sizeof buf);
        is_str(buf, w[i].cmd, "%s cmd %zu", what, i);
        is_int(c->v[i].may_fail, w[i].may_fail, "%s cmd %zu may_fail", what, i);
    }
}

static void test_iptables(void)
{
    struct impair_cmds c = {0};
    struct nt_err err = {0};
    struct impair_nfq_link l = {"10.1.2.3", "eth0", 7, IMPAIR_DIR_EGRESS};
    static const struct ipt_want setup_eg[] = {
        {1, "iptables -w -t mangle -N NATRIG_SHAPE_OUT"},
        {0, "iptables -w -t mangle -F NATRIG_SHAPE_OUT"},
        {0, "iptables -w -t mangle -A NATRIG_SHAPE_OUT -m mark --mark 0x4e545348 -j RETURN"},
        {1, "iptables -w -t mangle -D POSTROUTING -j NATRIG_SHAPE_OUT"},
        {0, "iptables -w -t mangle -I POSTROUTING 1 -j NATRIG_SHAPE_OUT"},
    };
    static const struct ipt_want setup_both[] = {
        {1, "iptables-legacy -w -t mangle -N NATRIG_SHAPE_OUT"},
        {0, "iptables-legacy -w -t mangle -F NATRIG_SHAPE_OUT"},
        {0, "iptables-legacy -w -t mangle -A NATRIG_SHAPE_OUT -m mark --mark 0x4e545348 -j "
            "RETURN"},
        {1, "iptables-legacy -w -t mangle -D POSTROUTING -j NATRIG_SHAPE_OUT"},
        {0, "iptables-legacy -w -t mangle -I POSTROUTING 1 -j NATRIG_SHAPE_OUT"},
        {1, "iptables-legacy -w -t mangle -N NATRIG_SHAPE_IN"},
        {0, "iptables-legacy -w -t mangle -F NATRIG_SHAPE_IN"},
        {0, "iptables-legacy -w -t mangle -A NATRIG_SHAPE_IN -m mark --mark 0x4e545348 -j "
            "RETURN"},
        {1, "iptables-legacy -w -t mangle -D PREROUTING -j NATRIG_SHAPE_IN"},
        {0, "iptables-legacy -w -t mangle -I PREROUTING 1 -j NATRIG_SHAPE_IN"},
    };
    static const struct ipt_want add_eg[] = {
        {0, "iptables -w -t mangle -A NATRIG_SHAPE_OUT -o eth0 -d 10.1.2.3/32 -j NFQUEUE "
            "--queue-num 7 --queue-bypass"},
    };
    static const struct ipt_want add_both[] = {
        {0, "iptables -w -t mangle -A NATRIG_SHAPE_OUT -o eth1 -d 172.16.0.0/12 -j NFQUEUE "
            "--queue-num 65535 --queue-bypass"},
        {0, "iptables -w -t mangle -A NATRIG_SHAPE_IN -i eth1 -s 172.16.0.0/12 -j NFQUEUE "
            "--queue-num 65535 --queue-bypass"},
    };
    static const struct ipt_want add_all_in[] = {
        {0, "iptables -w -t mangle -A NATRIG_SHAPE_IN -i eth0 -j NFQUEUE --queue-num 0 "
            "--queue-bypass"},
    };
    /* a node's impairment, both ways: one rule per hook, each bound to the node's interface,
     * so tun, lo and any other interface of the namespace are never queued */
    static const struct ipt_want add_all_both[] = {
        {0, "iptables -w -t mangle -A NATRIG_SHAPE_OUT -o eth2 -j NFQUEUE --queue-num 3 "
            "--queue-bypass"},
        {0, "iptables -w -t mangle -A NATRIG_SHAPE_IN -i eth2 -j NFQUEUE --queue-num 3 "
            "--queue-bypass"},
    };
    static const struct ipt_want del_eg[] = {
        {0, "iptables -w -t mangle -D NATRIG_SHAPE_OUT -o eth0 -d 10.1.2.3/32 -j NFQUEUE "
            "--queue-num 7 --queue-bypass"},
    };
    static const char *const bad_devs[] = {"lo", "", "eth 0", "a/b", "eth0:1", "sixteen-chars-xx"};
    static const struct ipt_want down_eg[] = {
        {1, "iptables -w -t mangle -D POSTROUTING -j NATRIG_SHAPE_OUT"},
        {1, "iptables -w -t mangle -F NATRIG_SHAPE_OUT"},
        {1, "iptables -w -t mangle -X NATRIG_SHAPE_OUT"},
    };
    static const char *const bad_addrs[] = {"10.1.2",    "10.1.2.256", "10.1.2.3/33",
                                            "fe80::1",   "10.1.2.3 ",  "a.b.c.d",
                                            "10.1.2.3/", "1.2.3.4.5",  ""};
    size_t i;

    ok(impair_nfq_setup_cmds(NULL, IMPAIR_DIR_EGRESS, &c, &err) == 0, "setup egress");
    check_cmds(&c, setup_eg, sizeof setup_eg / sizeof setup_eg[0], "setup egress");
    impair_cmds_free(&c);
    ok(impair_nfq_setup_cmds("iptables-legacy", IMPAIR_DIR_BOTH, &c, &err) == 0, "setup both");
    check_cmds(&c, setup_both, sizeof setup_both / sizeof setup_both[0], "setup both");
    impair_cmds_free(&c);

    ok(impair_nfq_link_add_cmds(NULL, &l, &c, &err) == 0, "link add");
    check_cmds(&c, add_eg, 1, "add egress");
    impair_cmds_free(&c);
    l.addr = "172.16.0.0/12";
    l.dev = "eth1";
    l.queue = 65535;
    l.dir = IMPAIR_DIR_BOTH;
    impair_nfq_link_add_cmds(NULL, &l, &c, &err);
    check_cmds(&c, add_both, 2, "add both, CIDR");
    impair_cmds_free(&c);
    l.addr = NULL;
    l.dev = "eth0";
    l.queue = 0;
    l.dir = IMPAIR_DIR_INGRESS;
    impair_nfq_link_add_cmds(NULL, &l, &c, &err);
    check_cmds(&c, add_all_in, 1, "add all traffic, ingress");
    impair_cmds_free(&c);
    l.dev = "eth2";
    l.queue = 3;
    l.dir = IMPAIR_DIR_BOTH;
    ok(impair_nfq_link_add_cmds(NULL, &l, &c, &err) == 0, "node, both ways");
    check_cmds(&c, add_all_both, 2, "node impairment, both ways, on its interface only");
    impair_cmds_free(&c);
    /* no interface, or a bad one, or loopback: refused, nothing appended */
    l.dev = NULL;
    ok(impair_nfq_link_add_cmds(NULL, &l, &c, &err) == -1 && c.n == 0 &&
           strstr(err.msg, "needs the interface") != NULL,
       "a rule without an interface is refused: %s", err.msg);
    for (i = 0; i < sizeof bad_devs / sizeof bad_devs[0]; i++) {
        l.dev = bad_devs[i];
        ok(impair_nfq_link_add_cmds(NULL, &l, &c, &err) == -1 && c.n == 0,
           "bad device '%s' refused: %s", bad_devs[i], err.msg);
        ok(impair_nfq_link_del_cmds(NULL, &l, &c, &err) == -1 && c.n == 0,
           "bad device '%s' refused on delete too", bad_devs[i]);
    }
    l.dev = "lo";
    impair_nfq_link_add_cmds(NULL, &l, &c, &err);
    ok(strstr(err.msg, "loopback is never shaped") != NULL, "lo says why: %s", err.msg);
    l.dev = "eth0";
    l.addr = "10.1.2.3";
    l.queue = 7;
    l.dir = IMPAIR_DIR_EGRESS;
    impair_nfq_link_del_cmds(NULL, &l, &c, &err);
    check_cmds(&c, del_eg, 1, "del egress");
    impair_cmds_free(&c);
    ok(impair_nfq_teardown_cmds(NULL, IMPAIR_DIR_EGRESS, &c, &err) == 0, "teardown");
    check_cmds(&c, down_eg, 3, "teardown egress");
    impair_cmds_free(&c);

    for (i = 0; i < sizeof bad_addrs / sizeof bad_addrs[0]; i++) {
        l.addr = bad_addrs[i];
        ok(impair_nfq_link_add_cmds(NULL, &l, &c, &err) == -1 && c.n == 0, "bad address '%s': %s",
           bad_addrs[i], err.msg);
    }
    l.addr = "fe80::1";
    impair_nfq_link_add_cmds(NULL, &l, &c, &err);
    ok(strstr(err.msg, "rule needs an IPv4 address") != NULL, "IPv6 says why: %s", err.msg);
    l.addr = "10.0.0.1";
    l.dir = (enum impair_dir)0;
    ok(impair_nfq_link_add_cmds(NULL, &l, &c, &err) == -1, "bad direction");
    impair_cmds_free(&c);
}

/* --- partitions ------------------------------------------------------------------------------ */

/* No list of any operation drops in the sender's own output path (OUTPUT, POSTROUTING or a
 * chain jumped to from them) with DROP or REJECT: the kernel turns that into an error for the
 * sender's send() (EPERM). Outbound packets go to NFQUEUE without --queue-bypass instead, and
 * the shaper's own queue rules always carry --queue-bypass and never drop. */
static void test_partition_silent(void)
{
    static const enum impair_part_op ops[] = {IMPAIR_PART_SETUP, IMPAIR_PART_BLOCK,
                                              IMPAIR_PART_ISOLATE, IMPAIR_PART_HEAL,
                                              IMPAIR_PART_DOWN};
    struct impair_nfq_link l = {"10.1.0.7", "eth0", 3, IMPAIR_DIR_BOTH};
    struct impair_cmds c = {0};
    struct nt_err err = {0};
    size_t i, j, bad = 0, void_q = 0;
    char line[512];

    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        impair_part_cmds(NULL, ops[i], "10.1.0.7", &c, &err);
    impair_nfq_setup_cmds(NULL, IMPAIR_DIR_BOTH, &c, &err);
    impair_nfq_link_add_cmds(NULL, &l, &c, &err);
    for (j = 0; j < c.n; j++) {
        int out_path;
        impair_argv_join(&c.v[j].argv, line, sizeof line);
        out_path = strstr(line, " -A " IMPAIR_PART_CHAIN_OUT " ") ||
                   strstr(line, " -A " IMPAIR_CHAIN_OUT " ") || strstr(line, " -A OUTPUT ") ||
                   strstr(line, " -A POSTROUTING ");
        if (out_path && (strstr(line, "-j DROP") || strstr(line, "-j REJECT"))) {
            printf("# drops in the output path: %s\n", line);
            bad++;
        }
        if (strstr(line, "NFQUEUE --queue-num 65535")) {
            void_q++;
            ok(!strstr(line, "--queue-bypass"), "the void queue has no bypass: %s", line);
        }
        if (strstr(line, IMPAIR_CHAIN_OUT " -o") || strstr(line, IMPAIR_CHAIN_IN " -i"))
            ok(strstr(line, "--queue-bypass") != NULL, "a shaper rule fails open: %s", line);
    }
    is_int(bad, 0, "no list drops in the sender's output path");
    is_int(void_q, 1, "isolate's outbound rule is the void queue");
    impair_cmds_free(&c);
}

/* A router's chain: what it forwards between two LAN addresses (hairpin included). */
static void test_partition_fwd(void)
{
    struct impair_cmds c = {0};
    struct nt_err err = {0};
    static const struct ipt_want setup[] = {
        {1, "iptables -w -N NATRIG_PART_FWD"},
        {1, "iptables -w -D FORWARD -j NATRIG_PART_FWD"},
        {0, "iptables -w -I FORWARD 1 -j NATRIG_PART_FWD"},
    };
    static const struct ipt_want block[] = {
        {0, "iptables -w -A NATRIG_PART_FWD -s 10.1.0.2/32 -d 10.1.0.3/32 -j DROP"},
    };
    static const struct ipt_want heal[] = {{0, "iptables -w -F NATRIG_PART_FWD"}};
    static const struct ipt_want down[] = {
        {1, "iptables -w -D FORWARD -j NATRIG_PART_FWD"},
        {1, "iptables -w -F NATRIG_PART_FWD"},
        {1, "iptables -w -X NATRIG_PART_FWD"},
    };

    ok(impair_part_fwd_cmds(NULL, IMPAIR_PART_SETUP, NULL, NULL, &c, &err) == 0, "fwd setup");
    check_cmds(&c, setup, 3, "router partition setup");
    impair_cmds_free(&c);
    ok(impair_part_fwd_cmds(NULL, IMPAIR_PART_BLOCK, "10.1.0.2", "10.1.0.3", &c, &err) == 0,
       "fwd block");
    check_cmds(&c, block, 1, "router block: from one LAN address to another");
    impair_cmds_free(&c);
    ok(impair_part_fwd_cmds(NULL, IMPAIR_PART_HEAL, NULL, NULL, &c, &err) == 0, "fwd heal");
    check_cmds(&c, heal, 1, "router heal flushes only our chain");
    impair_cmds_free(&c);
    ok(impair_part_fwd_cmds(NULL, IMPAIR_PART_DOWN, NULL, NULL, &c, &err) == 0, "fwd down");
    check_cmds(&c, down, 3, "router down");
    impair_cmds_free(&c);
    ok(impair_part_fwd_cmds(NULL, IMPAIR_PART_BLOCK, "10.1.0.2", NULL, &c, &err) == -1 &&
           c.n == 0 && strstr(err.msg, "both addresses"),
       "fwd block without a destination: %s", err.msg);
    ok(impair_part_fwd_cmds(NULL, IMPAIR_PART_BLOCK, "10.1.0.2", "010.1.0.3", &c, &err) == -1 &&
           c.n == 0,
       "fwd block with a bad destination: %s", err.msg);
    ok(impair_part_fwd_cmds(NULL, IMPAIR_PART_ISOLATE, NULL, NULL, &c, &err) == -1 && c.n == 0,
       "a router is not isolated this way: %s", err.msg);
    impair_cmds_free(&c);
}

/* IPv6: the same chains written by ip6tables, so a dual-stack node is cut in both families;
 * a block's address must be of the program's family. */
static void test_partition6(void)
{
    struct impair_cmds c = {0};
    struct nt_err err = {0};
    static const struct ipt_want block6[] = {
        {0, "ip6tables -w -A NATRIG_PART_IN -s 2001:db8:0:1::7/128 -j DROP"},
    };
    static const struct ipt_want isolate6[] = {
        {0, "ip6tables-legacy -w -A NATRIG_PART_OUT ! -o lo -j NFQUEUE --queue-num 65535"},
        {0, "ip6tables-legacy -w -A NATRIG_PART_IN ! -i lo -j DROP"},
    };
    static const struct ipt_want fwd6[] = {
        {0,
         "ip6tables -w -A NATRIG_PART_FWD -s 2001:db8:0:1::2/128 -d 2001:db8:0:1::3/128 -j DROP"},
    };

    ok(impair_part_cmds("ip6tables", IMPAIR_PART_BLOCK, "2001:db8:0:1:0::7", &c, &err) == 0,
       "ip6tables block");
    check_cmds(&c, block6, 1, "IPv6 block: canonical, /128");
    impair_cmds_free(&c);
    ok(impair_part_cmds("ip6tables-legacy", IMPAIR_PART_ISOLATE, NULL, &c, &err) == 0,
       "ip6tables isolate");
    check_cmds(&c, isolate6, 2, "IPv6 isolate: the same rules in the ip6 tables");
    impair_cmds_free(&c);
    ok(impair_part_fwd_cmds("ip6tables", IMPAIR_PART_BLOCK, "2001:db8:0:1::2", "2001:db8:0:1::3",
                            &c, &err) == 0,
       "ip6tables router block");
    check_cmds(&c, fwd6, 1, "IPv6 router block");
    impair_cmds_free(&c);
    ok(impair_part_cmds("ip6tables", IMPAIR_PART_BLOCK, "10.1.0.7", &c, &err) == -1 && c.n == 0 &&
           strstr(err.msg, "needs an IPv6 address"),
       "an IPv4 address for ip6tables is refused: %s", err.msg);
    ok(impair_part_cmds(NULL, IMPAIR_PART_BLOCK, "2001:db8::7", &c, &err) == -1 && c.n == 0 &&
           strstr(err.msg, "needs an IPv4 address"),
       "an IPv6 address for iptables is refused: %s", err.msg);
    ok(impair_part_cmds("ip6tables", IMPAIR_PART_BLOCK, "2001:db8::g", &c, &err) == -1 && c.n == 0,
       "a bad IPv6 address is refused: %s", err.msg);
    impair_cmds_free(&c);
}

static void test_partition(void)
{
    struct impair_cmds c = {0};
    struct nt_err err = {0};
    static const struct ipt_want setup[] = {
        {1, "iptables -w -N NATRIG_PART_IN"},
        {1, "iptables -w -D INPUT -j NATRIG_PART_IN"},
        {0, "iptables -w -I INPUT 1 -j NATRIG_PART_IN"},
        {1, "iptables -w -N NATRIG_PART_OUT"},
        {1, "iptables -w -D OUTPUT -j NATRIG_PART_OUT"},
        {0, "iptables -w -I OUTPUT 1 -j NATRIG_PART_OUT"},
    };
    /* receive side only: a DROP in the sender's OUTPUT fails its send() with EPERM */
    static const struct ipt_want block[] = {
        {0, "iptables-legacy -w -A NATRIG_PART_IN -s 10.1.0.7/32 -j DROP"},
    };
    static const struct ipt_want block_cidr[] = {
        {0, "iptables -w -A NATRIG_PART_IN -s 10.2.0.0/16 -j DROP"},
    };
    /* outbound to a queue nobody binds, without --queue-bypass: freed, the send succeeds */
    static const struct ipt_want isolate[] = {
        {0, "iptables -w -A NATRIG_PART_OUT ! -o lo -j NFQUEUE --queue-num 65535"},
        {0, "iptables -w -A NATRIG_PART_IN ! -i lo -j DROP"},
    };
    static const struct ipt_want heal[] = {
        {0, "iptables -w -F NATRIG_PART_IN"},
        {0, "iptables -w -F NATRIG_PART_OUT"},
    };
    static const struct ipt_want down[] = {
        {1, "iptables -w -D INPUT -j NATRIG_PART_IN"},
        {1, "iptables -w -F NATRIG_PART_IN"},
        {1, "iptables -w -X NATRIG_PART_IN"},
        {1, "iptables -w -D OUTPUT -j NATRIG_PART_OUT"},
        {1, "iptables -w -F NATRIG_PART_OUT"},
        {1, "iptables -w -X NATRIG_PART_OUT"},
    };
    static const char *const bad_addrs[] = {"10.1.0",      "10.1.0.256", "fe80::1",
                                            "10.1.0.1/40", "host",       ""};
    size_t i;

    ok(impair_part_cmds(NULL, IMPAIR_PART_SETUP, NULL, &c, &err) == 0, "partition setup");
    check_cmds(&c, setup, sizeof setup / sizeof setup[0], "partition setup");
    impair_cmds_free(&c);
    ok(impair_part_cmds("iptables-legacy", IMPAIR_PART_BLOCK, "10.1.0.7", &c, &err) == 0, "block");
    check_cmds(&c, block, 1, "block one address: what arrives from it");
    impair_cmds_free(&c);
    impair_part_cmds(NULL, IMPAIR_PART_BLOCK, "10.2.0.0/16", &c, &err);
    check_cmds(&c, block_cidr, 1, "block a subnet");
    impair_cmds_free(&c);
    /* addresses are read by core/ipv4, as everywhere: a leading zero is refused, not read */
    ok(impair_part_cmds(NULL, IMPAIR_PART_BLOCK, "010.1.0.1", &c, &err) < 0,
       "010.1.0.1 is refused (it once read as 10.1.0.1)");
    impair_cmds_free(&c);
    {
        char line[256] = "";
        ok(impair_part_cmds(NULL, IMPAIR_PART_BLOCK, "10.2.0.9/16", &c, &err) == 0 && c.n == 1,
           "a prefix with host bits is taken");
        if (c.n == 1)
            impair_argv_join(&c.v[0].argv, line, sizeof line);
        ok(strstr(line, "10.2.0.0/16") != NULL, "its host bits are cleared: %s", line);
    }
    impair_cmds_free(&c);
    ok(impair_part_cmds(NULL, IMPAIR_PART_ISOLATE, NULL, &c, &err) == 0, "isolate");
    check_cmds(&c, isolate, 2, "isolate keeps loopback");
    impair_cmds_free(&c);
    ok(impair_part_cmds(NULL, IMPAIR_PART_HEAL, NULL, &c, &err) == 0, "heal");
    check_cmds(&c, heal, 2, "heal flushes only our chains");
    impair_cmds_free(&c);
    ok(impair_part_cmds(NULL, IMPAIR_PART_DOWN, NULL, &c, &err) == 0, "down");
    check_cmds(&c, down, 6, "down");
    impair_cmds_free(&c);

    ok(impair_part_cmds(NULL, IMPAIR_PART_BLOCK, NULL, &c, &err) == -1 && c.n == 0 &&
           strstr(err.msg, "needs the address"),
       "block without an address: %s", err.msg);
    for (i = 0; i < sizeof bad_addrs / sizeof bad_addrs[0]; i++)
        ok(impair_part_cmds(NULL, IMPAIR_PART_BLOCK, bad_addrs[i], &c, &err) == -1 && c.n == 0,
           "block '%s' refused: %s", bad_addrs[i], err.msg);
    ok(impair_part_cmds("ipt ables", IMPAIR_PART_HEAL, NULL, &c, &err) == -1 && c.n == 0,
       "bad iptables name: %s", err.msg);
    ok(impair_part_cmds(NULL, (enum impair_part_op)99, NULL, &c, &err) == -1 && c.n == 0,
       "bad op: %s", err.msg);
    impair_cmds_free(&c);
    test_partition_fwd();
    test_partition_silent();
    test_partition6();
}

/* --family v6: the same chains written by the IPv6 program; addresses of the other family are
 * refused, naming the family they need */
static void test_family_ipt(void)
{
    struct impair_cmds c = {0};
    struct nt_err err = {0};
    char prog[64];
    struct impair_nfq_link all = {NULL, "eth0", 4, IMPAIR_DIR_EGRESS};
    struct impair_nfq_link v4 = {"10.1.2.3", "eth0", 4, IMPAIR_DIR_EGRESS};
    struct impair_nfq_link v6 = {"2001:db8::7", "eth0", 4, IMPAIR_DIR_EGRESS};
    static const struct ipt_want setup6[] = {
        {1, "ip6tables -w -t mangle -N NATRIG_SHAPE_OUT"},
        {0, "ip6tables -w -t mangle -F NATRIG_SHAPE_OUT"},
        {0, "ip6tables -w -t mangle -A NATRIG_SHAPE_OUT -m mark --mark 0x4e545348 -j RETURN"},
        {1, "ip6tables -w -t mangle -D POSTROUTING -j NATRIG_SHAPE_OUT"},
        {0, "ip6tables -w -t mangle -I POSTROUTING 1 -j NATRIG_SHAPE_OUT"},
    };
    static const struct ipt_want add6[] = {
        {0, "ip6tables -w -t mangle -A NATRIG_SHAPE_OUT -o eth0 -j NFQUEUE --queue-num 4 "
            "--queue-bypass"},
    };
    static const struct ipt_want add6_addr[] = {
        {0, "ip6tables -w -t mangle -A NATRIG_SHAPE_OUT -o eth0 -d 2001:db8::7/128 -j NFQUEUE "
            "--queue-num 4 --queue-bypass"},
        {0, "ip6tables -w -t mangle -A NATRIG_SHAPE_IN -i eth0 -s 2001:db8::/64 -j NFQUEUE "
            "--queue-num 4 --queue-bypass"},
    };
    struct impair_nfq_link v6net = {"2001:DB8:0:0::1/64", "eth0", 4, IMPAIR_DIR_INGRESS};
    struct impair_nfq_link v6bad = {"2001:db8::g", "eth0", 4, IMPAIR_DIR_EGRESS};

    ok(impair_ipt_for_family(NULL, IMPAIR_FAMILY_V4, prog, sizeof prog, &err) == 0 &&
           strcmp(prog, "iptables") == 0,
       "v4 program: iptables");
    ok(impair_ipt_for_family(NULL, IMPAIR_FAMILY_V6, prog, sizeof prog, &err) == 0 &&
           strcmp(prog, "ip6tables") == 0,
       "v6 program: ip6tables");
    ok(impair_ipt_for_family("iptables-legacy", IMPAIR_FAMILY_V6, prog, sizeof prog, &err) == 0 &&
           strcmp(prog, "ip6tables-legacy") == 0,
       "v6 program of iptables-legacy: ip6tables-legacy");
    ok(impair_ipt_for_family("xtables", IMPAIR_FAMILY_V6, prog, sizeof prog, &err) == -1 &&
           strstr(err.msg, "cannot name the IPv6 program for 'xtables'"),
       "no IPv6 program for xtables: %s", err.msg);
    ok(impair_ipt_for_family("ip6tables", IMPAIR_FAMILY_V6, prog, sizeof prog, &err) == -1 &&
           strstr(err.msg, "give the IPv4 program"),
       "ip6tables as the base refused: %s", err.msg);
    ok(impair_ipt_for_family(NULL, IMPAIR_FAMILY_BOTH, prog, sizeof prog, &err) == -1 &&
           strstr(err.msg, "one family at a time"),
       "both is not one program: %s", err.msg);

    ok(impair_nfq_setup_cmds("ip6tables", IMPAIR_DIR_EGRESS, &c, &err) == 0, "ip6 setup");
    check_cmds(&c, setup6, sizeof setup6 / sizeof setup6[0], "ip6 setup egress");
    impair_cmds_free(&c);
    memset(&c, 0, sizeof c);
    ok(impair_nfq_link_add_cmds("ip6tables", &all, &c, &err) == 0, "ip6 add, whole interface");
    check_cmds(&c, add6, sizeof add6 / sizeof add6[0], "ip6 add egress");
    impair_cmds_free(&c);
    memset(&c, 0, sizeof c);
    ok(impair_nfq_link_add_cmds("ip6tables", &v4, &c, &err) == -1 && c.n == 0 &&
           strstr(err.msg, "'10.1.2.3' is IPv4: an IPv6 (ip6tables) rule needs an IPv6 address"),
       "IPv4 address in an ip6tables rule refused: %s", err.msg);
    /* an IPv6 address, canonical (core/ipv6), /128 unless a prefix is given (host bits cleared) */
    ok(impair_nfq_link_add_cmds("ip6tables", &v6, &c, &err) == 0 &&
           impair_nfq_link_add_cmds("ip6tables", &v6net, &c, &err) == 0,
       "ip6 add with IPv6 addresses (%s)", err.msg);
    check_cmds(&c, add6_addr, sizeof add6_addr / sizeof add6_addr[0], "ip6 add with an address");
    impair_cmds_free(&c);
    memset(&c, 0, sizeof c);
    ok(impair_nfq_link_add_cmds("ip6tables", &v6bad, &c, &err) == -1 && c.n == 0 &&
           strstr(err.msg, "bad link address '2001:db8::g' (want an IPv6 address[/len])"),
       "a bad IPv6 address is refused: %s", err.msg);
    ok(impair_nfq_link_add_cmds(NULL, &v6, &c, &err) == -1 && c.n == 0 &&
           strstr(err.msg, "'2001:db8::7' is IPv6: an IPv4 (iptables) rule needs an IPv4"),
       "IPv6 address in an iptables rule refused: %s", err.msg);
    impair_cmds_free(&c);
}

int main(void)
{
    test_iptables();
    test_family_ipt();
    test_partition();
    return tap_done();
}
