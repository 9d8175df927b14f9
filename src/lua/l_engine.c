/* l_engine.c - natrig.Engine: the Engine client as a Lua handle. Requests are submitted
 * (returning an id at once) and completions collected with poll(); the scheduler in
 * lua/natrig/task.lua turns that into sequential-looking coroutines. */
#include <stdlib.h>
#include <string.h>

#include "base/sig.h"
#include "engine/attach.h"
#include "engine/engine.h"
#include "engine/ops.h"
#include "lua/l_aux.h"
#include "lua/l_logstore.h"

#define MAX_PARAMS 16

/* A finalizer (natrig.engine's Engine.__gc) may close this handle from inside any call that
 * allocates, i.e. between check_engine and the C call, or inside poll's callbacks. So calls
 * take the engine with live() after their last allocation, and a close during poll waits
 * until poll is out of the engine (seen: a segfault when a network dropped without down()
 * was collected while another's scheduler polled). */
struct l_engine {
    struct engine *e;
    int polling;     /* inside engine_poll_wake */
    int close_later; /* closed meanwhile: close once poll returns */
};

static int engine_is_open(const void *h)
{
    const struct l_engine *le = h;
    return le->e != NULL && !le->close_later;
}

static struct l_engine *check_engine(lua_State *L, int idx)
{
    return nt_check_open(L, idx, NT_ENGINE_MT, engine_is_open, "engine", "the engine connection");
}

/* the engine of a handle checked earlier, after the caller's last allocation */
static struct engine *live(lua_State *L, struct l_engine *le)
{
    if (!engine_is_open(le))
        nt_raisef(L, NT_EINVAL, "engine", "the engine connection was closed during the call");
    return le->e;
}

static void close_now(struct l_engine *le)
{
    engine_close(le->e);
    le->e = NULL;
    le->close_later = 0;
}

/* natrig.core.engine_open([host]) -> Engine */
static int l_engine_new(lua_State *L)
{
    const char *host = luaL_optstring(L, 1, NULL);
    struct nt_err err = {0};
    /* Create the userdata closed first, then acquire (a raise leaks nothing). */
    struct l_engine *le = lua_newuserdatauv(L, sizeof *le, 1);
    le->e = NULL;
    le->polling = le->close_later = 0;
    luaL_setmetatable(L, NT_ENGINE_MT);
    lua_newtable(L); /* request id -> log sink (raw:sink) */
    lua_setiuservalue(L, -2, 1);
    le->e = engine_open(host, &err);
    if (!le->e)
        return nt_raise(L, &err);
    return 1;
}

static int l_engine_close(lua_State *L)
{
    struct l_engine *le = luaL_checkudata(L, 1, NT_ENGINE_MT);
    if (le->polling)
        le->close_later = le->e != NULL;
    else
        close_now(le);
    return 0;
}

static int l_engine_tostring(lua_State *L)
{
    struct l_engine *le = luaL_checkudata(L, 1, NT_ENGINE_MT);
    if (engine_is_open(le))
        lua_pushfstring(L, "natrig.Engine (%s, API %s)", engine_host(le->e),
                        engine_api_version(le->e));
    else
        lua_pushliteral(L, "natrig.Engine (closed)");
    return 1;
}

static int l_engine_info(lua_State *L)
{
    struct l_engine *le = check_engine(L, 1);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, engine_host(live(L, le)));
    lua_setfield(L, -2, "host");
    lua_pushstring(L, engine_api_version(live(L, le)));
    lua_setfield(L, -2, "api_version");
    lua_pushstring(L, engine_version(live(L, le)));
    lua_setfield(L, -2, "engine_version");
    lua_pushinteger(L, engine_pending(live(L, le)));
    lua_setfield(L, -2, "pending");
    return 1;
}

static int mode_from(lua_State *L, const char *s)
{
    static const char *const names[] = {"buffer", "demux", "stream", "lines", NULL};
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return nt_raisef(L, NT_EINVAL, "engine submit",
                     "unknown mode '%s' (valid: buffer, demux, stream, lines)", s);
}

/* Push a string form of the value at idx for a query parameter; tables become JSON
 * (the engine's "filters" parameter is JSON). */
static const char *param_string(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN:
        lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TTABLE:
        ljson_encode(L, idx);
        break;
    case LUA_TNUMBER:
    case LUA_TSTRING:
        lua_pushstring(L, lua_tostring(L, idx));
        break;
    default:
        nt_raisef(L, NT_EINVAL, "engine submit", "parameter of type %s", luaL_typename(L, idx));
    }
    return lua_tostring(L, -1);
}

