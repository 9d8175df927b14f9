/* test_url.c - TAP tests for core/url: percent-encoding, query building, DOCKER_HOST
 * parsing and API version comparison/negotiation. Table-driven; each row is one case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "core/url.h"
#include "tap.h"

#define S(lit) lit, sizeof(lit) - 1

/* --- url_escape / url_escape_path ---------------------------------------------------- */

struct esc_row {
    const char *in;
    size_t len;
    const char *want;
};

static const struct esc_row esc_rows[] = {
    {S(""), ""},
    {S("abcxyzABCXYZ0189-_.~"), "abcxyzABCXYZ0189-_.~"},
    {S(" "), "%20"},
    {S("a b&c=d/e?f#g"), "a%20b%26c%3Dd%2Fe%3Ff%23g"},
    {S("+%*!'()"), "%2B%25%2A%21%27%28%29"},
    {S(":@/[]"), "%3A%40%2F%5B%5D"},
    {S("{\"a\":1}"), "%7B%22a%22%3A1%7D"},
    {S("caf\xc3\xa9"), "caf%C3%A9"},
    {S("\xe2\x82\xac"), "%E2%82%AC"},
    {S("\xff\x80\x7f"), "%FF%80%7F"},
    {S("\t\r\n"), "%09%0D%0A"},
    {S("a\0b"), "a%00b"},
    {S("\0"), "%00"},
    {"abcdef", 3, "abc"},
};

static const struct esc_row escp_rows[] = {
    {S(""), ""},
    {S("natrig/base:abc"), "natrig/base:abc"},
    {S("registry.example.com:5000/a/b@sha256:0f"), "registry.example.com:5000/a/b@sha256:0f"},
    {S("/"), "/"},
    {S("a//b"), "a//b"},
    {S("/a/"), "/a/"},
    {S("::@@"), "::@@"},
    {S("a b/c d"), "a%20b/c%20d"},
    {S("a?b#c"), "a%3Fb%23c"},
    {S("x\0/y"), "x%00/y"},
    {S("caf\xc3\xa9:1"), "caf%C3%A9:1"},
    {"a/b/c", 3, "a/b"},
};

static void check_escape(void)
{
    for (size_t i = 0; i < sizeof esc_rows / sizeof esc_rows[0]; i++) {
        const struct esc_row *r = &esc_rows[i];
        struct buf b;
        /* Exact-size copy: a read past len would show under ASan. */
        char *in = malloc(r->len ? r->len : 1);
        memcpy(in, r->in, r->len);
        buf_init(&b, 0);
        int rc = url_escape(&b, in, r->len);
        is_int(rc, 0, "url_escape row %zu returns 0", i);
        is_str(b.data ? b.data : "", r->want, "url_escape row %zu -> %s", i, r->want);
        buf_free(&b);
        free(in);
    }
    for (size_t i = 0; i < sizeof escp_rows / sizeof escp_rows[0]; i++) {
        const struct esc_row *r = &escp_rows[i];
        struct buf b;
        char *in = malloc(r->len ? r->len : 1);
        memcpy(in, r->in, r->len);
        buf_init(&b, 0);
        int rc = url_escape_path(&b, in, r->len);
        is_int(rc, 0, "url_escape_path row %zu returns 0", i);
        is_str(b.data ? b.data : "", r->want, "url_escape_path row %zu -> %s", i, r->want);
        buf_free(&b);
        free(in);
    }
    /* Every byte value: unreserved ones kept, the rest %XX in upper case. */
    {
        int bad = 0;
        for (int c = 0; c < 256; c++) {
            char in = (char)c, want[4];
            struct buf b;
            int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
            if (plain)
                snprintf(want, sizeof want, "%c", c);
            else
                snprintf(want, sizeof want, "%%%02X", c);
            buf_init(&b, 0);
            if (url_escape(&b, &in, 1) || !b.data || strcmp(b.data, want) != 0) {
                bad++;
                printf("# byte %02x -> '%s', want '%s'\n", c, b.data ? b.data : "", want);
            }
            buf_free(&b);
        }
        is_int(bad, 0, "url_escape: all 256 byte values");
    }
    /* Bounded output buffer. */
    {
        struct buf b;
        buf_init(&b, 5);
        is_int(url_escape(&b, S("a b")), 0, "url_escape fits 5 bytes exactly");
        is_int(url_escape(&b, S("c")), -1, "url_escape refuses to grow past the buffer max");
        buf_free(&b);
        buf_init(&b, 4);
        is_int(url_escape_path(&b, S("a/b c")), -1, "url_escape_path refuses past the max");
        buf_free(&b);
    }
}

