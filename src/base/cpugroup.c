/* cpugroup.c - natrig's own CPU cgroup (see cpugroup.h). */
#include "base/cpugroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The kernel's sched_prio_to_weight (kernel/sched/core.c), nice -20 first. */
static const unsigned weights[40] = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906,  3121,  2501,  1991,  1586,  1277,  1024,  820,   655,   526,   423,  335,  272,  215,
    172,   137,   110,   87,    70,    56,    45,    36,    29,    23,    18,   15,
};

unsigned nt_nice_weight(int nice)
{
    if (nice < -20)
        nice = -20;
    if (nice > 19)
        nice = 19;
    return weights[nice + 20];
}

unsigned nt_nice_weight_v2(int nice)
{
    unsigned w = (unsigned)(((unsigned long)nt_nice_weight(nice) * 100 + 512) / 1024);
    return w < 1 ? 1 : w > 10000 ? 10000 : w;
}

#define GROUP "natrig"

static char base[64];   /* the cpu controller's mount, e.g. /sys/fs/cgroup/cpu */
static char from[512];  /* the cgroup this process came from, relative to base */
static char joined[96]; /* base/natrig while this process is in it */
static int v2, registered;

static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC), e;
    ssize_t n;

    if (fd < 0)
        return -1;
    n = write(fd, s, strlen(s));
    e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

static int read_file(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return 0;
}

/* Whether word is one of the comma- or space-separated words of list. */
static int has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);

    for (const char *p = list; (p = strstr(p, word)) != NULL; p += wl) {
        int start = p == list || p[-1] == ',' || p[-1] == ' ';
        int end = p[wl] == 0 || p[wl] == ',' || p[wl] == ' ' || p[wl] == '\n';
        if (start && end)
            return 1;
    }
    return 0;
}

/* Find the cpu controller (base, v2) and this process's cgroup in it (from). */
static int locate(char *why, size_t whylen)
{
    char buf[4096], *line, *save = NULL;
    struct stat st;

    if (stat("/sys/fs/cgroup/cpu/cpu.shares", &st) == 0)
        snprintf(base, sizeof base, "/sys/fs/cgroup/cpu"), v2 = 0;
    else if (stat("/sys/fs/cgroup/cpu,cpuacct/cpu.shares", &st) == 0)
        snprintf(base, sizeof base, "/sys/fs/cgroup/cpu,cpuacct"), v2 = 0;
    else if (read_file("/sys/fs/cgroup/cgroup.controllers", buf, sizeof buf) == 0 &&
             has_word(buf, "cpu"))
        snprintf(base, sizeof base, "/sys/fs/cgroup"), v2 = 1;
    else {
        snprintf(why, whylen, "no cgroup cpu controller under /sys/fs/cgroup");
        return -1;
    }
    if (read_file("/proc/self/cgroup", buf, sizeof buf) != 0) {
        snprintf(why, whylen, "/proc/self/cgroup: %s", strerror(errno));
        return -1;
    }
    /* v1: "N:cpu,cpuacct:/path"; v2: "0::/path" */
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        if (v2 ? c2 == c1 + 1 : has_word(c1 + 1, "cpu")) {
            snprintf(from, sizeof from, "%s", c2 + 1);
            return 0;
        }
    }
    snprintf(why, whylen, "/proc/self/cgroup names no %s cgroup", v2 ? "v2" : "cpu");
    return -1;
}

static int move_to(const char *dir)
{
    char path[640], pid[24];

    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    return write_file(path, pid);
}

void nt_cpugroup_leave(void)
{
    char back[600];

    if (!joined[0])
        return;
    snprintf(back, sizeof back, "%s%s", base, strcmp(from, "/") == 0 ? "" : from);
    if (move_to(back) == 0)
        (void)rmdir(joined); /* EBUSY while another natrig (or a watchdog) is in it */
    joined[0] = 0;
}

static void leave_at_exit(void)
{
    nt_cpugroup_leave();
}

const char *nt_cpugroup_path(void)
{
    return joined[0] ? joined : NULL;
}

int nt_cpugroup_join(int nice, char *why, size_t whylen)
{
    char dir[96], path[128], w[24];

    if (joined[0])
        return 0;
    if (locate(why, whylen) != 0)
        return -1;
    snprintf(dir, sizeof dir, "%s/" GROUP, base);
    if (v2) {
        char ctl[256] = "";
        snprintf(path, sizeof path, "%s/cgroup.subtree_control", base);
        if (read_file(path, ctl, sizeof ctl) == 0 && !has_word(ctl, "cpu") &&
            write_file(path, "+cpu") != 0) {
            snprintf(why, whylen, "enabling cpu in %s: %s", path, strerror(errno));
            return -1;
        }
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(why, whylen, "mkdir %s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", dir, v2 ? "cpu.weight" : "cpu.shares");
    snprintf(w, sizeof w, "%u", v2 ? nt_nice_weight_v2(nice) : nt_nice_weight(nice));
    if (write_file(path, w) != 0) {
        snprintf(why, whylen, "writing %s to %s: %s", w, path, strerror(errno));
        (void)rmdir(dir);
        return -1;
    }
    if (move_to(dir) != 0) {
        snprintf(why, whylen, "moving into %s: %s", dir, strerror(errno));
        (void)rmdir(dir);
        return -1;
    }
    snprintf(joined, sizeof joined, "%s", dir);
    if (!registered) {
        registered = 1;
        atexit(leave_at_exit);
    }
    return 0;
}
