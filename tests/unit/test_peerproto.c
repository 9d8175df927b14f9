/* test_peerproto.c - table-driven TAP tests for core/peerproto: wire round trips, rejected
 * datagrams (truncated, garbage, oversized, unknown types) and their counters, the argv
 * value parsers, the gateway table, and the punch/ping state machine driven by a fake
 * clock; endpoints of both families (IPv4, IPv6). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/peerproto.h"
#include "tap.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define NAME32 "abcdefghijklmnopqrstuvwxyz012345"

/* An IPv6 endpoint from text (the test's own rows are valid). */
static struct peerproto_addr a6(const char *ip, uint16_t port)
{
    struct peerproto_addr a;

    memset(&a, 0, sizeof a);
    if (peerproto_parse_host(ip, &a, "test", NULL) < 0 || !a.v6)
        abort();
    a.port = port;
    return a;
}

static struct peerproto_addr a4(uint32_t ip, uint16_t port)
{
    struct peerproto_addr a;

    memset(&a, 0, sizeof a);
    a.ip = ip;
    a.port = port;
    return a;
}

/* m with every endpoint IPv6: its own (addr's port kept) and the peers' (2001:db8:20:N::5) */
static struct peerproto_msg as6(struct peerproto_msg m)
{
    char ip[64];
    size_t i;

    m.addr = a6("2001:db8:1::5", m.addr.port);
    for (i = 0; i < m.npeers && i < PEERPROTO_PEERS_PER_DGRAM; i++) {
        snprintf(ip, sizeof ip, "2001:db8:20:%zx::5", i);
        m.peers[i].addr = a6(ip, m.peers[i].addr.port);
    }
    return m;
}

/* --- round trips -------------------------------------------------------------------------- */

static struct peerproto_msg mk(enum peerproto_type type, uint32_t seq, const char *name,
                               const char *to, uint32_t ip, uint16_t port, uint64_t ts,
                               size_t npeers)
{
    struct peerproto_msg m;
    size_t i;

    memset(&m, 0, sizeof m);
    m.type = type;
    m.seq = seq;
    snprintf(m.name, sizeof m.name, "%s", name ? name : "");
    snprintf(m.to, sizeof m.to, "%s", to ? to : "");
    m.addr.ip = ip;
    m.addr.port = port;
    m.ts = ts;
    m.npeers = npeers;
    for (i = 0; i < npeers && i < PEERPROTO_PEERS_PER_DGRAM; i++) {
        snprintf(m.peers[i].name, sizeof m.peers[i].name, "peer-%zu.x_y", i);
        m.peers[i].addr.ip = IP(172, 20, (unsigned)i, 5);
        m.peers[i].addr.port = (uint16_t)(40000 + i);
    }
    return m;
}

static int msg_eq(const struct peerproto_msg *a, const struct peerproto_msg *b)
{
    size_t i;

    if (a->type != b->type || a->seq != b->seq)
        return 0;
    switch (a->type) {
    case PEERPROTO_REGISTER:
        return strcmp(a->name, b->name) == 0;
    case PEERPROTO_REGISTERED:
        return peerproto_addr_eq(&a->addr, &b->addr);
    case PEERPROTO_REGISTER_AT:
        return strcmp(a->name, b->name) == 0 && peerproto_addr_eq(&a->addr, &b->addr);
    case PEERPROTO_PEERS:
        if (a->npeers != b->npeers)
            return 0;
        for (i = 0; i < a->npeers; i++)
            if (strcmp(a->peers[i].name, b->peers[i].name) != 0 ||
                !peerproto_addr_eq(&a->peers[i].addr, &b->peers[i].addr))
                return 0;
        return 1;
    case PEERPROTO_PUNCH:
    case PEERPROTO_PUNCH_ACK:
        return strcmp(a->name, b->name) == 0 && strcmp(a->to, b->to) == 0;
    case PEERPROTO_PING:
    case PEERPROTO_PONG:
        return strcmp(a->name, b->name) == 0 && a->ts == b->ts;
    }
    return 0;
}

static struct peerproto_msg round_trip_rows[24];
static size_t n_round_trip_rows;
static long round_trip_lens[24];

static void fill_round_trip_rows(void)
{
    struct peerproto_msg rows[] = {
        mk(PEERPROTO_REGISTER, 1, "a", NULL, 0, 0, 0, 0),
        mk(PEERPROTO_REGISTER, UINT32_MAX, NAME32, NULL, 0, 0, 0, 0),
        mk(PEERPROTO_REGISTERED, 7, NULL, NULL, IP(172, 20, 0, 5), 40000, 0, 0),
        mk(PEERPROTO_REGISTERED, 0, NULL, NULL, IP(255, 255, 255, 255), 65535, 0, 0),
        mk(PEERPROTO_PEERS, 0, NULL, NULL, 0, 0, 0, 0),
        mk(PEERPROTO_PEERS, 3, NULL, NULL, 0, 0, 0, 1),
        mk(PEERPROTO_PEERS, 3, NULL, NULL, 0, 0, 0, PEERPROTO_PEERS_PER_DGRAM),
        mk(PEERPROTO_PUNCH, 12, "peer-a", "peer-b", 0, 0, 0, 0),
        mk(PEERPROTO_PUNCH_ACK, 12, "B.2", NAME32, 0, 0, 0, 0),
        mk(PEERPROTO_PING, 1, "a", NULL, 0, 0, 123456789, 0),
        mk(PEERPROTO_PONG, 0, "a", NULL, 0, 0, UINT64_MAX, 0),
        mk(PEERPROTO_REGISTER_AT, 2, "a", NULL, IP(10, 128, 0, 5), 6000, 0, 0),
        as6(mk(PEERPROTO_REGISTERED, 7, NULL, NULL, 0, 40000, 0, 0)),
        as6(mk(PEERPROTO_REGISTER_AT, 2, "a", NULL, 0, 6000, 0, 0)),
        as6(mk(PEERPROTO_PEERS, 3, NULL, NULL, 0, 0, 0, 1)),
        as6(mk(PEERPROTO_PEERS, 3, NULL, NULL, 0, 0, 0, PEERPROTO_PEERS6_PER_DGRAM)),
    };
    size_t i;

    n_round_trip_rows = sizeof rows / sizeof rows[0];
    for (i = 0; i < n_round_trip_rows; i++)
        round_trip_rows[i] = rows[i];
}

