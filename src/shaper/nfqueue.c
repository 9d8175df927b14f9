/* nfqueue.c - the netlink side of natrig-shaper: bind NFQUEUE queues, read queued packets
 * without blocking, send verdicts in batches. Uses libmnl and libnetfilter_queue's nlmsg
 * helpers (Debian: libmnl0, libnetfilter-queue1), one socket for every queue. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/types.h>

#include "base/xalloc.h"
#include "shaper/shaper.h"

#define OP "nfqueue"
/* A packet message carries up to 64 KiB of payload plus attributes. */
#define RECV_BUF (0xffff + 4096)
/* Verdicts are batched into one sendto; a mangled payload can be 64 KiB on its own. */
#define SEND_BUF (256 * 1024)
#define SEND_ROOM (0xffff + 1024)
/* Only headers are needed to learn the length and size the rate limiter. */
#define META_RANGE 128

struct nfqueue {
    struct mnl_socket *nl;
    unsigned portid;
    unsigned seq;
    nfqueue_pkt_fn fn;
    void *ud;
    char *rbuf, *sbuf;
    size_t slen;
    /* the answer to the config request we wait for: seq, and errno (0 = ack) */
    unsigned wait_seq;
    int wait_done, wait_errno;
};

struct nfqueue *nfqueue_open(nfqueue_pkt_fn fn, void *ud, struct nt_err *err)
{
    struct nfqueue *q = xcalloc(1, sizeof *q);
    int one = 1, bufsz = 16 << 20;

    q->nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!q->nl) {
        nt_err_set(err, NT_SYS, OP, "netlink socket: %s", strerror(errno));
        free(q);
        return NULL;
    }
    if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        nt_err_set(err, NT_SYS, OP, "netlink bind: %s", strerror(errno));
        mnl_socket_close(q->nl);
        free(q);
        return NULL;
    }
    q->portid = mnl_socket_get_portid(q->nl);
    q->seq = (unsigned)time(NULL);
    q->fn = fn;
    q->ud = ud;
    q->rbuf = xmalloc(RECV_BUF);
    q->sbuf = xmalloc(SEND_BUF);
    /* A burst of packets must not overflow the socket: FORCE needs CAP_NET_ADMIN, which the
     * shaper has anyway; fall back to the capped size. ENOBUFS would only tell us what the
     * kernel's user_dropped counter already counts. */
    if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof bufsz) < 0)
        setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
    mnl_socket_setsockopt(q->nl, NETLINK_NO_ENOBUFS, &one, sizeof one);
    return q;
}

int nfqueue_fd(const struct nfqueue *q)
{
    return mnl_socket_get_fd(q->nl);
}

static void handle_packet(struct nfqueue *q, const struct nlmsghdr *nlh)
{
    struct nlattr *attr[NFQA_MAX + 1] = {0};
    struct nfqnl_msg_packet_hdr *ph;
    struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
    struct nfqueue_pkt p;

    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
        return;
    ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
    memset(&p, 0, sizeof p);
    p.queue = ntohs(nfg->res_id);
    p.id = ntohl(ph->packet_id);
    p.hook = ph->hook;
    if (attr[NFQA_PAYLOAD]) {
        p.data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
        p.caplen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
    }
    q->fn(q->ud, &p);
}

/* Walk every message of one datagram ourselves: mnl_cb_run stops at an ACK, and a packet
 * message after it would then never get a verdict. */
static void handle_buf(struct nfqueue *q, const char *buf, size_t len)
{
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
    int left = (int)len;

    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
        if (nlh->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
            if (nlh->nlmsg_seq == q->wait_seq) {
                q->wait_done = 1;
                q->wait_errno = -e->error;
            }
        } else if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
            handle_packet(q, nlh);
        }
    }
}

int nfqueue_read(struct nfqueue *q, int budget, struct nt_err *err)
{
    int n = 0;

    while (n < budget) {
        ssize_t r = recv(mnl_socket_get_fd(q->nl), q->rbuf, RECV_BUF, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (errno == EINTR || errno == ENOBUFS)
                continue;
            return nt_err_set(err, NT_SYS, OP, "netlink recv: %s", strerror(errno));
        }
        handle_buf(q, q->rbuf, (size_t)r);
        n++;
    }
    return n;
}

/* Send one config message with an ACK request and wait for that ACK, serving packets that
 * arrive meanwhile (other queues keep flowing while one is being bound). */