/* --- url_add_query ------------------------------------------------------------------- */

struct query_row {
    const char *start;    /* buffer content before; NULL: never written */
    const char *kv[3][2]; /* up to three key/value pairs, NULL-terminated */
    const char *want;
};

static const struct query_row query_rows[] = {
    {NULL, {{"a", "b"}}, "?a=b"},
    {"", {{"a", "b"}}, "?a=b"},
    {"/containers/json", {{"all", "1"}}, "/containers/json?all=1"},
    {"/containers/json", {{"all", "1"}, {"limit", "5"}}, "/containers/json?all=1&limit=5"},
    {"/x?y=1", {{"z", "2"}}, "/x?y=1&z=2"},
    {"/p", {{"q", "?"}, {"r", "&="}}, "/p?q=%3F&r=%26%3D"},
    {"/p", {{"k y", "v w"}}, "/p?k%20y=v%20w"},
    {"/p", {{"empty", ""}}, "/p?empty="},
    {"/networks",
     {{"filters", "{\"label\":[\"natrig.run=1\"]}"}},
     "/networks?filters=%7B%22label%22%3A%5B%22natrig.run%3D1%22%5D%7D"},
    {"/b",
     {{"t", "natrig/base:\xc3\xa9"}, {"q", "1"}, {"rm", "true"}},
     "/b?t=natrig%2Fbase%3A%C3%A9&q=1&rm=true"},
};

static void check_query(void)
{
    for (size_t i = 0; i < sizeof query_rows / sizeof query_rows[0]; i++) {
        const struct query_row *r = &query_rows[i];
        struct buf b;
        int rc = 0;
        buf_init(&b, 0);
        if (r->start)
            buf_appends(&b, r->start);
        for (int k = 0; k < 3 && r->kv[k][0]; k++)
            rc |= url_add_query(&b, r->kv[k][0], r->kv[k][1]);
        is_int(rc, 0, "url_add_query row %zu returns 0", i);
        is_str(b.data ? b.data : "", r->want, "url_add_query row %zu -> %s", i, r->want);
        buf_free(&b);
    }
    {
        struct buf b;
        buf_init(&b, 8);
        buf_appends(&b, "/p");
        is_int(url_add_query(&b, "key", "value"), -1, "url_add_query over the max fails");
        buf_free(&b);
    }
}

/* --- url_parse_docker_host ------------------------------------------------------------ */

struct host_row {
    const char *host;
    size_t cap;
    int rc;
    int is_unix;
    const char *target;     /* when rc == 0 */
    enum nt_err_code code;  /* when rc == -1 */
    const char *msg_has[2]; /* substrings of err.msg when rc == -1 */
};

