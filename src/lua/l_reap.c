/* l_reap.c - the reaper watchdog (engine/reap): a child that removes a run's containers
 * and networks when this process dies. The child runs natrig's one cleanup path
 * (natrig.session.reap_label) in a Lua state of its own: the parent's state and its
 * engine connections belong to a process that is gone. */
#include <lualib.h>
#include <stdlib.h>

#include "engine/reap.h"
#include "lua/l_aux.h"

static void reap_in_lua(const char *host, const char *label)
{
    lua_State *L = luaL_newstate();
    if (!L)
        return;
    luaL_openlibs(L);
    luaL_requiref(L, "natrig.core", luaopen_natrig_core, 0);
    lua_pop(L, 1);
    nt_embed_open(L);
    /* stack: (empty) */
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.session");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
        lua_getfield(L, -1, "reap_label");
        lua_pushstring(L, label);
        if (host)
            lua_pushstring(L, host);
        else
            lua_pushnil(L);
        lua_pcall(L, 2, 0, 0); /* nobody is left to tell about an error */
    }
    lua_close(L);
}

/* reaper(label [, host]) -> pid: a child that removes everything with label when this
 * process dies, however it dies. */
static int l_reaper(lua_State *L)
{
    struct nt_err err = {0};
    int pid =
        reap_spawn_watchdog(luaL_optstring(L, 2, NULL), luaL_checkstring(L, 1), reap_in_lua, &err);
    if (pid < 0)
        return nt_raise(L, &err);
    lua_pushinteger(L, pid);
    return 1;
}

static const luaL_Reg reap_funcs[] = {
    {"reaper", l_reaper},
    {NULL, NULL},
};

void l_reap_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, reap_funcs, 0);
}
