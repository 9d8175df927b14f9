/* natrule.c - NAT spec -> nftables ruleset text, argv lists and the listing checker.
 * Pure: builds text only. The design and its limits are described in natrule.h. */
#include "core/natrule.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/natrule_int.h"
#include "core/natrule_tcp.h"

#define OP "nat spec"

/* --- names ------------------------------------------------------------------------------ */

static const char *const mapping_names[] = {"EIM", "ADM", "APDM"};
static const char *const filtering_names[] = {"EIF", "ADF", "APDF", "closed", "open"};

const char *natrule_mapping_name(enum natrule_mapping m)
{
    if ((unsigned)m < sizeof mapping_names / sizeof mapping_names[0])
        return mapping_names[m];
    return "?";
}

const char *natrule_filtering_name(enum natrule_filtering f)
{
    if ((unsigned)f < sizeof filtering_names / sizeof filtering_names[0])
        return filtering_names[f];
    return "?";
}

/* --- presets ---------------------------------------------------------------------------- */

struct preset {
    const char *name;
    enum natrule_mapping mapping;
    enum natrule_filtering filtering;
    int hairpin, port_preservation, racy;
};

static const struct preset presets[] = {
    {"full_cone", NATRULE_EIM, NATRULE_EIF, 1, 1, 0},
    {"restricted_cone", NATRULE_EIM, NATRULE_ADF, 1, 1, 0},
    {"port_restricted", NATRULE_EIM, NATRULE_APDF, 1, 1, 0},
    {"symmetric", NATRULE_APDM, NATRULE_APDF, 1, 0, 0},
    {"address_dependent", NATRULE_ADM, NATRULE_ADF, 1, 0, 0},
    {"linux_masquerade", NATRULE_EIM, NATRULE_APDF, 0, 1, 1},
};
#define N_PRESETS (sizeof presets / sizeof presets[0])

/* The names, from the one table above (filled on first use). */
const char *const *natrule_preset_names(void)
{
    static const char *names[N_PRESETS + 1];
    if (!names[0])
        for (size_t i = 0; i < N_PRESETS; i++)
            names[i] = presets[i].name;
    return names;
}

static void spec_clear(struct natrule_spec *s)
{
    memset(s, 0, sizeof *s);
    s->udp_timeout = NATRULE_TIMEOUT_DEFAULT;
}

int natrule_preset(const char *name, struct natrule_spec *out, struct nt_err *err)
{
    size_t i;

    if (!name || !*name)
        name = NATRULE_DEFAULT_PRESET;
    for (i = 0; i < N_PRESETS; i++) {
        if (strcmp(presets[i].name, name) == 0) {
            spec_clear(out);
            out->mapping = presets[i].mapping;
            out->filtering = presets[i].filtering;
            out->hairpin = presets[i].hairpin;
            out->port_preservation = presets[i].port_preservation;
            out->racy = presets[i].racy;
            return 0;
        }
    }
    /* The valid names come from the one table above. */
    char valid[256] = "";
    size_t len = 0;
    for (i = 0; i < N_PRESETS && len < sizeof valid; i++)
        len += (size_t)snprintf(valid + len, sizeof valid - len, "%s%s", i ? ", " : "",
                                presets[i].name);
    return nt_err_set(err, NT_EINVAL, OP, "unknown nat preset '%s' (valid: %s)", name, valid);
}

/* --- addresses -------------------------------------------------------------------------- */

/* The addresses no router can own as its public address. */
static const char *bad_wan_reason(uint32_t a)
{
    if (a == 0)
        return "the unspecified address";
    if (a == 0xffffffffu)
        return "the broadcast address";
    if ((a >> 24) == 127)
        return "a loopback address";
    if ((a >> 28) == 14)
        return "a multicast address";
    return NULL;
}

int natrule_set_wan(struct natrule_spec *s, const char *ip, struct nt_err *err)
{
    uint32_t a;
    const char *why;

    if (ipv4_parse(ip, &a) < 0)
        return nt_err_set(err, NT_EINVAL, OP, "wan_ip: bad IPv4 address '%s'", ip ? ip : "");
    why = bad_wan_reason(a);
    if (why)
        return nt_err_set(err, NT_EINVAL, OP, "wan_ip: '%s' is %s", ip, why);
    s->wan_ip = a;
    return 0;
}

