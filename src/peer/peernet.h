/* peernet.h - the few system calls natrig-peer needs: a monotonic clock, UDP sockets, and a
 * wait that SIGINT/SIGTERM interrupt without a race (the signals stay blocked except inside
 * ppoll). Addresses are core/peerproto.h's IPv4 endpoints. */
#ifndef NT_PEERNET_H
#define NT_PEERNET_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

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

/* A non-blocking UDP socket bound to ip:port (port 0: any). Returns the fd, or -1 with err. */
int peernet_udp_bind(uint32_t ip, uint16_t port, struct nt_err *err);
/* Connect a UDP socket (fixes the local source address). Returns 0 or -1 with err. */
int peernet_connect(int fd, const struct peerproto_addr *to, struct nt_err *err);
/* The socket's local address. Returns 0 or -1. */
int peernet_local_addr(int fd, struct peerproto_addr *out);

/* Receive one datagram into buf. Returns its real length (may exceed cap: the datagram was
 * cut to cap bytes), or -1 when nothing is waiting or on error. *from is the sender. */
long peernet_recv(int fd, void *buf, size_t cap, struct peerproto_addr *from);
/* Send one datagram to `to` (NULL: the connected peer). Returns 0 or -1 with err (errno
 * kept). */
int peernet_send(int fd, const void *buf, size_t len, const struct peerproto_addr *to,
                 struct nt_err *err);

#endif
