/* natrule_ruleset.c - a valid NAT spec -> the nftables ruleset text for `nft -f`: the table
 * and its comment (the spec's tag), set lan_nets, UDP's sets, maps and chains, with TCP's
 * (natrule_tcp.c) and the IPv6 firewall's (natrule_fw6.c) pieces called at their places; and
 * the list of objects that text holds. Writes through natrule_out.h. Pure. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/natrule.h"
#include "core/natrule_int.h"
#include "core/natrule_out.h"
#include "core/natrule_tcp.h"

/* with_tcp: the TCP settings that are not the default too (the table comment has no room:
 * nft allows 128 characters; TCP's own tag is chain ct_policy's comment). */
static int describe(const struct natrule_spec *s, char *dst, size_t n, int with_tcp)
{
    int len;

    if (s->family == 6) { /* the IPv6 firewall: filtering only (natrule_fw6.c) */
        len = snprintf(dst, n, "family=6 filtering=%s hairpin=%s udp_timeout=%u",
                       natrule_filtering_name(s->filtering), s->hairpin ? "on" : "off",
                       s->udp_timeout);
        return len < 0 || (size_t)len >= n ? -1 : len;
    }
    len = snprintf(dst, n,
                   "mapping=%s filtering=%s hairpin=%s port_preservation=%s racy=%s "
                   "udp_timeout=%u",
                   natrule_mapping_name(s->mapping), natrule_filtering_name(s->filtering),
                   s->hairpin ? "on" : "off", s->port_preservation ? "on" : "off",
                   s->racy ? "on" : "off", s->udp_timeout);

    if (len >= 0 && (size_t)len < n && s->portmap)
        len += snprintf(dst + len, n - (size_t)len, " portmap=on");
    if (with_tcp && len >= 0 && (size_t)len < n)
        len = natrule_tcp_describe(s, dst, n, len);
    return len < 0 || (size_t)len >= n ? -1 : len;
}

int natrule_describe(const struct natrule_spec *s, struct buf *out)
{
    char line[256];
    int n = describe(s, line, sizeof line, 1);

    return n < 0 ? -1 : buf_append(out, line, (size_t)n);
}

/* The table comment: the spec's identity, so a listing shows which spec is loaded and the
 * checker can tell a stale table from the wanted one. LAN subnets are left out (up to eight
 * could pass nft's 256-byte comment limit); the checker reads them from set lan_nets. */
void natrule_spec_tag(const struct natrule_spec *s, char *dst, size_t n)
{
    char d[256], wan[IPV6_TEXT_MAX];

    if (describe(s, d, sizeof d, 0) < 0)
        d[0] = '\0';
    if (s->family == 6)
        ipv6_format(&s->wan_ip6, wan, sizeof wan);
    else
        ipv4_format(s->wan_ip, wan, sizeof wan);
    snprintf(dst, n, "natrig %s wan_ip=%s", d, wan);
}

/* Which optional objects a spec needs. The maps exist whenever anything DNATs through them. */
struct needs {
    int guard;  /* guard chain, seen_ap */
    int seen_a; /* ADF pairs */
    int inside; /* pub_to_inside map, dnat_in chain, learn chain */
    int eim_out;
    int adm_out;
};

static struct needs needs_of(const struct natrule_spec *s)
{
    struct needs n;

    n.guard = !s->racy;
    n.seen_a = !s->racy && s->filtering == NATRULE_ADF;
    n.inside = !s->racy || s->hairpin;
    n.eim_out = !s->racy && s->mapping == NATRULE_EIM;
    n.adm_out = !s->racy && s->mapping == NATRULE_ADM;
    return n;
}

/* The mapping choice for a new flow. pre is the match that selects the packets (outbound or
 * hairpinned). A learned EIM/ADM mapping of the sender is reused before a new port is chosen. */
static void emit_mapping(struct out *o, const struct natrule_spec *s, const struct needs *n,
                         const char *pre, const char *wan)
{
    if (s->racy) {
        natrule_emit(o, "\t\t%s meta l4proto udp counter snat ip to %s%s\n", pre, wan,
                     s->mapping == NATRULE_APDM ? " random" : "");
        return;
    }
    if (n->eim_out)
        natrule_emit(o,
                     "\t\t%s ip saddr . udp sport @eim_out counter snat ip to ip saddr . udp sport "
                     "map @eim_out\n",
                     pre);
    if (n->adm_out)
        natrule_emit(
            o,
            "\t\t%s ip saddr . udp sport . ip daddr @adm_out counter snat ip to ip saddr . "
            "udp sport . ip daddr map @adm_out\n",
            pre);
    if (s->port_preservation) {
        /* The inside port is taken as public port by another inside endpoint: do not share
         * it (pub_to_inside could then only point at one of them). */
        natrule_emit(o, "\t\t%s udp sport @pub_to_inside counter snat ip to %s random\n", pre, wan);
        natrule_emit(o, "\t\t%s meta l4proto udp counter snat ip to %s\n", pre, wan);
    } else {
        natrule_emit(o, "\t\t%s meta l4proto udp counter snat ip to %s random\n", pre, wan);
    }
}

