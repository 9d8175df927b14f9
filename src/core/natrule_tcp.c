/* natrule_tcp.c - the TCP half of the NAT ruleset (RFC 5382), written into the chains of
 * natrule_ruleset.c's table at the places it calls. Pure: builds text only.
 *
 * How each behaviour is built (everything mirrors UDP's, natrule.h, with objects of its own,
 * since TCP and UDP ports are separate spaces):
 *  - Mapping (REQ-1: as RFC 4787's): tcp_eim_out / tcp_adm_out / `snat ... random`, chosen in
 *    snat_out as UDP's is, ports preserved only for EIM. Hairpinned TCP (REQ-9) goes through
 *    tcp_pub_to_inside like UDP's.
 *  - Filtering (REQ-3): the guard (prerouting -300, before conntrack, so nothing unsolicited
 *    leaves an entry that could move a mapping) accepts TCP to wan_ip whose (remote address,
 *    remote port, public port) an outbound segment opened (tcp_seen_ap), for ADF whose
 *    (remote address, public port) did (tcp_seen_a), for EIF any live mapping's port. An
 *    outbound SYN opens the filter, so simultaneous open (REQ-2) works through EIM cones.
 *  - An unsolicited SYN (REQ-4), at the end of the guard: drop (silently), rst (`reject with
 *    tcp reset`, what a host without a listener does; it breaks simultaneous open when it wins
 *    the race), hold: the first SYN of a (remote, remote port, public port) is dropped and
 *    remembered for 6 s in tcp_syn_hold (its retransmissions are dropped too); an outbound
 *    SYN of that connection meanwhile opens the filter, so the next retransmission passes;
 *    otherwise the first retransmission after 6 s gets ICMP port unreachable, REQ-4's answer
 *    (tcp_syn_seen remembers that the 6 s began). On a portmap router the guard marks instead
 *    and pm_late gives the same verdicts after a mapping's DNAT had its chance.
 *  - Timeouts (REQ-5): learned elements carry their own timeout: the established one
 *    (default 2 h 4 min) refreshed by every outbound segment of an established connection
 *    (conntrack's `assured`), the transitory one (4 min) for a connection being opened (added,
 *    never refreshed, so a SYN does not shorten a live mapping) or closed (FIN or RST). The
 *    `ct timeout tcp_map` policy gives conntrack the same two values.
 *  - racy (linux_masquerade): plain masquerade for TCP too: conntrack filtering (APDF), and an
 *    unsolicited SYN reaches the router's own stack, which answers RST and leaves a conntrack
 *    entry (the race, as with UDP). Only syn=rst and APDF can be honoured there.
 */
#include "core/natrule_tcp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OP "nat spec"

/* --- effective settings ------------------------------------------------------------------ */

enum natrule_mapping natrule_tcp_mapping(const struct natrule_spec *s)
{
    return s->tcp_mapping > 0 ? (enum natrule_mapping)(s->tcp_mapping - 1) : s->mapping;
}

enum natrule_filtering natrule_tcp_filtering(const struct natrule_spec *s)
{
    return s->tcp_filtering > 0 ? (enum natrule_filtering)(s->tcp_filtering - 1) : s->filtering;
}

enum natrule_syn natrule_tcp_syn(const struct natrule_spec *s)
{
    if (s->tcp_syn != NATRULE_SYN_DEFAULT)
        return s->tcp_syn;
    return s->racy ? NATRULE_SYN_RST : NATRULE_SYN_DROP;
}

int natrule_tcp_port_preservation(const struct natrule_spec *s)
{
    return s->port_preservation && natrule_tcp_mapping(s) == NATRULE_EIM;
}

unsigned natrule_tcp_established(const struct natrule_spec *s)
{
    return s->tcp_established ? s->tcp_established : NATRULE_TCP_ESTABLISHED_DEFAULT;
}

