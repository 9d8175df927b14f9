/* ops.c - the table of Engine operations and the request builder. */
#include "engine/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/url.h"

#define JSON "application/json"
#define TAR "application/x-tar"
#define T 30000L /* ordinary calls: 30 s */

static const struct engine_op ops[] = {
    {"ping", "GET", "/_ping", "", NULL, ENGINE_BUFFER, 10000, 1, 0},
    {"version", "GET", "/version", "", NULL, ENGINE_BUFFER, 10000, 1, 0},
    {"info", "GET", "/info", "", NULL, ENGINE_BUFFER, T, 0, 0},
    {"network_create", "POST", "/networks/create", "", JSON, ENGINE_BUFFER, T, 0, 1},
    {"network_connect", "POST", "/networks/{id}/connect", "", JSON, ENGINE_BUFFER, T, 0, 1},
    {"network_disconnect", "POST", "/networks/{id}/disconnect", "", JSON, ENGINE_BUFFER, T, 0, 0},
    {"network_inspect", "GET", "/networks/{id}", "verbose", NULL, ENGINE_BUFFER, T, 0, 0},
    {"network_list", "GET", "/networks", "filters", NULL, ENGINE_BUFFER, T, 0, 0},
    {"network_remove", "DELETE", "/networks/{id}", "", NULL, ENGINE_BUFFER, T, 0, 0},
    {"network_prune", "POST", "/networks/prune", "filters", NULL, ENGINE_BUFFER, T, 0, 0},
    {"container_create", "POST", "/containers/create", "name", JSON, ENGINE_BUFFER, T, 0, 1},
    {"container_start", "POST", "/containers/{id}/start", "", NULL, ENGINE_BUFFER, T, 0, 0},
    {"container_stop", "POST", "/containers/{id}/stop", "t", NULL, ENGINE_BUFFER, 0, 0, 0},
    {"container_kill", "POST", "/containers/{id}/kill", "signal", NULL, ENGINE_BUFFER, T, 0, 0},
    {"container_pause", "POST", "/containers/{id}/pause", "", NULL, ENGINE_BUFFER, T, 0, 0},
    {"container_unpause", "POST", "/containers/{id}/unpause", "", NULL, ENGINE_BUFFER, T, 0, 0},
    {"container_restart", "POST", "/containers/{id}/restart", "t", NULL, ENGINE_BUFFER, 0, 0, 0},
    {"container_wait", "POST", "/containers/{id}/wait", "condition", NULL, ENGINE_BUFFER, 0, 0, 0},
    {"container_inspect", "GET", "/containers/{id}/json", "", NULL, ENGINE_BUFFER, T, 0, 0},
    {"container_remove", "DELETE", "/containers/{id}", "force v", NULL, ENGINE_BUFFER, T, 0, 0},
    {"container_list", "GET", "/containers/json", "all filters", NULL, ENGINE_BUFFER, T, 0, 0},
    {"container_put_archive", "PUT", "/containers/{id}/archive", "path", TAR, ENGINE_BUFFER, 0, 0,
     0},
    {"container_get_archive", "GET", "/containers/{id}/archive", "path", NULL, ENGINE_BUFFER, 0, 0,
     0},
    {"container_logs", "GET", "/containers/{id}/logs",
     "stdout stderr timestamps since until tail follow", NULL, ENGINE_DEMUX, 0, 0, 0},
    {"exec_create", "POST", "/containers/{id}/exec", "", JSON, ENGINE_BUFFER, T, 0, 0},
    {"exec_start", "POST", "/exec/{id}/start", "", JSON, ENGINE_DEMUX, 0, 0, 0},
    {"exec_inspect", "GET", "/exec/{id}/json", "", NULL, ENGINE_BUFFER, T, 0, 0},
    {"image_build", "POST", "/build", "t labels dockerfile rm forcerm nocache version q", TAR,
     ENGINE_LINES, 0, 0, 0},
    {"image_import", "POST", "/images/create", "fromSrc repo tag message changes", TAR,
     ENGINE_LINES, 0, 0, 0},
    /* The engine's event stream (JSON lines): container exits, for liveness. */
    {"events", "GET", "/events", "since until filters", NULL, ENGINE_LINES, 0, 0, 0},
    {"image_inspect", "GET", "/images/{id}/json", "", NULL, ENGINE_BUFFER, T, 0, 0},
    {"image_remove", "DELETE", "/images/{id}", "force noprune", NULL, ENGINE_BUFFER, T, 0, 0},
    {"image_list", "GET", "/images/json", "all filters", NULL, ENGINE_BUFFER, T, 0, 0},
    {"image_prune", "POST", "/images/prune", "filters", NULL, ENGINE_BUFFER, T, 0, 0},
    {NULL, NULL, NULL, NULL, NULL, ENGINE_BUFFER, 0, 0, 0},
};

