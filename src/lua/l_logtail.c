/* l_logtail.c - natrig.core.log_tail: the engine's json-file logs read where the engine
 * writes them (base/tail: inotify, bounded pieces, rotation), decoded in C (core/jsonlog)
 * and fed to each node's store through its sink (l_logstore.c) as the follow stream's
 * pieces are: no Lua string on the way. The scheduler (natrig.sched) waits on the tailer's
 * descriptor beside the engine's and takes its events like an engine's.
 *
 *   tl = core.log_tail()              -- nil, msg when the kernel gives no inotify
 *   id = tl:add(path, sink)           -- nil, msg when the file cannot be read; id < 0
 *   tl:remove(id); tl:count(); tl:busy(); tl:fd(); tl:wait(seconds); tl:close()
 *   evs = tl:take()      -- { {id=, bytes=, read=, woken=, spilled=, seq=, last_time=}, ... }
 *                        -- (also tl:poll(): the scheduler polls it as it polls an engine)
 *   ev = tl:drain(id)    -- the file read to its end now (an exited app: all is there)
 *   tl:info(id)          -- {offset, taken, rotations, truncations, lost, lines, bad}
 */
#include <stdlib.h>
#include <string.h>

#include "base/sig.h"
#include "base/tail.h"
#include "base/xalloc.h"
#include "core/jsonlog.h"
#include "lua/l_logstore.h"

#define TAIL_MT "natrig.LogTail"
/* A file gets at most PIECE bytes a turn and a turn reads at most TURN in all, so a flood
 * on many files is taken in rounds and the scheduler runs between them. A json-file line
 * is at most about 100 KB (the engine cuts a line at 16 KiB of text; escapes grow it 6x). */
#define PIECE (256 * 1024)
#define TURN (4 * 1048576)

struct slot {
    lua_Integer id; /* 0: free */
    struct jsonlog_conv conv;
};

struct ltail {
    struct tail_set *ts;
    struct slot *slots; /* by the tail's index in ts */
    int nslots;
    int next; /* where the next turn starts (round robin) */
    lua_Integer last_id;
    char *rbuf, *obuf;
};

static int tail_is_open(const void *h)
{
    return ((const struct ltail *)h)->ts != NULL;
}

static struct ltail *check_tail(lua_State *L)
{
    return nt_check_open(L, 1, TAIL_MT, tail_is_open, "log tail", "the log tail");
}

static int slot_of(const struct ltail *t, lua_Integer id)
{
    for (int i = 0; i < t->nslots; i++)
        if (t->slots[i].id == id && id != 0)
            return i;
    return -1;
}

/* --- reading ------------------------------------------------------------------------------- */

struct emit_ctx {
    lua_State *L;
    int sink_idx, ev_idx;
};

static void emit(void *ud, int stream, const char *p, size_t n)
{
    struct emit_ctx *c = ud;
    l_logstore_sink_feed(c->L, c->sink_idx, c->ev_idx, stream == JSONLOG_STDERR, p, n);
}

/* One piece of slot i into its store; the event at ev_idx accumulates. Returns the file
 * bytes taken (0: nothing new). Raises when the file cannot be read. */
static size_t piece(lua_State *L, struct ltail *t, int i, int ev_idx)
{
    struct nt_err err = {0};
    struct emit_ctx c = {L, 0, ev_idx};
    int final, top = lua_gettop(L);
    ssize_t r = tail_peek(t->ts, i, t->rbuf, PIECE, &final, &err);
    size_t used;

    if (r < 0) {
        nt_raise(L, &err);
        return 0;
    }
    if (r == 0)
        return 0;
    lua_getiuservalue(L, 1, 1);
    lua_rawgeti(L, -1, i); /* stack: ... sinks sink */
    c.sink_idx = lua_gettop(L);
    used = jsonlog_convert(&t->slots[i].conv, t->rbuf, (size_t)r, final, t->obuf,
                           JSONLOG_OUT_NEED(PIECE), emit, &c);
    if (used == 0 && (size_t)r == PIECE) {
        /* a line longer than any the engine writes: skipped, never read again */
        t->slots[i].conv.bad++;
        used = (size_t)r;
    }
    tail_advance(t->ts, i, used);
    lua_settop(L, top);
    lua_getfield(L, ev_idx, "read");
    lua_pushinteger(L, lua_tointeger(L, -1) + (lua_Integer)used);
    lua_setfield(L, ev_idx, "read");
    lua_pop(L, 1);
    return used;
}

