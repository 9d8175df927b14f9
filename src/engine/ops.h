/* ops.h - the Engine operations natrig uses, as data: name, method, path template,
 * accepted query keys, body type and response mode. One table serves the C callers and
 * the Lua binding, and unknown parameters are refused by name.
 * Ops that only build requests do no I/O; engine_op_submit hands them to the transport. */
#ifndef NT_OPS_H
#define NT_OPS_H
#include <stddef.h>

#include "engine/engine.h"

struct engine_op {
    const char *name;         /* "container_create" */
    const char *method;       /* "POST" */
    const char *path;         /* "/containers/{id}/start": {id} is the one path parameter */
    const char *query;        /* accepted query keys, space separated: "name platform" */
    const char *content_type; /* body type, NULL when the op takes no body */
    enum engine_mode mode;
    long timeout_ms; /* 0: no limit (waits, follows, builds) */
    int unversioned;
    /* 1: what it makes carries the run's labels and teardown must find it, so an abort
     * lets a request in flight finish (natrig.task.recover) instead of abandoning it */
    int drain;
};

/* The op called name, or NULL. */
const struct engine_op *engine_op_find(const char *name);
/* The whole table, terminated by an entry with name NULL. */
const struct engine_op *engine_op_table(void);

/* Build op's path into out from n (key, value) parameters: "id" fills {id}, the rest
 * become query parameters and must be listed in op->query. Returns 0, or -1 with err
 * naming the missing or unknown parameter. */
int engine_op_path(const struct engine_op *op, const char *const *keys, const char *const *vals,
                   size_t n, struct buf *out, struct nt_err *err);

/* Build and submit. body may be NULL; body_file (NULL: none) is a host file sent as the body
 * instead. mode_override < 0 keeps the op's mode; timeout_ms < 0 keeps the op's. Returns
 * the request id or -1 with err filled. */
int engine_op_submit(struct engine *e, const struct engine_op *op, const char *const *keys,
                     const char *const *vals, size_t n, const char *body, size_t body_len,
                     const char *body_file, int mode_override, long timeout_ms, struct nt_err *err);
#endif
