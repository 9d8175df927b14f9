/* l_impair.c - impairment specs (core/impair) for Lua: validate a spec table into the
 * canonical key=value tokens natrig-shaper takes, presets (also from the environment),
 * and the tc netem/tbf argv for kernels that have sch_netem. */
#include <stdlib.h>
#include <string.h>

#include "core/impair.h"
#include "lua/l_aux.h"

/* Build a spec from a table of key=value (values: strings or numbers; a number for a time
 * means milliseconds, for a percentage percent). Keys as impair_spec_set knows them. */
static void spec_from(lua_State *L, int idx, struct impair_spec *s)
{
    struct nt_err err = {0};
    idx = lua_absindex(L, idx);
    impair_spec_init(s);
    /* preset first, so explicit keys refine it */
    lua_getfield(L, idx, "preset");
    if (!lua_isnil(L, -1) && impair_spec_set(s, "preset", luaL_checkstring(L, -1), &err))
        nt_raise(L, &err);
    lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        /* stack: ... key value */
        const char *k;
        char val[64];
        const char *v;
        /* Type first: lua_tostring on a number key would change it under lua_next. */
        if (lua_type(L, -2) != LUA_TSTRING)
            nt_raisef(L, NT_EINVAL, "impair", "keys must be strings");
        k = lua_tostring(L, -2);
        if (strcmp(k, "preset") == 0) {
            lua_pop(L, 1);
            continue;
        }
        if (lua_type(L, -1) == LUA_TNUMBER) {
            int is_time = impair_key_is_time(k);
            snprintf(val, sizeof val, is_time ? "%gms" : "%g", lua_tonumber(L, -1));
            v = val;
        } else {
            v = lua_tostring(L, -1);
        }
        if (!v)
            nt_raisef(L, NT_EINVAL, "impair", "value of '%s' must be a string or number", k);
        if (impair_spec_set(s, k, v, &err))
            nt_raise(L, &err);
        lua_pop(L, 1);
    }
    if (impair_spec_check(s, &err))
        nt_raise(L, &err);
}

static void push_tokens(lua_State *L, const struct impair_spec *s)
{
    char buf[512];
    int n = 0;
    impair_spec_format(s, buf, sizeof buf);
    lua_newtable(L);
    for (char *p = buf; *p;) {
        size_t w = strcspn(p, " ");
        if (w) {
            lua_pushlstring(L, p, w);
            lua_rawseti(L, -2, ++n);
        }
        p += w;
        while (*p == ' ')
            p++;
    }
}

/* impair_check(spec) -> { "delay=100ms", ... } (canonical tokens), direction, empty, family */
static int l_impair_check(lua_State *L)
{
    struct impair_spec s;
    luaL_checktype(L, 1, LUA_TTABLE);
    spec_from(L, 1, &s);
    push_tokens(L, &s);
    lua_pushstring(L, s.dir == IMPAIR_DIR_BOTH      ? "both"
                      : s.dir == IMPAIR_DIR_INGRESS ? "ingress"
                                                    : "egress");
    lua_pushboolean(L, impair_spec_is_empty(&s));
    lua_pushstring(L, impair_family_name(s.family));
    return 4;
}

/* impair_from_env(natrig_env, freenet_env) -> tokens | nil */
static int l_impair_from_env(lua_State *L)
{
    struct impair_spec s;
    struct nt_err err = {0};
    int rc =
        impair_preset_from_env(luaL_optstring(L, 1, NULL), luaL_optstring(L, 2, NULL), &s, &err);
    if (rc < 0)
        return nt_raise(L, &err);
    if (rc == 0)
        return 0;
    push_tokens(L, &s);
    return 1;
}