enum learn_kind { LEARN_INSIDE, LEARN_EIM, LEARN_ADM };

/* One update of a learned map for both conntrack directions: outbound packets of flows the
 * LAN opened (original) and of flows a mapping let in (reply); both refresh the mapping. The
 * inside endpoint is the conntrack tuple's source in that direction: the packet itself
 * already carries the public address here. */
static void emit_learn_map(struct out *o, const char *pre, enum learn_kind kind)
{
    static const char *const dirs[] = {"original", "reply"};
    size_t i;

    for (i = 0; i < 2; i++) {
        const char *d = dirs[i];

        natrule_emit(o, "\t\t%s ct direction %s ct %s ip saddr @lan_nets ", pre, d, d);
        switch (kind) {
        case LEARN_INSIDE:
            natrule_emit(o,
                         "update @pub_to_inside { udp sport : ct %s ip saddr . ct %s proto-src }\n",
                         d, d);
            break;
        case LEARN_EIM:
            natrule_emit(
                o, "update @eim_out { ct %s ip saddr . ct %s proto-src : ip saddr . udp sport }\n",
                d, d);
            break;
        case LEARN_ADM:
            natrule_emit(
                o,
                "update @adm_out { ct %s ip saddr . ct %s proto-src . ip daddr : ip saddr . "
                "udp sport }\n",
                d, d);
            break;
        }
    }
}