static void test_round_trips(void)
{
    unsigned char buf[PEERPROTO_MAX_DGRAM], buf2[PEERPROTO_MAX_DGRAM];
    struct peerproto_msg out;
    struct nt_err err = {0};
    size_t i;
    long n, n2;

    fill_round_trip_rows();
    for (i = 0; i < n_round_trip_rows; i++) {
        const struct peerproto_msg *m = &round_trip_rows[i];
        const char *tn = peerproto_type_name((int)m->type);

        n = peerproto_encode(m, buf, sizeof buf, &err);
        round_trip_lens[i] = n;
        ok(n >= 8 && n <= PEERPROTO_MAX_DGRAM, "row %zu %s: encodes (%ld bytes)", i, tn, n);
        if (n < 0)
            continue;
        is_int(peerproto_decode(buf, (size_t)n, &out, NULL), PEERPROTO_OK, "row %zu %s: decodes", i,
               tn);
        ok(msg_eq(m, &out), "row %zu %s: same fields back", i, tn);
        n2 = peerproto_encode(&out, buf2, sizeof buf2, &err);
        ok(n2 == n && memcmp(buf, buf2, (size_t)n) == 0, "row %zu %s: re-encodes identically", i,
           tn);
    }
}

/* Exact bytes, so the wire format documented in peerproto.h cannot drift unnoticed. */
static void test_golden_bytes(void)
{
    static const unsigned char punch[] = {'N', 'T', 1, 4, 0, 0, 0, 3, 1, 'a', 2, 'b', 'c'};
    static const unsigned char registered[] = {'N', 'T', 1,  2, 0, 0,    1,   0,
                                               4,   172, 20, 0, 5, 0x9c, 0x40};
    /* 2001:db8::5 port 40000 */
    static const unsigned char registered6[] = {'N',  'T',  1,    2,    0, 0, 1,    0,    6,
                                                0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,    0,    0,
                                                0,    0,    0,    0,    0, 0, 0x05, 0x9c, 0x40};
    struct peerproto_msg m = mk(PEERPROTO_PUNCH, 3, "a", "bc", 0, 0, 0, 0);
    unsigned char buf[64];
    long n = peerproto_encode(&m, buf, sizeof buf, NULL);

    ok(n == (long)sizeof punch && memcmp(buf, punch, sizeof punch) == 0, "golden PUNCH bytes");
    m = mk(PEERPROTO_REGISTERED, 256, NULL, NULL, IP(172, 20, 0, 5), 40000, 0, 0);
    n = peerproto_encode(&m, buf, sizeof buf, NULL);
    ok(n == (long)sizeof registered && memcmp(buf, registered, sizeof registered) == 0,
       "golden REGISTERED bytes");
    m = mk(PEERPROTO_REGISTERED, 256, NULL, NULL, 0, 40000, 0, 0);
    m.addr = a6("2001:db8::5", 40000);
    n = peerproto_encode(&m, buf, sizeof buf, NULL);
    ok(n == (long)sizeof registered6 && memcmp(buf, registered6, sizeof registered6) == 0,
       "golden REGISTERED bytes, IPv6 (family 6, 16 address bytes)");
}

static void test_encode_rejects(void)
{
    struct {
        struct peerproto_msg m;
        size_t cap;
        const char *what;
    } rows[] = {
        {mk(PEERPROTO_REGISTER, 1, "", NULL, 0, 0, 0, 0), 64, "empty name"},
        {mk(PEERPROTO_REGISTER, 1, "has space", NULL, 0, 0, 0, 0), 64, "name with a space"},
        {mk(PEERPROTO_REGISTER, 1, "a=b", NULL, 0, 0, 0, 0), 64, "name with '='"},
        {mk(PEERPROTO_PUNCH, 1, "a", "", 0, 0, 0, 0), 64, "punch without a receiver"},
        {mk(PEERPROTO_REGISTERED, 1, NULL, NULL, IP(1, 2, 3, 4), 0, 0, 0), 64, "port 0"},
        {mk(PEERPROTO_PEERS, 1, NULL, NULL, 0, 0, 0, 0), 64, "too many peers"},
        {mk((enum peerproto_type)9, 1, "a", NULL, 0, 0, 0, 0), 64, "unknown type"},
        {mk(PEERPROTO_PING, 1, "a", NULL, 0, 0, 1, 0), 12, "buffer too small"},
        {as6(mk(PEERPROTO_REGISTERED, 1, NULL, NULL, 0, 0, 0, 0)), 64, "IPv6 port 0"},
    };
    unsigned char buf[PEERPROTO_MAX_DGRAM];
    struct nt_err err;
    size_t i;

    rows[5].m.npeers = PEERPROTO_PEERS_PER_DGRAM + 1;
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memset(&err, 0, sizeof err);
        ok(peerproto_encode(&rows[i].m, buf, rows[i].cap, &err) == -1 && err.msg[0],
           "encode refuses %s (%s)", rows[i].what, err.msg);
    }
    /* a name longer than 32 cannot even be stored in the struct: check the validator */
    ok(!peerproto_name_valid(NAME32 "x"), "33-byte name invalid");
    ok(peerproto_name_valid(NAME32), "32-byte name valid");
    ok(!peerproto_name_valid(NULL), "NULL name invalid");
}

/* --- rejected datagrams ------------------------------------------------------------------ */

