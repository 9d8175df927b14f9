/* test_ops.c - TAP tests for engine/ops: the op table is complete and well-formed, and
 * engine_op_path (pure: no engine, no I/O) substitutes {id}, appends escaped query
 * parameters and refuses unknown, missing or misplaced parameters by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "engine/ops.h"
#include "tap.h"

/* --- the table ------------------------------------------------------------------------- */

static int method_ok(const char *m)
{
    static const char *const ms[] = {"GET", "POST", "PUT", "DELETE", "HEAD"};
    for (size_t i = 0; m && i < sizeof ms / sizeof ms[0]; i++)
        if (strcmp(m, ms[i]) == 0)
            return 1;
    return 0;
}

static void check_table(void)
{
    const struct engine_op *t = engine_op_table();
    size_t n = 0;

    ok(t != NULL, "engine_op_table() is not NULL");
    for (const struct engine_op *op = t; op->name; op++, n++) {
        const char *slot = strstr(op->path ? op->path : "", "{id}");
        int good = op->name[0] && method_ok(op->method) && op->path && op->path[0] == '/' &&
                   op->query != NULL && (!slot || !strstr(slot + 4, "{id}")) &&
                   !strchr(op->path, '?') && engine_op_find(op->name) == op &&
                   (op->content_type == NULL || strcmp(op->content_type, "application/json") == 0 ||
                    strcmp(op->content_type, "application/x-tar") == 0) &&
                   op->timeout_ms >= 0 && (int)op->mode >= ENGINE_BUFFER &&
                   (int)op->mode <= ENGINE_LINES;

        /* Build its path: with an id where it has {id}, without otherwise. */
        struct buf b;
        struct nt_err err;
        const char *keys[] = {"id"}, *vals[] = {"X1"};
        char want[256];
        buf_init(&b, 0);
        memset(&err, 0, sizeof err);
        int rc = engine_op_path(op, keys, vals, slot ? 1 : 0, &b, &err);
        if (slot)
            snprintf(want, sizeof want, "%.*sX1%s", (int)(slot - op->path), op->path, slot + 4);
        else
            snprintf(want, sizeof want, "%s", op->path);
        good = good && rc == 0 && b.data && strcmp(b.data, want) == 0;
        ok(good, "op %s: %s %s (query '%s') -> %s%s", op->name, op->method, op->path, op->query,
           b.data ? b.data : "(none)", rc ? err.msg : "");
        buf_free(&b);

        /* Every accepted query key is accepted by the builder. */
        const char *q = op->query;
        int qgood = 1;
        while (*q) {
            char key[64];
            size_t w = strcspn(q, " ");
            snprintf(key, sizeof key, "%.*s", (int)w, q);
            const char *ks[] = {"id", key}, *vs[] = {"X1", "v"};
            buf_init(&b, 0);
            if (engine_op_path(op, slot ? ks : ks + 1, slot ? vs : vs + 1, slot ? 2 : 1, &b,
                               NULL) != 0 ||
                !strstr(b.data, "?") || strcmp(strchr(b.data, '?') + 1 + w, "=v") != 0) {
                qgood = 0;
                printf("# op %s: key '%s' -> %s\n", op->name, key, b.data ? b.data : "(none)");
            }
            buf_free(&b);
            q += w;
            while (*q == ' ')
                q++;
        }
        ok(qgood, "op %s: each accepted query key builds", op->name);

        /* Names are unique. */
        for (const struct engine_op *o2 = op + 1; o2->name; o2++)
            if (strcmp(o2->name, op->name) == 0)
                ok(0, "op name %s is unique", op->name);
    }
    ok(n >= 30, "table holds %zu ops", n);
    ok(engine_op_find("nope") == NULL, "engine_op_find(unknown) is NULL");
    ok(engine_op_find("") == NULL, "engine_op_find(\"\") is NULL");
    {
        static const char *const needed[] = {"ping",
                                             "version",
                                             "container_create",
                                             "container_start",
                                             "exec_create",
                                             "exec_start",
                                             "network_create",
                                             "image_build",
                                             "container_logs",
                                             "container_put_archive"};
        int all = 1;
        for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
            if (!engine_op_find(needed[i])) {
                all = 0;
                printf("# missing op %s\n", needed[i]);
            }
        ok(all, "the ops natrig needs are present");
    }
    ok(engine_op_find("ping")->unversioned && engine_op_find("version")->unversioned &&
           !engine_op_find("info")->unversioned,
       "ping and version are unversioned, others are not");
}

/* --- engine_op_path rows ----------------------------------------------------------------- */

#define MAXP 4

struct row {
    const char *name; /* row label */
    const char *op;
    const char *kv[MAXP][2];
    const char *want; /* NULL: must fail with NT_EINVAL */
    const char *msg_has[2];
    const char *msg_lacks; /* when failing: text the message must not hold */
};

