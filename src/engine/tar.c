/* tar.c - in-memory tar writer over libarchive. */
#include "engine/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/xalloc.h"
#include "core/tarpath.h"

struct tar {
    struct archive *a;
    struct buf out;
    int failed; /* the output limit was hit */
};

static la_ssize_t tar_write_cb(struct archive *a, void *ud, const void *p, size_t n)
{
    struct tar *t = ud;
    (void)a;
    if (buf_append(&t->out, p, n)) {
        t->failed = 1;
        return -1;
    }
    return (la_ssize_t)n;
}

static struct tar *tar_alloc(size_t max)
{
    struct tar *t = xcalloc(1, sizeof *t);
    buf_init(&t->out, max ? max : (size_t)2 << 30);
    t->a = archive_write_new();
    archive_write_set_format_pax_restricted(t->a);
    /* Names are bytes (UTF-8 in practice) whatever the locale: natrig never calls
     * setlocale, and in the C locale libarchive would refuse non-ASCII names. */
    archive_write_set_options(t->a, "hdrcharset=BINARY");
    archive_write_set_bytes_in_last_block(t->a, 1);
    return t;
}

struct tar *tar_new(size_t max)
{
    struct tar *t = tar_alloc(max);
    archive_write_open(t->a, t, NULL, tar_write_cb, NULL);
    return t;
}

struct tar *tar_new_fd(int fd)
{
    struct tar *t = tar_alloc(0);
    archive_write_open_fd(t->a, fd);
    return t;
}

static int lib_err(struct tar *t, const char *op, const char *path, struct nt_err *err)
{
    if (t->failed)
        return nt_err_set(err, NT_LIMIT, op, "tar for '%s' exceeds %zu bytes", path, t->out.max);
    return nt_err_set(err, NT_SYS, op, "'%s': %s", path, archive_error_string(t->a));
}

static struct archive_entry *entry_for(const char *norm, int type, int mode, size_t size)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, norm);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode & 07777);
    archive_entry_set_size(e, (la_int64_t)size);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    return e;
}

static int write_entry(struct tar *t, struct archive_entry *e, const void *data, size_t n,
                       const char *op, const char *path, struct nt_err *err)
{
    int rc = archive_write_header(t->a, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK)
        return lib_err(t, op, path, err);
    if (n && archive_write_data(t->a, data, n) != (la_ssize_t)n)
        return lib_err(t, op, path, err);
    return 0;
}

int tar_add_data(struct tar *t, const char *path, const void *data, size_t n, int mode,
                 struct nt_err *err)
{
    char norm[4096];
    if (tarpath_normalize(path, strlen(path), norm, sizeof norm, err))
        return -1;
    return write_entry(t, entry_for(norm, AE_IFREG, mode < 0 ? 0644 : mode, n), data, n, "tar add",
                       path, err);
}

int tar_add_file(struct tar *t, const char *path, const char *host_path, int mode,
                 struct nt_err *err)
{
    const char *op = "tar add file";
    char norm[4096];
    struct stat st;
    int fd, rc;

    if (tarpath_normalize(path, strlen(path), norm, sizeof norm, err))
        return -1;
    fd = open(host_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nt_err_set(err, NT_SYS, op, "cannot open '%s': %s", host_path, strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return nt_err_set(err, NT_EINVAL, op, "'%s' is not a regular file", host_path);
    }
    {
        struct archive_entry *e = entry_for(
            norm, AE_IFREG, mode < 0 ? (int)(st.st_mode & 07777) : mode, (size_t)st.st_size);
        rc = archive_write_header(t->a, e);
        archive_entry_free(e);
    }
    if (rc != ARCHIVE_OK) {
        close(fd);
        return lib_err(t, op, path, err);
    }
    char chunk[65536];
    off_t left = st.st_size;
    while (left > 0) {
        ssize_t got = read(fd, chunk, sizeof chunk);
        if (got <= 0) {
            close(fd);
            return nt_err_set(err, NT_SYS, op, "read '%s': %s", host_path,
                              got < 0 ? strerror(errno) : "file shrank while reading");
        }
        if (archive_write_data(t->a, chunk, (size_t)got) != got) {
            close(fd);
            return lib_err(t, op, path, err);
        }
        left -= got;
    }
    close(fd);
    return 0;
}

int tar_add_dir(struct tar *t, const char *path, int mode, struct nt_err *err)
{
    char norm[4096];
    if (tarpath_normalize(path, strlen(path), norm, sizeof norm, err))
        return -1;
    return write_entry(t, entry_for(norm, AE_IFDIR, mode < 0 ? 0755 : mode, 0), NULL, 0,
                       "tar add dir", path, err);
}

int tar_add_symlink(struct tar *t, const char *path, const char *target, struct nt_err *err)
{
    char norm[4096];
    struct archive_entry *e;
    if (tarpath_normalize(path, strlen(path), norm, sizeof norm, err))
        return -1;
    e = entry_for(norm, AE_IFLNK, 0777, 0);
    archive_entry_set_symlink(e, target);
    return write_entry(t, e, NULL, 0, "tar add symlink", path, err);
}

int tar_finish(struct tar *t, struct buf *out, struct nt_err *err)
{
    if (archive_write_close(t->a) != ARCHIVE_OK)
        return lib_err(t, "tar finish", "(archive)", err);
    *out = t->out;
    buf_init(&t->out, 0);
    return 0;
}

void tar_free(struct tar *t)
{
    if (!t)
        return;
    archive_write_free(t->a);
    buf_free(&t->out);
    free(t);
}