/* engine:submit(op, [params], [body], [opts]) -> id, drain (the op table's: an abort lets it
 * finish) op: a name from the op table; params: {id=, key=value...}; body: string or table (JSON);
 * opts: {mode="buffer"|"demux"|"stream"|"lines", timeout=seconds, body_file=host path sent
 * as the body, read as it goes} */
static int l_engine_submit(lua_State *L)
{
    static const char *const opt_names[] = {"mode", "timeout", "body_file", NULL};
    struct l_engine *le = check_engine(L, 1);
    const char *name = luaL_checkstring(L, 2);
    const struct engine_op *op = engine_op_find(name);
    const char *keys[MAX_PARAMS], *vals[MAX_PARAMS];
    size_t n = 0, body_len = 0;
    const char *body = NULL;
    int mode = -1;
    long timeout_ms = -1;
    const char *body_file = NULL;
    struct nt_err err = {0};
    int id;

    if (!op)
        return nt_raisef(L, NT_EINVAL, "engine submit", "unknown engine operation '%s'", name);
    l_check_options(L, 5, name, opt_names);
    lua_settop(L, 5);
    if (!lua_isnil(L, 5)) {
        lua_getfield(L, 5, "mode");
        if (!lua_isnil(L, -1))
            mode = mode_from(L, luaL_checkstring(L, -1));
        lua_getfield(L, 5, "timeout");
        if (!lua_isnil(L, -1))
            timeout_ms = (long)(luaL_checknumber(L, -1) * 1000.0);
        lua_pop(L, 2);
        /* kept alive by opts (argument 5) until the call returns: the file is opened here */
        lua_getfield(L, 5, "body_file");
        if (!lua_isnil(L, -1))
            body_file = luaL_checkstring(L, -1);
        lua_pop(L, 1);
    }
    /* stack: eng op params body opts */
    if (lua_istable(L, 4)) {
        ljson_encode(L, 4);
        lua_replace(L, 4);
    }
    if (!lua_isnil(L, 4))
        body = luaL_checklstring(L, 4, &body_len);
    if (!lua_isnil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        /* Converted values are kept alive in a table of their own; keys stay alive in
         * params itself (Lua never moves strings). */
        lua_newtable(L);
        int keep = lua_gettop(L);
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            /* stack: ... keep key value */
            if (n == MAX_PARAMS)
                return nt_raisef(L, NT_EINVAL, name, "too many parameters");
            if (lua_type(L, -2) != LUA_TSTRING)
                return nt_raisef(L, NT_EINVAL, name, "parameter names must be strings");
            keys[n] = lua_tostring(L, -2);
            vals[n] = param_string(L, -1);
            lua_rawseti(L, keep, (lua_Integer)n + 1);
            lua_pop(L, 1);
            n++;
        }
    }
    if (body_file && body)
        return nt_raisef(L, NT_EINVAL, name, "a body and a body_file: give one");
    id = engine_op_submit(live(L, le), op, keys, vals, n, body, body_len, body_file, mode,
                          timeout_ms, &err);
    if (id < 0)
        return nt_raise(L, &err);
    lua_pushinteger(L, id);
    lua_pushboolean(L, op->drain);
    return 2;
}

struct poll_ctx {
    lua_State *L;
    int tidx;
    int sinks; /* the request id -> sink table */
    int n;
};

static void push_buf(lua_State *L, const struct buf *b, const char *field)
{
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    lua_setfield(L, -2, field);
}

static void poll_cb(void *ud, const struct engine_event *ev)
{
    struct poll_ctx *c = ud;
    lua_State *L = c->L;

    lua_createtable(L, 0, 7);
    lua_pushinteger(L, ev->id);
    lua_setfield(L, -2, "id");
    lua_pushboolean(L, ev->done);
    lua_setfield(L, -2, "done");
    lua_pushinteger(L, ev->status);
    lua_setfield(L, -2, "status");
    push_buf(L, &ev->body, "body");
    lua_rawgeti(L, c->sinks, ev->id);
    if (l_logstore_is_sink(L, -1)) {
        /* A log stream: its pieces go to the store here, never into Lua strings. Should a
         * raise leave this batch to be delivered again, the store drops the lines it has
         * (a repeat after a re-attach). */
        l_logstore_sink_take(L, -1, -2, ev->out.data, ev->out.len, ev->errout.data, ev->errout.len);
        lua_pop(L, 1);
        lua_pushliteral(L, "");
        lua_setfield(L, -2, "out");
        lua_pushliteral(L, "");
        lua_setfield(L, -2, "err");
        if (ev->done) {
            lua_pushnil(L);
            lua_rawseti(L, c->sinks, ev->id);
        }
    } else {
        lua_pop(L, 1);
        push_buf(L, &ev->out, "out");
        push_buf(L, &ev->errout, "err");
    }
    if (ev->error) {
        lua_pushstring(L, ev->error);
        lua_setfield(L, -2, "error");
    }
    lua_rawseti(L, c->tidx, ++c->n);
}

