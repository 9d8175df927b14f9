/* l_proc.c - processes: this process's identity (pid and start time, for the owner label
 * and dead-owner detection), running a host program by argv (ldd for image closures),
 * signalling, its own scheduling priority (and its CPU cgroup, base/cpugroup). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/cpugroup.h"
#include "base/sig.h"
#include "lua/l_aux.h"

extern char **environ;

static int l_pid(lua_State *L)
{
    lua_pushinteger(L, getpid());
    return 1;
}

/* proc_start(pid) -> the process start time (clock ticks since boot, field 22 of
 * /proc/pid/stat) as a string; nothing when no such process; nil, message when it cannot
 * be told (a live run's owner must never look dead). pid + start time survive PID reuse. */
static int l_proc_start(lua_State *L)
{
    char path[64], data[1024];
    lua_Integer pid = luaL_checkinteger(L, 1);
    ssize_t n = -1;
    int fd, e;
    char *p = NULL;

    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    e = errno;
    if (fd >= 0) {
        n = read(fd, data, sizeof data - 1);
        e = errno;
        close(fd);
    }
    /* gone: no such entry, or it exited between the open and the read */
    if (n < 0 && (e == ENOENT || e == ESRCH))
        return 0;
    if (n > 0) {
        data[n] = '\0';
        /* Fields after the command name, which sits in parentheses and may hold spaces. */
        p = strrchr(data, ')');
    }
    if (!p) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, n < 0 ? strerror(e) : "no start time in it");
        return 2;
    }
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    size_t len = strcspn(p, " ");
    lua_pushlstring(L, p, len);
    return 1;
}

#define RUN_OUTPUT_MAX ((size_t)16 << 20)

/* run(argv [, timeout_seconds]) -> exit_code, stdout, stderr. Runs a host program by argv
 * (no shell), capturing both outputs. An output beyond 16 MiB kills the program and
 * raises (a truncated output with exit 0 would lie). A signal kills the program (exit
 * 137) and the interrupt is raised by the hook or the scheduler. The output buffers are boxed
 * (Lua-owned), and nothing can raise between spawning and reaping the child. */
