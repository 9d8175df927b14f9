/* natrule_cgn.c - CGN spec -> nftables ruleset text, its listing checker and flush argvs.
 * Pure: builds text only. The design and its limits are described in natrule_cgn.h. */
#include "core/natrule_cgn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/natrule_out.h"

#define OP "cgnat spec"

void natrule_cgn_init(struct natrule_cgn *c)
{
    memset(c, 0, sizeof *c);
    c->filtering = NATRULE_EIF;
    c->hairpin = 1;
    c->port_block = 512;
    c->blocks = 4;
    c->udp_timeout = NATRULE_TIMEOUT_DEFAULT;
    c->tcp_timeout = NATRULE_CGN_TCP_TIMEOUT_DEFAULT;
}

/* --- options ---------------------------------------------------------------------------- */

static int parse_num(const char *key, const char *v, unsigned long lo, unsigned long hi,
                     unsigned *out, struct nt_err *err)
{
    char *end;
    unsigned long n;

    if (!v || v[0] < '0' || v[0] > '9')
        return nt_err_set(err, NT_EINVAL, OP, "%s: bad number '%s'", key, v ? v : "");
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || *end)
        return nt_err_set(err, NT_EINVAL, OP, "%s: bad number '%s'", key, v);
    if (n < lo || n > hi)
        return nt_err_set(err, NT_EINVAL, OP, "%s: %s is out of range %lu..%lu", key, v, lo, hi);
    *out = (unsigned)n;
    return 0;
}

static int add_addr(const char *key, const char *v, uint32_t *list, size_t *n, size_t max,
                    struct nt_err *err)
{
    uint32_t a;

    if (ipv4_parse(v, &a) < 0)
        return nt_err_set(err, NT_EINVAL, OP, "%s: bad IPv4 address '%s'", key, v ? v : "");
    if (*n >= max)
        return nt_err_set(err, NT_EINVAL, OP, "%s: at most %zu addresses", key, max);
    list[(*n)++] = a;
    return 0;
}

int natrule_cgn_set_option(struct natrule_cgn *c, const char *key, const char *value,
                           struct nt_err *err)
{
    static const char *const filt[] = {"EIF", "ADF", "APDF"};
    size_t i;

    if (!key)
        key = "";
    if (strcmp(key, "filtering") == 0) {
        for (i = 0; value && i < 3; i++)
            if (strcasecmp(value, filt[i]) == 0) {
                c->filtering = (enum natrule_filtering)i;
                return 0;
            }
        return nt_err_set(err, NT_EINVAL, OP, "filtering: bad value '%s' (want EIF, ADF or APDF)",
                          value ? value : "");
    }
    if (strcmp(key, "hairpin") == 0) {
        static const char *const yes[] = {"on", "true", "1", "yes"};
        static const char *const no[] = {"off", "false", "0", "no"};

        for (i = 0; value && i < 4; i++) {
            if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
                c->hairpin = strcasecmp(value, yes[i]) == 0;
                return 0;
            }
        }
        return nt_err_set(err, NT_EINVAL, OP, "hairpin: bad value '%s' (want on or off)",
                          value ? value : "");
    }
    if (strcmp(key, "port_block") == 0)
        return parse_num(key, value, 1, NATRULE_CGN_PORT_RANGE, &c->port_block, err);
    if (strcmp(key, "blocks") == 0)
        return parse_num(key, value, 1, NATRULE_CGN_PORT_RANGE, &c->blocks, err);
    if (strcmp(key, "udp_timeout") == 0)
        return parse_num(key, value, 1, NATRULE_TIMEOUT_MAX, &c->udp_timeout, err);
    if (strcmp(key, "tcp_timeout") == 0)
        return parse_num(key, value, 1, 7 * NATRULE_TIMEOUT_MAX, &c->tcp_timeout, err);
    if (strcmp(key, "inside") == 0) {
        struct ipv4_cidr in;

        if (ipv4_parse_cidr(value ? value : "", &in, 0, NULL) < 0 || in.prefix < 10 ||
            in.prefix > 30)
            return nt_err_set(err, NT_EINVAL, OP,
                              "inside: '%s' is not a subnet a.b.c.d/len with len 10..30 and no "
                              "host bits",
                              value ? value : "");
        c->inside = in;
        return 0;
    }
    if (strcmp(key, "pool") == 0)
        return add_addr(key, value, c->pool, &c->n_pool, NATRULE_CGN_MAX_POOL, err);
    if (strcmp(key, "customer") == 0)
        return add_addr(key, value, c->cust, &c->n_cust, NATRULE_CGN_MAX_CUSTOMERS, err);
    return nt_err_set(err, NT_EINVAL, OP,
                      "unknown cgnat option '%s' (valid: filtering, hairpin, port_block, blocks, "
                      "udp_timeout, tcp_timeout, inside, pool, customer)",
                      key);
}

