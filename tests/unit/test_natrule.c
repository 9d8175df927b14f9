/* test_natrule.c - core/natrule: presets and their lookup errors, address and subnet
 * parsing, option setting and validation, key lines present/absent in each preset's ruleset,
 * the argv lists, and the listing checker on real `nft list table ip natrig` output captured
 * from nft 1.0.6 (tests/fixtures/nft/) plus doctored copies it must reject. TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/natrule.h"
#include "tap.h"

#define WAN "203.0.113.1"
#define LAN "192.168.1.0/24"

/* Build a spec from a preset, WAN, LAN and "key=value" options; 0 or -1 with err. */
static int make_spec(struct natrule_spec *s, const char *preset, const char *const *opts,
                     struct nt_err *err)
{
    size_t i;

    if (natrule_preset(preset, s, err) < 0 || natrule_set_wan(s, WAN, err) < 0 ||
        natrule_add_lan(s, LAN, err) < 0)
        return -1;
    for (i = 0; opts && opts[i]; i++) {
        char key[64];
        const char *eq = strchr(opts[i], '=');
        size_t kl = (size_t)(eq - opts[i]);

        memcpy(key, opts[i], kl);
        key[kl] = '\0';
        if (natrule_set_option(s, key, eq + 1, err) < 0)
            return -1;
    }
    return 0;
}

/* --- presets ----------------------------------------------------------------------------- */

struct preset_row {
    const char *name;
    enum natrule_mapping m;
    enum natrule_filtering f;
    int hairpin, pp, racy;
};

static const struct preset_row preset_rows[] = {
    {"full_cone", NATRULE_EIM, NATRULE_EIF, 1, 1, 0},
    {"restricted_cone", NATRULE_EIM, NATRULE_ADF, 1, 1, 0},
    {"port_restricted", NATRULE_EIM, NATRULE_APDF, 1, 1, 0},
    {"symmetric", NATRULE_APDM, NATRULE_APDF, 1, 0, 0},
    {"address_dependent", NATRULE_ADM, NATRULE_ADF, 1, 0, 0},
    {"linux_masquerade", NATRULE_EIM, NATRULE_APDF, 0, 1, 1},
};

static void test_presets(void)
{
    const char *const *names = natrule_preset_names();
    struct natrule_spec s;
    struct nt_err err = {0};
    size_t i;

    for (i = 0; i < sizeof preset_rows / sizeof preset_rows[0]; i++) {
        const struct preset_row *r = &preset_rows[i];

        memset(&s, 0x5a, sizeof s);
        ok(natrule_preset(r->name, &s, &err) == 0, "preset %s found", r->name);
        ok(s.mapping == r->m && s.filtering == r->f && s.hairpin == r->hairpin &&
               s.port_preservation == r->pp && s.racy == r->racy,
           "preset %s: %s + %s hairpin=%d pp=%d racy=%d", r->name, natrule_mapping_name(s.mapping),
           natrule_filtering_name(s.filtering), s.hairpin, s.port_preservation, s.racy);
        is_int(s.udp_timeout, NATRULE_TIMEOUT_DEFAULT, "preset %s: default timeout", r->name);
        ok(s.wan_ip == 0 && s.n_lan == 0, "preset %s: no addresses yet", r->name);
        is_str(names[i], r->name, "preset name %zu", i);
    }
    ok(names[i] == NULL, "preset name list is NULL-terminated after %zu", i);

    ok(natrule_preset(NULL, &s, &err) == 0 && s.mapping == NATRULE_EIM &&
           s.filtering == NATRULE_APDF && !s.racy,
       "NULL preset is the default, port_restricted");
    ok(natrule_preset("", &s, &err) == 0 && s.filtering == NATRULE_APDF, "empty preset too");

    memset(&err, 0, sizeof err);
    ok(natrule_preset("fullcone", &s, &err) == -1, "unknown preset fails");
    is_int(err.code, NT_EINVAL, "unknown preset: einval");
    ok(strstr(err.msg, "unknown nat preset 'fullcone'") != NULL, "message names it: %s", err.msg);
    ok(strstr(err.msg, "full_cone, restricted_cone, port_restricted, symmetric, "
                       "address_dependent, linux_masquerade") != NULL,
       "message lists every valid preset");
    ok(natrule_preset("Full_Cone", &s, &err) == -1, "preset names are case-sensitive");
}

/* --- addresses ----------------------------------------------------------------------------- */

struct addr_row {
    const char *in;
    const char *errpart; /* NULL: must succeed */
};

static const struct addr_row wan_rows[] = {
    {"203.0.113.1", NULL},
    {"100.64.0.1", NULL},
    {"8.8.8.8", NULL},
    {"203.0.113", "bad IPv4 address '203.0.113'"},
    {"203.0.113.256", "bad IPv4 address"},
    {"203.0.113.1 ", "bad IPv4 address"},
    {" 203.0.113.1", "bad IPv4 address"},
    {"203.000.113.1", "bad IPv4 address"},
    {"0x1.2.3.4", "bad IPv4 address"},
    {"203.0.113.1/24", "bad IPv4 address"},
    {"::1", "bad IPv4 address"},
    {"", "bad IPv4 address ''"},
    {NULL, "bad IPv4 address ''"},
    {"0.0.0.0", "is the unspecified address"},
    {"255.255.255.255", "is the broadcast address"},
    {"127.0.0.1", "is a loopback address"},
    {"224.0.0.1", "is a multicast address"},
    {"239.255.255.250", "is a multicast address"},
};

