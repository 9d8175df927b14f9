/* test_logstore.c - TAP tests for core/logstore and core/logquery: lines split across
 * pieces, continuations, repeats after a re-attach, spilling whole records, the raw log,
 * and every query filter against the index and the text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/logquery.h"
#include "core/logstore.h"
#include "tap.h"

struct sink {
    char spill[1 << 20];
    size_t spill_n;
    char disk[1 << 16];
    size_t disk_n;
    int entries, grown, refuse_spill;
    int64_t last_seq;
};

static void on_entry(void *ud, struct logstore *st, size_t off, int grown)
{
    struct sink *k = ud;
    struct logstore_view v;
    size_t len;
    const char *mem = logstore_mem(st, &len);

    if (logstore_rec_at(mem + off, len - off, &v))
        k->last_seq = v.h.seq;
    k->entries++;
    k->grown += grown;
}

static int on_spill(void *ud, const char *p, size_t n)
{
    struct sink *k = ud;

    if (k->refuse_spill || k->spill_n + n > sizeof k->spill)
        return -1;
    memcpy(k->spill + k->spill_n, p, n);
    k->spill_n += n;
    return 0;
}

static void on_disk(void *ud, const char *p, size_t n)
{
    struct sink *k = ud;

    if (k->disk_n + n <= sizeof k->disk) {
        memcpy(k->disk + k->disk_n, p, n);
        k->disk_n += n;
    }
}

static struct sink sink;

static struct logstore *new_store(void)
{
    struct logstore_hooks h = {&sink, on_entry, on_spill, on_disk};

    memset(&sink, 0, sizeof sink);
    return logstore_new(&h);
}

/* The i-th record (0: oldest) in memory. */
static int nth(struct logstore *st, int i, struct logstore_view *v)
{
    size_t len, off = 0, n;
    const char *mem = logstore_mem(st, &len);

    while ((n = logstore_rec_at(mem + off, len - off, v)) != 0) {
        if (i-- == 0)
            return 1;
        off += n;
    }
    return 0;
}

static int count_matches(struct logstore *st, const struct logquery *q)
{
    struct logstore_view v;
    size_t len, off = 0, n, cap = 0;
    const char *mem = logstore_mem(st, &len);
    char *scratch = NULL;
    int c = 0;

    while ((n = logstore_rec_at(mem + off, len - off, &v)) != 0) {
        c += logquery_test(q, &v, &scratch, &cap) == LOGQUERY_YES;
        off += n;
    }
    free(scratch);
    return c;
}

static void feed_s(struct logstore *st, int sid, struct logstore_pending *pd, const char *s)
{
    logstore_feed(st, sid, pd, s, strlen(s), 1, 1 << 20);
}

#define T0 "2026-12-01T00:00:00.000000000Z "
#define T1 "2026-12-01T00:00:00.010000000Z "
#define T2 "2026-12-01T00:00:00.200000000Z "
#define T3 "2026-12-01T00:00:01.000000000Z "

