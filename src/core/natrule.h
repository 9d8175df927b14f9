/* natrule.h - the NAT router's rules: from a NAT spec (RFC 4787 mapping and filtering,
 * hairpinning, UDP mapping timeout, port preservation, the "racy" plain-masquerade flag, the
 * WAN address and the LAN subnets) to one nftables ruleset text for `nft -f`, the argv lists
 * that apply, verify, flush and inspect it, and a checker for `nft list table ip natrig`.
 * Pure: no I/O. Uses base/err.h for errors and base/buf.h for the ruleset text.
 *
 * Ownership: functions borrow their inputs. argv vectors point at string literals or at the
 * path the caller passed in, so they live as long as that path.
 *
 * How each behaviour is built (UDP; everything lives in `table ip natrig`, the only table this
 * module creates, flushes or deletes, so Docker's own nat chains stay untouched; rules match
 * on addresses only, never on interface names, which are not stable in containers):
 *  - Mapping is chosen in `snat_out` (nat postrouting, priority 100) for packets from a LAN
 *    subnet to a non-LAN address. EIM: the first flow of an inside endpoint gets its own port
 *    (port preservation on) or a random one; `learn` (postrouting, priority 300, after NAT)
 *    records inside endpoint -> public address.port in map eim_out, and every later flow of
 *    that endpoint is SNATed to exactly that port, so the mapping stays endpoint independent
 *    even when conntrack would have picked another port. A preserved port that another inside
 *    endpoint already owns (map pub_to_inside) is not reused: that flow gets a random port
 *    instead, so two LAN hosts on the same source port never share one public port.
 *    ADM: the first flow to a remote address gets a random port, recorded in adm_out under
 *    (inside address, inside port, remote address) and reused for that remote address.
 *    APDM: `snat ... random` per flow (what `MASQUERADE --random` does).
 *  - Filtering happens in `guard` (filter prerouting, priority -300, before conntrack at -200)
 *    on UDP from outside to wan_ip: a packet dropped there leaves no conntrack entry, which is
 *    what removes the conntrack race (see racy below). `learn` records, for every outbound
 *    UDP packet after NAT, (remote address, remote port, public port) in set seen_ap and, for
 *    ADF, (remote address, public port) in seen_a. The guard accepts: APDF a seen_ap triple;
 *    ADF a seen_a pair; EIF any public port that is a live mapping (pub_to_inside); every mode
 *    also a seen_ap triple (the router's own flows, e.g. Docker's DNS forwarder). Accepted
 *    packets with no conntrack entry are DNATed by `dnat_in` (nat prerouting, -100) through
 *    pub_to_inside (public port -> inside endpoint).
 *  - Mapping timeout: every set and map has `timeout <udp_timeout>s` and is refreshed only by
 *    outbound packets (RFC 4787 REQ-6). A `ct timeout` policy (chain ct_policy, priority -150:
 *    it must see the unconfirmed conntrack entry, so after -200) gives UDP conntrack entries
 *    the same timeout in both states, so an idle mapping dies at one time everywhere.
 *  - Hairpin on: LAN packets to wan_ip:P where P is a live mapping are DNATed to the inside
 *    endpoint and SNATed to wan_ip (to the sender's own EIM mapping when it has one), so the
 *    replies come back through the router. Hairpinned packets are not filtered.
 *  - `isolate` (filter forward, 0) drops new flows from outside to a LAN address that were not
 *    DNATed by a mapping: a NAT does not route unsolicited packets into its LAN. Established
 *    traffic in both directions is never touched.
 *  - racy = plain Linux masquerade: only `snat ip to <wan_ip>` (same port choice as
 *    MASQUERADE, but pinned to wan_ip rather than whatever address the outgoing interface
 *    has), no guard, no learned sets. An unsolicited packet from a peer to the public port
 *    creates a conntrack entry first; the peer's own outbound packet then clashes with it and
 *    conntrack moves it to another port, which breaks simultaneous hole punching (the
 *    conntrack race). It still classifies as EIM + APDF with one LAN host; with two LAN hosts
 *    on one source port it shares that public port between them, and a flow that clashes
 *    gets another port (not EIM under contention). With hairpin on it adds only the map and
 *    the DNAT for LAN senders. udp_timeout still applies (through the ct timeout policy).
 *  - The table carries `comment "natrig <natrule_describe> wan_ip=<ip>"`, so a listing says
 *    which spec is loaded and natrule_check_listing can tell a stale table from this one.
 *  - Needs nft >= 1.0 and a kernel with nf_tables, nf_nat, dynamic sets and conntrack timeout
 *    policies (CONFIG_NF_CONNTRACK_TIMEOUT); all were present and proven on this platform by
 *    tests/nat/netns-classify, netns-holepunch and netns-portshare.
 *
 * Not offered, and why:
 *  - port preservation with ADM or APDM: a mapping that must differ per remote cannot keep
 *    the inside port for every remote; rejected.
 *  - racy with ADM or with EIF/ADF filtering: plain masquerade only has conntrack filtering
 *    (address and port dependent) and port-preserving or random ports. Racy EIM needs port
 *    preservation on, racy APDM needs it off; other combinations are rejected.
 *  - TCP (RFC 5382) is built the same way with sets and maps of its own (natrule_tcp.c, whose
 *    header comment says how); protocols other than UDP and TCP from the LAN are SNATed to
 *    wan_ip as plain Linux masquerade does (conntrack filtering); IPv6 is not NATed.
 *  - the random fallback port is only checked against conntrack tuples, so with many busy LAN
 *    endpoints it can land on a port another endpoint owns (about k/64512 for k live
 *    mappings); the later one then wins that port's inbound (EIF/ADF) DNAT.
 */