static const struct addr_row lan_rows[] = {
    {"192.168.1.0/24", NULL},
    {"10.0.0.0/8", NULL},
    {"100.64.0.0/10", NULL},
    {"172.16.5.7/32", NULL},
    {"192.168.1.0", "is not a subnet"},
    {"192.168.1.0/", "bad prefix length"},
    {"192.168.1.0/24x", "bad prefix length"},
    {"192.168.1.0/-1", "bad prefix length"},
    {"192.168.1.0/+24", "bad prefix length"},
    {"192.168.1.0/024", "bad prefix length"},
    {"192.168.1.0/ 24", "bad prefix length"},
    {"192.168.1.0/33", "must be 8..32"},
    {"0.0.0.0/0", "must be 8..32"},
    {"10.0.0.0/7", "must be 8..32"},
    {"192.168.1.5/24", "has host bits set (did you mean 192.168.1.0/24?)"},
    {"10.1.0.0/8", "did you mean 10.0.0.0/8?"},
    {"300.1.1.0/24", "bad subnet address"},
    {"192.168.1/24", "bad subnet address"},
    {"/24", "bad subnet address"},
    {"", "is not a subnet"},
    {NULL, "is not a subnet"},
    {"192.168.001.0/24", "bad subnet address"},
};

static void test_addresses(void)
{
    struct natrule_spec s;
    struct nt_err err;
    size_t i;

    for (i = 0; i < sizeof wan_rows / sizeof wan_rows[0]; i++) {
        const struct addr_row *r = &wan_rows[i];
        int rc;

        natrule_preset(NULL, &s, NULL);
        memset(&err, 0, sizeof err);
        rc = natrule_set_wan(&s, r->in, &err);
        if (!r->errpart) {
            ok(rc == 0 && s.wan_ip != 0, "wan '%s' accepted", r->in);
        } else {
            ok(rc == -1 && err.code == NT_EINVAL && s.wan_ip == 0 && strstr(err.msg, r->errpart),
               "wan '%s' rejected: %s", r->in ? r->in : "(null)", err.msg);
        }
    }
    natrule_preset(NULL, &s, NULL);
    natrule_set_wan(&s, "203.0.113.7", NULL);
    is_int(s.wan_ip, 0xcb007107u, "wan stored in host byte order");

    for (i = 0; i < sizeof lan_rows / sizeof lan_rows[0]; i++) {
        const struct addr_row *r = &lan_rows[i];
        int rc;

        natrule_preset(NULL, &s, NULL);
        memset(&err, 0, sizeof err);
        rc = natrule_add_lan(&s, r->in, &err);
        if (!r->errpart) {
            ok(rc == 0 && s.n_lan == 1, "lan '%s' accepted", r->in);
        } else {
            ok(rc == -1 && err.code == NT_EINVAL && s.n_lan == 0 && strstr(err.msg, r->errpart),
               "lan '%s' rejected: %s", r->in ? r->in : "(null)", err.msg);
        }
    }
    natrule_preset(NULL, &s, NULL);
    natrule_add_lan(&s, "100.64.0.0/10", NULL);
    ok(s.lan[0].addr == 0x64400000u && s.lan[0].prefix == 10, "lan stored as network/prefix");

    /* overlap, in both orders, and the limit */
    natrule_preset(NULL, &s, NULL);
    ok(natrule_add_lan(&s, "192.168.1.0/24", NULL) == 0, "first lan");
    memset(&err, 0, sizeof err);
    ok(natrule_add_lan(&s, "192.168.0.0/16", &err) == -1 &&
           strstr(err.msg, "'192.168.0.0/16' overlaps 192.168.1.0/24"),
       "wider overlapping lan rejected: %s", err.msg);
    ok(natrule_add_lan(&s, "192.168.1.128/25", &err) == -1 && strstr(err.msg, "overlaps"),
       "narrower overlapping lan rejected");
    ok(natrule_add_lan(&s, "192.168.2.0/24", &err) == 0, "adjacent lan accepted");
    for (i = 3; i <= NATRULE_MAX_LAN; i++) {
        char cidr[32];

        snprintf(cidr, sizeof cidr, "10.%zu.0.0/16", i);
        natrule_add_lan(&s, cidr, NULL);
    }
    is_int(s.n_lan, NATRULE_MAX_LAN, "filled to the limit");
    memset(&err, 0, sizeof err);
    ok(natrule_add_lan(&s, "10.200.0.0/16", &err) == -1 && strstr(err.msg, "at most 8"),
       "one lan too many rejected: %s", err.msg);
}

/* --- options and validation ---------------------------------------------------------------- */