/* The default transitory timeout never outlives a shorter established one. */
unsigned natrule_tcp_transitory(const struct natrule_spec *s)
{
    unsigned est = natrule_tcp_established(s);

    if (s->tcp_transitory)
        return s->tcp_transitory;
    return est < NATRULE_TCP_TRANSITORY_DEFAULT ? est : NATRULE_TCP_TRANSITORY_DEFAULT;
}

static const char *const syn_names[] = {"default", "drop", "rst", "hold"};

const char *natrule_syn_name(enum natrule_syn y)
{
    if ((unsigned)y < sizeof syn_names / sizeof syn_names[0])
        return syn_names[y];
    return "?";
}

/* --- options and validation -------------------------------------------------------------- */

static int parse_seconds(const char *key, const char *v, unsigned *out, struct nt_err *err)
{
    char *end;
    unsigned long t;

    if (!v || v[0] < '0' || v[0] > '9')
        return nt_err_set(err, NT_EINVAL, OP, "%s: bad number '%s' (want whole seconds)", key,
                          v ? v : "");
    errno = 0;
    t = strtoul(v, &end, 10);
    if (errno || *end)
        return nt_err_set(err, NT_EINVAL, OP, "%s: bad number '%s' (want whole seconds)", key, v);
    if (t < 1 || t > NATRULE_TCP_TIMEOUT_MAX)
        return nt_err_set(err, NT_EINVAL, OP, "%s: %s is out of range 1..%u seconds", key, v,
                          NATRULE_TCP_TIMEOUT_MAX);
    *out = (unsigned)t;
    return 0;
}

/* "same" (or "default") gives 0: as UDP's; else 1 + the index of the name. */
static int parse_same_or(const char *key, const char *v, const char *a, const char *b,
                         const char *c, int *out, struct nt_err *err)
{
    const char *names[] = {a, b, c};

    if (v && (strcasecmp(v, "same") == 0 || strcasecmp(v, "default") == 0)) {
        *out = 0;
        return 0;
    }
    for (int i = 0; v && i < 3; i++) {
        if (strcasecmp(v, names[i]) == 0) {
            *out = i + 1;
            return 0;
        }
    }
    return nt_err_set(err, NT_EINVAL, OP, "%s: bad value '%s' (want %s, %s, %s or same)", key,
                      v ? v : "", a, b, c);
}

int natrule_tcp_option(struct natrule_spec *s, const char *key, const char *value,
                       struct nt_err *err)
{
    int v;

    if (strcmp(key, "tcp_mapping") == 0) {
        if (parse_same_or(key, value, "EIM", "ADM", "APDM", &v, err) < 0)
            return -1;
        s->tcp_mapping = v;
    } else if (strcmp(key, "tcp_filtering") == 0) {
        if (parse_same_or(key, value, "EIF", "ADF", "APDF", &v, err) < 0)
            return -1;
        s->tcp_filtering = v;
    } else if (strcmp(key, "tcp_syn") == 0) {
        for (v = 0; v < 4; v++)
            if (value && strcasecmp(value, syn_names[v]) == 0)
                break;
        if (v == 4)
            return nt_err_set(err, NT_EINVAL, OP,
                              "tcp_syn: bad value '%s' (want drop, rst or hold: what an "
                              "unsolicited inbound SYN gets)",
                              value ? value : "");
        s->tcp_syn = (enum natrule_syn)v;
    } else if (strcmp(key, "tcp_established") == 0) {
        return parse_seconds(key, value, &s->tcp_established, err);
    } else if (strcmp(key, "tcp_transitory") == 0) {
        return parse_seconds(key, value, &s->tcp_transitory, err);
    } else {
        return 1;
    }
    return 0;
}

