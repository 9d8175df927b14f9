/* cmd_run.c - `natrig-shaper run`: the daemon. One thread, one ppoll loop over the netlink
 * socket, the control socket and a timerfd armed at the absolute due time of the earliest
 * held packet (an absolute CLOCK_MONOTONIC expiry: no drift from recomputed relative waits,
 * no timer slack). Timing under CPU load: the daemon asks for real-time scheduling
 * (rtsched.c: SCHED_FIFO, else SCHED_DEADLINE) so a due release preempts busy normal tasks;
 * where both are refused (no CAP_SYS_NICE) it runs at nice -20 or normal priority and says
 * so, and the stats report how late releases were (p50/p99/max, and how many came later
 * than 10% of their delay).
 * Per packet it asks core/impair's impair_decide what to do, then drops it, gives it back at
 * once, or holds it in the pending heap until its due time. Duplicates are injected through a
 * raw socket of the packet's family (IPv4 or IPv6) carrying IMPAIR_SHAPER_MARK, which the iptables
 * chains let through, because NFQUEUE itself has no verdict that duplicates (NF_REPEAT only re-runs
 * the hook). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* glibc's netinet/in.h first: linux/in.h then skips what glibc already defined */
#include <netinet/in.h>
#include <linux/netfilter.h>

#include "base/xalloc.h"
#include "core/impair.h"
#include "core/lathist.h"
#include "shaper/shaper.h"

#define MAX_CONNS 16
#define MAX_TOKENS 64
#define READ_BUDGET 1024

struct qstats {
    uint64_t seen, passed, dropped, delayed, reordered, duplicated, corrupted, dup_failed, held;
    /* how late held packets were released after their due time: the shaper's own timing
     * error, apart from the host's scheduling noise that a ping measurement adds; late_over
     * counts releases later than 10% of the hold they were due after */
    struct lathist late;
    uint64_t late_over;
};

struct squeue {
    uint16_t num;
    int full_copy;
    struct impair_spec spec;
    struct impair_state st;
    struct qstats c;
};

struct daemon {
    struct nfqueue *nfq;
    struct squeue *q;
    size_t nq;
    struct pending_heap heap;
    int ctl_fd;
    int timer_fd;
    uint64_t armed_us; /* the timerfd's expiry, 0 = disarmed */
    const char *sched; /* "fifo", "deadline", "nice" or "normal": what set_sched obtained */
    int conns[MAX_CONNS];
    size_t nconns;
    int raw_fd[2]; /* IPv4, IPv6; -1: not opened yet, -2: could not be opened */
    int stopping;  /* shutting down: accept every new packet at once */
    uint32_t maxlen;
    uint64_t seed;
    char ctl_path[108];
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    va_list ap;
    char line[1024];

    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* one write per line, so lines from a busy daemon never interleave */
    fprintf(stderr, "natrig-shaper: %s\n", line);
}

static struct squeue *find_queue(struct daemon *d, uint16_t num)
{
    size_t i;

    for (i = 0; i < d->nq; i++)
        if (d->q[i].num == num)
            return &d->q[i];
    return NULL;
}

static int needs_full_copy(const struct impair_spec *s)
{
    return s->corrupt_pct > 0 || s->duplicate_pct > 0;
}

/* --- packets --------------------------------------------------------------------------------- */

static void report(struct nt_err *err)
{
    logf_("%s: %s", err->op, err->msg);
}

static int inject(struct daemon *d, const unsigned char *pkt, size_t len)
{
    struct sockaddr_storage dst;
    uint32_t mark = IMPAIR_SHAPER_MARK;
    int v6 = len >= 40 && (pkt[0] >> 4) == 6, *fd = &d->raw_fd[v6];
    socklen_t dl;

    if (*fd == -1) {
        /* IPPROTO_RAW: the packet carries its own header, in both families */
        *fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW);
        if (*fd < 0 || setsockopt(*fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) {
            logf_("duplicate: raw %s socket: %s (duplicates are counted as dup_failed)",
                  v6 ? "IPv6" : "IPv4", strerror(errno));
            if (*fd >= 0)
                close(*fd);
            *fd = -2;
        }
    }
    if (*fd < 0 || len < 20)
        return -1;
    memset(&dst, 0, sizeof dst);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&dst;
        a->sin6_family = AF_INET6;
        memcpy(&a->sin6_addr, pkt + 24, 16);
        dl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&dst;
        a->sin_family = AF_INET;
        memcpy(&a->sin_addr, pkt + 16, 4);
        dl = sizeof *a;
    }
    return sendto(*fd, pkt, len, 0, (struct sockaddr *)&dst, dl) == (ssize_t)len ? 0 : -1;
}

