/* test_natrule_cgn.c - core/natrule_cgn: options, the bad input a CGN refuses (a port block
 * that does not divide the range, nothing behind it, customers that do not fit the pool),
 * each customer's address and ports, key lines of the ruleset, the listing checker on the
 * ruleset's own text and doctored copies, the flush argvs and the claim for home + CGN. TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/natrule_cgn.h"
#include "tap.h"

static int set(struct natrule_cgn *c, const char *const *kv, struct nt_err *err)
{
    size_t i;

    for (i = 0; kv[i]; i += 2)
        if (natrule_cgn_set_option(c, kv[i], kv[i + 1], err) < 0)
            return -1;
    return 0;
}

static void base(struct natrule_cgn *c)
{
    static const char *const kv[] = {"inside",   "100.64.7.0/24", "pool",     "203.0.113.20",
                                     "customer", "100.64.7.1",    "customer", "100.64.7.2",
                                     "customer", "100.64.7.3",    NULL};
    natrule_cgn_init(c);
    set(c, kv, NULL);
}

static void test_validate(void)
{
    struct natrule_cgn c;
    struct nt_err err = {0};

    base(&c);
    ok(natrule_cgn_validate(&c, &err) == 0, "a pool, an inside and three customers: valid (%s)",
       err.msg);
    base(&c);
    natrule_cgn_set_option(&c, "port_block", "500", NULL);
    ok(natrule_cgn_validate(&c, &err) < 0 && strstr(err.msg, "port_block 500 does not divide"),
       "500 does not divide 64512: %s", err.msg);
    natrule_cgn_init(&c);
    natrule_cgn_set_option(&c, "inside", "100.64.7.0/24", NULL);
    natrule_cgn_set_option(&c, "pool", "203.0.113.20", NULL);
    ok(natrule_cgn_validate(&c, &err) < 0 && strstr(err.msg, "nothing is behind the CGN"),
       "no customer: %s", err.msg);
    base(&c);
    natrule_cgn_set_option(&c, "port_block", "16128", NULL); /* 4 blocks an address */
    natrule_cgn_set_option(&c, "blocks", "2", NULL);
    ok(natrule_cgn_validate(&c, &err) < 0 && strstr(err.msg, "raise pool"),
       "3 customers x 2 blocks on one address of 4 blocks: %s", err.msg);
    natrule_cgn_set_option(&c, "pool", "203.0.113.21", NULL);
    ok(natrule_cgn_validate(&c, &err) == 0, "with two addresses they fit (%s)", err.msg);
    base(&c);
    ok(natrule_cgn_set_option(&c, "inside", "10.0.0.0/24", NULL) == 0 &&
           natrule_cgn_validate(&c, &err) < 0 && strstr(err.msg, "100.64.0.0/10"),
       "inside outside the shared space: %s", err.msg);
    base(&c);
    natrule_cgn_set_option(&c, "customer", "100.64.8.1", NULL);
    ok(natrule_cgn_validate(&c, &err) < 0 && strstr(err.msg, "not in the inside"),
       "a customer outside the inside subnet: %s", err.msg);
    ok(natrule_cgn_set_option(&c, "filtering", "ADM", &err) < 0, "filtering ADM refused: %s",
       err.msg);
    ok(natrule_cgn_set_option(&c, "nope", "1", &err) < 0 && strstr(err.msg, "valid: filtering"),
       "unknown option lists the valid ones: %s", err.msg);
    ok(natrule_cgn_set_option(&c, "blocks", "0", &err) < 0, "blocks=0 refused: %s", err.msg);
}

static void test_customers(void)
{
    struct natrule_cgn c;
    uint32_t a;
    unsigned lo, hi;

    base(&c);
    natrule_cgn_set_option(&c, "pool", "203.0.113.21", NULL);
    natrule_cgn_set_option(&c, "port_block", "256", NULL);
    natrule_cgn_customer(&c, 0, &a, &lo, &hi);
    ok(a == 0xcb007114u && lo == 1024 && hi == 2047, "customer 0: .20, 1024-2047 (%u-%u)", lo, hi);
    natrule_cgn_customer(&c, 1, &a, &lo, &hi);
    ok(a == 0xcb007115u && lo == 1024 && hi == 2047, "customer 1: .21, 1024-2047 (paired, pool 2)");
    natrule_cgn_customer(&c, 2, &a, &lo, &hi);
    ok(a == 0xcb007114u && lo == 2048 && hi == 3071, "customer 2: .20 again, the next 4 blocks");
    ok(natrule_cgn_customer(&c, 3, &a, &lo, &hi) < 0, "no customer 3");
}

