/* l_tar.c - in-memory tars for uploads and images (engine/tar), as a handle and as one call.
 *   core.tar_new([max_bytes]) -> natrig.Tar: t:add(entry), t:finish() -> string, t:close()
 *   core.tar(entries) -> string (a builder that is closed whatever happens)
 *   core.tar(entries, path) -> bytes written to the host file path (made or truncated, 0600;
 *   an image's rootfs goes to the engine from there, never whole in memory)
 * Each entry: {path=, data=, mode=} | {path=, file=host path, mode=} | {path=, dir=true}
 * | {path=, symlink=target}. Paths that escape the root are refused. The builder holds C
 * heap (up to 2 GiB) across calls that can raise, so it lives in a handle whose __gc and
 * __close free it (STYLE.md rule 9). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/tarpath.h"
#include "engine/tar.h"
#include "lua/l_aux.h"

#define TAR_MT "natrig.Tar"

struct l_tar {
    struct tar *t; /* NULL once closed */
    lua_Integer entries;
    int fd; /* the file core.tar(entries, path) writes, -1 when none */
};

static int tar_is_open(const void *h)
{
    return ((const struct l_tar *)h)->t != NULL;
}

static struct l_tar *check_tar(lua_State *L, int idx)
{
    return nt_check_open(L, idx, TAR_MT, tar_is_open, "tar", "the tar builder");
}

/* The one close: idempotent, for close(), finish(), __gc and __close. */
static void tar_close(struct l_tar *h)
{
    tar_free(h->t);
    h->t = NULL;
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
}

static int l_tar_close(lua_State *L)
{
    tar_close(luaL_checkudata(L, 1, TAR_MT));
    return 0;
}

static int l_tar_tostring(lua_State *L)
{
    struct l_tar *h = luaL_checkudata(L, 1, TAR_MT);
    if (h->t)
        lua_pushfstring(L, TAR_MT " (open, %d entries)", (int)h->entries);
    else
        lua_pushliteral(L, TAR_MT " (closed)");
    return 1;
}

/* Push a new open builder. */
static struct l_tar *push_tar(lua_State *L, size_t max)
{
    /* Created closed with its metatable, then acquired: a raise in between leaks nothing. */
    struct l_tar *h = lua_newuserdatauv(L, sizeof *h, 0);
    h->t = NULL;
    h->entries = 0;
    h->fd = -1;
    luaL_setmetatable(L, TAR_MT);
    h->t = tar_new(max);
    return h;
}

static int l_tar_new(lua_State *L)
{
    lua_Integer max = luaL_optinteger(L, 1, 0);
    luaL_argcheck(L, max >= 0, 1, "negative size");
    push_tar(L, (size_t)max);
    return 1;
}

/* Add the entry table at idx. Raises on a bad entry (the builder stays usable). */
static void add_entry(lua_State *L, struct l_tar *h, int idx)
{
    struct nt_err err = {0};
    const char *path, *s;
    size_t n;
    int mode = -1, rc;

    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx))
        nt_raisef(L, NT_EINVAL, "tar", "an entry must be a table, got %s", luaL_typename(L, idx));
    lua_getfield(L, idx, "path");
    lua_getfield(L, idx, "mode");
    lua_getfield(L, idx, "data");
    lua_getfield(L, idx, "file");
    lua_getfield(L, idx, "symlink");
    lua_getfield(L, idx, "dir");
    /* stack: ... path mode data file symlink dir */
    /* lua_isstring: numbers are accepted and converted in their stack slots. */
    if (!lua_isstring(L, -6))
        nt_raisef(L, NT_EINVAL, "tar", "entry without a 'path'");
    path = lua_tostring(L, -6);
    if (lua_isinteger(L, -5))
        mode = (int)lua_tointeger(L, -5);
    if (lua_isstring(L, -4)) {
        s = lua_tolstring(L, -4, &n);
        rc = tar_add_data(h->t, path, s, n, mode, &err);
    } else if (lua_isstring(L, -3)) {
        rc = tar_add_file(h->t, path, lua_tostring(L, -3), mode, &err);
    } else if (lua_isstring(L, -2)) {
        rc = tar_add_symlink(h->t, path, lua_tostring(L, -2), &err);
    } else if (lua_toboolean(L, -1)) {
        rc = tar_add_dir(h->t, path, mode, &err);
    } else {
        rc =
            nt_err_set(&err, NT_EINVAL, "tar", "entry '%s' needs data, file, symlink or dir", path);
    }
    if (rc)
        nt_raise(L, &err);
    h->entries++;
    lua_pop(L, 6);
}