int natrule_add_lan(struct natrule_spec *s, const char *cidr, struct nt_err *err)
{
    struct ipv4_cidr c;
    size_t i;
    int rc;

    if (!cidr)
        cidr = "";
    rc = ipv4_parse_cidr(cidr, &c, 0, NULL);
    if (rc == -IPV4_ENOSLASH)
        return nt_err_set(err, NT_EINVAL, OP,
                          "lan: '%s' is not a subnet (want a.b.c.d/len, e.g. 192.168.1.0/24)",
                          cidr);
    if (rc == -IPV4_EADDR)
        return nt_err_set(err, NT_EINVAL, OP, "lan: bad subnet address in '%s'", cidr);
    if (rc == -IPV4_EPREFIX) {
        /* A well-formed number above 32 gets the range message; anything else is malformed. */
        const char *p = strchr(cidr, '/') + 1;
        size_t d = strspn(p, "0123456789");
        if (d == 0 || d > 2 || p[d] || (p[0] == '0' && d > 1))
            return nt_err_set(err, NT_EINVAL, OP, "lan: bad prefix length in '%s'", cidr);
    }
    /* A prefix shorter than /8 would make most of the internet "LAN" and disable the NAT. */
    if (rc == -IPV4_EPREFIX || c.prefix < 8)
        return nt_err_set(err, NT_EINVAL, OP, "lan: prefix length in '%s' must be 8..32", cidr);
    if (rc == -IPV4_EHOSTBITS) {
        char net[INET_ADDRSTRLEN];

        ipv4_format(c.addr & ipv4_mask(c.prefix), net, sizeof net);
        return nt_err_set(err, NT_EINVAL, OP, "lan: '%s' has host bits set (did you mean %s/%d?)",
                          cidr, net, c.prefix);
    }
    if (s->n_lan >= NATRULE_MAX_LAN)
        return nt_err_set(err, NT_EINVAL, OP, "lan: at most %d subnets", NATRULE_MAX_LAN);
    for (i = 0; i < s->n_lan; i++) {
        if (ipv4_cidr_overlaps(&s->lan[i], &c)) {
            char other[INET_ADDRSTRLEN];

            ipv4_format(s->lan[i].addr, other, sizeof other);
            return nt_err_set(err, NT_EINVAL, OP, "lan: '%s' overlaps %s/%d", cidr, other,
                              s->lan[i].prefix);
        }
    }
    s->lan[s->n_lan++] = c;
    return 0;
}

/* --- options ---------------------------------------------------------------------------- */

