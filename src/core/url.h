/* url.h - query-string encoding and Engine path templates. Pure.
 * Functions borrow their inputs and append to a caller-owned struct buf. */
#ifndef NT_URL_H
#define NT_URL_H
#include <stddef.h>

struct buf;
struct nt_err;

/* Append s percent-encoded for a query value or path segment (RFC 3986 unreserved kept). */
int url_escape(struct buf *out, const char *s, size_t n);

/* Append "?k=v&k2=v2" (or "&..." when the buffer already holds a '?'), escaping both. */
int url_add_query(struct buf *out, const char *key, const char *val);

/* Parse a DOCKER_HOST value. unix:///path -> *is_unix=1, target=path; tcp://host:port ->
 * *is_unix=0, target="http://host:port". NULL or "" means the default unix socket.
 * Returns 0, or -1 for an unsupported scheme (ssh://, npipe://) with err filled. */
int url_parse_docker_host(const char *host, int *is_unix, char *target, size_t cap,
                          struct nt_err *err);

/* Compare dotted API versions numerically ("1.9" < "1.10"). Returns <0, 0, >0. */
int url_version_cmp(const char *a, const char *b);

/* Pick the API version: min(ours, daemon max); fails when below daemon min (may be NULL
 * or "") or below our own floor. Writes e.g. "1.41" to out. */
int url_negotiate_version(const char *ours_max, const char *ours_min, const char *daemon_max,
                          const char *daemon_min, char *out, size_t cap, struct nt_err *err);

/* Like url_escape but keeps '/', ':' and '@', for path parameters such as image
 * references ("natrig/base:abc"), which the engine's router takes unescaped. */
int url_escape_path(struct buf *out, const char *s, size_t n);
#endif