int natrule_tcp_validate(const struct natrule_spec *s, struct nt_err *err)
{
    enum natrule_mapping m = natrule_tcp_mapping(s);
    enum natrule_filtering f = natrule_tcp_filtering(s);
    enum natrule_syn y = natrule_tcp_syn(s);

    if (s->tcp_mapping < 0 || s->tcp_mapping > 3 || s->tcp_filtering < 0 || s->tcp_filtering > 3 ||
        (unsigned)s->tcp_syn > NATRULE_SYN_HOLD)
        return nt_err_set(err, NT_EINVAL, OP, "tcp mapping, filtering or syn out of range");
    if (s->tcp_established > NATRULE_TCP_TIMEOUT_MAX || s->tcp_transitory > NATRULE_TCP_TIMEOUT_MAX)
        return nt_err_set(err, NT_EINVAL, OP, "tcp timeouts must be 1..%u seconds",
                          NATRULE_TCP_TIMEOUT_MAX);
    if (natrule_tcp_transitory(s) > natrule_tcp_established(s))
        return nt_err_set(err, NT_EINVAL, OP,
                          "tcp_transitory %u is longer than tcp_established %u: a connection "
                          "being opened or closed would outlive an established one",
                          natrule_tcp_transitory(s), natrule_tcp_established(s));
    if (!s->racy)
        return 0;
    if (f != NATRULE_APDF)
        return nt_err_set(err, NT_EINVAL, OP,
                          "racy (plain masquerade) filters TCP only by conntrack, which is APDF; "
                          "tcp filtering %s needs the guard (racy=off, another preset)",
                          natrule_filtering_name(f));
    if (m == NATRULE_ADM)
        return nt_err_set(err, NT_EINVAL, OP,
                          "racy (plain masquerade) has no address dependent mapping for TCP; "
                          "use EIM or APDM, or racy=off");
    if (m == NATRULE_EIM && !s->port_preservation)
        return nt_err_set(err, NT_EINVAL, OP,
                          "racy TCP EIM is plain masquerade, which preserves ports: set "
                          "port_preservation=on");
    if (y != NATRULE_SYN_RST)
        return nt_err_set(err, NT_EINVAL, OP,
                          "racy (plain masquerade) lets an unsolicited SYN reach the router's "
                          "own stack, which answers RST; tcp syn %s needs the guard (racy=off, "
                          "another preset)",
                          natrule_syn_name(y));
    return 0;
}

int natrule_tcp_describe(const struct natrule_spec *s, char *dst, size_t n, int len)
{
    enum natrule_syn dflt = s->racy ? NATRULE_SYN_RST : NATRULE_SYN_DROP;
    int k;

#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (len < 0 || (size_t)len >= n)                                                           \
            return -1;                                                                             \
        k = snprintf(dst + len, n - (size_t)len, __VA_ARGS__);                                     \
        len = k < 0 ? -1 : len + k;                                                                \
    } while (0)
    if (natrule_tcp_mapping(s) != s->mapping)
        ADD(" tcp_mapping=%s", natrule_mapping_name(natrule_tcp_mapping(s)));
    if (natrule_tcp_filtering(s) != s->filtering)
        ADD(" tcp_filtering=%s", natrule_filtering_name(natrule_tcp_filtering(s)));
    if (natrule_tcp_syn(s) != dflt)
        ADD(" tcp_syn=%s", natrule_syn_name(natrule_tcp_syn(s)));
    if (natrule_tcp_established(s) != NATRULE_TCP_ESTABLISHED_DEFAULT)
        ADD(" tcp_established=%u", natrule_tcp_established(s));
    if (natrule_tcp_transitory(s) != NATRULE_TCP_TRANSITORY_DEFAULT)
        ADD(" tcp_transitory=%u", natrule_tcp_transitory(s));
#undef ADD
    return len < 0 || (size_t)len >= n ? -1 : len;
}

void natrule_tcp_tag(const struct natrule_spec *s, char *dst, size_t n)
{
    snprintf(dst, n, "natrig tcp mapping=%s filtering=%s syn=%s established=%u transitory=%u",
             natrule_mapping_name(natrule_tcp_mapping(s)),
             natrule_filtering_name(natrule_tcp_filtering(s)), natrule_syn_name(natrule_tcp_syn(s)),
             natrule_tcp_established(s), natrule_tcp_transitory(s));
}

/* --- objects ----------------------------------------------------------------------------- */

struct tneeds {
    int guard, seen_a, inside, eim_out, adm_out, hold, learn;
};

static struct tneeds tneeds_of(const struct natrule_spec *s)
{
    struct tneeds n;

