/* l_logstore.c - natrig.core.log_store: a node's log kept in C (core/logstore), queried in
 * C (core/logquery). Lua feeds it the engine's stream pieces and gets entry tables only for
 * what a query or a wait returns; waits are matched in C as entries arrive. The store
 * writes the node's raw log (<node>.log) and its spill (<node>.spill, whole records, read
 * back by queries) itself.
 *
 *   st = core.log_store(node_name, spill_path, disk_path)   -- paths may be nil
 *   f = st:feeder(stream_name)         -- a stream's splitter (its own partial line)
 *   woken, spilled, seq, last_time = st:feed(f, piece, engine_prefix, budget)
 *       -- woken: {wid = entry} for the waits this piece satisfied, or nil
 *   woken, spilled, seq, last_time = st:flush(f, engine_prefix, budget)
 *   list = st:query(q [, limit])      -- q as node:logs takes it, already checked
 *   wid = st:wait_add(q); st:wait_remove(wid)
 *   n, woken, spilled, seq = st:feed_file(f, path, offset, max, budget)
 *       -- up to max bytes of a log file from offset (no engine prefix); n: bytes read
 *   st:text(), st:last_lines(n), st:stats(), #st (entries in memory), st:close()
 *   w = core.inotify(dir)              -- nil, msg when inotify is not there
 *   w:changed()                        -- whether files were written since the last call
 *   k = st:sink(out_feeder, err_feeder, budget); k:budget(n); core.count_sink()
 *       -- an engine log stream fed in C (raw:sink in l_engine.c; see below)
 */
#include "lua/l_logstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fdio.h"
#include "base/xalloc.h"

static int store_is_open(const void *h)
{
    return ((const struct lstore *)h)->st != NULL;
}

struct lstore *l_logstore_check(lua_State *L)
{
    return nt_check_open(L, 1, STORE_MT, store_is_open, "log store", "the log store");
}

/* --- files --------------------------------------------------------------------------------- */

static void mkdir_parent(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);

    if (n >= sizeof tmp)
        return;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        (void)mkdir(tmp, 0755);
        *p = '/';
    }
}

static int open_append(const char *path, int trunc)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (trunc ? O_TRUNC : O_APPEND);

    int fd = open(path, flags, 0644);

    if (fd < 0 && errno == ENOENT) {
        mkdir_parent(path);
        fd = open(path, flags, 0644);
    }
    return fd;
}

/* A failed write is cut off again, so the spill's chunks stay where the store counts them. */
static int hook_spill(void *ud, const char *p, size_t n)
{
    struct lstore *s = ud;
    off_t at;

    if (!s->spill_path)
        return -1;
    if (s->spill_fd < 0) {
        s->spill_fd = open_append(s->spill_path, 1);
        if (s->spill_fd < 0)
            return -1;
    }
    at = lseek(s->spill_fd, 0, SEEK_END);
    if (at < 0)
        return -1;
    if (nt_write_all(s->spill_fd, p, n) == 0)
        return 0;
    (void)ftruncate(s->spill_fd, at);
    return -1;
}

static void hook_disk(void *ud, const char *p, size_t n)
{
    struct lstore *s = ud;

    if (!s->disk_path || s->disk_failed)
        return;
    if (s->disk_fd < 0) {
        s->disk_fd = open_append(s->disk_path, 0);
        if (s->disk_fd < 0) {
            s->disk_failed = 1;
            return;
        }
    }
    (void)nt_write_all(s->disk_fd, p, n);
}

/* --- ingest and waits ---------------------------------------------------------------------- */

static void hook_entry(void *ud, struct logstore *st, size_t off, int grown)
{
    struct lstore *s = ud;
    struct logstore_view v;
    size_t len;
    const char *mem = logstore_mem(st, &len);

    (void)grown;
    if (!s->L || s->nwaiters == 0 || !logstore_rec_at(mem + off, len - off, &v))
        return;
    for (int i = 0; i < s->nwaiters;) {
        struct waiter w = s->waiters[i];
        if (!l_logquery_test(s->L, s, w.q, &v)) {
            i++;
            continue;
        }
        if (s->woken_idx == 0) {
            lua_newtable(s->L);
            s->woken_idx = lua_gettop(s->L);
        }
        l_logquery_push_entry(s->L, s, &v);
        lua_rawseti(s->L, s->woken_idx, w.id);
        s->waiters[i] = s->waiters[--s->nwaiters]; /* matched once, then gone */
    }
}