static int config_send(struct nfqueue *q, struct nlmsghdr *nlh, const char *what,
                       struct nt_err *err)
{
    int tries;

    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = ++q->seq;
    q->wait_seq = nlh->nlmsg_seq;
    q->wait_done = 0;
    q->wait_errno = 0;
    if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
        return nt_err_set(err, NT_SYS, OP, "%s: send: %s", what, strerror(errno));
    /* a blocking recv with a timeout: the kernel answers at once, 2 s means it never will */
    for (tries = 0; !q->wait_done && tries < 200; tries++) {
        struct timeval tv = {0, 10000};
        ssize_t r;
        setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        r = recv(mnl_socket_get_fd(q->nl), q->rbuf, RECV_BUF, 0);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS)
                continue;
            return nt_err_set(err, NT_SYS, OP, "%s: recv: %s", what, strerror(errno));
        }
        handle_buf(q, q->rbuf, (size_t)r);
    }
    if (!q->wait_done)
        return nt_err_set(err, NT_TIMEOUT, OP, "%s: no answer from the kernel", what);
    if (q->wait_errno)
        return nt_err_set(err, NT_SYS, OP, "%s: %s", what, strerror(q->wait_errno));
    return 0;
}

int nfqueue_bind(struct nfqueue *q, uint16_t num, uint32_t maxlen, int full_copy,
                 struct nt_err *err)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[48];
    struct nlmsghdr *nlh;

    snprintf(what, sizeof what, "bind queue %u", (unsigned)num);
    nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
    if (config_send(q, nlh, what, err) < 0) {
        /* the kernel answers EPERM both for a queue bound by another socket and for a
         * caller without CAP_NET_ADMIN */
        if (q->wait_errno == EPERM || q->wait_errno == EBUSY)
            nt_err_set(err, NT_SYS, OP,
                       "%s: %s (another process holds this queue, or no CAP_NET_ADMIN)", what,
                       strerror(q->wait_errno));
        return -1;
    }
    nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, full_copy ? 0xffff : META_RANGE);
    nfq_nlmsg_cfg_put_qmaxlen(nlh, maxlen);
    /* no FAIL_OPEN: an overflowing queue drops, as a full router queue would, and the kernel
     * counts it (queue_dropped); fail-open would silently pass packets unshaped instead. No
     * GSO flag either: the kernel then segments GSO packets so each is shaped on its own. */
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(0));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
    return config_send(q, nlh, what, err);
}

int nfqueue_set_copy(struct nfqueue *q, uint16_t num, int full_copy, struct nt_err *err)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[48];
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);

    snprintf(what, sizeof what, "copy mode of queue %u", (unsigned)num);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, full_copy ? 0xffff : META_RANGE);
    return config_send(q, nlh, what, err);
}

int nfqueue_fail_open(struct nfqueue *q, uint16_t num, struct nt_err *err)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[48];
    struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, num);

    snprintf(what, sizeof what, "fail-open on queue %u", (unsigned)num);
    /* queue_total >= maxlen 0 always holds, so with FAIL_OPEN every new packet is accepted
     * by the kernel without queueing, while the ones already queued wait for our verdicts */
    nfq_nlmsg_cfg_put_qmaxlen(nlh, 0);
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
    return config_send(q, nlh, what, err);
}

int nfqueue_flush(struct nfqueue *q, struct nt_err *err)
{
    ssize_t r;

    if (q->slen == 0)
        return 0;
    r = mnl_socket_sendto(q->nl, q->sbuf, q->slen);
    q->slen = 0;
    if (r < 0)
        return nt_err_set(err, NT_SYS, OP, "verdict send: %s", strerror(errno));
    return 0;
}

int nfqueue_verdict(struct nfqueue *q, uint16_t num, uint32_t id, int verdict,
                    const unsigned char *pkt, size_t len, struct nt_err *err)
{
    struct nlmsghdr *nlh;

    if (q->slen + SEND_ROOM > SEND_BUF && nfqueue_flush(q, err) < 0)
        return -1;
    nlh = nfq_nlmsg_put(q->sbuf + q->slen, NFQNL_MSG_VERDICT, num);
    nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
    if (pkt)
        nfq_nlmsg_verdict_put_pkt(nlh, pkt, (uint32_t)len);
    q->slen += NLMSG_ALIGN(nlh->nlmsg_len);
    return 0;
}

int nfqueue_kernel_stats(uint16_t num, uint64_t *queue_dropped, uint64_t *user_dropped)
{
    FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "r");
    char line[256];
    int found = -1;

    if (!f)
        return -1;
    /* queue_number peer_portid queue_total copy_mode copy_range queue_dropped user_dropped
     * id_sequence 1 */
    while (fgets(line, sizeof line, f)) {
        unsigned qn, portid, total, mode, range;
        unsigned long long qd, ud;
        if (sscanf(line, "%u %u %u %u %u %llu %llu", &qn, &portid, &total, &mode, &range, &qd,
                   &ud) == 7 &&
            qn == num) {
            *queue_dropped = qd;
            *user_dropped = ud;
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

void nfqueue_close(struct nfqueue *q)
{
    if (!q)
        return;
    mnl_socket_close(q->nl);
    free(q->rbuf);
    free(q->sbuf);
    free(q);
}