static void test_decode_rejects(void)
{
    static const struct {
        const char *bytes; /* "\x.." literal; len given since NULs occur */
        size_t len;
        enum peerproto_bad want;
        const char *what;
    } rows[] = {
        /* Kept as written: clang-format would give the "a" after each "\x01" (a split literal,
         * so the hex escape ends there) a line of its own. */
        /* clang-format off */
        {"", 0, PEERPROTO_BAD_TRUNCATED, "empty"},
        {"NT\x01\x01\x00\x00\x00", 7, PEERPROTO_BAD_TRUNCATED, "short header"},
        {"XT\x01\x01\x00\x00\x00\x01\x01" "a", 10, PEERPROTO_BAD_MAGIC, "bad magic"},
        {"NT\x02\x01\x00\x00\x00\x01\x01" "a", 10, PEERPROTO_BAD_VERSION, "version 2"},
        {"NT\x01\x00\x00\x00\x00\x01", 8, PEERPROTO_BAD_TYPE, "type 0"},
        {"NT\x01\x09\x00\x00\x00\x01", 8, PEERPROTO_BAD_TYPE, "type 9"},
        {"NT\x01\x08\x00\x00\x00\x01\x01" "a", 10, PEERPROTO_BAD_TRUNCATED, "register_at without endpoint"},
        {"NT\x01\xff\x00\x00\x00\x01\x01" "a", 10, PEERPROTO_BAD_TYPE, "type 255"},
        {"NT\x01\x01\x00\x00\x00\x01", 8, PEERPROTO_BAD_TRUNCATED, "register without name"},
        {"NT\x01\x01\x00\x00\x00\x01\x00", 9, PEERPROTO_BAD_NAME, "zero-length name"},
        {"NT\x01\x01\x00\x00\x00\x01\x21", 9, PEERPROTO_BAD_NAME, "name length 33"},
        {"NT\x01\x01\x00\x00\x00\x01\x03" "ab", 11, PEERPROTO_BAD_TRUNCATED, "name cut short"},
        {"NT\x01\x01\x00\x00\x00\x01\x02" "a ", 11, PEERPROTO_BAD_NAME, "name with a space"},
        {"NT\x01\x01\x00\x00\x00\x01\x02" "a\n", 11, PEERPROTO_BAD_NAME, "name with newline"},
        {"NT\x01\x01\x00\x00\x00\x01\x01" "ab", 11, PEERPROTO_BAD_TRAILING, "trailing byte"},
        {"NT\x01\x02\x00\x00\x00\x01\x05\x01\x02\x03\x04\x00\x05", 15, PEERPROTO_BAD_ADDR,
         "address family 5"},
        {"NT\x01\x02\x00\x00\x00\x01\x06\x01\x02\x03\x04\x00\x05", 15, PEERPROTO_BAD_TRUNCATED,
         "family 6 with 4 address bytes"},
        {"NT\x01\x02\x00\x00\x00\x01\x06\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00"
         "\x00\x00\x00\x05\x00\x00", 27, PEERPROTO_BAD_ADDR, "IPv6 port 0"},
        {"NT\x01\x02\x00\x00\x00\x01\x06\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00"
         "\x00\x00\x00\x05\x9c\x40\x00", 28, PEERPROTO_BAD_TRAILING, "IPv6 endpoint, a byte more"},
        {"NT\x01\x02\x00\x00\x00\x01\x04\x01\x02\x03\x04\x00\x00", 15, PEERPROTO_BAD_ADDR,
         "port 0"},
        {"NT\x01\x02\x00\x00\x00\x01\x04\x01\x02\x03\x04\x00", 14, PEERPROTO_BAD_TRUNCATED,
         "address cut short"},
        {"NT\x01\x03\x00\x00\x00\x01", 8, PEERPROTO_BAD_TRUNCATED, "peers without count"},
        {"NT\x01\x03\x00\x00\x00\x01\x19", 9, PEERPROTO_BAD_COUNT, "peers count 25"},
        {"NT\x01\x03\x00\x00\x00\x01\x02\x01" "a\x04\x01\x02\x03\x04\x00\x05", 18,
         PEERPROTO_BAD_TRUNCATED, "peers count says 2, one present"},
        {"NT\x01\x04\x00\x00\x00\x01\x01" "a", 10, PEERPROTO_BAD_TRUNCATED,
         "punch without receiver"},
        {"NT\x01\x06\x00\x00\x00\x01\x01" "a\x00\x00\x00\x00\x00\x00\x00", 17,
         PEERPROTO_BAD_TRUNCATED, "ping with 7-byte timestamp"},
        /* clang-format on */
    };
    struct peerproto_stats st;
    struct peerproto_msg m;
    unsigned long want_bad[PEERPROTO_BAD_N] = {0};
    size_t i;
    int k, counts_ok = 1;

    memset(&st, 0, sizeof st);
    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        enum peerproto_bad got = peerproto_decode(rows[i].bytes, rows[i].len, &m, &st);

        is_str(peerproto_bad_name(got), peerproto_bad_name(rows[i].want), "reject: %s",
               rows[i].what);
        want_bad[rows[i].want]++;
    }
    is_int(st.ok, 0, "no rejected datagram counted as ok");
    is_int(st.bad_total, sizeof rows / sizeof rows[0], "every rejected datagram counted");
    for (k = 0; k < PEERPROTO_BAD_N; k++)
        if (st.bad[k] != want_bad[k])
            counts_ok = 0;
    ok(counts_ok, "counted per reason");
}

static void test_oversized(void)
{
    static unsigned char big[PEERPROTO_MAX_DGRAM + 1];
    struct peerproto_stats st;
    struct peerproto_msg m;

    memset(&st, 0, sizeof st);
    memcpy(big,
           "NT\x01\x01\x00\x00\x00\x01\x01"
           "a",
           10);
    is_int(peerproto_decode(big, sizeof big, &m, &st), PEERPROTO_BAD_OVERSIZED,
           "%zu-byte datagram rejected as oversized", sizeof big);
    is_int(peerproto_decode(big, 65507, &m, &st), PEERPROTO_BAD_OVERSIZED,
           "length beyond the buffer rejected before reading");
    is_int(st.bad[PEERPROTO_BAD_OVERSIZED], 2, "oversized counted");
    is_int(peerproto_decode(big, 10, &m, &st), PEERPROTO_OK, "its first 10 bytes are fine");
    is_int(st.ok, 1, "ok counted");
}

/* Every proper prefix of every valid message must be rejected, never read past its end
 * (run under ASan: a read past len would be caught since each prefix is copied to a heap
 * buffer of exactly that size). */
static void test_truncations(void)
{
    unsigned char buf[PEERPROTO_MAX_DGRAM];
    struct peerproto_msg m;
    size_t i, len;
    long n;
    int all = 1;

    for (i = 0; i < n_round_trip_rows; i++) {
        n = peerproto_encode(&round_trip_rows[i], buf, sizeof buf, NULL);
        for (len = 0; n > 0 && len < (size_t)n; len++) {
            unsigned char *cut = malloc(len ? len : 1);

            memcpy(cut, buf, len);
            if (peerproto_decode(cut, len, &m, NULL) == PEERPROTO_OK) {
                all = 0;
                printf("# prefix %zu of row %zu accepted\n", len, i);
            }
            free(cut);
        }
    }
    ok(all, "every proper prefix of every round-trip row is rejected");
}

/* Deterministic garbage: random bytes, and valid messages with one byte flipped. Decoding
 * must never crash, and whatever decodes must re-encode to the very same bytes. */
static void test_garbage(void)
{
    unsigned char buf[PEERPROTO_MAX_DGRAM], again[PEERPROTO_MAX_DGRAM];
    struct peerproto_stats st;
    struct peerproto_msg m;
    uint32_t x = 12345;
    int i, canonical = 1, counted;
    size_t len, j;
    long n;

    memset(&st, 0, sizeof st);
    for (i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        if (i % 2 == 0) {
            len = (x >> 8) % 64;
            for (j = 0; j < len; j++) {
                x = x * 1103515245u + 12345u;
                buf[j] = (unsigned char)(x >> 16);
            }
            if (len >= 4 && (x & 1)) {
                memcpy(buf, "NT\x01", 3); /* get past the header checks half the time */
                buf[3] = (unsigned char)(1 + (x >> 4) % 7);
            }
        } else {
            n = peerproto_encode(&round_trip_rows[(x >> 8) % n_round_trip_rows], buf, sizeof buf,
                                 NULL);
            len = (size_t)n;
            buf[(x >> 12) % len] ^= (unsigned char)(1u << ((x >> 20) % 8));
        }
        if (peerproto_decode(buf, len, &m, &st) != PEERPROTO_OK)
            continue;
        n = peerproto_encode(&m, again, sizeof again, NULL);
        if (n != (long)len || memcmp(buf, again, len) != 0)
            canonical = 0;
    }
    counted = st.ok + st.bad_total == 20000;
    ok(canonical, "garbage that decodes re-encodes identically (%lu of 20000 decoded)", st.ok);
    ok(counted, "every garbage datagram counted (ok %lu, bad %lu)", st.ok, st.bad_total);
    ok(st.bad[PEERPROTO_BAD_TYPE] > 0 && st.bad[PEERPROTO_BAD_MAGIC] > 0 &&
           st.bad[PEERPROTO_BAD_TRUNCATED] > 0 && st.bad[PEERPROTO_BAD_NAME] > 0,
       "garbage hit the unknown-type, magic, truncation and name checks");
}

