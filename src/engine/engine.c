/* engine.c - the Engine API transport: curl multi handle, one easy handle per request,
 * version negotiation, engine error messages. Uses core/url and core/demux. */
#include "engine/engine.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "base/sig.h"
#include "base/xalloc.h"
#include "core/demux.h"
#include "core/url.h"

#define BODY_MAX ((size_t)256 << 20) /* a response larger than this is an error */
/* A stream holding this much undelivered data pauses until the caller has taken it: the
 * bytes wait in the engine, not in this process (one curl_multi_perform reads up to 1.6 MB
 * per transfer, and Lua makes several copies of what it is handed). */
#define STREAM_HELD_MAX ((size_t)64 << 10)

struct xfer {
    struct xfer *next;
    int id;
    CURL *h;
    struct curl_slist *headers;
    char *req_body;
    FILE *body_fp; /* the request's body_file, read as curl sends it */
    enum engine_mode mode;
    struct demux dmx;
    struct buf body, out, errout;
    int has_data; /* stream pieces waiting to be reported */
    int paused;   /* STREAM_HELD_MAX reached: resumed once the pieces are taken */
    int failed;   /* a limit or garbage stopped the transfer */
    long timeout_ms;
    char what[160]; /* "POST /containers/create" (no query): names it in a timeout */
    char fail_msg[256];
    char curl_err[CURL_ERROR_SIZE];
};

struct engine {
    CURLM *multi;
    long max_xfers; /* from the open-file limit: every transfer may hold a socket */
    int is_unix;
    char target[512];
    char host[512];
    char api[16];
    char version[64];
    struct xfer *xfers;
    /* Events of one engine_poll, collected before any callback runs: a callback that
     * raises (Lua's longjmp) cannot leave a finished transfer linked with curl, and the
     * batch it did not see to the end is delivered again by the next poll. */
    struct batch_ev *batch;
    int nbatch, capbatch;
    int batch_open; /* 1 from collection until every callback of the batch returned */
};

struct batch_ev {
    struct engine_event ev;
    char msg[600];
};

static int curl_ready;
/* Request ids are unique across every engine of the process, not per engine: the Lua
 * scheduler maps ids to coroutines in one table, and a run over several engines (a
 * Swarm, issue 16) has requests in flight on each. */
static int engine_last_id;

long engine_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl))
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    /* curl's poll() path has no fd ceiling, but keep the figure sane for the checks. */
    return rl.rlim_cur > 1048576 ? 1048576 : (long)rl.rlim_cur;
}

const char *engine_api_version(const struct engine *e)
{
    return e->api;
}
const char *engine_version(const struct engine *e)
{
    return e->version;
}
const char *engine_host(const struct engine *e)
{
    return e->host;
}

void engine_error_message(const char *body, size_t n, char *out, size_t cap)
{
    cJSON *j = cJSON_ParseWithLength(body, n);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (cJSON_IsString(m)) {
        snprintf(out, cap, "%s", m->valuestring);
    } else {
        /* Not JSON: keep the first line of the raw text. */
        size_t len = n;
        const char *nl = memchr(body, '\n', n);
        if (nl)
            len = (size_t)(nl - body);
        if (len && body[len - 1] == '\r')
            len--;
        snprintf(out, cap, "%.*s", (int)(len > 300 ? 300 : len), body);
    }
    cJSON_Delete(j);
}

