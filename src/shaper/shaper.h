/* shaper.h - natrig-shaper, the userspace link shaper for kernels without sch_netem.
 * It binds NFQUEUE queues fed by iptables rules (core/impair.h builds them), holds each packet
 * for the delay core/impair's impair_decide picks, and gives the verdict later: ACCEPT after a
 * delay, DROP, ACCEPT with a corrupted payload, or ACCEPT plus a copy injected through a raw
 * socket for duplication. A UNIX control socket changes each queue's impairment at run time.
 *
 * Files: main.c dispatches; cmd_run.c is the daemon; cmd_ctl.c the client commands (set,
 * clear, stats, bind, ping); cmd_rules.c runs the iptables argv lists; ctl.c the control
 * protocol; rtsched.c the daemon's CPU scheduling; nfqueue.c the netlink side (libmnl +
 * libnetfilter_queue); pending.c the min-heap of held packets. Uses base/err for errors. Functions
 * borrow their inputs unless they say "takes". */
#ifndef NT_SHAPER_H
#define NT_SHAPER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

#define SHAPER_DEFAULT_CONTROL "/run/natrig-shaper.sock"
#define SHAPER_CONTROL_ENV "NATRIG_SHAPER_CONTROL"
#define SHAPER_MSG_MAX 8192         /* one control request or reply */
#define SHAPER_DEFAULT_MAXLEN 32768 /* kernel queue length; PLATFORM.md: 1024 overflows */
#define SHAPER_RT_PRIO 10           /* SCHED_FIFO priority of the daemon, when permitted */

/* Ask for real-time scheduling (rtsched.c). Returns what it got: "fifo", "deadline", "nice"
 * or "normal"; msg says how, or why real-time was refused. */
const char *shaper_set_sched(char *msg, size_t n);

/* One subcommand: tmux-style table entry. run returns the process exit status. */
struct shaper_cmd {
    const char *name;
    const char *usage;
    int (*run)(int argc, char **argv);
};

extern const struct shaper_cmd shaper_cmd_run, shaper_cmd_set, shaper_cmd_clear, shaper_cmd_stats,
    shaper_cmd_bind, shaper_cmd_ping, shaper_cmd_rules;

/* Parse a queue number 0..65535. Returns 0 or -1 with err naming opt. */
int shaper_parse_queue(const char *opt, const char *s, uint16_t *out, struct nt_err *err);
/* The control socket path: --control, else $NATRIG_SHAPER_CONTROL, else the default. */
const char *shaper_control_path(const char *opt);

/* --- cmd_rules.c ------------------------------------------------------------------------- */

/* The `rules` request, for the CLI and for the daemon's control socket alike: argv[0] is
 * "rules", argv[1] the action (up, down, add, del), then the options of shaper_cmd_rules.
 * Runs the iptables commands (fork + exec, waiting for each) or, with --print, writes them
 * to out. dev_out (may be NULL) receives the interface an add/del named (--dev or found
 * --via its address). Returns 0, or -1 with err: op "usage" for a bad request, "rules" when
 * a command failed. */
int shaper_rules(int argc, char **argv, char *dev_out, size_t dev_n, FILE *out, struct nt_err *err);
/* The interface that carries IPv4 address ip in this network namespace. */
int shaper_dev_for_addr(const char *ip, char *dev, size_t n, struct nt_err *err);

/* What the userspace shaper cannot do, on top of impair_spec_check: duplicate on ingress (its
 * copy is injected through a raw socket, which sends it out instead of receiving it). */
struct impair_spec;
int shaper_check_spec(const struct impair_spec *s, struct nt_err *err);

/* --- pending.c: held packets ordered by due time ------------------------------------------ */

struct pending {
    uint64_t due_us; /* CLOCK_MONOTONIC microseconds */
    uint64_t seq;    /* arrival order, breaks ties so equal delays stay FIFO */
    uint32_t id;     /* NFQUEUE packet id */
    uint16_t queue;
    uint8_t duplicate;    /* inject a copy when released */
    uint8_t mangled;      /* pkt differs from the kernel's copy: send it with the verdict */
    uint8_t corrupt_mask; /* the bit flipped at corrupt_off, to undo it for a duplicate */
    uint32_t corrupt_off;
    uint32_t hold_us;   /* how long it was held for (due minus arrival), for lateness */
    unsigned char *pkt; /* owned; NULL unless duplicate or mangled */
    size_t len;
};

