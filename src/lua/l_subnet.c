/* l_subnet.c - IPv4 and IPv6 subnets for Lua (core/ipv4 and core/ipv6 parse, core/subnet
 * and core/ipv6 allocate): allocation of free blocks, host numbering, containment and
 * overlap, as functions of natrig.core (the IPv6 ones named subnet6_*, ip6_*). */
#include "core/ipv4.h"
#include "core/ipv6.h"
#include "core/npt6.h"
#include "core/subnet.h"
#include "lua/l_aux.h"

static struct ipv4_cidr check_cidr(lua_State *L, int idx)
{
    struct ipv4_cidr c;
    struct nt_err err = {0};
    if (ipv4_parse_cidr(luaL_checkstring(L, idx), &c, 0, &err))
        nt_raise(L, &err);
    return c;
}

/* subnet_alloc(pool, prefix, taken_list, start, count) -> { "a.b.c.d/n", ... }
 * taken entries that do not parse (IPv6, empty) are ignored: they cannot overlap. The
 * scratch arrays are userdata, so a raise frees them. */
static int l_subnet_alloc(lua_State *L)
{
    struct ipv4_cidr pool = check_cidr(L, 1);
    int prefix = (int)luaL_checkinteger(L, 2);
    lua_Integer start = luaL_optinteger(L, 4, 0);
    lua_Integer count = luaL_checkinteger(L, 5);
    size_t ntaken = 0, cap;
    struct ipv4_cidr *taken, *out;
    struct nt_err err = {0};

    luaL_checktype(L, 3, LUA_TTABLE);
    if (count < 1 || count > 65536)
        return nt_raisef(L, NT_EINVAL, "allocate subnets", "count %d out of range", (int)count);
    lua_settop(L, 5);
    cap = lua_rawlen(L, 3);
    taken = lua_newuserdatauv(L, (cap + 1) * sizeof *taken, 0);
    out = lua_newuserdatauv(L, (size_t)count * sizeof *out, 0);
    /* stack: pool prefix taken start count taken_ud out_ud */
    for (size_t i = 1; i <= cap; i++) {
        if (lua_rawgeti(L, 3, (lua_Integer)i) == LUA_TSTRING &&
            ipv4_parse_cidr(lua_tostring(L, -1), &taken[ntaken], 1, NULL) == 0)
            ntaken++;
        lua_pop(L, 1);
    }
    if (subnet_alloc(&pool, prefix, taken, ntaken, (uint32_t)start, (size_t)count, out, &err))
        return nt_raise(L, &err);
    lua_createtable(L, (int)count, 0);
    for (lua_Integer i = 0; i < count; i++) {
        char buf[24];
        ipv4_format_cidr(&out[i], buf, sizeof buf);
        lua_pushstring(L, buf);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* subnet_host(cidr, n) -> "a.b.c.d" (the n-th host address) */
static int l_subnet_host(lua_State *L)
{
    struct ipv4_cidr c = check_cidr(L, 1);
    uint32_t ip;
    char buf[16];
    lua_Integer n = luaL_checkinteger(L, 2);
    if (n < 1 || n > UINT32_MAX || subnet_host(&c, (uint32_t)n, &ip))
        return nt_raisef(L, NT_EINVAL, "subnet host", "host %lld is outside %s", (long long)n,
                         lua_tostring(L, 1));
    ipv4_format(ip, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

static int l_subnet_contains(lua_State *L)
{
    struct ipv4_cidr c = check_cidr(L, 1);
    const char *s = luaL_checkstring(L, 2);
    uint32_t ip;
    if (ipv4_parse(s, &ip))
        return nt_raisef(L, NT_EINVAL, "parse address", "'%s' is not an IPv4 address", s);
    lua_pushboolean(L, ipv4_cidr_contains(&c, ip));
    return 1;
}

static int l_subnet_overlaps(lua_State *L)
{
    struct ipv4_cidr a = check_cidr(L, 1), b = check_cidr(L, 2);
    lua_pushboolean(L, ipv4_cidr_overlaps(&a, &b));
    return 1;
}

static struct ipv6_cidr check_cidr6(lua_State *L, int idx)
{
    struct ipv6_cidr c;
    struct nt_err err = {0};
    if (ipv6_parse_cidr(luaL_checkstring(L, idx), &c, 0, &err))
        nt_raise(L, &err);
    return c;
}

/* subnet6_alloc(pool, prefix, taken_list, start, count) -> { "2001:db8:1::/48", ... }
 * taken entries that are not IPv6 prefixes (IPv4, empty) are ignored. */
static int l_subnet6_alloc(lua_State *L)
{
    struct ipv6_cidr pool = check_cidr6(L, 1);
    int prefix = (int)luaL_checkinteger(L, 2);
    lua_Integer start = luaL_optinteger(L, 4, 0);
    lua_Integer count = luaL_checkinteger(L, 5);
    size_t ntaken = 0, cap;
    struct ipv6_cidr *taken, *out;
    struct nt_err err = {0};

    luaL_checktype(L, 3, LUA_TTABLE);
    if (count < 1 || count > 65536 || start < 0)
        return nt_raisef(L, NT_EINVAL, "allocate subnets", "count %d out of range", (int)count);
    lua_settop(L, 5);
    cap = lua_rawlen(L, 3);
    taken = lua_newuserdatauv(L, (cap + 1) * sizeof *taken, 0);
    out = lua_newuserdatauv(L, (size_t)count * sizeof *out, 0);
    for (size_t i = 1; i <= cap; i++) {
        if (lua_rawgeti(L, 3, (lua_Integer)i) == LUA_TSTRING &&
            ipv6_parse_cidr(lua_tostring(L, -1), &taken[ntaken], 1, NULL) == 0)
            ntaken++;
        lua_pop(L, 1);
    }
    if (ipv6_subnet_alloc(&pool, prefix, taken, ntaken, (uint64_t)start, (size_t)count, out, &err))
        return nt_raise(L, &err);
    lua_createtable(L, (int)count, 0);
    for (lua_Integer i = 0; i < count; i++) {
        char buf[IPV6_CIDR_TEXT_MAX];
        ipv6_format_cidr(&out[i], buf, sizeof buf);
        lua_pushstring(L, buf);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* subnet6_host(prefix, n) -> the n-th address, canonical text */
static int l_subnet6_host(lua_State *L)
{
    struct ipv6_cidr c = check_cidr6(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    struct ipv6_addr a;
    char buf[IPV6_TEXT_MAX];
    if (n < 1 || ipv6_host(&c, (uint64_t)n, &a))
        return nt_raisef(L, NT_EINVAL, "subnet host", "host %lld is outside %s", (long long)n,
                         lua_tostring(L, 1));
    ipv6_format(&a, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

/* ip6_parse(text) -> canonical text, or nil and why; ip6_parse_prefix(text) the same for
 * "addr/n" (host bits refused). The one place Lua reads IPv6 text. */
static int l_ip6_parse(lua_State *L)
{
    struct ipv6_addr a;
    char buf[IPV6_TEXT_MAX];
    const char *s = luaL_checkstring(L, 1);
    if (ipv6_parse(s, &a)) {
        lua_pushnil(L);
        lua_pushfstring(L, "'%s' is not an IPv6 address", s);
        return 2;
    }
    ipv6_format(&a, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

static int l_ip6_parse_prefix(lua_State *L)
{
    struct ipv6_cidr c;
    struct nt_err err = {0};
    char buf[IPV6_CIDR_TEXT_MAX];
    if (ipv6_parse_cidr(luaL_checkstring(L, 1), &c, 0, &err)) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    ipv6_format_cidr(&c, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

static int l_subnet6_contains(lua_State *L)
{
    struct ipv6_cidr c = check_cidr6(L, 1);
    const char *s = luaL_checkstring(L, 2);
    struct ipv6_addr a;
    if (ipv6_parse(s, &a))
        return nt_raisef(L, NT_EINVAL, "parse address", "'%s' is not an IPv6 address", s);
    lua_pushboolean(L, ipv6_cidr_contains(&c, &a));
    return 1;
}

/* npt6_outside(lan64, outside) -> the checksum-neutral outside /64 (core/npt6: a /48 gets its
 * subnet word picked, a /64 is checked); raises naming what is wrong. */
static int l_npt6_outside(lua_State *L)
{
    struct ipv6_cidr in = check_cidr6(L, 1), outside = check_cidr6(L, 2), got;
    struct nt_err err = {0};
    char buf[IPV6_CIDR_TEXT_MAX];
    if (npt6_outside(&in, &outside, &got, &err))
        return nt_raise(L, &err);
    ipv6_format_cidr(&got, buf, sizeof buf);
    lua_pushstring(L, buf);
    return 1;
}

static const luaL_Reg subnet_funcs[] = {
    {"npt6_outside", l_npt6_outside},
    {"subnet6_alloc", l_subnet6_alloc},
    {"subnet6_host", l_subnet6_host},
    {"subnet6_contains", l_subnet6_contains},
    {"ip6_parse", l_ip6_parse},
    {"ip6_parse_prefix", l_ip6_parse_prefix},
    {"subnet_alloc", l_subnet_alloc},
    {"subnet_host", l_subnet_host},
    {"subnet_contains", l_subnet_contains},
    {"subnet_overlaps", l_subnet_overlaps},
    {NULL, NULL},
};

void l_subnet_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, subnet_funcs, 0);
}
