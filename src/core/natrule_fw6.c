/* natrule_fw6.c - the family 6 pieces of natrule's ruleset: a router's IPv6 firewall
 * (RFC 6092), no translation. natrule_ruleset writes the table, its comment and set
 * lan_nets for both families and calls natrule_fw6_body for the rest; natrule.h describes
 * the behaviour. Pure. */
#include <string.h>

#include "core/natrule.h"
#include "core/natrule_int.h"
#include "core/npt6.h"

#define OP "nat spec"

int natrule_set_wan6(struct natrule_spec *s, const char *ip, struct nt_err *err)
{
    struct ipv6_addr a;
    static const struct ipv6_addr zero;

    if (ipv6_parse(ip, &a) < 0)
        return nt_err_set(err, NT_EINVAL, OP, "wan_ip: bad IPv6 address '%s'", ip ? ip : "");
    if (ipv6_equal(&a, &zero) || a.b[0] == 0xff || (a.b[0] == 0xfe && (a.b[1] & 0xc0) == 0x80))
        return nt_err_set(err, NT_EINVAL, OP,
                          "wan_ip: '%s' is not a global address (unspecified, multicast or "
                          "link-local)",
                          ip);
    s->wan_ip6 = a;
    s->has_wan6 = 1;
    return 0;
}

int natrule_add_lan6(struct natrule_spec *s, const char *cidr, struct nt_err *err)
{
    struct ipv6_cidr c;
    char other[IPV6_CIDR_TEXT_MAX];
    int rc;

    rc = ipv6_parse_cidr(cidr, &c, 0, err);
    if (rc < 0)
        return nt_err_set(err, NT_EINVAL, OP, "lan: %s", err ? err->msg : "bad IPv6 prefix");
    /* A prefix shorter than /16 would take most of the IPv6 internet for the LAN. */
    if (c.prefix < 16 || c.prefix > 128)
        return nt_err_set(err, NT_EINVAL, OP, "lan: prefix length in '%s' must be 16..128", cidr);
    if (s->n_lan6 >= NATRULE_MAX_LAN)
        return nt_err_set(err, NT_EINVAL, OP, "lan: at most %d IPv6 prefixes", NATRULE_MAX_LAN);
    for (size_t i = 0; i < s->n_lan6; i++) {
        if (ipv6_cidr_overlaps(&s->lan6[i], &c)) {
            ipv6_format_cidr(&s->lan6[i], other, sizeof other);
            return nt_err_set(err, NT_EINVAL, OP, "lan: '%s' overlaps %s", cidr, other);
        }
    }
    s->lan6[s->n_lan6++] = c;
    return 0;
}

int natrule_fw6_option(struct natrule_spec *s, const char *key, const char *value,
                       struct nt_err *err)
{
    if (strcmp(key, "npt6") != 0)
        return 1;
    if (ipv6_parse_cidr(value, &s->npt6, 0, err) < 0)
        return nt_err_set(err, NT_EINVAL, OP, "npt6: %s", err ? err->msg : "bad IPv6 prefix");
    if (s->npt6.prefix != 64)
        return nt_err_set(err, NT_EINVAL, OP, "npt6: '%s' is not a /64", value);
    s->has_npt6 = 1;
    return 0;
}

int natrule_fw6_validate(const struct natrule_spec *s, struct nt_err *err)
{
    if ((unsigned)s->filtering > NATRULE_OPEN)
        return nt_err_set(err, NT_EINVAL, OP, "filtering out of range");
    if (s->udp_timeout < 1 || s->udp_timeout > NATRULE_TIMEOUT_MAX)
        return nt_err_set(err, NT_EINVAL, OP, "udp_timeout %u is out of range 1..%u",
                          s->udp_timeout, NATRULE_TIMEOUT_MAX);
    if (s->racy || s->portmap)
        return nt_err_set(err, NT_EINVAL, OP,
                          "an IPv6 firewall translates nothing: racy and portmap are a NAT's");
    if (!s->has_wan6)
        return nt_err_set(err, NT_EINVAL, OP, "wan_ip (IPv6) is not set");
    if (s->n_lan6 == 0)
        return nt_err_set(err, NT_EINVAL, OP, "no IPv6 lan prefix");
    for (size_t i = 0; i < s->n_lan6; i++) {
        if (ipv6_cidr_contains(&s->lan6[i], &s->wan_ip6)) {
            char w[IPV6_TEXT_MAX], l[IPV6_CIDR_TEXT_MAX];
            ipv6_format(&s->wan_ip6, w, sizeof w);
            ipv6_format_cidr(&s->lan6[i], l, sizeof l);
            return nt_err_set(err, NT_EINVAL, OP, "wan_ip %s is inside lan prefix %s", w, l);
        }
    }
    if (s->has_npt6) {
        struct ipv6_cidr got;
        if (s->family != 6)
            return nt_err_set(err, NT_EINVAL, OP, "npt6 is the IPv6 firewall's (family 6)");
        if (s->n_lan6 != 1)
            return nt_err_set(err, NT_EINVAL, OP, "npt6 translates one LAN prefix, not %zu",
                              s->n_lan6);
        if (npt6_outside(&s->lan6[0], &s->npt6, &got, err) < 0)
            return -1;
    }
    return 0;
}

