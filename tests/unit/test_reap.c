/* test_reap.c - TAP tests for engine/reap: the watchdog acts when the process that started
 * it dies, and never while it lives, even when that process closes the watchdog's pipe by
 * mistake (a stray close() of a reused descriptor number elsewhere in natrig would
 * otherwise tear a live run down). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/reap.h"
#include "tap.h"

static char dir[] = "/tmp/nt-reap-XXXXXX";

/* The watchdog's action: a file named after the label (the child's copy of dir). */
static void mark(const char *host, const char *label)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s%s", dir, label, host ? host : "");
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

static int exists(const char *name)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static void msleep(long ms)
{
    nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000}, NULL);
}

/* Up to 10 s for name to appear. */
static int appears(const char *name)
{
    for (int i = 0; i < 1000; i++) {
        if (exists(name))
            return 1;
        msleep(10);
    }
    return 0;
}

/* A run's process (a child, so it can die): starts a watchdog for label; with stray set
 * it then closes every descriptor but its two sync pipes, the watchdog's write end among
 * them. It says so on up, then waits for a byte on go and exits. */
static pid_t run_process(const char *label, int stray, int up[2], int go[2])
{
    if (pipe(up) || pipe(go))
        abort();
    pid_t pid = fork();
    if (pid)
        return pid;
    struct nt_err err = {0};
    close(up[0]);
    close(go[1]);
    if (reap_spawn_watchdog(NULL, label, mark, &err) < 0)
        _exit(3);
    if (stray)
        for (int fd = 3; fd < 1024; fd++)
            if (fd != up[1] && fd != go[0])
                close(fd);
    char c = 'u';
    if (write(up[1], &c, 1) != 1)
        _exit(4);
    while (read(go[0], &c, 1) < 0 && errno == EINTR)
        ;
    _exit(0);
}

static void one(const char *label, int stray, const char *what)
{
    int up[2], go[2], status;
    char c = 'g';
    pid_t pid = run_process(label, stray, up, go);
    close(up[1]);
    close(go[0]);
    ok(read(up[0], &c, 1) == 1, "%s: the run's process started its watchdog", what);
    msleep(300); /* time enough for a watchdog that acted on the closed pipe */
    ok(!exists(label), "%s: nothing is removed while the run's process lives", what);
    if (write(go[1], &c, 1) != 1)
        abort();
    waitpid(pid, &status, 0);
    ok(appears(label), "%s: the watchdog acts once the run's process is gone", what);
    close(up[0]);
    close(go[1]);
}

int main(void)
{
    if (!mkdtemp(dir))
        abort();
    one("plain", 0, "a run that exits");
    one("stray", 1, "a run that closed the watchdog's pipe by mistake");
    char path[128];
    snprintf(path, sizeof path, "%s/plain", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/stray", dir);
    unlink(path);
    rmdir(dir);
    return tap_done();
}