    n.guard = !s->racy;
    n.seen_a = !s->racy && natrule_tcp_filtering(s) == NATRULE_ADF;
    n.inside = !s->racy || s->hairpin;
    n.eim_out = !s->racy && natrule_tcp_mapping(s) == NATRULE_EIM;
    n.adm_out = !s->racy && natrule_tcp_mapping(s) == NATRULE_ADM;
    n.hold = !s->racy && natrule_tcp_syn(s) == NATRULE_SYN_HOLD;
    n.learn = n.guard || n.inside;
    return n;
}

void natrule_tcp_objects(const struct natrule_spec *s, struct natrule_object *all, size_t *k)
{
    struct tneeds n = tneeds_of(s);

    if (n.guard)
        all[(*k)++] = (struct natrule_object){"set", "tcp_seen_ap", NULL};
    if (n.seen_a)
        all[(*k)++] = (struct natrule_object){"set", "tcp_seen_a", NULL};
    if (n.inside)
        all[(*k)++] = (struct natrule_object){"map", "tcp_pub_to_inside", NULL};
    if (n.eim_out)
        all[(*k)++] = (struct natrule_object){"map", "tcp_eim_out", NULL};
    if (n.adm_out)
        all[(*k)++] = (struct natrule_object){"map", "tcp_adm_out", NULL};
    if (n.hold) {
        all[(*k)++] = (struct natrule_object){"set", "tcp_syn_hold", NULL};
        all[(*k)++] = (struct natrule_object){"set", "tcp_syn_seen", NULL};
    }
    all[(*k)++] = (struct natrule_object){"ct timeout", "tcp_map", NULL};
    if (n.learn) {
        all[(*k)++] = (struct natrule_object){"chain", "tcp_learn_est", NULL};
        all[(*k)++] = (struct natrule_object){"chain", "tcp_learn_close", NULL};
        all[(*k)++] = (struct natrule_object){"chain", "tcp_learn_new", NULL};
    }
}

/* --- text -------------------------------------------------------------------------------- */

void natrule_tcp_sets(struct out *o, const struct natrule_spec *s)
{
    struct tneeds n = tneeds_of(s);
    unsigned est = natrule_tcp_established(s), tr = natrule_tcp_transitory(s);

    if (n.guard)
        natrule_emit_dynset(o, "set", "tcp_seen_ap", "ipv4_addr . inet_service . inet_service", est,
                            "TCP outbound after NAT: remote address . remote port . public port");
    if (n.seen_a)
        natrule_emit_dynset(o, "set", "tcp_seen_a", "ipv4_addr . inet_service", est,
                            "TCP outbound after NAT: remote address . public port (ADF)");
    if (n.inside)
        natrule_emit_dynset(o, "map", "tcp_pub_to_inside",
                            "inet_service : ipv4_addr . inet_service", est,
                            "TCP public port -> inside endpoint (inbound DNAT, hairpin)");
    if (n.eim_out)
        natrule_emit_dynset(o, "map", "tcp_eim_out",
                            "ipv4_addr . inet_service : ipv4_addr . inet_service", est,
                            "TCP inside endpoint -> public address . port (EIM)");
    if (n.adm_out)
        natrule_emit_dynset(o, "map", "tcp_adm_out",
                            "ipv4_addr . inet_service . ipv4_addr : ipv4_addr . inet_service", est,
                            "TCP inside endpoint . remote address -> public address . port (ADM)");
    if (n.hold) {
        natrule_emit_dynset(o, "set", "tcp_syn_hold", "ipv4_addr . inet_service . inet_service",
                            NATRULE_SYN_HOLD_SECONDS,
                            "unsolicited SYNs held unanswered (RFC 5382 REQ-4)");
        natrule_emit_dynset(o, "set", "tcp_syn_seen", "ipv4_addr . inet_service . inet_service", tr,
                            "unsolicited SYNs whose hold began: answered once it is over");
    }
    natrule_emit(o, "\t# TCP conntrack entries: the established and transitory idle timeouts\n");
    natrule_emit(o,
                 "\tct timeout tcp_map {\n\t\tprotocol tcp\n\t\tl3proto ip\n"
                 "\t\tpolicy = { syn_sent : %u, syn_recv : %u, established : %u, fin_wait : %u, "
                 "close_wait : %u, last_ack : %u, time_wait : %u }\n\t}\n",
                 tr, tr, est, tr, tr, tr, tr);
}