static int l_run(lua_State *L)
{
    const char *argv[64];
    int n, out[2] = {-1, -1}, errp[2] = {-1, -1}, status = 0;
    pid_t pid;
    posix_spawn_file_actions_t fa;
    struct buf *bo, *be;
    double timeout = luaL_optnumber(L, 2, 60);

    luaL_checktype(L, 1, LUA_TTABLE);
    n = (int)lua_rawlen(L, 1);
    if (n < 1 || n > 63)
        return nt_raisef(L, NT_EINVAL, "run", "argv must hold 1 to 63 strings");
    lua_settop(L, 2);
    luaL_checkstack(L, n + 4, "run");
    for (int i = 0; i < n; i++) {
        /* Left on the stack: a number converted here lives only in this slot. */
        lua_rawgeti(L, 1, i + 1);
        argv[i] = lua_tostring(L, -1);
        if (!argv[i])
            return nt_raisef(L, NT_EINVAL, "run", "argv[%d] is not a string", i + 1);
    }
    argv[n] = NULL;
    bo = l_box_buf(L, RUN_OUTPUT_MAX);
    be = l_box_buf(L, RUN_OUTPUT_MAX);
    /* stack: argv timeout arg1..argn bo be */
    if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (out[i] >= 0)
                close(out[i]);
            if (errp[i] >= 0)
                close(errp[i]);
        }
        return nt_raisef(L, NT_SYS, "run", "pipe: %s", strerror(e));
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    /* only stdin, stdout, stderr: curl's engine sockets are not close-on-exec */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(errp[1]);
    if (rc) {
        close(out[0]);
        close(errp[0]);
        return nt_raisef(L, NT_SYS, "run", "cannot run '%s': %s", argv[0], strerror(rc));
    }
    struct pollfd p[2] = {{out[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int open_fds = 2, timed_out = 0, overflow = 0;
    while (open_fds) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double left =
            timeout - ((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        if (left <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        /* Wake at least every 100 ms: a signal (not deferred) stops the program at once,
         * and the Lua hook or the scheduler raises the interrupt right after. */
        if (poll(p, 2, left < 0.1 ? (int)(left * 1000) + 1 : 100) < 0 && errno != EINTR)
            break;
        if (nt_should_stop()) {
            kill(pid, SIGKILL);
            break;
        }
        for (int i = 0; i < 2 && !overflow; i++) {
            char chunk[65536];
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(p[i].fd, chunk, sizeof chunk);
            if (r <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            } else if (buf_append(i ? be : bo, chunk, (size_t)r)) {
                overflow = i + 1;
            }
        }
        if (overflow) {
            kill(pid, SIGKILL);
            break;
        }
    }
    for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (overflow)
        return nt_raisef(L, NT_LIMIT, "run", "'%s': %s exceeds %zu MiB", argv[0],
                         overflow == 1 ? "stdout" : "stderr", RUN_OUTPUT_MAX >> 20);
    lua_pushinteger(L, timed_out           ? -1
                       : WIFEXITED(status) ? WEXITSTATUS(status)
                                           : 128 + WTERMSIG(status));
    lua_pushlstring(L, bo->data ? bo->data : "", bo->len);
    lua_pushlstring(L, be->data ? be->data : "", be->len);
    l_box_release(bo);
    l_box_release(be);
    return 3;
}

/* kill(pid, signal) -> true, or false, message */
static int l_kill(lua_State *L)
{
    if (kill((pid_t)luaL_checkinteger(L, 1), (int)luaL_optinteger(L, 2, SIGTERM))) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* nice([value]) -> this process's nice value, after setting it to value when one is given
 * (-20..19); nil, message when the kernel refused (a value below the current one needs
 * root or CAP_SYS_NICE). natrig is single-threaded: the calling thread is the process. */
static int l_nice(lua_State *L)
{
    int v;

    if (!lua_isnoneornil(L, 1)) {
        lua_Integer want = luaL_checkinteger(L, 1);
        luaL_argcheck(L, want >= -20 && want <= 19, 1, "a nice value is -20..19");
        if (setpriority(PRIO_PROCESS, 0, (int)want) != 0) {
            lua_pushnil(L);
            lua_pushfstring(L, "setpriority(%d): %s", (int)want, strerror(errno));
            return 2;
        }
    }
    errno = 0;
    v = getpriority(PRIO_PROCESS, 0);
    if (v == -1 && errno != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "getpriority: %s", strerror(errno));
        return 2;
    }
    lua_pushinteger(L, v);
    return 1;
}

/* cpu_group([nice]) -> the path of natrig's CPU cgroup this process is in (nil when not in
 * it), after joining it weighted as nice when one is given (-20..19); nil, message when
 * that was refused (base/cpugroup: the weight reaches past the session's autogroup, and the
 * process leaves the group at exit). */
static int l_cpu_group(lua_State *L)
{
    const char *p;

    if (!lua_isnoneornil(L, 1)) {
        char why[256];
        lua_Integer want = luaL_checkinteger(L, 1);
        luaL_argcheck(L, want >= -20 && want <= 19, 1, "a nice value is -20..19");
        if (nt_cpugroup_join((int)want, why, sizeof why) != 0) {
            lua_pushnil(L);
            lua_pushstring(L, why);
            return 2;
        }
    }
    p = nt_cpugroup_path();
    if (p)
        lua_pushstring(L, p);
    else
        lua_pushnil(L);
    return 1;
}

static const luaL_Reg proc_funcs[] = {
    {"pid", l_pid},   {"proc_start", l_proc_start}, {"run", l_run}, {"kill", l_kill},
    {"nice", l_nice}, {"cpu_group", l_cpu_group},   {NULL, NULL},
};

void l_proc_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, proc_funcs, 0);
}
