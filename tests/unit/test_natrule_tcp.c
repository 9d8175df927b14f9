/* test_natrule_tcp.c - core/natrule's TCP half (natrule_tcp.c): the effective settings of
 * each preset, the tcp_* options and their errors, what racy cannot honour, the rules each
 * unsolicited-SYN mode and mapping writes, the TCP tag the checker wants. TAP. The rules are
 * proven on a kernel by tests/nat/netns-tcp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/natrule.h"
#include "tap.h"

#define WAN "203.0.113.1"
#define LAN "192.168.1.0/24"
#define GUARD "\t\tip daddr 203.0.113.1 ip saddr != @lan_nets "
#define OUT "\t\tip saddr @lan_nets ip daddr != @lan_nets "

/* A spec from preset and "key=value" options; 0, or -1 with err (validation included). */
static int make(struct natrule_spec *s, const char *preset, const char *const *opts,
                struct nt_err *err)
{
    if (natrule_preset(preset, s, err) < 0 || natrule_set_wan(s, WAN, err) < 0 ||
        natrule_add_lan(s, LAN, err) < 0)
        return -1;
    for (size_t i = 0; opts && opts[i]; i++) {
        char key[64];
        const char *eq = strchr(opts[i], '=');
        size_t kl = (size_t)(eq - opts[i]);

        memcpy(key, opts[i], kl);
        key[kl] = '\0';
        if (natrule_set_option(s, key, eq + 1, err) < 0)
            return -1;
    }
    return natrule_validate(s, err);
}

/* The ruleset of preset + opts (static buffer's text, or "" when it fails). */
static const char *rules(const char *preset, const char *const *opts)
{
    static struct buf b;
    struct natrule_spec s;
    struct nt_err err = {0};

    buf_free(&b);
    buf_init(&b, 0);
    if (make(&s, preset, opts, &err) < 0 || natrule_ruleset(&s, &b, &err) < 0 || !b.data) {
        printf("# ruleset %s: %s\n", preset, err.msg);
        return "";
    }
    return b.data;
}

static void test_defaults(void)
{
    static const struct {
        const char *preset;
        enum natrule_mapping m;
        enum natrule_filtering f;
        enum natrule_syn syn;
        int pp;
    } rows[] = {
        {"full_cone", NATRULE_EIM, NATRULE_EIF, NATRULE_SYN_DROP, 1},
        {"restricted_cone", NATRULE_EIM, NATRULE_ADF, NATRULE_SYN_DROP, 1},
        {"port_restricted", NATRULE_EIM, NATRULE_APDF, NATRULE_SYN_DROP, 1},
        {"symmetric", NATRULE_APDM, NATRULE_APDF, NATRULE_SYN_DROP, 0},
        {"address_dependent", NATRULE_ADM, NATRULE_ADF, NATRULE_SYN_DROP, 0},
        {"linux_masquerade", NATRULE_EIM, NATRULE_APDF, NATRULE_SYN_RST, 1},
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct natrule_spec s;
        struct nt_err err = {0};

        ok(make(&s, rows[i].preset, NULL, &err) == 0, "%s valid (%s)", rows[i].preset, err.msg);
        ok(natrule_tcp_mapping(&s) == rows[i].m && natrule_tcp_filtering(&s) == rows[i].f,
           "%s: TCP keeps UDP's mapping and filtering", rows[i].preset);
        is_str(natrule_syn_name(natrule_tcp_syn(&s)), natrule_syn_name(rows[i].syn),
               "%s: unsolicited SYN", rows[i].preset);
        is_int(natrule_tcp_port_preservation(&s), rows[i].pp, "%s: TCP port preservation",
               rows[i].preset);
        ok(natrule_tcp_established(&s) == 7440 && natrule_tcp_transitory(&s) == 240,
           "%s: RFC 5382 timeouts 2 h 4 min and 4 min", rows[i].preset);
    }

    /* a zeroed spec (as another module may build one) is valid with the defaults */
    {
        struct natrule_spec s;
        struct nt_err err = {0};

        memset(&s, 0, sizeof s);
        s.udp_timeout = 120;
        natrule_set_wan(&s, WAN, NULL);
        natrule_add_lan(&s, LAN, NULL);
        ok(natrule_validate(&s, &err) == 0 && natrule_tcp_established(&s) == 7440,
           "zeroed spec: valid, TCP defaults (%s)", err.msg);
    }
}

