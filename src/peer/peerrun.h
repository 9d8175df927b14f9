/* peerrun.h - the state of one `natrig-peer peer` run, shared by the files that do its parts:
 * cmd_peer.c (options, the loop, the state machine's actions, the --expect verdict),
 * peerrun_udp.c (the rendezvous and peer messages over UDP), peerrun_tcp.c (--tcp: the
 * punch as a TCP simultaneous open) and peerrun_map.c (--portmap). One struct peer per
 * process, owned by cmd_peer.c; the other files borrow it. */
#ifndef NT_PEERRUN_H
#define NT_PEERRUN_H

#include <stdint.h>

#include "core/peerproto.h"
#include "peer/peertcp.h"

#define PEERRUN_T_PEER "natrig_peer::peer"
#define PEERRUN_T_PUNCH "natrig_peer::punch"
#define PEERRUN_T_PING "natrig_peer::ping"
#define PEERRUN_T_MAP "natrig_peer::portmap"
#define PEERRUN_MAX_EXPECT 64

struct peer {
    /* options */
    struct peerproto_addr gateway, local; /* one family: the gateway's (local follows it) */
    int has_gateway, has_bind;
    char name[PEERPROTO_NAME_MAX + 1];
    struct peerproto_timing t;
    int64_t keepalive_us;
    char expect[PEERRUN_MAX_EXPECT][PEERPROTO_NAME_MAX + 1];
    int nexpect;
    int exit_when_done;
    int tcp;     /* --tcp: punch by TCP simultaneous open */
    int portmap; /* 0 off, 1 NAT-PMP, 2 PCP */
    /* state */
    struct peertcp t_tcp;
    int fd;
    struct peerproto_table tb;
    struct peerproto_stats st;
    unsigned long unexpected, send_errors;
    int registered;
    struct peerproto_addr public_addr;
    uint32_t reg_seq;
    unsigned reg_unanswered;
    int64_t next_register_us;
    int expect_reported, expect_failed;
    int has_mapped;
    struct peerproto_addr mapped; /* the router's mapping of our port: sent in REGISTER_AT */
};

/* 1 when name is in --expect. */
int peerrun_is_expected(const struct peer *p, const char *name);

/* --- peerrun_udp.c ------------------------------------------------------------------------ */
/* Send a PUNCH/PUNCH_ACK/PING/PONG from us (to_name: PUNCH's receiver, else NULL) to `to`;
 * a failed send is counted and logged, never fatal. */
void peerrun_send_named(struct peer *p, enum peerproto_type type, uint32_t seq, const char *to_name,
                        uint64_t ts, const struct peerproto_addr *to);
/* REGISTER (or REGISTER_AT with a port mapping) to the gateway; schedules the next one. */
void peerrun_send_register(struct peer *p, int64_t now);
/* One datagram of n bytes (cut to cap) from `from`: decoded, counted, acted on. */
void peerrun_on_datagram(struct peer *p, const unsigned char *buf, size_t n, size_t cap,
                         const struct peerproto_addr *from, int64_t now);
/* A PONG (over UDP, or a TCP line made into one) from `from`. */
void peerrun_on_pong(struct peer *p, const struct peerproto_msg *m,
                     const struct peerproto_addr *from, int64_t now);

/* --- peerrun_tcp.c ------------------------------------------------------------------------ */
/* --tcp: a PUNCH is a connect() (while none to r is up or under way), a PING a line on the
 * connection. Returns 1 when it handled the action. */
int peerrun_tcp_action(struct peer *p, struct peerproto_remote *r, const struct peerproto_action *a,
                       int64_t now);
/* The callbacks peertcp_handle calls for this run. */
struct peertcp_cb peerrun_tcp_callbacks(struct peer *p);

/* --- peerrun_map.c ------------------------------------------------------------------------ */
/* --portmap: ask the router to map our port(s) and, when it does, register the mapping. */
void peerrun_portmap(struct peer *p);

#endif
