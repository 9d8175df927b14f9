/* flock.c - try-once advisory locks on a file (callers wait with their own deadline). */
#include "base/flock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

int nt_flock_try(const char *path, int exclusive)
{
    /* read-only: another user's lock file (0644) can still be locked */
    int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    int rc;

    if (fd < 0)
        return -1;
    do
        rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
