/* l_error.c - natrig.Error: errors raised to Lua as tables, so pcall users can branch on
 * code/status while uncaught ones print well through __tostring. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lua/l_aux.h"

static int l_error_tostring(lua_State *L)
{
    const char *op, *msg;
    lua_Integer status;

    lua_getfield(L, 1, "op");
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "status");
    op = lua_tostring(L, -3);
    msg = lua_tostring(L, -2);
    status = lua_tointeger(L, -1);
    if (status)
        lua_pushfstring(L, "%s%s%s (HTTP %d)", op ? op : "", op && *op ? ": " : "", msg ? msg : "?",
                        (int)status);
    else
        lua_pushfstring(L, "%s%s%s", op ? op : "", op && *op ? ": " : "", msg ? msg : "?");
    return 1;
}

int nt_raise(lua_State *L, const struct nt_err *err)
{
    lua_createtable(L, 0, 4);
    /* stack: err */
    lua_pushstring(L, nt_err_code_name(err->code));
    lua_setfield(L, -2, "code");
    lua_pushinteger(L, err->status);
    lua_setfield(L, -2, "status");
    lua_pushstring(L, err->op);
    lua_setfield(L, -2, "op");
    lua_pushstring(L, err->msg);
    lua_setfield(L, -2, "message");
    luaL_setmetatable(L, NT_ERROR_MT);
    return lua_error(L);
}

void *nt_check_open(lua_State *L, int idx, const char *mt, int (*is_open)(const void *),
                    const char *op, const char *what)
{
    void *h = luaL_checkudata(L, idx, mt);
    if (!is_open(h))
        nt_raisef(L, NT_EINVAL, op, "%s is closed (used after close(), or after its run ended)",
                  what);
    return h;
}

int nt_raisef(lua_State *L, enum nt_err_code code, const char *op, const char *fmt, ...)
{
    struct nt_err err = {0};
    va_list ap;

    err.code = code;
    snprintf(err.op, sizeof err.op, "%s", op);
    va_start(ap, fmt);
    vsnprintf(err.msg, sizeof err.msg, fmt, ap);
    va_end(ap);
    return nt_raise(L, &err);
}

/* natrig.core.error{code=, op=, message=, status=} builds an Error from Lua (status
 * defaults to 0). */
static int l_error_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    if (lua_getfield(L, 1, "status") == LUA_TNIL) {
        lua_pushinteger(L, 0);
        lua_setfield(L, 1, "status");
    }
    lua_pop(L, 1);
    luaL_setmetatable(L, NT_ERROR_MT);
    return 1;
}

/* natrig.core.fail(code, op, message [, status]): raise an Error (the one constructor
 * Lua code uses; no position is added, the message says what failed). */
static int l_fail(lua_State *L)
{
    const char *code = luaL_checkstring(L, 1);
    const char *op = luaL_checkstring(L, 2);
    lua_Integer status = luaL_optinteger(L, 4, 0);
    luaL_checkany(L, 3);
    lua_settop(L, 3);
    lua_createtable(L, 0, 4);
    /* stack: code op message err */
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, op);
    lua_setfield(L, -2, "op");
    luaL_tolstring(L, 3, NULL);
    lua_setfield(L, -2, "message");
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    luaL_setmetatable(L, NT_ERROR_MT);
    return lua_error(L);
}

/* Push "a, b, c": the sorted keys of the spec table at idx. */
static void push_valid(lua_State *L, int idx)
{
    luaL_Buffer b;
    int n = 0;
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++n);
    }
    /* stack: ... keys; sort with table.sort */
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_remove(L, -2);
    lua_pushvalue(L, keys);
    lua_call(L, 1, 0);
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, keys, i);
        if (i > 1)
            luaL_addstring(&b, ", ");
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_remove(L, keys);
}

/* natrig.core.check_options(op, opts, spec) -> opts (or {} when nil). The one option
 * checker: spec maps each valid key to true (any type) or a type name ("string",
 * "number", "table", "function", "boolean", or several joined with "|"). An unknown key
 * or a wrong type raises "op: unknown option 'k' (valid: ...)". */
static int l_check_options_lua(lua_State *L)
{
    const char *op = luaL_checkstring(L, 1);
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_isnoneornil(L, 2)) {
        lua_newtable(L);
        return 1;
    }
    if (!lua_istable(L, 2))
        return nt_raisef(L, NT_EINVAL, op, "options must be a table, got %s", luaL_typename(L, 2));
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        /* stack: op opts spec key value */
        lua_pushvalue(L, -2);
        lua_gettable(L, 3);
        /* stack: ... key value want */
        if (lua_isnil(L, -1)) {
            const char *k = luaL_tolstring(L, -3, NULL);
            push_valid(L, 3);
            return nt_raisef(L, NT_EINVAL, op, "unknown option '%s' (valid: %s)", k,
                             lua_tostring(L, -1));
        }
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *want = lua_tostring(L, -1);
            const char *got = luaL_typename(L, -2);
            size_t gl = strlen(got);
            const char *p = want;
            int match = 0;
            while (*p) {
                size_t w = strcspn(p, "|");
                if (w == gl && strncmp(p, got, gl) == 0)
                    match = 1;
                p += w;
                if (*p == '|')
                    p++;
            }
            if (!match) {
                luaL_gsub(L, want, "|", " or ");
                return nt_raisef(L, NT_EINVAL, op, "option '%s' must be %s, got %s",
                                 lua_tostring(L, -4), lua_tostring(L, -1), got);
            }
        }
        lua_pop(L, 2);
    }
    lua_settop(L, 2);
    return 1;
}

void l_error_open(lua_State *L)
{
    /* stack: mod */
    luaL_newmetatable(L, NT_ERROR_MT);
    lua_pushcfunction(L, l_error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_setfield(L, -2, "Error");
    lua_pushcfunction(L, l_error_new);
    lua_setfield(L, -2, "error");
    lua_pushcfunction(L, l_fail);
    lua_setfield(L, -2, "fail");
    lua_pushcfunction(L, l_check_options_lua);
    lua_setfield(L, -2, "check_options");
}

void l_check_options(lua_State *L, int idx, const char *what, const char *const *names)
{
    idx = lua_absindex(L, idx);
    if (lua_isnoneornil(L, idx))
        return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int known = 0;
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            for (const char *const *n = names; *n; n++)
                if (strcmp(*n, k) == 0)
                    known = 1;
        }
        if (!known) {
            const char *k = luaL_tolstring(L, -1, NULL);
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (const char *const *n = names; *n; n++) {
                if (n != names)
                    luaL_addstring(&b, ", ");
                luaL_addstring(&b, *n);
            }
            luaL_pushresult(&b);
            nt_raisef(L, NT_EINVAL, what, "unknown option '%s' (valid: %s)", k,
                      lua_tostring(L, -1));
        }
    }
}
