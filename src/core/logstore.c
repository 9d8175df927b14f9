/* logstore.c - a node's log as records in an arena: lines split and parsed, continuations
 * joined, re-attach repeats dropped, the older half handed out when over budget. The rules
 * are in logstore.h; queries over the records are core/logquery. */
#include "core/logstore.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

struct stream {
    char *name;
    size_t name_n;
    int64_t last_ns; /* the last engine time seen, -1 when none */
    uint64_t *bound; /* hashes of the lines seen at last_ns */
    size_t nbound, bound_cap;
};

struct logstore {
    struct logstore_hooks hooks;
    char *a; /* the records */
    size_t len, cap;
    size_t last_off; /* the last record, or SIZE_MAX */
    int64_t count, seq, spilled;
    size_t spill_bytes;
    int spill_failed_at; /* count when a spill last failed: retried after as many more */
    struct stream streams[LOGSTORE_STREAMS];
    int nstreams;
    char *scratch;
    size_t scratch_cap;
    char *disk; /* kept lines of the piece being fed */
    size_t disk_n, disk_cap;
    struct logstore_chunk *chunks;
    size_t nchunks, chunks_cap;
};

static void grow(char **p, size_t *cap, size_t need)
{
    size_t c = *cap ? *cap : 256;

    if (need <= *cap)
        return;
    while (c < need)
        c *= 2;
    *p = xrealloc(*p, c);
    *cap = c;
}

static void put(char **p, size_t *len, size_t *cap, const void *s, size_t n)
{
    grow(p, cap, *len + n);
    if (n)
        memcpy(*p + *len, s, n);
    *len += n;
}

uint32_t logstore_hash_more(uint32_t h, const char *p, size_t n)
{
    while (n--)
        h = (h ^ (unsigned char)*p++) * 16777619u;
    return h;
}

uint32_t logstore_hash(const char *p, size_t n)
{
    return logstore_hash_more(2166136261u, p, n);
}

static uint64_t hash64(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    while (n--)
        h = (h ^ (unsigned char)*p++) * 0x100000001b3ULL;
    return h;
}

struct logstore *logstore_new(const struct logstore_hooks *hooks)
{
    struct logstore *st = xcalloc(1, sizeof *st);

    if (hooks)
        st->hooks = *hooks;
    st->last_off = SIZE_MAX;
    st->spill_failed_at = -1;
    return st;
}

void logstore_free(struct logstore *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->nstreams; i++) {
        free(st->streams[i].name);
        free(st->streams[i].bound);
    }
    free(st->a);
    free(st->scratch);
    free(st->disk);
    free(st->chunks);
    free(st);
}

int logstore_stream_find(const struct logstore *st, const char *name, size_t n)
{
    for (int i = 0; i < st->nstreams; i++)
        if (st->streams[i].name_n == n && memcmp(st->streams[i].name, name, n) == 0)
            return i;
    return -1;
}

int logstore_stream(struct logstore *st, const char *name, size_t n)
{
    int i = logstore_stream_find(st, name, n);
    struct stream *s;

    if (i >= 0)
        return i;
    if (st->nstreams >= LOGSTORE_STREAMS)
        return -1;
    s = &st->streams[st->nstreams];
    memset(s, 0, sizeof *s);
    s->name = xstrndup(name, n);
    s->name_n = n;
    s->last_ns = -1;
    return st->nstreams++;
}

const char *logstore_stream_name(const struct logstore *st, int id)
{
    return id >= 0 && id < st->nstreams ? st->streams[id].name : "";
}

const struct logstore_chunk *logstore_chunks(const struct logstore *st, size_t *n)
{
    *n = st->nchunks;
    return st->chunks;
}

const char *logstore_mem(const struct logstore *st, size_t *len)
{
    *len = st->len;
    return st->a ? st->a : "";
}

void logstore_stats(const struct logstore *st, struct logstore_stats *out)
{
    struct logstore_view v;

    memset(out, 0, sizeof *out);
    out->seq = st->seq;
    out->spilled = st->spilled;
    out->in_memory = st->count;
    out->mem_bytes = st->len;
    out->spill_bytes = st->spill_bytes;
    out->last_ts_ns = -1;
    if (st->last_off != SIZE_MAX &&
        logstore_rec_at(st->a + st->last_off, st->len - st->last_off, &v))
        out->last_ts_ns = v.h.tail_ts_ns;
    out->resume_ts_ns = -1;
    for (int i = 0; i < st->nstreams; i++) {
        int64_t t = st->streams[i].last_ns;
        if (t >= 0 && (out->resume_ts_ns < 0 || t < out->resume_ts_ns))
            out->resume_ts_ns = t;
    }
}

