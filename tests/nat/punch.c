/* punch.c - one side of a UDP hole punch, for tests/nat/netns-holepunch and netns-portshare.
 *   punch NAME LOCAL_PORT PEERS START_MS STOP_MS INTERVAL_MS
 * PEERS is "ip:port[,ip:port...]" (at most 8; an IPv6 peer as "[ip]:port"). Binds [::]:LOCAL_PORT
 * (both families: an IPv4 peer is reached as a v4-mapped address), sends "NAME <seq>" to
 * every peer, in the order given, every INTERVAL_MS from START_MS to STOP_MS after it
 * started, and prints every datagram it receives until STOP_MS (line-buffered, so a script
 * can read it while it runs). The socket is unconnected, so ICMP errors from a router that
 * had no mapping (port unreachable) do not end the run. Exit 0 when at least one datagram
 * came from a listed peer. */
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

#define MAX_PEERS 8

/* Parse "ip:port[,ip:port...]" into peers; returns how many, exits on a bad list. */
static int parse_peers(const char *list, struct sockaddr_in6 *peers)
{
    int n = 0;

    while (*list) {
        char item[64], *colon;
        size_t len = strcspn(list, ",");

        if (n == MAX_PEERS || len == 0 || len >= sizeof item) {
            fprintf(stderr, "punch: bad peer list '%s'\n", list);
            exit(2);
        }
        memcpy(item, list, len);
        item[len] = '\0';
        colon = strrchr(item, ':');
        if (!colon) {
            fprintf(stderr, "punch: peer '%s' needs ip:port\n", item);
            exit(2);
        }
        *colon = '\0';
        memset(&peers[n], 0, sizeof peers[n]);
        peers[n].sin6_family = AF_INET6;
        peers[n].sin6_port = htons((unsigned short)num(colon + 1, "peer port"));
        if (item[0] == '[' && colon > item + 1 && colon[-1] == ']') {
            colon[-1] = '\0';
            if (inet_pton(AF_INET6, item + 1, &peers[n].sin6_addr) != 1) {
                fprintf(stderr, "punch: bad peer address '%s'\n", item + 1);
                exit(2);
            }
        } else if (inet_pton(AF_INET, item, &peers[n].sin6_addr.s6_addr[12]) == 1) {
            peers[n].sin6_addr.s6_addr[10] = 0xff; /* ::ffff:a.b.c.d */
            peers[n].sin6_addr.s6_addr[11] = 0xff;
        } else {
            fprintf(stderr, "punch: bad peer address '%s'\n", item);
            exit(2);
        }
        n++;
        list += len;
        if (*list == ',')
            list++;
    }
    return n;
}

int main(int argc, char **argv)
{
    struct sockaddr_in6 me, peers[MAX_PEERS], from;
    struct timespec t0;
    long start, stop, interval, next, t, first_rx = -1;
    int fd, i, npeers, seq = 0, rx_peer = 0, rx_other = 0, off = 0;
    const char *name;

    if (argc != 7) {
        fprintf(stderr, "usage: punch NAME LOCAL_PORT IP:PORT[,IP:PORT...] START_MS STOP_MS "
                        "INTERVAL_MS\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    name = argv[1];
    memset(&me, 0, sizeof me);
    me.sin6_family = AF_INET6;
    me.sin6_addr = in6addr_any;
    me.sin6_port = htons((unsigned short)num(argv[2], "local port"));
    npeers = parse_peers(argv[3], peers);
    start = num(argv[4], "start");
    stop = num(argv[5], "stop");
    interval = num(argv[6], "interval");
    if (interval < 1)
        interval = 1;

    fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) < 0 ||
        bind(fd, (struct sockaddr *)&me, sizeof me) < 0) {
        perror("punch: socket/bind");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    next = start;
    for (t = now_ms(&t0); t < stop; t = now_ms(&t0)) {
        struct pollfd p = {fd, POLLIN, 0};
        long wait = stop - t;

        if (t >= next && next < stop) {
            char msg[64];
            int n = snprintf(msg, sizeof msg, "%s %d", name, seq);

            for (i = 0; i < npeers; i++)
                sendto(fd, msg, (size_t)n, 0, (struct sockaddr *)&peers[i], sizeof peers[i]);
            seq++;
            next += interval;
        }
        if (next < stop && next - t < wait)
            wait = next - t > 0 ? next - t : 0;
        if (poll(&p, 1, (int)wait) > 0) {
            char buf[512];
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &fl);
            char ip[INET6_ADDRSTRLEN];
            int known = 0;

            if (n < 0)
                continue;
            buf[n] = '\0';
            if (IN6_IS_ADDR_V4MAPPED(&from.sin6_addr)) /* as the IPv4 tests read it */
                inet_ntop(AF_INET, &from.sin6_addr.s6_addr[12], ip, sizeof ip);
            else
                inet_ntop(AF_INET6, &from.sin6_addr, ip, sizeof ip);
            for (i = 0; i < npeers; i++)
                if (memcmp(&from.sin6_addr, &peers[i].sin6_addr, 16) == 0 &&
                    from.sin6_port == peers[i].sin6_port)
                    known = 1;
            if (known) {
                if (rx_peer++ == 0) {
                    first_rx = now_ms(&t0);
                    printf("%s: first datagram from %s:%u at %ld ms: \"%s\"\n", name, ip,
                           ntohs(from.sin6_port), first_rx, buf);
                }
            } else {
                rx_other++;
                printf("%s: datagram from other %s:%u: \"%s\"\n", name, ip, ntohs(from.sin6_port),
                       buf);
            }
        }
    }
    printf("%s: sent %d rounds, received %d from %s, %d from others\n", name, seq, rx_peer, argv[3],
           rx_other);
    close(fd);
    return rx_peer > 0 ? 0 : 1;
}
