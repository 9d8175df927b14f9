/* tar.h - build an uncompressed tar in memory with libarchive (uploads, image contexts,
 * rootfs imports). Member paths pass tarpath_normalize; mtimes and owners are fixed at
 * 0 so the same inputs give the same bytes (images are cached by a hash of them).
 * The builder owns its buffer until tar_finish hands it over. */
#ifndef NT_TAR_H
#define NT_TAR_H
#include <stddef.h>

#include "base/buf.h"

struct nt_err;
struct tar;

/* Returns a new builder whose output may grow to max bytes (0: 2 GiB). */
struct tar *tar_new(size_t max);
/* A builder writing to fd as it goes (an image's rootfs: never whole in memory); the
 * caller owns fd. tar_finish hands over an empty buffer. */
struct tar *tar_new_fd(int fd);
/* Add a regular file from memory. */
int tar_add_data(struct tar *t, const char *path, const void *data, size_t n, int mode,
                 struct nt_err *err);
/* Add a regular file read from the host (following symlinks); mode -1 keeps the host's. */
int tar_add_file(struct tar *t, const char *path, const char *host_path, int mode,
                 struct nt_err *err);
int tar_add_dir(struct tar *t, const char *path, int mode, struct nt_err *err);
int tar_add_symlink(struct tar *t, const char *path, const char *target, struct nt_err *err);
/* Close the archive and move its bytes into out (which takes ownership). */
int tar_finish(struct tar *t, struct buf *out, struct nt_err *err);
/* Free the builder (safe after tar_finish, and on NULL). */
void tar_free(struct tar *t);
#endif