int natrule_ruleset(const struct natrule_spec *s, struct buf *b, struct nt_err *err)
{
    struct out o = {b, 0};
    struct needs n;
    char wan[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN];
    char pre[128], tag[224], tcp_tag[160];
    size_t i;

    const char *fam = natrule_family_kw(s);
    int v6 = s->family == 6;

    if (natrule_validate(s, err) < 0)
        return -1;
    n = needs_of(s);
    ipv4_format(s->wan_ip, wan, sizeof wan);

    natrule_spec_tag(s, tag, sizeof tag);
    natrule_tcp_tag(s, tcp_tag, sizeof tcp_tag);
    /* "natrule.c" names the module (core/natrule*): the first line stays as it always was */
    natrule_emit(&o, "# %s (generated by natrule.c)\n# %s\n", tag,
                 v6 ? "the IPv6 firewall" : tcp_tag);
    natrule_emit(&o, "# Loading this file again replaces table %s natrig in one transaction.\n",
                 fam);
    natrule_emit(&o, "table %s natrig {}\ndelete table %s natrig\n\ntable %s natrig {\n", fam, fam,
                 fam);
    natrule_emit(&o, "\tcomment \"%s\"\n", tag);

    natrule_emit(&o, "\t# LAN subnets: rules match addresses, never interface names\n");
    natrule_emit(&o, "\tset lan_nets {\n\t\ttype %s\n\t\tflags interval\n\t\telements = { ",
                 v6 ? "ipv6_addr" : "ipv4_addr");
    if (v6)
        natrule_fw6_lan_elements(&o, s);
    for (i = 0; !v6 && i < s->n_lan; i++) {
        ipv4_format(s->lan[i].addr, net, sizeof net);
        natrule_emit(&o, "%s%s/%d", i ? ", " : "", net, s->lan[i].prefix);
    }
    natrule_emit(&o, " }\n\t}\n");
    if (v6) { /* the firewall: no translation, only filtering (natrule_fw6.c) */
        natrule_fw6_body(&o, s);
        goto done;
    }

    if (n.guard)
        natrule_emit_dynset(&o, "set", "seen_ap", "ipv4_addr . inet_service . inet_service",
                            s->udp_timeout,
                            "outbound after NAT: remote address . remote port . public port");
    if (n.seen_a)
        natrule_emit_dynset(&o, "set", "seen_a", "ipv4_addr . inet_service", s->udp_timeout,
                            "outbound after NAT: remote address . public port (ADF)");
    if (n.inside)
        natrule_emit_dynset(&o, "map", "pub_to_inside", "inet_service : ipv4_addr . inet_service",
                            s->udp_timeout,
                            "public port -> inside endpoint (inbound DNAT, hairpin)");
    if (n.eim_out)
        natrule_emit_dynset(&o, "map", "eim_out",
                            "ipv4_addr . inet_service : ipv4_addr . inet_service", s->udp_timeout,
                            "inside endpoint -> public address . port (EIM)");
    if (n.adm_out)
        natrule_emit_dynset(
            &o, "map", "adm_out", "ipv4_addr . inet_service . ipv4_addr : ipv4_addr . inet_service",
            s->udp_timeout, "inside endpoint . remote address -> public address . port (ADM)");

    natrule_tcp_sets(&o, s);
    natrule_emit(&o, "\t# UDP conntrack entries live as long as a mapping\n");
    natrule_emit(&o,
                 "\tct timeout udp_map {\n\t\tprotocol udp\n\t\tl3proto ip\n"
                 "\t\tpolicy = { unreplied : %u, replied : %u }\n\t}\n",
                 s->udp_timeout, s->udp_timeout);

    if (n.guard) {
        natrule_emit(&o,
                     "\t# before conntrack (-200): a dropped packet leaves no conntrack entry\n");
        natrule_emit(
            &o, "\tchain guard {\n\t\ttype filter hook prerouting priority -300; policy accept;\n");
        snprintf(pre, sizeof pre, "ip daddr %s ip saddr != @lan_nets", wan);
        if (s->filtering == NATRULE_EIF)
            natrule_emit(&o, "\t\t%s udp dport @pub_to_inside counter accept\n", pre);
        if (s->filtering == NATRULE_ADF)
            natrule_emit(&o, "\t\t%s ip saddr . udp dport @seen_a counter accept\n", pre);
        natrule_emit(&o, "\t\t%s ip saddr . udp sport . udp dport @seen_ap counter accept\n", pre);
        if (s->portmap)
            /* the drop waits for pm_late: a port mapping's DNAT may still claim the packet */
            natrule_emit(&o, "\t\t%s meta l4proto udp counter meta mark set meta mark or 0x%x\n",
                         pre, NATRULE_PM_MARK);
        else
            natrule_emit(&o, "\t\t%s meta l4proto udp counter drop\n", pre);
        natrule_tcp_guard(&o, s, pre);
        natrule_emit(&o, "\t}\n");
    }

    natrule_emit(&o,
                 "\t# after conntrack, before the entry is confirmed: the only place it applies\n");
    natrule_emit(&o,
                 "\tchain ct_policy {\n\t\tcomment \"%s\"\n"
                 "\t\ttype filter hook prerouting priority -150; policy accept;\n",
                 tcp_tag);
    natrule_emit(&o, "\t\tmeta l4proto udp ct timeout set \"udp_map\"\n");
    natrule_tcp_ct_policy(&o);
    natrule_emit(&o, "\t}\n");

    if (n.inside) {
        natrule_emit(
            &o, "\tchain dnat_in {\n\t\ttype nat hook prerouting priority -100; policy accept;\n");
        if (s->racy)
            /* racy: only the hairpin, outside packets get plain conntrack behaviour */
            snprintf(pre, sizeof pre, "ip daddr %s ip saddr @lan_nets", wan);
        else if (s->hairpin)
            snprintf(pre, sizeof pre, "ip daddr %s", wan);
        else
            snprintf(pre, sizeof pre, "ip daddr %s ip saddr != @lan_nets", wan);
        if (s->portmap && n.guard)
            snprintf(pre + strlen(pre), sizeof pre - strlen(pre),
                     " meta mark and " NATRULE_PM_MARK_S " == 0");
        natrule_emit(
            &o, "\t\t%s udp dport @pub_to_inside counter dnat ip to udp dport map @pub_to_inside\n",
            pre);
        natrule_tcp_dnat(&o, s, pre);
        natrule_emit(&o, "\t}\n");
    }
    if (s->portmap && n.guard) {
        natrule_emit(
            &o, "\t# the guard's deferred drop: only a port mapping's DNAT (nat prerouting,\n");
        natrule_emit(
            &o, "\t# table inet natrig_pm) saves a packet; an unconfirmed entry leaves no trace\n");
        natrule_emit(
            &o,
            "\tchain pm_late {\n\t\ttype filter hook prerouting priority -90; policy accept;\n");
        natrule_tcp_pm_late(&o, s);
        natrule_emit(&o, "\t\tmeta mark and " NATRULE_PM_MARK_S
                         " != 0 ct status and dnat != dnat counter drop\n");
        natrule_emit(&o, "\t}\n");
    }

    natrule_emit(
        &o, "\tchain snat_out {\n\t\ttype nat hook postrouting priority 100; policy accept;\n");
    if (s->hairpin) {
        natrule_emit(&o, "\t\t# hairpin: the inside endpoint must answer through the router\n");
        emit_mapping(&o, s, &n, "ip saddr @lan_nets ip daddr @lan_nets ct status dnat", wan);
        natrule_tcp_mapping_rules(&o, s, "ip saddr @lan_nets ip daddr @lan_nets ct status dnat",
                                  wan);
    }
    emit_mapping(&o, s, &n, "ip saddr @lan_nets ip daddr != @lan_nets", wan);
    natrule_tcp_mapping_rules(&o, s, "ip saddr @lan_nets ip daddr != @lan_nets", wan);
    natrule_emit(&o, "\t\tip saddr @lan_nets ip daddr != @lan_nets counter snat ip to %s\n", wan);
    natrule_emit(&o, "\t}\n");

    if (n.guard || n.inside) {
        natrule_emit(&o, "\t# after NAT: learn what outbound packets opened\n");
        natrule_emit(
            &o, "\tchain learn {\n\t\ttype filter hook postrouting priority 300; policy accept;\n");
        snprintf(pre, sizeof pre, "ip saddr %s ip daddr != @lan_nets meta l4proto udp", wan);
        if (n.guard)
            natrule_emit(&o, "\t\t%s update @seen_ap { ip daddr . udp dport . udp sport }\n", pre);
        if (n.seen_a)
            natrule_emit(&o, "\t\t%s update @seen_a { ip daddr . udp sport }\n", pre);
        if (n.inside)
            emit_learn_map(&o, pre, LEARN_INSIDE);
        if (n.eim_out)
            emit_learn_map(&o, pre, LEARN_EIM);
        if (n.adm_out)
            emit_learn_map(&o, pre, LEARN_ADM);
        natrule_tcp_learn(&o, s, wan);
        natrule_emit(&o, "\t}\n");
    }
    natrule_tcp_chains(&o, s);

    natrule_emit(&o, "\t# a NAT does not route unsolicited packets into its LAN\n");
    natrule_emit(&o,
                 "\tchain isolate {\n\t\ttype filter hook forward priority 0; policy accept;\n");
    natrule_emit(
        &o, "\t\tct state new ip saddr != @lan_nets ip daddr @lan_nets ct status & dnat != dnat "
            "counter drop\n");
    natrule_emit(&o, "\t}\n}\n");
done:
    if (o.failed)
        return nt_err_set(err, NT_LIMIT, "nat ruleset", "ruleset buffer is full");
    return 0;
}

