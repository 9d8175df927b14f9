/* tail.c - files followed as they grow, woken by inotify (see tail.h). Uses base/sig for
 * the interrupt flag and base/xalloc. */
#include "base/tail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sig.h"
#include "base/xalloc.h"

/* The directory: writes to the file, and a successor made under its name. (A one-shot
 * watch on the file, armed again at its end, lost wakeups under a fast writer: a reader
 * stopped 19 MB short of a finished file; one event a write it is.) */
#define DIR_MASK (IN_MODIFY | IN_CREATE | IN_MOVED_TO)
struct tail {
    int used, fd, wd, ready; /* wd: the directory's watch */
    char *path;
    const char *base; /* the file's name in its directory (inotify's events name it) */
    dev_t dev;
    ino_t ino;
    uint64_t off, taken;
    unsigned rotations, truncations, lost;
};

struct tail_set {
    int fd;
    struct tail *t;
    int n, cap, count;
};

struct tail_set *tail_set_new(struct nt_err *err)
{
    struct tail_set *ts;
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

    if (fd < 0) {
        nt_err_set(err, NT_SYS, "log tail", "inotify: %s (raise fs.inotify.max_user_instances)",
                   strerror(errno));
        return NULL;
    }
    ts = xcalloc(1, sizeof *ts);
    ts->fd = fd;
    return ts;
}

static void tail_close(struct tail_set *ts, struct tail *t)
{
    int shared = 0;

    if (t->fd >= 0)
        close(t->fd);
    for (int i = 0; i < ts->n; i++)
        shared |= ts->t[i].used && &ts->t[i] != t && ts->t[i].wd == t->wd;
    if (!shared && t->wd >= 0)
        (void)inotify_rm_watch(ts->fd, t->wd);
    free(t->path);
    memset(t, 0, sizeof *t);
    t->fd = t->wd = -1;
}

void tail_set_free(struct tail_set *ts)
{
    if (!ts)
        return;
    for (int i = 0; i < ts->n; i++)
        if (ts->t[i].used)
            tail_close(ts, &ts->t[i]);
    close(ts->fd);
    free(ts->t);
    free(ts);
}

int tail_set_fd(const struct tail_set *ts)
{
    return ts->fd;
}

int tail_count(const struct tail_set *ts)
{
    return ts->count;
}

static struct tail *get(const struct tail_set *ts, int id)
{
    return id >= 0 && id < ts->n && ts->t[id].used ? &ts->t[id] : NULL;
}