static int sink(void *ud, int stream, const char *p, size_t n)
{
    struct xfer *x = ud;
    struct buf *b = stream == 2 ? &x->errout : &x->out;
    if (buf_append(b, p, n))
        return -1;
    x->has_data = 1;
    return 0;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    long status = 0;

    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
    /* Error bodies are JSON, never framed: keep them whole whatever the mode. */
    if (x->mode == ENGINE_BUFFER || status >= 300) {
        if (buf_append(&x->body, p, n)) {
            snprintf(x->fail_msg, sizeof x->fail_msg, "response larger than %zu bytes",
                     x->body.max);
            x->failed = 1;
            return 0;
        }
        return n;
    }
    /* Only pieces the caller takes as they come (collect_data): a whole body (DEMUX) is
     * taken at the end, and pausing it would wait for good. */
    if ((x->mode == ENGINE_STREAM || x->mode == ENGINE_LINES) &&
        x->out.len + x->errout.len >= STREAM_HELD_MAX) {
        x->paused = 1;
        return CURL_WRITEFUNC_PAUSE; /* curl keeps this piece and hands it over again */
    }
    if (x->mode == ENGINE_LINES) {
        if (buf_append(&x->out, p, n)) {
            snprintf(x->fail_msg, sizeof x->fail_msg, "stream piece larger than %zu bytes",
                     x->out.max);
            x->failed = 1;
            return 0;
        }
        x->has_data = 1;
        return n;
    }
    struct nt_err err = {0};
    if (demux_feed(&x->dmx, p, n, sink, x, &err)) {
        snprintf(x->fail_msg, sizeof x->fail_msg, "%s", err.msg);
        x->failed = 1;
        return 0;
    }
    return n;
}

static void xfer_free(struct xfer *x)
{
    if (x->h)
        curl_easy_cleanup(x->h);
    curl_slist_free_all(x->headers);
    free(x->req_body);
    if (x->body_fp)
        fclose(x->body_fp);
    buf_free(&x->body);
    buf_free(&x->out);
    buf_free(&x->errout);
    free(x);
}

int engine_submit(struct engine *e, const struct engine_req *r, struct nt_err *err)
{
    const char *op = "engine request";
    struct xfer *x;
    struct buf url;

    if (!r->path || r->path[0] != '/')
        return nt_err_set(err, NT_EINVAL, op, "path must start with '/'");
    if (engine_pending(e) >= e->max_xfers)
        return nt_err_set(err, NT_SYS, op,
                          "%d requests already in flight, the most this process's open-file "
                          "limit allows (raise it: ulimit -n)",
                          engine_pending(e));
    x = xcalloc(1, sizeof *x);
    x->mode = r->mode;
    x->timeout_ms = r->timeout_ms;
    snprintf(x->what, sizeof x->what, "%s %.*s", r->method, (int)strcspn(r->path, "?"), r->path);
    buf_init(&x->body, BODY_MAX);
    buf_init(&x->out, BODY_MAX);
    buf_init(&x->errout, BODY_MAX);
    demux_init(&x->dmx, 0);
    x->h = curl_easy_init();
    if (!x->h) {
        xfer_free(x);
        return nt_err_set(err, NT_TRANSPORT, op, "curl_easy_init failed");
    }
    buf_init(&url, 0);
    buf_appends(&url, e->is_unix ? "http://localhost" : e->target);
    if (!r->unversioned) {
        buf_appends(&url, "/v");
        buf_appends(&url, e->api);
    }
    buf_appends(&url, r->path);
    if (e->is_unix)
        curl_easy_setopt(x->h, CURLOPT_UNIX_SOCKET_PATH, e->target);
    curl_easy_setopt(x->h, CURLOPT_URL, url.data);
    buf_free(&url);
    curl_easy_setopt(x->h, CURLOPT_CUSTOMREQUEST, r->method);
    if (strcmp(r->method, "HEAD") == 0)
        curl_easy_setopt(x->h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->curl_err);
    curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    if (r->timeout_ms > 0)
        curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    /* No "Expect: 100-continue" round trip before large uploads. */
    x->headers = curl_slist_append(x->headers, "Expect:");
    if (r->content_type) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", r->content_type);
        x->headers = curl_slist_append(x->headers, ct);
    }
    curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->headers);
    if (r->body_file) {
        struct stat sb;
        x->body_fp = fopen(r->body_file, "rbe");
        if (!x->body_fp || fstat(fileno(x->body_fp), &sb)) {
            int e2 = errno;
            xfer_free(x);
            return nt_err_set(err, NT_SYS, op, "cannot read the body file %s: %s", r->body_file,
                              strerror(e2));
        }
        /* POST with a read callback (curl's default: fread on READDATA) */
        curl_easy_setopt(x->h, CURLOPT_POST, 1L);
        curl_easy_setopt(x->h, CURLOPT_READDATA, x->body_fp);
        curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sb.st_size);
    } else if (r->body || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0) {
        x->req_body = xmalloc(r->body_len + 1);
        if (r->body_len)
            memcpy(x->req_body, r->body, r->body_len);
        curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->req_body);
        curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
    if (curl_multi_add_handle(e->multi, x->h) != CURLM_OK) {
        xfer_free(x);
        return nt_err_set(err, NT_TRANSPORT, op, "curl_multi_add_handle failed");
    }
    if (engine_last_id == INT_MAX)
        engine_last_id = 0;
    x->id = ++engine_last_id;
    x->next = e->xfers;
    e->xfers = x;
    return x->id;
}