struct opt_row {
    const char *preset;
    const char *opts[4];
    const char *errpart; /* NULL: valid */
};

static const struct opt_row opt_rows[] = {
    {"port_restricted", {"mapping=adm", "port_preservation=off", NULL}, NULL},
    {"port_restricted", {"mapping=APDM", "filtering=eif", "port_preservation=no", NULL}, NULL},
    {"port_restricted", {"mapping=APDM", "filtering=ADF", "port_preservation=0", NULL}, NULL},
    {"symmetric", {"filtering=EIF", NULL}, NULL},
    {"address_dependent", {"filtering=APDF", NULL}, NULL},
    {"port_restricted", {"port_preservation=off", "hairpin=OFF", "udp_timeout=30", NULL}, NULL},
    {"port_restricted", {"udp_timeout=1", NULL}, NULL},
    {"port_restricted", {"udp_timeout=86400", NULL}, NULL},
    {"linux_masquerade", {"hairpin=on", NULL}, NULL},
    {"linux_masquerade", {"mapping=APDM", "port_preservation=off", NULL}, NULL},
    {"port_restricted", {"racy=yes", NULL}, NULL},
    {"port_restricted", {"mapping=ADM", NULL}, "port preservation needs endpoint independent"},
    {"port_restricted", {"mapping=APDM", NULL}, "APDM gives each remote its own port"},
    {"linux_masquerade", {"filtering=EIF", NULL}, "racy (plain masquerade) only filters"},
    {"linux_masquerade", {"filtering=ADF", NULL}, "ADF needs the guard"},
    {"linux_masquerade",
     {"mapping=ADM", "port_preservation=off", NULL},
     "no address dependent mapping"},
    {"linux_masquerade", {"port_preservation=off", NULL}, "racy EIM is plain masquerade"},
    {"linux_masquerade", {"mapping=APDM", NULL}, "port preservation needs"},
    {"full_cone", {"racy=on", NULL}, "racy (plain masquerade) only filters"},
    {"port_restricted", {"mapping=XIM", NULL}, "mapping: bad value 'XIM' (want EIM, ADM or APDM)"},
    {"port_restricted", {"filtering=", NULL}, "filtering: bad value ''"},
    {"port_restricted", {"hairpin=maybe", NULL}, "hairpin: bad value 'maybe' (want on or off)"},
    {"port_restricted", {"udp_timeout=0", NULL}, "out of range 1..86400"},
    {"port_restricted", {"udp_timeout=86401", NULL}, "out of range"},
    {"port_restricted", {"udp_timeout=-5", NULL}, "bad number '-5'"},
    {"port_restricted", {"udp_timeout=12s", NULL}, "bad number '12s'"},
    {"port_restricted", {"udp_timeout=99999999999999999999", NULL}, "bad number"},
    {"port_restricted", {"timeout=30", NULL}, "unknown nat option 'timeout' (valid: mapping,"},
    {"port_restricted", {"wan_ip=192.168.1.9", NULL}, "wan_ip 192.168.1.9 is inside lan"},
    {"port_restricted", {"lan=203.0.113.0/24", NULL}, "wan_ip 203.0.113.1 is inside lan"},
};

static void test_options(void)
{
    size_t i;

    for (i = 0; i < sizeof opt_rows / sizeof opt_rows[0]; i++) {
        const struct opt_row *r = &opt_rows[i];
        struct natrule_spec s;
        struct nt_err err = {0};
        int rc = make_spec(&s, r->preset, r->opts, &err);

        if (rc == 0)
            rc = natrule_validate(&s, &err);
        if (!r->errpart)
            ok(rc == 0, "%s %s %s: valid (%s)", r->preset, r->opts[0], r->opts[1] ? r->opts[1] : "",
               err.msg);
        else
            ok(rc == -1 && err.code == NT_EINVAL && strstr(err.msg, r->errpart),
               "%s %s %s: rejected: %s", r->preset, r->opts[0], r->opts[1] ? r->opts[1] : "",
               err.msg);
    }

    {
        struct natrule_spec s;
        struct nt_err err = {0};

        natrule_preset(NULL, &s, NULL);
        natrule_add_lan(&s, LAN, NULL);
        ok(natrule_validate(&s, &err) == -1 && strstr(err.msg, "wan_ip is not set"),
           "no wan rejected: %s", err.msg);
        natrule_preset(NULL, &s, NULL);
        natrule_set_wan(&s, WAN, NULL);
        ok(natrule_validate(&s, &err) == -1 && strstr(err.msg, "no lan subnet"),
           "no lan rejected: %s", err.msg);
        ok(make_spec(&s, NULL, NULL, &err) == 0 &&
               natrule_set_option(&s, "wan_ip", "10.0.0.1", &err) == 0 &&
               natrule_set_option(&s, "lan", "172.16.0.0/12", &err) == 0 && s.n_lan == 2 &&
               s.wan_ip == 0x0a000001u,
           "wan_ip and lan through set_option");
        ok(natrule_set_option(&s, NULL, "x", &err) == -1 && strstr(err.msg, "unknown nat option"),
           "NULL key rejected");
    }
}

