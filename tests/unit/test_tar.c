/* test_tar.c - TAP tests for engine/tar: archives built with tar_add_* are read back with
 * libarchive's reader and compared, member by member, with a table of what was added
 * (name, type, mode, size, content, symlink target, mtime 0, owner 0). Also: escaping
 * paths are refused and leave the archive byte-for-byte as if never tried, the same
 * inputs give the same bytes, host files, and the output size limit (NT_LIMIT). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "engine/tar.h"
#include "tap.h"

enum kind { K_DATA, K_DIR, K_LINK, K_FILE };

struct member {
    enum kind kind;
    const char *path; /* as given to tar_add_* */
    const char *name; /* expected name in the archive (directories end in /) */
    const char *data; /* K_DATA content / K_LINK target / K_FILE host content */
    size_t len;
    int mode;      /* as given; -1: default */
    int want_mode; /* expected permission bits */
};

#define S(lit) lit, sizeof(lit) - 1

static const struct member members[] = {
    {K_DIR, "etc/natrig", "etc/natrig/", NULL, 0, 0755, 0755},
    {K_DATA, "etc/natrig/x.conf", "etc/natrig/x.conf", S("hello\n"), 0640, 0640},
    {K_DATA, "/bin/run.sh", "bin/run.sh", S("#!/bin/sh\necho hi\n"), 0755, 0755},
    {K_DATA, "./a//b/./c.txt", "a/b/c.txt", S("normalised"), 0600, 0600},
    {K_DATA, "default-mode", "default-mode", S("x"), -1, 0644},
    {K_DATA, "setuid", "setuid", S("s"), 04755, 04755},
    {K_DATA, "type-bits-dropped", "type-bits-dropped", S("t"), 0100644, 0644},
    {K_DATA, "empty", "empty", S(""), 0644, 0644},
    {K_DATA, "binary", "binary", S("\0\1\2\377\0zz\0"), 0644, 0644},
    {K_DIR, "/var/lib/natrig/", "var/lib/natrig/", NULL, 0, -1, 0755},
    {K_DIR, "private", "private/", NULL, 0, 0700, 0700},
    {K_LINK, "etc/link", "etc/link", S("natrig/x.conf"), -1, 0777},
    {K_LINK, "abs-link", "abs-link", S("/usr/bin/env"), -1, 0777},
    {K_LINK, "up-link", "up-link", S("../outside"), -1, 0777},
    {K_FILE, "host/file", "host/file", S("from the host\n"), 0700, 0700},
    {K_FILE, "host/keep-mode", "host/keep-mode", S("mode kept"), -1, 0604},
    {K_DATA,
     "a-name-that-is-longer-than-one-hundred-bytes/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/file",
     "a-name-that-is-longer-than-one-hundred-bytes/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"
     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/file",
     S("long"), 0644, 0644},
};
#define NMEMBERS (sizeof members / sizeof members[0])

static char tmpdir[256];

static int write_host_file(const char *name, const char *data, size_t len, int mode, char *out,
                           size_t cap)
{
    FILE *f;
    snprintf(out, cap, "%s/%s", tmpdir, name);
    f = fopen(out, "wb");
    if (!f)
        return -1;
    fwrite(data, 1, len, f);
    fclose(f);
    return chmod(out, (mode_t)mode);
}

/* Add members[i]. Returns tar_add_*'s result. */
static int add_member(struct tar *t, size_t i, struct nt_err *err)
{
    const struct member *m = &members[i];
    char host[512], hname[32];

    switch (m->kind) {
    case K_DATA:
        return tar_add_data(t, m->path, m->data, m->len, m->mode, err);
    case K_DIR:
        return tar_add_dir(t, m->path, m->mode, err);
    case K_LINK:
        return tar_add_symlink(t, m->path, m->data, err);
    case K_FILE:
        snprintf(hname, sizeof hname, "host%zu", i);
        if (write_host_file(hname, m->data, m->len, m->mode < 0 ? m->want_mode : 0644, host,
                            sizeof host))
            return -1;
        return tar_add_file(t, m->path, host, m->mode, err);
    }
    return -1;
}

