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

static void to_sockaddr(const struct peerproto_addr *a, struct sockaddr_in *sin)
{
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(a->ip);
    sin->sin_port = htons(a->port);
}

static void from_sockaddr(const struct sockaddr_in *sin, struct peerproto_addr *a)
{
    a->ip = ntohl(sin->sin_addr.s_addr);
    a->port = ntohs(sin->sin_port);
}

int peernet_udp_bind(uint32_t ip, uint16_t port, struct nt_err *err)
{
    struct peerproto_addr a = {ip, port};
    struct sockaddr_in sin;
    char b[PEERPROTO_ADDR_STRLEN];
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return nt_err_set(err, NT_SYS, "udp socket", "socket: %s", strerror(errno));
    to_sockaddr(&a, &sin);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) {
        nt_err_set(err, NT_SYS, "udp bind", "bind %s: %s", peerproto_addr_format(&a, b, sizeof b),
                   strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int peernet_connect(int fd, const struct peerproto_addr *to, struct nt_err *err)
{
    struct sockaddr_in sin;
    char b[PEERPROTO_ADDR_STRLEN];

    to_sockaddr(to, &sin);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        return nt_err_set(err, NT_SYS, "udp connect", "connect %s: %s",
                          peerproto_addr_format(to, b, sizeof b), strerror(errno));
    return 0;
}

int peernet_local_addr(int fd, struct peerproto_addr *out)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;

    if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0 || sin.sin_family != AF_INET)
        return -1;
    from_sockaddr(&sin, out);
    return 0;
}

long peernet_recv(int fd, void *buf, size_t cap, struct peerproto_addr *from)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    ssize_t n;

    memset(&sin, 0, sizeof sin);
    /* MSG_TRUNC: report the real size, so an oversized datagram is seen as such */
    n = recvfrom(fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&sin, &len);
    if (n < 0 || sin.sin_family != AF_INET)
        return -1;
    from_sockaddr(&sin, from);
    return (long)n;
}

int peernet_send(int fd, const void *buf, size_t len, const struct peerproto_addr *to,
                 struct nt_err *err)
{
    struct sockaddr_in sin;
    char b[PEERPROTO_ADDR_STRLEN];
    ssize_t n;

    if (to) {
        to_sockaddr(to, &sin);
        n = sendto(fd, buf, len, 0, (struct sockaddr *)&sin, sizeof sin);
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
