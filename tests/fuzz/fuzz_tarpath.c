/* fuzz_tarpath.c - libFuzzer target for core/tarpath. The input is a path (any bytes,
 * NULs included). It is normalised into buffers of three sizes, each allocated exactly so
 * ASan sees an overrun. On success the output is NUL-terminated inside cap, has no ".."
 * component, no "." or empty component, no leading or trailing '/', holds exactly the
 * input's components in order, and normalising it again gives it back (idempotent). On
 * failure the code is einval or limit, and a path with a ".." component never succeeds.
 * Built and run by tests/fuzz/run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/tarpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The components of p (n bytes) other than "" and ".", joined with '/', into out.
 * Returns the length, sets *dotdot when a ".." component exists. */
static size_t components(const char *p, size_t n, char *out, int *dotdot)
{
    size_t i = 0, o = 0;
    *dotdot = 0;
    while (i < n) {
        while (i < n && p[i] == '/')
            i++;
        size_t s = i;
        while (i < n && p[i] != '/')
            i++;
        size_t len = i - s;
        if (len == 0 || (len == 1 && p[s] == '.'))
            continue;
        if (len == 2 && p[s] == '.' && p[s + 1] == '.')
            *dotdot = 1;
        if (o)
            out[o++] = '/';
        memcpy(out + o, p + s, len);
        o += len;
    }
    return o;
}

static void check(const char *path, size_t n, size_t cap)
{
    char *out = malloc(cap ? cap : 1), *ref = malloc(n + 1);
    struct nt_err err;
    int dotdot, has_nul = memchr(path, 0, n) != NULL;
    size_t rlen = components(path, n, ref, &dotdot);

    memset(&err, 0, sizeof err);
    int rc = tarpath_normalize(path, n, out, cap, &err);
    if (rc == 0) {
        size_t len = strnlen(out, cap);
        if (len >= cap || len == 0 || has_nul || dotdot)
            __builtin_trap();
        if (out[0] == '/' || out[len - 1] == '/' || strstr(out, "//"))
            __builtin_trap();
        /* no "." or ".." component */
        for (size_t s = 0; s < len;) {
            size_t e = s;
            while (e < len && out[e] != '/')
                e++;
            if ((e - s == 1 && out[s] == '.') || (e - s == 2 && out[s] == '.' && out[s + 1] == '.'))
                __builtin_trap();
            s = e + 1;
        }
        if (len != rlen || memcmp(out, ref, len) != 0)
            __builtin_trap();
        /* idempotent */
        char *again = malloc(cap);
        if (tarpath_normalize(out, len, again, cap, NULL) != 0 || strcmp(again, out) != 0)
            __builtin_trap();
        free(again);
    } else {
        if (rc != -1 || (err.code != NT_EINVAL && err.code != NT_LIMIT) || !err.msg[0])
            __builtin_trap();
        /* a clean path that fits with room to spare must not fail */
        if (!has_nul && !dotdot && rlen > 0 && rlen + 1 <= cap)
            __builtin_trap();
    }
    free(out);
    free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    memcpy(p, data, size);
    check(p, size, 4096);
    check(p, size, 16);
    check(p, size, size / 2 + 1);
    free(p);
    return 0;
}
