/* peerproto.c - natrig-peer's wire format, gateway table and punch/ping state machine.
 * Pure: the caller passes the clock in and does all I/O (see peerproto.h). */
#include "core/peerproto.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipv4.h"
#include "core/ipv6.h"

static const char peerproto_magic[2] = {'N', 'T'};

const char *peerproto_type_name(int type)
{
    static const char *names[] = {"unknown",   "register", "registered", "peers",      "punch",
                                  "punch_ack", "ping",     "pong",       "register_at"};

    if (type > 0 && (size_t)type < sizeof names / sizeof names[0])
        return names[type];
    return "unknown";
}

const char *peerproto_bad_name(enum peerproto_bad why)
{
    static const char *names[] = {"ok",          "truncated",     "oversized", "bad_magic",
                                  "bad_version", "unknown_type",  "bad_name",  "bad_addr",
                                  "bad_count",   "trailing_bytes"};

    if ((unsigned)why < sizeof names / sizeof names[0])
        return names[why];
    return "unknown";
}

static int name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* Names travel unquoted in log fields and inside --expect lists, hence the small charset. */
static int name_valid_n(const unsigned char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > PEERPROTO_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!name_char_ok(s[i]))
            return 0;
    return 1;
}

int peerproto_name_valid(const char *s)
{
    return s && name_valid_n((const unsigned char *)s, strnlen(s, PEERPROTO_NAME_MAX + 1));
}

/* --- encoding --------------------------------------------------------------------------- */

struct wr {
    unsigned char *p;
    size_t len, cap;
    int overflow;
};

