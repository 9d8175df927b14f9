/* l_sys.c - host-side primitives the Lua layer composes: clocks, process identity (for
 * labels and dead-owner detection), running a host program by argv (ldd for image
 * closures), small file helpers, content hashing, the reaper watchdog. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/sig.h"
#include "core/hash.h"
#include "engine/reap.h"
#include "lua/l_aux.h"

extern char **environ;

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

static int l_pid(lua_State *L)
{
    lua_pushinteger(L, getpid());
    return 1;
}

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

/* proc_start(pid) -> the process start time (clock ticks since boot, field 22 of
 * /proc/pid/stat) as a string, or nil when no such process. pid + start time survive
 * PID reuse. */
static int l_proc_start(lua_State *L)
{
    char path[64], data[1024];
    lua_Integer pid = luaL_checkinteger(L, 1);
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, data, sizeof data - 1);
    close(fd);
    if (n <= 0)
        return 0;
    data[n] = '\0';
    /* Fields after the command name, which sits in parentheses and may hold spaces. */
    char *p = strrchr(data, ')');
    if (!p)
        return 0;
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    size_t len = strcspn(p, " ");
    lua_pushlstring(L, p, len);
    return 1;
}

static int l_read_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_Buffer b;
    char chunk[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot read '%s': %s", path, strerror(errno));
        return 2;
    }
    luaL_buffinit(L, &b);
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        luaL_addlstring(&b, chunk, (size_t)n);
    close(fd);
    luaL_pushresult(&b);
    return 1;
}

static int l_write_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *data = luaL_checklstring(L, 2, &n);
    int append = lua_toboolean(L, 3);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0)
        return nt_raisef(L, NT_SYS, "write file", "cannot open '%s': %s", path,
                         strerror(errno));
    while (n > 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return nt_raisef(L, NT_SYS, "write file", "'%s': %s", path, strerror(errno));
        }
        data += w;
        n -= (size_t)w;
    }
    close(fd);
    return 0;
}

static int l_mkdir_p(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return nt_raisef(L, NT_LIMIT, "mkdir", "path too long");
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) && errno != EEXIST)
            return nt_raisef(L, NT_SYS, "mkdir", "'%s': %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) && errno != EEXIST)
        return nt_raisef(L, NT_SYS, "mkdir", "'%s': %s", tmp, strerror(errno));
    return 0;
}

/* stat(path) -> {type="file"|"dir"|"link"|"other", size=, mode=, target=} or nil (lstat) */
static int l_stat(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct stat st;
    if (lstat(path, &st))
        return 0;
    lua_createtable(L, 0, 4);
    lua_pushstring(L, S_ISREG(st.st_mode)   ? "file"
                      : S_ISDIR(st.st_mode) ? "dir"
                      : S_ISLNK(st.st_mode) ? "link"
                                            : "other");
    lua_setfield(L, -2, "type");
    lua_pushinteger(L, (lua_Integer)st.st_size);
    lua_setfield(L, -2, "size");
    lua_pushinteger(L, st.st_mode & 07777);
    lua_setfield(L, -2, "mode");
    lua_pushinteger(L, (lua_Integer)st.st_mtime);
    lua_setfield(L, -2, "mtime");
    if (S_ISLNK(st.st_mode)) {
        char t[PATH_MAX];
        ssize_t n = readlink(path, t, sizeof t - 1);
        if (n >= 0) {
            lua_pushlstring(L, t, (size_t)n);
            lua_setfield(L, -2, "target");
        }
    }
    return 1;
}

static int l_realpath(lua_State *L)
{
    char out[PATH_MAX];
    if (!realpath(luaL_checkstring(L, 1), out))
        return 0;
    lua_pushstring(L, out);
    return 1;
}

/* hash(string [, previous_hex]) -> 16 hex digits (FNV-1a 64), chainable */
static int l_hash(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    uint64_t h = HASH_FNV_INIT;
    char out[17];
    if (lua_isstring(L, 2))
        h = strtoull(lua_tostring(L, 2), NULL, 16);
    hash_hex(hash_fnv1a(h, s, n), out);
    lua_pushstring(L, out);
    return 1;
}

/* run(argv [, timeout_seconds]) -> exit_code, stdout, stderr. Runs a host program by argv
 * (no shell), capturing both outputs (each bounded to 16 MiB). */
