/* main.c - natrig's entry point: make the Lua state with natrig loaded, then hand argv to
 * natrig.cli.main (lua/natrig/cli.lua), which finds the command and runs it. Everything
 * runs under lua_pcall with a traceback handler. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>

#include "base/sig.h"
#include "cli/cli.h"
#include "lua/l_aux.h"

/* Error objects print through __tostring; strings get a traceback. */
static int msghandler(lua_State *L)
{
    if (!lua_isstring(L, 1)) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
        return 1;
    }
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

struct pmain_args {
    int argc;
    char **argv;
    int status;
};

static int pmain(lua_State *L)
{
    struct pmain_args *a = lua_touserdata(L, 1);
    luaL_openlibs(L);
    luaL_requiref(L, "natrig.core", luaopen_natrig_core, 0);
    lua_pop(L, 1);
    nt_embed_open(L);
    cli_open_native(L);
    cli_signals(L);
    lua_settop(L, 0);
    a->status = cli_main(L, a->argc, a->argv);
    return 0;
}

int main(int argc, char **argv)
{
    struct pmain_args a = {argc - 1, argv + 1, 0};
    int rc;

    cli_signals_install();
    lua_State *L = luaL_newstate();

    if (!L) {
        fprintf(stderr, "natrig: cannot create Lua state (out of memory)\n");
        return 2;
    }
    lua_pushcfunction(L, msghandler);
    lua_pushcfunction(L, pmain);
    lua_pushlightuserdata(L, &a);
    rc = lua_pcall(L, 1, 0, 1);
    if (rc != LUA_OK) {
        fprintf(stderr, "natrig %s: %s\n", argc > 1 ? argv[1] : "", lua_tostring(L, -1));
        /* An error a signal caused (its abort raised outside any command's handling) is an
         * interrupted run, 128 + N, not a usage error. */
        a.status = nt_last_signal ? 128 + nt_last_signal : 2;
    }
    lua_close(L);
    return a.status;
}