/* t:add(entry) -> t */
static int l_tar_add(lua_State *L)
{
    struct l_tar *h = check_tar(L, 1);
    add_entry(L, h, 2);
    lua_settop(L, 1);
    return 1;
}

/* Close the archive, push its bytes, close the builder. */
static void finish(lua_State *L, struct l_tar *h)
{
    struct nt_err err = {0};
    struct buf *out = l_box_buf(L, 0);
    /* stack: ... box */
    int rc = tar_finish(h->t, out, &err);
    tar_close(h);
    if (rc)
        nt_raise(L, &err);
    lua_pushlstring(L, out->data ? out->data : "", out->len);
    l_box_release(out);
}

/* t:finish() -> the tar bytes; the builder is closed afterwards */
static int l_tar_finish(lua_State *L)
{
    finish(L, check_tar(L, 1));
    return 1;
}

/* tar(entries, [path]) -> string, or the bytes written to path */
static int l_tar(lua_State *L)
{
    struct l_tar *h;
    lua_Integer n;
    const char *path = luaL_optstring(L, 2, NULL);

    luaL_checktype(L, 1, LUA_TTABLE);
    n = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
            return nt_raisef(L, NT_EINVAL, "tar", "entry %d is not a table", (int)i);
        lua_pop(L, 1);
    }
    lua_settop(L, 2);
    h = push_tar(L, 0);
    if (path) {
        /* the file replaces the memory builder; the handle closes the fd whatever happens */
        tar_free(h->t);
        h->t = NULL;
        h->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (h->fd < 0)
            return nt_raisef(L, NT_SYS, "tar", "cannot write %s: %s", path, strerror(errno));
        h->t = tar_new_fd(h->fd);
    }
    /* stack: entries path builder */
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        add_entry(L, h, -1);
        lua_pop(L, 1);
    }
    if (!path) {
        finish(L, h);
        return 1;
    }
    struct nt_err err = {0};
    struct buf none;
    struct stat sb;
    int rc = tar_finish(h->t, &none, &err);
    buf_free(&none);
    if (rc == 0 && fstat(h->fd, &sb))
        rc = nt_err_set(&err, NT_SYS, "tar", "%s: %s", path, strerror(errno));
    tar_close(h);
    if (rc)
        return nt_raise(L, &err);
    lua_pushinteger(L, (lua_Integer)sb.st_size);
    return 1;
}

/* natrig.core.tarpath(p) -> normalised path, or nil, message */
static int l_tarpath(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    char out[4096];
    struct nt_err err = {0};
    if (tarpath_normalize(p, n, out, sizeof out, &err)) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    lua_pushstring(L, out);
    return 1;
}

static const luaL_Reg tar_methods[] = {
    {"add", l_tar_add},
    {"finish", l_tar_finish},
    {"close", l_tar_close},
    {NULL, NULL},
};

static const luaL_Reg tar_meta[] = {
    {"__gc", l_tar_close},
    {"__close", l_tar_close},
    {"__tostring", l_tar_tostring},
    {NULL, NULL},
};

static const luaL_Reg tar_funcs[] = {
    {"tar", l_tar},
    {"tar_new", l_tar_new},
    {"tarpath", l_tarpath},
    {NULL, NULL},
};

void l_tar_open(lua_State *L)
{
    /* stack: mod */
    luaL_newmetatable(L, TAR_MT);
    luaL_setfuncs(L, tar_meta, 0);
    luaL_newlib(L, tar_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_setfuncs(L, tar_funcs, 0);
}
