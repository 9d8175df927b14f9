/* tarpath.c - reject tar member paths that would escape the extraction root. */
#include "core/tarpath.h"

#include <string.h>

#include "base/err.h"

int tarpath_normalize(const char *path, size_t n, char *out, size_t cap, struct nt_err *err)
{
    const char *op = "check tar path";
    size_t o = 0, i = 0;

    if (memchr(path, '\0', n))
        return nt_err_set(err, NT_EINVAL, op, "path holds a NUL byte");
    while (i < n) {
        size_t start, len;
        while (i < n && path[i] == '/')
            i++;
        start = i;
        while (i < n && path[i] != '/')
            i++;
        len = i - start;
        if (len == 0 || (len == 1 && path[start] == '.'))
            continue;
        if (len == 2 && path[start] == '.' && path[start + 1] == '.')
            return nt_err_set(err, NT_EINVAL, op, "path '%.*s' escapes the target directory",
                              (int)(n > 200 ? 200 : n), path);
        if (o + (o ? 1 : 0) + len + 1 > cap)
            return nt_err_set(err, NT_LIMIT, op, "path longer than %zu bytes", cap - 1);
        if (o)
            out[o++] = '/';
        memcpy(out + o, path + start, len);
        o += len;
    }
    if (o == 0)
        return nt_err_set(err, NT_EINVAL, op, "empty path");
    out[o] = '\0';
    return 0;
}
