/* natrule.c - the NAT spec: preset names and their table, the WAN address and LAN subnets,
 * options by name, and validation. Pure. natrule_ruleset.c turns a valid spec into the nft
 * ruleset, natrule_check.c checks a listing against it, natrule_argv.c gives the commands;
 * the design and its limits are described in natrule.h. */
#include "core/natrule.h"

#include <arpa/inet.h>
#include <errno.h>
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
