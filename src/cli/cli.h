/* cli.h - the natrig command line: a table of subcommands (usage in data, tmux style).
 * Most subcommands are Lua functions in lua/natrig/cli.lua; the REPL is C (lua.c model). */
#ifndef NT_CLI_H
#define NT_CLI_H
#include <lua.h>

struct cli_cmd {
    const char *name;
    const char *args;    /* usage after the name */
    const char *summary; /* one line for --help */
    int min_args, max_args; /* -1: unbounded */
    int (*run)(lua_State *L, int argc, char **argv); /* returns the exit code */
};

extern const struct cli_cmd cli_cmds[];
/* Run a Lua-implemented subcommand: natrig.cli[name](args...) -> exit code. */
int cli_run_lua(lua_State *L, const char *name, int argc, char **argv);
int cli_repl(lua_State *L, int argc, char **argv);
/* Install the SIGINT/SIGTERM handlers that interrupt Lua (through a hook) and engine waits. */
void cli_signals(lua_State *L);
#endif
