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
 *   st:text(), st:last_lines(n), st:stats(), #st (entries in memory), st:close()
 */
#include <errno.h>
#include <fcntl.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "core/logquery.h"
#include "core/logstore.h"
#include "lua/l_aux.h"

#define STORE_MT "natrig.LogStore"
#define QUERY_MT "natrig.LogQuery"
#define ENTRY_MT "natrig.LogEntry"
#define FEEDER_MT "natrig.LogFeeder"

/* st:feeder(stream): a stream's splitter, with its own partial line. */
struct feeder {
    int sid;
    struct logstore_pending pend;
};

struct waiter {
    int id;
    struct logquery *q; /* in a QUERY_MT userdata held by the store's uservalue table */
};

struct lstore {
    struct logstore *st;
    char *node, *spill_path, *disk_path;
    int spill_fd, disk_fd, disk_failed;
    struct waiter *waiters;
    int nwaiters, cap_waiters, next_id;
    lua_State *L; /* during feed: where woken entries go */
    int woken_idx;
    char *scratch;
    size_t scratch_cap;
};

/* A compiled query: the struct and its arrays; the strings live in its uservalue. */
struct cq {
    struct logquery q;
    struct logparse_span *messages;
    uint32_t *hashes;
    struct logparse_field *fields;
    char *lit;
};

#define FIND_KEY "natrig.string.find" /* string.find, in the registry */

static struct lstore *check_store(lua_State *L)
{
    struct lstore *s = luaL_checkudata(L, 1, STORE_MT);
    if (!s->st)
        nt_raisef(L, NT_EINVAL, "log store", "the log store of %s is closed",
                  s->node ? s->node : "?");
    return s;
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

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
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
    if (write_all(s->spill_fd, p, n) == 0)
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
    (void)write_all(s->disk_fd, p, n);
}

/* --- entries ------------------------------------------------------------------------------- */

static const char *level_lower(int l)
{
    static const char *const names[] = {NULL,   "trace", "debug", "info",
                                        "warn", "error", "fatal", "panic"};
    return l >= 0 && (unsigned)l < sizeof names / sizeof names[0] ? names[l] : NULL;
}

static void set_str(lua_State *L, const char *k, const char *p, size_t n)
{
    if (!n)
        return;
    lua_pushlstring(L, p, n);
    lua_setfield(L, -2, k);
}

/* Push the fields of a packed block (nfields entries) as a table. */
static void push_fields(lua_State *L, const struct logstore_view *v)
{
    lua_createtable(L, 0, v->h.nfields);
    for (int i = 0; i < v->h.nfields; i++) {
        const char *k, *val;
        size_t kn, vn;
        if (logstore_field(v, i, &k, &kn, &val, &vn) < 0)
            break;
        lua_pushlstring(L, k, kn);
        lua_pushlstring(L, val, vn);
        lua_rawset(L, -3);
    }
}

/* entry.fields on first access: decoded from the record's packed fields, kept after. */
static int l_entry_index(lua_State *L)
{
    struct logstore_view v;
    size_t n;
    const char *p;

    if (lua_type(L, 2) != LUA_TSTRING || strcmp(lua_tostring(L, 2), "fields") != 0)
        return 0;
    lua_getiuservalue(L, lua_upvalueindex(1), 1); /* the weak table: entry -> packed */
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    p = lua_tolstring(L, -1, &n);
    /* stack: entry key weak packed */
    if (!p || n < LOGSTORE_REC_HDR) {
        lua_newtable(L);
    } else {
        memset(&v, 0, sizeof v);
        memcpy(&v.h, p, LOGSTORE_REC_HDR);
        v.fields = p + LOGSTORE_REC_HDR;
        v.h.fields_n = (uint32_t)(n - LOGSTORE_REC_HDR);
        push_fields(L, &v);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, 1, "fields");
    return 1;
}

/* Push the entry table of record v: { time, engine_time, level, target, message, fields,
 * spans, raw, node, seq, stream, ... }; fields are decoded when first read. */