static void test_split_and_join(void)
{
    struct logstore *st = new_store();
    struct logstore_pending pd = {0}, pe = {0};
    int out = logstore_stream(st, "stdout", 6), err = logstore_stream(st, "stderr", 6);
    struct logstore_view v;
    struct logstore_stats s;

    is_int(out, 0, "first stream id");
    is_int(err, 1, "second stream id");
    is_int(logstore_stream(st, "stdout", 6), 0, "a stream name maps to one id");
    feed_s(st, out, &pd, T0 "2026-12-01T00:00:00Z  INFO app::x: hel");
    is_int(sink.entries, 0, "a partial line waits for its newline");
    feed_s(st, out, &pd, "lo k=1\r\n\n");
    is_int(sink.entries, 1, "the line completes across pieces; the empty line is skipped");
    ok(nth(st, 0, &v) && v.h.raw_n == strlen("2026-12-01T00:00:00Z  INFO app::x: hello k=1") &&
           memcmp(v.raw, "2026-12-01T00:00:00Z", 20) == 0,
       "raw is the line without the engine prefix and the CR");
    is_int(v.h.level, LOGPARSE_LEVEL_INFO, "level indexed");
    ok(v.h.engine_ts_ns == 1796083200000000000LL, "engine time indexed");
    feed_s(st, out, &pd, T1 "   at frame 1\n");
    is_int(sink.grown, 1, "an indented line within 50 ms continues the entry");
    ok(nth(st, 0, &v) && v.h.cont_n == strlen("\n   at frame 1"), "continuation kept once");
    ok(v.h.tail_ts_ns == 1796083200010000000LL, "the tail time moves");
    feed_s(st, out, &pd, T2 "   late line\n");
    is_int(sink.grown, 1, "a plain line 190 ms after the tail is an entry of its own");
    feed_s(st, err, &pe, T3 "   on stderr\n");
    ok(nth(st, 2, &v) && v.h.stream == err && v.h.cont_n == 0,
       "a line of another stream never continues");
    logstore_stats(st, &s);
    is_int(s.seq, 3, "three entries numbered");
    ok(s.resume_ts_ns == 1796083200200000000LL, "resume: the earliest of the streams' last times");
    is_int((int)sink.disk_n,
           (int)(strlen(T0 "2026-12-01T00:00:00Z  INFO app::x: hello k=1\n") +
                 strlen(T1 "   at frame 1\n") + strlen(T2 "   late line\n") +
                 strlen(T3 "   on stderr\n")),
           "every kept line reaches the raw log as it came");
    /* repeats after a re-attach */
    feed_s(st, out, &pd, T2 "   late line\n" T1 "x\n");
    logstore_stats(st, &s);
    is_int(s.seq, 3, "a line at the last time with the same text, or an earlier one, is a repeat");
    feed_s(st, out, &pd, T2 "another at the same time\n");
    logstore_stats(st, &s);
    is_int(s.seq, 4, "another text at the last time is new");
    /* flush */
    feed_s(st, out, &pd, T3 "no newline");
    logstore_flush(st, out, &pd, 1, 1 << 20);
    logstore_stats(st, &s);
    is_int(s.seq, 5, "flush takes the partial line");
    logstore_pending_free(&pd);
    logstore_pending_free(&pe);
    logstore_free(st);
}

