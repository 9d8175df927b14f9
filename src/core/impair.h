/* impair.h - link impairment: the spec (delay, jitter, loss, duplication, reordering,
 * corruption, rate), its parsers and presets, the argv lists that apply it (tc netem, tc tbf,
 * iptables NFQUEUE rules for the userspace shaper, iptables partition rules), and the
 * per-packet decision the userspace shaper makes. impair.c, impair_nfq.c (NFQUEUE rules) and
 * impair_part.c (partitions) implement it. Pure: no I/O, no clock; randomness comes from an
 * explicitly seeded state. Uses base/err.h for errors and base/xalloc.h for argv storage.
 *
 * Ownership: functions borrow their inputs. A struct impair_argv / impair_cmds filled here
 * owns its strings; release it with impair_argv_free / impair_cmds_free. */
#ifndef NT_IMPAIR_H
#define NT_IMPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum impair_dist {
    IMPAIR_DIST_UNIFORM = 0,  /* delay +- jitter, flat (netem's default without a table) */
    IMPAIR_DIST_NORMAL,       /* jitter is the standard deviation */
    IMPAIR_DIST_PARETO,       /* heavy right tail, zero mean, jitter is the standard deviation */
    IMPAIR_DIST_PARETONORMAL, /* 1/4 normal + 3/4 pareto, rescaled to standard deviation jitter */
};

enum impair_dir {
    IMPAIR_DIR_EGRESS = 1,  /* packets leaving the namespace (POSTROUTING) */
    IMPAIR_DIR_INGRESS = 2, /* packets entering it (PREROUTING) */
    IMPAIR_DIR_BOTH = 3,
};

/* Which IP versions an impairment shapes: a bit each, so "both" (the default) is their union.
 * The NFQUEUE rules of a family live in its own tables (iptables / ip6tables). */
enum impair_family {
    IMPAIR_FAMILY_V4 = 1,
    IMPAIR_FAMILY_V6 = 2,
    IMPAIR_FAMILY_BOTH = 3,
};

/* Limits the parsers enforce; generous, but a typo like "100s" for a delay is still caught. */
#define IMPAIR_MAX_TIME_US (60ull * 1000 * 1000)
#define IMPAIR_MAX_RATE_BPS (100ull * 1000 * 1000 * 1000)

/* One impairment. All-zero (impair_spec_init) means "no impairment", egress. Percentages are
 * 0..100. Loss correlation keeps the loss rate (see impair_decide), reorder correlation is
 * netem's own "correlated random" and, as in netem, lowers the effective reorder rate. */
struct impair_spec {
    uint32_t delay_us;
    uint32_t jitter_us;
    enum impair_dist dist;
    double loss_pct;
    double loss_corr_pct;
    double duplicate_pct;
    double reorder_pct; /* share of packets sent at once, ahead of the delayed ones */
    double reorder_corr_pct;
    uint32_t reorder_gap; /* netem "gap": 0 or 1 = any packet may be reordered */
    double corrupt_pct;
    uint64_t rate_bps; /* bits per second, 0 = unlimited */
    enum impair_dir dir;
    enum impair_family family; /* not an impairment by itself either: where the rules go */
    /* seed=N: the decisions (loss, jitter, duplication, reordering, corruption) restart from
     * this seed whenever the spec is applied, so the same packet sequence meets the same
     * fate. Not an impairment by itself: impair_spec_is_empty ignores it. */
    int has_seed;
    uint64_t seed;
};

/* --- spec, parsers --------------------------------------------------------------------- */

/* Reset to "no impairment", direction egress, both families. */
void impair_spec_init(struct impair_spec *s);

/* 1 when the spec changes nothing (direction, family and seed aside). */
int impair_spec_is_empty(const struct impair_spec *s);