/* --- rulesets ------------------------------------------------------------------------------ */

struct rules_row {
    const char *preset;
    const char *opts[3];
    const char *present[12];
    const char *absent[10];
};

/* lines every ruleset has, whatever the spec */
static const char *const common_lines[] = {
    "table ip natrig {}\ndelete table ip natrig\n\ntable ip natrig {\n",
    "\tset lan_nets {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 192.168.1.0/24 }\n",
    "\tct timeout udp_map {\n\t\tprotocol udp\n\t\tl3proto ip\n\t\tpolicy = { unreplied : ",
    "\t\ttype filter hook prerouting priority -150; policy accept;\n"
    "\t\tmeta l4proto udp ct timeout set \"udp_map\"\n"
    "\t\tmeta l4proto tcp ct timeout set \"tcp_map\"\n",
    "\tchain ct_policy {\n\t\tcomment \"natrig tcp mapping=",
    "\tchain snat_out {\n\t\ttype nat hook postrouting priority 100; policy accept;\n",
    "\t\tip saddr @lan_nets ip daddr != @lan_nets counter snat ip to 203.0.113.1\n\t}\n",
    "\tchain isolate {\n\t\ttype filter hook forward priority 0; policy accept;\n\t\tct state new "
    "ip saddr != @lan_nets ip daddr @lan_nets ct status & dnat != dnat counter drop\n\t}\n}\n",
    NULL,
};

#define GUARD "\t\tip daddr 203.0.113.1 ip saddr != @lan_nets "
#define OUT "\t\tip saddr @lan_nets ip daddr != @lan_nets "
#define HAIR "\t\tip saddr @lan_nets ip daddr @lan_nets ct status dnat "
#define LEARN "\t\tip saddr 203.0.113.1 ip daddr != @lan_nets meta l4proto udp "

static const struct rules_row rules_rows[] = {
    {"port_restricted",
     {NULL},
     {"\tcomment \"natrig mapping=EIM filtering=APDF hairpin=on port_preservation=on racy=off "
      "udp_timeout=120 wan_ip=203.0.113.1\"\n",
      "\tchain guard {\n\t\ttype filter hook prerouting priority -300; policy accept;\n" GUARD
      "ip saddr . udp sport . udp dport @seen_ap counter accept\n" GUARD
      "meta l4proto udp counter drop\n" GUARD "ip saddr . tcp sport",
      "\tchain dnat_in {\n\t\ttype nat hook prerouting priority -100; policy accept;\n"
      "\t\tip daddr 203.0.113.1 udp dport @pub_to_inside counter dnat ip to udp dport map "
      "@pub_to_inside\n",
      OUT "ip saddr . udp sport @eim_out counter snat ip to ip saddr . udp sport map @eim_out\n" OUT
          "udp sport @pub_to_inside counter snat ip to 203.0.113.1 random\n" OUT
          "meta l4proto udp counter snat ip to 203.0.113.1\n",
      HAIR "ip saddr . udp sport @eim_out counter snat",
      "\tchain learn {\n\t\ttype filter hook postrouting priority 300; policy accept;\n" LEARN
      "update @seen_ap { ip daddr . udp dport . udp sport }\n",
      LEARN "ct direction original ct original ip saddr @lan_nets update @pub_to_inside { udp "
            "sport : ct original ip saddr . ct original proto-src }\n",
      LEARN "ct direction reply ct reply ip saddr @lan_nets update @eim_out { ct reply ip saddr "
            ". ct reply proto-src : ip saddr . udp sport }\n",
      "\tset seen_ap {\n\t\ttype ipv4_addr . inet_service . inet_service\n\t\tflags "
      "dynamic,timeout\n\t\ttimeout 120s\n\t}\n",
      "\tmap eim_out {\n\t\ttype ipv4_addr . inet_service : ipv4_addr . inet_service\n",
      "\t\tpolicy = { unreplied : 120, replied : 120 }\n", NULL},
     {"seen_a ", "@seen_a ", "adm_out", "udp dport @pub_to_inside counter accept", " fwd", NULL}},
    {"full_cone",
     {NULL},
     {GUARD "udp dport @pub_to_inside counter accept\n" GUARD
            "ip saddr . udp sport . udp dport @seen_ap counter accept\n",
      "@eim_out", NULL},
     {"@seen_a ", "adm_out", NULL}},
    {"restricted_cone",
     {NULL},
     {GUARD "ip saddr . udp dport @seen_a counter accept\n",
      LEARN "update @seen_a { ip daddr . udp sport }\n",
      "\tset seen_a {\n\t\ttype ipv4_addr . inet_service\n", NULL},
     {"udp dport @pub_to_inside counter accept", "adm_out", NULL}},
    {"symmetric",
     {NULL},
     {OUT "meta l4proto udp counter snat ip to 203.0.113.1 random\n",
      HAIR "meta l4proto udp counter snat ip to 203.0.113.1 random\n",
      GUARD "ip saddr . udp sport . udp dport @seen_ap counter accept\n", NULL},
     {"eim_out", "adm_out", "@seen_a ", "udp sport @pub_to_inside counter snat",
      OUT "meta l4proto udp counter snat ip to 203.0.113.1\n", NULL}},
    {"address_dependent",
     {NULL},
     {OUT "ip saddr . udp sport . ip daddr @adm_out counter snat ip to ip saddr . udp sport . "
          "ip daddr map @adm_out\n" OUT "meta l4proto udp counter snat ip to 203.0.113.1 random\n",
      LEARN "ct direction original ct original ip saddr @lan_nets update @adm_out { ct original "
            "ip saddr . ct original proto-src . ip daddr : ip saddr . udp sport }\n",
      "\tmap adm_out {\n\t\ttype ipv4_addr . inet_service . ipv4_addr : ipv4_addr . "
      "inet_service\n",
      GUARD "ip saddr . udp dport @seen_a counter accept\n", NULL},
     {"eim_out", NULL}},
    {"linux_masquerade",
     {NULL},
     {"racy=on",
      OUT "meta l4proto udp counter snat ip to 203.0.113.1\n" OUT
          "meta l4proto tcp counter snat ip to 203.0.113.1\n" OUT
          "counter snat ip to 203.0.113.1\n\t}\n",
      NULL},
     {"chain guard", "seen_ap", "pub_to_inside", "eim_out", "chain learn", "chain dnat_in",
      "random", "ct status dnat\n", "drop\n\t}\n\t# after", NULL}},
    {"linux_masquerade",
     {"hairpin=on", NULL},
     {"\t\tip daddr 203.0.113.1 ip saddr @lan_nets udp dport @pub_to_inside counter dnat ip to "
      "udp dport map @pub_to_inside\n",
      HAIR "meta l4proto udp counter snat ip to 203.0.113.1\n",
      LEARN "ct direction original ct original ip saddr @lan_nets update @pub_to_inside", NULL},
     {"chain guard", "seen_ap", "eim_out", NULL}},
    {"port_restricted",
     {"hairpin=off", NULL},
     {"\t\tip daddr 203.0.113.1 ip saddr != @lan_nets udp dport @pub_to_inside counter dnat", NULL},
     {"ct status dnat ip saddr", HAIR, NULL}},
    {"port_restricted",
     {"port_preservation=off", "udp_timeout=45", NULL},
     {OUT "meta l4proto udp counter snat ip to 203.0.113.1 random\n", "\t\ttimeout 45s\n",
      "policy = { unreplied : 45, replied : 45 }", "@eim_out", NULL},
     {"udp sport @pub_to_inside counter snat", "120", NULL}},
};

