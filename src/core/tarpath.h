/* tarpath.h - the path check for files natrig puts into a container tar. Pure.
 * A tar member path must stay inside the extraction root: no ".." component, no NUL,
 * not empty. Leading "/" and "./" are dropped and repeated slashes collapsed, so
 * "/etc//natrig/./x" becomes "etc/natrig/x". */
#ifndef NT_TARPATH_H
#define NT_TARPATH_H
#include <stddef.h>

struct nt_err;

/* Normalise path (n bytes) into out (cap bytes). Returns 0, or -1 with err filled when the
 * path escapes the root, is empty, holds a NUL or does not fit. */
int tarpath_normalize(const char *path, size_t n, char *out, size_t cap, struct nt_err *err);
#endif