int tail_add(struct tail_set *ts, const char *path, struct nt_err *err)
{
    struct tail *t;
    struct stat sb;
    char *dir;
    const char *slash = strrchr(path, '/');
    int id, fd, wd;

    if (!slash || slash[1] == 0)
        return nt_err_set(err, NT_EINVAL, "log tail", "'%s' is no absolute file path", path);
    /* the oldest file the writer still keeps (<path>.N .. <path>.1) first: what it rotated
     * away before the reader came is read too, then each successor */
    fd = -1;
    for (int k = TAIL_ROTATED_MAX; k >= 1 && fd < 0; k--) {
        char old[PATH_MAX];
        snprintf(old, sizeof old, "%s.%d", path, k);
        fd = open(old, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nt_err_set(err, NT_SYS, "log tail", "open '%s': %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return nt_err_set(err, NT_EINVAL, "log tail", "'%s' is no regular file", path);
    }
    dir = xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
    wd = inotify_add_watch(ts->fd, dir, DIR_MASK);
    if (wd < 0) {
        nt_err_set(err, NT_SYS, "log tail",
                   "inotify on '%s': %s (raise fs.inotify.max_user_watches)", dir, strerror(errno));
        free(dir);
        close(fd);
        return -1;
    }
    free(dir);
    for (id = 0; id < ts->n && ts->t[id].used; id++)
        ;
    if (id == ts->n) {
        if (ts->n == ts->cap) {
            ts->cap = ts->cap ? 2 * ts->cap : 16;
            ts->t = xrealloc(ts->t, (size_t)ts->cap * sizeof *ts->t);
        }
        ts->n++;
    }
    t = &ts->t[id];
    memset(t, 0, sizeof *t);
    t->used = 1;
    t->fd = fd;
    t->wd = wd;
    t->ready = 1; /* what it holds already */
    t->path = xstrdup(path);
    t->base = t->path + (slash - path) + 1;
    t->dev = sb.st_dev;
    t->ino = sb.st_ino;
    ts->count++;
    return id;
}

void tail_remove(struct tail_set *ts, int id)
{
    struct tail *t = get(ts, id);

    if (!t)
        return;
    tail_close(ts, t);
    ts->count--;
}

static void mark_wd(struct tail_set *ts, int wd, const char *name)
{
    for (int i = 0; i < ts->n; i++) {
        struct tail *t = &ts->t[i];
        if (!t->used || t->ready) /* a flood's events find most files ready: no strcmp */
            continue;
        if (wd == -1 || (t->wd == wd && (!name || strcmp(name, t->base) == 0)))
            t->ready = 1;
    }
}

int tail_collect(struct tail_set *ts)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    int ready = 0;

    for (;;) {
        ssize_t r = read(ts->fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (char *p = buf; p < buf + r;) {
            struct inotify_event *ev = (struct inotify_event *)(void *)p;
            if (ev->mask & IN_Q_OVERFLOW)
                mark_wd(ts, -1, NULL);
            else if (!(ev->mask & IN_IGNORED))
                mark_wd(ts, ev->wd, ev->len ? ev->name : NULL);
            p += sizeof *ev + ev->len;
        }
    }
    for (int i = 0; i < ts->n; i++)
        ready += ts->t[i].used && ts->t[i].ready;
    return ready;
}

int tail_wait(struct tail_set *ts, int timeout_ms)
{
    struct pollfd p = {ts->fd, POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);

    if (r < 0)
        return errno == EINTR && nt_should_stop() ? -1 : 0;
    return r > 0;
}

int tail_next_ready(const struct tail_set *ts, int from)
{
    if (ts->n == 0)
        return -1;
    if (from < 0 || from >= ts->n)
        from = 0;
    for (int k = 0; k < ts->n; k++) {
        int i = (from + k) % ts->n;
        if (ts->t[i].used && ts->t[i].ready)
            return i;
    }
    return -1;
}

int tail_ready(const struct tail_set *ts, int id)
{
    const struct tail *t = get(ts, id);
    return t && t->ready;
}

void tail_mark(struct tail_set *ts, int id)
{
    struct tail *t = get(ts, id);
    if (t)
        t->ready = 1;
}

static ssize_t pread_some(int fd, char *buf, size_t cap, uint64_t off)
{
    ssize_t r;

    do
        r = pread(fd, buf, cap, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Whether the file's name now holds another file (rotated away). */
static int renamed(const struct tail *t)
{
    struct stat now;

    return stat(t->path, &now) == 0 && (now.st_dev != t->dev || now.st_ino != t->ino);
}

/* At the end of the open file: was it rotated away (a new file under its name), or cut
 * short? 1: rotated, 2: cut (its offset is reset), 0: neither, -1: error. */
static int moved_on(struct tail *t)
{
    struct stat mine;

    if (fstat(t->fd, &mine) != 0)
        return -1;
    if ((uint64_t)mine.st_size < t->off) {
        t->off = 0;
        t->truncations++;
        return 2;
    }
    return renamed(t); /* not there at all: renamed away, its successor not made yet */
}

/* The file that came after the open one: it was renamed to <path>.k (the driver shifts
 * older files up one at each rotation), so its successor is <path>.(k-1), or <path> itself
 * when k is 1. A reader that fell more than one rotation behind thus reads every file that
 * is still there. Opens it and returns its descriptor, or -1 (then nothing: the name's next
 * event says when there is one). */
static int open_successor(struct tail *t, struct stat *sb)
{
    char name[PATH_MAX];
    int k, fd;

    for (k = 1; k <= TAIL_ROTATED_MAX; k++) {
        struct stat old;
        snprintf(name, sizeof name, "%s.%d", t->path, k);
        if (stat(name, &old) == 0 && old.st_dev == t->dev && old.st_ino == t->ino)
            break;
    }
    if (k > 1 && k <= TAIL_ROTATED_MAX)
        snprintf(name, sizeof name, "%s.%d", t->path, k - 1);
    else
        snprintf(name, sizeof name, "%s", t->path);
    if (k > TAIL_ROTATED_MAX)
        t->lost++; /* its file is gone (removed, compressed): what followed it may be too */
    fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, sb) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Read to its end (end: the offset read up to): not ready until the directory's watch
 * says the file grew, unless it grew already or a rotation since left a successor to read
 * (whose events may be taken already). */
static void arm(struct tail_set *ts, struct tail *t, uint64_t end)
{
    struct stat sb;

    (void)ts;
    t->ready = (fstat(t->fd, &sb) == 0 && (uint64_t)sb.st_size > end) || renamed(t);
}

ssize_t tail_peek(struct tail_set *ts, int id, char *buf, size_t cap, int *final,
                  struct nt_err *err)
{
    struct tail *t = get(ts, id);
    ssize_t r;

    *final = 0;
    if (!t)
        return nt_err_set(err, NT_EINVAL, "log tail", "no file %d is followed", id);
    for (int round = 0; round < TAIL_ROTATED_MAX + 2; round++) {
        int moved, fd;
        struct stat sb;
        r = pread_some(t->fd, buf, cap, t->off);
        if (r < 0)
            return nt_err_set(err, NT_SYS, "log tail", "read '%s': %s", t->path, strerror(errno));
        if (r > 0) {
            /* a short read reached the end (a rotation since leaves the successor to
             * read, whose events may be taken already) */
            if ((size_t)r < cap)
                arm(ts, t, t->off + (uint64_t)r);
            return r;
        }
        moved = moved_on(t);
        if (moved < 0)
            return nt_err_set(err, NT_SYS, "log tail", "stat '%s': %s", t->path, strerror(errno));
        if (moved == 2)
            continue; /* cut short: read again from the start */
        if (moved == 0)
            break;
        /* rotated: its writer closed it before the rename, so what it holds now is all */
        r = pread_some(t->fd, buf, cap, t->off);
        if (r > 0) {
            *final = (size_t)r < cap;
            t->ready = 1;
            return r;
        }
        fd = open_successor(t, &sb);
        if (fd < 0)
            break;
        close(t->fd);
        t->fd = fd;
        t->dev = sb.st_dev;
        t->ino = sb.st_ino;
        t->off = 0;
        t->rotations++;
    }
    arm(ts, t, t->off);
    return 0;
}

void tail_advance(struct tail_set *ts, int id, size_t n)
{
    struct tail *t = get(ts, id);
    if (t) {
        t->off += n;
        t->taken += n;
    }
}

void tail_info(const struct tail_set *ts, int id, struct tail_info *out)
{
    const struct tail *t = get(ts, id);

    memset(out, 0, sizeof *out);
    if (!t)
        return;
    out->offset = t->off;
    out->taken = t->taken;
    out->rotations = t->rotations;
    out->truncations = t->truncations;
    out->lost = t->lost;
}