/* Build the archive of all members, optionally trying bad adds in between. */
static int build(struct buf *out, int with_bad_adds, struct nt_err *err)
{
    struct tar *t = tar_new(0);
    int rc = 0;
    buf_init(out, 0);
    for (size_t i = 0; i < NMEMBERS && rc == 0; i++) {
        rc = add_member(t, i, err);
        if (rc == 0 && with_bad_adds) {
            struct nt_err e2;
            char host[512];
            write_host_file("bad", "x", 1, 0644, host, sizeof host);
            if (tar_add_data(t, "../escape", "x", 1, 0644, &e2) != -1 ||
                tar_add_dir(t, "a/../..", 0755, &e2) != -1 ||
                tar_add_symlink(t, "/../x", "y", &e2) != -1 ||
                tar_add_file(t, "..", host, 0644, &e2) != -1 ||
                tar_add_data(t, "", "x", 1, 0644, &e2) != -1 ||
                tar_add_file(t, "ok-path", "/nonexistent/natrig/file", 0644, &e2) != -1)
                rc = -2;
        }
    }
    if (rc == 0)
        rc = tar_finish(t, out, err);
    tar_free(t);
    return rc;
}

struct read_member {
    char name[512];
    int type, perm;
    long long size, mtime, uid, gid;
    int mtime_set;
    char *data;
    size_t len;
    char link[256];
};

/* Read every member of a tar in memory. Returns the count, or -1. */
static int read_back(const struct buf *tarb, struct read_member *rm, int max)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    int n = 0;

    archive_read_support_format_tar(a);
    if (archive_read_open_memory(a, tarb->data, tarb->len) != ARCHIVE_OK) {
        printf("# read_open: %s\n", archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    while (n < max) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK) {
            printf("# next_header: %s\n", archive_error_string(a));
            n = -1;
            break;
        }
        struct read_member *m = &rm[n++];
        memset(m, 0, sizeof *m);
        snprintf(m->name, sizeof m->name, "%s", archive_entry_pathname(e));
        m->type = (int)archive_entry_filetype(e);
        m->perm = (int)archive_entry_perm(e);
        m->size = (long long)archive_entry_size(e);
        m->mtime = (long long)archive_entry_mtime(e);
        m->mtime_set = archive_entry_mtime_is_set(e);
        m->uid = (long long)archive_entry_uid(e);
        m->gid = (long long)archive_entry_gid(e);
        if (archive_entry_symlink(e))
            snprintf(m->link, sizeof m->link, "%s", archive_entry_symlink(e));
        m->data = malloc((size_t)m->size + 1);
        la_ssize_t got = archive_read_data(a, m->data, (size_t)m->size);
        m->len = got > 0 ? (size_t)got : 0;
    }
    archive_read_free(a);
    return n;
}

static void free_read(struct read_member *rm, int n)
{
    for (int i = 0; i < n; i++)
        free(rm[i].data);
}

static void check_roundtrip(void)
{
    struct buf b;
    struct nt_err err;
    struct read_member rm[64];

    memset(&err, 0, sizeof err);
    int rc = build(&b, 0, &err);
    is_int(rc, 0, "build all members%s%s", rc ? ": " : "", err.msg);
    if (rc)
        return;
    ok(b.len > 0 && b.len % 512 == 0, "archive size %zu is a multiple of 512", b.len);
    int n = read_back(&b, rm, 64);
    is_int(n, (int)NMEMBERS, "read back %zu members", NMEMBERS);
    for (size_t i = 0; i < NMEMBERS && (int)i < n; i++) {
        const struct member *m = &members[i];
        const struct read_member *r = &rm[i];
        int want_type = m->kind == K_DIR ? AE_IFDIR : m->kind == K_LINK ? AE_IFLNK : AE_IFREG;
        is_str(r->name, m->name, "member %zu: name %s", i, m->name);
        is_int(r->type, want_type, "member %zu (%s): type", i, m->name);
        is_int(r->perm, m->want_mode, "member %zu (%s): mode %04o", i, m->name, m->want_mode);
        ok(r->mtime == 0 && r->uid == 0 && r->gid == 0,
           "member %zu (%s): mtime %lld uid %lld gid %lld are 0", i, m->name, r->mtime, r->uid,
           r->gid);
        if (m->kind == K_DATA || m->kind == K_FILE) {
            ok(r->size == (long long)m->len && r->len == m->len &&
                   (m->len == 0 || memcmp(r->data, m->data, m->len) == 0),
               "member %zu (%s): %zu content bytes", i, m->name, m->len);
        } else if (m->kind == K_LINK) {
            is_str(r->link, m->data, "member %zu (%s): symlink target", i, m->name);
            is_int(r->size, 0, "member %zu (%s): symlink size 0", i, m->name);
        } else {
            is_int(r->size, 0, "member %zu (%s): dir size 0", i, m->name);
        }
    }
    free_read(rm, n);
    buf_free(&b);
}

