/* peerproto.h - the natrig-peer wire protocol and its pure logic: datagram encode/decode with
 * validation and counters, the gateway's registration table, the peer's table of remotes
 * with a hole-punch/ping state machine driven by a caller-supplied clock, and the argv value
 * parsers (numbers, IPv4 and IPv6 endpoints, name lists). No I/O: src/peer/ owns sockets and
 * logs. Uses base/err.h, core/ipv4 and core/ipv6 (the one parser of each family). Functions
 * borrow their inputs; nothing here allocates.
 *
 * Wire format (all integers big-endian), one message per UDP datagram, at most
 * PEERPROTO_MAX_DGRAM bytes, no trailing bytes allowed:
 *
 *   header   'N' 'T' version(1)=1 type(1) seq(u32)                      8 bytes
 *   name     len(u8, 1..32) bytes [A-Za-z0-9._-]
 *   endpoint family(u8)=4 ipv4(4) port(u16, non-zero)                 7 bytes
 *         or family(u8)=6 ipv6(16) port(u16, non-zero)               19 bytes
 *
 *   1 REGISTER    name                      client -> gateway (also the keepalive)
 *   2 REGISTERED  endpoint                  gateway -> client: the source it observed
 *   3 PEERS       count(u8, 0..24) then count x (name endpoint)
 *                                           gateway -> client: other peers, observed
 *   4 PUNCH       from-name to-name         peer -> peer; seq = attempt number
 *   5 PUNCH_ACK   from-name to-name         peer -> peer; seq echoes the PUNCH's
 *   6 PING        from-name ts(u64)         peer -> peer; seq 1..N, 0 = keepalive
 *   7 PONG        from-name ts(u64)         answer; seq and ts echo the PING's
 *   8 REGISTER_AT name endpoint             client -> gateway: REGISTER, but introduce me at
 *                                           endpoint (a port mapping its router granted),
 *                                           not at the source the gateway observes
 *
 * ts is the pinger's own monotonic clock in microseconds, echoed back, so the RTT needs no
 * state on either side. A rendezvous serves each family apart (a peer's socket speaks one), so
 * a PEERS list holds one family; the wire allows both. */
#ifndef NT_PEERPROTO_H
#define NT_PEERPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "core/ipv6.h"

#define PEERPROTO_VERSION 1
#define PEERPROTO_PORT 31337     /* natrig-peer's default port (Lua: natrig.core.PEER_PORT) */
#define PEERPROTO_MAX_DGRAM 1200 /* below any sane path MTU, even tunnelled */
#define PEERPROTO_NAME_MAX 32
#define PEERPROTO_PEERS_PER_DGRAM 24  /* IPv4: 8 + 1 + 24 * 40 = 969 bytes; the most decoded */
#define PEERPROTO_PEERS6_PER_DGRAM 22 /* IPv6: 8 + 1 + 22 * 52 = 1153 bytes */
#define PEERPROTO_MAX_PEERS 256       /* gateway and peer tables are bounded */
#define PEERPROTO_MAX_PINGS 1024      /* bitmap size for duplicate pong detection */
#define PEERPROTO_ADDR_STRLEN 48      /* "[" IPv6 (39) "]:65535" + NUL; IPv4 needs 22 */

enum peerproto_type {
    PEERPROTO_REGISTER = 1,
    PEERPROTO_REGISTERED = 2,
    PEERPROTO_PEERS = 3,
    PEERPROTO_PUNCH = 4,
    PEERPROTO_PUNCH_ACK = 5,
    PEERPROTO_PING = 6,
    PEERPROTO_PONG = 7,
    PEERPROTO_REGISTER_AT = 8,
};