static int parse_bool(const char *key, const char *v, int *out, struct nt_err *err)
{
    static const char *const yes[] = {"on", "true", "1", "yes"};
    static const char *const no[] = {"off", "false", "0", "no"};
    size_t i;

    for (i = 0; v && i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return nt_err_set(err, NT_EINVAL, OP, "%s: bad value '%s' (want on or off)", key, v ? v : "");
}

static int parse_enum(const char *key, const char *v, const char *const *names, size_t n, int *out,
                      struct nt_err *err)
{
    size_t i;

    for (i = 0; v && i < n; i++) {
        if (strcasecmp(v, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return nt_err_set(err, NT_EINVAL, OP, "%s: bad value '%s' (want %s, %s or %s%s)", key,
                      v ? v : "", names[0], names[1], names[2],
                      n > 3 ? "; an IPv6 firewall also closed or open" : "");
}

int natrule_set_option(struct natrule_spec *s, const char *key, const char *value,
                       struct nt_err *err)
{
    int v;

    if (!key)
        key = "";
    if (strcmp(key, "mapping") == 0) {
        if (parse_enum(key, value, mapping_names, 3, &v, err) < 0)
            return -1;
        s->mapping = (enum natrule_mapping)v;
    } else if (strcmp(key, "filtering") == 0) {
        if (parse_enum(key, value, filtering_names, 5, &v, err) < 0)
            return -1;
        s->filtering = (enum natrule_filtering)v;
    } else if (strcmp(key, "hairpin") == 0) {
        return parse_bool(key, value, &s->hairpin, err);
    } else if (strcmp(key, "port_preservation") == 0) {
        return parse_bool(key, value, &s->port_preservation, err);
    } else if (strcmp(key, "racy") == 0) {
        return parse_bool(key, value, &s->racy, err);
    } else if (strcmp(key, "portmap") == 0) {
        return parse_bool(key, value, &s->portmap, err);
    } else if (strcmp(key, "udp_timeout") == 0) {
        char *end;
        unsigned long t;

        if (!value || value[0] < '0' || value[0] > '9')
            return nt_err_set(err, NT_EINVAL, OP, "udp_timeout: bad number '%s'",
                              value ? value : "");
        errno = 0;
        t = strtoul(value, &end, 10);
        if (errno || *end)
            return nt_err_set(err, NT_EINVAL, OP, "udp_timeout: bad number '%s'", value);
        if (t < 1 || t > NATRULE_TIMEOUT_MAX)
            return nt_err_set(err, NT_EINVAL, OP, "udp_timeout: %s is out of range 1..%u", value,
                              NATRULE_TIMEOUT_MAX);
        s->udp_timeout = (unsigned)t;
    } else if (strcmp(key, "family") == 0) {
        if (!value || (strcmp(value, "4") != 0 && strcmp(value, "6") != 0))
            return nt_err_set(err, NT_EINVAL, OP, "family: bad value '%s' (want 4 or 6)",
                              value ? value : "");
        s->family = value[0] - '0';
    } else if (strcmp(key, "wan_ip") == 0) {
        return value && strchr(value, ':') ? natrule_set_wan6(s, value, err)
                                           : natrule_set_wan(s, value, err);
    } else if (strcmp(key, "lan") == 0) {
        return value && strchr(value, ':') ? natrule_add_lan6(s, value, err)
                                           : natrule_add_lan(s, value, err);
    } else {
        v = natrule_tcp_option(s, key, value, err);
        if (v == 1)
            v = natrule_fw6_option(s, key, value, err);
        if (v != 1)
            return v;
        return nt_err_set(
            err, NT_EINVAL, OP,
            "unknown nat option '%s' (valid: mapping, filtering, hairpin, "
            "port_preservation, racy, portmap, udp_timeout, tcp_mapping, "
            "tcp_filtering, tcp_syn, tcp_established, tcp_transitory, family, wan_ip, "
            "lan, npt6)",
            key);
    }
    return 0;
}

/* --- validation ------------------------------------------------------------------------- */

int natrule_validate(const struct natrule_spec *s, struct nt_err *err)
{
    size_t i;

    if (s->family == 6)
        return natrule_fw6_validate(s, err);
    if (s->family != 0 && s->family != 4)
        return nt_err_set(err, NT_EINVAL, OP, "family %d: want 4 or 6", s->family);
    if (s->filtering == NATRULE_CLOSED || s->filtering == NATRULE_OPEN)
        return nt_err_set(err, NT_EINVAL, OP,
                          "filtering %s is an IPv6 firewall's (family=6); a NAT filters EIF, "
                          "ADF or APDF",
                          natrule_filtering_name(s->filtering));
    if ((unsigned)s->mapping > NATRULE_APDM || (unsigned)s->filtering > NATRULE_APDF)
        return nt_err_set(err, NT_EINVAL, OP, "mapping or filtering out of range");
    if (s->udp_timeout < 1 || s->udp_timeout > NATRULE_TIMEOUT_MAX)
        return nt_err_set(err, NT_EINVAL, OP, "udp_timeout %u is out of range 1..%u",
                          s->udp_timeout, NATRULE_TIMEOUT_MAX);
    if (s->mapping != NATRULE_EIM && s->port_preservation)
        return nt_err_set(err, NT_EINVAL, OP,
                          "port preservation needs endpoint independent mapping: %s gives "
                          "each remote its own port (set port_preservation=off)",
                          natrule_mapping_name(s->mapping));
    if (s->racy) {
        if (s->filtering != NATRULE_APDF)
            return nt_err_set(err, NT_EINVAL, OP,
                              "racy (plain masquerade) only filters by conntrack, which is "
                              "APDF; %s needs the guard (racy=off)",
                              natrule_filtering_name(s->filtering));
        if (s->mapping == NATRULE_ADM)
            return nt_err_set(err, NT_EINVAL, OP,
                              "racy (plain masquerade) has no address dependent mapping; use "
                              "EIM (port preserving) or APDM (random), or racy=off");
        if (s->mapping == NATRULE_EIM && !s->port_preservation)
            return nt_err_set(err, NT_EINVAL, OP,
                              "racy EIM is plain masquerade, which preserves ports: "
                              "set port_preservation=on");
    }
    if (natrule_tcp_validate(s, err) < 0)
        return -1;
    if (s->wan_ip == 0)
        return nt_err_set(err, NT_EINVAL, OP, "wan_ip is not set");
    if (s->n_lan == 0)
        return nt_err_set(err, NT_EINVAL, OP, "no lan subnet");
    if (s->n_lan > NATRULE_MAX_LAN)
        return nt_err_set(err, NT_EINVAL, OP, "too many lan subnets");
    for (i = 0; i < s->n_lan; i++) {
        if (((s->wan_ip ^ s->lan[i].addr) & ipv4_mask(s->lan[i].prefix)) == 0) {
            char w[INET_ADDRSTRLEN], l[INET_ADDRSTRLEN];

            ipv4_format(s->wan_ip, w, sizeof w);
            ipv4_format(s->lan[i].addr, l, sizeof l);
            return nt_err_set(err, NT_EINVAL, OP, "wan_ip %s is inside lan subnet %s/%d", w, l,
                              s->lan[i].prefix);
        }
    }
    return 0;
}

/* --- text ------------------------------------------------------------------------------- */

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct out *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    natrule_vemit(o, fmt, ap);
    va_end(ap);
}

void natrule_vemit(struct out *o, const char *fmt, va_list ap)
{
    char line[1024];
    int n;

    if (o->failed)
        return;
    n = vsnprintf(line, sizeof line, fmt, ap);
    /* Every line is built from short names and addresses; one this long is a bug here. */
    if (n < 0 || (size_t)n >= sizeof line || buf_append(o->b, line, (size_t)n) < 0)
        o->failed = 1;
}

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
static void spec_tag(const struct natrule_spec *s, char *dst, size_t n)
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

#define emit_dynset natrule_emit_dynset /* natrule_fw6.c writes its sets with it too */
void natrule_emit_dynset(struct out *o, const char *kind, const char *name, const char *type,
                         unsigned timeout, const char *why)
{
    emit(o, "\t# %s\n", why);
    emit(o, "\t%s %s {\n\t\ttype %s\n\t\tflags dynamic,timeout\n\t\ttimeout %us\n\t}\n", kind, name,
         type, timeout);
}

/* The mapping choice for a new flow. pre is the match that selects the packets (outbound or
 * hairpinned). A learned EIM/ADM mapping of the sender is reused before a new port is chosen. */
static void emit_mapping(struct out *o, const struct natrule_spec *s, const struct needs *n,
                         const char *pre, const char *wan)
{
    if (s->racy) {
        emit(o, "\t\t%s meta l4proto udp counter snat ip to %s%s\n", pre, wan,
             s->mapping == NATRULE_APDM ? " random" : "");
        return;
    }
    if (n->eim_out)
        emit(o,
             "\t\t%s ip saddr . udp sport @eim_out counter snat ip to ip saddr . udp sport "
             "map @eim_out\n",
             pre);
    if (n->adm_out)
        emit(o,
             "\t\t%s ip saddr . udp sport . ip daddr @adm_out counter snat ip to ip saddr . "
             "udp sport . ip daddr map @adm_out\n",
             pre);
    if (s->port_preservation) {
        /* The inside port is taken as public port by another inside endpoint: do not share
         * it (pub_to_inside could then only point at one of them). */
        emit(o, "\t\t%s udp sport @pub_to_inside counter snat ip to %s random\n", pre, wan);
        emit(o, "\t\t%s meta l4proto udp counter snat ip to %s\n", pre, wan);
    } else {
        emit(o, "\t\t%s meta l4proto udp counter snat ip to %s random\n", pre, wan);
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

        emit(o, "\t\t%s ct direction %s ct %s ip saddr @lan_nets ", pre, d, d);
        switch (kind) {
        case LEARN_INSIDE:
            emit(o, "update @pub_to_inside { udp sport : ct %s ip saddr . ct %s proto-src }\n", d,
                 d);
            break;
        case LEARN_EIM:
            emit(o, "update @eim_out { ct %s ip saddr . ct %s proto-src : ip saddr . udp sport }\n",
                 d, d);
            break;
        case LEARN_ADM:
            emit(o,
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

    spec_tag(s, tag, sizeof tag);
    natrule_tcp_tag(s, tcp_tag, sizeof tcp_tag);
    emit(&o, "# %s (generated by natrule.c)\n# %s\n", tag, v6 ? "the IPv6 firewall" : tcp_tag);
    emit(&o, "# Loading this file again replaces table %s natrig in one transaction.\n", fam);
    emit(&o, "table %s natrig {}\ndelete table %s natrig\n\ntable %s natrig {\n", fam, fam, fam);
    emit(&o, "\tcomment \"%s\"\n", tag);

    emit(&o, "\t# LAN subnets: rules match addresses, never interface names\n");
    emit(&o, "\tset lan_nets {\n\t\ttype %s\n\t\tflags interval\n\t\telements = { ",
         v6 ? "ipv6_addr" : "ipv4_addr");
    if (v6)
        natrule_fw6_lan_elements(&o, s);
    for (i = 0; !v6 && i < s->n_lan; i++) {
        ipv4_format(s->lan[i].addr, net, sizeof net);
        emit(&o, "%s%s/%d", i ? ", " : "", net, s->lan[i].prefix);
    }
    emit(&o, " }\n\t}\n");
    if (v6) { /* the firewall: no translation, only filtering (natrule_fw6.c) */
        natrule_fw6_body(&o, s);
        goto done;
    }

    if (n.guard)
        emit_dynset(&o, "set", "seen_ap", "ipv4_addr . inet_service . inet_service", s->udp_timeout,
                    "outbound after NAT: remote address . remote port . public port");
    if (n.seen_a)
        emit_dynset(&o, "set", "seen_a", "ipv4_addr . inet_service", s->udp_timeout,
                    "outbound after NAT: remote address . public port (ADF)");
    if (n.inside)
        emit_dynset(&o, "map", "pub_to_inside", "inet_service : ipv4_addr . inet_service",
                    s->udp_timeout, "public port -> inside endpoint (inbound DNAT, hairpin)");
    if (n.eim_out)
        emit_dynset(&o, "map", "eim_out", "ipv4_addr . inet_service : ipv4_addr . inet_service",
                    s->udp_timeout, "inside endpoint -> public address . port (EIM)");
    if (n.adm_out)
        emit_dynset(
            &o, "map", "adm_out", "ipv4_addr . inet_service . ipv4_addr : ipv4_addr . inet_service",
            s->udp_timeout, "inside endpoint . remote address -> public address . port (ADM)");

    natrule_tcp_sets(&o, s);
    emit(&o, "\t# UDP conntrack entries live as long as a mapping\n");
    emit(&o,
         "\tct timeout udp_map {\n\t\tprotocol udp\n\t\tl3proto ip\n"
         "\t\tpolicy = { unreplied : %u, replied : %u }\n\t}\n",
         s->udp_timeout, s->udp_timeout);

    if (n.guard) {
        emit(&o, "\t# before conntrack (-200): a dropped packet leaves no conntrack entry\n");
        emit(&o,
             "\tchain guard {\n\t\ttype filter hook prerouting priority -300; policy accept;\n");
        snprintf(pre, sizeof pre, "ip daddr %s ip saddr != @lan_nets", wan);
        if (s->filtering == NATRULE_EIF)
            emit(&o, "\t\t%s udp dport @pub_to_inside counter accept\n", pre);
        if (s->filtering == NATRULE_ADF)
            emit(&o, "\t\t%s ip saddr . udp dport @seen_a counter accept\n", pre);
        emit(&o, "\t\t%s ip saddr . udp sport . udp dport @seen_ap counter accept\n", pre);
        if (s->portmap)
            /* the drop waits for pm_late: a port mapping's DNAT may still claim the packet */
            emit(&o, "\t\t%s meta l4proto udp counter meta mark set meta mark or 0x%x\n", pre,
                 NATRULE_PM_MARK);
        else
            emit(&o, "\t\t%s meta l4proto udp counter drop\n", pre);
        natrule_tcp_guard(&o, s, pre);
        emit(&o, "\t}\n");
    }

    emit(&o, "\t# after conntrack, before the entry is confirmed: the only place it applies\n");
    emit(&o,
         "\tchain ct_policy {\n\t\tcomment \"%s\"\n"
         "\t\ttype filter hook prerouting priority -150; policy accept;\n",
         tcp_tag);
    emit(&o, "\t\tmeta l4proto udp ct timeout set \"udp_map\"\n");
    natrule_tcp_ct_policy(&o);
    emit(&o, "\t}\n");

    if (n.inside) {
        emit(&o, "\tchain dnat_in {\n\t\ttype nat hook prerouting priority -100; policy accept;\n");
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
        emit(&o,
             "\t\t%s udp dport @pub_to_inside counter dnat ip to udp dport map @pub_to_inside\n",
             pre);
        natrule_tcp_dnat(&o, s, pre);
        emit(&o, "\t}\n");
    }
    if (s->portmap && n.guard) {
        emit(&o, "\t# the guard's deferred drop: only a port mapping's DNAT (nat prerouting,\n");
        emit(&o,
             "\t# table inet natrig_pm) saves a packet; an unconfirmed entry leaves no trace\n");
        emit(&o,
             "\tchain pm_late {\n\t\ttype filter hook prerouting priority -90; policy accept;\n");
        natrule_tcp_pm_late(&o, s);
        emit(&o, "\t\tmeta mark and " NATRULE_PM_MARK_S
                 " != 0 ct status and dnat != dnat counter drop\n");
        emit(&o, "\t}\n");
    }

    emit(&o, "\tchain snat_out {\n\t\ttype nat hook postrouting priority 100; policy accept;\n");
    if (s->hairpin) {
        emit(&o, "\t\t# hairpin: the inside endpoint must answer through the router\n");
        emit_mapping(&o, s, &n, "ip saddr @lan_nets ip daddr @lan_nets ct status dnat", wan);
        natrule_tcp_mapping_rules(&o, s, "ip saddr @lan_nets ip daddr @lan_nets ct status dnat",
                                  wan);
    }
    emit_mapping(&o, s, &n, "ip saddr @lan_nets ip daddr != @lan_nets", wan);
    natrule_tcp_mapping_rules(&o, s, "ip saddr @lan_nets ip daddr != @lan_nets", wan);
    emit(&o, "\t\tip saddr @lan_nets ip daddr != @lan_nets counter snat ip to %s\n", wan);
    emit(&o, "\t}\n");

    if (n.guard || n.inside) {
        emit(&o, "\t# after NAT: learn what outbound packets opened\n");
        emit(&o,
             "\tchain learn {\n\t\ttype filter hook postrouting priority 300; policy accept;\n");
        snprintf(pre, sizeof pre, "ip saddr %s ip daddr != @lan_nets meta l4proto udp", wan);
        if (n.guard)
            emit(&o, "\t\t%s update @seen_ap { ip daddr . udp dport . udp sport }\n", pre);
        if (n.seen_a)
            emit(&o, "\t\t%s update @seen_a { ip daddr . udp sport }\n", pre);
        if (n.inside)
            emit_learn_map(&o, pre, LEARN_INSIDE);
        if (n.eim_out)
            emit_learn_map(&o, pre, LEARN_EIM);
        if (n.adm_out)
            emit_learn_map(&o, pre, LEARN_ADM);
        natrule_tcp_learn(&o, s, wan);
        emit(&o, "\t}\n");
    }
    natrule_tcp_chains(&o, s);

    emit(&o, "\t# a NAT does not route unsolicited packets into its LAN\n");
    emit(&o, "\tchain isolate {\n\t\ttype filter hook forward priority 0; policy accept;\n");
    emit(&o, "\t\tct state new ip saddr != @lan_nets ip daddr @lan_nets ct status & dnat != dnat "
             "counter drop\n");
    emit(&o, "\t}\n}\n");
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

/* Find the line "<kind> <name> {" (after leading whitespace) and return where its block
 * starts, or NULL. Names must match whole: "seen_a" must not find "seen_ap". */
const char *natrule_find_block(const char *text, const char *kind, const char *name)
{
    size_t kl = strlen(kind), nl = strlen(name);
    const char *line = text;

    while (line && *line) {
        const char *p = line, *eol = strchr(line, '\n');

        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, kind, kl) == 0 && p[kl] == ' ' && strncmp(p + kl + 1, name, nl) == 0 &&
            strncmp(p + kl + 1 + nl, " {", 2) == 0)
            return eol ? eol + 1 : p + strlen(p);
        line = eol ? eol + 1 : NULL;
    }
    return NULL;
}

/* The text of a block up to its closing brace at the object's own indentation: nft lists
 * objects one tab deep and closes them with "\n\t}". */
size_t natrule_block_len(const char *start)
{
    const char *end = strstr(start, "\n\t}");

    return end ? (size_t)(end - start) : strlen(start);
}

static int contains_word(const char *hay, size_t len, const char *needle)
{
    size_t nl = strlen(needle), i;

    for (i = 0; nl <= len && i + nl <= len; i++) {
        if (memcmp(hay + i, needle, nl) == 0) {
            char before = i ? hay[i - 1] : ' ';
            char after = i + nl < len ? hay[i + nl] : ' ';
            /* an address must not match inside a longer one (10.0.0.1 in 10.0.0.10) */
            if ((before == ' ' || before == '\t' || before == '{' || before == ',') &&
                !(after >= '0' && after <= '9') && after != '.' && after != '/')
                return 1;
        }
    }
    return 0;
}

int natrule_check_listing(const struct natrule_spec *s, const char *listing, struct nt_err *err)
{
    struct natrule_object obj[NATRULE_MAX_OBJECTS];
    size_t n, i;
    const char *blk;
    char wan[INET_ADDRSTRLEN], net[INET_ADDRSTRLEN + 4], tag[224], want[240];
    const char *op = "nat verify";

    char tbl[16];

    if (!listing)
        listing = "";
    snprintf(tbl, sizeof tbl, "table %s", natrule_family_kw(s));
    if (!natrule_find_block(listing, tbl, NATRULE_TABLE))
        return nt_err_set(err, NT_PARSE, op, "%s natrig is missing", tbl);
    spec_tag(s, tag, sizeof tag);
    snprintf(want, sizeof want, "\tcomment \"%s\"\n", tag);
    if (!strstr(listing, want)) {
        const char *c = strstr(listing, "\tcomment \"");
        int cl = 0;

        if (c) {
            c += 10;
            cl = (int)strcspn(c, "\"\n");
        }
        return nt_err_set(err, NT_PARSE, op,
                          "%s natrig holds another spec: comment \"%.*s\", want \"%s\"", tbl, cl,
                          c ? c : "", tag);
    }
    natrule_tcp_tag(s, tag, sizeof tag);
    snprintf(want, sizeof want, "comment \"%s\"\n", tag);
    if (s->family != 6 && !strstr(listing, want))
        return nt_err_set(err, NT_PARSE, op, "table ip natrig holds other TCP rules: want %s", tag);
    n = natrule_objects(s, obj, NATRULE_MAX_OBJECTS);
    for (i = 0; i < n && i < NATRULE_MAX_OBJECTS; i++) {
        blk = natrule_find_block(listing, obj[i].kind, obj[i].name);
        if (!blk)
            return nt_err_set(err, NT_PARSE, op, "%s %s is missing", obj[i].kind, obj[i].name);
        if (obj[i].hook) {
            size_t bl = natrule_block_len(blk);

            snprintf(want, sizeof want, " hook %s ", obj[i].hook);
            if (!memmem(blk, bl, "type ", 5) || !memmem(blk, bl, want, strlen(want)))
                return nt_err_set(err, NT_PARSE, op, "chain %s is not on hook %s", obj[i].name,
                                  obj[i].hook);
        }
    }
    if (s->family == 6) { /* no translation: the rules name no router address, only LANs */
        blk = natrule_find_block(listing, "set", "lan_nets");
        return natrule_fw6_check_lans(s, blk, blk ? natrule_block_len(blk) : 0, err);
    }
    ipv4_format(s->wan_ip, wan, sizeof wan);
    if (!contains_word(listing, strlen(listing), wan))
        return nt_err_set(err, NT_PARSE, op, "wan_ip %s does not appear in the rules", wan);
    blk = natrule_find_block(listing, "set", "lan_nets");
    for (i = 0; blk && i < s->n_lan; i++) {
        char a[INET_ADDRSTRLEN];

        ipv4_format(s->lan[i].addr, a, sizeof a);
        /* nft prints a /32 element as the bare address */
        if (s->lan[i].prefix == 32)
            snprintf(net, sizeof net, "%s", a);
        else
            snprintf(net, sizeof net, "%s/%d", a, s->lan[i].prefix);
        if (!contains_word(blk, natrule_block_len(blk), net))
            return nt_err_set(err, NT_PARSE, op, "lan subnet %s is not in set lan_nets", net);
    }
    return 0;
}

/* --- argv ------------------------------------------------------------------------------- */

static void argv_set(struct natrule_argv *a, const char *const *v)
{
    size_t i;

    for (i = 0; i < NATRULE_ARGV_MAX && v[i]; i++)
        a->v[i] = v[i];
    for (; i <= NATRULE_ARGV_MAX; i++)
        a->v[i] = NULL;
}

void natrule_apply_argv(const char *path, struct natrule_argv *out)
{
    const char *v[] = {"nft", "-f", path ? path : NATRULE_RULESET_PATH, NULL};

    argv_set(out, v);
}

void natrule_verify_argv(struct natrule_argv *out)
{
    natrule_verify_argv_family(4, out);
}

void natrule_verify_argv_family(int family, struct natrule_argv *out)
{
    const char *v[] = {"nft", "list", "table", family == 6 ? "ip6" : "ip", NATRULE_TABLE, NULL};

    argv_set(out, v);
}

size_t natrule_flush_argvs(const struct natrule_spec *s, struct natrule_argv *out, size_t max)
{
    struct natrule_object obj[NATRULE_MAX_OBJECTS];
    size_t n = natrule_objects(s, obj, NATRULE_MAX_OBJECTS), i, k = 0;
    static const char *const ct[] = {"conntrack", "-F", NULL};

    for (i = 0; i < n; i++) {
        const char *v[] = {"nft",         "flush",     obj[i].kind, natrule_family_kw(s),
                           NATRULE_TABLE, obj[i].name, NULL};

        /* lan_nets is configuration, not learned state */
        if ((strcmp(obj[i].kind, "set") != 0 && strcmp(obj[i].kind, "map") != 0) ||
            strcmp(obj[i].name, "lan_nets") == 0)
            continue;
        if (k < max)
            argv_set(&out[k], v);
        k++;
    }
    if (k < max)
        argv_set(&out[k], ct);
    return k + 1;
}

size_t natrule_diag_argvs(struct natrule_argv *out, size_t max)
{
    static const char *const list[] = {"nft", "list", "table", "ip", NATRULE_TABLE, NULL};
    static const char *const ct[] = {"conntrack", "-L", "-p", "udp", NULL};
    static const char *const ct_tcp[] = {"conntrack", "-L", "-p", "tcp", NULL};

    if (max > 0)
        argv_set(&out[0], list);
    if (max > 1)
        argv_set(&out[1], ct);
    if (max > 2)
        argv_set(&out[2], ct_tcp);
    return 3;
}