/* Value parsers. key only names the value in the error message ("delay: bad time '10xs' ...").
 * Times: "100ms", "1.5s", "250us" (also usec/msec/sec); a unit is required except for "0".
 * Percentages: "30%", or a bare number which is percent too, as in tc ("0.5" = 0.5%).
 * Rates: bit/kbit/mbit/gbit (powers of 1000) or kibit/mibit/gibit (1024), case-insensitive;
 * tc's byte units (bps, kbps, mbps...) are refused because "10Mbps" is read as megabits by
 * people and as megabytes by tc. Return 0, or -1 with err (NT_EINVAL). */
int impair_parse_time_us(const char *key, const char *val, uint32_t *out, struct nt_err *err);
int impair_parse_pct(const char *key, const char *val, double *out, struct nt_err *err);
/* 1 when key is a time (delay, jitter): a bare number given from Lua means milliseconds. */
int impair_key_is_time(const char *key);
int impair_parse_rate(const char *key, const char *val, uint64_t *out, struct nt_err *err);
int impair_parse_dist(const char *key, const char *val, enum impair_dist *out, struct nt_err *err);
int impair_parse_dir(const char *key, const char *val, enum impair_dir *out, struct nt_err *err);
/* v4, v6 or both (ipv4 and ipv6 are taken too), case-insensitive. */
int impair_parse_family(const char *key, const char *val, enum impair_family *out,
                        struct nt_err *err);
/* "v4", "v6" or "both". */
const char *impair_family_name(enum impair_family f);
/* A seed: plain decimal, 0 to 18446744073709551615. */
int impair_parse_seed(const char *key, const char *val, uint64_t *out, struct nt_err *err);

/* Set one field by name: delay, jitter, distribution, loss, loss_corr, duplicate, reorder,
 * reorder_corr, reorder_gap, corrupt, rate, direction, family, seed (a decimal 0..2^64-1), or
 * preset (which replaces every field but the direction, the family and the seed with the
 * preset's, so put it first). An unknown key is an error that lists the valid ones. */
int impair_spec_set(struct impair_spec *s, const char *key, const char *val, struct nt_err *err);

/* Apply "key=value" tokens in order onto s (callers start from impair_spec_init to get
 * "replace" semantics), then impair_spec_check. On error s is left partly updated. */
int impair_spec_parse_kv(struct impair_spec *s, const char *const *tokens, size_t n,
                         struct nt_err *err);

/* Cross-field checks: reordering needs a delay (as in netem). */
int impair_spec_check(const struct impair_spec *s, struct nt_err *err);

/* Write the spec as canonical "key=value" tokens separated by spaces, only fields that differ
 * from impair_spec_init; "" for an empty egress spec. The text parses back to the same spec
 * through impair_spec_parse_kv. Truncates to fit n (always NUL-terminated); returns the
 * length it needed, like snprintf. */
size_t impair_spec_format(const struct impair_spec *s, char *buf, size_t n);

/* --- presets ---------------------------------------------------------------------------- */

/* The seed's presets: lan, regional, intercontinental, high_latency, challenging (loss
 * correlation 25%, challenging 50%). Lookup ignores case. Unknown name: -1 with an error that
 * lists the valid names. */
int impair_preset(const char *name, struct impair_spec *out, struct nt_err *err);

/* Preset names, NULL after the last. */
const char *impair_preset_name(size_t i);

/* The run's default impairment from the environment. The caller passes
 * getenv("NATRIG_EMULATION") and getenv("FREENET_TEST_NETWORK_EMULATION"); either may be NULL.
 * NATRIG_EMULATION wins when non-empty; "none" or "off" in it means no impairment even if the
 * other is set. Returns 1 with *out filled when a preset applies, 0 when none does, -1 when
 * the value is not a preset (err names the variable and lists the valid names; an unknown
 * value is never ignored). */
int impair_preset_from_env(const char *natrig_env, const char *freenet_env, struct impair_spec *out,
                           struct nt_err *err);

/* --- argv lists ------------------------------------------------------------------------- */

/* A NULL-terminated argv vector that owns its strings. */
struct impair_argv {
    char **v;
    size_t n, cap;
};