/* A one-line TAP description of a (multi-line) expected text. */
static const char *brief(const char *s)
{
    static char out[64];
    size_t i = 0;

    for (; *s && i < sizeof out - 1; s++) {
        if (*s == '\n' || *s == '\t') {
            if (i && out[i - 1] != ' ')
                out[i++] = ' ';
        } else {
            out[i++] = *s;
        }
    }
    out[i] = '\0';
    return out;
}

static void check_lines(const char *text, const char *label, const char *const *present,
                        const char *const *absent)
{
    size_t j;

    for (j = 0; present && present[j]; j++)
        ok(strstr(text, present[j]) != NULL, "%s: has \"%s\"", label, brief(present[j]));
    for (j = 0; absent && absent[j]; j++)
        ok(strstr(text, absent[j]) == NULL, "%s: lacks \"%s\"", label, brief(absent[j]));
}

static void test_rulesets(void)
{
    size_t i;

    for (i = 0; i < sizeof rules_rows / sizeof rules_rows[0]; i++) {
        const struct rules_row *r = &rules_rows[i];
        struct natrule_spec s;
        struct nt_err err = {0};
        struct buf b;
        char label[96];

        snprintf(label, sizeof label, "%s%s%s", r->preset, r->opts[0] ? " " : "",
                 r->opts[0] ? r->opts[0] : "");
        buf_init(&b, 0);
        ok(make_spec(&s, r->preset, r->opts, &err) == 0 && natrule_ruleset(&s, &b, &err) == 0,
           "%s: ruleset built (%s)", label, err.msg);
        if (b.data) {
            check_lines(b.data, label, common_lines, NULL);
            check_lines(b.data, label, r->present, r->absent);
        }
        buf_free(&b);
    }

    {
        struct natrule_spec s;
        struct nt_err err = {0};
        struct buf b;
        const char *const opts[] = {"lan=10.9.0.0/16", "lan=172.16.5.7/32", NULL};

        buf_init(&b, 0);
        make_spec(&s, "port_restricted", opts, &err);
        ok(natrule_ruleset(&s, &b, &err) == 0 &&
               strstr(b.data, "elements = { 192.168.1.0/24, 10.9.0.0/16, 172.16.5.7/32 }"),
           "several lan subnets in one set");
        buf_free(&b);

        buf_init(&b, 100);
        memset(&err, 0, sizeof err);
        ok(natrule_ruleset(&s, &b, &err) == -1 && err.code == NT_LIMIT,
           "full buffer: NT_LIMIT (%s)", err.msg);
        buf_free(&b);

        buf_init(&b, 0);
        s.mapping = NATRULE_APDM; /* port preservation still on: invalid */
        memset(&err, 0, sizeof err);
        ok(natrule_ruleset(&s, &b, &err) == -1 && err.code == NT_EINVAL && b.len == 0,
           "invalid spec: no text, einval");
        buf_free(&b);

        natrule_preset("symmetric", &s, NULL);
        buf_init(&b, 0);
        ok(natrule_describe(&s, &b) == 0, "describe");
        is_str(b.data,
               "mapping=APDM filtering=APDF hairpin=on port_preservation=off racy=off "
               "udp_timeout=120",
               "describe symmetric");
        buf_free(&b);
    }
}

