/* cmd_repl.c - `natrig repl`: an interactive Lua prompt with natrig loaded, modelled on
 * lua.c (return-expression first, continuation lines on "<eof>" errors, results printed
 * with tostring). Ctrl-C interrupts the running line, not the REPL. Networks built in the
 * REPL are torn down on exit by natrig's own teardown (natrig.cli.repl_exit). */
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "base/sig.h"
#include "cli/cli.h"

static int traceback(lua_State *L)
{
    if (!lua_isstring(L, 1) && luaL_callmeta(L, 1, "__tostring"))
        return 1;
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

static int docall(lua_State *L, int nargs, int nres)
{
    int base = lua_gettop(L) - nargs;
    int rc;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    return rc;
}

static int incomplete(lua_State *L, int status)
{
    size_t n;
    const char *msg;
    if (status != LUA_ERRSYNTAX)
        return 0;
    msg = lua_tolstring(L, -1, &n);
    return n >= 5 && strcmp(msg + n - 5, "<eof>") == 0;
}

static void print_results(lua_State *L)
{
    int n = lua_gettop(L);
    if (n == 0)
        return;
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    if (lua_pcall(L, n, 0, 0) != LUA_OK) {
        fprintf(stderr, "error calling print: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}

static int read_chunk(lua_State *L, int *eof)
{
    char line[4096];
    luaL_Buffer b;
    int status;
    const char *prompt = "natrig> ";

    *eof = 0;
    fputs(prompt, stdout);
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) {
        *eof = 1;
        return -1;
    }
    line[strcspn(line, "\n")] = '\0';
    /* Try it as an expression first, so `net:peers()` prints its value. */
    lua_pushfstring(L, "return %s;", line);
    status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
    lua_remove(L, -2);
    if (status == LUA_OK)
        return LUA_OK;
    lua_pop(L, 1);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, line);
    luaL_pushresult(&b);
    for (;;) {
        status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
        if (!incomplete(L, status))
            break;
        lua_pop(L, 1);
        fputs(">> ", stdout);
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) {
            *eof = 1;
            break;
        }
        line[strcspn(line, "\n")] = '\0';
        lua_pushfstring(L, "%s\n%s", lua_tostring(L, -1), line);
        lua_remove(L, -2);
    }
    lua_remove(L, -2);
    return status;
}

int cli_repl(lua_State *L, int argc, char **argv)
{
    int eof = 0;

    /* natrig.cli.repl_init([file]) sets up globals (natrig, expect, ...). */
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "repl_init");
    if (argc > 0)
        lua_pushstring(L, argv[0]);
    else
        lua_pushnil(L);
    if (docall(L, 1, 0) != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_settop(L, 0);
    printf("natrig %s - Lua 5.4 with natrig loaded. `help()` lists what is here; Ctrl-D "
           "quits and tears the network down.\n",
           NATRIG_VERSION);
    while (!eof) {
        int status = read_chunk(L, &eof);
        if (status == -1)
            break;
        if (status == LUA_OK)
            status = docall(L, 0, LUA_MULTRET);
        nt_interrupted = 0;
        if (status == LUA_OK) {
            print_results(L);
        } else {
            fprintf(stderr, "%s\n", lua_tostring(L, -1));
        }
        lua_settop(L, 0);
    }
    putchar('\n');
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "repl_exit");
    if (docall(L, 0, 0) != LUA_OK)
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
    return 0;
}