/* A list of commands to run in order. may_fail marks a command whose failure is expected and
 * harmless (deleting a rule that is not there, creating a chain that exists): that is how the
 * lists stay idempotent without a shell. */
struct impair_cmd {
    struct impair_argv argv;
    int may_fail;
};
struct impair_cmds {
    struct impair_cmd *v;
    size_t n, cap;
};

void impair_argv_free(struct impair_argv *a);
void impair_cmds_free(struct impair_cmds *c);
/* Join argv with single spaces, for logs and tests (no quoting). Same return rule as
 * impair_spec_format. */
size_t impair_argv_join(const struct impair_argv *a, char *buf, size_t n);

/* tc qdisc replace dev DEV root netem limit L [delay D [J [distribution X]]] [loss ...]
 * [duplicate P] [reorder P [C] [gap G]] [corrupt P] [rate R]. Correlated loss is written as
 * "loss gemodel p r" (a two-state chain with the same rate and burst length impair_decide
 * uses), because netem's "loss P C" correlated random lowers the rate itself (0.1% with 25%
 * correlation drops almost nothing). The direction is not used: a root qdisc shapes egress
 * of DEV, ingress needs an ifb device chosen by the caller. Fills *out (initialised here). */
/* DEV "lo" is refused, as by the NFQUEUE rules: both engines shape the node's link only. */
int impair_netem_argv(const struct impair_spec *s, const char *dev, struct impair_argv *out,
                      struct nt_err *err);
/* tc qdisc del dev DEV root */
int impair_netem_clear_argv(const char *dev, struct impair_argv *out, struct nt_err *err);
/* tc qdisc replace dev DEV root tbf rate R burst B latency 50ms, for a rate-only limit where
 * netem is missing (burst: 10 ms worth of bytes, at least 4096). Error when rate_bps is 0. */
int impair_tbf_argv(const struct impair_spec *s, const char *dev, struct impair_argv *out,
                    struct nt_err *err);

/* iptables NFQUEUE rules feeding the userspace shaper. They live in chains of our own in the
 * mangle table, NATRIG_SHAPE_OUT (jumped to from POSTROUTING) and NATRIG_SHAPE_IN (from
 * PREROUTING); no command flushes or touches anything else, because Docker owns rules in the
 * same namespace. Two chains, not one, so a forwarded packet matching a link is queued once.
 * Packets carrying IMPAIR_SHAPER_MARK (the shaper's own injected duplicates) skip the chains. */
#define IMPAIR_CHAIN_OUT "NATRIG_SHAPE_OUT"
#define IMPAIR_CHAIN_IN "NATRIG_SHAPE_IN"
#define IMPAIR_SHAPER_MARK 0x4e545348u /* "NTSH" */

/* A queue rule always names the interface it shapes: the one that carries the node's own
 * address on its segment. Without it a packet that crosses two interfaces of the namespace
 * (a VPN's tun, then its UDP carrier on eth0; or anything on lo) would be queued, and
 * delayed, once per interface. */
struct impair_nfq_link {
    const char *addr; /* remote IPv4 address or CIDR; NULL = all traffic of dev */
    const char *dev;  /* the interface: egress -o dev, ingress -i dev; required, never lo */
    uint16_t queue;   /* NFQUEUE number */
    enum impair_dir dir;
};

/* iptables: the binary to run ("iptables", "iptables-legacy", ...; NULL = "iptables").
 * Each function appends to *out (which the caller zeroes before first use). A program named
 * ip6tables* writes IPv6 rules: the same chains, in the ip6 tables, and a link address must
 * then be IPv6 (an IPv4 one is refused, and the other way round). */
/* The program that writes family f's rules, from the IPv4 one (NULL = "iptables"):
 * "iptables-legacy" gives "ip6tables-legacy" for V6. f must be V4 or V6. Writes into out. */
int impair_ipt_for_family(const char *iptables, enum impair_family f, char *out, size_t n,
                          struct nt_err *err);
