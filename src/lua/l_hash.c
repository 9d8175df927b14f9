/* l_hash.c - content hashing for Lua (image tags are a hash of their inputs), over
 * core/hash. */
#include <stdlib.h>

#include "core/hash.h"
#include "lua/l_aux.h"

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

static const luaL_Reg hash_funcs[] = {
    {"hash", l_hash},
    {NULL, NULL},
};

void l_hash_open(lua_State *L)
{
    /* stack: mod */
    luaL_setfuncs(L, hash_funcs, 0);
}