void natrule_fw6_lan_elements(struct out *o, const struct natrule_spec *s)
{
    for (size_t i = 0; i < s->n_lan6; i++) {
        char p[IPV6_CIDR_TEXT_MAX];
        ipv6_format_cidr(&s->lan6[i], p, sizeof p);
        natrule_emit(o, "%s%s", i ? ", " : "", p);
    }
}

/* part 0: the UDP timeout policy (declared with the sets); 1: the chain that applies it. */
static void emit_ct(struct out *o, const struct natrule_spec *s, int part)
{
    if (part == 0) {
        natrule_emit(o, "\t# UDP conntrack entries live as long as a learned entry\n");
        natrule_emit(o,
                     "\tct timeout udp_map {\n\t\tprotocol udp\n\t\tl3proto ip6\n"
                     "\t\tpolicy = { unreplied : %u, replied : %u }\n\t}\n",
                     s->udp_timeout, s->udp_timeout);
        return;
    }
    natrule_emit(o,
                 "\t# after conntrack, before the entry is confirmed: the only place it applies\n");
    natrule_emit(o, "\tchain ct_policy {\n\t\ttype filter hook prerouting priority -150; "
                    "policy accept;\n\t\tmeta l4proto udp ct timeout set \"udp_map\"\n\t}\n");
}

/* NPTv6 (natrule.h): raw payload writes of the prefix's 64 bits (the destination address
 * starts at bit 192 of the IPv6 header, the source at bit 64), which carry no checksum
 * update: the prefixes are checksum-neutral (core/npt6). */
static void emit_npt(struct out *o, const struct natrule_spec *s)
{
    char in[IPV6_CIDR_TEXT_MAX], out[IPV6_CIDR_TEXT_MAX];

    ipv6_format_cidr(&s->lan6[0], in, sizeof in);
    ipv6_format_cidr(&s->npt6, out, sizeof out);
    natrule_emit(o, "\t# NPTv6 (RFC 6296): %s <-> %s, stateless, checksum-neutral\n", in, out);
    natrule_emit(o,
                 "\tchain npt_in {\n\t\ttype filter hook prerouting priority -310; policy "
                 "accept;\n\t\tip6 daddr %s @nh,192,64 set 0x%016llx counter\n\t}\n",
                 out, (unsigned long long)npt6_bits(&s->lan6[0].addr));
    natrule_emit(o,
                 "\tchain npt_out {\n\t\ttype filter hook postrouting priority 310; policy "
                 "accept;\n\t\tip6 saddr %s ip6 daddr != @lan_nets @nh,64,64 set 0x%016llx "
                 "counter\n\t}\n",
                 in, (unsigned long long)npt6_bits(&s->npt6.addr));
}

static int has_guard(const struct natrule_spec *s)
{
    return s->filtering != NATRULE_OPEN;
}

