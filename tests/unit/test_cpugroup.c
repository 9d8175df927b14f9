/* test_cpugroup.c - TAP tests for base/cpugroup: the kernel's nice weights (v1 shares and
 * v2 weight), and, as root where the cpu controller is, joining natrig's CPU cgroup (the
 * process is in it, its weight is the nice's) and leaving it (back where it came from, the
 * group removed when nobody else is in it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cpugroup.h"
#include "tap.h"

static int slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n;

    if (!f)
        return -1;
    n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    fclose(f);
    return 0;
}

int main(void)
{
    char why[256] = "", buf[4096], before[4096], path[160];
    struct stat st;
    const char *g;

    ok(nt_nice_weight(0) == 1024, "nice 0 weighs 1024");
    ok(nt_nice_weight(-20) == 88761 && nt_nice_weight(19) == 15, "the ends of the kernel's table");
    ok(nt_nice_weight(-30) == 88761 && nt_nice_weight(30) == 15, "out of range is clamped");
    ok(nt_nice_weight_v2(0) == 100 && nt_nice_weight_v2(-20) == 8668 && nt_nice_weight_v2(19) == 1,
       "cgroup v2 weight: 100 at nice 0, 8668 at -20, 1 at 19");
    ok(nt_cpugroup_path() == NULL, "not in natrig's group before joining");

    if (geteuid() != 0 || stat("/sys/fs/cgroup/cpu/cpu.shares", &st) != 0) {
        int r = nt_cpugroup_join(-20, why, sizeof why);
        ok(r == 0 || why[0] != 0,
           "without root or a v1 cpu controller: joined, or refused with a "
           "reason (%s)",
           r == 0 ? "joined" : why);
        nt_cpugroup_leave();
        return tap_done();
    }
    slurp("/proc/self/cgroup", before, sizeof before);
    ok(nt_cpugroup_join(-20, why, sizeof why) == 0, "root joins natrig's CPU cgroup%s%s",
       why[0] ? ": " : "", why);
    g = nt_cpugroup_path();
    ok(g && strcmp(g, "/sys/fs/cgroup/cpu/natrig") == 0, "its path: %s", g ? g : "(none)");
    slurp("/proc/self/cgroup", buf, sizeof buf);
    ok(strstr(buf, ":cpu:/natrig\n") != NULL || strstr(buf, ",cpu:/natrig\n") != NULL ||
           strstr(buf, ":cpu,cpuacct:/natrig\n") != NULL,
       "/proc/self/cgroup says the process is in it");
    snprintf(path, sizeof path, "%s/cpu.shares", g ? g : "/nonexistent");
    slurp(path, buf, sizeof buf);
    ok(strcmp(buf, "88761\n") == 0, "its cpu.shares are nice -20's weight: %.*s",
       (int)strcspn(buf, "\n"), buf);
    ok(nt_cpugroup_join(-20, why, sizeof why) == 0, "joining again is a no-op");
    nt_cpugroup_leave();
    ok(nt_cpugroup_path() == NULL, "left");
    slurp("/proc/self/cgroup", buf, sizeof buf);
    ok(strcmp(buf, before) == 0, "back in the cgroup it came from");
    snprintf(path, sizeof path, "/sys/fs/cgroup/cpu/natrig/cgroup.procs");
    if (slurp(path, buf, sizeof buf) == 0)
        ok(buf[0] != 0, "the group stays only while other processes are in it (%s)", buf);
    else
        ok(1, "the group is removed once nobody is in it");
    return tap_done();
}
