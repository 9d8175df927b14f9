/* l_logquery.c - the query half of natrig.core.log_store: query tables compiled for C
 * (core/logquery), records read from the spill's chunks that may match and from memory,
 * and entry tables built only for what a query or a wait returns, their fields decoded on
 * first access. */
#include <errno.h>
#include <fcntl.h>
#include <lualib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "lua/l_logstore.h"

/* --- entries ------------------------------------------------------------------------------- */

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
void l_logquery_push_entry(lua_State *L, struct lstore *s, const struct logstore_view *v)
{
    luaL_Buffer b;
    const char *lv = logparse_level_lower((enum logparse_level)v->h.level);

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
struct logquery *l_logquery_compile(lua_State *L, struct lstore *s, int idx)
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
int l_logquery_test(lua_State *L, struct lstore *s, const struct logquery *q,
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

/* --- reading ------------------------------------------------------------------------------- */

static void fd_fini(void *p)
{
    int *fd = p;
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

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
        /* the buffer and the descriptor are Lua's: fn may raise (a pattern, a push) */
        char *buf = lua_newuserdatauv(L, max, 0);
        int *fd = l_box_new(L, sizeof *fd, fd_fini);
        int stop = 0;
        *fd = open(s->spill_path, O_RDONLY | O_CLOEXEC);
        /* stack: ... buf fdbox */
        for (size_t i = 0; *fd >= 0 && !stop && i < nchunks; i++) {
            size_t got = 0;
            if (q && !logquery_chunk_may(q, &ch[i]))
                continue;
            while (got < ch[i].size) {
                ssize_t r = pread(*fd, buf + got, ch[i].size - got, (off_t)(ch[i].off + got));
                if (r < 0 && errno == EINTR)
                    continue;
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
            for (size_t at = 0; !stop && (n = logstore_rec_at(buf + at, got - at, &v)) != 0;
                 at += n)
                stop = fn(L, s, &v, ud);
            ch = logstore_chunks(s->st, &nchunks);
        }
        l_box_release(fd);
        lua_pop(L, 2);
        if (stop)
            return 1;
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

    if (!l_logquery_test(L, s, u->q, v))
        return 0;
    l_logquery_push_entry(L, s, v);
    lua_rawseti(L, u->list, ++u->n);
    return u->limit > 0 && u->n >= u->limit;
}

int l_logquery_query(lua_State *L)
{
    struct lstore *s = l_logstore_check(L);
    struct query_ud u;

    luaL_checktype(L, 2, LUA_TTABLE);
    u.limit = luaL_optinteger(L, 3, 0);
    lua_settop(L, 3);
    u.q = l_logquery_compile(L, s, 2);
    lua_newtable(L);
    u.list = lua_gettop(L);
    u.n = 0;
    /* stack: st q limit cq list */
    each(L, s, u.q, query_one, &u);
    return 1;
}

/* The text is gathered in a boxed C buffer, not a luaL_Buffer: reading the spill pushes
 * its own buffer meanwhile, and a luaL_Buffer needs the top of the stack to itself. */
static int text_one(lua_State *L, struct lstore *s, const struct logstore_view *v, void *ud)
{
    struct buf *b = ud;

    (void)s;
    if (buf_append(b, v->raw, v->h.raw_n) || buf_append(b, v->cont, v->h.cont_n) ||
        buf_append(b, "\n", 1))
        return nt_raisef(L, NT_LIMIT, "log text", "the log of %s is over %zu bytes", s->node,
                         b->max);
    return 0;
}

int l_logquery_text(lua_State *L)
{
    struct lstore *s = l_logstore_check(L);
    struct buf *b;

    lua_settop(L, 1);
    b = l_box_buf(L, (size_t)1 << 40);
    /* stack: st box */
    each(L, s, NULL, text_one, b);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    return 1;
}

/* The last n entries in memory, each raw text as "  | " lines, or nil when none. */
int l_logquery_last_lines(lua_State *L)
{
    struct lstore *s = l_logstore_check(L);
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

void l_logquery_open(lua_State *L)
{
    luaL_newmetatable(L, QUERY_MT);
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
}