static void unlink_xfer(struct engine *e, struct xfer *x)
{
    for (struct xfer **pp = &e->xfers; *pp; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    }
    curl_multi_remove_handle(e->multi, x->h);
    xfer_free(x);
}

void engine_cancel(struct engine *e, int id)
{
    for (struct xfer *x = e->xfers; x; x = x->next) {
        if (x->id == id) {
            unlink_xfer(e, x);
            return;
        }
    }
}

int engine_pending(const struct engine *e)
{
    int n = 0;
    for (const struct xfer *x = e->xfers; x; x = x->next)
        n++;
    return n;
}

static struct batch_ev *batch_add(struct engine *e)
{
    if (e->nbatch == e->capbatch) {
        e->capbatch = e->capbatch ? e->capbatch * 2 : 16;
        e->batch = xrealloc(e->batch, (size_t)e->capbatch * sizeof *e->batch);
    }
    struct batch_ev *b = &e->batch[e->nbatch++];
    memset(b, 0, sizeof *b);
    return b;
}

static void batch_clear(struct engine *e)
{
    for (int i = 0; i < e->nbatch; i++) {
        buf_free(&e->batch[i].ev.body);
        buf_free(&e->batch[i].ev.out);
        buf_free(&e->batch[i].ev.errout);
    }
    e->nbatch = 0;
    e->batch_open = 0;
}

/* Move a buffer's bytes into the batch, leaving the transfer an empty one of the same limit. */
static void take_buf(struct buf *dst, struct buf *src)
{
    *dst = *src;
    buf_init(src, src->max);
}

/* Whether the request went out whole (the engine accepted the connection and the bytes). */
static int request_sent(struct xfer *x)
{
    long n = 0;
    return curl_easy_getinfo(x->h, CURLINFO_REQUEST_SIZE, &n) == CURLE_OK && n > 0;
}

/* A finished transfer: its event, with the bytes it still held, joins the batch and the
 * transfer is unlinked at once. */
