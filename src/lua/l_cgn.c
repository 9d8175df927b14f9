/* l_cgn.c - the carrier-grade NAT's rules (core/natrule_cgn) as functions of natrig.core.
 * A CGN spec travels in Lua as a table:
 *   { filtering = "EIF"|"ADF"|"APDF", hairpin = bool, port_block =, blocks =, udp_timeout =,
 *     tcp_timeout =, inside = "100.64.x.0/24", pool = { ip... }, customers = { ip... } }
 * and is rebuilt in C for each call, as l_nat.c does with a home router's spec. */
#include <string.h>

#include "core/natrule_cgn.h"
#include "lua/l_aux.h"

static const char *const CGN_KEYS[] = {
    "filtering", "hairpin", "port_block", "blocks",  "udp_timeout", "tcp_timeout", "inside", "pool",
    "customers", "preset",  "describe",   "timeout", "mapping",     "cgnat",       NULL};

static void set_list(lua_State *L, int idx, const char *field, const char *key,
                     struct natrule_cgn *c)
{
    struct nt_err err = {0};

    lua_getfield(L, idx, field);
    if (lua_istable(L, -1)) {
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, -1); i++) {
            lua_rawgeti(L, -1, i);
            if (natrule_cgn_set_option(c, key, luaL_checkstring(L, -1), &err))
                nt_raise(L, &err);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

/* The C spec from the table at idx; raises a natrig.Error on anything invalid. */
static void cgn_from(lua_State *L, int idx, struct natrule_cgn *c)
{
    struct nt_err err = {0};

    idx = lua_absindex(L, idx);
    luaL_checktype(L, idx, LUA_TTABLE);
    l_check_options(L, idx, "cgnat", CGN_KEYS);
    natrule_cgn_init(c);
    for (int i = 0; i < 7; i++) {
        const char *k = CGN_KEYS[i], *v = NULL;

        lua_getfield(L, idx, k);
        if (lua_isboolean(L, -1))
            v = lua_toboolean(L, -1) ? "on" : "off";
        else if (lua_isinteger(L, -1) || lua_type(L, -1) == LUA_TSTRING)
            v = lua_tostring(L, -1);
        else if (lua_isnumber(L, -1))
            nt_raisef(L, NT_EINVAL, "cgnat spec", "%s: %s is not a whole number", k,
                      lua_tostring(L, -1));
        else
            v = NULL;
        if (v && natrule_cgn_set_option(c, k, v, &err))
            nt_raise(L, &err);
        lua_pop(L, 1);
    }
    set_list(L, idx, "pool", "pool", c);
    set_list(L, idx, "customers", "customer", c);
}

/* cgn_validate(spec) -> describe text; raises what is wrong */
static int l_cgn_validate(lua_State *L)
{
    struct natrule_cgn c;
    struct nt_err err = {0};
    struct buf *b;

    cgn_from(L, 1, &c);
    if (natrule_cgn_validate(&c, &err))
        return nt_raise(L, &err);
    b = l_box_buf(L, 4096);
    natrule_cgn_describe(&c, b);
    lua_pushstring(L, b->data ? b->data : "");
    return 1;
}

/* cgn_ruleset(spec) -> nft script text */
static int l_cgn_ruleset(lua_State *L)
{
    struct natrule_cgn c;
    struct nt_err err = {0};
    struct buf *b;

    cgn_from(L, 1, &c);
    b = l_box_buf(L, 1 << 20);
    if (natrule_cgn_ruleset(&c, b, &err))
        return nt_raise(L, &err);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    l_box_release(b);
    return 1;
}

/* cgn_check(spec, listing) -> true | nil, message */
static int l_cgn_check(lua_State *L)
{
    struct natrule_cgn c;
    struct nt_err err = {0};

    cgn_from(L, 1, &c);
    if (natrule_cgn_check_listing(&c, luaL_checkstring(L, 2), &err)) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* cgn_flush(spec) -> { argv... } */
static int l_cgn_flush(lua_State *L)
{
    static struct natrule_argv a[NATRULE_CGN_MAX_CUSTOMERS + 8];
    static char names[NATRULE_CGN_MAX_CUSTOMERS + 8][16];
    struct natrule_cgn c;
    size_t n, max = NATRULE_CGN_MAX_CUSTOMERS + 8;

    cgn_from(L, 1, &c);
    n = natrule_cgn_flush_argvs(&c, a, names, max);
    if (n > max)
        n = max;
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        int k = 0;

        lua_newtable(L);
        for (const char *const *v = a[i].v; *v; v++) {
            lua_pushstring(L, *v);
            lua_rawseti(L, -2, ++k);
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* cgn_customers(spec) -> { { inside=, public=, lo=, hi= }... } in the spec's order */
static int l_cgn_customers(lua_State *L)
{
    struct natrule_cgn c;
    struct nt_err err = {0};

    cgn_from(L, 1, &c);
    if (natrule_cgn_validate(&c, &err))
        return nt_raise(L, &err);
    lua_createtable(L, (int)c.n_cust, 0);
    for (size_t i = 0; i < c.n_cust; i++) {
        char ip[16];
        uint32_t addr;
        unsigned lo, hi;

        natrule_cgn_customer(&c, i, &addr, &lo, &hi);
        lua_createtable(L, 0, 4);
        ipv4_format(c.cust[i], ip, sizeof ip);
        lua_pushstring(L, ip);
        lua_setfield(L, -2, "inside");
        ipv4_format(addr, ip, sizeof ip);
        lua_pushstring(L, ip);
        lua_setfield(L, -2, "public");
        lua_pushinteger(L, lo);
        lua_setfield(L, -2, "lo");
        lua_pushinteger(L, hi);
        lua_setfield(L, -2, "hi");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* cgn_claim(spec [, home mapping, home filtering, home hairpin]) -> { mapping, filtering,
 * hairpin } in the classifier's terms (natrule_cgn_claim) */
static int l_cgn_claim(lua_State *L)
{
    static const char *const m[] = {"EIM", "ADM", "APDM", NULL};
    static const char *const f[] = {"EIF", "ADF", "APDF", NULL};
    static const enum natclass_behaviour b[] = {NATCLASS_EI, NATCLASS_AD, NATCLASS_APD};
    struct natrule_cgn c;
    struct natclass home, out;

    cgn_from(L, 1, &c);
    memset(&home, 0, sizeof home);
    if (!lua_isnoneornil(L, 2)) {
        home.mapping = b[luaL_checkoption(L, 2, NULL, m)];
        home.filtering = b[luaL_checkoption(L, 3, NULL, f)];
        home.hairpin = lua_toboolean(L, 4) ? NATCLASS_YES : NATCLASS_NO;
    }
    natrule_cgn_claim(&c, lua_isnoneornil(L, 2) ? NULL : &home, &out);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, natclass_mapping_name(out.mapping));
    lua_setfield(L, -2, "mapping");
    lua_pushstring(L, natclass_filtering_name(out.filtering));
    lua_setfield(L, -2, "filtering");
    lua_pushboolean(L, out.hairpin == NATCLASS_YES);
    lua_setfield(L, -2, "hairpin");
    return 1;
}

static const luaL_Reg cgn_funcs[] = {
    {"cgn_validate", l_cgn_validate},
    {"cgn_ruleset", l_cgn_ruleset},
    {"cgn_check", l_cgn_check},
    {"cgn_flush", l_cgn_flush},
    {"cgn_claim", l_cgn_claim},
    {"cgn_customers", l_cgn_customers},
    {NULL, NULL},
};

void l_cgn_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, cgn_funcs, 0);
}
