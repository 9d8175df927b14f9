/* attach.c - an exec's hijacked stream on this process's fds (see attach.h). curl makes
 * the connection (CONNECT_ONLY: unix socket or tcp, as engine.c does); the HTTP request
 * and the raw stream after it are spoken on its socket directly, since the engine takes
 * the connection over (101 UPGRADED) and half-closing it is how stdin's end is told. */
#include "engine/attach.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fdio.h"
#include "base/sig.h"
#include "core/demux.h"
#include "core/url.h"
#include "engine/engine.h"

#define HEAD_MAX 16384

static volatile sig_atomic_t winch_seen;
static void on_winch(int sig)
{
    (void)sig;
    winch_seen = 1;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int out_sink(void *ud, int stream, const char *p, size_t n)
{
    const struct engine_attach *a = ud;
    return nt_write_all(stream == 2 ? a->err_fd : a->out_fd, p, n);
}

static void ignore_ev(void *ud, const struct engine_event *ev)
{
    (void)ud;
    (void)ev;
}

/* The process's terminal follows ours: POST /exec/{id}/resize (best effort). */
static void resize(struct engine *e, const char *exec_id, int fd)
{
    struct winsize ws;
    char path[256];
    struct nt_err err = {0};
    if (ioctl(fd, TIOCGWINSZ, &ws) || ws.ws_row == 0 || ws.ws_col == 0)
        return;
    snprintf(path, sizeof path, "/exec/%s/resize?h=%u&w=%u", exec_id, (unsigned)ws.ws_row,
             (unsigned)ws.ws_col);
    struct engine_req r = {"POST", path, NULL, NULL, 0, ENGINE_BUFFER, 5000, 0, NULL};
    engine_call(e, &r, ignore_ev, NULL, &err);
}

/* Connect with curl (unix socket or tcp, like every other request) and return the socket. */
static int connect_engine(struct engine *e, CURL **hp, struct nt_err *err)
{
    const char *op = "exec attach";
    int is_unix = 0;
    char target[512], url[600];
    curl_socket_t sock = CURL_SOCKET_BAD;

    if (url_parse_docker_host(engine_host(e), &is_unix, target, sizeof target, err))
        return -1;
    CURL *h = curl_easy_init();
    if (!h)
        return nt_err_set(err, NT_TRANSPORT, op, "curl_easy_init failed");
    snprintf(url, sizeof url, "%s/", is_unix ? "http://localhost" : target);
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (is_unix)
        curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, target);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        rc = curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock);
    if (rc != CURLE_OK || sock == CURL_SOCKET_BAD) {
        curl_easy_cleanup(h);
        return nt_err_set(err, NT_TRANSPORT, op, "cannot connect to %s: %s", engine_host(e),
                          curl_easy_strerror(rc));
    }
    /* curl leaves it non-blocking; the pump below blocks in poll() instead. */
    int fl = fcntl((int)sock, F_GETFL);
    if (fl >= 0)
        fcntl((int)sock, F_SETFL, fl & ~O_NONBLOCK);
    *hp = h;
    return (int)sock;
}

/* Send the start request and read the answer's head. Leftover stream bytes stay in *rest.
 * Returns 0, or -1 with err (the engine's message for an error status). */
