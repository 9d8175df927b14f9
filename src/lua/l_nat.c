/* l_nat.c - NAT rule generation (core/natrule) and NAT classification (core/natclass) as
 * functions of natrig.core. A spec travels in Lua as a table:
 *   { preset=, mapping="EIM"|"ADM"|"APDM", filtering="EIF"|"ADF"|"APDF", hairpin=bool,
 *     port_preservation=bool, racy=bool, udp_timeout=seconds, tcp_mapping=, tcp_filtering=,
 *     tcp_syn="drop"|"rst"|"hold", tcp_established=seconds, tcp_transitory=seconds }
 * and comes back with `tcp = { mapping, filtering, syn, established, transitory }` (effective;
 * a `tcp` key going in is ignored here: natrig.nat turns it into the tcp_* keys).
 * and is rebuilt in C for each call (cheap; keeps the C side free of Lua-held state).
 * Text buffers are boxed (l_box_buf), so a raise while pushing cannot leak them. */
#include <string.h>

#include "core/natclass.h"
#include "core/natrule.h"
#include "lua/l_aux.h"

static const char *const SPEC_KEYS[] = {"preset",
                                        "mapping",
                                        "filtering",
                                        "hairpin",
                                        "port_preservation",
                                        "racy",
                                        "udp_timeout",
                                        "portmap",
                                        "tcp_mapping",
                                        "tcp_filtering",
                                        "tcp_syn",
                                        "tcp_established",
                                        "tcp_transitory",
                                        "family",
                                        "npt6",
                                        "describe",
                                        "tcp",
                                        NULL};

/* Build a C spec from the table at idx (preset first, then each option), plus wan and
 * lans when given. Raises a natrig.Error on anything invalid. */
static void spec_from(lua_State *L, int idx, const char *wan, int lans_idx, struct natrule_spec *s)
{
    struct nt_err err = {0};
    idx = lua_absindex(L, idx);
    l_check_options(L, idx, "nat", SPEC_KEYS);
    lua_getfield(L, idx, "preset");
    if (natrule_preset(lua_tostring(L, -1), s, &err))
        nt_raise(L, &err);
    lua_pop(L, 1);
    for (int i = 1; strcmp(SPEC_KEYS[i], "describe") != 0; i++) {
        const char *k = SPEC_KEYS[i], *v;
        lua_getfield(L, idx, k);
        if (lua_isboolean(L, -1))
            v = lua_toboolean(L, -1) ? "on" : "off";
        else
            v = lua_tostring(L, -1);
        if (v && natrule_set_option(s, k, v, &err))
            nt_raise(L, &err);
        lua_pop(L, 1);
    }
    /* "wan_ip" and "lan" read IPv6 too (a family 6 firewall's) */
    if (wan && natrule_set_option(s, "wan_ip", wan, &err))
        nt_raise(L, &err);
    if (lans_idx) {
        luaL_checktype(L, lans_idx, LUA_TTABLE);
        for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, lans_idx); i++) {
            lua_rawgeti(L, lans_idx, i);
            if (natrule_set_option(s, "lan", luaL_checkstring(L, -1), &err))
                nt_raise(L, &err);
            lua_pop(L, 1);
        }
    }
}

static void push_spec(lua_State *L, const struct natrule_spec *s, const char *preset)
{
    struct buf *b;
    lua_createtable(L, 0, 8);
    if (preset) {
        lua_pushstring(L, preset);
        lua_setfield(L, -2, "preset");
    }
    lua_pushstring(L, natrule_mapping_name(s->mapping));
    lua_setfield(L, -2, "mapping");
    lua_pushstring(L, natrule_filtering_name(s->filtering));
    lua_setfield(L, -2, "filtering");
    lua_pushboolean(L, s->hairpin);
    lua_setfield(L, -2, "hairpin");
    lua_pushboolean(L, s->port_preservation);
    lua_setfield(L, -2, "port_preservation");
    lua_pushboolean(L, s->racy);
    lua_setfield(L, -2, "racy");
    lua_pushboolean(L, s->portmap);
    lua_setfield(L, -2, "portmap");
    lua_pushinteger(L, s->udp_timeout);
    lua_setfield(L, -2, "udp_timeout");
    /* TCP's effective behaviour (natrule_tcp.c); natrig.nat passes it back as tcp_* keys */
    lua_createtable(L, 0, 5);
    lua_pushstring(L, natrule_mapping_name(natrule_tcp_mapping(s)));
    lua_setfield(L, -2, "mapping");
    lua_pushstring(L, natrule_filtering_name(natrule_tcp_filtering(s)));
    lua_setfield(L, -2, "filtering");
    lua_pushstring(L, natrule_syn_name(natrule_tcp_syn(s)));
    lua_setfield(L, -2, "syn");
    lua_pushinteger(L, natrule_tcp_established(s));
    lua_setfield(L, -2, "established");
    lua_pushinteger(L, natrule_tcp_transitory(s));
    lua_setfield(L, -2, "transitory");
    lua_setfield(L, -2, "tcp");
    b = l_box_buf(L, 4096);
    natrule_describe(s, b);
    lua_pushstring(L, b->data ? b->data : "");
    /* stack: spec box text */
    lua_remove(L, -2);
    lua_setfield(L, -2, "describe");
}

/* nat_resolve(spec_table) -> normalised spec table. Checks the combination can be built
 * (with placeholder addresses), so bad input fails before anything is created. */
