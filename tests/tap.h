/* tap.h - a tiny TAP producer for table-driven unit tests (run under prove). */
#ifndef TAP_H
#define TAP_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_fail;

#define ok(cond, ...)                                                                              \
    do {                                                                                           \
        int ok_c_ = !!(cond);                                                                      \
        printf("%sok %d - ", ok_c_ ? "" : "not ", ++tap_n);                                        \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        if (!ok_c_) {                                                                              \
            tap_fail++;                                                                            \
            printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
        }                                                                                          \
    } while (0)

#define is_str(got, want, ...)                                                                     \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        int e_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;                                      \
        ok(e_, __VA_ARGS__);                                                                       \
        if (!e_)                                                                                   \
            printf("#   got:  '%s'\n#   want: '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)");    \
    } while (0)

#define is_int(got, want, ...)                                                                     \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        ok(g_ == w_, __VA_ARGS__);                                                                 \
        if (g_ != w_)                                                                              \
            printf("#   got:  %lld\n#   want: %lld\n", g_, w_);                                    \
    } while (0)

/* Read a whole file (fixtures); returns a malloc'd NUL-terminated copy or NULL. len may be
 * NULL. */
static inline char *tap_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;

    if (!f)
        return NULL;
    n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc((size_t)n + 1);
        if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        } else if (data) {
            data[n] = '\0';
            if (len)
                *len = (size_t)n;
        }
    }
    fclose(f);
    return data;
}

/* Where fixture files live: $NATRIG_FIXTURES, default tests/fixtures. */
static inline const char *tap_fixture_dir(void)
{
    const char *d = getenv("NATRIG_FIXTURES");
    return d && *d ? d : "tests/fixtures";
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}
#endif