/* Give a packet back to the kernel (now), and send its duplicate after it. Frees p->pkt. */
static void release(struct daemon *d, struct pending *p)
{
    struct nt_err err = {0};
    struct squeue *sq = find_queue(d, p->queue);

    if (nfqueue_verdict(d->nfq, p->queue, p->id, NF_ACCEPT, p->mangled ? p->pkt : NULL, p->len,
                        &err) < 0)
        report(&err);
    if (sq)
        sq->c.passed++;
    if (p->duplicate && !d->stopping) {
        /* the original first: flush its verdict, then inject the copy, uncorrupted as netem's
         * clone is (the corrupted bit is flipped back) */
        if (nfqueue_flush(d->nfq, &err) < 0)
            report(&err);
        if (p->mangled)
            p->pkt[p->corrupt_off] ^= p->corrupt_mask;
        if (inject(d, p->pkt, p->len) == 0) {
            if (sq)
                sq->c.duplicated++;
        } else if (sq) {
            sq->c.dup_failed++;
        }
    }
    free(p->pkt);
    p->pkt = NULL;
}

static void on_packet(void *ud, const struct nfqueue_pkt *p)
{
    struct daemon *d = ud;
    struct squeue *sq = find_queue(d, p->queue);
    struct impair_verdict v;
    struct pending pe;
    struct nt_err err = {0};
    size_t ihl = 0, tot = p->caplen;
    int full;
    uint64_t now, due;

    if (!sq || d->stopping) {
        if (nfqueue_verdict(d->nfq, p->queue, p->id, NF_ACCEPT, NULL, 0, &err) < 0)
            report(&err);
        return;
    }
    sq->c.seen++;
    /* the IP header gives the true length even when only headers were copied (IPv6: the
     * fixed header's payload length; corruption may then hit extension headers, as in netem) */
    if (p->caplen >= 20 && (p->data[0] >> 4) == 4) {
        ihl = (size_t)(p->data[0] & 0x0f) * 4;
        tot = ((size_t)p->data[2] << 8) | p->data[3];
    } else if (p->caplen >= 40 && (p->data[0] >> 4) == 6) {
        ihl = 40;
        tot = 40 + (((size_t)p->data[4] << 8) | p->data[5]);
    }
    if (ihl && (tot < ihl || ihl < 20)) {
        ihl = 0;
        tot = p->caplen;
    }
    full = p->caplen >= tot && tot > ihl;
    /* a packet copied in header-only mode (the spec changed while it was queued) cannot be
     * corrupted: tell impair_decide there is nothing to corrupt */
    impair_decide(&sq->spec, &sq->st, full ? tot - ihl : 0, &v);
    if (v.drop) {
        sq->c.dropped++;
        if (nfqueue_verdict(d->nfq, p->queue, p->id, NF_DROP, NULL, 0, &err) < 0)
            report(&err);
        return;
    }
    memset(&pe, 0, sizeof pe);
    pe.id = p->id;
    pe.queue = p->queue;
    if (v.duplicate) {
        /* a copy injected from here leaves through OUTPUT/POSTROUTING: right for egress, but an
         * ingress packet would be re-sent instead of received, so that is refused */
        if (full && (p->hook == NF_INET_POST_ROUTING || p->hook == NF_INET_LOCAL_OUT))
            pe.duplicate = 1;
        else
            sq->c.dup_failed++;
    }
    if (v.corrupt_at >= 0) {
        pe.mangled = 1;
        pe.corrupt_off = (uint32_t)(ihl + (size_t)v.corrupt_at);
        pe.corrupt_mask = v.corrupt_mask;
        sq->c.corrupted++;
    }
    if (pe.duplicate || pe.mangled) {
        pe.len = tot;
        pe.pkt = xmalloc(tot);
        memcpy(pe.pkt, p->data, tot);
        if (pe.mangled)
            pe.pkt[pe.corrupt_off] ^= pe.corrupt_mask;
    }
    now = now_us();
    if (v.reordered) {
        sq->c.reordered++;
        release(d, &pe);
        return;
    }
    due = impair_rate_due(&sq->spec, &sq->st, now, v.delay_us, tot);
    if (due <= now) {
        release(d, &pe);
        return;
    }
    pe.due_us = due;
    pe.hold_us = due - now > UINT32_MAX ? UINT32_MAX : (uint32_t)(due - now);
    sq->c.delayed++;
    sq->c.held++;
    pending_push(&d->heap, &pe);
}