static void test_options(void)
{
    static const struct {
        const char *opts[3];
        const char *errpart; /* NULL: valid */
    } rows[] = {
        {{"tcp_filtering=EIF", NULL}, NULL},
        {{"tcp_mapping=apdm", NULL}, NULL},
        {{"tcp_mapping=APDM", "tcp_mapping=same"}, NULL},
        {{"tcp_syn=hold", NULL}, NULL},
        {{"tcp_established=60", NULL}, NULL},
        {{"tcp_established=600", "tcp_transitory=600"}, NULL},
        {{"tcp_filtering=XYZ", NULL},
         "tcp_filtering: bad value 'XYZ' (want EIF, ADF, APDF or same)"},
        {{"tcp_mapping=", NULL}, "tcp_mapping: bad value ''"},
        {{"tcp_syn=reset", NULL}, "tcp_syn: bad value 'reset' (want drop, rst or hold"},
        {{"tcp_established=0", NULL}, "tcp_established: 0 is out of range 1..604800 seconds"},
        {{"tcp_established=-5", NULL}, "tcp_established: bad number '-5' (want whole seconds)"},
        {{"tcp_transitory=1.5", NULL}, "tcp_transitory: bad number '1.5'"},
        {{"tcp_established=604801", NULL}, "out of range"},
        {{"tcp_established=100", "tcp_transitory=200"},
         "tcp_transitory 200 is longer than tcp_established 100"},
        {{"tcp_timeout=5", NULL}, "unknown nat option 'tcp_timeout' (valid: mapping"},
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct natrule_spec s;
        struct nt_err err = {0};
        int rc = make(&s, "port_restricted", rows[i].opts, &err);

        if (!rows[i].errpart)
            ok(rc == 0, "%s %s: valid (%s)", rows[i].opts[0],
               rows[i].opts[1] ? rows[i].opts[1] : "", err.msg);
        else
            ok(rc == -1 && err.code == NT_EINVAL && strstr(err.msg, rows[i].errpart), "%s: %s",
               rows[i].opts[0], err.msg);
    }
    {
        struct natrule_spec s;
        const char *const o1[] = {"tcp_filtering=EIF", NULL};
        const char *const o2[] = {"tcp_established=60", NULL};
        const char *const o3[] = {"filtering=ADF", NULL};

        make(&s, "port_restricted", o1, NULL);
        ok(s.filtering == NATRULE_APDF && natrule_tcp_filtering(&s) == NATRULE_EIF,
           "tcp_filtering sets TCP apart, UDP stays APDF");
        make(&s, "port_restricted", o2, NULL);
        is_int(natrule_tcp_transitory(&s), 60,
               "the default transitory timeout never outlives "
               "a shorter established one");
        make(&s, "port_restricted", o3, NULL);
        ok(natrule_tcp_filtering(&s) == NATRULE_ADF, "a UDP filtering option moves TCP too");
    }
}

static void test_racy(void)
{
    static const struct {
        const char *opt;
        const char *errpart;
    } rows[] = {
        {"tcp_filtering=EIF", "filters TCP only by conntrack, which is APDF; tcp filtering EIF "
                              "needs the guard"},
        {"tcp_filtering=ADF", "tcp filtering ADF needs the guard"},
        {"tcp_mapping=ADM", "no address dependent mapping for TCP"},
        {"tcp_syn=drop", "answers RST; tcp syn drop needs the guard"},
        {"tcp_syn=hold", "tcp syn hold needs the guard"},
        {"tcp_syn=rst", NULL},
        {"tcp_established=600", NULL},
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct natrule_spec s;
        struct nt_err err = {0};
        const char *const opts[] = {rows[i].opt, NULL};
        int rc = make(&s, "linux_masquerade", opts, &err);

        if (!rows[i].errpart)
            ok(rc == 0, "linux_masquerade %s: valid (%s)", rows[i].opt, err.msg);
        else
            ok(rc == -1 && strstr(err.msg, rows[i].errpart), "linux_masquerade %s: %s", rows[i].opt,
               err.msg);
    }
}

/* A one-line TAP description of a (multi-line) expected text. */
static const char *brief(const char *s)
{
    static char out[72];
    size_t i = 0;

    for (; *s && i < sizeof out - 1; s++)
        if (*s != '\n' && *s != '\t')
            out[i++] = *s;
        else if (i && out[i - 1] != ' ')
            out[i++] = ' ';
    out[i] = '\0';
    return out;
}

static void has(const char *text, const char *what, const char *label)
{
    ok(strstr(text, what) != NULL, "%s: has %s", label, brief(what));
}

static void lacks(const char *text, const char *what, const char *label)
{
    ok(strstr(text, what) == NULL, "%s: lacks %s", label, brief(what));
}

