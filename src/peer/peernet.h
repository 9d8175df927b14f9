/* peernet.h - the few system calls natrig-peer needs: a monotonic clock, UDP sockets, and a
 * wait that SIGINT/SIGTERM interrupt without a race (the signals stay blocked except inside
 * ppoll). Addresses are core/peerproto.h's endpoints, IPv4 or IPv6: a socket has its local
 * address's family. */
#ifndef NT_PEERNET_H
#define NT_PEERNET_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/err.h"
#include "core/peerproto.h"

/* Monotonic microseconds (CLOCK_MONOTONIC), for timers and RTTs. */
int64_t peernet_now_us(void);

/* Block SIGINT and SIGTERM and install their handler; call once before any wait. */
void peernet_signals_init(void);
/* The signal that asked us to stop (SIGINT or SIGTERM), or 0. */
int peernet_stop_signal(void);
/* "INT" / "TERM" for a signal number. */
const char *peernet_signal_name(int sig);

/* Wait until fd is readable (fd < 0: just sleep), at most timeout_us (< 0: forever).
 * Returns 1 readable, 0 timed out, -1 when a stop signal arrived (or poll failed). */
int peernet_wait(int fd, int64_t timeout_us);
/* The same over n pollfds (their revents filled in). */
int peernet_waitv(struct pollfd *p, size_t n, int64_t timeout_us);

/* An endpoint as a sockaddr of its family; returns the length to pass with it. */
socklen_t peernet_sockaddr(const struct peerproto_addr *a, struct sockaddr_storage *ss);
/* A sockaddr into an endpoint. Returns 0, or -1 for a family neither IPv4 nor IPv6. */
int peernet_from_sockaddr(const struct sockaddr_storage *ss, struct peerproto_addr *a);
/* A non-blocking, close-on-exec socket (SOCK_DGRAM or SOCK_STREAM) of local's family (an
 * IPv6 one takes IPv6 only). Returns the fd, or -1 with err. */
int peernet_socket(const struct peerproto_addr *local, int type, struct nt_err *err);
/* bind(2) to local; op names the step in err. Returns 0 or -1 with err. */
int peernet_bind(int fd, const struct peerproto_addr *local, const char *op, struct nt_err *err);
/* A non-blocking UDP socket of local's family bound to it (port 0: any). Returns the fd, or -1
 * with err. */
int peernet_udp_bind(const struct peerproto_addr *local, struct nt_err *err);
/* Connect a UDP socket (fixes the local source address). Returns 0 or -1 with err. */
int peernet_connect(int fd, const struct peerproto_addr *to, struct nt_err *err);
/* The socket's local address; its peer's (a connected socket). Returns 0 or -1. */
int peernet_local_addr(int fd, struct peerproto_addr *out);
int peernet_peer_addr(int fd, struct peerproto_addr *out);

/* Receive one datagram into buf. Returns its real length (may exceed cap: the datagram was
 * cut to cap bytes), or -1 when nothing is waiting or on error. *from is the sender. */
long peernet_recv(int fd, void *buf, size_t cap, struct peerproto_addr *from);
/* Send one datagram to `to` (NULL: the connected peer). Returns 0 or -1 with err (errno
 * kept). */
int peernet_send(int fd, const void *buf, size_t len, const struct peerproto_addr *to,
                 struct nt_err *err);

#endif