/* --- argv values ------------------------------------------------------------------------ */

static void test_parse_long(void)
{
    static const struct {
        const char *s;
        long min, max, want;
        int fail;
    } rows[] = {
        {"0", 0, 10, 0, 0},
        {"10", 0, 10, 10, 0},
        {"11", 0, 10, 0, 1},
        {"-1", 0, 10, 0, 1},
        {"-5", -10, 10, -5, 0},
        {"", 0, 10, 0, 1},
        {" 5", 0, 10, 0, 1},
        {"5 ", 0, 10, 0, 1},
        {"+5", 0, 10, 0, 1},
        {"5x", 0, 10, 0, 1},
        {"0x10", 0, 100, 0, 1},
        {"-", 0, 10, 0, 1},
        {"007", 0, 10, 7, 0},
        {"99999999999999999999", 0, 10, 0, 1},
        {"65535", 1, 65535, 65535, 0},
        {"65536", 1, 65535, 0, 1},
    };
    struct nt_err err;
    size_t i;
    long v;
    int rc;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        v = -999;
        memset(&err, 0, sizeof err);
        rc = peerproto_parse_long(rows[i].s, rows[i].min, rows[i].max, &v, "--n", &err);
        if (rows[i].fail)
            ok(rc == -1 && strstr(err.msg, "--n") && v == -999, "parse_long '%s' refused (%s)",
               rows[i].s, err.msg);
        else
            ok(rc == 0 && v == rows[i].want, "parse_long '%s' = %ld", rows[i].s, rows[i].want);
    }
    ok(peerproto_parse_long(NULL, 0, 1, &v, "--n", &err) == -1, "parse_long NULL refused");
}

static void test_parse_endpoint(void)
{
    static const struct {
        const char *s, *want; /* want NULL: refused */
    } rows[] = {
        {"172.20.0.5:40000", "172.20.0.5:40000"},
        {"0.0.0.0:1", "0.0.0.0:1"},
        {"255.255.255.255:65535", "255.255.255.255:65535"},
        {"172.20.0.5", NULL},
        {"172.20.0.5:", NULL},
        {":80", NULL},
        {"172.20.0.5:0", NULL},
        {"172.20.0.5:65536", NULL},
        {"172.20.0.5:80x", NULL},
        {"172.20.0:80", NULL},
        {"172.20.0.256:80", NULL},
        {"gateway:31337", NULL},
        {"::1:80", NULL},
        {"1.2.3.4:5:6", NULL},
        {"1111111111111111.2.3.4:5", NULL},
        {"[2001:db8::5]:31337", "[2001:db8::5]:31337"},
        {"[::1]:80", "[::1]:80"},
        {"[2001:DB8:0:0:0:0:0:5]:1", "[2001:db8::5]:1"},
        {"[::ffff:1.2.3.4]:65535", "[::ffff:102:304]:65535"},
        {"[::]:9", "[::]:9"},
        {"2001:db8::5:80", NULL},
        {"[2001:db8::5]", NULL},
        {"[2001:db8::5]:0", NULL},
        {"[2001:db8::5]:", NULL},
        {"[]:80", NULL},
        {"[1.2.3.4]:80", NULL},
        {"[2001:db8::5:80", NULL},
        {"2001:db8::5]:80", NULL},
        {"[fe80::1%eth0]:80", NULL},
        {"[2001:db8::5]x:80", NULL},
        {"[[::1]]:80", NULL},
        {"[2001:db8::g]:80", NULL},
    };
    char b[PEERPROTO_ADDR_STRLEN];
    struct peerproto_addr a;
    struct nt_err err;
    size_t i;
    uint32_t ip;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memset(&err, 0, sizeof err);
        if (rows[i].want) {
            ok(peerproto_parse_endpoint(rows[i].s, &a, "--to", &err) == 0 &&
                   strcmp(peerproto_addr_format(&a, b, sizeof b), rows[i].want) == 0,
               "endpoint '%s' parses and formats back", rows[i].s);
        } else {
            ok(peerproto_parse_endpoint(rows[i].s, &a, "--to", &err) == -1 &&
                   strstr(err.msg, "--to"),
               "endpoint '%s' refused (%s)", rows[i].s, err.msg);
        }
    }
    ok(peerproto_parse_ip("10.1.2.3", &ip, "--bind", &err) == 0 && ip == IP(10, 1, 2, 3),
       "parse_ip gives host byte order");
    ok(peerproto_parse_ip("10.1.2", &ip, "--bind", &err) == -1, "parse_ip refuses 3 octets");
    memset(&a, 0, sizeof a);
    a.port = 7;
    ok(peerproto_parse_host("10.1.2.3", &a, "--bind", &err) == 0 && !a.v6 &&
           a.ip == IP(10, 1, 2, 3) && a.port == 7,
       "parse_host: IPv4, the port left alone");
    ok(peerproto_parse_host("::", &a, "--bind", &err) == 0 && a.v6 && a.ip == 0 && a.port == 7 &&
           strcmp(peerproto_addr_format(&a, b, sizeof b), "[::]:7") == 0,
       "parse_host: '::' is IPv6 any");
    ok(peerproto_parse_host("[::1]", &a, "--bind", &err) == -1 && strstr(err.msg, "IPv6"),
       "parse_host refuses brackets (%s)", err.msg);
    ok(peerproto_parse_host("host", &a, "--bind", &err) == -1, "parse_host refuses a name");
    a = a6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
    peerproto_addr_format(&a, b, sizeof b);
    ok(strlen(b) + 1 == PEERPROTO_ADDR_STRLEN,
       "the longest endpoint text fills PEERPROTO_ADDR_STRLEN (%s)", b);
    {
        struct peerproto_addr v4 = a4(0, 5), v6 = a6("::", 5), v6b = a6("::", 5);

        ok(!peerproto_addr_eq(&v4, &v6), "0.0.0.0:5 and [::]:5 differ (family)");
        ok(peerproto_addr_eq(&v6, &v6b), "[::]:5 equals itself");
        v6b.port = 6;
        ok(!peerproto_addr_eq(&v6, &v6b), "[::]:5 and [::]:6 differ");
        is_int(peerproto_addr_family(&v4) * 10 + peerproto_addr_family(&v6), 46, "families 4, 6");
        is_int((long)peerproto_peers_per_dgram(6), PEERPROTO_PEERS6_PER_DGRAM, "22 IPv6 peers fit");
        is_int((long)peerproto_peers_per_dgram(4), PEERPROTO_PEERS_PER_DGRAM, "24 IPv4 peers fit");
    }
}