/* 1 when the program writes IPv6 rules (its name starts with ip6tables). */
int impair_ipt_is_v6(const char *iptables);
/* Create (or empty) our chain(s) for dir and hook them in first position. Idempotent. */
int impair_nfq_setup_cmds(const char *iptables, enum impair_dir dir, struct impair_cmds *out,
                          struct nt_err *err);
/* Append / delete one link's queue rule: egress matches -o DEV [-d ADDR], ingress -i DEV
 * [-s ADDR], both adds one rule to each chain. Rules carry --queue-bypass: with no shaper
 * bound, traffic passes. A missing, malformed or loopback dev is an error. */
int impair_nfq_link_add_cmds(const char *iptables, const struct impair_nfq_link *link,
                             struct impair_cmds *out, struct nt_err *err);
int impair_nfq_link_del_cmds(const char *iptables, const struct impair_nfq_link *link,
                             struct impair_cmds *out, struct nt_err *err);
/* Unhook, flush and delete our chain(s) for dir; every command may fail (already gone). */
int impair_nfq_teardown_cmds(const char *iptables, enum impair_dir dir, struct impair_cmds *out,
                             struct nt_err *err);

/* Partitions: rules in chains of our own in the filter table, NATRIG_PART_IN (jumped to
 * first from INPUT) and NATRIG_PART_OUT (from OUTPUT), so heal flushes only those and Docker's
 * rules stay untouched. The holder is the node's own namespace: INPUT/OUTPUT see all of the
 * node's traffic, the app's and the holder's. Packets vanish silently: a sender's send()
 * succeeds and nothing arrives (a DROP in the sender's own OUTPUT would fail its send() with
 * EPERM; impair_part.c says how each op avoids that). */
#define IMPAIR_PART_CHAIN_IN "NATRIG_PART_IN"
#define IMPAIR_PART_CHAIN_OUT "NATRIG_PART_OUT"
/* In a router (from FORWARD): what it forwards between two of its LAN's addresses. Two peers
 * hairpinning through the router reach each other from its public address (the hairpin's
 * SNAT), which no rule in the peers' own namespaces can tell apart from other traffic; in
 * FORWARD the packet still carries the sender's LAN address and, DNATed, the receiver's. */
#define IMPAIR_PART_CHAIN_FWD "NATRIG_PART_FWD"
/* The NFQUEUE number isolate sends a node's outbound packets to. Nobody binds it (the shaper
 * refuses to), so the kernel frees each packet and the sender sees success. */
#define IMPAIR_PART_VOID_QUEUE 65535

enum impair_part_op {
    IMPAIR_PART_SETUP,   /* create both chains, hook each in first position (idempotent) */
    IMPAIR_PART_BLOCK,   /* drop what arrives from addr (run on both nodes: both ways) */
    IMPAIR_PART_ISOLATE, /* drop everything but loopback, both ways, silently */
    IMPAIR_PART_HEAL,    /* flush both chains */
    IMPAIR_PART_DOWN,    /* unhook, flush and delete both chains (every command may fail) */
};

/* Append op's commands to *out. addr (an address or CIDR of the program's family: IPv4 for
 * iptables*, IPv6 for ip6tables*) is used by BLOCK only, which requires it. iptables as for
 * the NFQUEUE lists. Returns 0, or -1 with err and *out unchanged. */
int impair_part_cmds(const char *iptables, enum impair_part_op op, const char *addr,
                     struct impair_cmds *out, struct nt_err *err);
/* The same for a router's NATRIG_PART_FWD: SETUP (create, hook first in FORWARD), BLOCK (drop
 * what it forwards from src to dst, both required; run it for both directions), HEAL (flush),
 * DOWN (unhook, flush, delete; every command may fail). ISOLATE is refused. A drop in
 * FORWARD is silent for the sender: its own send() already returned. */
int impair_part_fwd_cmds(const char *iptables, enum impair_part_op op, const char *src,
                         const char *dst, struct impair_cmds *out, struct nt_err *err);