static void new_event(lua_State *L, const struct slot *s)
{
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, s->id);
    lua_setfield(L, -2, "id");
    lua_pushinteger(L, 0);
    lua_setfield(L, -2, "bytes");
}

/* take() -> the events of one turn: each ready file's next piece, from where the last
 * turn stopped. */
static int l_tail_take(lua_State *L)
{
    struct ltail *t = check_tail(L);
    size_t total = 0;
    int n = 0, start = t->next;

    lua_settop(L, 1);
    tail_collect(t->ts);
    lua_newtable(L); /* stack: tl evs */
    for (int k = 0; k < t->nslots && total < TURN; k++) {
        int i = (start + k) % t->nslots;
        if (!tail_ready(t->ts, i))
            continue;
        new_event(L, &t->slots[i]);
        total += piece(L, t, i, lua_gettop(L));
        lua_rawseti(L, 2, ++n);
        t->next = (i + 1) % t->nslots;
    }
    return 1;
}

/* drain(id) -> the event of reading the file to its end now. */
static int l_tail_drain(lua_State *L)
{
    struct ltail *t = check_tail(L);
    int i = slot_of(t, luaL_checkinteger(L, 2));

    lua_settop(L, 2);
    if (i < 0)
        return nt_raisef(L, NT_EINVAL, "log tail", "no file %d is followed",
                         (int)lua_tointeger(L, 2));
    new_event(L, &t->slots[i]);
    tail_mark(t->ts, i);
    while (piece(L, t, i, 3) > 0)
        ;
    return 1;
}

/* --- the set ------------------------------------------------------------------------------- */

static int l_tail_add(lua_State *L)
{
    struct ltail *t = check_tail(L);
    const char *path = luaL_checkstring(L, 2);
    struct nt_err err = {0};
    int i;

    luaL_argexpected(L, l_logstore_is_sink(L, 3), 3, "log sink");
    i = tail_add(t->ts, path, &err);
    if (i < 0) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    if (i >= t->nslots) {
        int n = i + 16;
        t->slots = xrealloc(t->slots, (size_t)n * sizeof *t->slots);
        memset(t->slots + t->nslots, 0, (size_t)(n - t->nslots) * sizeof *t->slots);
        t->nslots = n;
    }
    memset(&t->slots[i], 0, sizeof t->slots[i]);
    t->slots[i].id = --t->last_id; /* negative: never an engine request's id */
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 3);
    lua_rawseti(L, -2, i);
    lua_pushinteger(L, t->slots[i].id);
    return 1;
}

static int l_tail_remove(lua_State *L)
{
    struct ltail *t = check_tail(L);
    int i = slot_of(t, luaL_checkinteger(L, 2));

    if (i < 0)
        return 0;
    tail_remove(t->ts, i);
    t->slots[i].id = 0;
    lua_getiuservalue(L, 1, 1);
    lua_pushnil(L);
    lua_rawseti(L, -2, i);
    return 0;
}

