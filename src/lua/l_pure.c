/* l_pure.c - bindings of the pure core modules as plain functions of natrig.core:
 * subnet allocation (and, as they land, the log parser, NAT rules, impairment specs and
 * NAT classification). */
#include <stdlib.h>

#include "base/xalloc.h"
#include "core/subnet.h"
#include "lua/l_aux.h"

static struct subnet check_subnet(lua_State *L, int idx)
{
    struct subnet s;
    struct nt_err err = {0};
    if (subnet_parse(luaL_checkstring(L, idx), &s, 0, &err))
        nt_raise(L, &err);
    return s;
}

/* subnet_alloc(pool, prefix, taken_list, start, count) -> { "a.b.c.d/n", ... }
 * taken entries that do not parse (IPv6, empty) are ignored: they cannot overlap. */
static int l_subnet_alloc(lua_State *L)
{
    struct subnet pool = check_subnet(L, 1);
    int prefix = (int)luaL_checkinteger(L, 2);
    lua_Integer start = luaL_optinteger(L, 4, 0);
    lua_Integer count = luaL_checkinteger(L, 5);
    size_t ntaken = 0, cap;
    struct subnet *taken, *out;
    struct nt_err err = {0};

    luaL_checktype(L, 3, LUA_TTABLE);
    if (count < 1 || count > 65536)
        return nt_raisef(L, NT_EINVAL, "allocate subnets", "count %d out of range", (int)count);
    cap = lua_rawlen(L, 3);
    taken = xcalloc(cap + 1, sizeof *taken);
    for (size_t i = 1; i <= cap; i++) {
        lua_rawgeti(L, 3, (lua_Integer)i);
        const char *s = lua_tostring(L, -1);
        if (s && subnet_parse(s, &taken[ntaken], 1, NULL) == 0)
            ntaken++;
        lua_pop(L, 1);
    }
    out = xcalloc((size_t)count, sizeof *out);
    int rc = subnet_alloc(&pool, prefix, taken, ntaken, (uint32_t)start, (size_t)count, out,
                          &err);
    free(taken);
    if (rc) {
        free(out);
        return nt_raise(L, &err);
    }
    /* Copy to Lua first, free, then nothing after can leak. */
    lua_createtable(L, (int)count, 0);
    for (lua_Integer i = 0; i < count; i++) {
        char buf[24];
        subnet_format(&out[i], buf, sizeof buf);
        lua_pushstring(L, buf);
        lua_rawseti(L, -2, i + 1);
    }
    free(out);
    return 1;
}

/* subnet_host(cidr, n) -> "a.b.c.d" (the n-th host address) */
static int l_subnet_host(lua_State *L)
{
    struct subnet s = check_subnet(L, 1);
    uint32_t ip;
    char buf[16];
    lua_Integer n = luaL_checkinteger(L, 2);
    if (n < 1 || subnet_host(&s, (uint32_t)n, &ip))
        return nt_raisef(L, NT_EINVAL, "subnet host", "host %d is outside %s", (int)n,
                         lua_tostring(L, 1));
    subnet_format_ip(ip, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

static int l_subnet_contains(lua_State *L)
{
    struct subnet s = check_subnet(L, 1);
    uint32_t ip;
    struct nt_err err = {0};
    if (subnet_parse_ip(luaL_checkstring(L, 2), &ip, &err))
        return nt_raise(L, &err);
    lua_pushboolean(L, subnet_contains(&s, ip));
    return 1;
}

static int l_subnet_overlaps(lua_State *L)
{
    struct subnet a = check_subnet(L, 1), b = check_subnet(L, 2);
    lua_pushboolean(L, subnet_overlaps(&a, &b));
    return 1;
}

static const luaL_Reg pure_funcs[] = {
    {"subnet_alloc", l_subnet_alloc},
    {"subnet_host", l_subnet_host},
    {"subnet_contains", l_subnet_contains},
    {"subnet_overlaps", l_subnet_overlaps},
    {NULL, NULL},
};

void l_pure_open(lua_State *L)
{
    luaL_setfuncs(L, pure_funcs, 0);
}