static void check_refused_and_determinism(void)
{
    struct buf a, b, c;
    struct nt_err err;

    memset(&err, 0, sizeof err);
    int ra = build(&a, 0, &err);
    int rb = build(&b, 0, &err);
    int rc = build(&c, 1, &err);
    is_int(rc, 0, "bad adds in between are each refused (rc %d)", rc);
    ok(ra == 0 && rb == 0 && a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
       "same inputs give identical bytes (%zu)", a.len);
    ok(ra == 0 && rc == 0 && a.len == c.len && memcmp(a.data, c.data, a.len) == 0,
       "refused adds write nothing: bytes identical to a build without them");
    buf_free(&a);
    buf_free(&b);
    buf_free(&c);

    /* One byte of content changed changes the archive. */
    {
        struct tar *t1 = tar_new(0), *t2 = tar_new(0);
        struct buf x, y;
        tar_add_data(t1, "f", "abc", 3, 0644, NULL);
        tar_add_data(t2, "f", "abd", 3, 0644, NULL);
        tar_finish(t1, &x, NULL);
        tar_finish(t2, &y, NULL);
        ok(x.len == y.len && memcmp(x.data, y.data, x.len) != 0,
           "different content, different bytes");
        buf_free(&x);
        buf_free(&y);
        tar_free(t1);
        tar_free(t2);
    }

    /* Refusals name the path and the code. */
    struct {
        const char *what;
        int kind;
        const char *path;
        enum nt_err_code code;
    } bad[] = {
        {"data '../escape'", K_DATA, "../escape", NT_EINVAL},
        {"data 'a/..'", K_DATA, "a/..", NT_EINVAL},
        {"data ''", K_DATA, "", NT_EINVAL},
        {"data '/'", K_DATA, "/", NT_EINVAL},
        {"dir '/../etc'", K_DIR, "/../etc", NT_EINVAL},
        {"dir '.'", K_DIR, ".", NT_EINVAL},
        {"symlink 'x/../..'", K_LINK, "x/../..", NT_EINVAL},
        {"file '..'", K_FILE, "..", NT_EINVAL},
    };
    char host[512];
    write_host_file("refuse", "x", 1, 0644, host, sizeof host);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tar *t = tar_new(0);
        int r = -1;
        memset(&err, 0, sizeof err);
        switch (bad[i].kind) {
        case K_DATA:
            r = tar_add_data(t, bad[i].path, "x", 1, 0644, &err);
            break;
        case K_DIR:
            r = tar_add_dir(t, bad[i].path, 0755, &err);
            break;
        case K_LINK:
            r = tar_add_symlink(t, bad[i].path, "target", &err);
            break;
        case K_FILE:
            r = tar_add_file(t, bad[i].path, host, 0644, &err);
            break;
        }
        is_int(r, -1, "%s refused", bad[i].what);
        is_int(err.code, bad[i].code, "%s: code %s (%s)", bad[i].what,
               nt_err_code_name(bad[i].code), err.msg);
        /* and the archive is still empty */
        struct buf o;
        struct read_member rm[4];
        if (tar_finish(t, &o, NULL) == 0) {
            int n = read_back(&o, rm, 4);
            ok(n == 0, "%s: archive holds no member (%d)", bad[i].what, n);
            free_read(rm, n > 0 ? n : 0);
            buf_free(&o);
        } else {
            ok(0, "%s: finish after refusal", bad[i].what);
        }
        tar_free(t);
    }
}