/* engine:poll(timeout_seconds [, wake_fd]) -> { events }, interrupted; the wait also ends
 * when wake_fd is readable (the log tailer's) */
static int l_engine_poll(lua_State *L)
{
    struct l_engine *le = check_engine(L, 1);
    double t = luaL_optnumber(L, 2, 0);
    int wake_fd = (int)luaL_optinteger(L, 3, -1);
    struct poll_ctx c = {L, 0, 0, 0};
    int rc;

    lua_getiuservalue(L, 1, 1);
    c.sinks = lua_gettop(L);
    lua_newtable(L);
    c.tidx = lua_gettop(L);
    if (!engine_is_open(le)) { /* closed by a finalizer just now: nothing left to poll */
        lua_pushboolean(L, 0);
        return 2;
    }
    le->polling = 1;
    rc = engine_poll_wake(le->e, (long)(t * 1000.0), wake_fd, poll_cb, &c);
    le->polling = 0;
    if (le->close_later)
        close_now(le);
    /* A signal ends the wait early; the scheduler asks core.interrupted() and raises
     * there, so the flag stays set for it. */
    lua_pushboolean(L, rc < 0);
    return 2;
}

static int l_engine_cancel(lua_State *L)
{
    struct l_engine *le = check_engine(L, 1);
    int id = (int)luaL_checkinteger(L, 2);
    engine_cancel(live(L, le), id);
    lua_getiuservalue(L, 1, 1);
    lua_pushnil(L);
    lua_rawseti(L, -2, id);
    return 0;
}

/* engine:sink(id, sink): the stream pieces of request id go to sink (natrig.core.log_store's
 * st:sink or core.count_sink) inside poll; its events then carry the sink's figures
 * (bytes, woken, spilled, seq, last_time) and empty out/err. */
static int l_engine_sink(lua_State *L)
{
    check_engine(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    luaL_argexpected(L, l_logstore_is_sink(L, 3), 3, "log sink");
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 3);
    lua_rawseti(L, -2, id);
    return 0;
}

static int l_engine_pending(lua_State *L)
{
    struct l_engine *le = check_engine(L, 1);
    lua_pushinteger(L, engine_pending(le->e));
    return 1;
}

/* engine:ops() -> { name = {method=, path=, query=} } for documentation and the REPL */
static int l_engine_ops(lua_State *L)
{
    lua_newtable(L);
    for (const struct engine_op *op = engine_op_table(); op->name; op++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, op->method);
        lua_setfield(L, -2, "method");
        lua_pushstring(L, op->path);
        lua_setfield(L, -2, "path");
        lua_pushstring(L, op->query);
        lua_setfield(L, -2, "query");
        lua_setfield(L, -2, op->name);
    }
    return 1;
}

/* engine:exec_attach(exec_id, tty, stdin) -> true: start the exec on this process's
 * stdin/stdout/stderr and block until it ends (natrig exec; engine/attach.h). */
static int l_engine_exec_attach(lua_State *L)
{
    struct l_engine *le = check_engine(L, 1);
    const char *id = luaL_checkstring(L, 2);
    struct engine_attach a = {lua_toboolean(L, 3), lua_toboolean(L, 4) ? 0 : -1, 1, 2};
    struct nt_err err = {0};
    fflush(stdout);
    if (engine_exec_attach(live(L, le), id, &a, &err))
        return nt_raise(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg engine_methods[] = {
    {"submit", l_engine_submit},
    {"poll", l_engine_poll},
    {"cancel", l_engine_cancel},
    {"sink", l_engine_sink},
    {"pending", l_engine_pending},
    {"info", l_engine_info},
    {"close", l_engine_close},
    {"ops", l_engine_ops},
    {"exec_attach", l_engine_exec_attach},
    {NULL, NULL},
};

static const luaL_Reg engine_meta[] = {
    {"__gc", l_engine_close},
    {"__close", l_engine_close},
    {"__tostring", l_engine_tostring},
    {NULL, NULL},
};

void l_engine_open(lua_State *L)
{
    /* stack: mod */
    luaL_newmetatable(L, NT_ENGINE_MT);
    luaL_setfuncs(L, engine_meta, 0);
    luaL_newlib(L, engine_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_engine_new);
    lua_setfield(L, -2, "engine_open");
    /* The API versions natrig speaks, for messages (one source: engine.h). */
    lua_pushstring(L, ENGINE_API_MIN);
    lua_setfield(L, -2, "api_min");
    lua_pushstring(L, ENGINE_API_MAX);
    lua_setfield(L, -2, "api_max");
}