struct pending_heap {
    struct pending *v;
    size_t n, cap;
    uint64_t next_seq;
};

/* Takes ownership of p->pkt; assigns p->seq. */
void pending_push(struct pending_heap *h, struct pending *p);
/* Due time of the earliest packet; 0 when empty (returns 0) else returns 1. */
int pending_peek(const struct pending_heap *h, uint64_t *due_us);
/* Remove the earliest into *out (the caller then owns out->pkt). Heap must not be empty. */
void pending_pop(struct pending_heap *h, struct pending *out);
void pending_free(struct pending_heap *h);

/* --- nfqueue.c ---------------------------------------------------------------------------- */

struct nfqueue;

struct nfqueue_pkt {
    uint16_t queue;
    uint32_t id;
    uint8_t hook;              /* NF_INET_PRE_ROUTING ... NF_INET_POST_ROUTING */
    const unsigned char *data; /* starts at the IP header; caplen bytes */
    size_t caplen;
};

typedef void (*nfqueue_pkt_fn)(void *ud, const struct nfqueue_pkt *p);

/* Open the netlink socket. NULL with err on failure (no CAP_NET_ADMIN, no nfnetlink_queue). */
struct nfqueue *nfqueue_open(nfqueue_pkt_fn fn, void *ud, struct nt_err *err);
int nfqueue_fd(const struct nfqueue *q);
/* Bind queue num with a kernel queue of maxlen packets. full_copy: the whole packet comes to
 * userspace (needed to corrupt or duplicate), else only the first 128 bytes (headers). Packets
 * that arrive while waiting for the kernel's answer are handed to fn as usual. */
int nfqueue_bind(struct nfqueue *q, uint16_t num, uint32_t maxlen, int full_copy,
                 struct nt_err *err);
int nfqueue_set_copy(struct nfqueue *q, uint16_t num, int full_copy, struct nt_err *err);
/* Make a bound queue let new packets through unqueued (fail-open with no room), so a shutdown
 * can verdict what it holds without the kernel dropping newcomers when the socket closes. */
int nfqueue_fail_open(struct nfqueue *q, uint16_t num, struct nt_err *err);
/* Queue a verdict (sent in batches; nfqueue_flush sends). pkt/len: a replacement payload, or
 * NULL. */
int nfqueue_verdict(struct nfqueue *q, uint16_t num, uint32_t id, int verdict,
                    const unsigned char *pkt, size_t len, struct nt_err *err);
int nfqueue_flush(struct nfqueue *q, struct nt_err *err);
/* Read what the kernel sent without blocking, at most budget messages; calls fn per packet.
 * Returns the number of messages read, or -1 on a socket error. */
int nfqueue_read(struct nfqueue *q, int budget, struct nt_err *err);
/* Kernel counters from /proc/net/netfilter/nfnetlink_queue for queue num: packets dropped
 * because the queue was full, and because our socket buffer was. -1 when not listed. */
int nfqueue_kernel_stats(uint16_t num, uint64_t *queue_dropped, uint64_t *user_dropped);
void nfqueue_close(struct nfqueue *q);

/* --- ctl.c: the control protocol ----------------------------------------------------------
 * A SOCK_SEQPACKET UNIX socket; one request per connection, one reply. Request: a line of
 * space-separated tokens, "VERB [queue=N] [key=value ...]", verbs ping, set, clear, stats,
 * bind; and "rules ACTION --opt value ..." with the options of the rules command (reply
 * "ok dev=IFACE" for add/del). Reply: "ok" or "ok <text>" or "err <message>". SEQPACKET rather than
 * a datagram socket because a datagram reply needs the client's own address, and an autobound one
 * is scoped to a network namespace. */

/* Send req to the daemon at path and read its reply into buf (NUL-terminated). Returns 0 when
 * a reply came (ok or err: the caller reads it), -1 with err when none did. */
int ctl_request(const char *path, const char *req, char *buf, size_t n, int timeout_ms,
                struct nt_err *err);
/* Split s in place on spaces; returns the number of tokens (at most max). */
size_t ctl_split(char *s, char **tok, size_t max);

#endif