/* --- validation ------------------------------------------------------------------------- */

/* Customers on the busiest pool address (customer i is on address i % n_pool). */
static size_t per_addr(const struct natrule_cgn *c)
{
    return c->n_pool ? (c->n_cust + c->n_pool - 1) / c->n_pool : 0;
}

int natrule_cgn_validate(const struct natrule_cgn *c, struct nt_err *err)
{
    struct ipv4_cidr shared = {0x64400000u, 10}; /* 100.64.0.0/10 */
    size_t i, j, fit;
    char a[INET_ADDRSTRLEN];

    if ((unsigned)c->filtering > NATRULE_APDF)
        return nt_err_set(err, NT_EINVAL, OP, "filtering out of range");
    if (c->port_block < 1 || NATRULE_CGN_PORT_RANGE % c->port_block != 0)
        return nt_err_set(err, NT_EINVAL, OP,
                          "port_block %u does not divide the %u ports %u-65535 into whole "
                          "blocks (a divisor of %u: e.g. 64, 128, 256, 512, 1008, 1024, 2016)",
                          c->port_block, NATRULE_CGN_PORT_RANGE, NATRULE_CGN_PORT_LO,
                          NATRULE_CGN_PORT_RANGE);
    if (c->blocks < 1)
        return nt_err_set(err, NT_EINVAL, OP, "blocks must be at least 1");
    if (c->udp_timeout < 1 || c->udp_timeout > NATRULE_TIMEOUT_MAX || c->tcp_timeout < 1)
        return nt_err_set(err, NT_EINVAL, OP, "udp_timeout or tcp_timeout out of range");
    if (c->n_pool == 0)
        return nt_err_set(err, NT_EINVAL, OP, "the pool has no public address (pool >= 1)");
    if (c->inside.prefix == 0)
        return nt_err_set(err, NT_EINVAL, OP, "the inside subnet is not set");
    if (!ipv4_cidr_contains(&shared, c->inside.addr) || c->inside.prefix < shared.prefix) {
        ipv4_format(c->inside.addr, a, sizeof a);
        return nt_err_set(err, NT_EINVAL, OP,
                          "inside %s/%d is not within the shared address space " NATRULE_CGN_SHARED
                          " (RFC 6598)",
                          a, c->inside.prefix);
    }
    if (c->n_cust == 0)
        return nt_err_set(err, NT_EINVAL, OP,
                          "nothing is behind the CGN: a cgnat router needs customers "
                          "(net:router{ behind = cgn } or net:peer{ router = cgn })");
    for (i = 0; i < c->n_pool; i++) {
        ipv4_format(c->pool[i], a, sizeof a);
        if (ipv4_cidr_contains(&c->inside, c->pool[i]))
            return nt_err_set(err, NT_EINVAL, OP, "pool address %s is inside the inside subnet", a);
        for (j = 0; j < i; j++)
            if (c->pool[j] == c->pool[i])
                return nt_err_set(err, NT_EINVAL, OP, "pool address %s is given twice", a);
    }
    for (i = 0; i < c->n_cust; i++) {
        ipv4_format(c->cust[i], a, sizeof a);
        if (!ipv4_cidr_contains(&c->inside, c->cust[i]))
            return nt_err_set(err, NT_EINVAL, OP, "customer %s is not in the inside subnet", a);
        for (j = 0; j < i; j++)
            if (c->cust[j] == c->cust[i])
                return nt_err_set(err, NT_EINVAL, OP, "customer %s is given twice", a);
    }
    fit = NATRULE_CGN_PORT_RANGE / c->port_block / c->blocks;
    if (per_addr(c) > fit)
        return nt_err_set(err, NT_EINVAL, OP,
                          "%zu customers on %zu public address%s need %zu x %u blocks of %u "
                          "ports on one address, which holds %u blocks: raise pool, or lower "
                          "blocks or port_block",
                          c->n_cust, c->n_pool, c->n_pool == 1 ? "" : "es", per_addr(c), c->blocks,
                          c->port_block, NATRULE_CGN_PORT_RANGE / c->port_block);
    return 0;
}

