/* peertcp.c - the TCP sockets of `natrig-peer peer --tcp` (see peertcp.h). */
#include "peer/peertcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "peer/peernet.h"

/* A non-blocking TCP socket on t's local port, shared with the listener and the others. */
static int bound(const struct peerproto_addr *local)
{
    struct nt_err err = {0};
    int one = 1, fd = peernet_socket(local, SOCK_STREAM, &err);

    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        /* a ping is one short line: no Nagle delay on its RTT */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
        peernet_bind(fd, local, "tcp bind", &err) < 0) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int free_slot(struct peertcp *t)
{
    for (int i = 0; i < PEERTCP_MAX; i++)
        if (t->c[i].fd < 0)
            return i;
    errno = EMFILE;
    return -1;
}

int peertcp_listen(struct peertcp *t, const struct peerproto_addr *local, struct nt_err *err)
{
    char b[PEERPROTO_ADDR_STRLEN];

    memset(t, 0, sizeof *t);
    for (int i = 0; i < PEERTCP_MAX; i++)
        t->c[i].fd = -1;
    t->local = *local;
    t->lfd = bound(local);
    if (t->lfd < 0 || listen(t->lfd, 16) < 0) {
        int e = errno;

        if (t->lfd >= 0)
            close(t->lfd);
        t->lfd = -1;
        return nt_err_set(err, NT_SYS, "tcp listen", "listen on %s: %s",
                          peerproto_addr_format(local, b, sizeof b), strerror(e));
    }
    return 0;
}

int peertcp_connect(struct peertcp *t, const struct peerproto_addr *to, int remote)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int i = free_slot(t), fd;

    if (i < 0)
        return -1;
    fd = bound(&t->local);
    if (fd < 0)
        return -1;
    sl = peernet_sockaddr(to, &ss);
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
        int e = errno;

        close(fd);
        errno = e;
        return -1;
    }
    t->c[i] = (struct peertcp_conn){.fd = fd, .connecting = 1, .remote = remote, .addr = *to};
    return i;
}

int peertcp_find(const struct peertcp *t, int remote, int hello)
{
    for (int i = 0; i < PEERTCP_MAX; i++)
        if (t->c[i].fd >= 0 && t->c[i].remote == remote && (!hello || t->c[i].hello))
            return i;
    return -1;
}

int peertcp_send(struct peertcp *t, int i, const char *line)
{
    char out[300];
    size_t n = (size_t)snprintf(out, sizeof out, "%s\n", line);

    /* lines are short and rare: the socket buffer takes them whole, or the link is broken */
    if (t->c[i].fd < 0 || t->c[i].connecting || n >= sizeof out ||
        send(t->c[i].fd, out, n, MSG_NOSIGNAL) != (ssize_t)n)
        return -1;
    return 0;
}

void peertcp_close(struct peertcp *t, int i)
{
    if (t->c[i].fd >= 0)
        close(t->c[i].fd);
    t->c[i].fd = -1;
    t->c[i].remote = -1;
}

size_t peertcp_pollfds(const struct peertcp *t, struct pollfd *p, size_t max)
{
    size_t n = 0;

    if (max > 0)
        p[n++] = (struct pollfd){t->lfd, POLLIN, 0};
    for (int i = 0; i < PEERTCP_MAX && n < max; i++)
        if (t->c[i].fd >= 0)
            p[n++] = (struct pollfd){t->c[i].fd, t->c[i].connecting ? POLLOUT : POLLIN, 0};
    return n;
}

static int slot_of(const struct peertcp *t, int fd)
{
    for (int i = 0; i < PEERTCP_MAX; i++)
        if (t->c[i].fd == fd)
            return i;
    return -1;
}

/* Read what slot i holds and hand over each whole line; 0, or -1 when it closed. */
static int read_lines(struct peertcp *t, int i, const struct peertcp_cb *cb)
{
    struct peertcp_conn *c = &t->c[i];
    ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
    char *nl;

    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    if (r < 0)
        return 0;
    c->len += (size_t)r;
    c->buf[c->len] = '\0';
    while (c->fd >= 0 && (nl = strchr(c->buf, '\n')) != NULL) {
        *nl = '\0';
        cb->line(cb->ctx, t, i, c->buf);
        if (c->fd < 0)
            return 0;
        c->len -= (size_t)(nl + 1 - c->buf);
        memmove(c->buf, nl + 1, c->len + 1);
    }
    if (c->len == sizeof c->buf - 1) /* a line longer than any we send: not a peer */
        return -1;
    return 0;
}

void peertcp_handle(struct peertcp *t, const struct pollfd *p, size_t n,
                    const struct peertcp_cb *cb)
{
    for (size_t k = 0; k < n; k++) {
        int i;

        if (!p[k].revents)
            continue;
        if (p[k].fd == t->lfd) {
            struct sockaddr_storage ss;
            socklen_t len = sizeof ss;
            int fd = accept4(t->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

            i = fd >= 0 ? free_slot(t) : -1;
            if (i < 0) {
                if (fd >= 0)
                    close(fd);
                continue;
            }
            t->c[i] = (struct peertcp_conn){.fd = fd, .remote = -1};
            peernet_from_sockaddr(&ss, &t->c[i].addr);
            cb->accepted(cb->ctx, t, i);
            continue;
        }
        i = slot_of(t, p[k].fd);
        if (i < 0)
            continue;
        if (t->c[i].connecting) {
            int e = 0;
            socklen_t el = sizeof e;

            if (getsockopt(t->c[i].fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
                e = errno;
            t->c[i].connecting = 0;
            cb->connected(cb->ctx, t, i, e);
            if (e)
                peertcp_close(t, i);
            continue;
        }
        if (read_lines(t, i, cb) < 0) {
            cb->closed(cb->ctx, t, i);
            peertcp_close(t, i);
        }
    }
}

void peertcp_free(struct peertcp *t)
{
    for (int i = 0; i < PEERTCP_MAX; i++)
        peertcp_close(t, i);
    if (t->lfd >= 0)
        close(t->lfd);
    t->lfd = -1;
}