/* --- objects, argv ------------------------------------------------------------------------- */

static void test_objects_and_argv(void)
{
    struct natrule_spec s;
    struct natrule_object obj[NATRULE_MAX_OBJECTS];
    struct natrule_argv a[16];
    size_t n, i;
    char joined[512];

    make_spec(&s, "restricted_cone", NULL, NULL);
    n = natrule_objects(&s, obj, NATRULE_MAX_OBJECTS);
    joined[0] = '\0';
    for (i = 0; i < n; i++) {
        size_t l = strlen(joined);

        snprintf(joined + l, sizeof joined - l, "%s%s:%s%s%s", i ? " " : "", obj[i].kind,
                 obj[i].name, obj[i].hook ? "@" : "", obj[i].hook ? obj[i].hook : "");
    }
    is_str(joined,
           "set:lan_nets set:seen_ap set:seen_a map:pub_to_inside map:eim_out set:tcp_seen_ap "
           "set:tcp_seen_a map:tcp_pub_to_inside map:tcp_eim_out ct timeout:tcp_map "
           "chain:tcp_learn_est chain:tcp_learn_close chain:tcp_learn_new ct timeout:udp_map "
           "chain:guard@prerouting chain:ct_policy@prerouting chain:dnat_in@prerouting "
           "chain:snat_out@postrouting chain:learn@postrouting chain:isolate@forward",
           "restricted_cone objects");
    is_int(natrule_objects(&s, obj, 2), n, "objects: count even when max is smaller");

    make_spec(&s, "linux_masquerade", NULL, NULL);
    is_int(natrule_objects(&s, obj, NATRULE_MAX_OBJECTS), 6,
           "linux_masquerade: lan_nets, tcp_map, udp_map, ct_policy, snat_out, isolate");

    natrule_apply_argv(NULL, &a[0]);
    ok(!strcmp(a[0].v[0], "nft") && !strcmp(a[0].v[1], "-f") &&
           !strcmp(a[0].v[2], "/etc/natrig/nat.nft") && a[0].v[3] == NULL,
       "apply argv, default path");
    natrule_apply_argv("/tmp/x.nft", &a[0]);
    is_str(a[0].v[2], "/tmp/x.nft", "apply argv, given path");
    natrule_verify_argv(&a[0]);
    ok(!strcmp(a[0].v[0], "nft") && !strcmp(a[0].v[1], "list") && !strcmp(a[0].v[2], "table") &&
           !strcmp(a[0].v[3], "ip") && !strcmp(a[0].v[4], "natrig") && a[0].v[5] == NULL,
       "verify argv");

    make_spec(&s, "address_dependent", NULL, NULL);
    n = natrule_flush_argvs(&s, a, 16);
    is_int(n, 9, "address_dependent: 4 learned sets/maps, TCP's 4, conntrack -F");
    ok(!strcmp(a[0].v[1], "flush") && !strcmp(a[0].v[2], "set") && !strcmp(a[0].v[5], "seen_ap"),
       "flush seen_ap first (the guard closes before conntrack forgets)");
    ok(!strcmp(a[1].v[5], "seen_a") && !strcmp(a[2].v[2], "map") &&
           !strcmp(a[2].v[5], "pub_to_inside") && !strcmp(a[3].v[5], "adm_out") &&
           !strcmp(a[3].v[3], "ip") && !strcmp(a[3].v[4], "natrig") && a[3].v[6] == NULL,
       "flush seen_a, pub_to_inside, adm_out in table ip natrig");
    ok(!strcmp(a[4].v[5], "tcp_seen_ap") && !strcmp(a[7].v[5], "tcp_adm_out"),
       "then TCP's: tcp_seen_ap first");
    ok(!strcmp(a[8].v[0], "conntrack") && !strcmp(a[8].v[1], "-F") && a[8].v[2] == NULL,
       "conntrack -F last");
    is_int(natrule_flush_argvs(&s, a, 2), 9, "flush: count even when max is smaller");
    for (i = 0; i < 5; i++)
        ok(a[i].v[0] != NULL, "flush argv %zu filled", i);

    make_spec(&s, "linux_masquerade", NULL, NULL);
    n = natrule_flush_argvs(&s, a, 16);
    ok(n == 1 && !strcmp(a[0].v[0], "conntrack"), "racy: only conntrack -F to flush");

    n = natrule_diag_argvs(a, 16);
    ok(n == 3 && !strcmp(a[2].v[3], "tcp") && !strcmp(a[0].v[0], "nft") &&
           !strcmp(a[0].v[4], "natrig") && !strcmp(a[1].v[0], "conntrack") &&
           !strcmp(a[1].v[1], "-L") && !strcmp(a[1].v[2], "-p") && !strcmp(a[1].v[3], "udp") &&
           a[1].v[4] == NULL,
       "diag argvs");
}