static void test_spill(void)
{
    struct logstore *st = new_store();
    struct logstore_pending pd = {0};
    int sid = logstore_stream(st, "stdout", 6);
    char line[160];
    struct logstore_stats s;
    struct logstore_view v;
    size_t off = 0, n;
    int64_t want = 1;
    int ok_order = 1;

    for (int i = 0; i < 1000; i++) {
        snprintf(line, sizeof line, "2026-12-01T00:00:%02d.%09dZ INFO app: line %d\n", i / 100,
                 i % 100, i);
        logstore_feed(st, sid, &pd, line, strlen(line), 1, 8192);
    }
    logstore_stats(st, &s);
    ok(s.spilled > 0 && s.mem_bytes <= 8192 + 200, "over budget, the older records spill");
    is_int((int)(s.spilled + s.in_memory), 1000, "none lost");
    while ((n = logstore_rec_at(sink.spill + off, sink.spill_n - off, &v)) != 0) {
        ok_order &= v.h.seq == want++;
        off += n;
    }
    ok(off == sink.spill_n && ok_order, "the spill holds whole records, oldest first");
    ok(nth(st, 0, &v) && v.h.seq == want, "memory continues where the spill ends");
    {
        size_t nch, bytes = 0, hit = 0;
        int64_t cnt = 0;
        const struct logstore_chunk *ch = logstore_chunks(st, &nch);
        struct logquery q;
        struct logparse_span m = {"line 5", 6};
        uint32_t h = logstore_hash(m.p, m.n);
        for (size_t i = 0; i < nch; i++) {
            bytes += ch[i].size;
            cnt += ch[i].count;
        }
        ok(nch > 1 && bytes == sink.spill_n && cnt == s.spilled, "one chunk per spill, indexed");
        memset(&q, 0, sizeof q);
        q.stream = LOGQUERY_ANY_STREAM;
        q.messages = &m;
        q.message_hashes = &h;
        q.nmessages = 1;
        for (size_t i = 0; i < nch; i++)
            hit += (size_t)logquery_chunk_may(&q, &ch[i]);
        ok(hit >= 1 && logquery_chunk_may(&q, &ch[0]), "the chunk holding a message may match");
        q.nmessages = 0;
        q.messages = NULL;
        q.has_since = 1;
        q.since = 1796083205.0;
        ok(!logquery_chunk_may(&q, &ch[0]) && logquery_chunk_may(&q, &ch[nch - 1]),
           "since skips older chunks");
        q.has_since = 0;
        q.level = LOGPARSE_LEVEL_WARN;
        ok(!logquery_chunk_may(&q, &ch[0]), "a level above every entry's skips the chunk");
    }
    sink.refuse_spill = 1;
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof line, "2026-12-01T00:01:%02d.%09dZ INFO app: more %d\n", i / 10, i,
                 i);
        logstore_feed(st, sid, &pd, line, strlen(line), 1, 8192);
    }
    logstore_stats(st, &s);
    is_int((int)(s.spilled + s.in_memory), 1100, "no disk: entries stay in memory");
    ok(logstore_rec_at("garbage that is no record at all, long enough for a header......", 64,
                       &v) == 0,
       "garbage is no record");
    logstore_pending_free(&pd);
    logstore_free(st);
}

static void test_query(void)
{
    struct logstore *st = new_store();
    struct logstore_pending pd = {0};
    int sid = logstore_stream(st, "stdout", 6);
    struct logquery q;
    struct logparse_span msgs[2] = {{"hello world", 11}, {"other", 5}};
    uint32_t hashes[2];
    struct logparse_field fl[1] = {{{"peer", 4}, {"b", 1}}};
    char lit[32];
    size_t lit_n;

    feed_s(st, sid, &pd,
           T0 "2026-12-01T00:00:00Z  WARN freenet::transport: hello world peer=a peer=b\n" T1
              "2026-12-01T00:00:00Z DEBUG freenet::node: quiet\n" T2 "plain text line\n" T3
              "{\"level\":\"error\",\"msg\":\"json msg\",\"target\":\"x::y\"}\n");
    hashes[0] = logstore_hash("hello world", 11);
    hashes[1] = logstore_hash("other", 5);

    memset(&q, 0, sizeof q);
    q.stream = LOGQUERY_ANY_STREAM;
    is_int(count_matches(st, &q), 4, "an empty query matches all");
    q.level = LOGPARSE_LEVEL_WARN;
    is_int(count_matches(st, &q), 2, "level is a minimum");
    q.level = 0;
    q.has_target = 1;
    q.target = "freenet::";
    q.target_n = 9;
    is_int(count_matches(st, &q), 2, "target is a prefix");
    q.has_target = 0;
    q.messages = msgs;
    q.message_hashes = hashes;
    q.nmessages = 2;
    is_int(count_matches(st, &q), 1, "message: exactly one of a list");
    q.nmessages = 0;
    is_int(count_matches(st, &q), 0, "an empty list of messages matches none");
    q.messages = NULL;
    q.fields = fl;
    q.nfields = 1;
    is_int(count_matches(st, &q), 1, "a repeated field key: the last value counts");
    fl[0].val.p = "a";
    is_int(count_matches(st, &q), 0, "not the first value");
    q.nfields = 0;
    q.has_since = 1;
    q.since = 1796083200.1;
    is_int(count_matches(st, &q), 2, "since on the engine time");
    q.has_until = 1;
    q.until = 1796083200.5;
    is_int(count_matches(st, &q), 1, "until too");
    q.has_since = q.has_until = 0;
    q.has_match = 1;
    q.match = "json msg {";
    q.match_n = strlen(q.match);
    is_int(count_matches(st, &q), 1, "match runs over message, a space and raw");
    q.match = "world peer";
    q.match_n = strlen(q.match);
    is_int(count_matches(st, &q), 1, "match in raw");
    q.match = "nothing like it";
    q.match_n = strlen(q.match);
    is_int(count_matches(st, &q), 0, "no match");
    q.match = "";
    q.match_n = 0;
    is_int(count_matches(st, &q), 4, "an empty match matches all");
    q.match_pattern = 1;
    {
        struct logstore_view v;
        char *scratch = NULL;
        size_t cap = 0;
        ok(nth(st, 0, &v) && logquery_test(&q, &v, &scratch, &cap) == LOGQUERY_PATTERN,
           "a Lua pattern is left to the caller");
        free(scratch);
    }
    q.has_match = q.match_pattern = 0;
    q.stream = LOGQUERY_NO_STREAM;
    is_int(count_matches(st, &q), 0, "an unknown stream matches none");

    ok(logquery_literal("marker%-5", 9, lit, &lit_n) && lit_n == 8 &&
           memcmp(lit, "marker-5", 8) == 0,
       "escaped punctuation is literal");
    ok(logquery_literal("hole punched", 12, lit, &lit_n), "plain words are literal");
    ok(!logquery_literal("a.b", 3, lit, &lit_n), "'.' is magic");
    ok(!logquery_literal("%d+", 3, lit, &lit_n), "a class is magic");
    ok(!logquery_literal("^x", 2, lit, &lit_n), "an anchor is magic");
    ok(!logquery_literal("x%", 2, lit, &lit_n), "a trailing %% needs Lua (it raises there)");
    logstore_pending_free(&pd);
    logstore_free(st);
}