static void push_entry(lua_State *L, struct lstore *s, const struct logstore_view *v)
{
    luaL_Buffer b;
    const char *lv = level_lower(v->h.level);

    lua_createtable(L, 0, 16);
    /* stack: entry */
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, v->raw, v->h.raw_n);
    luaL_addlstring(&b, v->cont, v->h.cont_n);
    luaL_pushresult(&b);
    lua_setfield(L, -2, "raw");
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, v->msg, v->h.msg_n);
    luaL_addlstring(&b, v->cont, v->h.cont_n);
    luaL_pushresult(&b);
    lua_setfield(L, -2, "message");
    if (v->h.engine_ts_ns >= 0) {
        lua_pushnumber(L, (double)v->h.engine_ts_ns / 1e9);
        lua_setfield(L, -2, "engine_time");
        lua_pushinteger(L, v->h.engine_ts_ns);
        lua_setfield(L, -2, "engine_time_ns");
    }
    if (v->h.ts_ns >= 0) {
        lua_pushnumber(L, (double)v->h.ts_ns / 1e9);
        lua_setfield(L, -2, "time");
        lua_pushinteger(L, v->h.ts_ns);
        lua_setfield(L, -2, "time_ns");
    } else if (v->h.engine_ts_ns >= 0) {
        lua_pushnumber(L, (double)v->h.engine_ts_ns / 1e9);
        lua_setfield(L, -2, "time");
    }
    if (lv) {
        lua_pushstring(L, lv);
        lua_setfield(L, -2, "level");
    }
    lua_pushstring(L, logparse_format_name((enum logparse_format)v->h.format));
    lua_setfield(L, -2, "format");
    set_str(L, "thread", v->thread, v->h.thread_n);
    set_str(L, "spans", v->spans, v->h.spans_n);
    set_str(L, "target", v->target, v->h.target_n);
    set_str(L, "location", v->loc, v->h.loc_n);
    if (v->h.flags) {
        lua_pushinteger(L, v->h.flags);
        lua_setfield(L, -2, "flags");
    }
    lua_pushinteger(L, v->h.seq);
    lua_setfield(L, -2, "seq");
    lua_pushstring(L, s->node ? s->node : "");
    lua_setfield(L, -2, "node");
    lua_pushstring(L, logstore_stream_name(s->st, v->h.stream));
    lua_setfield(L, -2, "stream");
    if (v->h.nfields == 0) {
        lua_newtable(L);
        lua_setfield(L, -2, "fields");
        return;
    }
    /* fields later: the packed block (index + fields) in the weak table */
    luaL_getmetatable(L, ENTRY_MT);
    lua_setmetatable(L, -2);
    luaL_getmetatable(L, ENTRY_MT);
    lua_getfield(L, -1, "__index");
    lua_getupvalue(L, -1, 1); /* the holder userdata */
    lua_getiuservalue(L, -1, 1);
    /* stack: entry mt index holder weak */
    lua_pushvalue(L, -5);
    luaL_buffinit(L, &b);
    {
        struct logstore_rec h = v->h;
        luaL_addlstring(&b, (const char *)&h, sizeof h);
    }
    luaL_addlstring(&b, v->fields, v->h.fields_n);
    luaL_pushresult(&b);
    lua_rawset(L, -3);
    lua_pop(L, 4);
}

/* --- queries ------------------------------------------------------------------------------- */

/* Keep the string at the top in the query's uservalue table (index t) and pop it. */
static const char *keep(lua_State *L, int t, size_t *n)
{
    const char *p = lua_tolstring(L, -1, n);
    lua_rawseti(L, t, (lua_Integer)lua_rawlen(L, t) + 1);
    return p;
}

/* Compile the query table at idx (checked by natrig.logs) into a QUERY_MT userdata pushed on
 * the stack. Strings it points at are kept in its uservalue. */
static struct logquery *compile(lua_State *L, struct lstore *s, int idx)
{
    int nmsg = 0, nf = 0, t;
    size_t mlen = 0;
    struct cq *c;
    char *mem;