static void release_due(struct daemon *d, uint64_t now)
{
    uint64_t due;

    while (pending_peek(&d->heap, &due) && due <= now) {
        struct pending p;
        struct squeue *sq;
        pending_pop(&d->heap, &p);
        sq = find_queue(d, p.queue);
        if (sq) {
            uint64_t late = now - p.due_us;
            if (sq->c.held)
                sq->c.held--;
            lathist_add(&sq->c.late, late);
            if (late * 10 > p.hold_us)
                sq->c.late_over++;
        }
        release(d, &p);
    }
}

/* --- control --------------------------------------------------------------------------------- */

static int add_queue(struct daemon *d, uint16_t num, struct nt_err *err)
{
    struct squeue *sq;

    /* partitions rely on nobody binding this queue: its packets must vanish, not pass */
    if (num == IMPAIR_PART_VOID_QUEUE)
        return nt_err_set(err, NT_EINVAL, "bind",
                          "queue %u is reserved for isolate (packets sent there vanish); pick "
                          "another",
                          (unsigned)num);
    if (nfqueue_bind(d->nfq, num, d->maxlen, 0, err) < 0)
        return -1;
    d->q = xrealloc(d->q, (d->nq + 1) * sizeof *d->q);
    sq = &d->q[d->nq++];
    memset(sq, 0, sizeof *sq);
    sq->num = num;
    impair_spec_init(&sq->spec);
    /* distinct but reproducible streams per queue */
    impair_state_init(&sq->st, d->seed + 0x9e3779b97f4a7c15ull * ((uint64_t)num + 1));
    return 0;
}

static void fmt_stats(const struct daemon *d, struct squeue *sq, char *buf, size_t n)
{
    char spec[1024];
    uint64_t qd = 0, ud = 0;
    size_t i;

    impair_spec_format(&sq->spec, spec, sizeof spec);
    for (i = 0; spec[i]; i++)
        if (spec[i] == ' ')
            spec[i] = ',';
    nfqueue_kernel_stats(sq->num, &qd, &ud);
    snprintf(buf, n,
             "queue=%u seen=%llu passed=%llu dropped=%llu delayed=%llu reordered=%llu "
             "duplicated=%llu corrupted=%llu dup_failed=%llu held=%llu overflow=%llu "
             "user_dropped=%llu late_n=%llu late_avg_us=%llu late_p50_us=%llu late_p99_us=%llu "
             "late_max_us=%llu late_over=%llu sched=%s spec=%s",
             (unsigned)sq->num, (unsigned long long)sq->c.seen, (unsigned long long)sq->c.passed,
             (unsigned long long)sq->c.dropped, (unsigned long long)sq->c.delayed,
             (unsigned long long)sq->c.reordered, (unsigned long long)sq->c.duplicated,
             (unsigned long long)sq->c.corrupted, (unsigned long long)sq->c.dup_failed,
             (unsigned long long)sq->c.held, (unsigned long long)qd, (unsigned long long)ud,
             (unsigned long long)sq->c.late.n,
             (unsigned long long)(sq->c.late.n ? sq->c.late.sum / sq->c.late.n : 0),
             (unsigned long long)lathist_quantile(&sq->c.late, 0.5),
             (unsigned long long)lathist_quantile(&sq->c.late, 0.99),
             (unsigned long long)sq->c.late.max, (unsigned long long)sq->c.late_over, d->sched,
             *spec ? spec : "none");
}