/* The verdict on an unsolicited TCP segment that pre selects. */
static void unsolicited(struct out *o, const struct natrule_spec *s, const char *pre)
{
    static const char key[] = "ip saddr . tcp sport . tcp dport";
    static const char syn[] = "tcp flags & (syn | ack) == syn";

    switch (natrule_tcp_syn(s)) {
    case NATRULE_SYN_RST:
        natrule_emit(o, "\t\t%s meta l4proto tcp counter reject with tcp reset\n", pre);
        break;
    case NATRULE_SYN_HOLD:
        natrule_emit(o, "\t\t%s %s %s @tcp_syn_hold counter drop\n", pre, syn, key);
        natrule_emit(
            o,
            "\t\t%s %s %s @tcp_syn_seen counter delete @tcp_syn_seen { %s } reject with icmp "
            "type port-unreachable\n",
            pre, syn, key, key);
        natrule_emit(o,
                     "\t\t%s %s counter add @tcp_syn_seen { %s } add @tcp_syn_hold { %s } drop\n",
                     pre, syn, key, key);
        natrule_emit(o, "\t\t%s meta l4proto tcp counter drop\n", pre);
        break;
    default:
        natrule_emit(o, "\t\t%s meta l4proto tcp counter drop\n", pre);
        break;
    }
}

void natrule_tcp_guard(struct out *o, const struct natrule_spec *s, const char *pre)
{
    if (natrule_tcp_filtering(s) == NATRULE_EIF)
        natrule_emit(o, "\t\t%s tcp dport @tcp_pub_to_inside counter accept\n", pre);
    if (natrule_tcp_filtering(s) == NATRULE_ADF)
        natrule_emit(o, "\t\t%s ip saddr . tcp dport @tcp_seen_a counter accept\n", pre);
    natrule_emit(o, "\t\t%s ip saddr . tcp sport . tcp dport @tcp_seen_ap counter accept\n", pre);
    if (s->portmap)
        natrule_emit(o, "\t\t%s meta l4proto tcp counter meta mark set meta mark or 0x%x\n", pre,
                     NATRULE_PM_MARK);
    else
        unsolicited(o, s, pre);
}

void natrule_tcp_pm_late(struct out *o, const struct natrule_spec *s)
{
    unsolicited(o, s, "meta mark and " NATRULE_PM_MARK_S " != 0 ct status and dnat != dnat");
}

void natrule_tcp_ct_policy(struct out *o)
{
    natrule_emit(o, "\t\tmeta l4proto tcp ct timeout set \"tcp_map\"\n");
}

void natrule_tcp_dnat(struct out *o, const struct natrule_spec *s, const char *pre)
{
    (void)s;
    natrule_emit(o,
                 "\t\t%s tcp dport @tcp_pub_to_inside counter dnat ip to tcp dport map "
                 "@tcp_pub_to_inside\n",
                 pre);
}

void natrule_tcp_mapping_rules(struct out *o, const struct natrule_spec *s, const char *pre,
                               const char *wan)
{
    struct tneeds n = tneeds_of(s);

    if (s->racy) {
        natrule_emit(o, "\t\t%s meta l4proto tcp counter snat ip to %s%s\n", pre, wan,
                     natrule_tcp_mapping(s) == NATRULE_APDM ? " random" : "");
        return;
    }
    if (n.eim_out)
        natrule_emit(
            o,
            "\t\t%s ip saddr . tcp sport @tcp_eim_out counter snat ip to ip saddr . tcp sport "
            "map @tcp_eim_out\n",
            pre);
    if (n.adm_out)
        natrule_emit(
            o,
            "\t\t%s ip saddr . tcp sport . ip daddr @tcp_adm_out counter snat ip to ip saddr . "
            "tcp sport . ip daddr map @tcp_adm_out\n",
            pre);
    if (natrule_tcp_port_preservation(s)) {
        /* as UDP: a port another inside endpoint owns is not shared */
        natrule_emit(o, "\t\t%s tcp sport @tcp_pub_to_inside counter snat ip to %s random\n", pre,
                     wan);
        natrule_emit(o, "\t\t%s meta l4proto tcp counter snat ip to %s\n", pre, wan);
    } else {
        natrule_emit(o, "\t\t%s meta l4proto tcp counter snat ip to %s random\n", pre, wan);
    }
}