static int l_nat_resolve(lua_State *L)
{
    struct natrule_spec s;
    struct nt_err err = {0};
    const char *preset;
    luaL_checktype(L, 1, LUA_TTABLE);
    spec_from(L, 1, "198.51.100.1", 0, &s);
    if (natrule_add_lan(&s, "10.255.255.0/24", &err) || natrule_validate(&s, &err))
        return nt_raise(L, &err);
    lua_getfield(L, 1, "preset");
    preset = lua_tostring(L, -1);
    push_spec(L, &s, preset && *preset ? preset : NATRULE_DEFAULT_PRESET);
    return 1;
}

/* nat_ruleset(spec, wan_ip, {lan cidrs}) -> nft script text */
static int l_nat_ruleset(lua_State *L)
{
    struct natrule_spec s;
    struct nt_err err = {0};
    struct buf *b;
    spec_from(L, 1, luaL_checkstring(L, 2), 3, &s);
    b = l_box_buf(L, 1 << 20);
    if (natrule_ruleset(&s, b, &err))
        return nt_raise(L, &err);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    l_box_release(b);
    return 1;
}

/* nat_check(spec, wan_ip, {lans}, listing) -> true | nil, message */
static int l_nat_check(lua_State *L)
{
    struct natrule_spec s;
    struct nt_err err = {0};
    spec_from(L, 1, luaL_checkstring(L, 2), 3, &s);
    if (natrule_check_listing(&s, luaL_checkstring(L, 4), &err)) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static void push_argv(lua_State *L, const struct natrule_argv *a)
{
    int n = 0;
    lua_newtable(L);
    for (const char *const *v = a->v; *v; v++) {
        lua_pushstring(L, *v);
        lua_rawseti(L, -2, ++n);
    }
}

/* nat_argvs(kind [, spec]) -> { argv... } for kind "apply" | "verify" | "flush" | "diag";
 * apply and verify take the spec's family (6: the IPv6 firewall's file and table). */
static int l_nat_argvs(lua_State *L)
{
    static const char *const kinds[] = {"apply", "verify", "flush", "diag", NULL};
    struct natrule_argv a[16];
    size_t n = 0;
    int kind = luaL_checkoption(L, 1, NULL, kinds), family = 4;
    if (kind < 2 && lua_istable(L, 2)) {
        lua_getfield(L, 2, "family");
        family = (int)lua_tointeger(L, -1) == 6 ? 6 : 4;
        lua_pop(L, 1);
    }
    if (kind == 0) {
        natrule_apply_argv(family == 6 ? NATRULE_RULESET6_PATH : NULL, &a[0]);
        n = 1;
    } else if (kind == 1) {
        natrule_verify_argv_family(family, &a[0]);
        n = 1;
    } else if (kind == 2) {
        struct natrule_spec s;
        luaL_checktype(L, 2, LUA_TTABLE);
        spec_from(L, 2, NULL, 0, &s);
        n = natrule_flush_argvs(&s, a, 16);
    } else {
        n = natrule_diag_argvs(a, 16);
    }
    if (n > 16)
        n = 16;
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        push_argv(L, &a[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int l_nat_presets(lua_State *L)
{
    int n = 0;
    lua_newtable(L);
    for (const char *const *p = natrule_preset_names(); *p; p++) {
        lua_pushstring(L, *p);
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

static const char *answer(enum natclass_answer a)
{
    return a == NATCLASS_YES ? "yes" : a == NATCLASS_NO ? "no" : "untested";
}

static void push_class(lua_State *L, const struct natclass *c)
{
    struct buf *b;
    lua_createtable(L, 0, 8);
    lua_pushstring(L, natclass_mapping_name(c->mapping));
    lua_setfield(L, -2, "mapping");
    lua_pushstring(L, natclass_filtering_name(c->filtering));
    lua_setfield(L, -2, "filtering");
    if (c->hairpin != NATCLASS_UNTESTED) {
        lua_pushboolean(L, c->hairpin == NATCLASS_YES);
        lua_setfield(L, -2, "hairpin");
    }
    lua_pushstring(L, answer(c->lifetime_alive));
    lua_setfield(L, -2, "lifetime_alive");
    lua_pushstring(L, answer(c->port_preserved));
    lua_setfield(L, -2, "port_preserved");
    lua_pushstring(L, c->public_addr);
    lua_setfield(L, -2, "public_addr");
    lua_pushstring(L, c->note);
    lua_setfield(L, -2, "note");
    b = l_box_buf(L, 4096);
    natclass_describe(c, b);
    lua_pushstring(L, b->data ? b->data : "");
    /* stack: class box text */
    lua_remove(L, -2);
    lua_setfield(L, -2, "describe");
}

/* nat_classify(natdiscovery_stdout) -> { mapping, filtering, hairpin, ... } */
static int l_nat_classify(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    struct natclass c;
    struct nt_err err = {0};
    if (natclass_parse(text, n, &c, &err))
        return nt_raise(L, &err);
    push_class(L, &c);
    return 1;
}

/* nat_claim(spec) -> what the spec claims, in the classifier's terms */
static int l_nat_claim(lua_State *L)
{
    struct natrule_spec s;
    struct natclass c;
    luaL_checktype(L, 1, LUA_TTABLE);
    spec_from(L, 1, NULL, 0, &s);
    natclass_from_spec(&s, &c);
    push_class(L, &c);
    return 1;
}

static const luaL_Reg nat_funcs[] = {
    {"nat_resolve", l_nat_resolve}, {"nat_ruleset", l_nat_ruleset},
    {"nat_check", l_nat_check},     {"nat_argvs", l_nat_argvs},
    {"nat_presets", l_nat_presets}, {"nat_classify", l_nat_classify},
    {"nat_claim", l_nat_claim},     {NULL, NULL},
};

void l_nat_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, nat_funcs, 0);
    lua_pushstring(L, NATRULE_RULESET_PATH);
    lua_setfield(L, -2, "nat_ruleset_path");
}
