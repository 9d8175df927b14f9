/* cpugroup.h - natrig's own CPU cgroup: a weight for natrig alone, outside its session.
 *
 * Where the kernel groups a session's processes (sched_autogroup_enabled), a process's nice
 * only orders it within its session, and the session weighs as one nice-0 entity against
 * dockerd and the containers: natrig at nice -20 still waited 39 of 59 s for a CPU under a
 * 100-node log flood (issue 30). Raising the session's autogroup instead would raise every
 * program of the user's shell (a compile, `make test`'s fuzz lane) over the engine, and
 * would outlive a SIGKILLed natrig. A cgroup of natrig's own ("natrig" under the cpu
 * controller, cgroup v1 or v2) carries the weight of the nice asked for; processes in a
 * cgroup other than the root are not grouped by session. Programs natrig starts inherit it,
 * as they inherit its nice. */
#ifndef NT_CPUGROUP_H
#define NT_CPUGROUP_H
#include <stddef.h>

/* The scheduler's weight of a nice value (-20..19; the kernel's sched_prio_to_weight:
 * 1024 at 0, about 1.25 times more a step down), as cgroup v1's cpu.shares. */
unsigned nt_nice_weight(int nice);

/* The same as cgroup v2's cpu.weight (1..10000; 100 is nice 0's 1024 shares). */
unsigned nt_nice_weight_v2(int nice);

/* Move this process into natrig's CPU cgroup, weighted as nice (created when missing; its
 * weight set each time: the last natrig to join decides, as they all ask the same by
 * default). Returns 0, or -1 with why filled in (no cpu controller here, not root, ...).
 * The process goes back to the cgroup it came from at exit, and the group is removed once
 * no process is left in it (a SIGKILLed natrig leaves it empty, reused by the next). */
int nt_cpugroup_join(int nice, char *why, size_t whylen);

/* The path of natrig's CPU cgroup this process is in, or NULL when it has not joined. */
const char *nt_cpugroup_path(void);

/* Leave natrig's CPU cgroup now (what exit does): back to the cgroup the process came
 * from, then remove the group if it is empty. */
void nt_cpugroup_leave(void);
#endif