/* --- the checker on real listings ---------------------------------------------------------- */

struct listing_row {
    const char *file; /* under fixtures/nft/ */
    const char *preset;
    const char *opts[4];
};

static const struct listing_row listing_rows[] = {
    {"full_cone.txt", "full_cone", {NULL}},
    {"restricted_cone.txt", "restricted_cone", {NULL}},
    {"port_restricted.txt", "port_restricted", {NULL}},
    {"symmetric.txt", "symmetric", {NULL}},
    {"address_dependent.txt", "address_dependent", {NULL}},
    {"linux_masquerade.txt", "linux_masquerade", {NULL}},
    {"linux_masquerade-hairpin_on.txt", "linux_masquerade", {"hairpin=on", NULL}},
    {"port_restricted-live.txt", "port_restricted", {NULL}},
    {"restricted_cone-live.txt", "restricted_cone", {NULL}},
    {"port_restricted-3lans.txt",
     "port_restricted",
     {"lan=10.9.0.0/16", "lan=172.16.5.7/32", NULL}},
};

/* Copy text with the first occurrence of from replaced by to. */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    size_t tl = strlen(text), fl = strlen(from), nl = strlen(to);
    char *out;

    if (!at)
        return NULL;
    out = malloc(tl - fl + nl + 1);
    memcpy(out, text, (size_t)(at - text));
    memcpy(out + (at - text), to, nl);
    memcpy(out + (at - text) + nl, at + fl, tl - (size_t)(at - text) - fl + 1);
    return out;
}

static void expect_reject(const struct natrule_spec *s, const char *text, const char *what,
                          const char *errpart)
{
    struct nt_err err = {0};

    ok(text && natrule_check_listing(s, text, &err) == -1 && err.code == NT_PARSE &&
           strstr(err.msg, errpart),
       "rejects %s: %s", what, err.msg);
}

static void test_checker(void)
{
    char path[512];
    size_t i;

    for (i = 0; i < sizeof listing_rows / sizeof listing_rows[0]; i++) {
        const struct listing_row *r = &listing_rows[i];
        struct natrule_spec s;
        struct nt_err err = {0};
        char *text;

        snprintf(path, sizeof path, "%s/nft/%s", tap_fixture_dir(), r->file);
        text = tap_slurp(path, NULL);
        ok(text != NULL, "read %s", path);
        if (!text)
            continue;
        make_spec(&s, r->preset, r->opts, NULL);
        ok(natrule_check_listing(&s, text, &err) == 0, "%s: ready (%s)", r->file, err.msg);
        free(text);
    }

    snprintf(path, sizeof path, "%s/nft/restricted_cone-live.txt", tap_fixture_dir());
    {
        char *text = tap_slurp(path, NULL), *bad;
        struct natrule_spec s, other;
        struct nt_err err = {0};

        make_spec(&s, "restricted_cone", NULL, NULL);
        ok(text != NULL, "read %s", path);
        if (!text)
            return;
        bad = replaced(text, "\tchain guard {", "\tchain guardx {");
        expect_reject(&s, bad, "a missing chain", "chain guard is missing");
        free(bad);
        bad = replaced(text, "\tset seen_a {", "\tset seen_b {");
        expect_reject(&s, bad, "a missing set (seen_ap must not stand in for seen_a)",
                      "set seen_a is missing");
        free(bad);
        bad = replaced(text, "\tmap eim_out {", "\tset eim_out {");
        expect_reject(&s, bad, "a map listed as a set", "map eim_out is missing");
        free(bad);
        bad = replaced(text, "\tct timeout udp_map {", "\tct timeout other {");
        expect_reject(&s, bad, "a missing ct timeout", "ct timeout udp_map is missing");
        free(bad);
        bad = replaced(text, "hook forward priority", "hook input priority");
        expect_reject(&s, bad, "a chain on the wrong hook", "chain isolate is not on hook forward");
        free(bad);
        bad = replaced(text, "table ip natrig {", "table ip natrug {");
        expect_reject(&s, bad, "another table", "table ip natrig is missing");
        free(bad);
        bad = replaced(text, "elements = { 192.168.1.0/24 }", "elements = { 192.168.10.0/24 }");
        expect_reject(&s, bad, "a lan subnet not loaded", "lan subnet 192.168.1.0/24 is not in");
        free(bad);
        expect_reject(&s, "", "empty output", "table ip natrig is missing");
        ok(natrule_check_listing(&s, NULL, &err) == -1 && strstr(err.msg, "table ip natrig is "
                                                                          "missing"),
           "rejects NULL output");

        other = s;
        natrule_set_option(&other, "filtering", "EIF", NULL);
        expect_reject(&other, text, "a stale table of another spec",
                      "holds another spec: comment \"natrig mapping=EIM filtering=ADF");
        other = s;
        natrule_set_option(&other, "udp_timeout", "60", NULL);
        expect_reject(&other, text, "another timeout",
                      "want \"natrig mapping=EIM filtering=ADF "
                      "hairpin=on port_preservation=on racy=off "
                      "udp_timeout=60");
        other = s;
        natrule_set_wan(&other, "203.0.113.10", NULL);
        expect_reject(&other, text, "another wan_ip", "wan_ip=203.0.113.10\"");
        other = s;
        natrule_add_lan(&other, "10.0.0.0/8", NULL);
        expect_reject(&other, text, "an extra lan subnet", "lan subnet 10.0.0.0/8 is not in");

        /* the wan address must match whole: 203.0.113.1 is not found inside 203.0.113.10 */
        for (bad = strstr(text, "203.0.113.1"); bad; bad = strstr(bad + 1, "203.0.113.1"))
            if (bad[11] < '0' || bad[11] > '9')
                bad[10] = '9';
        bad = replaced(text, "wan_ip=203.0.113.9\"", "wan_ip=203.0.113.1\"");
        expect_reject(&s, bad, "a wan_ip only in the comment",
                      "wan_ip 203.0.113.1 does not appear");
        free(bad);
        free(text);
        (void)err;
    }
}

