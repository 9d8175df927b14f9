/* l_box.c - Lua-owned holders for C heap memory. A binder that must call something that can
 * raise (any lua_push*, lua_getfield...) while it holds malloc'd memory puts that memory in
 * a box first: the box is a userdata whose __gc runs the free function once, so a raise
 * cannot leak it (STYLE.md rule 20). Uses Lua only. */
#include <stddef.h>
#include <string.h>

#include "base/buf.h"
#include "lua/l_aux.h"

#define BOX_MT "natrig.Box"

struct box {
    void (*fini)(void *);
    int live;
    max_align_t data[]; /* the payload, suitably aligned for any struct */
};

static struct box *box_of(void *payload)
{
    return (struct box *)(void *)((char *)payload - offsetof(struct box, data));
}

static int l_box_gc(lua_State *L)
{
    struct box *b = luaL_checkudata(L, 1, BOX_MT);
    l_box_release(b->data);
    return 0;
}

void *l_box_new(lua_State *L, size_t size, void (*fini)(void *))
{
    /* Allocate and set the metatable before the caller acquires anything: both can raise. */
    struct box *b = lua_newuserdatauv(L, offsetof(struct box, data) + size, 0);
    b->fini = fini;
    b->live = 0;
    memset(b->data, 0, size);
    luaL_setmetatable(L, BOX_MT);
    b->live = 1;
    return b->data;
}

void l_box_release(void *payload)
{
    struct box *b = box_of(payload);
    if (b->live) {
        b->live = 0;
        b->fini(payload);
    }
}

static void buf_fini(void *p)
{
    buf_free(p);
}

struct buf *l_box_buf(lua_State *L, size_t max)
{
    struct buf *b = l_box_new(L, sizeof *b, buf_fini);
    buf_init(b, max);
    return b;
}

void l_box_open(lua_State *L)
{
    /* stack: mod */
    luaL_newmetatable(L, BOX_MT);
    lua_pushcfunction(L, l_box_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "private");
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}
