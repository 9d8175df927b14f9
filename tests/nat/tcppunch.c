/* tcppunch.c - TCP ends for tests/nat/netns-tcp (RFC 5382 behaviour of natrule's TCP half).
 *   tcppunch punch NAME LPORT IP:PORT START_MS STOP_MS
 *       TCP simultaneous open: listens on LPORT and, from START_MS, connect()s from LPORT to
 *       IP:PORT (SO_REUSEADDR + SO_REUSEPORT), again 300 ms after each failed attempt, until
 *       STOP_MS. Whichever completes first (connect or accept) wins: both ends then swap one
 *       line ("NAME hello") and print "NAME: connected via connect|accept, got 'X hello'".
 *       Exit 0 on the exchange, 1 when STOP_MS passed without one. With TCPPUNCH_T0_MS set
 *       (Unix time, ms) the times count from then: the ends of one punch share a start; with
 *       TCPPUNCH_T0_MS=stdin it prints "NAME: listening" once it listens and reads that time
 *       from a line on stdin (a start barrier: both ends are up before the time is chosen).
 *       Prints "NAME: first SYN at N ms" when its first connect() sends one.
 *   tcppunch connect IP:PORT STOP_MS [LPORT]
 *       one connect(); prints "connected", "refused after N ms", "unreachable after N ms" or
 *       "timeout after N ms", and exits 0 only for connected.
 *   tcppunch serve LPORT STOP_MS [IP:PORT]
 *       listens on LPORT (after connect()ing from LPORT to IP:PORT when given: that opens a
 *       mapping and keeps it open); for each connection accepted prints "seen IP:PORT" and
 *       answers one line; exits 0 after the first, 1 at STOP_MS.
 * Every wait has a deadline; output is line-buffered. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct timespec t0;
static clockid_t clk = CLOCK_MONOTONIC;

static long now_ms(void)
{
    struct timespec t;

    clock_gettime(clk, &t);
    return (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
}

/* TCPPUNCH_T0_MS (Unix time in ms): START_MS and STOP_MS count from then, not from this
 * process's start, so two ends started at once on a loaded machine keep their order of
 * arrival (each end's own start can come over a second late). */
static void set_t0(const char *e)
{
    char *end;
    long long ms;

    if (!e || !*e) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        return;
    }
    ms = strtoll(e, &end, 10);
    if ((*end && *end != '\n') || ms <= 0) {
        fprintf(stderr, "tcppunch: TCPPUNCH_T0_MS must be Unix time in ms, got '%s'\n", e);
        exit(2);
    }
    clk = CLOCK_REALTIME;
    t0.tv_sec = (time_t)(ms / 1000);
    t0.tv_nsec = (long)(ms % 1000) * 1000000;
}

static long num(const char *s, const char *what)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "tcppunch: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

static struct sockaddr_in endpoint(const char *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    char ip[64];
    const char *colon = strrchr(s, ':');

    if (!colon || (size_t)(colon - s) >= sizeof ip) {
        fprintf(stderr, "tcppunch: bad endpoint '%s' (want ip:port)\n", s);
        exit(2);
    }
    memcpy(ip, s, (size_t)(colon - s));
    ip[colon - s] = '\0';
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        fprintf(stderr, "tcppunch: bad address '%s'\n", ip);
        exit(2);
    }
    a.sin_port = htons((unsigned short)num(colon + 1, "port"));
    return a;
}

/* A non-blocking TCP socket bound to lport (0: any), sharing it with the others. */
static int bound(long lport)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((unsigned short)lport)};

    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
        perror("tcppunch: socket/bind");
        exit(2);
    }
    return fd;
}

static int listener(long lport)
{
    int fd = bound(lport);

    if (listen(fd, 8) < 0) {
        perror("tcppunch: listen");
        exit(2);
    }
    return fd;
}