    idx = lua_absindex(L, idx);
    if (lua_getfield(L, idx, "message") == LUA_TTABLE)
        nmsg = (int)lua_rawlen(L, -1);
    else if (!lua_isnil(L, -1))
        nmsg = 1;
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "fields") == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            nf++;
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "match") == LUA_TSTRING)
        lua_tolstring(L, -1, &mlen);
    lua_pop(L, 1);

    c = lua_newuserdatauv(L,
                          sizeof *c + (size_t)nmsg * (sizeof(struct logparse_span) + 4) +
                              (size_t)nf * sizeof(struct logparse_field) + mlen + 1,
                          1);
    memset(c, 0, sizeof *c);
    mem = (char *)(c + 1);
    c->messages = (struct logparse_span *)(void *)mem;
    mem += (size_t)nmsg * sizeof(struct logparse_span);
    c->fields = (struct logparse_field *)(void *)mem;
    mem += (size_t)nf * sizeof(struct logparse_field);
    c->hashes = (uint32_t *)(void *)mem;
    mem += (size_t)nmsg * 4;
    c->lit = mem;
    luaL_setmetatable(L, QUERY_MT);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, -3, 1);
    t = lua_gettop(L);
    /* stack: ... cq strings */

    c->q.stream = LOGQUERY_ANY_STREAM;
    if (lua_getfield(L, idx, "level") == LUA_TSTRING) {
        size_t n;
        const char *p = lua_tolstring(L, -1, &n);
        int l = logparse_level_from(p, n);
        c->q.level = l > 0 ? l : 0;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "target") == LUA_TSTRING) {
        c->q.target = keep(L, t, &c->q.target_n);
        c->q.has_target = 1;
    } else {
        lua_pop(L, 1);
    }
    if (lua_getfield(L, idx, "stream") == LUA_TSTRING) {
        size_t n;
        const char *p = lua_tolstring(L, -1, &n);
        int id = logstore_stream(s->st, p, n);
        c->q.stream = id < 0 ? LOGQUERY_NO_STREAM : id;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "since") == LUA_TNUMBER) {
        c->q.has_since = 1;
        c->q.since = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "until") == LUA_TNUMBER) {
        c->q.has_until = 1;
        c->q.until = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    switch (lua_getfield(L, idx, "message")) {
    case LUA_TNIL:
        lua_pop(L, 1);
        break;
    case LUA_TTABLE:
        c->q.messages = c->messages;
        for (int i = 0; i < nmsg; i++) {
            lua_rawgeti(L, -1, i + 1);
            if (lua_type(L, -1) == LUA_TSTRING) {
                struct logparse_span *m = &c->messages[c->q.nmessages];
                m->p = keep(L, t, &m->n);
                c->hashes[c->q.nmessages++] = logstore_hash(m->p, m->n);
            } else {
                lua_pop(L, 1); /* a non-string equals no message */
            }
        }
        lua_pop(L, 1);
        break;
    default:
        c->q.messages = c->messages;
        if (lua_type(L, -1) == LUA_TSTRING) {
            c->messages[0].p = keep(L, t, &c->messages[0].n);
            c->hashes[0] = logstore_hash(c->messages[0].p, c->messages[0].n);
            c->q.nmessages = 1;
        } else {
            lua_pop(L, 1);
        }
    }
    c->q.message_hashes = c->hashes;
    c->q.fields = c->fields;
    if (lua_getfield(L, idx, "fields") == LUA_TTABLE) {
        int bad = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            /* stack: ... fields k v */
            if (lua_type(L, -2) != LUA_TSTRING)
                bad = 1;
            luaL_tolstring(L, -1, NULL);
            c->fields[c->q.nfields].val.p = keep(L, t, &c->fields[c->q.nfields].val.n);
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            c->fields[c->q.nfields].key.p = keep(L, t, &c->fields[c->q.nfields].key.n);
            c->q.nfields++;
        }
        if (bad) /* only string keys name fields: nothing matches */
            c->q.stream = LOGQUERY_NO_STREAM;
    }
    lua_pop(L, 1);
    if (lua_getfield(L, idx, "match") == LUA_TSTRING) {
        size_t n;
        const char *p = keep(L, t, &n);
        int plain;
        lua_getfield(L, idx, "plain");
        plain = lua_toboolean(L, -1);
        lua_pop(L, 1);
        c->q.has_match = 1;
        if (plain) {
            c->q.match = p;
            c->q.match_n = n;
        } else if (logquery_literal(p, n, c->lit, &c->q.match_n)) {
            c->q.match = c->lit;
        } else {
            c->q.match = p;
            c->q.match_n = n;
            c->q.match_pattern = 1;
            lua_getfield(L, LUA_REGISTRYINDEX, FIND_KEY); /* a bad pattern raises here, once */
            lua_pushliteral(L, "");
            lua_pushlstring(L, p, n);
            lua_call(L, 2, 0);
        }
    } else {
        lua_pop(L, 1);
    }
    lua_pop(L, 1); /* the strings table; the cq stays */
    return &c->q;
}

