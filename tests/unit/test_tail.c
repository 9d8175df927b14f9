/* test_tail.c - TAP tests for base/tail (files followed as they grow, woken by inotify) on
 * files in a temporary directory: growth, a partial line, the writer's rotation (rename,
 * a new file under the name) and a file cut short in place, as the engine's json-file
 * driver does them. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "base/tail.h"
#include "tap.h"

static char dir[64], path[128];

static void append(const char *p, const char *s)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
        abort();
    close(fd);
}

/* Everything tail_peek gives now, taken whole; returns it (static). */
static const char *take_all(struct tail_set *ts, int id, int *finals)
{
    static char got[4096];
    size_t n = 0;
    char buf[16];
    int final;
    ssize_t r;
    struct nt_err err = {0};

    *finals = 0;
    while ((r = tail_peek(ts, id, buf, sizeof buf, &final, &err)) > 0) {
        memcpy(got + n, buf, (size_t)r);
        n += (size_t)r;
        *finals += final;
        tail_advance(ts, id, (size_t)r);
    }
    got[n] = 0;
    return got;
}

int main(void)
{
    struct nt_err err = {0};
    struct tail_set *ts = tail_set_new(&err);
    struct tail_info ti;
    char rotated[160], buf[64];
    int id, finals, final;

    snprintf(dir, sizeof dir, "/tmp/natrig-tail-XXXXXX");
    if (!ts || !mkdtemp(dir)) {
        ok(0, "a tail set and a temporary directory (%s)", err.msg);
        return tap_done();
    }
    snprintf(path, sizeof path, "%s/c-json.log", dir);
    snprintf(rotated, sizeof rotated, "%s.1", path);

    is_int(tail_add(ts, path, &err), -1, "a missing file is refused");
    ok(strstr(err.msg, "c-json.log") != NULL, "the refusal names the file: %s", err.msg);
    append(path, "one\n");
    id = tail_add(ts, path, &err);
    ok(id >= 0, "an existing file is followed (%s)", err.msg);
    is_int(tail_count(ts), 1, "one file followed");
    ok(tail_ready(ts, id), "what it holds already is ready");
    is_str(take_all(ts, id, &finals), "one\n", "its first bytes");
    ok(!tail_ready(ts, id), "read to its end: not ready");
    is_int(tail_collect(ts), 0, "no event since");
    is_int(tail_wait(ts, 20), 0, "a wait without a write times out");

    append(path, "two\nthr");
    is_int(tail_wait(ts, 1000), 1, "a write wakes the wait");
    is_int(tail_collect(ts), 1, "the write's event marks the file ready");
    is_int(tail_next_ready(ts, 0), id, "next_ready finds it");
    is_int(tail_peek(ts, id, buf, sizeof buf, &final, &err), 7, "the new bytes, partial line too");
    tail_advance(ts, id, 4); /* the reader takes whole lines only */
    ok(!tail_ready(ts, id), "a short read leaves it not ready, though 'thr' is left");
    append(path, "ee\n");
    tail_collect(ts);
    is_str(take_all(ts, id, &finals), "three\n", "the partial line, whole once written");

    /* the engine's rotation: the file renamed away, a new one under its name */
    append(path, "last of the old\n");
    if (rename(path, rotated) != 0)
        abort();
    append(path, "first of the new\n");
    tail_collect(ts);
    ok(tail_ready(ts, id), "the successor's creation marks it ready");
    is_str(take_all(ts, id, &finals), "last of the old\nfirst of the new\n",
           "the old file to its end, then the new one from its start");
    tail_info(ts, id, &ti);
    is_int(ti.rotations, 1, "one rotation counted");
    is_int(ti.offset, strlen("first of the new\n"), "the offset is the new file's");

    /* renamed away, no successor yet: nothing, until it is made */
    if (rename(path, rotated) != 0)
        abort();
    is_str(take_all(ts, id, &finals), "", "between the rename and the successor: nothing");
    append(path, "late\n");
    tail_collect(ts);
    is_str(take_all(ts, id, &finals), "late\n", "the successor, once made");

    /* a reader two rotations behind: each file still there is read, in order */
    {
        char rotated2[170];
        snprintf(rotated2, sizeof rotated2, "%s.2", path);
        append(path, "a\n");
        if (rename(path, rotated) != 0)
            abort();
        append(path, "b\n");
        if (rename(rotated, rotated2) != 0 || rename(path, rotated) != 0)
            abort();
        append(path, "c\n");
        tail_collect(ts);
        is_str(take_all(ts, id, &finals), "a\nb\nc\n", "two rotations behind: a, b, c in order");
        tail_info(ts, id, &ti);
        ok(ti.rotations == 4 && ti.lost == 0, "two more rotations, nothing lost (%u, %u)",
           ti.rotations, ti.lost);
        unlink(rotated2);
    }

    /* a short read at the end of a file rotated since: its successor is read next although
     * the events that named it were taken before */
    append(path, "d\n");
    tail_collect(ts);
    if (rename(path, rotated) != 0)
        abort();
    append(path, "e\n");
    tail_collect(ts);
    ok(tail_peek(ts, id, buf, sizeof buf, &final, &err) == 2 && tail_ready(ts, id),
       "the old file's last bytes leave it ready");
    tail_advance(ts, id, 2);
    is_str(take_all(ts, id, &finals), "e\n", "then its successor");

    /* cut short in place (max-file 1): seen when the file is shorter than what was read */
    append(path, "a longer line\n");
    take_all(ts, id, &finals);
    if (truncate(path, 0) != 0)
        abort();
    append(path, "x\n");
    tail_collect(ts);
    is_str(take_all(ts, id, &finals), "x\n", "a file cut short is read again from its start");
    tail_info(ts, id, &ti);
    is_int(ti.truncations, 1, "one truncation counted");

    /* two files in one directory: each one's events are its own */
    {
        char p2[160];
        int id2;
        snprintf(p2, sizeof p2, "%s/d-json.log", dir);
        append(p2, "");
        id2 = tail_add(ts, p2, &err);
        take_all(ts, id2, &finals);
        append(p2, "d\n");
        tail_collect(ts);
        ok(tail_ready(ts, id2) && !tail_ready(ts, id), "a write to one marks only that one");
        tail_remove(ts, id2);
        unlink(p2);
    }
    /* a file rotated before the reader came: read first, then the file under the name */
    {
        char p3[160], p3r[170];
        int id3;
        snprintf(p3, sizeof p3, "%s/e-json.log", dir);
        snprintf(p3r, sizeof p3r, "%s.1", p3);
        append(p3r, "rotated before\n");
        append(p3, "after\n");
        id3 = tail_add(ts, p3, &err);
        is_str(take_all(ts, id3, &finals), "rotated before\nafter\n",
               "a file rotated before the reader came is read first");
        tail_remove(ts, id3);
        unlink(p3);
        unlink(p3r);
    }
    tail_remove(ts, id);
    is_int(tail_count(ts), 0, "removed");
    is_int(tail_peek(ts, id, buf, sizeof buf, &final, &err), -1, "a removed file is no more read");
    tail_set_free(ts);
    unlink(path);
    unlink(rotated);
    rmdir(dir);
    return tap_done();
}