static const struct host_row host_rows[] = {
    {NULL, 512, 0, 1, "/var/run/docker.sock", NT_OK, {NULL}},
    {"", 512, 0, 1, "/var/run/docker.sock", NT_OK, {NULL}},
    {"unix:///var/run/docker.sock", 512, 0, 1, "/var/run/docker.sock", NT_OK, {NULL}},
    {"unix:///run/user/1000/docker.sock", 512, 0, 1, "/run/user/1000/docker.sock", NT_OK, {NULL}},
    {"unix://", 512, -1, 0, NULL, NT_EINVAL, {"unix://", NULL}},
    {"tcp://host:2376", 512, 0, 0, "http://host:2376", NT_OK, {NULL}},
    {"tcp://host", 512, 0, 0, "http://host:2375", NT_OK, {NULL}},
    {"tcp://host:1/", 512, 0, 0, "http://host:1", NT_OK, {NULL}},
    {"tcp://host/", 512, 0, 0, "http://host:2375", NT_OK, {NULL}},
    {"tcp://10.0.0.1:2375", 512, 0, 0, "http://10.0.0.1:2375", NT_OK, {NULL}},
    {"tcp://[::1]:2376", 512, 0, 0, "http://[::1]:2376", NT_OK, {NULL}},
    /* An IPv6 literal without a port gets the default port too (docker does). */
    {"tcp://[::1]", 512, 0, 0, "http://[::1]:2375", NT_OK, {NULL}},
    {"tcp://", 512, -1, 0, NULL, NT_EINVAL, {"tcp://", NULL}},
    {"tcp://:2375", 512, -1, 0, NULL, NT_EINVAL, {"tcp://:2375", NULL}},
    {"tcp:///x", 512, -1, 0, NULL, NT_EINVAL, {"tcp:///x", NULL}},
    {"ssh://user@host", 512, -1, 0, NULL, NT_EINVAL, {"ssh://user@host", "unsupported"}},
    {"npipe:////./pipe/docker_engine",
     512,
     -1,
     0,
     NULL,
     NT_EINVAL,
     {"npipe:////./pipe/docker_engine", "unsupported"}},
    {"/var/run/docker.sock", 512, -1, 0, NULL, NT_EINVAL, {"unsupported", NULL}},
    {"fd://", 512, -1, 0, NULL, NT_EINVAL, {"unsupported", NULL}},
    {"unix:///var/run/docker.sock", 8, -1, 0, NULL, NT_LIMIT, {"too long", NULL}},
    {"tcp://host", 16, -1, 0, NULL, NT_LIMIT, {"too long", NULL}},
    {"tcp://host", 17, 0, 0, "http://host:2375", NT_OK, {NULL}},
};

static void check_docker_host(void)
{
    for (size_t i = 0; i < sizeof host_rows / sizeof host_rows[0]; i++) {
        const struct host_row *r = &host_rows[i];
        struct nt_err err;
        char *target = malloc(r->cap);
        int is_unix = -1;
        const char *name = r->host ? r->host : "(NULL)";

        memset(&err, 0, sizeof err);
        int rc = url_parse_docker_host(r->host, &is_unix, target, r->cap, &err);
        is_int(rc, r->rc, "docker host '%s' (cap %zu): rc", name, r->cap);
        if (rc == 0 && r->rc == 0) {
            is_int(is_unix, r->is_unix, "docker host '%s': is_unix", name);
            is_str(target, r->target, "docker host '%s': target", name);
        } else if (rc == -1 && r->rc == -1) {
            is_int(err.code, r->code, "docker host '%s': code %s", name, nt_err_code_name(r->code));
            for (int k = 0; k < 2 && r->msg_has[k]; k++)
                ok(strstr(err.msg, r->msg_has[k]) != NULL,
                   "docker host '%s': message has '%s' (%s)", name, r->msg_has[k], err.msg);
        }
        free(target);
    }
    {
        int is_unix = 0;
        char target[64];
        is_int(url_parse_docker_host("ssh://h", &is_unix, target, sizeof target, NULL), -1,
               "docker host: err NULL allowed");
    }
}

/* --- url_version_cmp ------------------------------------------------------------------ */

struct cmp_row {
    const char *a, *b;
    int want; /* sign */
};

static const struct cmp_row cmp_rows[] = {
    {"1.9", "1.10", -1}, {"1.10", "1.9", 1},   {"1.41", "1.41", 0}, {"1.51", "1.41", 1},
    {"2.0", "1.99", 1},  {"1.99", "2.0", -1},  {"0.1", "0.1", 0},   {"1.041", "1.41", 0},
    {"10.1", "9.9", 1},  {"1.100", "1.99", 1},
};

static int sign(int v)
{
    return v < 0 ? -1 : v > 0;
}

static void check_version_cmp(void)
{
    for (size_t i = 0; i < sizeof cmp_rows / sizeof cmp_rows[0]; i++) {
        const struct cmp_row *r = &cmp_rows[i];
        is_int(sign(url_version_cmp(r->a, r->b)), r->want, "version_cmp(%s, %s) sign %d", r->a,
               r->b, r->want);
    }
}

/* --- url_negotiate_version ------------------------------------------------------------ */

struct neg_row {
    const char *ours_max, *ours_min, *daemon_max, *daemon_min;
    size_t cap;
    int rc;
    const char *want;      /* rc 0 */
    enum nt_err_code code; /* rc -1 */
    const char *msg_has[2];
};