/* family 6: the IPv6 firewall from the same generator (natrule_fw6.c's pieces). */
static void test_fw6(void)
{
    struct natrule_spec s;
    struct nt_err err = {0};
    struct buf b;
    struct natrule_object obj[NATRULE_MAX_OBJECTS];
    struct natrule_argv a[8];

    buf_init(&b, 0);
    natrule_preset(NULL, &s, NULL);
    ok(natrule_set_option(&s, "family", "6", NULL) == 0, "family=6");
    ok(natrule_set_option(&s, "wan_ip", "2001:db8:5::3", NULL) == 0, "an IPv6 wan_ip");
    ok(natrule_set_option(&s, "lan", "2001:db8:5:1::/64", NULL) == 0, "an IPv6 lan prefix");
    ok(natrule_set_option(&s, "lan", "2001:db8:5:1::1/64", &err) < 0 &&
           strstr(err.msg, "host bits"),
       "an IPv6 prefix with host bits is refused: %s", err.msg);
    ok(natrule_set_option(&s, "wan_ip", "fe80::1", &err) < 0, "a link-local wan_ip is refused");
    ok(natrule_set_option(&s, "family", "5", &err) < 0, "family=5 is refused");
    ok(natrule_set_option(&s, "filtering", "closed", NULL) == 0, "filtering=closed");
    ok(natrule_ruleset(&s, &b, &err) == 0, "a closed firewall's ruleset: %s", err.msg);
    ok(b.data && strstr(b.data, "table ip6 natrig {") && !strstr(b.data, "seen_ap") &&
           strstr(b.data, "meta l4proto udp counter drop") && !strstr(b.data, "snat"),
       "closed: table ip6 natrig, no learned set, every inbound UDP dropped, nothing translated");
    buf_free(&b);
    natrule_set_option(&s, "filtering", "APDF", NULL);
    buf_init(&b, 0);
    ok(natrule_ruleset(&s, &b, &err) == 0 &&
           strstr(b.data, "ip6 saddr . udp sport . ip6 daddr . udp dport @seen_ap counter accept"),
       "APDF: the guard accepts a learned (remote, remote port, inside, inside port)");
    ok(strstr(b.data, "l3proto ip6"), "the conntrack timeout policy is IPv6's");
    buf_free(&b);
    is_int(natrule_objects(&s, obj, NATRULE_MAX_OBJECTS), 7, "APDF firewall: 7 objects");
    is_int(natrule_flush_argvs(&s, a, 8), 2, "flush: seen_ap, then conntrack");
    is_str(a[0].v[3], "ip6", "the flush names table ip6");
    natrule_verify_argv_family(6, &a[0]);
    is_str(a[0].v[3], "ip6", "verify lists table ip6 natrig");
    natrule_set_option(&s, "filtering", "open", NULL);
    is_int(natrule_objects(&s, obj, NATRULE_MAX_OBJECTS), 4, "open: no guard, no learned set");
    /* a NAT refuses the firewall-only modes */
    natrule_preset(NULL, &s, NULL);
    natrule_set_option(&s, "wan_ip", "198.51.100.1", NULL);
    natrule_set_option(&s, "lan", "10.1.0.0/24", NULL);
    natrule_set_option(&s, "filtering", "closed", NULL);
    ok(natrule_validate(&s, &err) < 0 && strstr(err.msg, "IPv6 firewall"),
       "filtering=closed on the IPv4 NAT is refused: %s", err.msg);
}

int main(void)
{
    test_presets();
    test_addresses();
    test_options();
    test_rulesets();
    test_objects_and_argv();
    test_checker();
    test_fw6();
    return tap_done();
}