static void check_host_files(void)
{
    struct tar *t = tar_new(0);
    struct nt_err err;

    memset(&err, 0, sizeof err);
    is_int(tar_add_file(t, "x", "/nonexistent/natrig/file", 0644, &err), -1,
           "missing host file refused");
    is_int(err.code, NT_SYS, "missing host file: code sys (%s)", err.msg);
    memset(&err, 0, sizeof err);
    is_int(tar_add_file(t, "x", tmpdir, 0644, &err), -1, "host directory refused");
    is_int(err.code, NT_EINVAL, "host directory: code einval (%s)", err.msg);
    tar_free(t);

    /* A host file larger than the 64 KiB read chunk. */
    {
        size_t n = 200000;
        char *big = malloc(n), host[512];
        struct buf o;
        struct read_member rm[2];
        for (size_t i = 0; i < n; i++)
            big[i] = (char)(i * 31 + 7);
        write_host_file("big", big, n, 0640, host, sizeof host);
        t = tar_new(0);
        int r = tar_add_file(t, "big", host, -1, &err);
        is_int(r, 0, "200000-byte host file added");
        r = r || tar_finish(t, &o, &err);
        int got = r ? -1 : read_back(&o, rm, 2);
        ok(got == 1 && rm[0].len == n && memcmp(rm[0].data, big, n) == 0 && rm[0].perm == 0640,
           "200000-byte host file read back whole, mode 0640 kept");
        if (got > 0)
            free_read(rm, got);
        if (r == 0)
            buf_free(&o);
        tar_free(t);
        free(big);
    }

    /* A host symlink is followed. */
    {
        char host[512], link[512];
        struct buf o;
        struct read_member rm[2];
        write_host_file("target", "via link", 8, 0644, host, sizeof host);
        snprintf(link, sizeof link, "%s/link", tmpdir);
        if (symlink(host, link) != 0)
            printf("# symlink: failed\n");
        t = tar_new(0);
        int r = tar_add_file(t, "l", link, -1, &err);
        r = r || tar_finish(t, &o, &err);
        int got = r ? -1 : read_back(&o, rm, 2);
        ok(got == 1 && rm[0].type == AE_IFREG && rm[0].len == 8 &&
               memcmp(rm[0].data, "via link", 8) == 0,
           "a host symlink is followed to a regular file");
        if (got > 0)
            free_read(rm, got);
        if (r == 0)
            buf_free(&o);
        tar_free(t);
        unlink(link);
    }
}

/* Non-ASCII (UTF-8) member names and link targets, in the process's default "C" locale
 * (natrig never calls setlocale). tarpath accepts them, so the tar must hold them. A
 * refused add must not leave a member behind either. */