#ifndef NT_NATRULE_H
#define NT_NATRULE_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "core/ipv4.h"
#include "core/ipv6.h"

enum natrule_mapping {
    NATRULE_EIM = 0, /* endpoint independent */
    NATRULE_ADM,     /* address dependent */
    NATRULE_APDM,    /* address and port dependent */
};

enum natrule_filtering {
    NATRULE_EIF = 0, /* endpoint independent */
    NATRULE_ADF,     /* address dependent */
    NATRULE_APDF,    /* address and port dependent */
    NATRULE_CLOSED,  /* IPv6 firewall only: no inbound UDP at all, replies included */
    NATRULE_OPEN,    /* IPv6 firewall only: RFC 6092's transparent mode, nothing filtered */
};

#define NATRULE_MAX_LAN 8
#define NATRULE_TIMEOUT_DEFAULT 120u
#define NATRULE_TIMEOUT_MAX 86400u
#define NATRULE_DEFAULT_PRESET "port_restricted"
#define NATRULE_RULESET_PATH "/etc/natrig/nat.nft"
#define NATRULE_RULESET6_PATH "/etc/natrig/fw6.nft" /* the IPv6 firewall's (family 6) */
#define NATRULE_TABLE "natrig"                      /* always family ip */
#define NATRULE_PM_MARK 0x1u /* meta mark bit: unsolicited UDP the guard let wait for pm_late */
#define NATRULE_PM_MARK_S "0x1"

/* What a NAT does with an unsolicited inbound TCP SYN (RFC 5382 REQ-4). */
enum natrule_syn {
    NATRULE_SYN_DEFAULT = 0, /* the preset's way: drop, or rst for racy (its own stack) */
    NATRULE_SYN_DROP,        /* silently dropped */
    NATRULE_SYN_RST,         /* answered with a TCP RST at once */
    NATRULE_SYN_HOLD,        /* no answer for 6 s (REQ-4), then ICMP port unreachable */
};

