/* rtsched.c - the daemon's CPU scheduling: a due release must preempt busy normal tasks
 * instead of waiting for the scheduler to get round to it (seen: 60 ms late at p99 on a
 * loaded host at normal priority, under 1 ms with SCHED_FIFO).
 *
 * In order: SCHED_FIFO; else SCHED_DEADLINE; else nice -20; else what it has.
 * SCHED_DEADLINE is for containers: Docker under cgroup v1 with RT group scheduling gives a
 * container's cgroup no real-time budget, so SCHED_FIFO is refused there (EPERM), while a
 * deadline reservation is admitted against the whole machine's bandwidth, not the cgroup's.
 * The reservation is small (SHAPER_DL_RUNTIME_NS every SHAPER_DL_PERIOD_NS, so about 95
 * shapers fit one 2-CPU machine) and SCHED_FLAG_RECLAIM lets a busy shaper use bandwidth
 * other deadline tasks leave idle; past its budget a release waits at most one period.
 * Both real-time policies reset on fork: the iptables children of a `rules` request run at
 * normal priority (a deadline task may not fork otherwise). */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shaper/shaper.h"

#define SHAPER_DL_RUNTIME_NS 200000ULL  /* 0.2 ms of CPU ... */
#define SHAPER_DL_PERIOD_NS 10000000ULL /* ... every 10 ms: 2 % of one CPU, reserved */

#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#define DL_FLAG_RESET_ON_FORK 0x01ULL
#define DL_FLAG_RECLAIM 0x02ULL

/* the kernel's struct sched_attr (glibc before 2.41 has no wrapper) */
struct dl_attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};

static int set_deadline(void)
{
#ifdef SYS_sched_setattr
    struct dl_attr a;

    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.policy = SCHED_DEADLINE;
    a.flags = DL_FLAG_RESET_ON_FORK | DL_FLAG_RECLAIM;
    a.runtime = SHAPER_DL_RUNTIME_NS;
    a.deadline = a.period = SHAPER_DL_PERIOD_NS;
    return (int)syscall(SYS_sched_setattr, 0, &a, 0U);
#else
    errno = ENOSYS;
    return -1;
#endif
}

const char *shaper_set_sched(char *msg, size_t n)
{
    struct sched_param sp;
    int fifo_errno, dl_errno, niced;

    memset(&sp, 0, sizeof sp);
    sp.sched_priority = SHAPER_RT_PRIO;
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) == 0) {
        snprintf(msg, n, "SCHED_FIFO priority %d (releases hold their time under CPU load)",
                 SHAPER_RT_PRIO);
        return "fifo";
    }
    fifo_errno = errno;
    if (set_deadline() == 0) {
        snprintf(msg, n,
                 "SCHED_DEADLINE %llu us every %llu us, reclaiming idle bandwidth (SCHED_FIFO "
                 "refused: %s; releases hold their time under CPU load)",
                 SHAPER_DL_RUNTIME_NS / 1000, SHAPER_DL_PERIOD_NS / 1000, strerror(fifo_errno));
        return "deadline";
    }
    dl_errno = errno;
    niced = setpriority(PRIO_PROCESS, 0, -20) == 0;
    /* a normal task's timers get 50 us of slack by default; 1 ns = none */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    snprintf(msg, n,
             "real-time refused (SCHED_FIFO: %s; SCHED_DEADLINE: %s%s), running at %s: releases "
             "may come late when the CPUs are busy; stats report it (late_p99_us, late_over)",
             strerror(fifo_errno), strerror(dl_errno),
             dl_errno == EPERM   ? ": needs CAP_SYS_NICE"
             : dl_errno == EBUSY ? ": the machine's deadline bandwidth is taken"
                                 : "",
             niced ? "nice -20" : "normal priority");
    return niced ? "nice" : "normal";
}
