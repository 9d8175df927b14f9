/* l_logstore.h - what the two halves of natrig.core.log_store share: the store handle
 * (l_logstore.c: lifecycle, feeding, waits, files) and its queries and entry tables
 * (l_logquery.c). Private to src/lua. */
#ifndef NT_L_LOGSTORE_H
#define NT_L_LOGSTORE_H

#include "core/logquery.h"
#include "core/logstore.h"
#include "lua/l_aux.h"

#define STORE_MT "natrig.LogStore"
#define QUERY_MT "natrig.LogQuery"
#define ENTRY_MT "natrig.LogEntry"
#define FEEDER_MT "natrig.LogFeeder"
#define SINK_MT "natrig.LogSink"

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
    char *filebuf; /* feed_file's piece */
    size_t filebuf_cap;
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

/* The store at index 1, raising when closed. */
struct lstore *l_logstore_check(lua_State *L);

/* l_logquery.c: the entry table of record v; the query table at idx compiled into a
 * userdata pushed on the stack (the strings it points at live in its uservalue); whether
 * record v matches q (running a Lua pattern when C cannot decide). */
void l_logquery_push_entry(lua_State *L, struct lstore *s, const struct logstore_view *v);
struct logquery *l_logquery_compile(lua_State *L, struct lstore *s, int idx);
int l_logquery_test(lua_State *L, struct lstore *s, const struct logquery *q,
                    const struct logstore_view *v);
/* st:query(q [, limit]), st:text(), st:last_lines(n) */
int l_logquery_query(lua_State *L);
int l_logquery_text(lua_State *L);
int l_logquery_last_lines(lua_State *L);
/* The metatables of entries and compiled queries, and string.find in the registry. */
void l_logquery_open(lua_State *L);
/* l_logstore.c: whether the value at idx is a sink (st:sink, core.count_sink); hand it an
 * engine event's demuxed bytes (the engine's prefixed log lines): they are fed to its store
 * and the event table at ev_idx gets bytes, and for a store's sink woken ({wid = entry} or
 * nil), spilled, seq, last_time, as st:feed returns them. Leaves the stack as it found it. */
int l_logstore_is_sink(lua_State *L, int idx);
void l_logstore_sink_take(lua_State *L, int sink_idx, int ev_idx, const char *out, size_t out_n,
                          const char *err, size_t err_n);
/* A run of one stream's prefixed lines (is_err: stderr) into the sink's store, the event
 * table at ev_idx accumulating bytes, woken, spilled, seq and last_time over runs. */
void l_logstore_sink_feed(lua_State *L, int sink_idx, int ev_idx, int is_err, const char *p,
                          size_t n);
void l_logstore_open(lua_State *L);
/* l_logtail.c: core.log_tail(), the engine's json-file logs read where they are written. */
void l_logtail_open(lua_State *L);

#endif