static int l_run(lua_State *L)
{
    const char *argv[64];
    int n, out[2] = {-1, -1}, errp[2] = {-1, -1}, status = 0;
    pid_t pid;
    posix_spawn_file_actions_t fa;
    struct buf bo, be;
    double timeout = luaL_optnumber(L, 2, 60);

    luaL_checktype(L, 1, LUA_TTABLE);
    n = (int)lua_rawlen(L, 1);
    if (n < 1 || n > 63)
        return nt_raisef(L, NT_EINVAL, "run", "argv must hold 1 to 63 strings");
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, 1, i + 1);
        argv[i] = lua_tostring(L, -1);
        if (!argv[i])
            return nt_raisef(L, NT_EINVAL, "run", "argv[%d] is not a string", i + 1);
        lua_pop(L, 1); /* the string stays alive in the argv table */
    }
    argv[n] = NULL;
    if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
        return nt_raisef(L, NT_SYS, "run", "pipe: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(errp[1]);
    if (rc) {
        close(out[0]);
        close(errp[0]);
        return nt_raisef(L, NT_SYS, "run", "cannot run '%s': %s", argv[0], strerror(rc));
    }
    buf_init(&bo, 16 << 20);
    buf_init(&be, 16 << 20);
    struct pollfd p[2] = {{out[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int open_fds = 2, timed_out = 0;
    while (open_fds) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double left = timeout - ((double)(t1.tv_sec - t0.tv_sec) +
                                 (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        if (left <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (poll(p, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            char chunk[65536];
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(p[i].fd, chunk, sizeof chunk);
            if (r <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
            } else {
                buf_append(i ? &be : &bo, chunk, (size_t)r);
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (p[i].fd >= 0)
            close(p[i].fd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    lua_pushinteger(L, timed_out ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    lua_pushlstring(L, bo.data ? bo.data : "", bo.len);
    lua_pushlstring(L, be.data ? be.data : "", be.len);
    buf_free(&bo);
    buf_free(&be);
    return 3;
}

/* reaper(label [, host]) -> pid: a child that removes everything with label when this
 * process dies, however it dies. */
static int l_reaper(lua_State *L)
{
    struct nt_err err = {0};
    int pid = reap_spawn_watchdog(luaL_optstring(L, 2, NULL), luaL_checkstring(L, 1), &err);
    if (pid < 0)
        return nt_raise(L, &err);
    lua_pushinteger(L, pid);
    return 1;
}

/* interrupted() -> signal number or false; clears it. For Lua loops that wait without
 * the engine (sleep with no requests in flight). */
static int l_interrupted(lua_State *L)
{
    int s = nt_interrupted;
    nt_interrupted = 0;
    if (s)
        lua_pushinteger(L, s);
    else
        lua_pushboolean(L, 0);
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

/* list_dir(path) -> sorted array of names (without . and ..), or nil, message */
static int l_list_dir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    DIR *d = opendir(path);
    struct dirent *de;
    int n = 0;
    if (!d) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot list '%s': %s", path, strerror(errno));
        return 2;
    }
    lua_newtable(L);
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        lua_pushstring(L, de->d_name);
        lua_rawseti(L, -2, ++n);
    }
    closedir(d);
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, -3);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    return 1;
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

/* remove(path): unlink a file, quietly when it is absent */
static int l_remove(lua_State *L)
{
    unlink(luaL_checkstring(L, 1));
    return 0;
}

/* seqpacket_call(path, request [, timeout_ms]) -> reply | nil, message
 * One request, one reply over a UNIX SOCK_SEQPACKET socket (natrig-shaper's control
 * socket, reached through a bind-mounted directory: no engine round trip). */
static int l_seqpacket_call(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *req = luaL_checklstring(L, 2, &n);
    int timeout = (int)luaL_optinteger(L, 3, 2000), fd, r;
    struct sockaddr_un sa;
    struct pollfd p;
    char buf[4096];
    ssize_t got;

    if (strlen(path) >= sizeof sa.sun_path) {
        lua_pushnil(L);
        lua_pushfstring(L, "socket path too long: %s", path);
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        send(fd, req, n, MSG_NOSIGNAL) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(e));
        return 2;
    }
    p.fd = fd;
    p.events = POLLIN;
    do
        r = poll(&p, 1, timeout);
    while (r < 0 && errno == EINTR);
    got = r > 0 ? recv(fd, buf, sizeof buf, 0) : -1;
    close(fd);
    if (got < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "no reply from %s within %d ms", path, timeout);
        return 2;
    }
    lua_pushlstring(L, buf, (size_t)got);
    return 1;
}

static int l_rmdir(lua_State *L)
{
    rmdir(luaL_checkstring(L, 1));
    return 0;
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1)));
    return 1;
}

static const luaL_Reg sys_funcs[] = {
    {"now", l_now},           {"time", l_time},           {"pid", l_pid},
    {"hostname", l_hostname}, {"getenv", l_getenv},       {"proc_start", l_proc_start},
    {"read_file", l_read_file}, {"write_file", l_write_file}, {"mkdir_p", l_mkdir_p},
    {"stat", l_stat},         {"realpath", l_realpath},   {"hash", l_hash},
    {"run", l_run},           {"reaper", l_reaper},       {"interrupted", l_interrupted},
    {"sleep", l_sleep},       {"isatty", l_isatty},       {"libexec_dir", l_libexec_dir},
    {"list_dir", l_list_dir}, {"kill", l_kill}, {"remove", l_remove},
    {"seqpacket_call", l_seqpacket_call}, {"rmdir", l_rmdir}, {NULL, NULL},
};

void l_sys_open(lua_State *L)
{
    luaL_setfuncs(L, sys_funcs, 0);
}
