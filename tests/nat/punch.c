/* punch.c - one side of a UDP hole punch, for tests/nat/netns-holepunch.
 *   punch NAME LOCAL_PORT PEER_IP PEER_PORT START_MS STOP_MS INTERVAL_MS
 * Binds 0.0.0.0:LOCAL_PORT, sends "NAME <seq>" to PEER_IP:PEER_PORT every INTERVAL_MS from
 * START_MS to STOP_MS after it started, and prints every datagram it receives until STOP_MS.
 * The socket is unconnected, so ICMP errors from a router that had no mapping (port
 * unreachable) do not end the run. Exit 0 when at least one datagram came from the peer. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long now_ms(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static long num(const char *s, const char *what)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < 0) {
        fprintf(stderr, "punch: bad %s '%s'\n", what, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct sockaddr_in me, peer, from;
    struct timespec t0;
    long start, stop, interval, next, t, first_rx = -1;
    int fd, seq = 0, rx_peer = 0, rx_other = 0;
    const char *name;

    if (argc != 8) {
        fprintf(stderr, "usage: punch NAME LOCAL_PORT PEER_IP PEER_PORT START_MS STOP_MS "
                        "INTERVAL_MS\n");
        return 2;
    }
    name = argv[1];
    memset(&me, 0, sizeof me);
    me.sin_family = AF_INET;
    me.sin_port = htons((unsigned short)num(argv[2], "local port"));
    memset(&peer, 0, sizeof peer);
    peer.sin_family = AF_INET;
    peer.sin_port = htons((unsigned short)num(argv[4], "peer port"));
    if (inet_pton(AF_INET, argv[3], &peer.sin_addr) != 1) {
        fprintf(stderr, "punch: bad peer address '%s'\n", argv[3]);
        return 2;
    }
    start = num(argv[5], "start");
    stop = num(argv[6], "stop");
    interval = num(argv[7], "interval");
    if (interval < 1)
        interval = 1;

    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
        perror("punch: socket/bind");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    next = start;
    while ((t = now_ms(&t0)) < stop) {
        struct pollfd p = {fd, POLLIN, 0};
        long wait = stop - t;

        if (t >= next && next < stop) {
            char msg[64];
            int n = snprintf(msg, sizeof msg, "%s %d", name, seq);

            if (sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&peer, sizeof peer) >= 0)
                seq++;
            next += interval;
        }
        if (next < stop && next - t < wait)
            wait = next - t > 0 ? next - t : 0;
        if (poll(&p, 1, (int)wait) > 0) {
            char buf[512];
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
            char ip[INET_ADDRSTRLEN];

            if (n < 0)
                continue;
            buf[n] = '\0';
            inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
            if (from.sin_addr.s_addr == peer.sin_addr.s_addr && from.sin_port == peer.sin_port) {
                if (rx_peer++ == 0) {
                    first_rx = now_ms(&t0);
                    printf("%s: first datagram from peer %s:%u at %ld ms: \"%s\"\n", name, ip,
                           ntohs(from.sin_port), first_rx, buf);
                }
            } else {
                rx_other++;
                printf("%s: datagram from unexpected %s:%u: \"%s\"\n", name, ip,
                       ntohs(from.sin_port), buf);
            }
        }
    }
    printf("%s: sent %d, received %d from peer %s:%s, %d from others\n", name, seq, rx_peer,
           argv[3], argv[4], rx_other);
    close(fd);
    return rx_peer > 0 ? 0 : 1;
}