const struct engine_op *engine_op_table(void)
{
    return ops;
}

const struct engine_op *engine_op_find(const char *name)
{
    for (const struct engine_op *op = ops; op->name; op++)
        if (strcmp(op->name, name) == 0)
            return op;
    return NULL;
}

static int query_allowed(const char *list, const char *key)
{
    size_t n = strlen(key);
    const char *p = list;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (w == n && strncmp(p, key, n) == 0)
            return 1;
        p += w;
        while (*p == ' ')
            p++;
    }
    return 0;
}

int engine_op_path(const struct engine_op *op, const char *const *keys, const char *const *vals,
                   size_t n, struct buf *out, struct nt_err *err)
{
    const char *slot = strstr(op->path, "{id}");
    const char *id = NULL;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i], "id") == 0) {
            id = vals[i];
        } else if (!query_allowed(op->query, keys[i])) {
            int has_id = strstr(op->path, "{id}") != NULL;
            return nt_err_set(err, NT_EINVAL, op->name, "unknown parameter '%s' (accepted: %s%s%s)",
                              keys[i], has_id ? "id" : "", has_id && op->query[0] ? ", " : "",
                              op->query[0] ? op->query : (has_id ? "" : "none"));
        }
    }
    if (slot && (!id || !*id))
        return nt_err_set(err, NT_EINVAL, op->name, "parameter 'id' is required");
    /* A "." or ".." segment would let curl normalise the path into another endpoint. */
    if (id) {
        const char *p = id;
        while (*p) {
            size_t seg = strcspn(p, "/");
            if ((seg == 1 && p[0] == '.') || (seg == 2 && p[0] == '.' && p[1] == '.'))
                return nt_err_set(err, NT_EINVAL, op->name,
                                  "parameter 'id' ('%s') has a dot segment", id);
            p += seg;
            if (*p == '/')
                p++;
        }
    }
    if (!slot && id)
        return nt_err_set(err, NT_EINVAL, op->name, "takes no 'id' parameter");
    if (slot) {
        if (buf_append(out, op->path, (size_t)(slot - op->path)) ||
            url_escape_path(out, id, strlen(id)) || buf_appends(out, slot + 4))
            return nt_err_set(err, NT_LIMIT, op->name, "path too long");
    } else if (buf_appends(out, op->path)) {
        return nt_err_set(err, NT_LIMIT, op->name, "path too long");
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(keys[i], "id") == 0)
            continue;
        if (url_add_query(out, keys[i], vals[i]))
            return nt_err_set(err, NT_LIMIT, op->name, "query too long");
    }
    return 0;
}

/* An ordinary call's timeout: NATRIG_ENGINE_TIMEOUT seconds (> 0, at most a day), else T. */
static long ordinary_timeout_ms(void)
{
    const char *s = getenv(ENGINE_TIMEOUT_ENV);
    char *end;
    double v;
    if (!s || !*s)
        return T;
    v = strtod(s, &end);
    if (*end || !(v > 0) || v > 86400)
        return T;
    return (long)(v * 1000.0);
}

int engine_op_submit(struct engine *e, const struct engine_op *op, const char *const *keys,
                     const char *const *vals, size_t n, const char *body, size_t body_len,
                     const char *body_file, int mode_override, long timeout_ms, struct nt_err *err)
{
    struct buf path;
    int id;

    buf_init(&path, 64 << 10);
    if (engine_op_path(op, keys, vals, n, &path, err)) {
        buf_free(&path);
        return -1;
    }
    struct engine_req r = {
        op->method,
        path.data,
        body || body_file ? op->content_type : NULL,
        body,
        body_len,
        mode_override >= 0 ? (enum engine_mode)mode_override : op->mode,
        timeout_ms >= 0 ? timeout_ms
                        : (op->timeout_ms == T ? ordinary_timeout_ms() : op->timeout_ms),
        op->unversioned,
        body_file,
    };
    id = engine_submit(e, &r, err);
    if (id < 0 && err)
        snprintf(err->op, sizeof err->op, "%s", op->name);
    buf_free(&path);
    return id;
}