int natrule_cgn_customer(const struct natrule_cgn *c, size_t i, uint32_t *addr, unsigned *lo,
                         unsigned *hi)
{
    size_t k;
    unsigned span;

    if (i >= c->n_cust || c->n_pool == 0)
        return -1;
    k = i / c->n_pool;
    span = c->port_block * c->blocks;
    *addr = c->pool[i % c->n_pool];
    *lo = NATRULE_CGN_PORT_LO + (unsigned)k * span;
    *hi = *lo + span - 1;
    return 0;
}

void natrule_cgn_claim(const struct natrule_cgn *c, const struct natclass *home,
                       struct natclass *out)
{
    static const enum natclass_behaviour map[] = {NATCLASS_EI, NATCLASS_AD, NATCLASS_APD};
    enum natclass_behaviour f = (unsigned)c->filtering < 3 ? map[c->filtering] : NATCLASS_APD;

    memset(out, 0, sizeof *out);
    out->mapping = NATCLASS_EI;
    out->filtering = f;
    out->hairpin = c->hairpin ? NATCLASS_YES : NATCLASS_NO;
    out->port_preserved = NATCLASS_NO;
    if (!home)
        return;
    if (home->mapping == NATCLASS_AD || home->mapping == NATCLASS_APD)
        out->mapping = home->mapping;
    if (home->filtering > f)
        out->filtering = home->filtering;
    if (home->filtering != NATCLASS_EI)
        out->hairpin = NATCLASS_NO;
}

/* --- text ------------------------------------------------------------------------------- */

static int describe(const struct natrule_cgn *c, char *dst, size_t n)
{
    int len =
        snprintf(dst, n,
                 "cgnat filtering=%s hairpin=%s port_block=%u blocks=%u udp_timeout=%u "
                 "tcp_timeout=%u pool=%zu customers=%zu",
                 natrule_filtering_name(c->filtering), c->hairpin ? "on" : "off", c->port_block,
                 c->blocks, c->udp_timeout, c->tcp_timeout, c->n_pool, c->n_cust);

    return len < 0 || (size_t)len >= n ? -1 : len;
}

int natrule_cgn_describe(const struct natrule_cgn *c, struct buf *out)
{
    char line[200];
    int n = describe(c, line, sizeof line);

    return n < 0 ? -1 : buf_append(out, line, (size_t)n);
}

/* A learned set: made by a flow's first packet, only refreshed by its later ones. Linux
 * refreshes a conntrack entry with packets of both directions, so an entry can outlive its
 * mapping (the other side kept sending); its next outbound packet must not bring the mapping
 * back at the old port: the entry is left to time out and the flow's next packet gets a new
 * mapping, as a CGN with per-mapping timers does (RFC 4787 REQ-6). */
static void learn_set(struct out *o, const char *pre, const char *set, const char *key)
{
    natrule_emit(o, "\t\t%s ct state new update @%s { %s }\n", pre, set, key);
    natrule_emit(o, "\t\t%s ct state != new %s @%s update @%s { %s }\n", pre, key, set, set, key);
}