static void test_parse_names(void)
{
    static const struct {
        const char *s;
        int want; /* count, or -1 */
        const char *last;
    } rows[] = {
        {"b", 1, "b"},       {"b,c", 2, "c"},        {"peer-1,peer_2,peer.3", 3, "peer.3"},
        {NAME32, 1, NAME32}, {"", -1, NULL},         {",b", -1, NULL},
        {"b,", -1, NULL},    {"b,,c", -1, NULL},     {"b,b", -1, NULL},
        {"b c", -1, NULL},   {NAME32 "x", -1, NULL}, {"a,b,c,d,e", -1, NULL}, /* max 4 below */
    };
    char names[4][PEERPROTO_NAME_MAX + 1];
    struct nt_err err;
    size_t i;
    int n;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memset(&err, 0, sizeof err);
        n = peerproto_parse_names(rows[i].s, names, 4, "--expect", &err);
        if (rows[i].want < 0)
            ok(n == -1 && err.msg[0], "names '%s' refused (%s)", rows[i].s, err.msg);
        else
            ok(n == rows[i].want && strcmp(names[n - 1], rows[i].last) == 0, "names '%s' gives %d",
               rows[i].s, rows[i].want);
    }
}

/* --- gateway table ----------------------------------------------------------------------- */

static void test_gateway(void)
{
    static struct peerproto_gw gw;
    struct peerproto_addr a1 = a4(IP(10, 0, 0, 1), 31337), a2 = a4(IP(10, 0, 0, 2), 31337);
    struct peerproto_addr moved = a4(IP(10, 0, 0, 1), 52875), prev = a4(0, 0);
    struct peerproto_peer out[PEERPROTO_PEERS_PER_DGRAM];
    struct peerproto_gw_entry gone;
    char name[16];
    size_t n, total, skip;
    int i;

    peerproto_gw_init(&gw);
    is_int(peerproto_gw_register(&gw, "a", &a1, 0, &prev), PEERPROTO_GW_NEW, "gw: a is new");
    is_int(peerproto_gw_register(&gw, "b", &a2, 0, &prev), PEERPROTO_GW_NEW, "gw: b is new");
    is_int(peerproto_gw_register(&gw, "a", &a1, 1000, &prev), PEERPROTO_GW_REFRESHED,
           "gw: a again from the same endpoint is a refresh");
    is_int(peerproto_gw_register(&gw, "a", &moved, 2000, &prev), PEERPROTO_GW_MOVED,
           "gw: a from another port moved");
    ok(peerproto_addr_eq(&prev, &a1), "gw: previous endpoint reported");
    n = peerproto_gw_peers(&gw, "a", 0, out, PEERPROTO_PEERS_PER_DGRAM);
    ok(n == 1 && strcmp(out[0].name, "b") == 0, "gw: a's list holds only b");
    n = peerproto_gw_peers(&gw, "b", 0, out, PEERPROTO_PEERS_PER_DGRAM);
    ok(n == 1 && peerproto_addr_eq(&out[0].addr, &moved), "gw: b sees a's new endpoint");

    /* b last seen at 0, a at 2000: ttl 1500 at time 3000 expires b only */
    ok(peerproto_gw_expire(&gw, 3000, 1500, &gone) == 1 && strcmp(gone.name, "b") == 0,
       "gw: stale b expires");
    is_int(peerproto_gw_expire(&gw, 3000, 1500, &gone), 0, "gw: fresh a stays");
    is_int(gw.n, 1, "gw: one left");

    for (i = 1; (size_t)i < PEERPROTO_MAX_PEERS; i++) {
        snprintf(name, sizeof name, "p%d", i);
        peerproto_gw_register(&gw, name, &a2, 4000, NULL);
    }
    is_int(gw.n, PEERPROTO_MAX_PEERS, "gw: filled to the maximum");
    is_int(peerproto_gw_register(&gw, "late", &a2, 4000, NULL), PEERPROTO_GW_FULL,
           "gw: one more is refused");
    is_int(peerproto_gw_register(&gw, "p7", &a1, 4000, NULL), PEERPROTO_GW_MOVED,
           "gw: a known name still re-registers when full");
    for (total = 0, skip = 0;; skip += n) {
        n = peerproto_gw_peers(&gw, "p3", skip, out, PEERPROTO_PEERS_PER_DGRAM);
        total += n;
        if (n < PEERPROTO_PEERS_PER_DGRAM)
            break;
    }
    is_int(total, PEERPROTO_MAX_PEERS - 1, "gw: paging lists everybody but the asker once");
}

/* IPv6 endpoints through the table and into PEERS datagrams: a list of 30 pages as 22 + 8,
 * each page encodes within the datagram limit; a known name from another IPv6 port moved. */
static void test_gateway6(void)
{
    static struct peerproto_gw gw;
    struct peerproto_addr a = a6("2001:db8:1::5", 31337), moved = a6("2001:db8:1::5", 40000);
    struct peerproto_addr prev = a4(0, 0), b;
    struct peerproto_msg m;
    unsigned char buf[PEERPROTO_MAX_DGRAM];
    char name[16], ip[64];
    size_t n, skip, pages = 0, total = 0, per = peerproto_peers_per_dgram(6);
    int i, fits = 1;

    peerproto_gw_init(&gw);
    is_int(peerproto_gw_register(&gw, "a", &a, 0, &prev), PEERPROTO_GW_NEW, "gw6: a is new");
    is_int(peerproto_gw_register(&gw, "a", &moved, 1, &prev), PEERPROTO_GW_MOVED,
           "gw6: a from another port moved");
    ok(peerproto_addr_eq(&prev, &a), "gw6: previous IPv6 endpoint reported");
    for (i = 0; i < 30; i++) {
        snprintf(name, sizeof name, "p%d", i);
        snprintf(ip, sizeof ip, "2001:db8:%x::5", i + 2);
        b = a6(ip, (uint16_t)(31337 + i));
        peerproto_gw_register(&gw, name, &b, 2, NULL);
    }
    for (skip = 0;; skip += n) {
        memset(&m, 0, sizeof m);
        m.type = PEERPROTO_PEERS;
        n = peerproto_gw_peers(&gw, "a", skip, m.peers, per);
        if (n == 0)
            break;
        m.npeers = n;
        pages++;
        total += n;
        if (peerproto_encode(&m, buf, sizeof buf, NULL) < 0)
            fits = 0;
        if (n < per)
            break;
    }
    ok(pages == 2 && total == 30, "gw6: 30 IPv6 peers page as %zu + %zu (%zu pages)", per, 30 - per,
       pages);
    ok(fits, "gw6: every full IPv6 page encodes within %d bytes", PEERPROTO_MAX_DGRAM);
    /* the worst case: names of 32 bytes. 22 fit (1153 bytes), 23 do not (1205) */
    m = as6(mk(PEERPROTO_PEERS, 1, NULL, NULL, 0, 0, 0, PEERPROTO_PEERS6_PER_DGRAM + 1));
    for (i = 0; i <= PEERPROTO_PEERS6_PER_DGRAM; i++)
        snprintf(m.peers[i].name, sizeof m.peers[i].name, "%.28s%04d", NAME32, i);
    ok(peerproto_encode(&m, buf, sizeof buf, NULL) < 0,
       "gw6: 23 IPv6 peers with 32-byte names do not fit");
    m.npeers = PEERPROTO_PEERS6_PER_DGRAM;
    is_int(peerproto_encode(&m, buf, sizeof buf, NULL), 1153, "gw6: 22 of them take 1153 bytes");
}