static int l_tail_info(lua_State *L)
{
    struct ltail *t = check_tail(L);
    int i = slot_of(t, luaL_checkinteger(L, 2));
    struct tail_info ti;

    if (i < 0)
        return 0;
    tail_info(t->ts, i, &ti);
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, (lua_Integer)ti.offset);
    lua_setfield(L, -2, "offset");
    lua_pushinteger(L, (lua_Integer)ti.taken);
    lua_setfield(L, -2, "taken");
    lua_pushinteger(L, ti.rotations);
    lua_setfield(L, -2, "rotations");
    lua_pushinteger(L, ti.truncations);
    lua_setfield(L, -2, "truncations");
    lua_pushinteger(L, ti.lost);
    lua_setfield(L, -2, "lost");
    lua_pushinteger(L, (lua_Integer)t->slots[i].conv.lines);
    lua_setfield(L, -2, "lines");
    lua_pushinteger(L, (lua_Integer)t->slots[i].conv.bad);
    lua_setfield(L, -2, "bad");
    return 1;
}

static int l_tail_count(lua_State *L)
{
    lua_pushinteger(L, tail_count(check_tail(L)->ts));
    return 1;
}

static int l_tail_busy(lua_State *L)
{
    lua_pushboolean(L, tail_next_ready(check_tail(L)->ts, 0) >= 0);
    return 1;
}

static int l_tail_fd(lua_State *L)
{
    lua_pushinteger(L, tail_set_fd(check_tail(L)->ts));
    return 1;
}

/* wait(seconds): until a followed file may have grown, the time passed or a signal came;
 * at once when a file is ready already. */
static int l_tail_wait(lua_State *L)
{
    struct ltail *t = check_tail(L);
    double s = luaL_checknumber(L, 2);
    long left = (long)(s * 1000.0);

    while (tail_next_ready(t->ts, 0) < 0 && left > 0 && !nt_should_stop()) {
        int ms = left < 100 ? (int)left : 100; /* a signal reaches the hook within 100 ms */
        if (tail_wait(t->ts, ms) != 0)
            break;
        left -= ms;
    }
    return 0;
}

static int l_tail_close(lua_State *L)
{
    struct ltail *t = luaL_checkudata(L, 1, TAIL_MT);

    tail_set_free(t->ts);
    t->ts = NULL;
    free(t->slots);
    free(t->rbuf);
    free(t->obuf);
    t->slots = NULL;
    t->rbuf = t->obuf = NULL;
    t->nslots = 0;
    return 0;
}

static int l_tail_tostring(lua_State *L)
{
    struct ltail *t = luaL_checkudata(L, 1, TAIL_MT);

    if (t->ts)
        lua_pushfstring(L, "natrig.LogTail(%d files)", tail_count(t->ts));
    else
        lua_pushliteral(L, "natrig.LogTail(closed)");
    return 1;
}

static int l_log_tail(lua_State *L)
{
    struct nt_err err = {0};
    struct ltail *t = lua_newuserdatauv(L, sizeof *t, 1);

    memset(t, 0, sizeof *t);
    luaL_setmetatable(L, TAIL_MT);
    lua_newtable(L); /* the sinks, by the tail's index */
    lua_setiuservalue(L, -2, 1);
    t->ts = tail_set_new(&err);
    if (!t->ts) {
        lua_pushnil(L);
        lua_pushstring(L, err.msg);
        return 2;
    }
    t->rbuf = xmalloc(PIECE);
    t->obuf = xmalloc(JSONLOG_OUT_NEED(PIECE));
    return 1;
}

void l_logtail_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"add", l_tail_add},
        {"remove", l_tail_remove},
        {"take", l_tail_take},
        {"poll", l_tail_take}, /* the scheduler polls it as it polls an engine */
        {"drain", l_tail_drain},
        {"info", l_tail_info},
        {"count", l_tail_count},
        {"busy", l_tail_busy},
        {"fd", l_tail_fd},
        {"wait", l_tail_wait},
        {"close", l_tail_close},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", l_tail_close},
        {"__close", l_tail_close},
        {"__tostring", l_tail_tostring},
        {NULL, NULL},
    };

    /* stack: module */
    luaL_newmetatable(L, TAIL_MT);
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_log_tail);
    lua_setfield(L, -2, "log_tail");
}