/* Whether record v matches q, running the Lua pattern when C cannot decide. */
static int test(lua_State *L, struct lstore *s, const struct logquery *q,
                const struct logstore_view *v)
{
    enum logquery_result r = logquery_test(q, v, &s->scratch, &s->scratch_cap);
    size_t n;
    int ok;

    if (r != LOGQUERY_PATTERN)
        return r == LOGQUERY_YES;
    n = logquery_hay(v, &s->scratch, &s->scratch_cap);
    lua_getfield(L, LUA_REGISTRYINDEX, FIND_KEY);
    lua_pushlstring(L, s->scratch, n);
    lua_pushlstring(L, q->match, q->match_n);
    lua_call(L, 2, 1);
    ok = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return ok;
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
        if (!test(s->L, s, w.q, &v)) {
            i++;
            continue;
        }
        if (s->woken_idx == 0) {
            lua_newtable(s->L);
            s->woken_idx = lua_gettop(s->L);
        }
        push_entry(s->L, s, &v);
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

static int l_store_feed(lua_State *L)
{
    struct lstore *s = check_store(L);
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
    struct lstore *s = check_store(L);
    struct feeder *f = luaL_checkudata(L, 2, FEEDER_MT);
    int prefix = lua_toboolean(L, 3);
    size_t budget = (size_t)luaL_checkinteger(L, 4);

    lua_settop(L, 4);
    s->L = L;
    s->woken_idx = 0;
    logstore_flush(s->st, f->sid, &f->pend, prefix, budget);
    return feed_result(L, s);
}

static int l_feeder_gc(lua_State *L)
{
    struct feeder *f = luaL_checkudata(L, 1, FEEDER_MT);
    logstore_pending_free(&f->pend);
    return 0;
}

static int l_store_wait_add(lua_State *L)
{
    struct lstore *s = check_store(L);
    struct logquery *q;

    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    q = compile(L, s, 2);
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
    struct lstore *s = check_store(L);
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

/* --- reading ------------------------------------------------------------------------------- */

/* Call fn(L, s, v, ud) for every record, the spilled ones first, fn returning 1 to stop.
 * With q, spill chunks that cannot hold a match of q are not read. */
typedef int (*each_fn)(lua_State *L, struct lstore *s, const struct logstore_view *v, void *ud);

static int each(lua_State *L, struct lstore *s, const struct logquery *q, each_fn fn, void *ud)
{
    struct logstore_view v;
    size_t len, off = 0, n, nchunks, max = 0;
    const struct logstore_chunk *ch = logstore_chunks(s->st, &nchunks);
    const char *mem;

    for (size_t i = 0; i < nchunks; i++)
        if ((!q || logquery_chunk_may(q, &ch[i])) && ch[i].size > max)
            max = ch[i].size;
    if (max && s->spill_path) {
        int fd = open(s->spill_path, O_RDONLY | O_CLOEXEC);
        char *buf = fd >= 0 ? lua_newuserdatauv(L, max, 0) : NULL; /* Lua-owned: a raise frees it */
        for (size_t i = 0; buf && i < nchunks; i++) {
            size_t got = 0;
            if (q && !logquery_chunk_may(q, &ch[i]))
                continue;
            while (got < ch[i].size) {
                ssize_t r = pread(fd, buf + got, ch[i].size - got, (off_t)(ch[i].off + got));
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
            for (size_t at = 0; (n = logstore_rec_at(buf + at, got - at, &v)) != 0; at += n) {
                if (fn(L, s, &v, ud)) {
                    close(fd);
                    lua_pop(L, 1);
                    return 1;
                }
            }
            ch = logstore_chunks(s->st, &nchunks);
        }
        if (fd >= 0) {
            close(fd);
            lua_pop(L, 1);
        }
    }
    mem = logstore_mem(s->st, &len);
    while ((n = logstore_rec_at(mem + off, len - off, &v)) != 0) {
        if (fn(L, s, &v, ud))
            return 1;
        mem = logstore_mem(s->st, &len); /* a Lua pattern cannot feed, but stay safe */
        off += n;
    }
    return 0;
}

struct query_ud {
    const struct logquery *q;
    int list;
    lua_Integer n, limit;
};

static int query_one(lua_State *L, struct lstore *s, const struct logstore_view *v, void *ud)
{
    struct query_ud *u = ud;

    if (!test(L, s, u->q, v))
        return 0;
    push_entry(L, s, v);
    lua_rawseti(L, u->list, ++u->n);
    return u->limit > 0 && u->n >= u->limit;
}

static int l_store_query(lua_State *L)
{
    struct lstore *s = check_store(L);
    struct query_ud u;

    luaL_checktype(L, 2, LUA_TTABLE);
    u.limit = luaL_optinteger(L, 3, 0);
    lua_settop(L, 3);
    u.q = compile(L, s, 2);
    lua_newtable(L);
    u.list = lua_gettop(L);
    u.n = 0;
    /* stack: st q limit cq list */
    each(L, s, u.q, query_one, &u);
    return 1;
}

static int text_one(lua_State *L, struct lstore *s, const struct logstore_view *v, void *ud)
{
    luaL_Buffer *b = ud;

    (void)L;
    (void)s;
    luaL_addlstring(b, v->raw, v->h.raw_n);
    luaL_addlstring(b, v->cont, v->h.cont_n);
    luaL_addchar(b, '\n');
    return 0;
}

static int l_store_text(lua_State *L)
{
    struct lstore *s = check_store(L);
    luaL_Buffer b;

    lua_settop(L, 1);
    luaL_buffinit(L, &b);
    each(L, s, NULL, text_one, &b);
    luaL_pushresult(&b);
    return 1;
}

/* The last n entries in memory, each raw text as "  | " lines, or nil when none. */
static int l_store_last_lines(lua_State *L)
{
    struct lstore *s = check_store(L);
    lua_Integer want = luaL_checkinteger(L, 2);
    struct logstore_view v;
    struct logstore_stats stats;
    size_t len, off = 0, n;
    const char *mem = logstore_mem(s->st, &len);
    lua_Integer skip, i = 0;
    luaL_Buffer b;
    int any = 0;

    logstore_stats(s->st, &stats);
    skip = stats.in_memory > want ? stats.in_memory - want : 0;
    luaL_buffinit(L, &b);
    while ((n = logstore_rec_at(mem + off, len - off, &v)) != 0) {
        if (i++ >= skip) {
            if (any)
                luaL_addchar(&b, '\n');
            luaL_addstring(&b, "  | ");
            luaL_addlstring(&b, v.raw, v.h.raw_n);
            luaL_addlstring(&b, v.cont, v.h.cont_n);
            any = 1;
        }
        off += n;
    }
    luaL_pushresult(&b);
    if (!any)
        lua_pushnil(L);
    return 1;
}

static int l_store_stats(lua_State *L)
{
    struct lstore *s = check_store(L);
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
    struct lstore *s = check_store(L);
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
    free(s->node);
    free(s->spill_path);
    free(s->disk_path);
    s->waiters = NULL;
    s->scratch = s->node = s->spill_path = s->disk_path = NULL;
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

void l_logstore_open(lua_State *L);

void l_logstore_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"feed", l_store_feed},
        {"flush", l_store_flush},
        {"query", l_store_query},
        {"wait_add", l_store_wait_add},
        {"wait_remove", l_store_wait_remove},
        {"text", l_store_text},
        {"last_lines", l_store_last_lines},
        {"stats", l_store_stats},
        {"feeder", l_store_feeder},
        {"close", l_store_close},
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
    luaL_newmetatable(L, QUERY_MT);
    lua_pop(L, 1);
    luaL_newmetatable(L, FEEDER_MT);
    lua_pushcfunction(L, l_feeder_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    /* entries: __index decodes fields from a weak table entry -> packed fields */
    luaL_newmetatable(L, ENTRY_MT);
    lua_newuserdatauv(L, 1, 1); /* a holder for the weak table, the closure's upvalue */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushstring(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setiuservalue(L, -2, 1);
    lua_pushcclosure(L, l_entry_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
    lua_getfield(L, -1, "find");
    lua_setfield(L, LUA_REGISTRYINDEX, FIND_KEY);
    lua_pop(L, 1);
    lua_pushcfunction(L, l_log_store);
    lua_setfield(L, -2, "log_store");
}
