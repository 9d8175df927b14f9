/* l_spawn.c - child processes that run beside the caller: natrig.core.spawn(argv, opts)
 * starts a program by argv (posix_spawnp, never a shell) and returns a natrig.Process
 * handle that is polled without blocking, signalled and reaped. `natrig sweep -j N` runs
 * each case as `natrig run` in one of these, so a crash stays inside its case.
 * Uses posix_spawn file actions for stdout/stderr redirection and waitpid(WNOHANG). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lua/l_aux.h"

#define NT_PROCESS_MT "natrig.Process"
#define SPAWN_MAX_ARGS 256
#define SPAWN_MAX_ENV 64

extern char **environ;

struct process {
    pid_t pid;  /* the child (0 when it never started) */
    int status; /* exit code, or 128 + signal, once reaped */
    int done;   /* reaped: status is valid */
    int closed; /* close() ran: methods raise */
};

static struct process *check_process(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, NT_PROCESS_MT);
}

static int process_is_open(const void *h)
{
    return !((const struct process *)h)->closed;
}

static struct process *check_open(lua_State *L, int idx, const char *op)
{
    return nt_check_open(L, idx, NT_PROCESS_MT, process_is_open, op, NT_PROCESS_MT);
}

/* Reap p if it has exited; with block, wait for it. Returns 1 when reaped. */
static int process_reap(struct process *p, int block)
{
    int st = 0;
    pid_t r;
    if (p->done || p->pid <= 0)
        return p->done;
    do
        r = waitpid(p->pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    p->done = 1;
    if (r < 0) /* someone else reaped it: the status is lost */
        p->status = -1;
    else
        p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return 1;
}

/* The one close: a child still running is killed (SIGKILL) and reaped, so no zombie and
 * no orphan outlives its handle. Idempotent. */
static void process_close(struct process *p)
{
    if (p->pid > 0 && !p->done) {
        kill(p->pid, SIGKILL);
        process_reap(p, 1);
    }
    p->closed = 1;
}

/* Fill argv (NULL-terminated) from the table at idx; the strings stay owned by it. */
static void check_argv(lua_State *L, int idx, const char **argv)
{
    int n = (int)lua_rawlen(L, idx);
    if (n < 1 || n >= SPAWN_MAX_ARGS)
        nt_raisef(L, NT_EINVAL, "spawn", "argv must hold 1 to %d strings", SPAWN_MAX_ARGS - 1);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, idx, i + 1);
        /* stack: ... argv[i] */
        if (lua_type(L, -1) != LUA_TSTRING)
            nt_raisef(L, NT_EINVAL, "spawn", "argv[%d] is not a string", i + 1);
        argv[i] = lua_tostring(L, -1);
        lua_pop(L, 1); /* the string stays alive in the argv table */
    }
    argv[n] = NULL;
}

/* Build "K=V" strings for opts.env in a Lua-owned table at the top of the stack (so a
 * raise leaks nothing), then envp = environ minus overridden keys plus those. */
static void build_env(lua_State *L, int envidx, const char **envp, size_t cap)
{
    size_t n = 0;
    int list;
    lua_newtable(L);
    list = lua_gettop(L);
    /* stack: ... list */
    lua_pushnil(L);
    while (lua_next(L, envidx)) {
        /* stack: ... list key value */
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            nt_raisef(L, NT_EINVAL, "spawn", "env keys and values must be strings");
        lua_pushfstring(L, "%s=%s", lua_tostring(L, -2), lua_tostring(L, -1));
        lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
        lua_pop(L, 1);
    }
    for (char **e = environ; *e && n + 1 < cap; e++) {
        const char *eq = strchr(*e, '=');
        size_t klen = eq ? (size_t)(eq - *e) : strlen(*e);
        lua_pushlstring(L, *e, klen);
        lua_rawget(L, envidx);
        int overridden = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (!overridden)
            envp[n++] = *e;
    }
    for (lua_Integer i = 1; i <= (lua_Integer)lua_rawlen(L, list); i++) {
        if (n + 1 >= cap)
            nt_raisef(L, NT_LIMIT, "spawn", "environment too large");
        lua_rawgeti(L, list, i);
        envp[n++] = lua_tostring(L, -1); /* anchored in list */
        lua_pop(L, 1);
    }
    envp[n] = NULL;
}

static const char *const spawn_opts[] = {"stdout", "stderr", "env", NULL};

/* spawn(argv [, {stdout = path, stderr = path | "stdout", env = {K = V}}]) -> Process.
 * stdin is /dev/null; stdout/stderr go to the named files (created or truncated), stderr
 * to stdout's file with "stdout"; otherwise they are inherited. env adds or replaces
 * variables. Raises when the program cannot be started. */
