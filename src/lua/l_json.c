/* l_json.c - the one converter pair between cJSON and Lua, with a depth limit. Arrays
 * come back as tables whose metatable is natrig.core.array_mt, so an empty array stays
 * an array on the way out; natrig.core.null stands for JSON null. */
#include <math.h>
#include <stdio.h>

#include "lua/l_aux.h"

#define DEPTH_MAX 64

static char null_key, array_key;

static void push_null(lua_State *L)
{
    lua_pushlightuserdata(L, &null_key);
}

static void push_rec(lua_State *L, const cJSON *j, int depth)
{
    if (depth > DEPTH_MAX)
        nt_raisef(L, NT_LIMIT, "json", "nesting deeper than %d", DEPTH_MAX);
    luaL_checkstack(L, 4, "json");
    if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring);
    } else if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
            lua_pushinteger(L, (lua_Integer)d);
        else
            lua_pushnumber(L, d);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else if (cJSON_IsArray(j)) {
        int i = 1;
        lua_createtable(L, cJSON_GetArraySize(j), 0);
        for (const cJSON *c = j->child; c; c = c->next) {
            push_rec(L, c, depth + 1);
            lua_rawseti(L, -2, i++);
        }
        lua_rawgetp(L, LUA_REGISTRYINDEX, &array_key);
        lua_setmetatable(L, -2);
    } else if (cJSON_IsObject(j)) {
        lua_createtable(L, 0, 8);
        for (const cJSON *c = j->child; c; c = c->next) {
            push_rec(L, c, depth + 1);
            lua_setfield(L, -2, c->string);
        }
    } else {
        push_null(L);
    }
}

void ljson_push(lua_State *L, const cJSON *j)
{
    push_rec(L, j, 0);
}

static int push_protected(lua_State *L)
{
    push_rec(L, lua_touserdata(L, 1), 0);
    return 1;
}

void ljson_push_owned(lua_State *L, cJSON *j)
{
    int rc;
    /* Push in a protected call so the tree is freed even when pushing raises. */
    lua_pushcfunction(L, push_protected);
    lua_pushlightuserdata(L, j);
    rc = lua_pcall(L, 1, 1, 0);
    cJSON_Delete(j);
    if (rc != LUA_OK)
        lua_error(L);
}

static int is_array(lua_State *L, int idx)
{
    lua_Integer n = 0;
    int marked = 0;

    if (lua_getmetatable(L, idx)) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &array_key);
        marked = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (marked)
            return 1;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        n++;
    }
    return n > 0 && n == (lua_Integer)lua_rawlen(L, idx);
}

/* Encoding builds the tree inside a protected call, with every node linked to root as soon
 * as it exists: a raise in the middle (out of memory, C stack) abandons the call and
 * ljson_check still frees the whole tree. Messages go to msg, never to the Lua stack, so no
 * caller has to pop them. */
struct enc {
    cJSON *root;
    int done;
    char msg[96];
};

static int fill(lua_State *L, int idx, int depth, cJSON *node, struct enc *e);

/* A leaf for the value at idx, or an empty array/object for a table; NULL with e->msg. */
static cJSON *new_node(lua_State *L, int idx, int *is_table, struct enc *e)
{
    cJSON *j = NULL;
    idx = lua_absindex(L, idx); /* is_array pushes */
    *is_table = 0;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        j = cJSON_CreateNull();
        break;
    case LUA_TBOOLEAN:
        j = cJSON_CreateBool(lua_toboolean(L, idx));
        break;
    case LUA_TNUMBER:
        j = cJSON_CreateNumber(lua_tonumber(L, idx));
        break;
    case LUA_TSTRING:
        j = cJSON_CreateString(lua_tostring(L, idx));
        break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != &null_key) {
            snprintf(e->msg, sizeof e->msg, "cannot encode a light userdata");
            return NULL;
        }
        j = cJSON_CreateNull();
        break;
    case LUA_TTABLE:
        *is_table = 1;
        j = is_array(L, idx) ? cJSON_CreateArray() : cJSON_CreateObject();
        break;
    default:
        snprintf(e->msg, sizeof e->msg, "cannot encode a %s", luaL_typename(L, idx));
        return NULL;
    }
    if (!j)
        snprintf(e->msg, sizeof e->msg, "out of memory");
    return j;
}

