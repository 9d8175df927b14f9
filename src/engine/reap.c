/* reap.c - the watchdog child that cleans a run up when its process dies, however it
 * dies (SIGKILL included). What it removes and how is not here: the child calls back into
 * the one cleanup path (lua/natrig/teardown.lua, which removes endpoints one network at a
 * time: the engine loses count of a network's endpoints when they all go at once). */
#include "engine/reap.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Returns once process parent is gone. This child was forked by it, so it is reparented
 * (getppid() changes) the moment the parent exits; no PID reuse can fool that. A pidfd
 * (Linux 5.3+) wakes at the exit; without one, a look every 100 ms. */
static void wait_parent_gone(pid_t parent)
{
    int pfd = -1;
#ifdef SYS_pidfd_open
    pfd = (int)syscall(SYS_pidfd_open, parent, 0);
#endif
    while (getppid() == parent) {
        if (pfd >= 0) {
            struct pollfd p = {.fd = pfd, .events = POLLIN};
            if (poll(&p, 1, 1000) < 0 && errno != EINTR) {
                close(pfd);
                pfd = -1;
            }
        } else {
            nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
        }
    }
    if (pfd >= 0)
        close(pfd);
}

int reap_spawn_watchdog(const char *host, const char *label, reap_fn fn, struct nt_err *err)
{
    int fds[2];
    pid_t pid, parent = getpid();

    if (pipe2(fds, O_CLOEXEC))
        return nt_err_set(err, NT_SYS, "start reaper", "pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return nt_err_set(err, NT_SYS, "start reaper", "fork: %s", strerror(errno));
    }
    if (pid > 0) {
        /* Parent keeps the write end open for its whole life; it is never written. */
        close(fds[0]);
        return pid;
    }
    /* Child: its own session so the terminal's Ctrl-C does not reach it. Its own name, so
     * ps and pgrep tell it from the run it watches (a fork keeps the run's command line). */
    setsid();
    prctl(PR_SET_NAME, "natrig-reaper", 0, 0, 0);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    close(fds[1]);
    /* The parent's sockets (its engine connections) must not be touched: close them. */
    for (int fd = 3; fd < 65536; fd++)
        if (fd != fds[0])
            close(fd);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        if (!getenv("NATRIG_REAPER_DEBUG"))
            dup2(devnull, 2);
    }
    char c;
    while (read(fds[0], &c, 1) < 0 && errno == EINTR)
        ;
    /* End of file: every copy of the write end is closed, which is the parent's death,
     * or a stray close() of that descriptor number in a live parent (a double close
     * anywhere in natrig). Reaping a live run would pull its network from under it, so
     * the parent itself must be gone first. */
    wait_parent_gone(parent);
    fn(host, label);
    _exit(0);
}