static void wr_bytes(struct wr *w, const void *src, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void wr_u8(struct wr *w, unsigned v)
{
    unsigned char b = (unsigned char)v;
    wr_bytes(w, &b, 1);
}

static void wr_u16(struct wr *w, unsigned v)
{
    unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    wr_bytes(w, b, 2);
}

static void wr_u32(struct wr *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    wr_bytes(w, b, 4);
}

static void wr_u64(struct wr *w, uint64_t v)
{
    wr_u32(w, (uint32_t)(v >> 32));
    wr_u32(w, (uint32_t)v);
}

static int wr_name(struct wr *w, const char *s)
{
    if (!peerproto_name_valid(s))
        return -1;
    wr_u8(w, (unsigned)strlen(s));
    wr_bytes(w, s, strlen(s));
    return 0;
}

static int wr_addr(struct wr *w, const struct peerproto_addr *a)
{
    if (a->port == 0)
        return -1;
    if (a->v6) {
        wr_u8(w, 6);
        wr_bytes(w, a->ip6.b, sizeof a->ip6.b);
    } else {
        wr_u8(w, 4);
        wr_u32(w, a->ip);
    }
    wr_u16(w, a->port);
    return 0;
}

long peerproto_encode(const struct peerproto_msg *m, void *out, size_t cap, struct nt_err *err)
{
    struct wr w = {out, 0, cap, 0};
    size_t i;

    wr_bytes(&w, peerproto_magic, 2);
    wr_u8(&w, PEERPROTO_VERSION);
    wr_u8(&w, (unsigned)m->type);
    wr_u32(&w, m->seq);
    switch (m->type) {
    case PEERPROTO_REGISTER:
        if (wr_name(&w, m->name) < 0)
            return nt_err_set(err, NT_EINVAL, "peerproto encode", "invalid peer name");
        break;
    case PEERPROTO_REGISTERED:
        if (wr_addr(&w, &m->addr) < 0)
            return nt_err_set(err, NT_EINVAL, "peerproto encode", "endpoint has port 0");
        break;
    case PEERPROTO_REGISTER_AT:
        if (wr_name(&w, m->name) < 0)
            return nt_err_set(err, NT_EINVAL, "peerproto encode", "invalid peer name");
        if (wr_addr(&w, &m->addr) < 0)
            return nt_err_set(err, NT_EINVAL, "peerproto encode", "endpoint has port 0");
        break;
    case PEERPROTO_PEERS:
        if (m->npeers > PEERPROTO_PEERS_PER_DGRAM)
            return nt_err_set(err, NT_LIMIT, "peerproto encode",
                              "%zu peers in one datagram (max %d)", m->npeers,
                              PEERPROTO_PEERS_PER_DGRAM);
        wr_u8(&w, (unsigned)m->npeers);
        for (i = 0; i < m->npeers; i++)
            if (wr_name(&w, m->peers[i].name) < 0 || wr_addr(&w, &m->peers[i].addr) < 0)
                return nt_err_set(err, NT_EINVAL, "peerproto encode", "invalid peer entry %zu", i);
        break;
    case PEERPROTO_PUNCH:
    case PEERPROTO_PUNCH_ACK:
        if (wr_name(&w, m->name) < 0 || wr_name(&w, m->to) < 0)
            return nt_err_set(err, NT_EINVAL, "peerproto encode", "invalid peer name");
        break;
    case PEERPROTO_PING:
    case PEERPROTO_PONG:
        if (wr_name(&w, m->name) < 0)
            return nt_err_set(err, NT_EINVAL, "peerproto encode", "invalid peer name");
        wr_u64(&w, m->ts);
        break;
    default:
        return nt_err_set(err, NT_EINVAL, "peerproto encode", "unknown message type %d",
                          (int)m->type);
    }
    if (w.overflow || w.len > PEERPROTO_MAX_DGRAM)
        return nt_err_set(err, NT_LIMIT, "peerproto encode", "message does not fit in %zu bytes",
                          cap < PEERPROTO_MAX_DGRAM ? cap : (size_t)PEERPROTO_MAX_DGRAM);
    return (long)w.len;
}

/* --- decoding --------------------------------------------------------------------------- */

struct rd {
    const unsigned char *p;
    size_t len, pos;
};

static int rd_need(const struct rd *r, size_t n)
{
    return n <= r->len - r->pos;
}

static uint32_t rd_u32(struct rd *r)
{
    const unsigned char *b = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static enum peerproto_bad rd_name(struct rd *r, char *out)
{
    size_t n;

    if (!rd_need(r, 1))
        return PEERPROTO_BAD_TRUNCATED;
    n = r->p[r->pos];
    if (n == 0 || n > PEERPROTO_NAME_MAX)
        return PEERPROTO_BAD_NAME;
    if (!rd_need(r, 1 + n))
        return PEERPROTO_BAD_TRUNCATED;
    if (!name_valid_n(r->p + r->pos + 1, n))
        return PEERPROTO_BAD_NAME;
    memcpy(out, r->p + r->pos + 1, n);
    out[n] = '\0';
    r->pos += 1 + n;
    return PEERPROTO_OK;
}

static enum peerproto_bad rd_addr(struct rd *r, struct peerproto_addr *a)
{
    if (!rd_need(r, 1))
        return PEERPROTO_BAD_TRUNCATED;
    if (r->p[r->pos] != 4 && r->p[r->pos] != 6)
        return PEERPROTO_BAD_ADDR;
    memset(a, 0, sizeof *a);
    a->v6 = r->p[r->pos] == 6;
    if (!rd_need(r, a->v6 ? 19 : 7))
        return PEERPROTO_BAD_TRUNCATED;
    r->pos++;
    if (a->v6) {
        memcpy(a->ip6.b, r->p + r->pos, sizeof a->ip6.b);
        r->pos += sizeof a->ip6.b;
    } else {
        a->ip = rd_u32(r);
    }
    a->port = (uint16_t)(r->p[r->pos] << 8 | r->p[r->pos + 1]);
    r->pos += 2;
    return a->port ? PEERPROTO_OK : PEERPROTO_BAD_ADDR;
}

static enum peerproto_bad decode_body(struct rd *r, struct peerproto_msg *m)
{
    enum peerproto_bad why = PEERPROTO_OK;
    size_t i;

    switch (m->type) {
    case PEERPROTO_REGISTER:
        return rd_name(r, m->name);
    case PEERPROTO_REGISTERED:
        return rd_addr(r, &m->addr);
    case PEERPROTO_REGISTER_AT:
        why = rd_name(r, m->name);
        return why != PEERPROTO_OK ? why : rd_addr(r, &m->addr);
    case PEERPROTO_PEERS:
        if (!rd_need(r, 1))
            return PEERPROTO_BAD_TRUNCATED;
        m->npeers = r->p[r->pos++];
        if (m->npeers > PEERPROTO_PEERS_PER_DGRAM)
            return PEERPROTO_BAD_COUNT;
        for (i = 0; i < m->npeers && why == PEERPROTO_OK; i++) {
            why = rd_name(r, m->peers[i].name);
            if (why == PEERPROTO_OK)
                why = rd_addr(r, &m->peers[i].addr);
        }
        return why;
    case PEERPROTO_PUNCH:
    case PEERPROTO_PUNCH_ACK:
        why = rd_name(r, m->name);
        return why != PEERPROTO_OK ? why : rd_name(r, m->to);
    case PEERPROTO_PING:
    case PEERPROTO_PONG:
        why = rd_name(r, m->name);
        if (why != PEERPROTO_OK)
            return why;
        if (!rd_need(r, 8))
            return PEERPROTO_BAD_TRUNCATED;
        m->ts = (uint64_t)rd_u32(r) << 32;
        m->ts |= rd_u32(r);
        return PEERPROTO_OK;
    }
    return PEERPROTO_BAD_TYPE;
}

static enum peerproto_bad decode(const void *buf, size_t len, struct peerproto_msg *m)
{
    struct rd r = {buf, len, 0};
    enum peerproto_bad why;
    int type;

    if (len > PEERPROTO_MAX_DGRAM)
        return PEERPROTO_BAD_OVERSIZED;
    if (len < 8)
        return PEERPROTO_BAD_TRUNCATED;
    if (memcmp(r.p, peerproto_magic, 2) != 0)
        return PEERPROTO_BAD_MAGIC;
    if (r.p[2] != PEERPROTO_VERSION)
        return PEERPROTO_BAD_VERSION;
    type = r.p[3];
    if (type < PEERPROTO_REGISTER || type > PEERPROTO_REGISTER_AT)
        return PEERPROTO_BAD_TYPE;
    memset(m, 0, sizeof *m);
    m->type = (enum peerproto_type)type;
    r.pos = 4;
    m->seq = rd_u32(&r);
    why = decode_body(&r, m);
    if (why == PEERPROTO_OK && r.pos != r.len)
        why = PEERPROTO_BAD_TRAILING;
    return why;
}

enum peerproto_bad peerproto_decode(const void *buf, size_t len, struct peerproto_msg *m,
                                    struct peerproto_stats *st)
{
    enum peerproto_bad why = decode(buf, len, m);

    if (st) {
        if (why == PEERPROTO_OK) {
            st->ok++;
        } else {
            st->bad_total++;
            st->bad[why]++;
        }
    }
    return why;
}

/* --- addresses and argv values ------------------------------------------------------------ */

char *peerproto_addr_format(const struct peerproto_addr *a, char *buf, size_t cap)
{
    char host[IPV6_TEXT_MAX];

    if (a->v6) {
        ipv6_format(&a->ip6, host, sizeof host);
        snprintf(buf, cap, "[%s]:%u", host, (unsigned)a->port);
        return buf;
    }
    snprintf(buf, cap, "%u.%u.%u.%u:%u", (unsigned)(a->ip >> 24), (unsigned)(a->ip >> 16) & 255,
             (unsigned)(a->ip >> 8) & 255, (unsigned)a->ip & 255, (unsigned)a->port);
    return buf;
}

int peerproto_addr_eq(const struct peerproto_addr *a, const struct peerproto_addr *b)
{
    if (!a->v6 != !b->v6 || a->port != b->port)
        return 0;
    return a->v6 ? ipv6_equal(&a->ip6, &b->ip6) : a->ip == b->ip;
}

int peerproto_addr_family(const struct peerproto_addr *a)
{
    return a->v6 ? 6 : 4;
}

size_t peerproto_peers_per_dgram(int family)
{
    return family == 6 ? PEERPROTO_PEERS6_PER_DGRAM : PEERPROTO_PEERS_PER_DGRAM;
}

int peerproto_parse_long(const char *s, long min, long max, long *out, const char *what,
                         struct nt_err *err)
{
    const char *p = s;
    char *end = NULL;
    long v;

    /* strtol alone would take " 12", "+12", "12abc" and "0x"; scripts deserve a clear no. */
    if (!s)
        return nt_err_set(err, NT_EINVAL, what, "missing value for %s", what);
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        goto bad;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            goto bad;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    return nt_err_set(err, NT_EINVAL, what, "invalid %s '%s': expected an integer from %ld to %ld",
                      what, s, min, max);
}

int peerproto_parse_ip(const char *s, uint32_t *ip, const char *what, struct nt_err *err)
{
    if (ipv4_parse(s, ip) < 0)
        return nt_err_set(err, NT_EINVAL, what, "invalid %s '%s': expected an IPv4 address", what,
                          s ? s : "");
    return 0;
}

int peerproto_parse_host(const char *s, struct peerproto_addr *out, const char *what,
                         struct nt_err *err)
{
    struct ipv6_addr a6;
    uint32_t a4;

    if (ipv4_parse(s, &a4) == 0) {
        out->v6 = 0;
        out->ip = a4;
        memset(&out->ip6, 0, sizeof out->ip6);
        return 0;
    }
    if (ipv6_parse(s, &a6) == 0) {
        out->v6 = 1;
        out->ip = 0;
        out->ip6 = a6;
        return 0;
    }
    return nt_err_set(err, NT_EINVAL, what,
                      "invalid %s '%s': expected an IPv4 or IPv6 address (10.0.0.5, 2001:db8::5)",
                      what, s ? s : "");
}

/* "IPv4:PORT" or "[IPv6]:PORT": the host goes to the one parser of its family (core/ipv4,
 * core/ipv6); a bare IPv6 address with a port would be ambiguous, hence the brackets. */
int peerproto_parse_endpoint(const char *s, struct peerproto_addr *out, const char *what,
                             struct nt_err *err)
{
    static const char *want = "expected IPv4:PORT or [IPv6]:PORT";
    const char *colon = s ? strrchr(s, ':') : NULL;
    size_t n = colon ? (size_t)(colon - s) : 0;
    struct peerproto_addr a;
    long port;

    memset(&a, 0, sizeof a);
    if (!colon || n == 0)
        return nt_err_set(err, NT_EINVAL, what, "invalid %s '%s': %s", what, s ? s : "", want);
    if (s[0] == '[') {
        /* "[...]:" : the bracket must close right before the last colon */
        if (n < 3 || s[n - 1] != ']' || ipv6_parse_n(s + 1, n - 2, &a.ip6) < 0)
            return nt_err_set(err, NT_EINVAL, what, "invalid %s '%s': %s", what, s, want);
        a.v6 = 1;
    } else if (ipv4_parse_n(s, n, &a.ip) < 0) {
        return nt_err_set(err, NT_EINVAL, what, "invalid %s '%s': %s%s", what, s, want,
                          memchr(s, ':', n) ? " (an IPv6 address goes in brackets)" : "");
    }
    if (peerproto_parse_long(colon + 1, 1, 65535, &port, what, NULL) < 0)
        return nt_err_set(err, NT_EINVAL, what, "invalid %s '%s': port must be 1..65535", what, s);
    a.port = (uint16_t)port;
    *out = a;
    return 0;
}

int peerproto_parse_names(const char *s, char (*names)[PEERPROTO_NAME_MAX + 1], size_t max,
                          const char *what, struct nt_err *err)
{
    const char *p = s, *comma;
    size_t n = 0, len, i;

    if (!s || !*s)
        return nt_err_set(err, NT_EINVAL, what, "empty %s list", what);
    for (;;) {
        comma = strchr(p, ',');
        len = comma ? (size_t)(comma - p) : strlen(p);
        if (!name_valid_n((const unsigned char *)p, len))
            return nt_err_set(err, NT_EINVAL, what,
                              "invalid %s '%s': names are 1..%d of [A-Za-z0-9._-], comma-separated",
                              what, s, PEERPROTO_NAME_MAX);
        if (n == max)
            return nt_err_set(err, NT_LIMIT, what, "too many names in %s (max %zu)", what, max);
        memcpy(names[n], p, len);
        names[n][len] = '\0';
        for (i = 0; i < n; i++)
            if (strcmp(names[i], names[n]) == 0)
                return nt_err_set(err, NT_EINVAL, what, "duplicate name '%s' in %s", names[n],
                                  what);
        n++;
        if (!comma)
            return (int)n;
        p = comma + 1;
    }
}

/* --- gateway table ----------------------------------------------------------------------- */

void peerproto_gw_init(struct peerproto_gw *gw)
{
    memset(gw, 0, sizeof *gw);
}

enum peerproto_gw_result peerproto_gw_register(struct peerproto_gw *gw, const char *name,
                                               const struct peerproto_addr *addr, int64_t now_us,
                                               struct peerproto_addr *previous)
{
    struct peerproto_gw_entry *e;
    size_t i;

    for (i = 0; i < gw->n; i++) {
        e = &gw->e[i];
        if (strcmp(e->name, name) != 0)
            continue;
        e->last_seen_us = now_us;
        if (peerproto_addr_eq(&e->addr, addr))
            return PEERPROTO_GW_REFRESHED;
        if (previous)
            *previous = e->addr;
        e->addr = *addr;
        return PEERPROTO_GW_MOVED;
    }
    if (gw->n == PEERPROTO_MAX_PEERS)
        return PEERPROTO_GW_FULL;
    e = &gw->e[gw->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->addr = *addr;
    e->last_seen_us = now_us;
    return PEERPROTO_GW_NEW;
}

int peerproto_gw_expire(struct peerproto_gw *gw, int64_t now_us, int64_t ttl_us,
                        struct peerproto_gw_entry *gone)
{
    size_t i;

    for (i = 0; i < gw->n; i++) {
        if (now_us - gw->e[i].last_seen_us <= ttl_us)
            continue;
        *gone = gw->e[i];
        /* memmove keeps registration order, so PEERS lists stay stable between pages */
        memmove(&gw->e[i], &gw->e[i + 1], (gw->n - i - 1) * sizeof gw->e[0]);
        gw->n--;
        return 1;
    }
    return 0;
}

size_t peerproto_gw_peers(const struct peerproto_gw *gw, const char *exclude, size_t skip,
                          struct peerproto_peer *out, size_t max)
{
    size_t i, n = 0;

    for (i = 0; i < gw->n && n < max; i++) {
        if (exclude && strcmp(gw->e[i].name, exclude) == 0)
            continue;
        if (skip > 0) {
            skip--;
            continue;
        }
        memcpy(out[n].name, gw->e[i].name, sizeof out[n].name);
        out[n].addr = gw->e[i].addr;
        n++;
    }
    return n;
}

/* --- peer: one remote ------------------------------------------------------------------ */

void peerproto_remote_init(struct peerproto_remote *r, const char *name)
{
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->state = PEERPROTO_ST_WAITING;
    r->deadline_us = INT64_MAX; /* not expected: waits for an introduction forever */
}

void peerproto_remote_expect(struct peerproto_remote *r, int64_t now_us,
                             const struct peerproto_timing *t)
{
    r->expected = 1;
    if (r->state == PEERPROTO_ST_WAITING)
        r->deadline_us =
            now_us + (t->intro_timeout_us > 0 ? t->intro_timeout_us : t->punch_timeout_us);
}

int peerproto_remote_introduce(struct peerproto_remote *r, const struct peerproto_addr *pub,
                               int64_t now_us, const struct peerproto_timing *t)
{
    if (r->has_public && peerproto_addr_eq(&r->public_addr, pub))
        return 0; /* a repeated introduction (keepalive refresh): nothing new */
    if (r->state == PEERPROTO_ST_CONNECTED && !r->has_public) {
        /* it punched us before the gateway introduced it: already done */
        r->public_addr = *pub;
        r->has_public = 1;
        return 0;
    }
    /* new, or its public endpoint changed (it restarted, its NAT remapped): punch again */
    r->public_addr = *pub;
    r->has_public = 1;
    r->state = PEERPROTO_ST_PUNCHING;
    r->attempts = 0;
    r->deadline_us = now_us + t->punch_delay_us + t->punch_timeout_us;
    r->next_punch_us = now_us + t->punch_delay_us;
    return 1;
}

enum peerproto_punch_event peerproto_remote_on_punch(struct peerproto_remote *r,
                                                     const struct peerproto_addr *from,
                                                     int64_t now_us,
                                                     const struct peerproto_timing *t)
{
    if (r->state != PEERPROTO_ST_CONNECTED) {
        r->state = PEERPROTO_ST_CONNECTED;
        r->actual_addr = *from;
        r->has_actual = 1;
        r->pings_sent = 0;
        r->pongs = 0;
        r->pings_reported = 0;
        r->rtt_min_us = r->rtt_max_us = r->rtt_sum_us = 0;
        memset(r->pong_seen, 0, sizeof r->pong_seen);
        r->next_ping_us = now_us;
        r->next_keepalive_us = now_us + t->keepalive_us;
        /* an unanswered keepalive stays unanswered across a new punch (the gateway's new
         * introduction after a NAT forgot the mapping): the old path was still lost */
        return PEERPROTO_EV_PUNCHED;
    }
    if (!peerproto_addr_eq(&r->actual_addr, from)) {
        r->actual_addr = *from;
        return PEERPROTO_EV_ADDR_MOVED;
    }
    return PEERPROTO_EV_NONE;
}

int peerproto_remote_on_pong(struct peerproto_remote *r, uint32_t seq, int64_t rtt_us)
{
    if (r->state != PEERPROTO_ST_CONNECTED || rtt_us < 0)
        return 0;
    if (seq == 0) {
        int was_lost = r->path_lost;

        r->keepalive_waiting = r->path_lost = 0;
        return was_lost ? 3 : 2;
    }
    if (seq > r->pings_sent || seq > PEERPROTO_MAX_PINGS)
        return 0;
    if (r->pong_seen[(seq - 1) / 8] & (1u << ((seq - 1) % 8)))
        return 0;
    r->pong_seen[(seq - 1) / 8] |= (unsigned char)(1u << ((seq - 1) % 8));
    if (r->pongs == 0 || rtt_us < r->rtt_min_us)
        r->rtt_min_us = rtt_us;
    if (r->pongs == 0 || rtt_us > r->rtt_max_us)
        r->rtt_max_us = rtt_us;
    r->rtt_sum_us += rtt_us;
    r->pongs++;
    return 1;
}

static unsigned pings_wanted(const struct peerproto_timing *t)
{
    return t->pings > PEERPROTO_MAX_PINGS ? PEERPROTO_MAX_PINGS : t->pings;
}

int peerproto_remote_next(struct peerproto_remote *r, int64_t now_us,
                          const struct peerproto_timing *t, struct peerproto_action *act)
{
    unsigned pings = pings_wanted(t);

    memset(act, 0, sizeof *act);
    if ((r->state == PEERPROTO_ST_CONNECTED || r->state == PEERPROTO_ST_PUNCHING) &&
        r->keepalive_waiting && !r->path_lost && now_us >= r->keepalive_sent_us + t->ping_wait_us) {
        r->path_lost = 1;
        r->keepalive_waiting = 0;
        act->kind = PEERPROTO_ACT_PATH_LOST;
        act->to = r->actual_addr;
        return 1;
    }
    switch (r->state) {
    case PEERPROTO_ST_WAITING:
        if (now_us < r->deadline_us)
            return 0;
        r->state = PEERPROTO_ST_FAILED;
        act->kind = PEERPROTO_ACT_PUNCH_FAILED;
        act->reason = "not_introduced";
        return 1;
    case PEERPROTO_ST_PUNCHING:
        if (now_us >= r->deadline_us) {
            r->state = PEERPROTO_ST_FAILED;
            act->kind = PEERPROTO_ACT_PUNCH_FAILED;
            act->reason = "timeout";
            return 1;
        }
        if (now_us < r->next_punch_us)
            return 0;
        r->attempts++;
        /* from now, not from the last due time: a stalled loop must not burst */
        r->next_punch_us = now_us + t->punch_interval_us;
        act->kind = PEERPROTO_ACT_PUNCH;
        act->to = r->public_addr;
        act->seq = r->attempts;
        return 1;
    case PEERPROTO_ST_CONNECTED:
        if (r->pings_sent < pings && now_us >= r->next_ping_us) {
            r->pings_sent++;
            r->last_ping_us = now_us;
            r->next_ping_us = now_us + t->ping_interval_us;
            act->kind = PEERPROTO_ACT_PING;
            act->to = r->actual_addr;
            act->seq = r->pings_sent;
            return 1;
        }
        if (pings > 0 && !r->pings_reported && r->pings_sent == pings &&
            (r->pongs == pings || now_us >= r->last_ping_us + t->ping_wait_us)) {
            r->pings_reported = 1;
            act->kind = PEERPROTO_ACT_PINGS_DONE;
            return 1;
        }
        if (t->keepalive_us > 0 && now_us >= r->next_keepalive_us) {
            r->next_keepalive_us = now_us + t->keepalive_us;
            if (!r->keepalive_waiting)
                r->keepalive_sent_us = now_us;
            r->keepalive_waiting = 1;
            act->kind = PEERPROTO_ACT_KEEPALIVE;
            act->to = r->actual_addr;
            act->seq = 0;
            return 1;
        }
        return 0;
    case PEERPROTO_ST_FAILED:
        return 0;
    }
    return 0;
}

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int64_t peerproto_remote_wakeup(const struct peerproto_remote *r, const struct peerproto_timing *t)
{
    unsigned pings = pings_wanted(t);
    int64_t w = INT64_MAX;

    switch (r->state) {
    case PEERPROTO_ST_WAITING:
        return r->deadline_us;
    case PEERPROTO_ST_PUNCHING:
        w = min64(r->deadline_us, r->next_punch_us);
        if (r->keepalive_waiting && !r->path_lost)
            w = min64(w, r->keepalive_sent_us + t->ping_wait_us);
        return w;
    case PEERPROTO_ST_CONNECTED:
        if (r->pings_sent < pings)
            w = r->next_ping_us;
        else if (pings > 0 && !r->pings_reported)
            w = r->pongs == pings ? r->last_ping_us : r->last_ping_us + t->ping_wait_us;
        if (t->keepalive_us > 0)
            w = min64(w, r->next_keepalive_us);
        if (r->keepalive_waiting && !r->path_lost)
            w = min64(w, r->keepalive_sent_us + t->ping_wait_us);
        return w;
    case PEERPROTO_ST_FAILED:
        return INT64_MAX;
    }
    return INT64_MAX;
}

struct peerproto_remote *peerproto_table_find(struct peerproto_table *tb, const char *name)
{
    size_t i;

    for (i = 0; i < tb->n; i++)
        if (strcmp(tb->r[i].name, name) == 0)
            return &tb->r[i];
    return NULL;
}

struct peerproto_remote *peerproto_table_get(struct peerproto_table *tb, const char *name)
{
    struct peerproto_remote *r = peerproto_table_find(tb, name);

    if (r || tb->n == PEERPROTO_MAX_PEERS)
        return r;
    r = &tb->r[tb->n++];
    peerproto_remote_init(r, name);
    return r;
}