static int l_spawn(lua_State *L)
{
    const char *argv[SPAWN_MAX_ARGS];
    const char **envp = NULL;
    const char *out = NULL, *err = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t sigs;
    struct process *p;
    int rc;

    luaL_checktype(L, 1, LUA_TTABLE);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        l_check_options(L, 2, "spawn", spawn_opts);
    }
    lua_settop(L, 2);
    /* stack: argv opts */
    check_argv(L, 1, argv);
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "stdout");
        lua_getfield(L, 2, "stderr");
        lua_getfield(L, 2, "env");
        /* stack: argv opts stdout stderr env */
        out = luaL_optstring(L, 3, NULL);
        err = luaL_optstring(L, 4, NULL);
        if (!lua_isnil(L, 5)) {
            luaL_checktype(L, 5, LUA_TTABLE);
            envp = lua_newuserdatauv(L, sizeof(char *) * 4096, 0);
            /* stack: argv opts stdout stderr env envp */
            build_env(L, 5, envp, 4096);
            /* stack: argv opts stdout stderr env envp list */
        }
    }
    /* The handle exists (closed) before the child does: a raise after spawning is
     * impossible, and its __gc reaps the child whatever happens later. */
    p = lua_newuserdatauv(L, sizeof *p, 0);
    p->pid = 0;
    p->status = 0;
    p->done = 0;
    p->closed = 1; /* until the child exists */
    luaL_setmetatable(L, NT_PROCESS_MT);
    /* stack: ... proc */
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out)
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err && out && strcmp(err, "stdout") == 0)
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    else if (err && strcmp(err, "stdout") != 0)
        posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    /* Only stdin, stdout, stderr reach the program: natrig's engine sockets (curl's are not
     * close-on-exec) held by a child that outlives natrig kept its connections open. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    /* The child starts with default signal handling (natrig ignores SIGPIPE, and an
     * ignored signal stays ignored across exec) and nothing blocked. */
    posix_spawnattr_init(&attr);
    sigemptyset(&sigs);
    posix_spawnattr_setsigmask(&attr, &sigs);
    sigaddset(&sigs, SIGPIPE);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    posix_spawnattr_setsigdefault(&attr, &sigs);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawnp(&p->pid, argv[0], &fa, &attr, (char *const *)argv,
                      envp ? (char *const *)envp : environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    p->closed = rc != 0;
    if (rc) {
        p->pid = 0;
        return nt_raisef(L, NT_SYS, "spawn", "cannot run '%s': %s", argv[0], strerror(rc));
    }
    return 1;
}

/* p:poll() -> nil while running; exit code (128 + signal when killed) once it ended */
static int l_process_poll(lua_State *L)
{
    struct process *p = check_open(L, 1, "poll");
    if (!process_reap(p, 0))
        return 0;
    lua_pushinteger(L, p->status);
    return 1;
}

/* p:wait() -> exit code (blocks; for tests and short helpers) */
static int l_process_wait(lua_State *L)
{
    struct process *p = check_open(L, 1, "wait");
    process_reap(p, 1);
    lua_pushinteger(L, p->status);
    return 1;
}

/* p:kill([signal = SIGTERM]) -> true | nil, message (false when it already ended) */
static int l_process_kill(lua_State *L)
{
    struct process *p = check_open(L, 1, "kill");
    int sig = (int)luaL_optinteger(L, 2, SIGTERM);
    if (p->done) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (kill(p->pid, sig)) {
        lua_pushnil(L);
        lua_pushfstring(L, "kill %d: %s", (int)p->pid, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* p:pid() -> the child's process id */
static int l_process_pid(lua_State *L)
{
    struct process *p = check_process(L, 1);
    lua_pushinteger(L, p->pid);
    return 1;
}

static int l_process_close(lua_State *L)
{
    process_close(check_process(L, 1));
    return 0;
}

static int l_process_tostring(lua_State *L)
{
    struct process *p = check_process(L, 1);
    if (p->done)
        lua_pushfstring(L, "%s (pid %d, ended %d)", NT_PROCESS_MT, (int)p->pid, p->status);
    else if (!p->closed)
        lua_pushfstring(L, "%s (pid %d, running)", NT_PROCESS_MT, (int)p->pid);
    else
        lua_pushfstring(L, "%s (closed)", NT_PROCESS_MT);
    return 1;
}

static const luaL_Reg process_methods[] = {
    {"poll", l_process_poll}, {"wait", l_process_wait},   {"kill", l_process_kill},
    {"pid", l_process_pid},   {"close", l_process_close}, {NULL, NULL},
};

static const luaL_Reg process_meta[] = {
    {"__gc", l_process_close},
    {"__close", l_process_close},
    {"__tostring", l_process_tostring},
    {NULL, NULL},
};

static const luaL_Reg spawn_funcs[] = {
    {"spawn", l_spawn},
    {NULL, NULL},
};

void l_spawn_open(lua_State *L)
{
    /* stack: mod */
    luaL_newmetatable(L, NT_PROCESS_MT);
    luaL_setfuncs(L, process_meta, 0);
    luaL_newlib(L, process_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_setfuncs(L, spawn_funcs, 0);
    /* the signal numbers sweep uses to stop children */
    lua_pushinteger(L, SIGTERM);
    lua_setfield(L, -2, "SIGTERM");
    lua_pushinteger(L, SIGKILL);
    lua_setfield(L, -2, "SIGKILL");
}
