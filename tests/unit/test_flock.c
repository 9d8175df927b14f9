/* test_flock.c - TAP tests for base/flock: shared locks coexist, an exclusive one excludes
 * both kinds (EWOULDBLOCK, no wait), closing releases, a missing directory is an error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/flock.h"
#include "tap.h"

int main(void)
{
    char dir[] = "/tmp/nt-flock-XXXXXX", path[64], missing[80];
    int a, b, x, y;

    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/lock", dir);
    snprintf(missing, sizeof missing, "%s/nodir/lock", dir);

    a = nt_flock_try(path, 0);
    ok(a >= 0, "a shared lock on a new file (created)");
    b = nt_flock_try(path, 0);
    ok(b >= 0, "a second shared lock beside the first");
    x = nt_flock_try(path, 1);
    ok(x < 0 && errno == EWOULDBLOCK, "exclusive is refused at once while shared ones are held");
    close(a);
    x = nt_flock_try(path, 1);
    ok(x < 0 && errno == EWOULDBLOCK, "still refused while one shared lock is left");
    close(b);
    x = nt_flock_try(path, 1);
    ok(x >= 0, "exclusive once every shared lock is closed");
    a = nt_flock_try(path, 0);
    ok(a < 0 && errno == EWOULDBLOCK, "shared is refused while the exclusive one is held");
    y = nt_flock_try(path, 1);
    ok(y < 0 && errno == EWOULDBLOCK, "a second exclusive is refused");
    close(x);
    a = nt_flock_try(path, 0);
    ok(a >= 0, "shared again after the exclusive one is closed");
    close(a);
    ok(nt_flock_try(missing, 0) < 0 && errno == ENOENT, "a missing directory: -1, ENOENT");
    unlink(path);
    rmdir(dir);
    return tap_done();
}