void natrule_fw6_body(struct out *o, const struct natrule_spec *s)
{
    /* from outside to a LAN address */
    const char *in = "ip6 saddr != @lan_nets ip6 daddr @lan_nets";
    const char *learn = "ip6 saddr @lan_nets ip6 daddr != @lan_nets meta l4proto udp";
    unsigned t = s->udp_timeout;

    if (has_guard(s) && s->filtering != NATRULE_CLOSED)
        natrule_emit_dynset(o, "set", "seen_ap",
                            "ipv6_addr . inet_service . ipv6_addr . inet_service", t,
                            "outbound: remote address . remote port . inside address . port");
    if (s->filtering == NATRULE_ADF)
        natrule_emit_dynset(o, "set", "seen_a", "ipv6_addr . ipv6_addr . inet_service", t,
                            "outbound: remote address . inside address . port (ADF)");
    if (s->filtering == NATRULE_EIF)
        natrule_emit_dynset(o, "set", "seen_e", "ipv6_addr . inet_service", t,
                            "outbound: inside address . port (EIF)");
    emit_ct(o, s, 0);
    if (has_guard(s)) {
        natrule_emit(o,
                     "\t# before conntrack (-200): a dropped packet leaves no conntrack entry\n");
        natrule_emit(o, "\tchain guard {\n\t\ttype filter hook prerouting priority -300; "
                        "policy accept;\n");
        if (s->filtering == NATRULE_EIF)
            natrule_emit(o, "\t\t%s ip6 daddr . udp dport @seen_e counter accept\n", in);
        if (s->filtering == NATRULE_ADF)
            natrule_emit(o, "\t\t%s ip6 saddr . ip6 daddr . udp dport @seen_a counter accept\n",
                         in);
        if (s->filtering != NATRULE_CLOSED)
            natrule_emit(o,
                         "\t\t%s ip6 saddr . udp sport . ip6 daddr . udp dport @seen_ap counter "
                         "accept\n",
                         in);
        natrule_emit(o, "\t\t%s meta l4proto udp counter drop\n\t}\n", in);
    }
    emit_ct(o, s, 1);
    if (has_guard(s) && s->filtering != NATRULE_CLOSED) {
        natrule_emit(o, "\t# outbound packets open (and refresh) the way back in\n");
        natrule_emit(o, "\tchain learn {\n\t\ttype filter hook postrouting priority 300; "
                        "policy accept;\n");
        natrule_emit(
            o, "\t\t%s update @seen_ap { ip6 daddr . udp dport . ip6 saddr . udp sport }\n", learn);
        if (s->filtering == NATRULE_ADF)
            natrule_emit(o, "\t\t%s update @seen_a { ip6 daddr . ip6 saddr . udp sport }\n", learn);
        if (s->filtering == NATRULE_EIF)
            natrule_emit(o, "\t\t%s update @seen_e { ip6 saddr . udp sport }\n", learn);
        natrule_emit(o, "\t}\n");
    }
    if (s->has_npt6)
        emit_npt(o, s);
    natrule_emit(o,
                 "\t# RFC 6092: no unsolicited inbound flows of other protocols (ICMPv6 passes)\n");
    natrule_emit(o, "\tchain isolate {\n\t\ttype filter hook forward priority 0; policy accept;\n");
    if (s->filtering != NATRULE_OPEN)
        natrule_emit(o, "\t\tct state new %s meta l4proto != { udp, ipv6-icmp } counter drop\n",
                     in);
    natrule_emit(o, "\t}\n}\n");
}

size_t natrule_fw6_objects(const struct natrule_spec *s, struct natrule_object *out, size_t max)
{
    struct natrule_object all[NATRULE_MAX_OBJECTS];
    size_t k = 0;
    int learns = has_guard(s) && s->filtering != NATRULE_CLOSED;

    all[k++] = (struct natrule_object){"set", "lan_nets", NULL};
    if (learns)
        all[k++] = (struct natrule_object){"set", "seen_ap", NULL};
    if (s->filtering == NATRULE_ADF)
        all[k++] = (struct natrule_object){"set", "seen_a", NULL};
    if (s->filtering == NATRULE_EIF)
        all[k++] = (struct natrule_object){"set", "seen_e", NULL};
    all[k++] = (struct natrule_object){"ct timeout", "udp_map", NULL};
    if (has_guard(s))
        all[k++] = (struct natrule_object){"chain", "guard", "prerouting"};
    all[k++] = (struct natrule_object){"chain", "ct_policy", "prerouting"};
    if (learns)
        all[k++] = (struct natrule_object){"chain", "learn", "postrouting"};
    all[k++] = (struct natrule_object){"chain", "isolate", "forward"};
    if (s->has_npt6) {
        all[k++] = (struct natrule_object){"chain", "npt_in", "prerouting"};
        all[k++] = (struct natrule_object){"chain", "npt_out", "postrouting"};
    }
    for (size_t i = 0; i < k && i < max; i++)
        out[i] = all[i];
    return k;
}

int natrule_fw6_check_lans(const struct natrule_spec *s, const char *blk, size_t len,
                           struct nt_err *err)
{
    for (size_t i = 0; blk && i < s->n_lan6; i++) {
        char p[IPV6_CIDR_TEXT_MAX];
        ipv6_format_cidr(&s->lan6[i], p, sizeof p);
        if (!memmem(blk, len, p, strlen(p)))
            return nt_err_set(err, NT_PARSE, "nat verify", "lan prefix %s is not in set lan_nets",
                              p);
    }
    return 0;
}