static void test_ruleset_and_checker(void)
{
    struct natrule_cgn c, other;
    struct buf b;
    struct nt_err err = {0};
    struct natrule_argv av[16];
    char names[16][16];
    size_t n;

    base(&c);
    natrule_cgn_set_option(&c, "udp_timeout", "30", NULL);
    natrule_cgn_set_option(&c, "filtering", "APDF", NULL);
    buf_init(&b, 1 << 20);
    ok(natrule_cgn_ruleset(&c, &b, &err) == 0, "ruleset builds (%s)", err.msg);
    ok(strstr(b.data, "ip saddr 100.64.7.2 meta l4proto udp counter snat ip to 203.0.113.20:"
                      "3072-5119") != NULL,
       "customer 1 is SNATed into its blocks");
    ok(strstr(b.data, "update @q_2 { meta l4proto . udp sport timeout 30s } accept") &&
           strstr(b.data, "update @q_2 { meta l4proto . tcp sport timeout 7440s } accept") &&
           strstr(b.data, "meta l4proto { tcp, udp } counter name \"oop_2\" drop"),
       "one quota set per customer for UDP and TCP, each port for its protocol's timeout");
    ok(strstr(b.data, "size 2048") && strstr(b.data, "type inet_proto . inet_service"),
       "quota 4 x 512 (protocol, port)");
    ok(!strstr(b.data, "@pub_to_inside counter accept"), "APDF: no EIF accept in the guard");
    ok(strstr(b.data, "policy = { established : 7440 }") != NULL, "tcp timeout 2 h 4 min");
    ok(strstr(b.data,
              "ct state != new ct direction original ct original ip saddr @inside_nets "
              "ct original ip saddr . ct original proto-src @eim_out update @eim_out") != NULL,
       "a later packet only refreshes a live mapping (no resurrection by a stale flow)");
    ok(strstr(b.data, "ip saddr @inside_nets ip daddr @pool ip daddr . udp dport != @pub_to_inside "
                      "counter drop") != NULL,
       "hairpinned packets reach only live mappings");
    ok(natrule_cgn_check_listing(&c, b.data, &err) == 0, "the text passes its own check (%s)",
       err.msg);
    other = c;
    natrule_cgn_set_option(&other, "customer", "100.64.7.9", NULL);
    ok(natrule_cgn_check_listing(&other, b.data, &err) < 0 && strstr(err.msg, "another spec"),
       "a table of another spec is stale: %s", err.msg);
    other = c;
    other.pool[0] = 0xcb007115u;
    ok(natrule_cgn_check_listing(&other, b.data, &err) < 0, "another pool address: %s", err.msg);
    ok(natrule_cgn_check_listing(&c, "table ip natrig {\n}\n", &err) < 0, "an empty table: %s",
       err.msg);
    n = natrule_cgn_flush_argvs(&c, av, names, 16);
    ok(n == 7, "flush: seen_ap, pub_to_inside, eim_out, 3 quota sets, conntrack (%zu)", n);
    is_str(av[3].v[5], "q_0", "first quota set");
    is_str(av[6].v[0], "conntrack", "conntrack last");
    buf_free(&b);
}

static void test_claim(void)
{
    struct natrule_cgn c;
    struct natrule_spec h;
    struct natclass hc, out;

    base(&c);
    natrule_preset("port_restricted", &h, NULL);
    natclass_from_spec(&h, &hc);
    natrule_cgn_claim(&c, &hc, &out);
    ok(out.mapping == NATCLASS_EI && out.filtering == NATCLASS_APD && out.hairpin == NATCLASS_NO &&
           out.port_preserved == NATCLASS_NO,
       "port_restricted + CGN(EIF): EIM, APDF, no hairpin, port changed");
    natrule_preset("full_cone", &h, NULL);
    natclass_from_spec(&h, &hc);
    natrule_cgn_set_option(&c, "filtering", "ADF", NULL);
    natrule_cgn_claim(&c, &hc, &out);
    ok(out.filtering == NATCLASS_AD && out.hairpin == NATCLASS_YES,
       "full_cone + CGN(ADF): ADF, hairpin");
    natrule_cgn_claim(&c, NULL, &out);
    ok(out.mapping == NATCLASS_EI && out.hairpin == NATCLASS_YES, "a node right behind the CGN");
}

int main(void)
{
    test_validate();
    test_customers();
    test_ruleset_and_checker();
    test_claim();
    return tap_done();
}