static int feed_result(lua_State *L, struct lstore *s)
{
    struct logstore_stats stats;

    logstore_stats(s->st, &stats);
    if (s->woken_idx)
        lua_pushvalue(L, s->woken_idx);
    else
        lua_pushnil(L);
    lua_pushinteger(L, stats.spilled);
    lua_pushinteger(L, stats.seq);
    if (stats.last_ts_ns >= 0)
        lua_pushnumber(L, (double)stats.last_ts_ns / 1e9);
    else
        lua_pushnil(L);
    s->L = NULL;
    s->woken_idx = 0;
    return 4;
}

/* feed_result's four values into the event table at ev_idx (a sink's feed: woken, spilled,
 * seq, last_time), popped again. */
static void feed_result_into(lua_State *L, struct lstore *s, int ev_idx)
{
    feed_result(L, s);
    lua_setfield(L, ev_idx, "last_time");
    lua_setfield(L, ev_idx, "seq");
    lua_setfield(L, ev_idx, "spilled");
    lua_setfield(L, ev_idx, "woken");
}

static int l_store_feed(lua_State *L)
{
    struct lstore *s = l_logstore_check(L);
    struct feeder *f = luaL_checkudata(L, 2, FEEDER_MT);
    size_t n;
    const char *p = luaL_checklstring(L, 3, &n);
    int prefix = lua_toboolean(L, 4);
    size_t budget = (size_t)luaL_checkinteger(L, 5);

    lua_settop(L, 5);
    s->L = L;
    s->woken_idx = 0;
    logstore_feed(s->st, f->sid, &f->pend, p, n, prefix, budget);
    return feed_result(L, s);
}

static int l_store_flush(lua_State *L)
{
    struct lstore *s = l_logstore_check(L);
    struct feeder *f = luaL_checkudata(L, 2, FEEDER_MT);
    int prefix = lua_toboolean(L, 3);
    size_t budget = (size_t)luaL_checkinteger(L, 4);

    lua_settop(L, 4);
    s->L = L;
    s->woken_idx = 0;
    logstore_flush(s->st, f->sid, &f->pend, prefix, budget);
    return feed_result(L, s);
}

/* feed_file(f, path, offset, max, budget): a log file's next piece, read here so the bytes
 * go from the file to the index without a Lua string. */