static void check_utf8_names(void)
{
    static const struct {
        const char *what;
        enum kind kind;
        const char *path, *target;
    } rows[] = {
        {"data named caf\xc3\xa9.txt", K_DATA, "caf\xc3\xa9.txt", NULL},
        {"dir named \xe6\x97\xa5\xe6\x9c\xac", K_DIR, "\xe6\x97\xa5\xe6\x9c\xac", NULL},
        {"symlink to caf\xc3\xa9", K_LINK, "l", "caf\xc3\xa9"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct tar *t = tar_new(0);
        struct nt_err err;
        struct buf o;
        struct read_member rm[4];
        int r;

        memset(&err, 0, sizeof err);
        buf_init(&o, 0);
        if (rows[i].kind == K_DATA)
            r = tar_add_data(t, rows[i].path, "hello", 5, 0644, &err);
        else if (rows[i].kind == K_DIR)
            r = tar_add_dir(t, rows[i].path, 0755, &err);
        else
            r = tar_add_symlink(t, rows[i].path, rows[i].target, &err);
        is_int(r, 0, "%s: added%s%s", rows[i].what, r ? ": " : "", err.msg);
        /* Whatever tar_add_* said, go on like a caller that recovers from the error. */
        int f = tar_add_data(t, "next", "world", 5, 0644, NULL);
        f = f || tar_finish(t, &o, NULL);
        int n = f ? -1 : read_back(&o, rm, 4);
        if (r == 0) {
            char want[64];
            snprintf(want, sizeof want, "%s%s", rows[i].path, rows[i].kind == K_DIR ? "/" : "");
            ok(n == 2 && strcmp(rm[0].name, want) == 0 &&
                   (rows[i].kind != K_LINK || strcmp(rm[0].link, rows[i].target) == 0) &&
                   (rows[i].kind != K_DATA || (rm[0].len == 5 && !memcmp(rm[0].data, "hello", 5))),
               "%s: read back", rows[i].what);
        } else {
            ok(n == 1 && strcmp(rm[0].name, "next") == 0,
               "%s: the refused add left no member behind (%d members, first '%s')", rows[i].what,
               n, n > 0 ? rm[0].name : "");
        }
        if (n > 0)
            free_read(rm, n);
        buf_free(&o);
        tar_free(t);
    }
}

static void check_limit(void)
{
    struct nt_err err;
    struct buf o;

    /* Large content into a small archive: refused while adding. */
    {
        size_t n = 100000;
        char *big = calloc(1, n);
        struct tar *t = tar_new(4096);
        memset(&err, 0, sizeof err);
        int r = tar_add_data(t, "big", big, n, 0644, &err);
        if (r == 0)
            r = tar_finish(t, &o, &err);
        is_int(r, -1, "100000 bytes into a 4096-byte tar refused");
        is_int(err.code, NT_LIMIT, "over the limit while adding: code limit (%s)", err.msg);
        ok(strstr(err.msg, "4096") != NULL, "limit message names the size");
        tar_free(t);
        free(big);
    }
    /* Small content that only overflows when the archive is closed. */
    {
        struct tar *t = tar_new(1024);
        memset(&err, 0, sizeof err);
        int r = tar_add_data(t, "small", "0123456789", 10, 0644, &err);
        int f = r == 0 ? tar_finish(t, &o, &err) : -1;
        ok(r == -1 || f == -1, "a 1024-byte limit cannot hold header, data and end blocks");
        is_int(err.code, NT_LIMIT, "over the limit at finish: code limit (%s)", err.msg);
        tar_free(t);
    }
    /* The same archive with room to spare succeeds; exactly its size too. */
    {
        struct tar *t = tar_new(0);
        size_t need;
        tar_add_data(t, "small", "0123456789", 10, 0644, NULL);
        tar_finish(t, &o, NULL);
        need = o.len;
        buf_free(&o);
        tar_free(t);

        t = tar_new(need);
        memset(&err, 0, sizeof err);
        int r = tar_add_data(t, "small", "0123456789", 10, 0644, &err);
        r = r || tar_finish(t, &o, &err);
        is_int(r, 0, "a limit of exactly the archive size (%zu) is enough%s%s", need, r ? ": " : "",
               err.msg);
        if (r == 0)
            buf_free(&o);
        tar_free(t);

        t = tar_new(need - 1);
        memset(&err, 0, sizeof err);
        r = tar_add_data(t, "small", "0123456789", 10, 0644, &err);
        r = r || tar_finish(t, &o, &err);
        ok(r != 0 && err.code == NT_LIMIT, "one byte less (%zu) is NT_LIMIT", need - 1);
        if (r == 0)
            buf_free(&o);
        tar_free(t);
    }
    /* tar_free(NULL) in a child: a crash there is a failing exit status here. */
    {
        int status = -1;
        pid_t pid = fork();
        if (pid == 0) {
            tar_free(NULL);
            _exit(0);
        }
        ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
               WEXITSTATUS(status) == 0,
           "tar_free(NULL) is safe (child exit status %d)", status);
    }
    /* Freeing a builder that was never finished gives back everything it held (glibc's
     * count of bytes in use; ASan's leak check covers it too). One round first, so that
     * libarchive's one-time set-up is not counted. */
    {
        size_t before = 0, after = 0;
        int added = 0;
        for (int round = 0; round < 2; round++) {
            before = mallinfo2().uordblks;
            struct tar *t = tar_new(0);
            added = tar_add_data(t, "x", "y", 1, 0644, NULL) == 0;
            tar_free(t);
            after = mallinfo2().uordblks;
        }
        ok(added && after == before, "tar_free of an unfinished builder frees it all (%zu -> %zu)",
           before, after);
    }
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    setvbuf(stdout, NULL, _IONBF, 0); /* keep TAP lines before a crash */
    snprintf(tmpdir, sizeof tmpdir, "%s/natrig-test-tar-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! mkdtemp %s failed\n", tmpdir);
        return 1;
    }
    check_roundtrip();
    check_refused_and_determinism();
    check_host_files();
    check_utf8_names();
    check_limit();
    {
        DIR *d = opendir(tmpdir);
        struct dirent *de;
        char path[600];
        while (d && (de = readdir(d)))
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
                snprintf(path, sizeof path, "%s/%s", tmpdir, de->d_name);
                unlink(path);
            }
        if (d)
            closedir(d);
        if (rmdir(tmpdir) != 0)
            printf("# could not remove %s\n", tmpdir);
    }
    return tap_done();
}
