/* natrig_core.c - luaopen_natrig_core (the low-level module, natrig.core) and
 * luaopen_natrig (the front door for stock lua5.4: registers the embedded Lua modules in
 * package.preload and returns require "natrig.init"). */
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
    l_log_open(L);
    l_impair_open(L);
    l_spawn_open(L);
    l_signal_open(L);
    lua_pushstring(L, NATRIG_VERSION);
    lua_setfield(L, -2, "version");
    return 1;
}

int luaopen_natrig(lua_State *L)
{
    luaL_requiref(L, "natrig.core", luaopen_natrig_core, 0);
    lua_pop(L, 1);
    nt_embed_preload(L);
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.init");
    lua_call(L, 1, 1);
    return 1;
}