static const struct row rows[] = {
    {"plain id", "container_start", {{"id", "abc123"}}, "/containers/abc123/start", {0}, NULL},
    {"id in the middle", "exec_start", {{"id", "e1"}}, "/exec/e1/start", {0}, NULL},
    {"id at the end", "network_remove", {{"id", "net1"}}, "/networks/net1", {0}, NULL},
    {"image ref stays readable",
     "image_inspect",
     {{"id", "natrig/base:abc"}},
     "/images/natrig/base:abc/json",
     {0},
     NULL},
    {"registry ref with digest stays readable",
     "image_remove",
     {{"id", "registry.example.com:5000/natrig/base@sha256:0a1b"}},
     "/images/registry.example.com:5000/natrig/base@sha256:0a1b",
     {0},
     NULL},
    {"spaces become %20",
     "container_start",
     {{"id", "my container"}},
     "/containers/my%20container/start",
     {0},
     NULL},
    {"? # & escaped in id",
     "container_start",
     {{"id", "a?b#c&d"}},
     "/containers/a%3Fb%23c%26d/start",
     {0},
     NULL},
    {"UTF-8 id escaped",
     "container_inspect",
     {{"id", "caf\xc3\xa9"}},
     "/containers/caf%C3%A9/json",
     {0},
     NULL},
    {"no parameters", "ping", {{NULL}}, "/_ping", {0}, NULL},
    {"op without id", "info", {{NULL}}, "/info", {0}, NULL},
    {"one query param",
     "container_create",
     {{"name", "natrig-run1-a"}},
     "/containers/create?name=natrig-run1-a",
     {0},
     NULL},
    {"query value escaped",
     "container_create",
     {{"name", "a b&c=d"}},
     "/containers/create?name=a%20b%26c%3Dd",
     {0},
     NULL},
    {"filters JSON escaped",
     "network_list",
     {{"filters", "{\"label\":[\"natrig.run=1\"]}"}},
     "/networks?filters=%7B%22label%22%3A%5B%22natrig.run%3D1%22%5D%7D",
     {0},
     NULL},
    {"two query params in order",
     "container_list",
     {{"all", "1"}, {"filters", "{}"}},
     "/containers/json?all=1&filters=%7B%7D",
     {0},
     NULL},
    {"id plus query",
     "container_logs",
     {{"id", "c1"}, {"stdout", "1"}, {"stderr", "1"}, {"tail", "100"}},
     "/containers/c1/logs?stdout=1&stderr=1&tail=100",
     {0},
     NULL},
    {"id given after query",
     "container_kill",
     {{"signal", "SIGKILL"}, {"id", "c1"}},
     "/containers/c1/kill?signal=SIGKILL",
     {0},
     NULL},
    {"remove with force and v",
     "container_remove",
     {{"id", "c1"}, {"force", "1"}, {"v", "1"}},
     "/containers/c1?force=1&v=1",
     {0},
     NULL},
    {"archive path escaped",
     "container_put_archive",
     {{"id", "c1"}, {"path", "/etc/natrig"}},
     "/containers/c1/archive?path=%2Fetc%2Fnatrig",
     {0},
     NULL},
    {"build tag escaped",
     "image_build",
     {{"t", "natrig/base:abc"}, {"rm", "1"}},
     "/build?t=natrig%2Fbase%3Aabc&rm=1",
     {0},
     NULL},
    {"empty query value",
     "container_logs",
     {{"id", "c1"}, {"since", ""}},
     "/containers/c1/logs?since=",
     {0},
     NULL},
    /* refusals */
    {"unknown parameter",
     "container_start",
     {{"id", "c1"}, {"foo", "1"}},
     NULL,
     {"'foo'", NULL},
     NULL},
    {"unknown parameter on op with query keys",
     "container_create",
     {{"nam", "x"}},
     NULL,
     {"'nam'", "name"},
     NULL},
    {"key that extends an accepted one",
     "container_create",
     {{"names", "x"}},
     NULL,
     {"'names'", NULL},
     NULL},
    {"key that is a word of another op",
     "network_list",
     {{"all", "1"}},
     NULL,
     {"'all'", NULL},
     NULL},
    {"empty key", "container_create", {{"", "x"}}, NULL, {"''", NULL}, NULL},
    {"missing id", "container_start", {{NULL}}, NULL, {"'id'", "required"}, NULL},
    {"missing id with query", "container_logs", {{"stdout", "1"}}, NULL, {"'id'", NULL}, NULL},
    {"empty id", "container_start", {{"id", ""}}, NULL, {"'id'", NULL}, NULL},
    {"id given to an op without {id}", "network_list", {{"id", "x"}}, NULL, {"'id'", NULL}, NULL},
    {"id given to ping", "ping", {{"id", "x"}}, NULL, {"'id'", NULL}, NULL},
    /* The "accepted" list must not offer 'id' to an op whose path has no {id} (the
     * builder refuses it there). Its parenthesis is checked after the table. */
    {"unknown-parameter message on op without {id} does not offer id",
     "container_create",
     {{"foo", "1"}},
     NULL,
     {"'foo'", "name"},
     "id,"},
    /* Dot segments in {id} change the endpoint once the client normalises the URL
     * (curl removes "/../" by default): "../containers/x" given to image_remove would
     * become DELETE /containers/x. Such ids must be refused. */
    {"id '..' refused", "container_start", {{"id", ".."}}, NULL, {"'id'", NULL}, NULL},
    {"id with a '..' segment refused",
     "image_remove",
     {{"id", "../containers/x"}},
     NULL,
     {"'id'", NULL},
     NULL},
    {"id '.' refused", "container_start", {{"id", "."}}, NULL, {"'id'", NULL}, NULL},
};