/* --- records ------------------------------------------------------------------------------ */

static void put_u32(char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static uint32_t get_u32(const char *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

size_t logstore_encode(const struct logparse_entry *e, const char *raw, size_t raw_n, int64_t seq,
                       int stream, char *out, size_t cap)
{
    struct logstore_rec h;
    size_t need, fields_n = 0;
    char *p;

    for (int i = 0; i < e->nfields; i++)
        fields_n += 8 + e->fields[i].key.n + e->fields[i].val.n;
    need = LOGSTORE_REC_HDR + e->target.n + e->spans.n + e->thread.n + e->location.n + fields_n +
           e->message.n + raw_n;
    if (need > cap || need > UINT32_MAX)
        return need;
    memset(&h, 0, sizeof h);
    h.size = (uint32_t)need;
    h.msg_hash = logstore_hash(e->message.p, e->message.n);
    h.seq = seq;
    h.engine_ts_ns = e->engine_ts_ns;
    h.ts_ns = e->ts_ns;
    h.tail_ts_ns = e->engine_ts_ns;
    h.flags = e->flags;
    h.level = (uint8_t)e->level;
    h.format = (uint8_t)e->format;
    h.stream = (uint8_t)stream;
    h.nfields = (uint8_t)e->nfields;
    h.target_n = (uint32_t)e->target.n;
    h.spans_n = (uint32_t)e->spans.n;
    h.thread_n = (uint32_t)e->thread.n;
    h.loc_n = (uint32_t)e->location.n;
    h.fields_n = (uint32_t)fields_n;
    h.msg_n = (uint32_t)e->message.n;
    h.raw_n = (uint32_t)raw_n;
    h.cont_n = 0;
    memcpy(out, &h, sizeof h);
    p = out + sizeof h;
#define PUT(s, n)                                                                                  \
    do {                                                                                           \
        if (n)                                                                                     \
            memcpy(p, s, n);                                                                       \
        p += n;                                                                                    \
    } while (0)
    PUT(e->target.p, e->target.n);
    PUT(e->spans.p, e->spans.n);
    PUT(e->thread.p, e->thread.n);
    PUT(e->location.p, e->location.n);
    for (int i = 0; i < e->nfields; i++) {
        put_u32(p, (uint32_t)e->fields[i].key.n);
        put_u32(p + 4, (uint32_t)e->fields[i].val.n);
        p += 8;
        PUT(e->fields[i].key.p, e->fields[i].key.n);
        PUT(e->fields[i].val.p, e->fields[i].val.n);
    }
    PUT(e->message.p, e->message.n);
    PUT(raw, raw_n);
#undef PUT
    return need;
}

size_t logstore_rec_at(const char *p, size_t n, struct logstore_view *v)
{
    uint64_t sum;
    const char *q;

    if (n < LOGSTORE_REC_HDR)
        return 0;
    memcpy(&v->h, p, sizeof v->h);
    sum = (uint64_t)LOGSTORE_REC_HDR + v->h.target_n + v->h.spans_n + v->h.thread_n + v->h.loc_n +
          v->h.fields_n + v->h.msg_n + v->h.raw_n + v->h.cont_n;
    if (v->h.size < LOGSTORE_REC_HDR || v->h.size > n || sum != v->h.size)
        return 0;
    q = p + LOGSTORE_REC_HDR;
    v->target = q;
    q += v->h.target_n;
    v->spans = q;
    q += v->h.spans_n;
    v->thread = q;
    q += v->h.thread_n;
    v->loc = q;
    q += v->h.loc_n;
    v->fields = q;
    q += v->h.fields_n;
    v->msg = q;
    q += v->h.msg_n;
    v->raw = q;
    q += v->h.raw_n;
    v->cont = q;
    return v->h.size;
}

int logstore_field(const struct logstore_view *v, int i, const char **k, size_t *kn,
                   const char **val, size_t *vn)
{
    const char *p = v->fields, *end = v->fields + v->h.fields_n;

    for (int j = 0;; j++) {
        uint32_t a, b;
        if (end - p < 8)
            return -1;
        a = get_u32(p);
        b = get_u32(p + 4);
        if ((uint64_t)a + b > (uint64_t)(end - p - 8))
            return -1;
        if (j == i) {
            *k = p + 8;
            *kn = a;
            *val = p + 8 + a;
            *vn = b;
            return 0;
        }
        p += 8 + (size_t)a + b;
    }
}

/* --- ingest -------------------------------------------------------------------------------- */

/* Move the older half of the records out through on_spill. */
static void spill(struct logstore *st)
{
    int64_t k = st->count / 2, i;
    size_t off = 0;
    struct logstore_view v;
    struct logstore_chunk c;

    if (!st->hooks.on_spill || k == 0)
        return;
    if (st->spill_failed_at >= 0 && st->count < 2 * (int64_t)st->spill_failed_at)
        return; /* no disk a moment ago: keep them in memory rather than lose them */
    memset(&c, 0, sizeof c);
    c.min_ns = INT64_MAX;
    for (i = 0; i < k; i++) {
        size_t n = logstore_rec_at(st->a + off, st->len - off, &v);
        int64_t t;
        uint32_t h;
        if (!n)
            return;
        off += n;
        t = v.h.engine_ts_ns >= 0 ? v.h.engine_ts_ns : v.h.ts_ns >= 0 ? v.h.ts_ns : 0;
        c.min_ns = t < c.min_ns ? t : c.min_ns;
        c.max_ns = t > c.max_ns ? t : c.max_ns;
        if (v.h.level > c.max_level)
            c.max_level = v.h.level;
        c.streams |= 1ull << (v.h.stream & 63);
        h = v.h.cont_n ? logstore_hash_more(v.h.msg_hash, v.cont, v.h.cont_n) : v.h.msg_hash;
        c.bloom[LOGSTORE_BLOOM_A(h) / 64] |= 1ull << (LOGSTORE_BLOOM_A(h) % 64);
        c.bloom[LOGSTORE_BLOOM_B(h) / 64] |= 1ull << (LOGSTORE_BLOOM_B(h) % 64);
        if (i == 0)
            c.first_seq = v.h.seq;
    }
    c.off = st->spill_bytes;
    c.size = off;
    c.count = k;
    if (st->hooks.on_spill(st->hooks.ud, st->a, off) != 0) {
        st->spill_failed_at = (int)(st->count > 0x3fffffff ? 0x3fffffff : st->count);
        return;
    }
    st->spill_failed_at = -1;
    if (st->nchunks == st->chunks_cap) {
        st->chunks_cap = st->chunks_cap ? 2 * st->chunks_cap : 16;
        st->chunks = xrealloc(st->chunks, st->chunks_cap * sizeof *st->chunks);
    }
    st->chunks[st->nchunks++] = c;
    memmove(st->a, st->a + off, st->len - off);
    st->len -= off;
    st->last_off -= off;
    st->count -= k;
    st->spilled += k;
    st->spill_bytes += off;
}

static int bound_has(const struct stream *s, uint64_t h)
{
    for (size_t i = 0; i < s->nbound; i++)
        if (s->bound[i] == h)
            return 1;
    return 0;
}

static void bound_add(struct stream *s, uint64_t h)
{
    if (s->nbound == s->bound_cap) {
        s->bound_cap = s->bound_cap ? 2 * s->bound_cap : 8;
        s->bound = xrealloc(s->bound, s->bound_cap * sizeof *s->bound);
    }
    s->bound[s->nbound++] = h;
}

/* One line (no '\n'); returns 1 when it was kept (added or joined), 0 when skipped. */
static int add_line(struct logstore *st, int sid, const char *line, size_t len, int engine_prefix,
                    size_t budget)
{
    struct stream *s = &st->streams[sid];
    struct logparse_entry e, head;
    struct logstore_view last;
    const char *raw = line;
    size_t raw_n = len, need, off;
    int have_last = 0;

    if (len == 0)
        return 0;
    need = LOGPARSE_SCRATCH_NEED(len);
    grow(&st->scratch, &st->scratch_cap, need);
    logparse_line(line, len, engine_prefix ? LOGPARSE_OPT_ENGINE_TS : 0, st->scratch,
                  st->scratch_cap, &e);
    if (e.engine_ts_ns >= 0) { /* raw: the line without the engine's prefix */
        const char *sp = memchr(line, ' ', len);
        if (sp) {
            raw_n -= (size_t)(sp + 1 - line);
            raw = sp + 1;
        }
    }
    while (raw_n && (raw[raw_n - 1] == '\n' || raw[raw_n - 1] == '\r'))
        raw_n--;

    if (st->last_off != SIZE_MAX)
        have_last = logstore_rec_at(st->a + st->last_off, st->len - st->last_off, &last) != 0;
    if (have_last && last.h.stream == sid) {
        memset(&head, 0, sizeof head);
        head.format = (enum logparse_format)last.h.format;
        head.level = (enum logparse_level)last.h.level;
        if (logparse_is_continuation(&head, &e) &&
            (e.engine_ts_ns < 0 || last.h.tail_ts_ns < 0 ||
             e.engine_ts_ns - last.h.tail_ts_ns < LOGSTORE_CONT_NS) &&
            (size_t)last.h.size + raw_n + 1 <= LOGSTORE_ENTRY_MAX) {
            struct logstore_rec *h;
            struct logstore_rec hv;
            put(&st->a, &st->len, &st->cap, "\n", 1);
            put(&st->a, &st->len, &st->cap, raw, raw_n);
            h = (struct logstore_rec *)(void *)(st->a + st->last_off);
            memcpy(&hv, h, sizeof hv);
            hv.cont_n += (uint32_t)(raw_n + 1);
            hv.size += (uint32_t)(raw_n + 1);
            if (e.engine_ts_ns >= 0)
                hv.tail_ts_ns = e.engine_ts_ns;
            memcpy(st->a + st->last_off, &hv, sizeof hv);
            if (st->hooks.on_entry)
                st->hooks.on_entry(st->hooks.ud, st, st->last_off, 1);
            return 1;
        }
    }

    /* after a re-attach the engine repeats lines at the `since` boundary (per stream) */
    if (e.engine_ts_ns >= 0) {
        uint64_t hr = hash64(raw, raw_n);
        if (s->last_ns >= 0 && e.engine_ts_ns <= s->last_ns &&
            (e.engine_ts_ns < s->last_ns || bound_has(s, hr)))
            return 0;
        if (e.engine_ts_ns != s->last_ns)
            s->nbound = 0;
        s->last_ns = e.engine_ts_ns;
        bound_add(s, hr);
    }

    need = logstore_encode(&e, raw, raw_n, st->seq + 1, sid, NULL, 0);
    if (need > UINT32_MAX)
        return 0;
    grow(&st->a, &st->cap, st->len + need);
    off = st->len;
    logstore_encode(&e, raw, raw_n, st->seq + 1, sid, st->a + off, need);
    st->len += need;
    st->last_off = off;
    st->seq++;
    st->count++;
    if (st->len > budget && st->count > LOGSTORE_MIN_KEEP)
        spill(st);
    if (st->hooks.on_entry)
        st->hooks.on_entry(st->hooks.ud, st, st->last_off, 0);
    return 1;
}

static void keep_line(struct logstore *st, const char *line, size_t n)
{
    if (!st->hooks.on_disk)
        return;
    put(&st->disk, &st->disk_n, &st->disk_cap, line, n);
    put(&st->disk, &st->disk_n, &st->disk_cap, "\n", 1);
}

static void line_done(struct logstore *st, int sid, const char *line, size_t n, int engine_prefix,
                      size_t budget)
{
    if (n && line[n - 1] == '\r')
        n--;
    if (add_line(st, sid, line, n, engine_prefix, budget))
        keep_line(st, line, n);
}

void logstore_pending_free(struct logstore_pending *pend)
{
    free(pend->p);
    pend->p = NULL;
    pend->n = pend->cap = 0;
}

void logstore_feed(struct logstore *st, int sid, struct logstore_pending *pend, const char *p,
                   size_t n, int engine_prefix, size_t budget)
{
    const char *end = p + n, *nl;

    if (sid < 0 || sid >= st->nstreams || n == 0)
        return;
    if (pend->n) {
        nl = memchr(p, '\n', n);
        put(&pend->p, &pend->n, &pend->cap, p, nl ? (size_t)(nl - p) : n);
        if (nl) {
            line_done(st, sid, pend->p, pend->n, engine_prefix, budget);
            pend->n = 0;
            p = nl + 1;
        } else {
            p = end;
        }
    }
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) {
            put(&pend->p, &pend->n, &pend->cap, p, (size_t)(end - p));
            break;
        }
        line_done(st, sid, p, (size_t)(nl - p), engine_prefix, budget);
        p = nl + 1;
    }
    if (pend->n > LOGSTORE_LINE_MAX) { /* a line without newline: take it as it is */
        add_line(st, sid, pend->p, pend->n, engine_prefix, budget);
        pend->n = 0;
    }
    if (st->disk_n) {
        st->hooks.on_disk(st->hooks.ud, st->disk, st->disk_n);
        st->disk_n = 0;
    }
}

void logstore_flush(struct logstore *st, int sid, struct logstore_pending *pend, int engine_prefix,
                    size_t budget)
{
    if (pend->n)
        logstore_feed(st, sid, pend, "\n", 1, engine_prefix, budget);
}