#define NATRULE_TCP_ESTABLISHED_DEFAULT 7440u /* RFC 5382 REQ-5: at least 2 h 4 min */
#define NATRULE_TCP_TRANSITORY_DEFAULT 240u   /* RFC 5382 REQ-5: at least 4 min */
#define NATRULE_TCP_TIMEOUT_MAX 604800u
#define NATRULE_SYN_HOLD_SECONDS 6u

struct natrule_spec {
    enum natrule_mapping mapping;
    enum natrule_filtering filtering;
    int hairpin;           /* 1: LAN -> wan_ip:mapped port reaches the mapped inside endpoint */
    int port_preservation; /* 1: a new mapping keeps the inside port when it is free */
    int racy;              /* 1: plain masquerade, no guard (the conntrack race) */
    int portmap; /* 1: port mapping (lua/natrig/portmap.lua): the guard marks instead of dropping
                  * and chain pm_late (prerouting, -90) drops what no mapping DNATed */
    unsigned udp_timeout; /* seconds a mapping lives after its last outbound packet */
    /* TCP (natrule_tcp.c). Zero means "the default", so a zeroed spec is valid: mapping and
     * filtering as UDP's, syn as the preset's, the RFC 5382 timeouts. Read them through
     * natrule_tcp_mapping() and friends. */
    int tcp_mapping;   /* 0, or 1 + enum natrule_mapping */
    int tcp_filtering; /* 0, or 1 + enum natrule_filtering */
    enum natrule_syn tcp_syn;
    unsigned tcp_established; /* idle seconds of an established connection's mapping */
    unsigned tcp_transitory;  /* idle seconds of one being opened or closed */
    uint32_t wan_ip;          /* host byte order; 0 = not set */
    size_t n_lan;
    struct ipv4_cidr lan[NATRULE_MAX_LAN]; /* host bits zero */
    /* family 6: the router's IPv6 firewall (natrule_fw6.c), in table ip6 natrig: no
     * translation, only RFC 6092 inbound filtering from the same filtering, hairpin and
     * udp_timeout; its addresses are wan_ip6 and lan6 (wan_ip and lan stay unused). */
    int family; /* 0 or 4: the IPv4 NAT; 6: the IPv6 firewall */
    int has_wan6;
    struct ipv6_addr wan_ip6;
    size_t n_lan6;
    struct ipv6_cidr lan6[NATRULE_MAX_LAN];
    /* NPTv6 (RFC 6296, natrule_fw6.c): the outside /64 the first LAN /64 is translated to */
    int has_npt6;
    struct ipv6_cidr npt6;
};

/* --- spec ------------------------------------------------------------------------------- */

/* Fill out with the named preset's behaviour (wan_ip unset, no LAN). Presets:
 *   full_cone        EIM + EIF,  hairpin on
 *   restricted_cone  EIM + ADF,  hairpin on
 *   port_restricted  EIM + APDF, hairpin on (the default)
 *   symmetric        APDM + APDF, hairpin on
 *   address_dependent ADM + ADF, hairpin on
 *   linux_masquerade EIM + APDF by classification, racy, hairpin off
 * All with udp_timeout 120 s; port preservation on for EIM. NULL or "" gives the default.
 * Returns 0, or -1 with err (NT_EINVAL) naming the valid presets. */
int natrule_preset(const char *name, struct natrule_spec *out, struct nt_err *err);

/* NULL-terminated list of preset names, in the order above. */
const char *const *natrule_preset_names(void);

/* Parse "a.b.c.d" into wan_ip. Rejects 0.0.0.0, 255.255.255.255, 127/8, 224/4 and anything
 * that is not a dotted quad. Returns 0 or -1 with err. */
int natrule_set_wan(struct natrule_spec *s, const char *ip, struct nt_err *err);

/* Append a LAN subnet "a.b.c.d/len" (len 8..32, no host bits set, at most NATRULE_MAX_LAN,
 * no overlap with an earlier one). Returns 0 or -1 with err. */
int natrule_add_lan(struct natrule_spec *s, const char *cidr, struct nt_err *err);