static int l_store_feed_file(lua_State *L)
{
    struct lstore *s = l_logstore_check(L);
    struct feeder *f = luaL_checkudata(L, 2, FEEDER_MT);
    const char *path = luaL_checkstring(L, 3);
    lua_Integer off = luaL_checkinteger(L, 4), max = luaL_checkinteger(L, 5);
    size_t budget = (size_t)luaL_checkinteger(L, 6), got = 0;
    int fd;

    luaL_argcheck(L, off >= 0, 4, "negative offset");
    luaL_argcheck(L, max > 0 && max <= (1 << 26), 5, "a piece of 1 byte to 64 MiB");
    lua_settop(L, 6);
    if ((size_t)max > s->filebuf_cap) {
        s->filebuf = xrealloc(s->filebuf, (size_t)max);
        s->filebuf_cap = (size_t)max;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        while (got < (size_t)max) {
            ssize_t r = pread(fd, s->filebuf + got, (size_t)max - got, (off_t)off + (off_t)got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        close(fd);
    }
    s->L = L;
    s->woken_idx = 0;
    if (got)
        logstore_feed(s->st, f->sid, &f->pend, s->filebuf, got, 0, budget);
    feed_result(L, s);
    lua_pushinteger(L, (lua_Integer)got);
    lua_insert(L, -5);
    /* stack: ... got woken spilled seq last_time */
    return 5;
}

/* --- sinks: an engine stream's bytes to the store without Lua strings ----------------------- */

/* st:sink(out_feeder, err_feeder, budget) -> sink; raw:sink(request_id, sink) (l_engine.c)
 * hands it a log stream's demuxed pieces inside engine:poll, so they go from the socket
 * to the index in C and the event Lua sees carries only what the pieces did (bytes, the
 * waits they satisfied, counters). core.count_sink(): counts the bytes, keeps nothing (a
 * benchmark's floor). sink:budget(n) changes the budget (nodes added to the run). */
struct sink {
    size_t budget;
    int counting; /* count_sink: no store */
};

static int l_store_sink(lua_State *L)
{
    struct sink *k;

    l_logstore_check(L);
    luaL_checkudata(L, 2, FEEDER_MT);
    luaL_checkudata(L, 3, FEEDER_MT);
    lua_Integer budget = luaL_checkinteger(L, 4);
    luaL_argcheck(L, budget > 0, 4, "a budget of at least 1 byte");
    k = lua_newuserdatauv(L, sizeof *k, 3);
    k->budget = (size_t)budget;
    k->counting = 0;
    for (int i = 1; i <= 3; i++) {
        lua_pushvalue(L, i);
        lua_setiuservalue(L, -2, i);
    }
    luaL_setmetatable(L, SINK_MT);
    return 1;
}

static int l_count_sink(lua_State *L)
{
    struct sink *k = lua_newuserdatauv(L, sizeof *k, 3);
    k->budget = 0;
    k->counting = 1;
    luaL_setmetatable(L, SINK_MT);
    return 1;
}

static int l_sink_budget(lua_State *L)
{
    struct sink *k = luaL_checkudata(L, 1, SINK_MT);
    lua_Integer budget = luaL_checkinteger(L, 2);
    luaL_argcheck(L, budget > 0, 2, "a budget of at least 1 byte");
    k->budget = (size_t)budget;
    return 0;
}

int l_logstore_is_sink(lua_State *L, int idx)
{
    return luaL_testudata(L, idx, SINK_MT) != NULL;
}

void l_logstore_sink_take(lua_State *L, int sink_idx, int ev_idx, const char *out, size_t out_n,
                          const char *err, size_t err_n)
{
    struct sink *k = luaL_checkudata(L, sink_idx, SINK_MT);
    struct lstore *s;
    struct feeder *fo, *fe;
    int top = lua_gettop(L);

    /* Called inside engine:poll's C function, whose stack also holds the events: room for
     * the woken entries being built (st:feed had a call frame of its own). */
    luaL_checkstack(L, 48, "feeding a log sink");
    sink_idx = lua_absindex(L, sink_idx);
    ev_idx = lua_absindex(L, ev_idx);
    lua_pushinteger(L, (lua_Integer)(out_n + err_n));
    lua_setfield(L, ev_idx, "bytes");
    if (k->counting)
        return;
    lua_getiuservalue(L, sink_idx, 1);
    s = luaL_checkudata(L, -1, STORE_MT);
    lua_getiuservalue(L, sink_idx, 2);
    fo = luaL_checkudata(L, -1, FEEDER_MT);
    lua_getiuservalue(L, sink_idx, 3);
    fe = luaL_checkudata(L, -1, FEEDER_MT);
    if (!s->st) { /* the node's store was closed (teardown): the bytes have nowhere to go */
        lua_settop(L, top);
        return;
    }
    s->L = L;
    s->woken_idx = 0;
    if (out_n)
        logstore_feed(s->st, fo->sid, &fo->pend, out, out_n, 1, k->budget);
    if (err_n)
        logstore_feed(s->st, fe->sid, &fe->pend, err, err_n, 1, k->budget);
    feed_result_into(L, s, ev_idx);
    lua_settop(L, top);
}

/* One stream's run of prefixed lines (a json-file log converted in C, l_logtail.c) into
 * the sink's store; the event table at ev_idx accumulates what the runs did: bytes, woken
 * (merged), spilled, seq, last_time. */
void l_logstore_sink_feed(lua_State *L, int sink_idx, int ev_idx, int is_err, const char *p,
                          size_t n)
{
    struct sink *k = luaL_checkudata(L, sink_idx, SINK_MT);
    struct lstore *s;
    struct feeder *f;
    int top = lua_gettop(L);

    luaL_checkstack(L, 48, "feeding a log sink");
    sink_idx = lua_absindex(L, sink_idx);
    ev_idx = lua_absindex(L, ev_idx);
    lua_getfield(L, ev_idx, "bytes");
    lua_pushinteger(L, lua_tointeger(L, -1) + (lua_Integer)n);
    lua_setfield(L, ev_idx, "bytes");
    lua_settop(L, top);
    if (k->counting)
        return;
    lua_getiuservalue(L, sink_idx, 1);
    s = luaL_checkudata(L, -1, STORE_MT);
    lua_getiuservalue(L, sink_idx, is_err ? 3 : 2);
    f = luaL_checkudata(L, -1, FEEDER_MT);
    if (!s->st) {
        lua_settop(L, top);
        return;
    }
    lua_getfield(L, ev_idx, "woken"); /* the waits earlier runs woke, added to */
    s->L = L;
    s->woken_idx = lua_istable(L, -1) ? lua_gettop(L) : 0;
    logstore_feed(s->st, f->sid, &f->pend, p, n, 1, k->budget);
    feed_result_into(L, s, ev_idx);
    lua_settop(L, top);
}

static int l_feeder_gc(lua_State *L)
{
    struct feeder *f = luaL_checkudata(L, 1, FEEDER_MT);
    logstore_pending_free(&f->pend);
    return 0;
}

static int l_store_wait_add(lua_State *L)
{
    struct lstore *s = l_logstore_check(L);
    struct logquery *q;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    q = l_logquery_compile(L, s, 2);
    /* stack: st q cq */
    if (s->nwaiters == s->cap_waiters) {
        int cap = s->cap_waiters ? 2 * s->cap_waiters : 8;
        s->waiters = xrealloc(s->waiters, (size_t)cap * sizeof *s->waiters);
        s->cap_waiters = cap;
    }
    s->next_id++;
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 3);
    lua_rawseti(L, -2, s->next_id);
    s->waiters[s->nwaiters].id = s->next_id;
    s->waiters[s->nwaiters].q = q;
    s->nwaiters++;
    lua_pushinteger(L, s->next_id);
    return 1;
}

static int l_store_wait_remove(lua_State *L)
{
    struct lstore *s = l_logstore_check(L);
    int id = (int)luaL_checkinteger(L, 2);

    for (int i = 0; i < s->nwaiters; i++) {
        if (s->waiters[i].id == id) {
            s->waiters[i] = s->waiters[--s->nwaiters];
            break;
        }
    }
    lua_getiuservalue(L, 1, 1);
    lua_pushnil(L);
    lua_rawseti(L, -2, id);
    return 0;
}

static int l_store_stats(lua_State *L)
{
    struct lstore *s = l_logstore_check(L);
    struct logstore_stats st;

    logstore_stats(s->st, &st);
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, st.seq);
    lua_setfield(L, -2, "seq");
    lua_pushinteger(L, st.spilled);
    lua_setfield(L, -2, "spilled");
    lua_pushinteger(L, st.in_memory);
    lua_setfield(L, -2, "in_memory");
    lua_pushinteger(L, (lua_Integer)st.mem_bytes);
    lua_setfield(L, -2, "mem_bytes");
    lua_pushinteger(L, (lua_Integer)st.spill_bytes);
    lua_setfield(L, -2, "spill_bytes");
    if (st.last_ts_ns >= 0) {
        lua_pushnumber(L, (double)st.last_ts_ns / 1e9);
        lua_setfield(L, -2, "last_time");
    }
    if (st.resume_ts_ns >= 0) {
        lua_pushnumber(L, (double)st.resume_ts_ns / 1e9);
        lua_setfield(L, -2, "resume_time");
    }
    return 1;
}

