/* l_clock.c - time for the Lua layer: monotonic and wall clocks, an interruptible sleep and
 * the interrupt flag for Lua loops that wait without the engine. Uses base/sig. */
#include <errno.h>
#include <time.h>

#include "base/sig.h"
#include "lua/l_aux.h"

static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    return 1;
}

static int l_time(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
    return 1;
}

static int l_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR && !nt_interrupted)
        ;
    return 0;
}

/* interrupted() -> signal number or false; clears it. For Lua loops that wait without
 * the engine (sleep with no requests in flight). */
static int l_interrupted(lua_State *L)
{
    int s = nt_take_signal();
    if (s)
        lua_pushinteger(L, s);
    else
        lua_pushboolean(L, 0);
    return 1;
}

static const luaL_Reg clock_funcs[] = {
    {"now", l_now}, {"time", l_time}, {"sleep", l_sleep}, {"interrupted", l_interrupted},
    {NULL, NULL},
};

void l_clock_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, clock_funcs, 0);
}