static int start_exec(struct engine *e, int sock, const char *exec_id, int tty, struct buf *rest,
                      struct nt_err *err)
{
    const char *op = "exec start";
    char body[64], req[1024];
    int blen = snprintf(body, sizeof body, "{\"Detach\":false,\"Tty\":%s}", tty ? "true" : "false");
    int n = snprintf(req, sizeof req,
                     "POST /v%s/exec/%s/start HTTP/1.1\r\nHost: localhost\r\n"
                     "User-Agent: natrig\r\nContent-Type: application/json\r\n"
                     "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %d\r\n\r\n%s",
                     engine_api_version(e), exec_id, blen, body);
    if (n <= 0 || (size_t)n >= sizeof req)
        return nt_err_set(err, NT_EINVAL, op, "exec id too long");
    if (send_all(sock, req, (size_t)n))
        return nt_err_set(err, NT_TRANSPORT, op, "sending the request: %s", strerror(errno));
    char *end = NULL;
    while (!end) {
        char tmp[4096];
        ssize_t r = recv(sock, tmp, sizeof tmp, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return nt_err_set(err, NT_TRANSPORT, op,
                              "the engine closed the connection before "
                              "answering");
        if (buf_append(rest, tmp, (size_t)r))
            return nt_err_set(err, NT_PARSE, op, "answer head over %d bytes", HEAD_MAX);
        end = strstr(rest->data, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(rest->data, "HTTP/%*s %d", &status) != 1)
        return nt_err_set(err, NT_PARSE, op, "not an HTTP answer");
    size_t head = (size_t)(end + 4 - rest->data);
    if (status >= 300) {
        /* The error body (JSON {"message"}) follows; read what comes within the limit. */
        char tmp[4096];
        ssize_t r;
        while (!strstr(rest->data + head, "}") && (r = recv(sock, tmp, sizeof tmp, 0)) > 0)
            if (buf_append(rest, tmp, (size_t)r))
                break;
        char msg[400];
        engine_error_message(rest->data + head, rest->len - head, msg, sizeof msg);
        nt_err_set(err, NT_ENGINE, op, "%s", msg);
        err->status = status;
        return -1;
    }
    buf_consume(rest, head);
    return 0;
}

/* Hand stream bytes to the output: raw with a TTY, else split into stdout and stderr. A
 * closed output (a reader like `head` gone) is told apart: the caller ends quietly. */
static int emit(const struct engine_attach *a, struct demux *d, const char *p, size_t n,
                struct nt_err *err)
{
    struct nt_err derr = {0};
    errno = 0;
    if (a->tty ? nt_write_all(a->out_fd, p, n) == 0
               : demux_feed(d, p, n, out_sink, (void *)a, &derr) == 0)
        return 0;
    if (errno == EPIPE)
        return nt_err_set(err, NT_SYS, "exec attach", "the output was closed (EPIPE)");
    return nt_err_set(err, NT_SYS, "exec attach", "writing the output: %s",
                      derr.msg[0] ? derr.msg : strerror(errno));
}

/* Pump until the engine closes the stream. */
static int pump(struct engine *e, int sock, const char *exec_id, const struct engine_attach *a,
                struct buf *rest, struct nt_err *err)
{
    const char *op = "exec attach";
    struct demux dmx;
    int in_open = a->in_fd >= 0;
    demux_init(&dmx, 0);
    if (rest->len && emit(a, &dmx, rest->data, rest->len, err))
        return -1;
    for (;;) {
        struct pollfd p[2] = {{sock, POLLIN, 0}, {a->in_fd, POLLIN, 0}};
        int np = in_open ? 2 : 1;
        int r = poll(p, (nfds_t)np, 1000);
        if (winch_seen) {
            winch_seen = 0;
            resize(e, exec_id, a->out_fd);
        }
        if (r < 0 && errno != EINTR)
            return nt_err_set(err, NT_SYS, op, "poll: %s", strerror(errno));
        if (nt_should_stop())
            return nt_err_set(err, NT_SYS, op, "interrupted by signal %d", (int)nt_interrupted);
        if (r <= 0)
            continue;
        if (p[0].revents) {
            char buf[16384];
            ssize_t n = recv(sock, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return nt_err_set(err, NT_TRANSPORT, op, "reading the stream: %s", strerror(errno));
            if (n == 0)
                return 0;
            if (emit(a, &dmx, buf, (size_t)n, err))
                return -1;
        }
        if (in_open && p[1].revents) {
            char buf[4096];
            ssize_t n = read(a->in_fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                /* stdin ended: the process's stdin ends too (a half-close). */
                in_open = 0;
                shutdown(sock, SHUT_WR);
            } else if (send_all(sock, buf, (size_t)n)) {
                in_open = 0;
            }
        }
    }
}

int engine_exec_attach(struct engine *e, const char *exec_id, const struct engine_attach *a,
                       struct nt_err *err)
{
    CURL *h = NULL;
    struct buf rest;
    struct termios saved;
    struct sigaction sa, old_sa;
    int raw = 0, winch = 0, rc;

    int sock = connect_engine(e, &h, err);
    if (sock < 0)
        return -1;
    buf_init(&rest, HEAD_MAX);
    rc = start_exec(e, sock, exec_id, a->tty, &rest, err);
    if (rc == 0 && a->tty) {
        /* Keystrokes go to the process as they are typed (Ctrl-C included); the terminal
         * is restored on every way out. */
        if (a->in_fd >= 0 && isatty(a->in_fd) && tcgetattr(a->in_fd, &saved) == 0) {
            struct termios t = saved;
            cfmakeraw(&t);
            raw = tcsetattr(a->in_fd, TCSANOW, &t) == 0;
        }
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_winch;
        sigemptyset(&sa.sa_mask);
        winch = sigaction(SIGWINCH, &sa, &old_sa) == 0;
        if (isatty(a->out_fd))
            resize(e, exec_id, a->out_fd);
    }
    if (rc == 0)
        rc = pump(e, sock, exec_id, a, &rest, err);
    if (a->tty && raw)
        tcsetattr(a->in_fd, TCSANOW, &saved);
    if (winch)
        sigaction(SIGWINCH, &old_sa, NULL);
    buf_free(&rest);
    curl_easy_cleanup(h);
    return rc;
}