static int l_store_feeder(lua_State *L)
{
    struct lstore *s = l_logstore_check(L);
    size_t n;
    const char *name = luaL_checklstring(L, 2, &n);
    int id = logstore_stream(s->st, name, n);
    struct feeder *f;

    if (id < 0)
        return nt_raisef(L, NT_LIMIT, "log store", "%s: more than %d log streams", s->node,
                         LOGSTORE_STREAMS);
    f = lua_newuserdatauv(L, sizeof *f, 0);
    memset(f, 0, sizeof *f);
    f->sid = id;
    luaL_setmetatable(L, FEEDER_MT);
    return 1;
}

static int l_store_len(lua_State *L)
{
    struct lstore *s = luaL_checkudata(L, 1, STORE_MT);
    struct logstore_stats st;

    if (!s->st) {
        lua_pushinteger(L, 0);
        return 1;
    }
    logstore_stats(s->st, &st);
    lua_pushinteger(L, st.in_memory);
    return 1;
}

static void store_close(struct lstore *s)
{
    logstore_free(s->st);
    s->st = NULL;
    if (s->spill_fd >= 0)
        close(s->spill_fd);
    if (s->disk_fd >= 0)
        close(s->disk_fd);
    s->spill_fd = s->disk_fd = -1;
    free(s->waiters);
    free(s->scratch);
    free(s->filebuf);
    free(s->node);
    free(s->spill_path);
    free(s->disk_path);
    s->waiters = NULL;
    s->scratch = s->filebuf = s->node = s->spill_path = s->disk_path = NULL;
    s->filebuf_cap = 0;
    s->nwaiters = 0;
}

static int l_store_close(lua_State *L)
{
    store_close(luaL_checkudata(L, 1, STORE_MT));
    return 0;
}

