/* peernet.c - clock, signals, UDP sockets and the ppoll wait (see peernet.h). */
#include "peer/peernet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t peernet_stop_sig;
static sigset_t peernet_wait_mask; /* the mask inside ppoll: stop signals unblocked */

int64_t peernet_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_stop_signal(int sig)
{
    peernet_stop_sig = sig;
}

void peernet_signals_init(void)
{
    struct sigaction sa;
    sigset_t block;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* as PID 1 in a container SIGPIPE cannot hit UDP, but a closed stdout pipe could */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    /* blocked outside ppoll, so a signal arriving between checks is never lost */
    sigprocmask(SIG_BLOCK, &block, &peernet_wait_mask);
    sigdelset(&peernet_wait_mask, SIGINT);
    sigdelset(&peernet_wait_mask, SIGTERM);
}

int peernet_stop_signal(void)
{
    return (int)peernet_stop_sig;
}

const char *peernet_signal_name(int sig)
{
    if (sig == SIGINT)
        return "INT";
    if (sig == SIGTERM)
        return "TERM";
    return "other";
}

int peernet_wait(int fd, int64_t timeout_us)
{
    struct pollfd pfd = {fd, POLLIN, 0};

    return peernet_waitv(fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0, timeout_us);
}

int peernet_waitv(struct pollfd *p, size_t n, int64_t timeout_us)
{
    struct timespec ts, *tsp = NULL;
    int rc;

    if (peernet_stop_sig)
        return -1;
    if (timeout_us >= 0) {
        ts.tv_sec = (time_t)(timeout_us / 1000000);
        ts.tv_nsec = (long)(timeout_us % 1000000) * 1000;
        tsp = &ts;
    }
    rc = ppoll(p, (nfds_t)n, tsp, &peernet_wait_mask);
    if (peernet_stop_sig)
        return -1;
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    return rc > 0 ? 1 : 0;
}

socklen_t peernet_sockaddr(const struct peerproto_addr *a, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

        s6->sin6_family = AF_INET6;
        memcpy(&s6->sin6_addr, a->ip6.b, sizeof a->ip6.b);
        s6->sin6_port = htons(a->port);
        return sizeof *s6;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;

    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(a->ip);
    sin->sin_port = htons(a->port);
    return sizeof *sin;
}

int peernet_from_sockaddr(const struct sockaddr_storage *ss, struct peerproto_addr *a)
{
    memset(a, 0, sizeof *a);
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

        a->v6 = 1;
        memcpy(a->ip6.b, &s6->sin6_addr, sizeof a->ip6.b);
        a->port = ntohs(s6->sin6_port);
        return 0;
    }
    if (ss->ss_family != AF_INET)
        return -1;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

    a->ip = ntohl(sin->sin_addr.s_addr);
    a->port = ntohs(sin->sin_port);
    return 0;
}

int peernet_socket(const struct peerproto_addr *local, int type, struct nt_err *err)
{
    int fd = socket(local->v6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0)
        return nt_err_set(
            err, NT_SYS, type == SOCK_DGRAM ? "udp socket" : "tcp socket", "socket(%s): %s%s",
            local->v6 ? "AF_INET6" : "AF_INET", strerror(errno),
            local->v6 && errno == EAFNOSUPPORT ? " (no IPv6 in this network namespace)" : "");
    /* one family per socket: an IPv6 socket on the port must not take IPv4 too (a gateway
     * binds one socket of each family to the same port) */
    if (local->v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) {
        nt_err_set(err, NT_SYS, "socket", "IPV6_V6ONLY: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int peernet_bind(int fd, const struct peerproto_addr *local, const char *op, struct nt_err *err)
{
    struct sockaddr_storage ss;
    socklen_t len = peernet_sockaddr(local, &ss);
    char b[PEERPROTO_ADDR_STRLEN];

    if (bind(fd, (struct sockaddr *)&ss, len) < 0)
        return nt_err_set(err, NT_SYS, op, "bind %s: %s", peerproto_addr_format(local, b, sizeof b),
                          strerror(errno));
    return 0;
}

int peernet_udp_bind(const struct peerproto_addr *local, struct nt_err *err)
{
    int fd = peernet_socket(local, SOCK_DGRAM, err);

    if (fd < 0)
        return -1;
    if (peernet_bind(fd, local, "udp bind", err) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int peernet_connect(int fd, const struct peerproto_addr *to, struct nt_err *err)
{
    struct sockaddr_storage ss;
    socklen_t len = peernet_sockaddr(to, &ss);
    char b[PEERPROTO_ADDR_STRLEN];

    if (connect(fd, (struct sockaddr *)&ss, len) < 0)
        return nt_err_set(err, NT_SYS, "udp connect", "connect %s: %s",
                          peerproto_addr_format(to, b, sizeof b), strerror(errno));
    return 0;
}

int peernet_local_addr(int fd, struct peerproto_addr *out)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    return peernet_from_sockaddr(&ss, out);
}

int peernet_peer_addr(int fd, struct peerproto_addr *out)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    return peernet_from_sockaddr(&ss, out);
}

long peernet_recv(int fd, void *buf, size_t cap, struct peerproto_addr *from)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    ssize_t n;

    memset(&ss, 0, sizeof ss);
    /* MSG_TRUNC: report the real size, so an oversized datagram is seen as such */
    n = recvfrom(fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&ss, &len);
    if (n < 0 || peernet_from_sockaddr(&ss, from) < 0)
        return -1;
    return (long)n;
}

int peernet_send(int fd, const void *buf, size_t len, const struct peerproto_addr *to,
                 struct nt_err *err)
{
    struct sockaddr_storage ss;
    char b[PEERPROTO_ADDR_STRLEN];
    ssize_t n;

    if (to) {
        socklen_t sl = peernet_sockaddr(to, &ss);

        n = sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sl);
    } else {
        n = send(fd, buf, len, 0);
    }
    if (n < 0) {
        int e = errno;

        nt_err_set(err, NT_SYS, "udp send", "send to %s: %s",
                   to ? peerproto_addr_format(to, b, sizeof b) : "connected peer", strerror(e));
        errno = e; /* callers may look: ECONNREFUSED is worth a retry */
        return -1;
    }
    return 0;
}