static void check_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        const struct engine_op *op = engine_op_find(r->op);
        const char *keys[MAXP], *vals[MAXP];
        size_t n = 0;
        struct buf b;
        struct nt_err err;

        ok(op != NULL, "%s: op %s exists", r->name, r->op);
        if (!op)
            continue;
        for (; n < MAXP && r->kv[n][0]; n++) {
            keys[n] = r->kv[n][0];
            vals[n] = r->kv[n][1];
        }
        buf_init(&b, 0);
        memset(&err, 0, sizeof err);
        int rc = engine_op_path(op, keys, vals, n, &b, &err);
        if (r->want) {
            is_int(rc, 0, "%s: %s accepted%s%s", r->name, r->op, rc ? ": " : "", err.msg);
            is_str(b.data ? b.data : "", r->want, "%s: -> %s", r->name, r->want);
        } else {
            is_int(rc, -1, "%s: %s refused%s%s%s", r->name, r->op, rc ? "" : " (got ",
                   rc ? "" : (b.data ? b.data : ""), rc ? "" : ")");
            if (rc == -1) {
                int has = err.code == NT_EINVAL && strcmp(err.op, r->op) == 0;
                for (int k = 0; k < 2 && r->msg_has[k]; k++)
                    has = has && strstr(err.msg, r->msg_has[k]);
                ok(has, "%s: einval, op %s, message names the parameter (%s)", r->name, r->op,
                   err.msg);
                if (r->msg_lacks)
                    ok(!strstr(err.msg, r->msg_lacks), "%s: message lacks '%s' (%s)", r->name,
                       r->msg_lacks, err.msg);
            }
        }
        buf_free(&b);
    }

    /* Parentheses in the unknown-parameter message balance. */
    {
        struct buf b;
        struct nt_err err;
        const char *keys[] = {"id", "bogus"}, *vals[] = {"c1", "1"};
        int open = 0, close = 0;
        buf_init(&b, 0);
        memset(&err, 0, sizeof err);
        engine_op_path(engine_op_find("container_logs"), keys, vals, 2, &b, &err);
        for (const char *p = err.msg; *p; p++) {
            open += *p == '(';
            close += *p == ')';
        }
        ok(open == close, "unknown-parameter message closes its parenthesis: %s", err.msg);
        buf_free(&b);
    }

    /* A bounded output buffer: the path does not fit. */
    {
        struct buf b;
        struct nt_err err;
        const char *keys[] = {"id"}, *vals[] = {"a-rather-long-container-id"};
        buf_init(&b, 16);
        memset(&err, 0, sizeof err);
        is_int(engine_op_path(engine_op_find("container_start"), keys, vals, 1, &b, &err), -1,
               "path longer than the buffer refused");
        is_int(err.code, NT_LIMIT, "path too long: code limit");
        buf_free(&b);

        const char *qk[] = {"filters"}, *qv[] = {"{\"label\":[\"x\"]}"};
        buf_init(&b, 20);
        memset(&err, 0, sizeof err);
        is_int(engine_op_path(engine_op_find("network_list"), qk, qv, 1, &b, &err), -1,
               "query longer than the buffer refused");
        is_int(err.code, NT_LIMIT, "query too long: code limit");
        buf_free(&b);
    }

    /* err NULL is allowed. */
    {
        struct buf b;
        buf_init(&b, 0);
        is_int(engine_op_path(engine_op_find("container_start"), NULL, NULL, 0, &b, NULL), -1,
               "missing id with err NULL");
        buf_free(&b);
    }
}

int main(void)
{
    check_table();
    check_rows();
    return tap_done();
}
