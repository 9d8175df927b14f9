/* test_lua_alloc.c - fault injection for the C<->Lua seam (STYLE.md rule 37, as Lua's own
 * ltests.c and jq's inject_errors do). A lua_State whose allocator fails the Nth allocation
 * opens natrig.core and runs tests/unit/lua_alloc.lua (every pure binding) and the pure
 * Lua tests (tests/lua/NAME_test.lua), for N = 1..K. Errors are expected; a crash, a Lua stack
 * left unbalanced or memory still held after lua_close is a failure. Under ASan (make asan)
 * every N of the binding script runs and LeakSanitizer checks the C heap at exit; in a
 * normal build a stride keeps it cheap and glibc's heap counters stand in for LSan.
 * NATRIG_ALLOC_STEP=n forces a stride. Run from the repository root (make test does). */
#include <ftw.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua/l_aux.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

struct ctl {
    long count;   /* allocations (new blocks and growth) since counting began */
    long fail_at; /* 0: never fail */
    int sticky;   /* fail every allocation from fail_at on, not only that one */
    int hit;      /* an allocation was refused */
    long bytes;   /* bytes Lua holds now */
};

static void *alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct ctl *c = ud;
    size_t old = ptr ? osize : 0;
    void *p;

    if (nsize == 0) {
        c->bytes -= (long)old;
        free(ptr);
        return NULL;
    }
    /* Shrinking cannot fail in practice and Lua assumes so: only count growth. */
    if (nsize > old) {
        c->count++;
        if (c->fail_at > 0 && (c->count == c->fail_at || (c->sticky && c->count > c->fail_at))) {
            c->hit = 1;
            return NULL;
        }
    }
    p = realloc(ptr, nsize);
    if (p)
        c->bytes += (long)nsize - (long)old;
    return p;
}

static char tmpdir[64];
static int exact_heap; /* glibc counts without its thread cache: see main */

/* Unmetered set-up: silence print, make os.exit raise (tap.lua's done() calls it), keep
 * temporary files in a private directory, find tap.lua. */
static const char *const setup_lua =
    "print = function() end\n"
    "os.exit = function() error('os.exit', 0) end\n"
    "local n = 0\n"
    "os.tmpname = function() n = n + 1; return ALLOC_TMP .. '/tmp' .. n end\n"
    "package.path = 'tests/lua/?.lua;' .. package.path\n";

/* stack: path */
static int run_script(lua_State *L)
{
    const char *path = lua_tostring(L, 1);
    luaL_requiref(L, "natrig.core", luaopen_natrig_core, 0);
    lua_pop(L, 1);
    nt_embed_preload(L);
    if (luaL_loadfile(L, path) != LUA_OK)
        return lua_error(L);
    lua_call(L, 0, 0);
    return 0;
}

struct result {
    int ok;      /* the pcall returned LUA_OK */
    int done;    /* ALLOC_DONE was set true */
    int hit;     /* an allocation was refused */
    long count;  /* allocations made */
    int balance; /* the stack held exactly the pcall's result */
};

static struct result run_once(const char *path, long fail_at, int sticky)
{
    struct ctl c = {0, 0, 0, 0, 0};
    struct result r = {0, 0, 0, 0, 0};
    lua_State *L = lua_newstate(alloc, &c);

    if (!L)
        return r;
    luaL_openlibs(L);
    lua_pushstring(L, tmpdir);
    lua_setglobal(L, "ALLOC_TMP");
    lua_pushstring(L, "tests/fixtures/natdiscovery/full_cone.txt");
    lua_setglobal(L, "NATDISCOVERY");
    if (luaL_dostring(L, setup_lua) != LUA_OK) {
        printf("# set-up failed: %s\n", lua_tostring(L, -1));
        lua_close(L);
        return r;
    }
    lua_settop(L, 0);
    /* Pushed before counting starts: outside the pcall an allocation failure would panic. */
    lua_pushcfunction(L, run_script);
    lua_pushstring(L, path);
    c.count = 0;
    c.fail_at = fail_at;
    c.sticky = sticky;
    r.ok = lua_pcall(L, 1, 0, 0) == LUA_OK;
    r.balance = lua_gettop(L) == (r.ok ? 0 : 1);
    r.hit = c.hit;
    r.count = c.count;
    c.fail_at = 0; /* let the checks below allocate */
    if (lua_getglobal(L, "ALLOC_DONE") == LUA_TBOOLEAN)
        r.done = lua_toboolean(L, -1);
    lua_close(L);
    if (c.bytes != 0) {
        printf("# %s, N=%ld: Lua still holds %ld bytes after lua_close\n", path, fail_at, c.bytes);
        r.balance = 0;
    }
    return r;
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks;
}