void natrule_tcp_learn(struct out *o, const struct natrule_spec *s, const char *wan)
{
    struct tneeds n = tneeds_of(s);
    char pre[128];

    if (!n.learn)
        return;
    snprintf(pre, sizeof pre, "ip saddr %s ip daddr != @lan_nets meta l4proto tcp", wan);
    /* conntrack's assured: the handshake completed (simultaneous open included) */
    natrule_emit(o, "\t\t%s ct status assured tcp flags & (fin | rst) == 0 jump tcp_learn_est\n",
                 pre);
    natrule_emit(o, "\t\t%s tcp flags & (fin | rst) != 0 jump tcp_learn_close\n", pre);
    natrule_emit(o, "\t\t%s jump tcp_learn_new\n", pre);
}

/* One learn chain: op is "update" (refresh to t) or "add" (only when absent). */
static void learn_chain(struct out *o, const struct natrule_spec *s, const char *name,
                        const char *op, unsigned t)
{
    static const char *const dirs[] = {"original", "reply"};
    struct tneeds n = tneeds_of(s);

    natrule_emit(o, "\tchain %s {\n", name);
    if (n.guard)
        natrule_emit(o, "\t\t%s @tcp_seen_ap { ip daddr . tcp dport . tcp sport timeout %us }\n",
                     op, t);
    if (n.seen_a)
        natrule_emit(o, "\t\t%s @tcp_seen_a { ip daddr . tcp sport timeout %us }\n", op, t);
    for (size_t i = 0; i < 2; i++) {
        const char *d = dirs[i];
        char pre[112];

        /* the l4proto match gives proto-src its type */
        snprintf(pre, sizeof pre, "meta l4proto tcp ct direction %s ct %s ip saddr @lan_nets", d,
                 d);
        if (n.inside)
            natrule_emit(
                o,
                "\t\t%s %s @tcp_pub_to_inside { tcp sport timeout %us : ct %s ip saddr . ct %s "
                "proto-src }\n",
                pre, op, t, d, d);
        if (n.eim_out)
            natrule_emit(
                o,
                "\t\t%s %s @tcp_eim_out { ct %s ip saddr . ct %s proto-src timeout %us : ip "
                "saddr . tcp sport }\n",
                pre, op, d, d, t);
        if (n.adm_out)
            natrule_emit(
                o,
                "\t\t%s %s @tcp_adm_out { ct %s ip saddr . ct %s proto-src . ip daddr timeout "
                "%us : ip saddr . tcp sport }\n",
                pre, op, d, d, t);
    }
    natrule_emit(o, "\t}\n");
}

void natrule_tcp_chains(struct out *o, const struct natrule_spec *s)
{
    unsigned est = natrule_tcp_established(s), tr = natrule_tcp_transitory(s);

    if (!tneeds_of(s).learn)
        return;
    natrule_emit(o,
                 "\t# TCP learning: established connections keep a mapping for the established\n");
    natrule_emit(o,
                 "\t# timeout; one being opened is added (never shortening a live one) and one\n");
    natrule_emit(o, "\t# being closed refreshed for the transitory timeout\n");
    learn_chain(o, s, "tcp_learn_est", "update", est);
    learn_chain(o, s, "tcp_learn_close", "update", tr);
    learn_chain(o, s, "tcp_learn_new", "add", tr);
}