/* The same for a map, in both conntrack directions (see natrule_ruleset.c's emit_learn_map). */
static void learn_map(struct out *o, const char *pre, const char *map, int inside_is_key)
{
    static const char *const dirs[] = {"original", "reply"};
    char k[96], v[96];
    size_t i;

    for (i = 0; i < 2; i++) {
        const char *d = dirs[i];

        snprintf(k, sizeof k, "ct %s ip saddr . ct %s proto-src", d, d);
        snprintf(v, sizeof v, "ip saddr . udp sport");
        if (!inside_is_key) {
            snprintf(v, sizeof v, "%s", k);
            snprintf(k, sizeof k, "ip saddr . udp sport");
        }
        if (i == 0)
            natrule_emit(
                o,
                "\t\t%s ct state new ct direction %s ct %s ip saddr @inside_nets update @%s { %s "
                ": %s }\n",
                pre, d, d, map, k, v);
        natrule_emit(
            o,
            "\t\t%s ct state != new ct direction %s ct %s ip saddr @inside_nets %s @%s update @%s "
            "{ %s : %s }\n",
            pre, d, d, k, map, map, k, v);
    }
}

static void tag_of(const struct natrule_cgn *c, char *dst, size_t n)
{
    char d[200];

    if (describe(c, d, sizeof d) < 0)
        d[0] = '\0';
    snprintf(dst, n, "natrig %s", d);
}

