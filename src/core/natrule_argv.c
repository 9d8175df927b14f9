/* natrule_argv.c - the commands around a NAT spec's table: apply (`nft -f`), verify (`nft
 * list table`), flush (the learned sets and maps, then conntrack) and the diagnostics. Each
 * argv points at string literals or at the caller's path. Pure. */
#include <string.h>

#include "core/natrule.h"

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