/* --- helpers shared by impair.c, impair_nfq.c and impair_part.c (not for other callers) --- */

void impair_argv_push(struct impair_argv *a, const char *s);
void impair_argv_pushv(struct impair_argv *a, const char *const *v); /* NULL-terminated */
/* A device name that may be shaped: 1-15 characters, no '/', blanks or ':', never lo. */
int impair_check_link_dev(const char *dev, struct nt_err *err);
/* Start a new command in c: "IPT -w [-t TABLE]" (IPT NULL = "iptables"); returns its argv. */
struct impair_argv *impair_ipt_cmd(struct impair_cmds *c, const char *ipt, const char *table,
                                   int may_fail);
/* An iptables program name: non-empty, no blank. */
int impair_check_ipt(const char *ipt, struct nt_err *err);
/* IPv4 address with an optional /0..32, written as "a.b.c.d/len" into out. */
int impair_norm_addr(const char *addr, char *out, size_t n, struct nt_err *err);
/* The same for the rules of program ipt: an IPv6 rule's address must be IPv6 (read by
 * core/ipv6, written canonical as "addr/len", /128 when none is given) and the other way
 * round. */
int impair_norm_addr_for(const char *ipt, const char *addr, char *out, size_t n,
                         struct nt_err *err);

/* --- per-packet decision (the userspace shaper) ----------------------------------------- */

/* splitmix64: tiny, fast, any seed (0 included) is fine, and the sequence is fixed by the seed
 * so tests and reruns are deterministic. */
struct impair_rng {
    uint64_t s;
};
void impair_rng_seed(struct impair_rng *r, uint64_t seed);
uint64_t impair_rng_next(struct impair_rng *r);
double impair_rng_unit(struct impair_rng *r); /* uniform in [0, 1) */

/* What impair_decide remembers between packets of one link. */
struct impair_state {
    struct impair_rng rng;
    int loss_bad;           /* the previous packet was lost (two-state loss chain) */
    double reorder_last;    /* netem correlated-random memory for reordering */
    uint32_t since_reorder; /* packets delayed since the last reordered one (netem gap) */
    uint64_t rate_next_us;  /* when the rate limiter is free again (impair_rate_due) */
};
void impair_state_init(struct impair_state *st, uint64_t seed);

struct impair_verdict {
    int drop;
    int duplicate;   /* deliver one extra copy */
    long corrupt_at; /* byte index in [0, len) whose bit corrupt_mask flips, or -1 */
    uint8_t corrupt_mask;
    int reordered;     /* sent at once, overtaking delayed packets */
    uint64_t delay_us; /* hold this long (0 for dropped or reordered packets) */
};

/* Decide the fate of one packet of len bytes (len: the bytes eligible for corruption; the
 * shaper passes the part after the IP header). Follows netem's order: duplication, then loss
 * (a packet picked for both is delivered once), corruption, then reorder-or-delay.
 * Loss with correlation c and rate p is a two-state chain: after a delivered packet the next
 * is lost with (1-c)p, after a lost one with c+(1-c)p; the long-run rate stays p and the mean
 * burst grows to 1/((1-c)(1-p)). (netem's "next = c*last + (1-c)*rand" would shrink the rate.)
 * Jitter: the distribution's sample scaled by jitter_us around delay_us, clamped at 0.
 * Reorder as netem: once gap-1 packets have been delayed, each packet goes at once with
 * probability reorder_pct (netem correlated random with reorder_corr_pct). */
void impair_decide(const struct impair_spec *s, struct impair_state *st, size_t len,
                   struct impair_verdict *v);

/* When a packet of len bytes whose delay ends at now_us + delay_us leaves a link limited to
 * s->rate_bps: after the previous packet has been serialised, plus its own serialisation
 * time (netem's rate). Updates st->rate_next_us. Without a rate: now_us + delay_us. */
uint64_t impair_rate_due(const struct impair_spec *s, struct impair_state *st, uint64_t now_us,
                         uint64_t delay_us, size_t len);

#endif