int natrule_cgn_ruleset(const struct natrule_cgn *c, struct buf *b, struct nt_err *err)
{
    struct out o = {b, 0};
    char tag[224], a[INET_ADDRSTRLEN], net[24], pre[160];
    size_t i;

    if (natrule_cgn_validate(c, err) < 0)
        return -1;
    tag_of(c, tag, sizeof tag);
    ipv4_format_cidr(&c->inside, net, sizeof net);
    natrule_emit(&o, "# %s (generated by natrule_cgn.c)\n", tag);
    natrule_emit(&o, "table ip natrig {}\ndelete table ip natrig\n\ntable ip natrig {\n");
    natrule_emit(&o, "\tcomment \"%s\"\n", tag);
    natrule_emit(&o,
                 "\tset inside_nets {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { %s "
                 "}\n\t}\n",
                 net);
    natrule_emit(&o, "\tset pool {\n\t\ttype ipv4_addr\n\t\telements = { ");
    for (i = 0; i < c->n_pool; i++) {
        ipv4_format(c->pool[i], a, sizeof a);
        natrule_emit(&o, "%s%s", i ? ", " : "", a);
    }
    natrule_emit(&o, " }\n\t}\n");
    natrule_emit_dynset(&o, "set", "seen_ap", "ipv4_addr . inet_service . ipv4_addr . inet_service",
                        c->udp_timeout,
                        "outbound after NAT: remote address . port . public address . port");
    if (c->filtering == NATRULE_ADF)
        natrule_emit_dynset(&o, "set", "seen_a", "ipv4_addr . ipv4_addr . inet_service",
                            c->udp_timeout,
                            "outbound after NAT: remote address . public address . port (ADF)");
    natrule_emit_dynset(&o, "map", "pub_to_inside",
                        "ipv4_addr . inet_service : ipv4_addr . inet_service", c->udp_timeout,
                        "public endpoint -> inside endpoint (inbound DNAT, hairpin)");
    natrule_emit_dynset(&o, "map", "eim_out", "ipv4_addr . inet_service : ipv4_addr . inet_service",
                        c->udp_timeout, "inside endpoint -> public endpoint (EIM)");
    for (i = 0; i < c->n_cust; i++) {
        ipv4_format(c->cust[i], a, sizeof a);
        /* UDP and TCP alike: each element lives as long as its protocol's mapping */
        natrule_emit(
            &o,
            "\t# customer %zu (%s): inside ports it has mapped (UDP and TCP), at most its quota\n",
            i, a);
        natrule_emit(&o,
                     "\tset q_%zu {\n\t\ttype inet_proto . inet_service\n\t\tsize %u\n"
                     "\t\tflags dynamic,timeout\n\t}\n",
                     i, c->port_block * c->blocks);
        natrule_emit(&o, "\tcounter oop_%zu {\n\t\tcomment \"customer %s out of ports\"\n\t}\n", i,
                     a);
    }
    natrule_emit(&o,
                 "\tct timeout udp_cgn {\n\t\tprotocol udp\n\t\tl3proto ip\n"
                 "\t\tpolicy = { unreplied : %u, replied : %u }\n\t}\n",
                 c->udp_timeout, c->udp_timeout);
    natrule_emit(&o,
                 "\tct timeout tcp_cgn {\n\t\tprotocol tcp\n\t\tl3proto ip\n"
                 "\t\tpolicy = { established : %u }\n\t}\n",
                 c->tcp_timeout);

    /* before conntrack: a dropped packet leaves no conntrack entry (natrule.h) */
    natrule_emit(
        &o, "\tchain guard {\n\t\ttype filter hook prerouting priority -300; policy accept;\n");
    snprintf(pre, sizeof pre, "ip daddr @pool ip saddr != @inside_nets");
    if (c->filtering == NATRULE_EIF)
        natrule_emit(&o, "\t\t%s ip daddr . udp dport @pub_to_inside counter accept\n", pre);
    if (c->filtering == NATRULE_ADF)
        natrule_emit(&o, "\t\t%s ip saddr . ip daddr . udp dport @seen_a counter accept\n", pre);
    natrule_emit(&o, "\t\t%s ip saddr . udp sport . ip daddr . udp dport @seen_ap counter accept\n",
                 pre);
    natrule_emit(&o, "\t\t%s meta l4proto udp counter drop\n", pre);
    if (c->hairpin)
        /* a hairpinned packet reaches only a live mapping: a conntrack entry that outlived
         * it must not carry it (and is not refreshed by it) */
        natrule_emit(
            &o, "\t\tip saddr @inside_nets ip daddr @pool ip daddr . udp dport != @pub_to_inside "
                "counter drop\n");
    natrule_emit(&o, "\t}\n");

    natrule_emit(&o, "\tchain ct_policy {\n\t\ttype filter hook prerouting priority -150; policy "
                     "accept;\n");
    natrule_emit(&o, "\t\tmeta l4proto udp ct timeout set \"udp_cgn\"\n");
    natrule_emit(&o, "\t\tmeta l4proto tcp ct timeout set \"tcp_cgn\"\n\t}\n");

    natrule_emit(&o,
                 "\tchain dnat_in {\n\t\ttype nat hook prerouting priority -100; policy accept;\n");
    natrule_emit(
        &o,
        "\t\tip daddr @pool%s ip daddr . udp dport @pub_to_inside counter dnat ip to ip daddr "
        ". udp dport map @pub_to_inside\n\t}\n",
        c->hairpin ? "" : " ip saddr != @inside_nets");

    /* after conntrack, before NAT: a full quota set refuses the new port, the drop counts */
    natrule_emit(
        &o, "\tchain port_quota {\n\t\ttype filter hook forward priority -10; policy accept;\n");
    for (i = 0; i < c->n_cust; i++) {
        ipv4_format(c->cust[i], a, sizeof a);
        natrule_emit(&o,
                     "\t\tip saddr %s meta l4proto udp update @q_%zu { meta l4proto . udp sport "
                     "timeout %us } accept\n",
                     a, i, c->udp_timeout);
        natrule_emit(&o,
                     "\t\tip saddr %s meta l4proto tcp update @q_%zu { meta l4proto . tcp sport "
                     "timeout %us } accept\n",
                     a, i, c->tcp_timeout);
        natrule_emit(
            &o, "\t\tip saddr %s meta l4proto { tcp, udp } counter name \"oop_%zu\" drop\n", a, i);
    }
    natrule_emit(&o, "\t}\n");

    /* the mapping of a new flow: the endpoint's own, else a port of its customer's blocks */
    natrule_emit(&o, "\tchain map_out {\n");
    natrule_emit(&o,
                 "\t\tip saddr . udp sport @eim_out counter snat ip to ip saddr . udp sport map "
                 "@eim_out\n");
    for (i = 0; i < c->n_cust; i++) {
        char pub[INET_ADDRSTRLEN];
        uint32_t addr;
        unsigned lo, hi;

        natrule_cgn_customer(c, i, &addr, &lo, &hi);
        ipv4_format(c->cust[i], a, sizeof a);
        ipv4_format(addr, pub, sizeof pub);
        natrule_emit(&o, "\t\tip saddr %s meta l4proto udp counter snat ip to %s:%u-%u\n", a, pub,
                     lo, hi);
        natrule_emit(&o, "\t\tip saddr %s meta l4proto tcp counter snat ip to %s:%u-%u\n", a, pub,
                     lo, hi);
        natrule_emit(&o, "\t\tip saddr %s counter snat ip to %s\n", a, pub);
    }
    natrule_emit(&o, "\t}\n");
    natrule_emit(
        &o, "\tchain snat_out {\n\t\ttype nat hook postrouting priority 100; policy accept;\n");
    if (c->hairpin)
        natrule_emit(
            &o, "\t\tip saddr @inside_nets ip daddr @inside_nets ct status dnat jump map_out\n");
    natrule_emit(&o, "\t\tip saddr @inside_nets ip daddr != @inside_nets jump map_out\n\t}\n");

    natrule_emit(
        &o, "\tchain learn {\n\t\ttype filter hook postrouting priority 300; policy accept;\n");
    snprintf(pre, sizeof pre, "ip saddr @pool meta l4proto udp");
    learn_set(&o, pre, "seen_ap", "ip daddr . udp dport . ip saddr . udp sport");
    if (c->filtering == NATRULE_ADF)
        learn_set(&o, pre, "seen_a", "ip daddr . ip saddr . udp sport");
    learn_map(&o, pre, "pub_to_inside", 0);
    learn_map(&o, pre, "eim_out", 1);
    natrule_emit(&o, "\t}\n");

    natrule_emit(&o,
                 "\tchain isolate {\n\t\ttype filter hook forward priority 0; policy accept;\n");
    natrule_emit(&o,
                 "\t\tct state new ip saddr != @inside_nets ip daddr @inside_nets ct status & dnat "
                 "!= dnat counter drop\n\t}\n}\n");
    if (o.failed)
        return nt_err_set(err, NT_LIMIT, "cgnat ruleset", "ruleset buffer is full");
    return 0;
}

