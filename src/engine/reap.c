/* reap.c - label-based removal, and the watchdog child that does it when we die. */
#include "engine/reap.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "engine/ops.h"

struct ids {
    char **v;
    int n;
};

static void collect_ids(void *ud, const struct engine_event *ev)
{
    struct ids *ids = ud;
    cJSON *j, *it;
    if (!ev->done || ev->error)
        return;
    j = cJSON_ParseWithLength(ev->body.data ? ev->body.data : "", ev->body.len);
    cJSON_ArrayForEach(it, j)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "Id");
        if (cJSON_IsString(id)) {
            ids->v = xrealloc(ids->v, sizeof(char *) * (size_t)(ids->n + 1));
            ids->v[ids->n++] = xstrdup(id->valuestring);
        }
    }
    cJSON_Delete(j);
}

struct remove_ctx {
    int left, failed;
    char first_error[300];
};

static void removed(void *ud, const struct engine_event *ev)
{
    struct remove_ctx *c = ud;
    if (!ev->done)
        return;
    c->left--;
    /* 404: already gone (an AutoRemove container, a concurrent reaper) is success. */
    if (ev->error && ev->status != 404) {
        if (!c->failed)
            snprintf(c->first_error, sizeof c->first_error, "%s", ev->error);
        c->failed++;
    }
}

static int remove_all(struct engine *e, const char *list_op, const char *rm_op,
                      const char *label, int *count, struct nt_err *err)
{
    char filters[600];
    const char *lk[] = {"filters", "all"};
    const char *lv[] = {filters, "true"};
    const char *rk[] = {"id", "force", "v"};
    struct ids ids = {NULL, 0};
    struct remove_ctx c = {0, 0, ""};
    int is_ctr = strcmp(list_op, "container_list") == 0;
    int rc = 0;

    snprintf(filters, sizeof filters, "{\"label\":[\"%s\"]}", label);
    int id = engine_op_submit(e, engine_op_find(list_op), lk, lv, is_ctr ? 2 : 1, NULL, 0, -1,
                              -1, err);
    if (id < 0)
        return -1;
    while (engine_pending(e) > 0)
        if (engine_poll(e, 1000, collect_ids, &ids) < 0)
            return nt_err_set(err, NT_SYS, "reap", "interrupted");
    for (int i = 0; i < ids.n; i++) {
        const char *rv[] = {ids.v[i], "true", "true"};
        if (engine_op_submit(e, engine_op_find(rm_op), rk, rv, is_ctr ? 3 : 1, NULL, 0, -1, -1,
                             err) > 0)
            c.left++;
    }
    while (c.left > 0)
        if (engine_poll(e, 1000, removed, &c) < 0) {
            rc = nt_err_set(err, NT_SYS, "reap", "interrupted");
            break;
        }
    if (!rc && c.failed)
        rc = nt_err_set(err, NT_ENGINE, "reap", "%d of %d %s not removed: %s", c.failed, ids.n,
                        is_ctr ? "containers" : "networks", c.first_error);
    if (count)
        *count = ids.n - c.failed;
    for (int i = 0; i < ids.n; i++)
        free(ids.v[i]);
    free(ids.v);
    return rc;
}

int reap_label(struct engine *e, const char *label, int *containers, int *networks,
               struct nt_err *err)
{
    if (engine_pending(e))
        return nt_err_set(err, NT_EINVAL, "reap", "requests still in flight");
    if (remove_all(e, "container_list", "container_remove", label, containers, err))
        return -1;
    return remove_all(e, "network_list", "network_remove", label, networks, err);
}

int reap_spawn_watchdog(const char *host, const char *label, struct nt_err *err)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC))
        return nt_err_set(err, NT_SYS, "start reaper", "pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return nt_err_set(err, NT_SYS, "start reaper", "fork: %s", strerror(errno));
    }
    if (pid > 0) {
        /* Parent keeps the write end open for its whole life; it is never written. */
        close(fds[0]);
        return pid;
    }
    /* Child: its own session so the terminal's Ctrl-C does not reach it. */
    setsid();
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    close(fds[1]);
    for (int fd = 3; fd < 1024; fd++)
        if (fd != fds[0])
            close(fd);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        if (!getenv("NATRIG_REAPER_DEBUG"))
            dup2(devnull, 2);
    }
    char c;
    while (read(fds[0], &c, 1) < 0 && errno == EINTR)
        ;
    struct nt_err e2 = {0};
    struct engine *e = engine_open(host, &e2);
    if (e) {
        /* Two rounds: a container created during the first can still appear. */
        reap_label(e, label, NULL, NULL, &e2);
        reap_label(e, label, NULL, NULL, &e2);
        engine_close(e);
    }
    _exit(0);
}