/* Convert the value at idx and link it into parent (under key for an object). */
static int add(lua_State *L, int idx, int depth, cJSON *parent, const char *key, struct enc *e)
{
    int is_table;
    cJSON *c;
    idx = lua_absindex(L, idx);
    c = new_node(L, idx, &is_table, e);
    if (!c)
        return -1;
    if (!(key ? cJSON_AddItemToObject(parent, key, c) : cJSON_AddItemToArray(parent, c))) {
        cJSON_Delete(c);
        snprintf(e->msg, sizeof e->msg, "out of memory");
        return -1;
    }
    return is_table ? fill(L, idx, depth + 1, c, e) : 0;
}

/* Fill the array or object node from the table at idx. Leaves the stack as it found it. */
static int fill(lua_State *L, int idx, int depth, cJSON *node, struct enc *e)
{
    idx = lua_absindex(L, idx);
    if (depth > DEPTH_MAX) {
        snprintf(e->msg, sizeof e->msg, "nesting too deep");
        return -1;
    }
    luaL_checkstack(L, 4, "json");
    if (cJSON_IsArray(node)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_rawgeti(L, idx, i);
            int rc = add(L, -1, depth, node, NULL, e);
            lua_pop(L, 1);
            if (rc)
                return -1;
        }
        return 0;
    }
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        /* stack: ... key value */
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            snprintf(e->msg, sizeof e->msg, "object keys must be strings");
            return -1;
        }
        int rc = add(L, -1, depth, node, lua_tostring(L, -2), e);
        lua_pop(L, 1);
        if (rc) {
            lua_pop(L, 1);
            return -1;
        }
    }
    return 0;
}

/* stack: value enc */
static int encode_protected(lua_State *L)
{
    struct enc *e = lua_touserdata(L, 2);
    int is_table;
    e->root = new_node(L, 1, &is_table, e);
    if (e->root && (!is_table || fill(L, 1, 0, e->root, e) == 0))
        e->done = 1;
    return 0;
}

cJSON *ljson_check(lua_State *L, int idx)
{
    struct enc e = {NULL, 0, ""};
    int rc;

    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 3, "json");
    lua_pushcfunction(L, encode_protected);
    lua_pushvalue(L, idx);
    lua_pushlightuserdata(L, &e);
    rc = lua_pcall(L, 2, 0, 0);
    if (rc == LUA_OK && e.done)
        return e.root;
    cJSON_Delete(e.root);
    if (rc != LUA_OK)
        lua_error(L); /* the error object is on top */
    nt_raisef(L, NT_EINVAL, "json encode", "%s", e.msg);
    return NULL;
}

static void str_fini(void *p)
{
    cJSON_free(*(char **)p);
}

void ljson_encode(lua_State *L, int idx)
{
    char **s;
    cJSON *j;

    idx = lua_absindex(L, idx);
    /* The text is boxed: pushing it can raise. */
    s = l_box_new(L, sizeof *s, str_fini);
    j = ljson_check(L, idx);
    *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!*s)
        nt_raisef(L, NT_LIMIT, "json encode", "out of memory");
    lua_pushstring(L, *s);
    /* stack: ... box text */
    l_box_release(s);
    lua_remove(L, -2);
}

static int l_json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    ljson_encode(L, 1);
    return 1;
}

static int l_json_decode(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    cJSON *j = cJSON_ParseWithLength(s, n);
    if (!j) {
        lua_pushnil(L);
        lua_pushfstring(L, "invalid JSON near byte %d",
                        (int)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - s : 0));
        return 2;
    }
    ljson_push_owned(L, j);
    return 1;
}

static int l_json_array(lua_State *L)
{
    if (lua_isnoneornil(L, 1))
        lua_newtable(L);
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &array_key);
    lua_setmetatable(L, 1);
    return 1;
}

void l_json_open(lua_State *L)
{
    /* stack: mod */
    lua_newtable(L);
    lua_pushstring(L, "array");
    lua_setfield(L, -2, "__jsontype");
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &array_key);
    lua_setfield(L, -2, "array_mt");
    push_null(L);
    lua_setfield(L, -2, "null");
    lua_pushcfunction(L, l_json_encode);
    lua_setfield(L, -2, "json_encode");
    lua_pushcfunction(L, l_json_decode);
    lua_setfield(L, -2, "json_decode");
    lua_pushcfunction(L, l_json_array);
    lua_setfield(L, -2, "json_array");
}