/* --- the listing checker ---------------------------------------------------------------- */

/* find_block and block_len: natrule_check.c's (natrule.h), the one reader of nft listings. */

struct obj {
    const char *kind, *name, *hook;
};

static const struct obj fixed[] = {
    {"set", "inside_nets", NULL},
    {"set", "pool", NULL},
    {"set", "seen_ap", NULL},
    {"map", "pub_to_inside", NULL},
    {"map", "eim_out", NULL},
    {"ct timeout", "udp_cgn", NULL},
    {"ct timeout", "tcp_cgn", NULL},
    {"chain", "guard", "prerouting"},
    {"chain", "ct_policy", "prerouting"},
    {"chain", "dnat_in", "prerouting"},
    {"chain", "port_quota", "forward"},
    {"chain", "map_out", NULL},
    {"chain", "snat_out", "postrouting"},
    {"chain", "learn", "postrouting"},
    {"chain", "isolate", "forward"},
};

static int need(const char *listing, const char *kind, const char *name, const char *hook,
                struct nt_err *err)
{
    const char *blk = natrule_find_block(listing, kind, name);
    char want[64];

    if (!blk)
        return nt_err_set(err, NT_PARSE, "cgnat verify", "%s %s is missing", kind, name);
    if (hook) {
        size_t bl = natrule_block_len(blk);

        snprintf(want, sizeof want, " hook %s ", hook);
        if (!memmem(blk, bl, want, strlen(want)))
            return nt_err_set(err, NT_PARSE, "cgnat verify", "chain %s is not on hook %s", name,
                              hook);
    }
    return 0;
}