/* --- the punch/ping state machine -------------------------------------------------------- */

enum ev { TICK, INTRO, EXPECT, PUNCH_RX, PONG_RX };

struct step {
    int64_t t_ms;
    enum ev ev;
    int addr;                 /* INTRO, PUNCH_RX: index into sm_addrs */
    uint32_t seq;             /* PONG_RX */
    int64_t rtt_ms;           /* PONG_RX */
    int want_ret;             /* introduce / on_punch / on_pong result */
    const char *want_actions; /* everything due at t_ms after the event, in order */
    enum peerproto_punch_state want_state;
};

static const struct peerproto_addr sm_addrs[] = {
    {.ip = IP(203, 0, 113, 7), .port = 31337},  /* 0: public endpoint per the gateway */
    {.ip = IP(203, 0, 113, 7), .port = 52875},  /* 1: where it really comes from (symmetric NAT) */
    {.ip = IP(198, 51, 100, 9), .port = 31337}, /* 2: after a restart behind another NAT */
};

static const struct peerproto_timing sm_t = {
    .punch_interval_us = 100000,
    .punch_timeout_us = 1000000,
    .pings = 3,
    .ping_interval_us = 200000,
    .ping_wait_us = 500000,
    .keepalive_us = 1000000,
};

static void drain(struct peerproto_remote *r, int64_t now, char *out, size_t cap)
{
    struct peerproto_action a;
    char b[PEERPROTO_ADDR_STRLEN];
    static const char *kinds[] = {"none", "punch", "failed", "ping", "done", "keepalive", "lost"};
    size_t len;
    int guard = 0;

    out[0] = '\0';
    while (peerproto_remote_next(r, now, &sm_t, &a) && guard++ < 100) {
        len = strlen(out);
        if (a.kind == PEERPROTO_ACT_PUNCH_FAILED)
            snprintf(out + len, cap - len, "%sfailed:%s", len ? " " : "", a.reason);
        else if (a.kind == PEERPROTO_ACT_PINGS_DONE)
            snprintf(out + len, cap - len, "%sdone:%u/%u", len ? " " : "", r->pongs, r->pings_sent);
        else
            snprintf(out + len, cap - len, "%s%s%u>%s", len ? " " : "", kinds[a.kind], a.seq,
                     peerproto_addr_format(&a.to, b, sizeof b));
    }
}

static void run_steps(const char *scenario, const struct step *steps, size_t n,
                      struct peerproto_remote *r)
{
    char got[512];
    size_t i;
    int ret;

    for (i = 0; i < n; i++) {
        const struct step *s = &steps[i];
        int64_t now = s->t_ms * 1000;

        ret = 0;
        switch (s->ev) {
        case TICK:
            break;
        case INTRO:
            ret = peerproto_remote_introduce(r, &sm_addrs[s->addr], now, &sm_t);
            break;
        case EXPECT:
            peerproto_remote_expect(r, now, &sm_t);
            break;
        case PUNCH_RX:
            ret = (int)peerproto_remote_on_punch(r, &sm_addrs[s->addr], now, &sm_t);
            break;
        case PONG_RX:
            ret = peerproto_remote_on_pong(r, s->seq, s->rtt_ms * 1000);
            break;
        }
        is_int(ret, s->want_ret, "%s step %zu (t=%lld ms): event result", scenario, i,
               (long long)s->t_ms);
        drain(r, now, got, sizeof got);
        is_str(got, s->want_actions, "%s step %zu (t=%lld ms): actions", scenario, i,
               (long long)s->t_ms);
        is_int(r->state, s->want_state, "%s step %zu (t=%lld ms): state", scenario, i,
               (long long)s->t_ms);
        ok(peerproto_remote_wakeup(r, &sm_t) > now, "%s step %zu: next wakeup is in the future",
           scenario, i);
    }
}

#define P0 "203.0.113.7:31337"
#define P1 "203.0.113.7:52875"
#define P2 "198.51.100.9:31337"

/* punch answered by an ACK from another port (symmetric NAT), pings with one lost pong,
 * the summary after ping_wait, keepalives, then a stray and duplicate pongs. */
static const struct step sm_success[] = {
    {0, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_WAITING},
    {0, INTRO, 0, 0, 0, 1, "punch1>" P0, PEERPROTO_ST_PUNCHING},
    {50, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_PUNCHING},
    {100, TICK, 0, 0, 0, 0, "punch2>" P0, PEERPROTO_ST_PUNCHING},
    {100, INTRO, 0, 0, 0, 0, "", PEERPROTO_ST_PUNCHING}, /* repeated introduction: no-op */
    {250, TICK, 0, 0, 0, 0, "punch3>" P0, PEERPROTO_ST_PUNCHING},
    {300, PUNCH_RX, 1, 0, 0, PEERPROTO_EV_PUNCHED, "ping1>" P1, PEERPROTO_ST_CONNECTED},
    {310, PUNCH_RX, 1, 0, 0, PEERPROTO_EV_NONE, "", PEERPROTO_ST_CONNECTED},
    {320, PONG_RX, 0, 1, 20, 1, "", PEERPROTO_ST_CONNECTED},
    {330, PONG_RX, 0, 1, 30, 0, "", PEERPROTO_ST_CONNECTED}, /* duplicate */
    {340, PONG_RX, 0, 2, 5, 0, "", PEERPROTO_ST_CONNECTED},  /* seq not sent yet */
    {500, TICK, 0, 0, 0, 0, "ping2>" P1, PEERPROTO_ST_CONNECTED},
    {700, TICK, 0, 0, 0, 0, "ping3>" P1, PEERPROTO_ST_CONNECTED},
    {720, PONG_RX, 0, 3, 20, 1, "", PEERPROTO_ST_CONNECTED}, /* ping 2's pong is lost */
    {1199, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_CONNECTED},
    {1200, TICK, 0, 0, 0, 0, "done:2/3", PEERPROTO_ST_CONNECTED},
    {1300, TICK, 0, 0, 0, 0, "keepalive0>" P1, PEERPROTO_ST_CONNECTED},
    {1310, PONG_RX, 0, 0, 10, 2, "", PEERPROTO_ST_CONNECTED},  /* keepalive answer */
    {1320, PONG_RX, 0, 2, 600, 1, "", PEERPROTO_ST_CONNECTED}, /* late but first: counted */
    {1330, PONG_RX, 0, 3, -1, 0, "", PEERPROTO_ST_CONNECTED},  /* negative rtt: bogus */
    {2300, TICK, 0, 0, 0, 0, "keepalive0>" P1, PEERPROTO_ST_CONNECTED},
    {2400, PUNCH_RX, 0, 0, 0, PEERPROTO_EV_ADDR_MOVED, "", PEERPROTO_ST_CONNECTED},
    /* the 2300 keepalive was never answered: reported lost (once), then the next one */
    {3300, TICK, 0, 0, 0, 0, "lost0>" P0 " keepalive0>" P0, PEERPROTO_ST_CONNECTED},
    /* the remote restarted behind another NAT: the gateway's new endpoint restarts it all */
    {3400, INTRO, 2, 0, 0, 1, "punch1>" P2, PEERPROTO_ST_PUNCHING},
    {3450, PUNCH_RX, 2, 0, 0, PEERPROTO_EV_PUNCHED, "ping1>" P2, PEERPROTO_ST_CONNECTED},
};