/* Run path failure-free, then for N = 1, 1+step, ... while the Nth allocation is reached. */
static void sweep(const char *path, int must_finish, long step, int sticky)
{
    struct result base = run_once(path, 0, 0);
    long runs = 0, hits = 0, bad = 0;
    size_t heap0, heap1;

    if (must_finish)
        ok(base.ok && base.done, "%s runs to the end without failures (%ld allocations)", path,
           base.count);
    else
        ok(base.count > 0, "%s runs without failures (%ld allocations)", path, base.count);
    if (step <= 0)
        step = 1;
    /* A second clean run first, so one-time set-up in libc and libraries is not counted. */
    run_once(path, 0, 0);
    heap0 = heap_in_use();
    for (long n = 1; n <= base.count; n += step) {
        struct result r = run_once(path, n, sticky);
        runs++;
        hits += r.hit;
        if (!r.balance) {
            bad++;
            printf("# %s, N=%ld%s: unbalanced stack or memory left\n", path, n,
                   sticky ? " (sticky)" : "");
        }
        if (!r.hit)
            break; /* the run made fewer allocations this time: nothing more to fail */
    }
    heap1 = heap_in_use();
    ok(bad == 0 && hits > 0,
       "%s: %ld runs failing allocation N (step %ld%s), %ld refused one, "
       "no crash, stacks balanced",
       path, runs, step, sticky ? ", sticky" : "", hits);
    /* ASan's LeakSanitizer reports leaks at exit; without it, compare glibc's counters. A
     * leak per run adds up over the runs; one-time caches do not grow with them. */
    if (!SANITIZED && exact_heap)
        ok(heap1 <= heap0 + 1024, "%s: C heap in use %zu -> %zu bytes over %ld runs", path, heap0,
           heap1, runs);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    remove(path); /* best effort: keep walking */
    return 0;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "";
}

static long stride(long want_runs, long total)
{
    const char *env = getenv("NATRIG_ALLOC_STEP");
    if (env && *env)
        return strtol(env, NULL, 10);
    return want_runs <= 0 ? 1 : total / want_runs + 1;
}

int main(int argc, char **argv)
{
    static const char *const lua_tests[] = {
        "tests/lua/core_test.lua", "tests/lua/profiles_test.lua", "tests/lua/sweep_test.lua",
        "tests/lua/holepunch_test.lua", NULL};
    const char *script = "tests/unit/lua_alloc.lua";

    setvbuf(stdout, NULL, _IONBF, 0); /* keep TAP lines before a crash */
    (void)argc;
    if (!SANITIZED && !getenv("GLIBC_TUNABLES") && !strstr(env("LD_PRELOAD"), "vgpreload")) {
        /* glibc's per-thread cache keeps freed chunks counted as in use, which makes the heap
         * counters drift by up to ~200 KiB; without it they are exact. The tunable is read at
         * start-up, hence the re-exec (not under valgrind, which would lose the child). */
        setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
        execv("/proc/self/exe", argv);
    }
    exact_heap = strstr(env("GLIBC_TUNABLES"), "tcache_count=0") != NULL;
    if (access(script, R_OK) != 0) {
        printf("1..0 # SKIP run from the repository root (%s not found)\n", script);
        return 0;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/natrig-alloc-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("1..0 # SKIP cannot make a temporary directory\n");
        return 0;
    }
    {
        long total = run_once(script, 0, 0).count;
        /* Every N under ASan, where it counts; about 300 runs otherwise. */
        sweep(script, 1, SANITIZED ? stride(0, total) : stride(300, total), 0);
        sweep(script, 1, stride(SANITIZED ? 300 : 40, total), 1);
    }
    for (const char *const *t = lua_tests; *t; t++) {
        if (access(*t, R_OK) != 0)
            continue;
        long total = run_once(*t, 0, 0).count;
        sweep(*t, 0, stride(SANITIZED ? 100 : 10, total), 0);
    }
    /* the temporary directory: whatever the runs left in it, then itself */
    nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done();
}
