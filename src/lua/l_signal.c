/* l_signal.c - signal deferral for teardown: natrig.core.defer_signals(on) -> previous.
 * While deferred, SIGINT/SIGTERM are counted and stop no wait (a second Ctrl-C must not
 * abort the teardown the first one started); see base/sig.h and cli.c's handler. */
#include "base/sig.h"
#include "lua/l_aux.h"

static int l_defer_signals(lua_State *L)
{
    int was = nt_signals_deferred;
    nt_signals_deferred = lua_toboolean(L, 1);
    lua_pushboolean(L, was);
    return 1;
}

/* signal_count() -> signals received since start (deferred ones included) */
static int l_signal_count(lua_State *L)
{
    lua_pushinteger(L, nt_signal_count);
    return 1;
}

static const luaL_Reg fns[] = {
    {"defer_signals", l_defer_signals},
    {"signal_count", l_signal_count},
    {NULL, NULL},
};

void l_signal_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, fns, 0);
}