/* nobody answers: PUNCH every 100 ms until the 1 s deadline, then nothing more */
static const struct step sm_timeout[] = {
    {0, INTRO, 0, 0, 0, 1, "punch1>" P0, PEERPROTO_ST_PUNCHING},
    {100, TICK, 0, 0, 0, 0, "punch2>" P0, PEERPROTO_ST_PUNCHING},
    {450, TICK, 0, 0, 0, 0, "punch3>" P0, PEERPROTO_ST_PUNCHING}, /* a stall: no burst */
    {549, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_PUNCHING},
    {550, TICK, 0, 0, 0, 0, "punch4>" P0, PEERPROTO_ST_PUNCHING},
    {999, TICK, 0, 0, 0, 0, "punch5>" P0, PEERPROTO_ST_PUNCHING},
    {1000, TICK, 0, 0, 0, 0, "failed:timeout", PEERPROTO_ST_FAILED},
    {5000, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_FAILED},
    {5000, INTRO, 0, 0, 0, 0, "", PEERPROTO_ST_FAILED}, /* same endpoint: no retry storm */
    {5000, PONG_RX, 0, 1, 1, 0, "", PEERPROTO_ST_FAILED},
    /* it punches us late after all: we connect on its datagram */
    {6000, PUNCH_RX, 0, 0, 0, PEERPROTO_EV_PUNCHED, "ping1>" P0, PEERPROTO_ST_CONNECTED},
};

/* expected, never introduced */
static const struct step sm_not_introduced[] = {
    {0, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_WAITING},
    {0, EXPECT, 0, 0, 0, 0, "", PEERPROTO_ST_WAITING},
    {999, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_WAITING},
    {1000, TICK, 0, 0, 0, 0, "failed:not_introduced", PEERPROTO_ST_FAILED},
    /* a late introduction still gets a full round */
    {1500, INTRO, 0, 0, 0, 1, "punch1>" P0, PEERPROTO_ST_PUNCHING},
    {2499, TICK, 0, 0, 0, 0, "punch2>" P0, PEERPROTO_ST_PUNCHING},
    {2500, TICK, 0, 0, 0, 0, "failed:timeout", PEERPROTO_ST_FAILED},
};

/* the remote's PUNCH arrives before the gateway's PEERS: connected, and the late
 * introduction must not restart punching */
static const struct step sm_punched_first[] = {
    {0, PUNCH_RX, 1, 0, 0, PEERPROTO_EV_PUNCHED, "ping1>" P1, PEERPROTO_ST_CONNECTED},
    {10, INTRO, 0, 0, 0, 0, "", PEERPROTO_ST_CONNECTED},
    {200, TICK, 0, 0, 0, 0, "ping2>" P1, PEERPROTO_ST_CONNECTED},
    {210, PONG_RX, 0, 2, 1, 1, "", PEERPROTO_ST_CONNECTED},
    {220, PONG_RX, 0, 1, 1, 1, "", PEERPROTO_ST_CONNECTED},
    {400, TICK, 0, 0, 0, 0, "ping3>" P1, PEERPROTO_ST_CONNECTED},
    {401, PONG_RX, 0, 3, 1, 1, "done:3/3", PEERPROTO_ST_CONNECTED}, /* all back: no wait */
    {900, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_CONNECTED},
    {1000, TICK, 0, 0, 0, 0, "keepalive0>" P1, PEERPROTO_ST_CONNECTED},
};

/* keepalives through a NAT that forgot the mapping: the first unanswered one is reported
 * after ping_wait (once, however many follow), an answer says the path is back */
static const struct step sm_path_lost[] = {
    {0, INTRO, 0, 0, 0, 1, "punch1>" P0, PEERPROTO_ST_PUNCHING},
    {0, PUNCH_RX, 1, 0, 0, PEERPROTO_EV_PUNCHED, "ping1>" P1, PEERPROTO_ST_CONNECTED},
    {10, PONG_RX, 0, 1, 1, 1, "", PEERPROTO_ST_CONNECTED},
    {200, TICK, 0, 0, 0, 0, "ping2>" P1, PEERPROTO_ST_CONNECTED},
    {210, PONG_RX, 0, 2, 1, 1, "", PEERPROTO_ST_CONNECTED},
    {400, TICK, 0, 0, 0, 0, "ping3>" P1, PEERPROTO_ST_CONNECTED},
    {410, PONG_RX, 0, 3, 1, 1, "done:3/3", PEERPROTO_ST_CONNECTED},
    {1000, TICK, 0, 0, 0, 0, "keepalive0>" P1, PEERPROTO_ST_CONNECTED},
    {1499, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_CONNECTED},
    {1500, TICK, 0, 0, 0, 0, "lost0>" P1, PEERPROTO_ST_CONNECTED},
    {2000, TICK, 0, 0, 0, 0, "keepalive0>" P1, PEERPROTO_ST_CONNECTED},
    {2600, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_CONNECTED}, /* no second report */
    {3000, TICK, 0, 0, 0, 0, "keepalive0>" P1, PEERPROTO_ST_CONNECTED},
    {3010, PONG_RX, 0, 0, 10, 3, "", PEERPROTO_ST_CONNECTED}, /* back */
    {4000, TICK, 0, 0, 0, 0, "keepalive0>" P1, PEERPROTO_ST_CONNECTED},
    {4010, PONG_RX, 0, 0, 10, 2, "", PEERPROTO_ST_CONNECTED},
    {4600, TICK, 0, 0, 0, 0, "", PEERPROTO_ST_CONNECTED},
    /* the gateway re-introduces it at a new endpoint while a keepalive waits: the new punch
     * works, the old path was still lost */
    {5000, TICK, 0, 0, 0, 0, "keepalive0>" P1, PEERPROTO_ST_CONNECTED},
    {5100, INTRO, 2, 0, 0, 1, "punch1>" P2, PEERPROTO_ST_PUNCHING},
    {5150, PUNCH_RX, 2, 0, 0, PEERPROTO_EV_PUNCHED, "ping1>" P2, PEERPROTO_ST_CONNECTED},
    {5350, TICK, 0, 0, 0, 0, "ping2>" P2, PEERPROTO_ST_CONNECTED},
    {5500, TICK, 0, 0, 0, 0, "lost0>" P2, PEERPROTO_ST_CONNECTED},
};

