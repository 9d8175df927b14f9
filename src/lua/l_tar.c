/* l_tar.c - natrig.core.tar(entries) -> string: an in-memory tar for uploads and images.
 * Each entry: {path=, data=, mode=} | {path=, file=host path, mode=} | {path=, dir=true}
 * | {path=, symlink=target}. Paths that escape the root are refused. */
#include <string.h>

#include "core/tarpath.h"
#include "engine/tar.h"
#include "lua/l_aux.h"

static int add_entry(lua_State *L, struct tar *t, int idx, struct nt_err *err)
{
    const char *path, *s;
    size_t n;
    int mode = -1, rc;

    lua_getfield(L, idx, "path");
    path = lua_tostring(L, -1);
    lua_getfield(L, idx, "mode");
    if (lua_isinteger(L, -1))
        mode = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (!path)
        return nt_err_set(err, NT_EINVAL, "tar", "entry without a 'path'");
    lua_getfield(L, idx, "data");
    lua_getfield(L, idx, "file");
    lua_getfield(L, idx, "symlink");
    lua_getfield(L, idx, "dir");
    /* stack: path data file symlink dir */
    if ((s = lua_tolstring(L, -4, &n)))
        rc = tar_add_data(t, path, s, n, mode, err);
    else if ((s = lua_tostring(L, -3)))
        rc = tar_add_file(t, path, s, mode, err);
    else if ((s = lua_tostring(L, -2)))
        rc = tar_add_symlink(t, path, s, err);
    else if (lua_toboolean(L, -1))
        rc = tar_add_dir(t, path, mode, err);
    else
        rc = nt_err_set(err, NT_EINVAL, "tar", "entry '%s' needs data, file, symlink or dir",
                        path);
    lua_pop(L, 5);
    return rc;
}

static int l_tar(lua_State *L)
{
    struct nt_err err = {0};
    struct tar *t;
    struct buf out;
    lua_Integer n;

    luaL_checktype(L, 1, LUA_TTABLE);
    n = (lua_Integer)lua_rawlen(L, 1);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        if (!lua_istable(L, -1))
            return nt_raisef(L, NT_EINVAL, "tar", "entry %d is not a table", (int)i);
        lua_pop(L, 1);
    }
    t = tar_new(0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        if (add_entry(L, t, lua_gettop(L), &err)) {
            tar_free(t);
            return nt_raise(L, &err);
        }
        lua_pop(L, 1);
    }
    if (tar_finish(t, &out, &err)) {
        tar_free(t);
        return nt_raise(L, &err);
    }
    tar_free(t);
    /* Copy into Lua and free before anything else can raise. */
    lua_pushlstring(L, out.data ? out.data : "", out.len);
    buf_free(&out);
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

void l_tar_open(lua_State *L)
{
    lua_pushcfunction(L, l_tar);
    lua_setfield(L, -2, "tar");
    lua_pushcfunction(L, l_tarpath);
    lua_setfield(L, -2, "tarpath");
}