static void collect_done(struct engine *e, struct xfer *x, CURLcode res)
{
    struct batch_ev *b = batch_add(e);
    struct engine_event *ev = &b->ev;

    ev->id = x->id;
    ev->done = 1;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &ev->status);
    if (x->failed) {
        snprintf(b->msg, sizeof b->msg, "%s", x->fail_msg);
    } else if (res == CURLE_OPERATION_TIMEDOUT && request_sent(x)) {
        /* The engine took the request and did not answer in time: it is there, but slow
         * (seen under load: 2 of ~90 concurrent runs). Not "cannot reach". */
        snprintf(b->msg, sizeof b->msg,
                 "the engine at %s did not answer %s within %g s " ENGINE_OVERLOADED, e->host,
                 x->what, (double)x->timeout_ms / 1000.0);
        ev->status = 0;
    } else if (res != CURLE_OK) {
        snprintf(b->msg, sizeof b->msg, "cannot reach the engine at %s: %s", e->host,
                 x->curl_err[0] ? x->curl_err : curl_easy_strerror(res));
        ev->status = 0;
    } else if (ev->status >= 400) {
        engine_error_message(x->body.data ? x->body.data : "", x->body.len, b->msg, sizeof b->msg);
    } else if (x->mode != ENGINE_BUFFER && x->mode != ENGINE_LINES && !demux_at_boundary(&x->dmx)) {
        snprintf(b->msg, sizeof b->msg, "stream ended inside a frame");
    }
    take_buf(&ev->body, &x->body);
    take_buf(&ev->out, &x->out);
    take_buf(&ev->errout, &x->errout);
    unlink_xfer(e, x);
}

static void collect_data(struct engine *e)
{
    for (struct xfer *x = e->xfers; x; x = x->next) {
        if (!x->has_data || (x->mode != ENGINE_STREAM && x->mode != ENGINE_LINES))
            continue;
        struct batch_ev *b = batch_add(e);
        b->ev.id = x->id;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &b->ev.status);
        take_buf(&b->ev.out, &x->out);
        take_buf(&b->ev.errout, &x->errout);
        x->has_data = 0;
        if (x->paused) {
            x->paused = 0;
            curl_easy_pause(x->h, CURLPAUSE_CONT); /* may call write_cb at once: fine */
        }
    }
}