static const struct neg_row neg_rows[] = {
    {"1.51", "1.41", "1.41", NULL, 16, 0, "1.41", NT_OK, {NULL}},
    {"1.51", "1.41", "1.45", "", 16, 0, "1.45", NT_OK, {NULL}},
    {"1.51", "1.41", "1.51", "1.24", 16, 0, "1.51", NT_OK, {NULL}},
    {"1.51", "1.41", "1.53", "1.24", 16, 0, "1.51", NT_OK, {NULL}},
    {"1.51", "1.41", "1.53", NULL, 16, 0, "1.51", NT_OK, {NULL}},
    {"1.51", "1.41", "2.0", "1.12", 16, 0, "1.51", NT_OK, {NULL}},
    {"1.9", "1.5", "1.10", NULL, 16, 0, "1.9", NT_OK, {NULL}},
    {"1.51", "1.41", "1.51", "1.51", 16, 0, "1.51", NT_OK, {NULL}},
    /* the daemon's minimum is above what we would choose */
    {"1.51", "1.41", "1.53", "1.52", 16, -1, NULL, NT_ENGINE, {"1.52", "1.51"}},
    {"1.51", "1.41", "1.43", "1.44", 16, -1, NULL, NT_ENGINE, {"1.44", NULL}},
    /* the daemon is older than our floor */
    {"1.51", "1.41", "1.40", NULL, 16, -1, NULL, NT_ENGINE, {"1.40", "1.41"}},
    {"1.51", "1.41", "1.9", "1.2", 16, -1, NULL, NT_ENGINE, {"1.9", "1.41"}},
    /* garbage from the daemon */
    {"1.51", "1.41", "abc", NULL, 16, -1, NULL, NT_PARSE, {"abc", NULL}},
    {"1.51", "1.41", "", NULL, 16, -1, NULL, NT_PARSE, {NULL}},
    {"1.51", "1.41", NULL, NULL, 16, -1, NULL, NT_PARSE, {NULL}},
    {"1.51", "1.41", "1", NULL, 16, -1, NULL, NT_PARSE, {NULL}},
    {"1.51", "1.41", "1.", NULL, 16, -1, NULL, NT_PARSE, {NULL}},
    {"1.51", "1.41", "1.x", NULL, 16, -1, NULL, NT_PARSE, {NULL}},
    {"1.51", "1.41", "1.41.0", NULL, 16, -1, NULL, NT_PARSE, {NULL}},
    {"1.51", "1.41", "1.45 ", NULL, 16, -1, NULL, NT_PARSE, {NULL}},
    /* output too small */
    {"1.51", "1.41", "1.45", NULL, 4, -1, NULL, NT_LIMIT, {NULL}},
    {"1.51", "1.41", "1.45", NULL, 5, 0, "1.45", NT_OK, {NULL}},
};

static void check_negotiate(void)
{
    for (size_t i = 0; i < sizeof neg_rows / sizeof neg_rows[0]; i++) {
        const struct neg_row *r = &neg_rows[i];
        struct nt_err err;
        char *out = malloc(r->cap);
        const char *dm = r->daemon_max ? r->daemon_max : "(NULL)";
        const char *dn = r->daemon_min ? r->daemon_min : "(NULL)";

        memset(&err, 0, sizeof err);
        int rc = url_negotiate_version(r->ours_max, r->ours_min, r->daemon_max, r->daemon_min, out,
                                       r->cap, &err);
        is_int(rc, r->rc, "negotiate ours %s..%s daemon %s min %s: rc", r->ours_min, r->ours_max,
               dm, dn);
        if (rc == 0 && r->rc == 0) {
            is_str(out, r->want, "negotiate daemon %s min %s -> %s", dm, dn, r->want);
        } else if (rc == -1 && r->rc == -1) {
            is_int(err.code, r->code, "negotiate daemon %s min %s: code %s", dm, dn,
                   nt_err_code_name(r->code));
            for (int k = 0; k < 2 && r->msg_has[k]; k++)
                ok(strstr(err.msg, r->msg_has[k]) != NULL,
                   "negotiate daemon %s: message has '%s' (%s)", dm, r->msg_has[k], err.msg);
        }
        free(out);
    }
}

int main(void)
{
    check_escape();
    check_query();
    check_docker_host();
    check_version_cmp();
    check_negotiate();
    return tap_done();
}