static int l_impair_presets(lua_State *L)
{
    const char *n;
    lua_newtable(L);
    for (size_t i = 0; (n = impair_preset_name(i)); i++) {
        lua_pushstring(L, n);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static void push_argv(lua_State *L, const struct impair_argv *a)
{
    lua_createtable(L, (int)a->n, 0);
    for (size_t i = 0; i < a->n; i++) {
        lua_pushstring(L, a->v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void argv_fini(void *p)
{
    impair_argv_free(p);
}

/* impair_netem_argv(spec, dev [, "netem"|"tbf"|"clear"]) -> argv */
static int l_impair_netem_argv(lua_State *L)
{
    static const char *const kinds[] = {"netem", "tbf", "clear", NULL};
    struct impair_spec s;
    struct impair_argv *a;
    struct nt_err err = {0};
    const char *dev = luaL_checkstring(L, 2);
    int kind = luaL_checkoption(L, 3, "netem", kinds), rc;
    luaL_checktype(L, 1, LUA_TTABLE);
    spec_from(L, 1, &s);
    /* The argv is boxed: pushing it can raise (out of memory) and must not leak it. */
    a = l_box_new(L, sizeof *a, argv_fini);
    rc = kind == 0   ? impair_netem_argv(&s, dev, a, &err)
         : kind == 1 ? impair_tbf_argv(&s, dev, a, &err)
                     : impair_netem_clear_argv(dev, a, &err);
    if (rc)
        return nt_raise(L, &err);
    push_argv(L, a);
    l_box_release(a);
    return 1;
}

/* --- partitions: iptables argv lists from core/impair (impair_part_cmds) -------------------- */

static void cmds_fini(void *p)
{
    impair_cmds_free(p);
}

/* Push c as { { argv = {...}, may_fail = bool }, ... }. */
static void push_cmds(lua_State *L, const struct impair_cmds *c)
{
    lua_createtable(L, (int)c->n, 0);
    for (size_t i = 0; i < c->n; i++) {
        lua_createtable(L, 0, 2);
        push_argv(L, &c->v[i].argv);
        lua_setfield(L, -2, "argv");
        lua_pushboolean(L, c->v[i].may_fail);
        lua_setfield(L, -2, "may_fail");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* impair_part_cmds(op [, addr [, iptables]]) -> { { argv = {...}, may_fail = bool }, ... }
 * op: setup | block | isolate | heal | down; block needs addr (or CIDR) of iptables' family
 * (ip6tables*: IPv6). Raises on a bad op or address. */
static int l_impair_part_cmds(lua_State *L)
{
    static const char *const ops[] = {"setup", "block", "isolate", "heal", "down", NULL};
    static const enum impair_part_op opv[] = {IMPAIR_PART_SETUP, IMPAIR_PART_BLOCK,
                                              IMPAIR_PART_ISOLATE, IMPAIR_PART_HEAL,
                                              IMPAIR_PART_DOWN};
    int op = luaL_checkoption(L, 1, NULL, ops);
    const char *addr = luaL_optstring(L, 2, NULL), *ipt = luaL_optstring(L, 3, NULL);
    struct nt_err err = {0};
    /* boxed: converting the list can raise (out of memory) and must not leak it */
    struct impair_cmds *c = l_box_new(L, sizeof *c, cmds_fini);

    /* stack: op addr ipt box */
    if (impair_part_cmds(ipt, opv[op], addr, c, &err) < 0)
        return nt_raise(L, &err);
    push_cmds(L, c);
    l_box_release(c);
    return 1;
}

/* impair_part_fwd_cmds(op [, src, dst [, iptables]]) -> as impair_part_cmds, for a router's
 * FORWARD chain. op: setup | block | heal | down; block needs both addresses. */
static int l_impair_part_fwd_cmds(lua_State *L)
{
    static const char *const ops[] = {"setup", "block", "heal", "down", NULL};
    static const enum impair_part_op opv[] = {IMPAIR_PART_SETUP, IMPAIR_PART_BLOCK,
                                              IMPAIR_PART_HEAL, IMPAIR_PART_DOWN};
    int op = luaL_checkoption(L, 1, NULL, ops);
    const char *src = luaL_optstring(L, 2, NULL), *dst = luaL_optstring(L, 3, NULL);
    const char *ipt = luaL_optstring(L, 4, NULL);
    struct nt_err err = {0};
    struct impair_cmds *c = l_box_new(L, sizeof *c, cmds_fini);

    if (impair_part_fwd_cmds(ipt, opv[op], src, dst, c, &err) < 0)
        return nt_raise(L, &err);
    push_cmds(L, c);
    l_box_release(c);
    return 1;
}

static const luaL_Reg impair_funcs[] = {
    {"impair_check", l_impair_check},
    {"impair_from_env", l_impair_from_env},
    {"impair_presets", l_impair_presets},
    {"impair_netem_argv", l_impair_netem_argv},
    {"impair_part_cmds", l_impair_part_cmds},
    {"impair_part_fwd_cmds", l_impair_part_fwd_cmds},
    {NULL, NULL},
};

void l_impair_open(lua_State *L)
{
    luaL_setfuncs(L, impair_funcs, 0);
}