/* The introduction deadline is its own (peers of one test start seconds apart); 0 falls
 * back to the punch timeout. */
static void test_intro_timeout(void)
{
    struct peerproto_timing t = sm_t;
    struct peerproto_remote r;
    struct peerproto_action a;

    t.intro_timeout_us = 5000000;
    peerproto_remote_init(&r, "b");
    peerproto_remote_expect(&r, 0, &t);
    memset(&a, 0, sizeof a);
    while (peerproto_remote_next(&r, 4999999, &t, &a))
        ;
    ok(r.state == PEERPROTO_ST_WAITING, "intro timeout: still waiting just before it");
    while (peerproto_remote_next(&r, 5000000, &t, &a) && a.kind != PEERPROTO_ACT_PUNCH_FAILED)
        ;
    ok(r.state == PEERPROTO_ST_FAILED && a.reason && strcmp(a.reason, "not_introduced") == 0,
       "intro timeout: not_introduced at 5 s, not at the 1 s punch timeout");
    t.intro_timeout_us = 0;
    peerproto_remote_init(&r, "b");
    peerproto_remote_expect(&r, 0, &t);
    ok(r.deadline_us == t.punch_timeout_us, "intro timeout 0: the punch timeout applies");
}

static void test_state_machine(void)
{
    static const struct {
        const char *name;
        const struct step *steps;
        size_t n;
    } scenarios[] = {
        {"success", sm_success, sizeof sm_success / sizeof sm_success[0]},
        {"timeout", sm_timeout, sizeof sm_timeout / sizeof sm_timeout[0]},
        {"not_introduced", sm_not_introduced,
         sizeof sm_not_introduced / sizeof sm_not_introduced[0]},
        {"punched_first", sm_punched_first, sizeof sm_punched_first / sizeof sm_punched_first[0]},
        {"path_lost", sm_path_lost, sizeof sm_path_lost / sizeof sm_path_lost[0]},
    };
    struct peerproto_remote r;
    size_t i;

    for (i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        peerproto_remote_init(&r, "b");
        run_steps(scenarios[i].name, scenarios[i].steps, scenarios[i].n, &r);
        if (i == 0)
            ok(r.pongs == 0 && r.pings_sent == 1 && r.attempts == 1,
               "success: counters start over with the new round");
        if (i == 1)
            is_int(r.attempts, 5, "timeout: 5 attempts before the deadline");
    }
}

static void test_rtt_summary(void)
{
    struct peerproto_remote r;
    static const int64_t rtts[] = {30, 10, 20};
    char got[256];
    size_t i;

    peerproto_remote_init(&r, "b");
    peerproto_remote_on_punch(&r, &sm_addrs[0], 0, &sm_t);
    for (i = 0; i < 3; i++) {
        drain(&r, (int64_t)i * 200000, got, sizeof got);
        peerproto_remote_on_pong(&r, (uint32_t)i + 1, rtts[i] * 1000);
    }
    ok(r.rtt_min_us == 10000 && r.rtt_max_us == 30000 && r.rtt_sum_us == 60000 && r.pongs == 3,
       "rtt min/max/sum over first answers");
}

static void test_table(void)
{
    static struct peerproto_table tb;
    struct peerproto_remote *a, *b;
    char name[16];
    int i;

    memset(&tb, 0, sizeof tb);
    ok(peerproto_table_find(&tb, "a") == NULL, "table: empty");
    a = peerproto_table_get(&tb, "a");
    b = peerproto_table_get(&tb, "b");
    ok(a && b && a != b && peerproto_table_get(&tb, "a") == a, "table: get adds once");
    ok(a->state == PEERPROTO_ST_WAITING && peerproto_remote_wakeup(a, &sm_t) == INT64_MAX,
       "table: a new remote waits with nothing scheduled");
    for (i = 2; i < PEERPROTO_MAX_PEERS; i++) {
        snprintf(name, sizeof name, "r%d", i);
        peerproto_table_get(&tb, name);
    }
    ok(peerproto_table_get(&tb, "one-too-many") == NULL, "table: full returns NULL");
    ok(peerproto_table_get(&tb, "b") == b, "table: known names still found when full");
}

/* The state machine does not care about the family, but an endpoint that changes family is
 * another endpoint. */
static void test_state_machine6(void)
{
    static struct peerproto_remote r;
    struct peerproto_addr pub = a6("2001:db8:2::5", 31337), v4 = a4(0, 31337);
    struct peerproto_action act;
    char b[PEERPROTO_ADDR_STRLEN];

    peerproto_remote_init(&r, "b");
    is_int(peerproto_remote_introduce(&r, &pub, 0, &sm_t), 1,
           "sm6: an IPv6 introduction starts punching");
    ok(peerproto_remote_next(&r, 0, &sm_t, &act) && act.kind == PEERPROTO_ACT_PUNCH &&
           peerproto_addr_eq(&act.to, &pub),
       "sm6: the PUNCH goes to %s", peerproto_addr_format(&act.to, b, sizeof b));
    is_int(peerproto_remote_on_punch(&r, &pub, 1000, &sm_t), PEERPROTO_EV_PUNCHED,
           "sm6: its PUNCH from the IPv6 endpoint connects");
    is_int(peerproto_remote_on_punch(&r, &v4, 2000, &sm_t), PEERPROTO_EV_ADDR_MOVED,
           "sm6: the same port over IPv4 is another address");
    ok(!r.actual_addr.v6, "sm6: the remote's actual address is now the IPv4 one");
}

static void test_names(void)
{
    is_str(peerproto_type_name(PEERPROTO_PUNCH_ACK), "punch_ack", "type name");
    is_str(peerproto_type_name(99), "unknown", "unknown type name");
    is_str(peerproto_bad_name(PEERPROTO_BAD_TRAILING), "trailing_bytes", "reason name");
    is_str(peerproto_bad_name(PEERPROTO_BAD_N), "unknown", "out-of-range reason name");
}

int main(void)
{
    test_round_trips();
    test_golden_bytes();
    test_encode_rejects();
    test_decode_rejects();
    test_oversized();
    test_truncations();
    test_garbage();
    test_parse_long();
    test_parse_endpoint();
    test_parse_names();
    test_gateway();
    test_gateway6();
    test_state_machine();
    test_state_machine6();
    test_intro_timeout();
    test_rtt_summary();
    test_table();
    test_names();
    return tap_done();
}