static int deliver(struct engine *e, engine_event_fn fn, void *ud)
{
    e->batch_open = 1;
    for (int i = 0; i < e->nbatch; i++) {
        struct batch_ev *b = &e->batch[i];
        b->ev.error = b->msg[0] ? b->msg : NULL;
        fn(ud, &b->ev);
    }
    e->batch_open = 0;
    return e->nbatch;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int engine_poll(struct engine *e, long timeout_ms, engine_event_fn fn, void *ud)
{
    return engine_poll_wake(e, timeout_ms, -1, fn, ud);
}

int engine_poll_wake(struct engine *e, long timeout_ms, int wake_fd, engine_event_fn fn, void *ud)
{
    long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

    if (e->batch_open)
        return deliver(e, fn, ud);
    batch_clear(e);
    for (;;) {
        int running, left;
        CURLMsg *m;
        struct curl_waitfd wake = {wake_fd, CURL_WAIT_POLLIN, 0};

        curl_multi_perform(e->multi, &running);
        while ((m = curl_multi_info_read(e->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            CURLcode res = m->data.result;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            collect_done(e, x, res);
        }
        collect_data(e);
        if (e->nbatch)
            return deliver(e, fn, ud);
        if (nt_should_stop())
            return -1;
        long left_ms = deadline - now_ms();
        if (left_ms <= 0 || !e->xfers)
            return 0;
        /* Wake at least every 100 ms so a signal reaches the Lua hook promptly. */
        curl_multi_poll(e->multi, wake_fd >= 0 ? &wake : NULL, wake_fd >= 0 ? 1 : 0,
                        (int)(left_ms < 100 ? left_ms : 100), NULL);
        if (wake.revents)
            return 0; /* the caller's descriptor is ready: its turn */
    }
}

struct call_ctx {
    int id;
    int done;
    engine_event_fn fn;
    void *ud;
    struct nt_err *err;
    const char *op;
};

static void call_cb(void *ud, const struct engine_event *ev)
{
    struct call_ctx *c = ud;
    if (ev->id != c->id)
        return;
    if (c->fn)
        c->fn(c->ud, ev);
    if (!ev->done)
        return;
    c->done = 1;
    if (ev->error) {
        nt_err_set(c->err, ev->status ? NT_ENGINE : NT_TRANSPORT, c->op, "%s", ev->error);
        if (c->err)
            c->err->status = (int)ev->status;
        c->done = -1;
    }
}

int engine_call(struct engine *e, const struct engine_req *r, engine_event_fn fn, void *ud,
                struct nt_err *err)
{
    struct call_ctx c = {0, 0, fn, ud, err, r->path};
    c.id = engine_submit(e, r, err);
    if (c.id < 0)
        return -1;
    while (!c.done) {
        if (engine_poll(e, 1000, call_cb, &c) < 0) {
            engine_cancel(e, c.id);
            return nt_err_set(err, NT_SYS, r->path, "interrupted");
        }
    }
    return c.done < 0 ? -1 : 0;
}

struct version_ctx {
    char api[32], min[32], version[64];
    int parsed;
};

static void version_cb(void *ud, const struct engine_event *ev)
{
    struct version_ctx *v = ud;
    cJSON *j;
    if (!ev->done || ev->error)
        return;
    j = cJSON_ParseWithLength(ev->body.data ? ev->body.data : "", ev->body.len);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "ApiVersion");
    const cJSON *mi = cJSON_GetObjectItemCaseSensitive(j, "MinAPIVersion");
    const cJSON *ve = cJSON_GetObjectItemCaseSensitive(j, "Version");
    if (cJSON_IsString(a)) {
        snprintf(v->api, sizeof v->api, "%s", a->valuestring);
        v->parsed = 1;
    }
    if (cJSON_IsString(mi))
        snprintf(v->min, sizeof v->min, "%s", mi->valuestring);
    if (cJSON_IsString(ve))
        snprintf(v->version, sizeof v->version, "%s", ve->valuestring);
    cJSON_Delete(j);
}

struct engine *engine_open(const char *host, struct nt_err *err)
{
    struct engine *e;
    struct version_ctx v = {0};
    struct engine_req r = {"GET", "/version", NULL, NULL, 0, ENGINE_BUFFER, 10000, 1, NULL};

    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = 1;
    }
    if (!host)
        host = getenv("DOCKER_HOST");
    e = xcalloc(1, sizeof *e);
    snprintf(e->host, sizeof e->host, "%s", host && *host ? host : "unix:///var/run/docker.sock");
    if (url_parse_docker_host(host, &e->is_unix, e->target, sizeof e->target, err)) {
        free(e);
        return NULL;
    }
    e->multi = curl_multi_init();
    /* No per-host connection cap: a log follow holds its connection for the container's
     * whole life, and a shared cap let N follows starve every short call (natrig hung at
     * 33 nodes with a cap of 32). Each transfer gets a connection of its own when none is
     * idle; the bound is the open-file limit, raised to its hard maximum here. Idle
     * connections kept for reuse are capped separately. */
    curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)ENGINE_IDLE_CONNS);
    e->max_xfers = engine_raise_fd_limit() - ENGINE_FD_RESERVE;
    if (engine_call(e, &r, version_cb, &v, err)) {
        /* Say what to do, not only what failed. */
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg,
                 "%s (is the Docker Engine running and is %s readable? "
                 "try `natrig doctor`)",
                 err->msg, e->host);
        nt_err_set(err, err->code, "connect to engine", "%s", msg);
        engine_close(e);
        return NULL;
    }
    if (!v.parsed) {
        nt_err_set(err, NT_PARSE, "connect to engine", "GET /version gave no ApiVersion");
        engine_close(e);
        return NULL;
    }
    if (url_negotiate_version(ENGINE_API_MAX, ENGINE_API_MIN, v.api, v.min, e->api, sizeof e->api,
                              err)) {
        engine_close(e);
        return NULL;
    }
    snprintf(e->version, sizeof e->version, "%s", v.version);
    return e;
}

void engine_close(struct engine *e)
{
    if (!e)
        return;
    while (e->xfers)
        unlink_xfer(e, e->xfers);
    batch_clear(e);
    free(e->batch);
    curl_multi_cleanup(e->multi);
    free(e);
}