/* Why a datagram was rejected; PEERPROTO_OK (0) when it was not. */
enum peerproto_bad {
    PEERPROTO_OK = 0,
    PEERPROTO_BAD_TRUNCATED, /* shorter than its fields say */
    PEERPROTO_BAD_OVERSIZED, /* longer than PEERPROTO_MAX_DGRAM */
    PEERPROTO_BAD_MAGIC,
    PEERPROTO_BAD_VERSION,
    PEERPROTO_BAD_TYPE,     /* a type this version does not know */
    PEERPROTO_BAD_NAME,     /* empty, too long, or outside [A-Za-z0-9._-] */
    PEERPROTO_BAD_ADDR,     /* family neither 4 nor 6, or port 0 */
    PEERPROTO_BAD_COUNT,    /* PEERS count above PEERPROTO_PEERS_PER_DGRAM */
    PEERPROTO_BAD_TRAILING, /* bytes after the last field */
    PEERPROTO_BAD_N
};

/* An endpoint of either family. A zeroed one is IPv4 0.0.0.0:0, so code that knows only IPv4
 * fills ip and port and is right. */
struct peerproto_addr {
    uint32_t ip;   /* IPv4, host byte order (v6 == 0) */
    uint16_t port; /* host byte order */
    uint8_t v6;    /* 1: the address is ip6 */
    struct ipv6_addr ip6;
};

struct peerproto_peer {
    char name[PEERPROTO_NAME_MAX + 1];
    struct peerproto_addr addr;
};

/* A decoded message: which fields mean something depends on type (see the table above). */
struct peerproto_msg {
    enum peerproto_type type;
    uint32_t seq;
    char name[PEERPROTO_NAME_MAX + 1]; /* REGISTER(_AT): client; PUNCH..PONG: sender */
    char to[PEERPROTO_NAME_MAX + 1];   /* PUNCH, PUNCH_ACK: intended receiver */
    struct peerproto_addr addr;        /* REGISTERED, REGISTER_AT */
    uint64_t ts;                       /* PING, PONG */
    size_t npeers;                     /* PEERS */
    struct peerproto_peer peers[PEERPROTO_PEERS_PER_DGRAM];
};

/* Counters of what a receiver saw; bad datagrams are counted by reason and ignored. */
struct peerproto_stats {
    unsigned long ok;
    unsigned long bad_total;
    unsigned long bad[PEERPROTO_BAD_N];
};

/* Name of a type ("punch_ack") or "unknown"; of a reject reason ("truncated"). */
const char *peerproto_type_name(int type);
const char *peerproto_bad_name(enum peerproto_bad why);

/* 1 when s is a valid peer name (1..32 of [A-Za-z0-9._-]), else 0. */
int peerproto_name_valid(const char *s);

/* Encode m into out (cap bytes). Returns the length, or -1 with err filled (bad name or
 * endpoint, too many peers, unknown type, out too small). */
long peerproto_encode(const struct peerproto_msg *m, void *out, size_t cap, struct nt_err *err);

/* Decode and validate one datagram of len bytes. Returns PEERPROTO_OK with *m filled, or the
 * reason it was rejected (*m then undefined). Counts the outcome in st when st is not NULL. */
enum peerproto_bad peerproto_decode(const void *buf, size_t len, struct peerproto_msg *m,
                                    struct peerproto_stats *st);

/* "a.b.c.d:port" or "[ipv6]:port" (RFC 5952 text) into buf (PEERPROTO_ADDR_STRLEN is
 * enough). Returns buf. */
char *peerproto_addr_format(const struct peerproto_addr *a, char *buf, size_t cap);
/* 1 when a and b are the same family, address and port. */
int peerproto_addr_eq(const struct peerproto_addr *a, const struct peerproto_addr *b);
/* 4 or 6. */
int peerproto_addr_family(const struct peerproto_addr *a);
/* How many PEERS entries of this family fit one datagram. */
size_t peerproto_peers_per_dgram(int family);

/* --- argv value parsers: strict, whole-string, with a message in err on failure ---------- */

/* A decimal integer in [min, max], digits only (an optional leading '-'), no spaces.
 * Returns 0 or -1 (NT_EINVAL, message names what). */
int peerproto_parse_long(const char *s, long min, long max, long *out, const char *what,
                         struct nt_err *err);