const char *natrule_family_kw(const struct natrule_spec *s)
{
    return s->family == 6 ? "ip6" : "ip";
}

/* --- objects and the listing checker ---------------------------------------------------- */

size_t natrule_objects(const struct natrule_spec *s, struct natrule_object *out, size_t max)
{
    struct natrule_object all[NATRULE_MAX_OBJECTS];
    struct needs n = needs_of(s);
    size_t k = 0, i;

    if (s->family == 6)
        return natrule_fw6_objects(s, out, max);
    all[k++] = (struct natrule_object){"set", "lan_nets", NULL};
    if (n.guard)
        all[k++] = (struct natrule_object){"set", "seen_ap", NULL};
    if (n.seen_a)
        all[k++] = (struct natrule_object){"set", "seen_a", NULL};
    if (n.inside)
        all[k++] = (struct natrule_object){"map", "pub_to_inside", NULL};
    if (n.eim_out)
        all[k++] = (struct natrule_object){"map", "eim_out", NULL};
    if (n.adm_out)
        all[k++] = (struct natrule_object){"map", "adm_out", NULL};
    natrule_tcp_objects(s, all, &k);
    all[k++] = (struct natrule_object){"ct timeout", "udp_map", NULL};
    if (n.guard)
        all[k++] = (struct natrule_object){"chain", "guard", "prerouting"};
    if (n.guard && s->portmap)
        all[k++] = (struct natrule_object){"chain", "pm_late", "prerouting"};
    all[k++] = (struct natrule_object){"chain", "ct_policy", "prerouting"};
    if (n.inside)
        all[k++] = (struct natrule_object){"chain", "dnat_in", "prerouting"};
    all[k++] = (struct natrule_object){"chain", "snat_out", "postrouting"};
    if (n.guard || n.inside)
        all[k++] = (struct natrule_object){"chain", "learn", "postrouting"};
    all[k++] = (struct natrule_object){"chain", "isolate", "forward"};
    for (i = 0; i < k && i < max; i++)
        out[i] = all[i];
    return k;
}
