/* cli.c - signals (the watch hook raises in Lua, deferral during teardown), the native REPL
 * as a Lua function, and the one call into lua/natrig/cli.lua that does the rest. */
#include "cli/cli.h"

#include <lauxlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/sig.h"
#include "lua/l_aux.h"

static lua_State *global_L;

/* Like lua.c's laction: a signal only sets a flag and arms the watch hook (lua/l_signal.c)
 * to run at once; the hook raises inside Lua (in whichever thread runs: every task has the
 * hook too), so __close handlers and the scenario teardown run. */
static void on_signal(int sig)
{
    static const char msg[] = "natrig: teardown in progress, finishing it first "
                              "(SIGKILL leaves the rest to the watchdog)\n";
    nt_interrupted = sig;
    nt_last_signal = sig;
    nt_signal_count++;
    if (nt_signals_deferred) {
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        return;
    }
    if (global_L)
        l_watch_arm_now(global_L);
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void cli_signals(lua_State *L)
{
    global_L = L;
    /* Threads created from here on inherit the hook; a signal that came while the state
     * was being made raises at the first hook. */
    l_watch_install(L);
    if (nt_interrupted && !nt_signals_deferred)
        l_watch_arm_now(L);
}

/* natrig.cli.native.repl(args...) -> exit code: the REPL loop (C, lua.c model) as a Lua
 * function, so natrig.cmd.repl can run it like any other command. */
static int l_repl(lua_State *L)
{
    int argc = lua_gettop(L);
    char *argv[8];
    if (argc > 7)
        argc = 7;
    for (int i = 0; i < argc; i++)
        argv[i] = (char *)luaL_checkstring(L, i + 1);
    argv[argc] = NULL;
    /* The strings stay alive: they are this call's arguments, kept below its stack. */
    lua_pushinteger(L, cli_repl(L, argc, argv));
    return 1;
}

void cli_open_native(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_newtable(L);
    lua_pushcfunction(L, l_repl);
    lua_setfield(L, -2, "repl");
    lua_setfield(L, -2, "natrig.cli.native");
    lua_pop(L, 1);
}

/* natrig.cli.main(argv...) -> exit code: usage, --help and dispatch all live in Lua
 * (lua/natrig/cli.lua and one module per command, lua/natrig/cmd/). */
int cli_main(lua_State *L, int argc, char **argv)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "main");
    lua_remove(L, -2);
    for (int i = 0; i < argc; i++)
        lua_pushstring(L, argv[i]);
    lua_call(L, argc, 1);
    return (int)luaL_optinteger(L, -1, 0);
}
