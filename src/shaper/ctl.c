/* ctl.c - the client half of natrig-shaper's control protocol (see shaper.h), plus the small
 * helpers every subcommand shares. Uses base/err. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/impair.h"
#include "shaper/shaper.h"

int shaper_parse_queue(const char *opt, const char *s, uint16_t *out, struct nt_err *err)
{
    unsigned long v = 0;
    const char *p = s;

    if (!s || !*s)
        return nt_err_set(err, NT_EINVAL, "usage", "%s needs a queue number (0-65535)", opt);
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > 65535)
            break;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (*p || v > 65535)
        return nt_err_set(err, NT_EINVAL, "usage", "%s: bad queue number '%s' (0-65535)", opt, s);
    *out = (uint16_t)v;
    return 0;
}

int shaper_check_spec(const struct impair_spec *s, struct nt_err *err)
{
    if (s->duplicate_pct > 0 && (s->dir & IMPAIR_DIR_INGRESS))
        return nt_err_set(err, NT_EINVAL, "impair",
                          "duplicate works on egress only in the userspace shaper (its copy is "
                          "injected with a raw socket, which would send an ingress packet out "
                          "again); set it on the other side's egress");
    return 0;
}

const char *shaper_control_path(const char *opt)
{
    const char *env = getenv(SHAPER_CONTROL_ENV);

    if (opt && *opt)
        return opt;
    if (env && *env)
        return env;
    return SHAPER_DEFAULT_CONTROL;
}

size_t ctl_split(char *s, char **tok, size_t max)
{
    size_t n = 0;

    while (*s && n < max) {
        while (*s == ' ' || *s == '\n')
            *s++ = '\0';
        if (!*s)
            break;
        tok[n++] = s;
        while (*s && *s != ' ' && *s != '\n')
            s++;
    }
    return n;
}

int ctl_request(const char *path, const char *req, char *buf, size_t n, int timeout_ms,
                struct nt_err *err)
{
    struct sockaddr_un sa;
    struct pollfd pfd;
    ssize_t r;
    int fd;

    if (strlen(path) >= sizeof sa.sun_path)
        return nt_err_set(err, NT_EINVAL, "control", "socket path too long: %s", path);
    if (strlen(req) >= SHAPER_MSG_MAX)
        return nt_err_set(err, NT_LIMIT, "control", "request longer than %d bytes", SHAPER_MSG_MAX);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return nt_err_set(err, NT_SYS, "control", "socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        return nt_err_set(err, NT_TRANSPORT, "control", "no shaper at %s: %s", path, strerror(e));
    }
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
        int e = errno;
        close(fd);
        return nt_err_set(err, NT_TRANSPORT, "control", "send to %s: %s", path, strerror(e));
    }
    pfd.fd = fd;
    pfd.events = POLLIN;
    do
        r = poll(&pfd, 1, timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r == 0) {
        close(fd);
        return nt_err_set(err, NT_TIMEOUT, "control", "no reply from %s within %d ms", path,
                          timeout_ms);
    }
    r = recv(fd, buf, n - 1, 0);
    close(fd);
    if (r <= 0)
        return nt_err_set(err, NT_TRANSPORT, "control", "no reply from %s: %s", path,
                          r == 0 ? "connection closed" : strerror(errno));
    buf[r] = '\0';
    return 0;
}
