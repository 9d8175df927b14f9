/* test_tarpath.c - TAP tests for core/tarpath: normalisation of tar member paths and
 * refusal of paths that escape the extraction root, are empty, hold a NUL or do not fit.
 * Inputs are copied to exact-size heap buffers (no terminating NUL) and the output buffer
 * is exactly cap bytes, so ASan sees any read or write out of bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/tarpath.h"
#include "tap.h"

#define S(lit) lit, sizeof(lit) - 1
#define CAP 256

struct row {
    const char *in;
    size_t len;
    size_t cap;
    const char *want;      /* NULL: must fail */
    enum nt_err_code code; /* when failing */
};

static const struct row rows[] = {
    /* normalisation */
    {S("/etc//natrig/./x"), CAP, "etc/natrig/x", NT_OK},
    {S("a"), CAP, "a", NT_OK},
    {S("/a"), CAP, "a", NT_OK},
    {S("./a"), CAP, "a", NT_OK},
    {S("a/"), CAP, "a", NT_OK},
    {S("a/./b/"), CAP, "a/b", NT_OK},
    {S("///a///b///"), CAP, "a/b", NT_OK},
    {S("././a/./././b/."), CAP, "a/b", NT_OK},
    {S("etc/natrig/x.conf"), CAP, "etc/natrig/x.conf", NT_OK},
    {S("a b/c\td"), CAP, "a b/c\td", NT_OK},
    {S("caf\xc3\xa9/\xff"), CAP, "caf\xc3\xa9/\xff", NT_OK},
    {S("a\\..\\b"), CAP, "a\\..\\b", NT_OK},
    /* ".." only as part of a name */
    {S("a..b"), CAP, "a..b", NT_OK},
    {S("..a"), CAP, "..a", NT_OK},
    {S("a.."), CAP, "a..", NT_OK},
    {S("..."), CAP, "...", NT_OK},
    {S(".../x"), CAP, ".../x", NT_OK},
    {S("a/..b/c"), CAP, "a/..b/c", NT_OK},
    {S(".a/.b"), CAP, ".a/.b", NT_OK},
    {S("x/.. /y"), CAP, "x/.. /y", NT_OK},
    /* escapes */
    {S(".."), CAP, NULL, NT_EINVAL},
    {S("../"), CAP, NULL, NT_EINVAL},
    {S("../x"), CAP, NULL, NT_EINVAL},
    {S("a/../.."), CAP, NULL, NT_EINVAL},
    {S("/../etc"), CAP, NULL, NT_EINVAL},
    {S("a/.."), CAP, NULL, NT_EINVAL},
    {S("a/../b"), CAP, NULL, NT_EINVAL},
    {S("./.."), CAP, NULL, NT_EINVAL},
    {S("..//x"), CAP, NULL, NT_EINVAL},
    {S("a/b/c/../../../.."), CAP, NULL, NT_EINVAL},
    {S("/.."), CAP, NULL, NT_EINVAL},
    /* empty */
    {S(""), CAP, NULL, NT_EINVAL},
    {S("/"), CAP, NULL, NT_EINVAL},
    {S("."), CAP, NULL, NT_EINVAL},
    {S("./"), CAP, NULL, NT_EINVAL},
    {S("//././//"), CAP, NULL, NT_EINVAL},
    /* NUL bytes */
    {S("a\0b"), CAP, NULL, NT_EINVAL},
    {S("\0"), CAP, NULL, NT_EINVAL},
    {S("a/\0"), CAP, NULL, NT_EINVAL},
    {S("../\0"), CAP, NULL, NT_EINVAL},
    /* explicit length shorter than the text */
    {"abc/def", 3, CAP, "abc", NT_OK},
    {"abc/..", 4, CAP, "abc", NT_OK},
    {"../abc", 1, CAP, NULL, NT_EINVAL},
    /* too long: cap counts the terminating NUL */
    {S("abcd"), 4, NULL, NT_LIMIT},
    {S("a/bcd"), 5, NULL, NT_LIMIT},
    {S("a/bc"), 5, "a/bc", NT_OK},
    {S("ab/c"), 5, "ab/c", NT_OK},
    {S("/a/bc/"), 5, "a/bc", NT_OK},
    {S("a"), 1, NULL, NT_LIMIT},
    /* a single component that exactly fits */
    {S("abc"), 4, "abc", NT_OK},
    {S("/abc/"), 4, "abc", NT_OK},
    {S("a"), 2, "a", NT_OK},
};