static void test_long_line(void)
{
    struct logstore *st = new_store();
    struct logstore_pending pd = {0};
    int sid = logstore_stream(st, "stdout", 6);
    size_t n = LOGSTORE_LINE_MAX + 10;
    char *big = malloc(n);
    struct logstore_stats s;

    memset(big, 'x', n);
    logstore_feed(st, sid, &pd, big, n, 0, 1 << 20);
    logstore_stats(st, &s);
    is_int(s.seq, 1, "a line longer than LOGSTORE_LINE_MAX without newline is taken as it is");
    is_int((int)pd.n, 0, "and nothing is pending");
    free(big);
    logstore_pending_free(&pd);
    logstore_free(st);
}

static void test_endless_continuation(void)
{
    struct logstore *st = new_store();
    struct logstore_pending pd = {0};
    int sid = logstore_stream(st, "stdout", 6);
    static char line[4097];
    struct logstore_stats s;
    struct logstore_view v;

    feed_s(st, sid, &pd, "2026-12-01T00:00:00Z  INFO app: head\n");
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 5000; i++) /* 20 MB of plain lines after a tracing head */
        logstore_feed(st, sid, &pd, line, sizeof line, 0, 64u << 20);
    logstore_stats(st, &s);
    ok(s.seq > 2 && nth(st, 0, &v) && v.h.size <= LOGSTORE_ENTRY_MAX &&
           v.h.size > LOGSTORE_ENTRY_MAX - sizeof line,
       "an endless continuation fills one entry up to LOGSTORE_ENTRY_MAX, then the lines are "
       "entries of their own (%lld entries)",
       (long long)s.seq);
    logstore_pending_free(&pd);
    logstore_free(st);
}

int main(void)
{
    test_endless_continuation();
    test_split_and_join();
    test_spill();
    test_query();
    test_long_line();
    return tap_done();
}
