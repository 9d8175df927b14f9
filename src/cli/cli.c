/* cli.c - the subcommand table and the bridge into lua/natrig/cli.lua. */
#include "cli/cli.h"

#include <lauxlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/sig.h"

static lua_State *global_L;

/* Like lua.c's laction: a signal only sets a flag and a hook; the hook raises inside Lua
 * so __close handlers and the scenario teardown run. */
static void lstop(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    nt_interrupted = 0;
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.core");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "error");
    lua_createtable(L, 0, 4);
    lua_pushstring(L, "sys");
    lua_setfield(L, -2, "code");
    lua_pushstring(L, "interrupted");
    lua_setfield(L, -2, "op");
    lua_pushstring(L, "interrupted by signal");
    lua_setfield(L, -2, "message");
    lua_pushinteger(L, 0);
    lua_setfield(L, -2, "status");
    lua_call(L, 1, 1);
    lua_error(L);
}

static void on_signal(int sig)
{
    int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT;
    nt_interrupted = sig;
    if (global_L)
        lua_sethook(global_L, lstop, flag, 1);
}

void cli_signals(lua_State *L)
{
    struct sigaction sa;
    global_L = L;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int cli_run_lua(lua_State *L, const char *name, int argc, char **argv)
{
    /* stack: traceback */
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    for (int i = 0; i < argc; i++)
        lua_pushstring(L, argv[i]);
    lua_call(L, argc, 1);
    return (int)luaL_optinteger(L, -1, 0);
}

static int run_cmd_lua(lua_State *L, int argc, char **argv)
{
    return cli_run_lua(L, argv[-1], argc, argv);
}

const struct cli_cmd cli_cmds[] = {
    {"run", "FILE [key=value ...]", "run one scenario; exit 0 pass, 1 fail, 2 usage/setup", 1,
     -1, run_cmd_lua},
    {"repl", "[FILE]", "interactive Lua with natrig loaded (a FILE runs first)", 0, 1,
     cli_repl},
    {"sweep", "[--junit F] [--json F] [--html F] [--filter P] [--set k=v] FILE|DIR ...",
     "run scenarios x parameter matrices, write reports", 1, -1, run_cmd_lua},
    {"doctor", "", "check the engine, API version, root, iptables, sch_netem", 0, 0,
     run_cmd_lua},
    {"clean", "[--all]", "remove natrig resources of dead runs (--all: every natrig resource)",
     0, 1, run_cmd_lua},
    {"image", "build|ls|prune", "build natrig's local images, list or prune them", 1, 2,
     run_cmd_lua},
    {"version", "", "print natrig's version and the engine's", 0, 0, run_cmd_lua},
    {"lua", "FILE [ARGS...]", "run a plain Lua script with natrig loaded (like lua5.4)", 1, -1,
     run_cmd_lua},
    {NULL, NULL, NULL, 0, 0, NULL},
};