static void test_rules(void)
{
    const char *t;
    const char *const rst[] = {"tcp_syn=rst", NULL};
    const char *const hold[] = {"tcp_syn=hold", NULL};
    const char *const pm[] = {"tcp_syn=rst", "portmap=on", NULL};
    const char *const eif[] = {"tcp_filtering=EIF", "tcp_mapping=APDM", NULL};
    const char *const hp[] = {"hairpin=on", NULL};

    t = rules("port_restricted", NULL);
    has(t,
        GUARD "ip saddr . tcp sport . tcp dport @tcp_seen_ap counter accept\n" GUARD
              "meta l4proto tcp counter drop\n",
        "drop");
    has(t,
        OUT "ip saddr . tcp sport @tcp_eim_out counter snat ip to ip saddr . tcp sport map "
            "@tcp_eim_out\n",
        "EIM");
    has(t,
        "policy = { syn_sent : 240, syn_recv : 240, established : 7440, fin_wait : 240, "
        "close_wait : 240, last_ack : 240, time_wait : 240 }",
        "conntrack timeouts");
    has(t, "ct status assured tcp flags & (fin | rst) == 0 jump tcp_learn_est\n", "learn");
    has(t,
        "\tchain tcp_learn_new {\n\t\tadd @tcp_seen_ap { ip daddr . tcp dport . tcp sport "
        "timeout 240s }\n",
        "a new connection is added, not refreshed");
    has(t,
        "\tchain tcp_learn_est {\n\t\tupdate @tcp_seen_ap { ip daddr . tcp dport . tcp sport "
        "timeout 7440s }\n",
        "an established one refreshed");
    has(t,
        "comment \"natrig tcp mapping=EIM filtering=APDF syn=drop established=7440 "
        "transitory=240\"",
        "tag");
    lacks(t, "reject", "drop");

    t = rules("port_restricted", rst);
    has(t, GUARD "meta l4proto tcp counter reject with tcp reset\n", "rst");
    t = rules("port_restricted", hold);
    has(t,
        GUARD "tcp flags & (syn | ack) == syn ip saddr . tcp sport . tcp dport @tcp_syn_hold "
              "counter drop\n",
        "hold: held");
    has(t, "reject with icmp type port-unreachable", "hold: answered after");
    has(t,
        "\tset tcp_syn_hold {\n\t\ttype ipv4_addr . inet_service . inet_service\n\t\tflags "
        "dynamic,timeout\n\t\ttimeout 6s\n",
        "hold: 6 s");
    t = rules("port_restricted", pm);
    has(t, GUARD "meta l4proto tcp counter meta mark set meta mark or 0x1\n", "portmap: marks");
    has(t,
        "\t\tmeta mark and 0x1 != 0 ct status and dnat != dnat meta l4proto tcp counter reject "
        "with tcp reset\n",
        "portmap: pm_late answers");
    has(t, "meta mark and 0x1 == 0 tcp dport @tcp_pub_to_inside counter dnat", "portmap: dnat");
    t = rules("port_restricted", eif);
    has(t, GUARD "tcp dport @tcp_pub_to_inside counter accept\n", "tcp EIF");
    has(t, OUT "meta l4proto tcp counter snat ip to 203.0.113.1 random\n", "tcp APDM");
    lacks(t, "tcp_eim_out", "tcp APDM");
    has(t, "\n# natrig tcp mapping=APDM filtering=EIF syn=drop",
        "the header names TCP's behaviour");
    t = rules("symmetric", NULL);
    has(t, OUT "meta l4proto tcp counter snat ip to 203.0.113.1 random\n", "symmetric");
    has(t,
        "\t\tip saddr @lan_nets ip daddr @lan_nets ct status dnat meta l4proto tcp counter snat ip "
        "to 203.0.113.1 random\n",
        "symmetric hairpin");
    t = rules("restricted_cone", NULL);
    has(t, GUARD "ip saddr . tcp dport @tcp_seen_a counter accept\n", "ADF");
    t = rules("linux_masquerade", NULL);
    lacks(t, "tcp_seen_ap", "racy");
    has(t, OUT "meta l4proto tcp counter snat ip to 203.0.113.1\n", "racy");
    t = rules("linux_masquerade", hp);
    has(t, "\t\tip daddr 203.0.113.1 ip saddr @lan_nets tcp dport @tcp_pub_to_inside counter dnat",
        "racy hairpin");
}

static void test_describe_and_check(void)
{
    struct natrule_spec s;
    struct buf b;
    struct nt_err err = {0};
    const char *const o[] = {"tcp_syn=rst", "tcp_established=600", NULL};
    char path[512], *text;

    make(&s, "symmetric", o, NULL);
    buf_init(&b, 0);
    natrule_describe(&s, &b);
    is_str(b.data,
           "mapping=APDM filtering=APDF hairpin=on port_preservation=off racy=off udp_timeout=120 "
           "tcp_syn=rst tcp_established=600",
           "describe: TCP settings apart from the defaults");
    buf_free(&b);

    snprintf(path, sizeof path, "%s/nft/port_restricted.txt", tap_fixture_dir());
    text = tap_slurp(path, NULL);
    ok(text != NULL, "read %s", path);
    if (!text)
        return;
    make(&s, "port_restricted", NULL, NULL);
    ok(natrule_check_listing(&s, text, &err) == 0, "port_restricted listing: ready (%s)", err.msg);
    make(&s, "port_restricted", o, NULL);
    ok(natrule_check_listing(&s, text, &err) == -1 &&
           strstr(err.msg, "holds other TCP rules: want natrig tcp mapping=EIM filtering=APDF "
                           "syn=rst established=600"),
       "another TCP spec is caught: %s", err.msg);
    free(text);
}

int main(void)
{
    test_defaults();
    test_options();
    test_racy();
    test_rules();
    test_describe_and_check();
    return tap_done();
}
