/* natrule_check.c - the readiness check of a NAT spec on `nft list table ip|ip6 natrig`
 * (natrule_check_listing) and the block finders it and natrule_cgn.c read a listing with.
 * Pure: reads text only. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/natrule.h"
#include "core/natrule_int.h"
#include "core/natrule_tcp.h"

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
    natrule_spec_tag(s, tag, sizeof tag);
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
