/* l_signal.c - signal deferral for teardown, and the watch hook that makes deadlines and
 * signals reach Lua code that never yields.
 *
 * natrig.core.defer_signals(on) -> previous: while deferred, SIGINT/SIGTERM are counted and
 * stop no wait (a second Ctrl-C must not abort the teardown the first one started); see
 * base/sig.h and cli.c's handler.
 *
 * The watch hook is a count hook on every thread the scheduler runs (the main thread and
 * each task's coroutine; Lua 5.4 also copies a thread's hook to the threads it creates). A
 * scenario that loops on the CPU never returns to the scheduler, so the scheduler cannot
 * notice its deadline or a signal; the hook does, every WATCH_COUNT instructions, and then
 * calls natrig.task.hook_check(), which raises the abort inside the looping code. The common
 * case costs one clock read per WATCH_COUNT instructions (about 0.1 ms of Lua). */
#include <time.h>

#include "base/sig.h"
#include "lua/l_aux.h"

#define WATCH_COUNT 10000

/* core.now() after which the hook asks the scheduler to check; 0 when nothing is due. */
static double watch_at;

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void watch_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    /* A signal armed the hook to run at once (l_watch_arm_now); back to counting. */
    if (lua_gethookmask(L) != LUA_MASKCOUNT || lua_gethookcount(L) != WATCH_COUNT)
        lua_sethook(L, watch_hook, LUA_MASKCOUNT, WATCH_COUNT);
    if (!nt_should_stop() && !(watch_at > 0 && mono_now() >= watch_at))
        return;
    /* Raises the deadline's or the signal's abort here, in the code that was running; a
     * task is made to yield instead (a pcall cannot catch that), never to be resumed. */
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.task");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "hook_check");
    lua_remove(L, -2);
    /* asked here: inside the call below nothing can yield */
    lua_pushboolean(L, lua_isyieldable(L));
    lua_call(L, 1, 1);
    int yield = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (yield)
        lua_yield(L, 0);
}

void l_watch_install(lua_State *L)
{
    lua_sethook(L, watch_hook, LUA_MASKCOUNT, WATCH_COUNT);
}

void l_watch_arm_now(lua_State *L)
{
    /* Called from a signal handler, as lua.c's laction does: lua_sethook is safe there. */
    lua_sethook(L, watch_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

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

/* watch_thread([co]) -> the watch hook on co (default: the running thread). A thread with
 * a hook of its own (a debugger's) keeps it. */
static int l_watch_thread(lua_State *L)
{
    lua_State *co = lua_isthread(L, 1) ? lua_tothread(L, 1) : L;
    lua_Hook h = lua_gethook(co);
    if (!h || h == watch_hook)
        l_watch_install(co);
    return 0;
}

/* set_watch(t) -> when (core.now() time) the hook starts calling natrig.task.hook_check();
 * nil or false: only on a signal. A time in the past: at every count (a sticky abort). */
static int l_set_watch(lua_State *L)
{
    watch_at = lua_toboolean(L, 1) ? luaL_checknumber(L, 1) : 0;
    if (watch_at < 0)
        watch_at = 1e-9;
    return 0;
}

static const luaL_Reg fns[] = {
    {"defer_signals", l_defer_signals},
    {"signal_count", l_signal_count},
    {"watch_thread", l_watch_thread},
    {"set_watch", l_set_watch},
    {NULL, NULL},
};

void l_signal_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, fns, 0);
}
