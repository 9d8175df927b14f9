/* url.c - query encoding, DOCKER_HOST parsing and API version negotiation. */
#include "core/url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"

int url_escape(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~';
        if (plain) {
            if (buf_append(out, &c, 1))
                return -1;
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (buf_append(out, e, 3))
                return -1;
        }
    }
    return 0;
}

int url_add_query(struct buf *out, const char *key, const char *val)
{
    const char *sep = (out->data && strchr(out->data, '?')) ? "&" : "?";
    if (buf_appends(out, sep) || url_escape(out, key, strlen(key)) || buf_appends(out, "=") ||
        url_escape(out, val, strlen(val)))
        return -1;
    return 0;
}

int url_parse_docker_host(const char *host, int *is_unix, char *target, size_t cap,
                          struct nt_err *err)
{
    const char *op = "parse DOCKER_HOST";
    int n;

    if (!host || !*host)
        host = "unix:///var/run/docker.sock";
    if (strncmp(host, "unix://", 7) == 0) {
        if (!host[7])
            return nt_err_set(err, NT_EINVAL, op, "'%s' names no socket path", host);
        *is_unix = 1;
        n = snprintf(target, cap, "%s", host + 7);
    } else if (strncmp(host, "tcp://", 6) == 0) {
        const char *hp = host + 6;
        if (!*hp || *hp == ':' || *hp == '/')
            return nt_err_set(err, NT_EINVAL, op, "'%s' names no host", host);
        *is_unix = 0;
        /* Strip a trailing slash; a bare host gets the engine's plain-HTTP port 2375. */
        size_t len = strcspn(hp, "/");
        /* A port follows the last ':' outside IPv6 brackets: tcp://[::1]:2375 */
        const char *close = hp[0] == '[' ? memchr(hp, ']', len) : NULL;
        const char *from = close ? close : hp;
        int has_port = memchr(from, ':', len - (size_t)(from - hp)) != NULL;
        n = snprintf(target, cap, "http://%.*s%s", (int)len, hp, has_port ? "" : ":2375");
    } else {
        return nt_err_set(err, NT_EINVAL, op,
                          "unsupported DOCKER_HOST '%s': use unix:///path or tcp://host:port "
                          "(forward ssh:// with ssh -L to a local socket)",
                          host);
    }
    if (n < 0 || (size_t)n >= cap)
        return nt_err_set(err, NT_LIMIT, op, "DOCKER_HOST value too long");
    return 0;
}

static int parse_ver(const char *s, long *maj, long *min)
{
    char *end;
    if (!s || !*s)
        return -1;
    *maj = strtol(s, &end, 10);
    if (end == s || *end != '.')
        return -1;
    s = end + 1;
    *min = strtol(s, &end, 10);
    if (end == s || *end)
        return -1;
    return 0;
}

int url_version_cmp(const char *a, const char *b)
{
    long amaj = 0, amin = 0, bmaj = 0, bmin = 0;
    parse_ver(a, &amaj, &amin);
    parse_ver(b, &bmaj, &bmin);
    if (amaj != bmaj)
        return amaj < bmaj ? -1 : 1;
    if (amin != bmin)
        return amin < bmin ? -1 : 1;
    return 0;
}

int url_negotiate_version(const char *ours_max, const char *ours_min, const char *daemon_max,
                          const char *daemon_min, char *out, size_t cap, struct nt_err *err)
{
    const char *op = "negotiate API version";
    long a, b;
    const char *v;

    if (parse_ver(daemon_max, &a, &b))
        return nt_err_set(err, NT_PARSE, op, "engine reported no usable API version ('%s')",
                          daemon_max ? daemon_max : "");
    v = url_version_cmp(ours_max, daemon_max) <= 0 ? ours_max : daemon_max;
    if (url_version_cmp(v, ours_min) < 0)
        return nt_err_set(err, NT_ENGINE, op,
                          "engine API %s is older than natrig's minimum %s: upgrade the engine",
                          daemon_max, ours_min);
    if (daemon_min && *daemon_min && parse_ver(daemon_min, &a, &b) == 0 &&
        url_version_cmp(v, daemon_min) < 0)
        return nt_err_set(err, NT_ENGINE, op,
                          "engine requires API %s or newer, natrig speaks at most %s", daemon_min,
                          ours_max);
    if ((size_t)snprintf(out, cap, "%s", v) >= cap)
        return nt_err_set(err, NT_LIMIT, op, "version string too long");
    return 0;
}

int url_escape_path(struct buf *out, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != '/' && s[j] != ':' && s[j] != '@')
            j++;
        if (url_escape(out, s + i, j - i))
            return -1;
        if (j < n && buf_append(out, s + j, 1))
            return -1;
        i = j + 1;
    }
    return 0;
}