int natrule_cgn_check_listing(const struct natrule_cgn *c, const char *listing, struct nt_err *err)
{
    char tag[224], want[240], name[16], a[INET_ADDRSTRLEN];
    const char *blk;
    size_t i;

    if (!listing)
        listing = "";
    if (!natrule_find_block(listing, "table ip", NATRULE_TABLE))
        return nt_err_set(err, NT_PARSE, "cgnat verify", "table ip natrig is missing");
    tag_of(c, tag, sizeof tag);
    snprintf(want, sizeof want, "\tcomment \"%s\"\n", tag);
    if (!strstr(listing, want))
        return nt_err_set(err, NT_PARSE, "cgnat verify",
                          "table ip natrig holds another spec (want comment \"%s\")", tag);
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (need(listing, fixed[i].kind, fixed[i].name, fixed[i].hook, err) < 0)
            return -1;
    if (c->filtering == NATRULE_ADF && need(listing, "set", "seen_a", NULL, err) < 0)
        return -1;
    for (i = 0; i < c->n_cust; i++) {
        snprintf(name, sizeof name, "q_%u", (unsigned)(i & 0xffff));
        if (need(listing, "set", name, NULL, err) < 0)
            return -1;
        snprintf(name, sizeof name, "oop_%u", (unsigned)(i & 0xffff));
        if (need(listing, "counter", name, NULL, err) < 0)
            return -1;
    }
    blk = natrule_find_block(listing, "set", "pool");
    for (i = 0; blk && i < c->n_pool; i++) {
        size_t bl = natrule_block_len(blk);
        const char *p = blk;

        ipv4_format(c->pool[i], a, sizeof a);
        /* a whole address: not 10.0.0.1 inside 10.0.0.10 */
        for (p = memmem(p, bl - (size_t)(p - blk), a, strlen(a)); p;
             p = memmem(p + 1, bl - (size_t)(p + 1 - blk), a, strlen(a))) {
            char after = p[strlen(a)];
            if (after != '.' && (after < '0' || after > '9'))
                break;
        }
        if (!p)
            return nt_err_set(err, NT_PARSE, "cgnat verify", "pool address %s is not in set pool",
                              a);
    }
    return 0;
}

/* --- argv ------------------------------------------------------------------------------- */

static void argv_of(struct natrule_argv *a, const char *kind, const char *name)
{
    const char *v[] = {"nft", "flush", kind, "ip", NATRULE_TABLE, name, NULL};
    size_t i;

    for (i = 0; v[i]; i++)
        a->v[i] = v[i];
    for (; i <= NATRULE_ARGV_MAX; i++)
        a->v[i] = NULL;
}

size_t natrule_cgn_flush_argvs(const struct natrule_cgn *c, struct natrule_argv *out,
                               char (*names)[16], size_t max)
{
    static const char *const learned[][2] = {
        {"set", "seen_ap"}, {"set", "seen_a"}, {"map", "pub_to_inside"}, {"map", "eim_out"}};
    size_t k = 0, i;

    for (i = 0; i < 4; i++) {
        if (strcmp(learned[i][1], "seen_a") == 0 && c->filtering != NATRULE_ADF)
            continue;
        if (k < max)
            argv_of(&out[k], learned[i][0], learned[i][1]);
        k++;
    }
    for (i = 0; i < c->n_cust; i++) {
        if (k < max) {
            snprintf(names[k], 16, "q_%u", (unsigned)(i & 0xffff));
            argv_of(&out[k], "set", names[k]);
        }
        k++;
    }
    if (k < max) {
        static const char *const ct[] = {"conntrack", "-F", NULL};

        for (i = 0; i <= NATRULE_ARGV_MAX; i++)
            out[k].v[i] = i < 2 ? ct[i] : NULL;
    }
    return k + 1;
}
