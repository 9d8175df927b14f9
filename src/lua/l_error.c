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
        lua_pushfstring(L, "%s%s%s (HTTP %d)", op ? op : "", op && *op ? ": " : "",
                        msg ? msg : "?", (int)status);
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

/* natrig.core.error{code=, op=, message=, status=} builds an Error from Lua. */
static int l_error_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    luaL_setmetatable(L, NT_ERROR_MT);
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
            nt_raisef(L, NT_EINVAL, what, "unknown option '%s'", k);
        }
    }
}
