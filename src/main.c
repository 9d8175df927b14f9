/* main.c - natrig's entry point: make the Lua state, then dispatch argv to a subcommand
 * from cli_cmds. Everything runs under lua_pcall with a traceback handler. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "lua/l_aux.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: natrig COMMAND [ARGS]\n\ncommands:\n");
    for (const struct cli_cmd *c = cli_cmds; c->name; c++)
        fprintf(f, "  %-8s %-40s %s\n", c->name, c->args, c->summary);
    fprintf(f, "\n`natrig COMMAND --help` for one command. Docs: README.md\n");
}

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
    const struct cli_cmd *cmd;
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
    nt_embed_preload(L);
    cli_signals(L);
    lua_settop(L, 0);
    a->status = a->cmd->run(L, a->argc, a->argv);
    return 0;
}

int main(int argc, char **argv)
{
    const struct cli_cmd *cmd = NULL;
    struct pmain_args a;
    lua_State *L;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        argv[1] = (char *)"version";
    for (const struct cli_cmd *c = cli_cmds; c->name; c++)
        if (strcmp(c->name, argv[1]) == 0)
            cmd = c;
    if (!cmd) {
        fprintf(stderr, "natrig: unknown command '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        printf("usage: natrig %s %s\n  %s\n", cmd->name, cmd->args, cmd->summary);
        return 0;
    }
    a.cmd = cmd;
    a.argc = argc - 2;
    a.argv = argv + 2;
    a.status = 0;
    if (a.argc < cmd->min_args || (cmd->max_args >= 0 && a.argc > cmd->max_args)) {
        fprintf(stderr, "usage: natrig %s %s\n", cmd->name, cmd->args);
        return 2;
    }
    L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "natrig: cannot create Lua state (out of memory)\n");
        return 2;
    }
    lua_pushcfunction(L, msghandler);
    lua_pushcfunction(L, pmain);
    lua_pushlightuserdata(L, &a);
    rc = lua_pcall(L, 1, 0, 1);
    if (rc != LUA_OK) {
        fprintf(stderr, "natrig %s: %s\n", cmd->name, lua_tostring(L, -1));
        a.status = 2;
    }
    lua_close(L);
    return a.status;
}
