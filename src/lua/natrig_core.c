/* natrig_core.c - luaopen_natrig_core (the low-level module, natrig.core) and
 * luaopen_natrig (the front door for stock lua5.4: registers the embedded Lua modules in
 * package.preload and returns require "natrig.init"). */
#include "core/peerproto.h"
#include "lua/l_aux.h"

int luaopen_natrig_core(lua_State *L)
{
    lua_newtable(L);
    /* stack: mod */
    l_box_open(L);
    l_error_open(L);
    l_json_open(L);
    l_engine_open(L);
    l_tar_open(L);
    l_clock_open(L);
    l_file_open(L);
    l_proc_open(L);
    l_host_open(L);
    l_sock_open(L);
    l_hash_open(L);
    l_reap_open(L);
    l_subnet_open(L);
    l_nat_open(L);
    l_cgn_open(L);
    l_log_open(L);
    l_impair_open(L);
    l_spawn_open(L);
    l_signal_open(L);
    lua_pushstring(L, NATRIG_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushinteger(L, PEERPROTO_PORT);
    lua_setfield(L, -2, "PEER_PORT");
    return 1;
}

/* natrig.core.embedded_source(chunk) -> the text natrig was built with, or nil */
static int l_embedded_source(lua_State *L)
{
    size_t len;
    const char *src = nt_embed_source(luaL_checkstring(L, 1), &len);
    if (!src)
        return 0;
    lua_pushlstring(L, src, len);
    return 1;
}

/* The embedded modules in package.preload, and core.embedded_source. Only where they are
 * embedded (natrig, natrig.so, the watchdog): unit tests link the core alone. */
void nt_embed_open(lua_State *L)
{
    nt_embed_preload(L);
    lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_getfield(L, -1, "natrig.core");
    lua_pushcfunction(L, l_embedded_source);
    lua_setfield(L, -2, "embedded_source");
    lua_pop(L, 2);
}

int luaopen_natrig(lua_State *L)
{
    luaL_requiref(L, "natrig.core", luaopen_natrig_core, 0);
    lua_pop(L, 1);
    nt_embed_open(L);
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.init");
    lua_call(L, 1, 1);
    return 1;
}