/* Handle one request line; writes the reply ("ok ..." / "err ...") into out. */
static void handle_request(struct daemon *d, char *req, char *out, size_t n)
{
    char *tok[MAX_TOKENS];
    size_t nt = ctl_split(req, tok, MAX_TOKENS), first_kv = 1;
    struct nt_err err = {0};
    struct squeue *sq = NULL;
    uint16_t num = 0;
    int have_queue = 0;

    if (nt == 0) {
        snprintf(out, n, "err empty request");
        return;
    }
    if (nt >= MAX_TOKENS) {
        snprintf(out, n, "err too many tokens (at most %d)", MAX_TOKENS - 1);
        return;
    }
    if (nt > 1 && strncmp(tok[1], "queue=", 6) == 0) {
        if (shaper_parse_queue("queue", tok[1] + 6, &num, &err) < 0) {
            snprintf(out, n, "err %s", err.msg);
            return;
        }
        have_queue = 1;
        first_kv = 2;
        sq = find_queue(d, num);
    }
    if (strcmp(tok[0], "ping") == 0) {
        struct buf_ {
            char s[512];
            size_t l;
        } b = {{0}, 0};
        size_t i;
        for (i = 0; i < d->nq && b.l < sizeof b.s - 8; i++)
            b.l += (size_t)snprintf(b.s + b.l, sizeof b.s - b.l, "%s%u", i ? "," : "",
                                    (unsigned)d->q[i].num);
        snprintf(out, n, "ok natrig-shaper queues=%s held=%zu sched=%s", d->nq ? b.s : "none",
                 d->heap.n, d->sched);
        return;
    }
    if (strcmp(tok[0], "stats") == 0) {
        size_t i, l;
        if (have_queue && !sq) {
            snprintf(out, n, "err queue %u is not bound", (unsigned)num);
            return;
        }
        l = (size_t)snprintf(out, n, "ok ");
        for (i = 0; i < d->nq && l < n; i++) {
            if (sq && &d->q[i] != sq)
                continue;
            if (l > 3 && l < n - 1)
                out[l++] = '\n';
            fmt_stats(d, &d->q[i], out + l, n - l);
            l += strlen(out + l);
        }
        if (l == 3)
            snprintf(out, n, "ok no queues bound");
        return;
    }
    if (strcmp(tok[0], "bind") == 0) {
        if (!have_queue) {
            snprintf(out, n, "err bind needs queue=N");
        } else if (sq) {
            snprintf(out, n, "ok");
        } else if (add_queue(d, num, &err) < 0) {
            snprintf(out, n, "err %s", err.msg);
        } else {
            logf_("queue %u: bound", (unsigned)num);
            snprintf(out, n, "ok");
        }
        return;
    }
    if (strcmp(tok[0], "rules") == 0) {
        /* the NFQUEUE rules, installed from here: no engine exec round trip for natrig. The
         * loop waits for iptables meanwhile (milliseconds; held packets are released late by
         * as much, only when rules change) */
        char dev[32];
        if (shaper_rules((int)nt, tok, dev, sizeof dev, NULL, &err) < 0) {
            snprintf(out, n, "err %s", err.msg);
            return;
        }
        logf_("rules %s%s%s", tok[1], *dev ? " on " : "", dev);
        if (*dev)
            snprintf(out, n, "ok dev=%s", dev);
        else
            snprintf(out, n, "ok");
        return;
    }
    if (strcmp(tok[0], "set") == 0 || strcmp(tok[0], "clear") == 0) {
        struct impair_spec s;
        char txt[1024];
        int clear = tok[0][0] == 'c';

        if (!have_queue) {
            snprintf(out, n, "err %s needs queue=N", tok[0]);
            return;
        }
        if (!sq) {
            snprintf(out, n,
                     "err queue %u is not bound (start with --queue %u, or: natrig-shaper bind "
                     "--queue %u)",
                     (unsigned)num, (unsigned)num, (unsigned)num);
            return;
        }
        impair_spec_init(&s);
        if (clear && nt > first_kv) {
            snprintf(out, n, "err clear takes no key=value");
            return;
        }
        if (!clear && (impair_spec_parse_kv(&s, (const char *const *)tok + first_kv, nt - first_kv,
                                            &err) < 0 ||
                       shaper_check_spec(&s, &err) < 0)) {
            snprintf(out, n, "err %s", err.msg);
            return;
        }
        if (needs_full_copy(&s) != sq->full_copy) {
            if (nfqueue_set_copy(d->nfq, num, needs_full_copy(&s), &err) < 0) {
                snprintf(out, n, "err %s", err.msg);
                return;
            }
            sq->full_copy = needs_full_copy(&s);
        }
        /* the new spec applies to packets that arrive from now on; held ones keep their time.
         * seed=N restarts the queue's decisions from N, so a rerun with the same seed on the
         * same packets drops (delays, duplicates...) the same ones */
        sq->spec = s;
        if (s.has_seed) {
            /* the rate limiter's clock is no random decision: it carries over */
            uint64_t rate_next = sq->st.rate_next_us;
            impair_state_init(&sq->st, s.seed);
            sq->st.rate_next_us = rate_next;
        }
        impair_spec_format(&s, txt, sizeof txt);
        if (clear || !*txt)
            logf_("queue %u: cleared", (unsigned)num);
        else
            logf_("queue %u: set %s", (unsigned)num, txt);
        snprintf(out, n, "ok");
        return;
    }
    snprintf(out, n, "err unknown request '%s' (ping, set, clear, stats, bind, rules)", tok[0]);
}