static const char *show(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return buf;
}

static void check_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        char name[128];
        char *in = malloc(r->len ? r->len : 1);
        char *out = malloc(r->cap ? r->cap : 1);
        struct nt_err err;

        memcpy(in, r->in, r->len);
        memset(out, 'Z', r->cap ? r->cap : 1);
        memset(&err, 0, sizeof err);
        show(r->in, r->len, name, sizeof name);
        int rc = tarpath_normalize(in, r->len, out, r->cap, &err);
        if (r->want) {
            is_int(rc, 0, "'%s' (cap %zu) accepted%s%s", name, r->cap, rc ? ": " : "", err.msg);
            if (rc == 0)
                is_str(out, r->want, "'%s' -> '%s'", name, r->want);
        } else {
            is_int(rc, -1, "'%s' (cap %zu) refused", name, r->cap);
            if (rc == -1) {
                is_int(err.code, r->code, "'%s': code %s (%s)", name, nt_err_code_name(r->code),
                       err.msg);
                ok(err.msg[0] && strcmp(err.op, "check tar path") == 0,
                   "'%s': err names op and message", name);
            }
        }
        free(in);
        free(out);
    }
}

static void check_long(void)
{
    size_t n = 5000;
    char *p = malloc(n), out[4096];
    struct nt_err err;

    memset(p, 'x', n);
    for (size_t i = 100; i < n; i += 100)
        p[i] = '/';
    memset(&err, 0, sizeof err);
    is_int(tarpath_normalize(p, n, out, sizeof out, &err), -1, "5000-byte path in 4096 refused");
    is_int(err.code, NT_LIMIT, "5000-byte path: code limit");
    is_int(tarpath_normalize(p, 4000, out, sizeof out, &err), 0, "4000-byte path in 4096 fits");
    is_int(strlen(out), 4000, "4000-byte path kept whole");

    /* An escape far into a long path, message stays bounded. */
    memset(p, 'a', n);
    memcpy(p + n - 3, "/..", 3);
    memset(&err, 0, sizeof err);
    is_int(tarpath_normalize(p, n, out, sizeof out, &err), -1, "'..' after 4997 bytes refused");
    ok(err.code == NT_EINVAL || err.code == NT_LIMIT, "'..' after 4997 bytes: einval or limit (%s)",
       nt_err_code_name(err.code));
    ok(strlen(err.msg) < sizeof err.msg, "message bounded");
    free(p);

    is_int(tarpath_normalize("../x", 4, out, sizeof out, NULL), -1, "err NULL allowed");
}

/* Normalising a normalised path gives it back unchanged. */
static void check_idempotent(void)
{
    int bad = 0, n = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char a[CAP], b[CAP];
        if (!rows[i].want || rows[i].cap != CAP)
            continue;
        n++;
        if (tarpath_normalize(rows[i].in, rows[i].len, a, sizeof a, NULL) ||
            tarpath_normalize(a, strlen(a), b, sizeof b, NULL) || strcmp(a, b) != 0) {
            bad++;
            printf("# not idempotent: '%s'\n", a);
        }
    }
    ok(n > 10 && bad == 0, "normalisation is idempotent on %d accepted rows", n);
}

int main(void)
{
    check_rows();
    check_long();
    check_idempotent();
    return tap_done();
}