/* Set one option by name: mapping (EIM|ADM|APDM), filtering (EIF|ADF|APDF), hairpin,
 * port_preservation, racy (on|off|true|false|1|0|yes|no), udp_timeout (seconds), wan_ip,
 * lan (adds a subnet), and TCP's: tcp_mapping, tcp_filtering (as UDP's, or "same"),
 * tcp_syn (drop|rst|hold|default), tcp_established, tcp_transitory (seconds).
 * Case-insensitive values. Unknown keys are an error listing the valid ones. Returns 0 or
 * -1 with err. */
int natrule_set_option(struct natrule_spec *s, const char *key, const char *value,
                       struct nt_err *err);

/* Check that the spec can be built correctly (see "Not offered" above), that wan_ip is set
 * and outside every LAN subnet, and that there is at least one LAN subnet.
 * Returns 0 or -1 with err (NT_EINVAL) saying what is wrong. */
int natrule_validate(const struct natrule_spec *s, struct nt_err *err);

/* Short names: "EIM", "ADM", "APDM" / "EIF", "ADF", "APDF"; "?" when out of range. */
const char *natrule_mapping_name(enum natrule_mapping m);
const char *natrule_filtering_name(enum natrule_filtering f); /* also "closed", "open" */

/* TCP's effective behaviour: mapping and filtering (UDP's unless set apart), what an
 * unsolicited SYN gets, port preservation (the spec's, for EIM only) and the timeouts. */
enum natrule_mapping natrule_tcp_mapping(const struct natrule_spec *s);
enum natrule_filtering natrule_tcp_filtering(const struct natrule_spec *s);
enum natrule_syn natrule_tcp_syn(const struct natrule_spec *s);
int natrule_tcp_port_preservation(const struct natrule_spec *s);
unsigned natrule_tcp_established(const struct natrule_spec *s);
unsigned natrule_tcp_transitory(const struct natrule_spec *s);
/* "drop", "rst", "hold" ("default" for NATRULE_SYN_DEFAULT); "?" when out of range. */
const char *natrule_syn_name(enum natrule_syn y);

/* One line describing the spec: "mapping=EIM filtering=APDF hairpin=on port_preservation=on
 * racy=off udp_timeout=120", then each TCP setting that is not the default
 * (" tcp_filtering=EIF tcp_syn=rst tcp_established=600"). Appends to out; returns 0, or -1
 * when out is full. */
int natrule_describe(const struct natrule_spec *s, struct buf *out);

/* --- ruleset ---------------------------------------------------------------------------- */

/* Append the whole ruleset for `nft -f` to out. It starts with `table ip natrig {}` and
 * `delete table ip natrig`, so loading it again replaces the table atomically (one nft
 * transaction) whether or not it existed. Validates s first.
 * Returns 0, or -1 with err (NT_EINVAL from validation, NT_LIMIT when out is full). */
int natrule_ruleset(const struct natrule_spec *s, struct buf *out, struct nt_err *err);

/* An object the ruleset defines: kind is "chain", "set", "map" or "ct timeout"; hook is the
 * netfilter hook of a chain ("prerouting", ...), NULL otherwise. */
struct natrule_object {
    const char *kind;
    const char *name;
    const char *hook;
};

#define NATRULE_MAX_OBJECTS 32

/* The objects the ruleset for s defines, in ruleset order. Fills up to max entries and
 * returns how many there are (may exceed max). */
size_t natrule_objects(const struct natrule_spec *s, struct natrule_object *out, size_t max);

/* Readiness check on the text of `nft list table ip natrig` (natrule_verify_argv): the table
 * comment names this very spec (the ruleset tags the table with "natrig <natrule_describe, UDP>
 * wan_ip=<ip>", so a stale table of another spec is caught; chain ct_policy's comment names
 * TCP's behaviour, natrule_tcp.c), every object of natrule_objects
 * is present (a chain also with its hook), wan_ip appears in the rules and every LAN subnet
 * is an element of set lan_nets. Returns 0 when ready, or -1 with err (NT_PARSE) naming the
 * first thing missing. */