static int l_store_tostring(lua_State *L)
{
    struct lstore *s = luaL_checkudata(L, 1, STORE_MT);

    lua_pushfstring(L, "natrig.LogStore(%s%s)", s->node ? s->node : "", s->st ? "" : ", closed");
    return 1;
}

static char *opt_dup(lua_State *L, int idx)
{
    const char *p = luaL_optstring(L, idx, NULL);
    return p ? xstrdup(p) : NULL;
}

/* log_store(node_name, spill_path, disk_path) */
static int l_log_store(lua_State *L)
{
    struct lstore *s;
    struct logstore_hooks hooks;

    luaL_checkstring(L, 1);
    luaL_optstring(L, 2, NULL);
    luaL_optstring(L, 3, NULL);
    s = lua_newuserdatauv(L, sizeof *s, 1);
    memset(s, 0, sizeof *s);
    s->spill_fd = s->disk_fd = -1;
    luaL_setmetatable(L, STORE_MT);
    lua_newtable(L); /* the waiters' compiled queries, by id */
    lua_setiuservalue(L, -2, 1);
    s->node = xstrdup(lua_tostring(L, 1));
    s->spill_path = opt_dup(L, 2);
    s->disk_path = opt_dup(L, 3);
    hooks.ud = s;
    hooks.on_entry = hook_entry;
    hooks.on_spill = hook_spill;
    hooks.on_disk = hook_disk;
    s->st = logstore_new(&hooks);
    return 1;
}

/* --- inotify: a log directory's writes ------------------------------------------------------ */

#define INOTIFY_MT "natrig.Inotify"

struct inot {
    int fd;
};

static int l_inotify_close(lua_State *L)
{
    struct inot *w = luaL_checkudata(L, 1, INOTIFY_MT);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    return 0;
}

/* w:changed(): drains the events; true when a file was created, written or moved in. */
static int inot_is_open(const void *h)
{
    return ((const struct inot *)h)->fd >= 0;
}

static int l_inotify_changed(lua_State *L)
{
    struct inot *w = nt_check_open(L, 1, INOTIFY_MT, inot_is_open, "inotify", "the watch");
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    int any = 0;

    for (;;) {
        ssize_t r = read(w->fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        any = 1;
    }
    lua_pushboolean(L, any);
    return 1;
}

/* inotify(dir) -> watch, or nil and a message when the kernel gives none (then poll). */
static int l_inotify(lua_State *L)
{
    const char *dir = luaL_checkstring(L, 1);
    struct inot *w = lua_newuserdatauv(L, sizeof *w, 0);

    w->fd = -1;
    luaL_setmetatable(L, INOTIFY_MT);
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0 ||
        inotify_add_watch(w->fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "inotify on '%s': %s", dir, strerror(errno));
        if (w->fd >= 0)
            close(w->fd);
        w->fd = -1;
        return 2;
    }
    return 1;
}

void l_logstore_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"feed", l_store_feed},
        {"flush", l_store_flush},
        {"feed_file", l_store_feed_file},
        {"query", l_logquery_query},
        {"wait_add", l_store_wait_add},
        {"wait_remove", l_store_wait_remove},
        {"text", l_logquery_text},
        {"last_lines", l_logquery_last_lines},
        {"stats", l_store_stats},
        {"feeder", l_store_feeder},
        {"close", l_store_close},
        {"sink", l_store_sink},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", l_store_close},
        {"__close", l_store_close},
        {"__len", l_store_len},
        {"__tostring", l_store_tostring},
        {NULL, NULL},
    };

    /* stack: module */
    luaL_newmetatable(L, STORE_MT);
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newmetatable(L, SINK_MT);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, l_sink_budget);
    lua_setfield(L, -2, "budget");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_count_sink);
    lua_setfield(L, -2, "count_sink");
    luaL_newmetatable(L, FEEDER_MT);
    lua_pushcfunction(L, l_feeder_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    l_logquery_open(L);
    luaL_newmetatable(L, INOTIFY_MT);
    lua_pushcfunction(L, l_inotify_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_inotify_close);
    lua_setfield(L, -2, "__close");
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, l_inotify_changed);
    lua_setfield(L, -2, "changed");
    lua_pushcfunction(L, l_inotify_close);
    lua_setfield(L, -2, "close");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_inotify);
    lua_setfield(L, -2, "inotify");
    lua_pushcfunction(L, l_log_store);
    lua_setfield(L, -2, "log_store");
}
