/* l_file.c - small host file helpers the Lua layer composes (artifacts, image contexts,
 * shaper control directories): read, write, mkdir -p, lstat, realpath, list, remove, and
 * flock (runs share a lock that natrig image prune takes alone). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/flock.h"
#include "lua/l_aux.h"

#define LOCK_MT "natrig.Lock"

static void fd_fini(void *p)
{
    int *fd = p;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void dir_fini(void *p)
{
    DIR **d = p;
    if (*d)
        closedir(*d);
    *d = NULL;
}

/* read_file(path) -> contents | nil, message. The descriptor is boxed: growing the
 * buffer can raise. */
static int l_read_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_Buffer b;
    char chunk[65536];
    ssize_t n;
    int *fd;

    lua_settop(L, 1);
    fd = l_box_new(L, sizeof *fd, fd_fini);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot read '%s': %s", path, strerror(errno));
        return 2;
    }
    /* stack: path fdbox */
    luaL_buffinit(L, &b);
    while ((n = read(*fd, chunk, sizeof chunk)) > 0)
        luaL_addlstring(&b, chunk, (size_t)n);
    l_box_release(fd);
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
        return nt_raisef(L, NT_SYS, "write file", "cannot open '%s': %s", path, strerror(errno));
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

/* list_dir(path) -> sorted array of names (without . and ..), or nil, message */
static int l_list_dir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    DIR **d;
    struct dirent *de;
    int n = 0;

    lua_settop(L, 1);
    /* The DIR is boxed: pushing names can raise. */
    d = l_box_new(L, sizeof *d, dir_fini);
    *d = opendir(path);
    if (!*d) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot list '%s': %s", path, strerror(errno));
        return 2;
    }
    lua_newtable(L);
    /* stack: path dirbox names */
    while ((de = readdir(*d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        lua_pushstring(L, de->d_name);
        lua_rawseti(L, -2, ++n);
    }
    l_box_release(d);
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, -3);
    lua_call(L, 1, 0);
    lua_pop(L, 1);
    return 1;
}

/* remove(path): unlink a file, quietly when it is absent */
static int l_remove(lua_State *L)
{
    unlink(luaL_checkstring(L, 1));
    return 0;
}

static int l_rmdir(lua_State *L)
{
    rmdir(luaL_checkstring(L, 1));
    return 0;
}

/* flock(path, "shared"|"exclusive") -> lock | nil, message, busy. One try, no wait (the
 * caller waits with its own deadline); busy is true when another holds a conflicting lock.
 * The lock is released by lock:unlock(), at collection, or when the process ends. */
static int l_flock(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int ex = luaL_checkoption(L, 2, NULL, (const char *const[]){"shared", "exclusive", NULL});
    int *h = lua_newuserdatauv(L, sizeof *h, 0);

    *h = -1;
    luaL_setmetatable(L, LOCK_MT);
    *h = nt_flock_try(path, ex);
    if (*h < 0) {
        int busy = errno == EWOULDBLOCK;
        lua_pushnil(L);
        lua_pushfstring(L, "cannot lock '%s': %s", path,
                        busy ? "another process holds it" : strerror(errno));
        lua_pushboolean(L, busy);
        return 3;
    }
    return 1;
}

static int l_unlock(lua_State *L)
{
    int *h = luaL_checkudata(L, 1, LOCK_MT);
    if (*h >= 0)
        close(*h);
    *h = -1;
    return 0;
}

static const luaL_Reg lock_meta[] = {
    {"__gc", l_unlock},
    {"__close", l_unlock},
    {"unlock", l_unlock},
    {NULL, NULL},
};

static const luaL_Reg file_funcs[] = {
    {"flock", l_flock},
    {"read_file", l_read_file},
    {"write_file", l_write_file},
    {"mkdir_p", l_mkdir_p},
    {"stat", l_stat},
    {"realpath", l_realpath},
    {"list_dir", l_list_dir},
    {"remove", l_remove},
    {"rmdir", l_rmdir},
    {NULL, NULL},
};

void l_file_open(lua_State *L)
{
    /* stack: mod */
    luaL_newmetatable(L, LOCK_MT);
    luaL_setfuncs(L, lock_meta, 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_setfuncs(L, file_funcs, 0);
}