int natrule_check_listing(const struct natrule_spec *s, const char *listing, struct nt_err *err);

/* --- argv ------------------------------------------------------------------------------- */

#define NATRULE_ARGV_MAX 8

/* A NULL-terminated argv: v[0] is the program ("nft", "conntrack"). */
struct natrule_argv {
    const char *v[NATRULE_ARGV_MAX + 1];
};

/* {"nft", "-f", path}; path NULL means NATRULE_RULESET_PATH. */
void natrule_apply_argv(const char *path, struct natrule_argv *out);

/* {"nft", "list", "table", "ip", "natrig"}: its output goes to natrule_check_listing. */
void natrule_verify_argv(struct natrule_argv *out);
/* The same for a family: 6 lists table ip6 natrig. */
void natrule_verify_argv_family(int family, struct natrule_argv *out);

/* The family's table keyword: "ip6" for 6, else "ip". */
const char *natrule_family_kw(const struct natrule_spec *s);

/* --- the IPv6 firewall (family 6, natrule_fw6.c) ------------------------------------------
 * Inbound UDP to a LAN prefix from outside is filtered in `guard` (prerouting -300, before
 * conntrack), as the NAT's guard is: `learn` (postrouting 300) records every outbound UDP
 * packet as (remote address, remote port, inside address, inside port) in seen_ap, for ADF
 * (remote address, inside address, inside port) in seen_a, for EIF (inside address, inside
 * port) in seen_e, each with the udp_timeout and refreshed only by outbound packets. APDF
 * accepts a seen_ap quadruple, ADF also a seen_a triple, EIF also a seen_e pair; closed
 * accepts no inbound UDP at all (a LAN's UDP exchanges get no answers: hole punching cannot
 * work through it); open (RFC 6092 transparent mode) has no guard. `isolate` (forward) drops
 * new inbound flows of other protocols but ICMPv6 (RFC 6092: unsolicited TCP is refused),
 * except when open. There is no translation, so no conntrack race and nothing to hairpin:
 * LAN hosts reach each other's global addresses on the link. */
int natrule_set_wan6(struct natrule_spec *s, const char *ip, struct nt_err *err);
/* NPTv6 (RFC 6296), option npt6 = an outside /64 checksum-neutral with the (one) LAN /64
 * (core/npt6 picks one): `npt_in` (prerouting -310, before the guard and conntrack)
 * rewrites the destination prefix of packets to it into the LAN's, `npt_out` (postrouting
 * 310, after learn) the source prefix of the LAN's packets leaving it, with nft's raw
 * payload statement: stateless, the suffix untouched, and no checksum rewritten (none needs
 * it). The firewall and conntrack see LAN addresses only. */
int natrule_add_lan6(struct natrule_spec *s, const char *cidr, struct nt_err *err);

/* Forget every mapping: one `nft flush set|map ip natrig NAME` per learned set or map of s
 * (so the guard closes first), then {"conntrack", "-F"}. Fills up to max and returns how many
 * argvs there are (may exceed max). */
size_t natrule_flush_argvs(const struct natrule_spec *s, struct natrule_argv *out, size_t max);

/* Diagnostics: {"nft", "list", "table", "ip", "natrig"} (rules carry counters and the
 * listing shows learned elements with their expiry), {"conntrack", "-L", "-p", "udp"} and
 * {"conntrack", "-L", "-p", "tcp"}.
 * Fills up to max and returns how many there are. */
size_t natrule_diag_argvs(struct natrule_argv *out, size_t max);

/* Reading `nft list table` text (natrule_check.c; the CGN's checker too): where the block of the
 * line "<kind> <name> {" starts, or NULL (names match whole: "seen_a" never finds
 * "seen_ap"); and its length, up to the object's closing "\n\t}". */
const char *natrule_find_block(const char *text, const char *kind, const char *name);
size_t natrule_block_len(const char *start);

#endif
