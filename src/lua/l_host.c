/* l_host.c - facts about the host and this program: hostname, environment, whether a
 * stream is a terminal, and where natrig's helper binaries live. */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua/l_aux.h"

static int l_hostname(lua_State *L)
{
    char h[256] = "";
    gethostname(h, sizeof h - 1);
    lua_pushstring(L, h);
    return 1;
}

static int l_getenv(lua_State *L)
{
    lua_pushstring(L, getenv(luaL_checkstring(L, 1)));
    return 1;
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1)));
    return 1;
}

/* libexec_dir() -> the directory natrig's own helper binaries sit in: $NATRIG_LIBEXEC,
 * else the directory of the natrig binary, or of build/ when loaded as build/lua/natrig.so
 * by stock lua5.4 (found with dladdr on this very function). */
static int l_libexec_dir(lua_State *L)
{
    Dl_info info;
    char path[PATH_MAX], *slash;
    const char *env = getenv("NATRIG_LIBEXEC");
    if (env && *env) {
        lua_pushstring(L, env);
        return 1;
    }
    if (!dladdr((void *)l_libexec_dir, &info) || !info.dli_fname ||
        !realpath(info.dli_fname, path)) {
        if (!realpath("/proc/self/exe", path))
            return 0;
    }
    slash = strrchr(path, '/');
    if (slash)
        *slash = '\0';
    slash = strrchr(path, '/');
    if (slash && strcmp(slash, "/lua") == 0)
        *slash = '\0';
    lua_pushstring(L, path);
    return 1;
}

static const luaL_Reg host_funcs[] = {
    {"hostname", l_hostname},       {"getenv", l_getenv}, {"isatty", l_isatty},
    {"libexec_dir", l_libexec_dir}, {NULL, NULL},
};

void l_host_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, host_funcs, 0);
}