/* A strict dotted IPv4 address (core/ipv4) into host byte order. Returns 0 or -1. */
int peerproto_parse_ip(const char *s, uint32_t *ip, const char *what, struct nt_err *err);
/* An address of either family without a port ("10.0.0.5", "2001:db8::5"; core/ipv4's and
 * core/ipv6's syntax, no brackets) into out's family and address; out->port is left alone.
 * Returns 0 or -1. */
int peerproto_parse_host(const char *s, struct peerproto_addr *out, const char *what,
                         struct nt_err *err);
/* "IPv4:PORT" or "[IPv6]:PORT" with PORT 1..65535. Returns 0 or -1. */
int peerproto_parse_endpoint(const char *s, struct peerproto_addr *out, const char *what,
                             struct nt_err *err);
/* "a,b,c": valid names, no empty items, no duplicates, at most max. Returns the count or -1. */
int peerproto_parse_names(const char *s, char (*names)[PEERPROTO_NAME_MAX + 1], size_t max,
                          const char *what, struct nt_err *err);

/* --- gateway: who registered, from where ------------------------------------------------ */

struct peerproto_gw_entry {
    char name[PEERPROTO_NAME_MAX + 1];
    struct peerproto_addr addr; /* the source address the gateway observed */
    int64_t last_seen_us;
};

struct peerproto_gw {
    size_t n;
    struct peerproto_gw_entry e[PEERPROTO_MAX_PEERS];
};

enum peerproto_gw_result {
    PEERPROTO_GW_NEW,       /* first registration of this name */
    PEERPROTO_GW_MOVED,     /* known name, new observed endpoint (*previous filled) */
    PEERPROTO_GW_REFRESHED, /* known name, same endpoint: a keepalive */
    PEERPROTO_GW_FULL,      /* table full; not recorded */
};

void peerproto_gw_init(struct peerproto_gw *gw);
/* Record that name registered from addr at now_us. previous may be NULL. */
enum peerproto_gw_result peerproto_gw_register(struct peerproto_gw *gw, const char *name,
                                               const struct peerproto_addr *addr, int64_t now_us,
                                               struct peerproto_addr *previous);
/* Remove one entry not seen for ttl_us, copying it to *gone. Returns 1 if it removed one,
 * 0 when none is stale (call until 0). */
int peerproto_gw_expire(struct peerproto_gw *gw, int64_t now_us, int64_t ttl_us,
                        struct peerproto_gw_entry *gone);
/* Copy up to max entries other than exclude (may be NULL), skipping the first skip of those,
 * into out. Returns how many were copied; page with skip += returned until it returns less
 * than max. */
size_t peerproto_gw_peers(const struct peerproto_gw *gw, const char *exclude, size_t skip,
                          struct peerproto_peer *out, size_t max);

/* --- peer: one remote's hole punch and pings, as a state machine over time -------------- */

struct peerproto_timing {
    int64_t punch_interval_us; /* between PUNCH datagrams */
    int64_t punch_timeout_us;  /* give up punching (from the introduction) */
    int64_t intro_timeout_us;  /* give up waiting for an expected remote's introduction; 0 =
                                * punch_timeout_us. Longer than a punch: peers of one test
                                * start seconds apart on a loaded host */
    int64_t punch_delay_us;    /* wait this long after an introduction before the first PUNCH
                                * (tests choose which side's packets reach a NAT first) */
    unsigned pings;            /* PING/PONG exchanges after a punch, <= PEERPROTO_MAX_PINGS */
    int64_t ping_interval_us;
    int64_t ping_wait_us; /* after the last PING, how long to wait for missing PONGs */
    int64_t keepalive_us; /* seq-0 PING to keep the NAT mapping open; 0 = never */
};

enum peerproto_punch_state {
    PEERPROTO_ST_WAITING, /* expected, not yet introduced by the gateway */
    PEERPROTO_ST_PUNCHING,
    PEERPROTO_ST_CONNECTED,
    PEERPROTO_ST_FAILED,
};

