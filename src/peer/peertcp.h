/* peertcp.h - natrig-peer's TCP side for `peer --tcp`: one listening socket and outgoing
 * connect()s all bound to the same port (SO_REUSEADDR + SO_REUSEPORT), so a TCP simultaneous
 * open through two NATs can complete either way (connect meets connect, or a SYN reaches the
 * listener). Each connection carries lines: "HELLO name", "PING seq ts", "PONG seq ts".
 * I/O only; what the lines mean is cmd_peer.c's. */
#ifndef NT_PEERTCP_H
#define NT_PEERTCP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "core/peerproto.h"

#define PEERTCP_MAX 32

struct peertcp_conn {
    int fd;         /* -1: free */
    int connecting; /* connect() in progress */
    int remote;     /* the peer table's index, -1 until known */
    int hello;      /* the remote's HELLO arrived: this connection carries its pings */
    struct peerproto_addr addr;
    char buf[256];
    size_t len;
};

struct peertcp {
    int lfd;
    struct peerproto_addr local;
    struct peertcp_conn c[PEERTCP_MAX];
};

struct peertcp_cb {
    void *ctx;
    /* connect() of slot i ended: err 0 connected, else the errno */
    void (*connected)(void *ctx, struct peertcp *t, int i, int err);
    /* a connection came in on the listener (slot i, remote unknown) */
    void (*accepted)(void *ctx, struct peertcp *t, int i);
    /* one line (no newline) arrived on slot i */
    void (*line)(void *ctx, struct peertcp *t, int i, const char *line);
    /* slot i's peer closed it or it broke; the slot is free after this returns */
    void (*closed)(void *ctx, struct peertcp *t, int i);
};

/* Listen on local (non-blocking). Returns 0 or -1 with err. */
int peertcp_listen(struct peertcp *t, const struct peerproto_addr *local, struct nt_err *err);
/* Start a connect() from the listening port to `to` for remote index `remote`. Returns the
 * slot, or -1 (errno set; no free slot: EMFILE). */
int peertcp_connect(struct peertcp *t, const struct peerproto_addr *to, int remote);
/* A slot of remote (connecting or up), or -1; with hello set, only the one that said HELLO. */
int peertcp_find(const struct peertcp *t, int remote, int hello);
/* Append "line\n" to slot i (whole or not at all). Returns 0 or -1. */
int peertcp_send(struct peertcp *t, int i, const char *line);
void peertcp_close(struct peertcp *t, int i);
/* The pollfds to wait on (listener first). Returns how many were filled. */
size_t peertcp_pollfds(const struct peertcp *t, struct pollfd *p, size_t max);
/* Handle what p (as filled by peertcp_pollfds, after poll) says happened. */
void peertcp_handle(struct peertcp *t, const struct pollfd *p, size_t n,
                    const struct peertcp_cb *cb);
void peertcp_free(struct peertcp *t);

#endif