static int start_connect(long lport, const struct sockaddr_in *to)
{
    int fd = bound(lport);

    if (connect(fd, (const struct sockaddr *)to, sizeof *to) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Send "name hello\n" and read the other's line within the deadline; 0 with it in got. */
static int swap_lines(int fd, const char *name, long stop, char *got, size_t n)
{
    char line[128];
    size_t have = 0;
    int len = snprintf(line, sizeof line, "%s hello\n", name);

    if (write(fd, line, (size_t)len) != len)
        return -1;
    while (now_ms() < stop && have + 1 < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;

        if (poll(&p, 1, (int)(stop - now_ms())) <= 0)
            continue;
        r = read(fd, got + have, n - 1 - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        got[have] = '\0';
        if (strchr(got, '\n')) {
            *strchr(got, '\n') = '\0';
            return 0;
        }
    }
    return -1;
}

static const char *reason(int e)
{
    return e == ECONNREFUSED   ? "refused"
           : e == ETIMEDOUT    ? "timeout"
           : e == EHOSTUNREACH ? "unreachable"
                               : strerror(e);
}

/* TCPPUNCH_T0_MS=stdin: say we listen, then take the shared start from stdin. Under load an
 * end can take over a second to start; a start chosen before both listen could turn a_first
 * into together. */
static void start_barrier(const char *name)
{
    char line[64];

    printf("%s: listening\n", name);
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "tcppunch: TCPPUNCH_T0_MS=stdin but no start time came on stdin\n");
        exit(2);
    }
    set_t0(line);
}

static int punch(const char *name, long lport, const struct sockaddr_in *to, long start, long stop)
{
    int lfd = listener(lport), cfd = -1, fd = -1, first = 1;
    long next = start;
    const char *via = "";
    char got[128];
    const char *e = getenv("TCPPUNCH_T0_MS");

    if (e && strcmp(e, "stdin") == 0)
        start_barrier(name);
    while (fd < 0 && now_ms() < stop) {
        struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = cfd, .events = POLLOUT}};
        long wait = stop - now_ms();

        if (cfd < 0 && now_ms() >= next) {
            cfd = start_connect(lport, to);
            p[1].fd = cfd;
            if (cfd >= 0 && first) {
                printf("%s: first SYN at %ld ms\n", name, now_ms());
                first = 0;
            }
            if (cfd < 0)
                printf("%s: connect: %s at %ld ms\n", name, strerror(errno), now_ms());
        }
        if (cfd < 0 && next - now_ms() < wait)
            wait = next > now_ms() ? next - now_ms() : 0;
        if (poll(p, 2, (int)(wait > 100 ? 100 : wait)) <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            fd = accept(lfd, NULL, NULL);
            via = "accept";
        } else if (cfd >= 0 && p[1].revents) {
            int e = 0;
            socklen_t el = sizeof e;

            getsockopt(cfd, SOL_SOCKET, SO_ERROR, &e, &el);
            if (e == 0) {
                fd = cfd;
                cfd = -1;
                via = "connect";
            } else {
                printf("%s: connect %s at %ld ms\n", name, reason(e), now_ms());
                close(cfd);
                cfd = -1;
                next = now_ms() + 300;
            }
        }
    }
    if (fd < 0) {
        printf("%s: no connection by %ld ms\n", name, stop);
        return 1;
    }
    fcntl(fd, F_SETFL, 0);
    if (swap_lines(fd, name, stop + 3000, got, sizeof got) < 0) {
        printf("%s: connected via %s, but no line came back\n", name, via);
        return 1;
    }
    printf("%s: connected via %s, got '%s'\n", name, via, got);
    return 0;
}

static int connect_once(const struct sockaddr_in *to, long stop, long lport)
{
    int fd = start_connect(lport, to), e = 0;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    socklen_t el = sizeof e;

    if (fd < 0) {
        printf("%s at %ld ms\n", reason(errno), now_ms());
        return 1;
    }
    while (now_ms() < stop && poll(&p, 1, (int)(stop - now_ms())) == 0)
        ;
    if (!p.revents) {
        printf("timeout after %ld ms\n", now_ms());
        return 1;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
    if (e) {
        printf("%s after %ld ms\n", reason(e), now_ms());
        return 1;
    }
    printf("connected after %ld ms\n", now_ms());
    return 0;
}

static int serve(long lport, long stop, const char *open_to)
{
    int lfd = listener(lport), out = -1;
    char got[128];

    if (open_to) {
        struct sockaddr_in to = endpoint(open_to);

        out = start_connect(lport, &to);
        if (out < 0) {
            perror("tcppunch: connect");
            return 2;
        }
    }
    while (now_ms() < stop) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        char ip[INET_ADDRSTRLEN];
        int fd;

        if (poll(&p, 1, (int)(stop - now_ms())) <= 0)
            continue;
        fd = accept(lfd, (struct sockaddr *)&from, &fl);
        if (fd < 0)
            continue;
        inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
        printf("seen %s:%u\n", ip, ntohs(from.sin_port));
        fcntl(fd, F_SETFL, 0);
        swap_lines(fd, "server", now_ms() + 2000, got, sizeof got);
        close(fd);
        if (out >= 0)
            close(out);
        return 0;
    }
    printf("nobody came by %ld ms\n", stop);
    return 1;
}

int main(int argc, char **argv)
{
    const char *e = getenv("TCPPUNCH_T0_MS");

    setvbuf(stdout, NULL, _IOLBF, 0);
    set_t0(e && strcmp(e, "stdin") == 0 ? NULL : e);
    if (argc == 7 && strcmp(argv[1], "punch") == 0) {
        struct sockaddr_in to = endpoint(argv[4]);

        return punch(argv[2], num(argv[3], "port"), &to, num(argv[5], "start"),
                     num(argv[6], "stop"));
    }
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "connect") == 0) {
        struct sockaddr_in to = endpoint(argv[2]);

        return connect_once(&to, num(argv[3], "stop"), argc == 5 ? num(argv[4], "port") : 0);
    }
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "serve") == 0)
        return serve(num(argv[2], "port"), num(argv[3], "stop"), argc == 5 ? argv[4] : NULL);
    fprintf(stderr, "usage: tcppunch punch NAME LPORT IP:PORT START_MS STOP_MS\n"
                    "       tcppunch connect IP:PORT STOP_MS [LPORT]\n"
                    "       tcppunch serve LPORT STOP_MS [IP:PORT]\n");
    return 2;
}
