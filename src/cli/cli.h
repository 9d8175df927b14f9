/* cli.h - the natrig command line. The commands (usage, help, code) are Lua modules,
 * lua/natrig/cmd/<name>.lua, listed and dispatched by lua/natrig/cli.lua; C starts Lua,
 * handles signals and runs the REPL loop (lua.c model, libedit). */
#ifndef NT_CLI_H
#define NT_CLI_H
#include <lua.h>

/* natrig.cli.main(argv...): returns the exit code. */
int cli_main(lua_State *L, int argc, char **argv);
/* Register natrig.cli.native (the REPL loop as a Lua function) in package.loaded. */
void cli_open_native(lua_State *L);
int cli_repl(lua_State *L, int argc, char **argv);
/* Install the SIGINT/SIGTERM handlers that interrupt Lua (through a hook) and engine waits. */
/* Install the SIGINT/SIGTERM handlers: first thing in main, so a signal is never lost
 * (a shell's background job starts with SIGINT ignored; the default would be lost too). */
void cli_signals_install(void);
/* Let signals raise in L (a signal that came before raises at once). */
void cli_signals(lua_State *L);
#endif
