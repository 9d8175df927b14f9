/* l_log.c - natrig.core.log_parse: one log line -> an entry table, through the C parser
 * (core/logparse). Times are seconds since the epoch as floats (ns precision is kept in
 * *_ns integer fields for ordering). */
#include <stdlib.h>
#include <string.h>

#include "core/logparse.h"
#include "lua/l_aux.h"

static void set_span(lua_State *L, const struct logparse_span *s, const char *k)
{
    if (s->n == 0)
        return;
    lua_pushlstring(L, s->p, s->n);
    lua_setfield(L, -2, k);
}

/* log_parse(line [, head_entry [, engine_prefix]]) -> entry table.
 * head_entry: the entry being assembled (its format and level decide whether this line
 * continues it: entry.continuation = true). engine_prefix: every line starts with the
 * engine's timestamp (default true). */
static int l_log_parse(lua_State *L)
{
    size_t len;
    const char *line = luaL_checklstring(L, 1, &len);
    int engine_prefix = lua_isnoneornil(L, 3) ? 1 : lua_toboolean(L, 3);
    struct logparse_entry e, head;
    char stack_scratch[8192], *scratch = stack_scratch;
    size_t cap = LOGPARSE_SCRATCH_NEED(len);

    /* Let Lua own a bigger scratch for long lines, so a raise cannot leak it. */
    if (cap > sizeof stack_scratch)
        scratch = lua_newuserdatauv(L, cap, 0);
    else
        cap = sizeof stack_scratch;
    logparse_line(line, len, engine_prefix ? LOGPARSE_OPT_ENGINE_TS : 0, scratch, cap, &e);
    lua_createtable(L, 0, 14);
    /* stack: line head prefix [scratch] entry */
    if (e.engine_ts_ns >= 0) {
        lua_pushnumber(L, (double)e.engine_ts_ns / 1e9);
        lua_setfield(L, -2, "engine_time");
        lua_pushinteger(L, e.engine_ts_ns);
        lua_setfield(L, -2, "engine_time_ns");
        /* raw: the line without the engine's prefix */
        const char *sp = memchr(line, ' ', len);
        if (sp) {
            len -= (size_t)(sp + 1 - line);
            line = sp + 1;
        }
    }
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    lua_pushlstring(L, line, len);
    lua_setfield(L, -2, "raw");
    if (e.ts_ns >= 0) {
        lua_pushnumber(L, (double)e.ts_ns / 1e9);
        lua_setfield(L, -2, "time");
        lua_pushinteger(L, e.ts_ns);
        lua_setfield(L, -2, "time_ns");
    }
    if (logparse_level_lower(e.level)) {
        lua_pushstring(L, logparse_level_lower(e.level));
        lua_setfield(L, -2, "level");
    }
    lua_pushstring(L, logparse_format_name(e.format));
    lua_setfield(L, -2, "format");
    set_span(L, &e.thread, "thread");
    set_span(L, &e.spans, "spans");
    set_span(L, &e.target, "target");
    set_span(L, &e.location, "location");
    lua_pushlstring(L, e.message.p, e.message.n);
    lua_setfield(L, -2, "message");
    lua_createtable(L, 0, e.nfields);
    for (int i = 0; i < e.nfields; i++) {
        lua_pushlstring(L, e.fields[i].key.p, e.fields[i].key.n);
        lua_pushlstring(L, e.fields[i].val.p, e.fields[i].val.n);
        lua_rawset(L, -3);
    }
    lua_setfield(L, -2, "fields");
    if (e.flags) {
        lua_pushinteger(L, e.flags);
        lua_setfield(L, -2, "flags");
    }
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "format");
        const char *f = lua_tostring(L, -1);
        lua_getfield(L, 2, "level");
        const char *lv = lua_tostring(L, -1);
        memset(&head, 0, sizeof head);
        head.format = f ? logparse_format_from(f, strlen(f)) : LOGPARSE_FMT_PLAIN;
        int lvl = lv ? logparse_level_from(lv, strlen(lv)) : -1;
        head.level = lvl < 0 ? LOGPARSE_LEVEL_NONE : (enum logparse_level)lvl;
        lua_pop(L, 2);
        lua_pushboolean(L, logparse_is_continuation(&head, &e));
        lua_setfield(L, -2, "continuation");
    }
    return 1;
}

void l_logstore_open(lua_State *L); /* l_logstore.c */
void l_logtail_open(lua_State *L);  /* l_logtail.c */

/* log_level_rank(name) -> 1 (trace) .. 7 (panic), or nil for a name no format uses; any
 * case and the aliases every parser knows ("warning", "err", ...). The one severity order:
 * natrig.logs ranks with it, the C store matches with it. */
static int l_log_level_rank(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    int l = logparse_level_from(s, n);
    if (l <= LOGPARSE_LEVEL_NONE)
        return 0;
    lua_pushinteger(L, l);
    return 1;
}

void l_log_open(lua_State *L)
{
    l_logstore_open(L);
    l_logtail_open(L);
    lua_pushcfunction(L, l_log_parse);
    lua_setfield(L, -2, "log_parse");
    lua_pushcfunction(L, l_log_level_rank);
    lua_setfield(L, -2, "log_level_rank");
    /* LOG_LEVELS: the names in severity order, for messages */
    lua_newtable(L);
    for (int l = LOGPARSE_LEVEL_NONE + 1; logparse_level_lower((enum logparse_level)l); l++) {
        lua_pushstring(L, logparse_level_lower((enum logparse_level)l));
        lua_rawseti(L, -2, l);
    }
    lua_setfield(L, -2, "LOG_LEVELS");
}