static void serve_conn(struct daemon *d, size_t i)
{
    char req[SHAPER_MSG_MAX + 1], reply[SHAPER_MSG_MAX];
    ssize_t r = recv(d->conns[i], req, SHAPER_MSG_MAX, MSG_DONTWAIT);

    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r > 0) {
        req[r] = '\0';
        handle_request(d, req, reply, sizeof reply);
        /* the reply is small and the socket fresh: a full buffer means a broken client */
        if (send(d->conns[i], reply, strlen(reply), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
            logf_("control: reply lost: %s", strerror(errno));
    }
    close(d->conns[i]);
    d->conns[i] = d->conns[--d->nconns];
}

static void accept_conns(struct daemon *d)
{
    for (;;) {
        int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        if (d->nconns == MAX_CONNS) {
            /* too many idle clients: the oldest gives way */
            close(d->conns[0]);
            d->conns[0] = d->conns[--d->nconns];
        }
        d->conns[d->nconns++] = fd;
    }
}

static int open_control(struct daemon *d, const char *path, struct nt_err *err)
{
    struct sockaddr_un sa;
    struct stat st;
    char dir[sizeof sa.sun_path];
    char *slash;
    int fd;

    if (strlen(path) >= sizeof sa.sun_path)
        return nt_err_set(err, NT_EINVAL, "control", "socket path too long: %s", path);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    /* a minimal image may have no /run: create the last directory level */
    memcpy(dir, path, strlen(path) + 1);
    slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return nt_err_set(err, NT_SYS, "control", "mkdir %s: %s", dir, strerror(errno));
    }
    if (lstat(path, &st) == 0) {
        int probe;
        if (!S_ISSOCK(st.st_mode))
            return nt_err_set(err, NT_EINVAL, "control", "%s exists and is not a socket", path);
        probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
            close(probe);
            return nt_err_set(err, NT_EINVAL, "control", "another shaper listens on %s", path);
        }
        if (probe >= 0)
            close(probe);
        unlink(path); /* stale, from a shaper that died */
    }
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return nt_err_set(err, NT_SYS, "control", "socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, MAX_CONNS) < 0) {
        nt_err_set(err, NT_SYS, "control", "listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    d->ctl_fd = fd;
    snprintf(d->ctl_path, sizeof d->ctl_path, "%s", path);
    return 0;
}

/* --- main loop ------------------------------------------------------------------------------- */

static size_t shutdown_release(struct daemon *d)
{
    struct nt_err err = {0};
    size_t i, held = d->heap.n;

    d->stopping = 1;
    for (i = 0; i < d->nq; i++)
        if (nfqueue_fail_open(d->nfq, d->q[i].num, &err) < 0)
            report(&err);
    /* what the kernel had already sent us is accepted as it is read (d->stopping) */
    while (nfqueue_read(d->nfq, READ_BUDGET, &err) > 0)
        ;
    while (d->heap.n) {
        struct pending p;
        pending_pop(&d->heap, &p);
        release(d, &p);
    }
    if (nfqueue_flush(d->nfq, &err) < 0)
        report(&err);
    return held;
}

static void set_sched(struct daemon *d)
{
    char msg[400];

    d->sched = shaper_set_sched(msg, sizeof msg);
    logf_("scheduling: %s", msg);
}

/* Arm the timerfd at the absolute due time of the earliest held packet (or disarm it). */
static void arm_timer(struct daemon *d)
{
    struct itimerspec its;
    uint64_t due = 0;

    if (!pending_peek(&d->heap, &due))
        due = 0;
    if (due == d->armed_us)
        return;
    memset(&its, 0, sizeof its);
    /* an absolute expiry of 0 would disarm: a due time of 0 us cannot occur (monotonic) */
    its.it_value.tv_sec = (time_t)(due / 1000000u);
    its.it_value.tv_nsec = (long)(due % 1000000u) * 1000;
    if (timerfd_settime(d->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        logf_("timerfd: %s", strerror(errno));
    d->armed_us = due;
}

static int loop(struct daemon *d, const sigset_t *waitmask)
{
    struct nt_err err = {0};

    while (!got_signal) {
        struct pollfd pfd[3 + MAX_CONNS];
        uint64_t expirations;
        size_t i, nfds = 0;
        int r;

        release_due(d, now_us());
        if (nfqueue_flush(d->nfq, &err) < 0)
            report(&err);
        arm_timer(d);
        pfd[nfds].fd = nfqueue_fd(d->nfq);
        pfd[nfds++].events = POLLIN;
        pfd[nfds].fd = d->ctl_fd;
        pfd[nfds++].events = POLLIN;
        pfd[nfds].fd = d->timer_fd;
        pfd[nfds++].events = POLLIN;
        for (i = 0; i < d->nconns; i++) {
            pfd[nfds].fd = d->conns[i];
            pfd[nfds++].events = POLLIN;
        }
        /* no timeout: the timerfd wakes us at the due time; signals are unblocked only while
         * waiting, so none is missed */
        r = ppoll(pfd, nfds, NULL, waitmask);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            logf_("ppoll: %s", strerror(errno));
            return -1;
        }
        if (pfd[0].revents & (POLLIN | POLLERR)) {
            if (nfqueue_read(d->nfq, READ_BUDGET, &err) < 0) {
                report(&err);
                return -1;
            }
        }
        if ((pfd[2].revents & POLLIN) && read(d->timer_fd, &expirations, sizeof expirations) < 0 &&
            errno != EAGAIN)
            logf_("timerfd read: %s", strerror(errno));
        /* connections first (their indexes shift when one closes), newest last */
        for (i = d->nconns; i-- > 0;)
            if (pfd[3 + i].revents)
                serve_conn(d, i);
        if (pfd[1].revents & POLLIN)
            accept_conns(d);
    }
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static int run_run(int argc, char **argv)
{
    struct daemon d;
    struct nt_err err = {0};
    const char *control = NULL;
    uint16_t queues[256];
    size_t nqueues = 0, i, held;
    int have_seed = 0, want_rt = 1, rc;
    uint64_t v;
    sigset_t block, waitmask;
    struct sigaction sa;

    memset(&d, 0, sizeof d);
    d.ctl_fd = -1;
    d.raw_fd[0] = d.raw_fd[1] = -1;
    d.timer_fd = -1;
    d.sched = "normal";
    d.maxlen = SHAPER_DEFAULT_MAXLEN;
    /* every option takes a value: step two at a time */
    for (i = 1; i < (size_t)argc; i += 2) {
        const char *a = argv[i], *val = i + 1 < (size_t)argc ? argv[i + 1] : NULL;
        if (!val && a[0] == '-') {
            nt_err_set(&err, NT_EINVAL, "usage", "%s needs a value", a);
            goto usage;
        }
        if (strcmp(a, "--queue") == 0 && val) {
            if (nqueues == sizeof queues / sizeof queues[0] ||
                shaper_parse_queue("--queue", val, &queues[nqueues], &err) < 0)
                goto usage;
            nqueues++;
        } else if (strcmp(a, "--control") == 0 && val) {
            control = val;
        } else if (strcmp(a, "--maxlen") == 0 && val) {
            if (parse_u64(val, &v) < 0 || v == 0 || v > 1000000) {
                nt_err_set(&err, NT_EINVAL, "usage", "--maxlen: 1-1000000 packets");
                goto usage;
            }
            d.maxlen = (uint32_t)v;
        } else if (strcmp(a, "--sched") == 0 && val) {
            if (strcmp(val, "auto") != 0 && strcmp(val, "normal") != 0) {
                nt_err_set(&err, NT_EINVAL, "usage",
                           "--sched: auto (real-time if permitted, the default) or normal");
                goto usage;
            }
            want_rt = strcmp(val, "auto") == 0;
        } else if (strcmp(a, "--seed") == 0 && val) {
            if (parse_u64(val, &d.seed) < 0) {
                nt_err_set(&err, NT_EINVAL, "usage", "--seed: a decimal number");
                goto usage;
            }
            have_seed = 1;
        } else {
            nt_err_set(&err, NT_EINVAL, "usage", "unexpected argument '%s'", a);
            goto usage;
        }
    }
    if (!have_seed)
        d.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &waitmask);
    sigdelset(&waitmask, SIGTERM);
    sigdelset(&waitmask, SIGINT);
    sigdelset(&waitmask, SIGHUP);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    d.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (d.timer_fd < 0) {
        nt_err_set(&err, NT_SYS, "timerfd", "%s", strerror(errno));
        goto fail;
    }
    d.nfq = nfqueue_open(on_packet, &d, &err);
    if (!d.nfq)
        goto fail;
    for (i = 0; i < nqueues; i++)
        if (!find_queue(&d, queues[i]) && add_queue(&d, queues[i], &err) < 0)
            goto fail;
    if (open_control(&d, shaper_control_path(control), &err) < 0)
        goto fail;
    {
        char list[512];
        size_t l = 0;
        list[0] = '\0';
        for (i = 0; i < d.nq && l < sizeof list - 8; i++)
            l += (size_t)snprintf(list + l, sizeof list - l, "%s%u", i ? "," : "",
                                  (unsigned)d.q[i].num);
        if (want_rt)
            set_sched(&d);
        else
            logf_("scheduling: normal priority (--sched normal)");
        logf_("ready: queues %s, maxlen %u, control %s, seed %llu", d.nq ? list : "none", d.maxlen,
              d.ctl_path, (unsigned long long)d.seed);
    }
    rc = loop(&d, &waitmask);
    held = shutdown_release(&d);
    logf_("%s: released %zu held packets, exiting",
          got_signal == SIGTERM  ? "SIGTERM"
          : got_signal == SIGINT ? "SIGINT"
          : got_signal == SIGHUP ? "SIGHUP"
                                 : "error",
          held);
    nfqueue_close(d.nfq);
    close(d.ctl_fd);
    unlink(d.ctl_path);
    for (i = 0; i < d.nconns; i++)
        close(d.conns[i]);
    for (i = 0; i < 2; i++)
        if (d.raw_fd[i] >= 0)
            close(d.raw_fd[i]);
    close(d.timer_fd);
    pending_free(&d.heap);
    free(d.q);
    return rc < 0 ? 1 : 0;

usage:
    fprintf(stderr, "natrig-shaper run: %s\nusage: natrig-shaper %s\n", err.msg,
            shaper_cmd_run.usage);
    return 2;
fail:
    fprintf(stderr, "natrig-shaper: %s: %s\n", err.op, err.msg);
    if (d.timer_fd >= 0)
        close(d.timer_fd);
    if (d.nfq)
        nfqueue_close(d.nfq);
    if (d.ctl_fd >= 0) {
        close(d.ctl_fd);
        unlink(d.ctl_path);
    }
    free(d.q);
    return 1;
}

const struct shaper_cmd shaper_cmd_run = {
    "run",
    "run [--queue N ...] [--control PATH] [--maxlen PACKETS] [--seed N] [--sched auto|normal]",
    run_run};