struct peerproto_remote {
    char name[PEERPROTO_NAME_MAX + 1];
    enum peerproto_punch_state state;
    int expected; /* named in --expect */
    int has_public, has_actual;
    struct peerproto_addr public_addr; /* as the gateway observed it */
    struct peerproto_addr actual_addr; /* where its datagrams really come from */
    unsigned attempts;                 /* PUNCHes sent in this round */
    int64_t deadline_us, next_punch_us;
    unsigned pings_sent, pongs;
    int pings_reported;
    int64_t rtt_min_us, rtt_max_us, rtt_sum_us; /* over first answers to seq 1..N */
    int64_t next_ping_us, last_ping_us, next_keepalive_us;
    /* a keepalive not answered within ping_wait_us: the direct path is lost (a NAT on the
     * way forgot the mapping, e.g. a CGN whose UDP timeout is shorter than the keepalive) */
    int64_t keepalive_sent_us;
    int keepalive_waiting, path_lost;
    unsigned char pong_seen[PEERPROTO_MAX_PINGS / 8];
};

enum peerproto_act_kind {
    PEERPROTO_ACT_NONE,
    PEERPROTO_ACT_PUNCH,        /* send PUNCH seq to `to` */
    PEERPROTO_ACT_PUNCH_FAILED, /* log; reason says why */
    PEERPROTO_ACT_PING,         /* send PING seq to `to` */
    PEERPROTO_ACT_PINGS_DONE,   /* log the summary */
    PEERPROTO_ACT_KEEPALIVE,    /* send PING seq 0 to `to` */
    PEERPROTO_ACT_PATH_LOST,    /* log: a keepalive went unanswered (once, until answered) */
};

struct peerproto_action {
    enum peerproto_act_kind kind;
    struct peerproto_addr to;
    uint32_t seq;
    const char *reason; /* PUNCH_FAILED: "timeout" or "not_introduced" */
};

/* What an incoming PUNCH/PUNCH_ACK did to a remote. */
enum peerproto_punch_event {
    PEERPROTO_EV_NONE,      /* already connected, same address */
    PEERPROTO_EV_PUNCHED,   /* newly connected */
    PEERPROTO_EV_ADDR_MOVED /* already connected, but now from another address */
};

void peerproto_remote_init(struct peerproto_remote *r, const char *name);
/* An expected remote starts waiting for its introduction; it fails at now + intro timeout. */
void peerproto_remote_expect(struct peerproto_remote *r, int64_t now_us,
                             const struct peerproto_timing *t);
/* The gateway told us the remote's public endpoint. Starts (or restarts, when the endpoint
 * changed) punching. Returns 1 if a punching round started, else 0. */
int peerproto_remote_introduce(struct peerproto_remote *r, const struct peerproto_addr *pub,
                               int64_t now_us, const struct peerproto_timing *t);
/* A PUNCH or PUNCH_ACK from this remote arrived from `from`. */
enum peerproto_punch_event peerproto_remote_on_punch(struct peerproto_remote *r,
                                                     const struct peerproto_addr *from,
                                                     int64_t now_us,
                                                     const struct peerproto_timing *t);
/* A PONG with seq arrived, rtt_us after its PING left. Returns 1 for a first answer to ping
 * seq (counted in the RTT summary), 2 for a keepalive answer (seq 0), 3 for a keepalive
 * answer after the path was reported lost (it is back), 0 for a duplicate,
 * stale or unknown seq, or a negative rtt_us. */
int peerproto_remote_on_pong(struct peerproto_remote *r, uint32_t seq, int64_t rtt_us);
/* The next due action at now_us, if any (advances the state). Call until it returns 0. */
int peerproto_remote_next(struct peerproto_remote *r, int64_t now_us,
                          const struct peerproto_timing *t, struct peerproto_action *act);
/* When peerproto_remote_next should be called next; INT64_MAX when nothing is scheduled. */
int64_t peerproto_remote_wakeup(const struct peerproto_remote *r, const struct peerproto_timing *t);

struct peerproto_table {
    size_t n;
    struct peerproto_remote r[PEERPROTO_MAX_PEERS];
};

struct peerproto_remote *peerproto_table_find(struct peerproto_table *tb, const char *name);
/* Find name, or add it (initialised). Returns NULL when the table is full. */
struct peerproto_remote *peerproto_table_get(struct peerproto_table *tb, const char *name);

#endif
