/* l_json.c - the one converter pair between cJSON and Lua, with a depth limit. Arrays
 * come back as tables whose metatable is natrig.core.array_mt, so an empty array stays
 * an array on the way out; natrig.core.null stands for JSON null. */
#include <math.h>

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

/* Builds into *out; on error leaves what it built in *out for the caller to free. */
static const char *check_rec(lua_State *L, int idx, int depth, cJSON **out)
{
    idx = lua_absindex(L, idx);
    *out = NULL;
    if (depth > DEPTH_MAX)
        return "nesting too deep";
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        *out = cJSON_CreateNull();
        return NULL;
    case LUA_TBOOLEAN:
        *out = cJSON_CreateBool(lua_toboolean(L, idx));
        return NULL;
    case LUA_TNUMBER:
        *out = cJSON_CreateNumber(lua_tonumber(L, idx));
        return NULL;
    case LUA_TSTRING:
        *out = cJSON_CreateString(lua_tostring(L, idx));
        return NULL;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == &null_key) {
            *out = cJSON_CreateNull();
            return NULL;
        }
        return "cannot encode a light userdata";
    case LUA_TTABLE:
        break;
    default:
        return lua_pushfstring(L, "cannot encode a %s", luaL_typename(L, idx));
    }
    luaL_checkstack(L, 4, "json");
    if (is_array(L, idx)) {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
        *out = cJSON_CreateArray();
        for (lua_Integer i = 1; i <= n; i++) {
            cJSON *c;
            const char *e;
            lua_rawgeti(L, idx, i);
            e = check_rec(L, -1, depth + 1, &c);
            lua_pop(L, 1);
            if (c)
                cJSON_AddItemToArray(*out, c);
            if (e)
                return e;
        }
        return NULL;
    }
    *out = cJSON_CreateObject();
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        cJSON *c;
        const char *e;
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return "object keys must be strings";
        }
        e = check_rec(L, -1, depth + 1, &c);
        if (c)
            cJSON_AddItemToObject(*out, lua_tostring(L, -2), c);
        lua_pop(L, 1);
        if (e) {
            lua_pop(L, 1);
            return e;
        }
    }
    return NULL;
}

cJSON *ljson_check(lua_State *L, int idx)
{
    cJSON *j;
    const char *e = check_rec(L, idx, 0, &j);
    if (e) {
        /* Copy the message to the stack before freeing: it may live in the tree. */
        lua_pushstring(L, e);
        cJSON_Delete(j);
        nt_raisef(L, NT_EINVAL, "json encode", "%s", lua_tostring(L, -1));
    }
    return j;
}

void ljson_encode(lua_State *L, int idx)
{
    cJSON *j = ljson_check(L, idx);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s)
        nt_raisef(L, NT_LIMIT, "json encode", "out of memory");
    lua_pushstring(L, s);
    cJSON_free(s);
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
        lua_pushfstring(L, "invalid JSON near byte %d", (int)(cJSON_GetErrorPtr() ?
                        cJSON_GetErrorPtr() - s : 0));
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
