/* engine.h - Docker Engine API client: libcurl's multi interface over the unix socket (or
 * tcp://), so many requests are in flight at once while the caller stays single-threaded.
 *
 * Model: engine_submit() queues a request and returns its id at once; engine_poll() drives
 * all transfers and reports events (data from streams, completions) through a callback.
 * The Lua scheduler (lua/natrig/task.lua) maps ids to coroutines. Paths are given without
 * the version prefix; the client adds "/v<negotiated>" itself.
 * Ownership: functions borrow their inputs (request bodies are copied); event buffers
 * belong to the engine and are valid only during the callback. */
#ifndef NT_ENGINE_H
#define NT_ENGINE_H
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define ENGINE_API_MAX "1.51"
#define ENGINE_API_MIN "1.41"
#define ENGINE_IDLE_CONNS 64 /* idle connections kept for reuse */
#define ENGINE_FD_RESERVE 64 /* file descriptors left for everything but transfers */
/* The end of the message of a request the engine took but did not answer in time (an
 * engine that is reachable but overloaded); natrig.engine tells it by this text. */
#define ENGINE_OVERLOADED "(reachable, but overloaded)"
/* Seconds an ordinary call may take (ops.c's 30 s), from NATRIG_ENGINE_TIMEOUT. */
#define ENGINE_TIMEOUT_ENV "NATRIG_ENGINE_TIMEOUT"

struct engine;

enum engine_mode {
    ENGINE_BUFFER, /* whole body in ev->body */
    ENGINE_DEMUX,  /* framed stdout/stderr split into ev->out / ev->errout at the end */
    ENGINE_STREAM, /* framed stream delivered in pieces as it arrives (logs follow) */
    ENGINE_LINES,  /* raw body delivered in pieces as it arrives (build/import progress) */
};

struct engine_req {
    const char *method;       /* "GET", "POST", "PUT", "DELETE", "HEAD" */
    const char *path;         /* "/containers/create?name=x", unversioned */
    const char *content_type; /* NULL: none, or "application/json", "application/x-tar" */
    const char *body;
    size_t body_len;
    enum engine_mode mode;
    long timeout_ms; /* 0: none (waits, follows) */
    int unversioned; /* 1 for /_ping and /version */
    /* A host file sent as the body, read as curl sends it (body NULL): an image's rootfs
     * is never held in memory whole. */
    const char *body_file;
};

struct engine_event {
    int id;
    int done;    /* 0: a piece of a stream, 1: the request finished */
    long status; /* HTTP status, 0 when the transfer itself failed */
    struct buf body, out, errout;
    const char *error; /* NULL on success; else transport error or the engine's message */
};

typedef void (*engine_event_fn)(void *ud, const struct engine_event *ev);

/* Connect to host (a DOCKER_HOST value; NULL: $DOCKER_HOST or the default socket) and
 * negotiate the API version. Returns a new engine or NULL with err filled. */
struct engine *engine_open(const char *host, struct nt_err *err);
void engine_close(struct engine *e);

const char *engine_api_version(const struct engine *e);
const char *engine_version(const struct engine *e);
const char *engine_host(const struct engine *e);

/* Raise the soft open-file limit to the hard one; returns the limit now in force. */
long engine_raise_fd_limit(void);

/* Queue a request. Returns its id (> 0, unique among all engines of the process), or -1
 * with err filled. */
int engine_submit(struct engine *e, const struct engine_req *r, struct nt_err *err);
/* Abandon a request (e.g. stop following logs). Its completion is not reported. */
void engine_cancel(struct engine *e, int id);
/* Number of requests in flight. */
int engine_pending(const struct engine *e);
/* Drive transfers for up to timeout_ms (waking early as soon as one event is ready) and
 * report events. Returns the number of events, or -1 when interrupted by a signal. The
 * events are collected (finished transfers unlinked) before fn runs, so fn may leave by
 * longjmp; the next poll then delivers that whole batch again. */
int engine_poll(struct engine *e, long timeout_ms, engine_event_fn fn, void *ud);
/* engine_poll that also returns (0 events) as soon as wake_fd (-1: none) is readable: the
 * scheduler's other source (the log tailer's inotify descriptor) ends the wait. */
int engine_poll_wake(struct engine *e, long timeout_ms, int wake_fd, engine_event_fn fn, void *ud);

/* Submit and wait for one request when nothing else is in flight (C callers: doctor, tests).
 * The callback sees its completion. Returns 0, or -1 with err filled (transport error or
 * HTTP status >= 400, with the engine's message). */
int engine_call(struct engine *e, const struct engine_req *r, engine_event_fn fn, void *ud,
                struct nt_err *err);

/* Extract {"message": "..."} from an engine error body into out; falls back to the raw
 * body text. Pure helper, exposed for tests. */
void engine_error_message(const char *body, size_t n, char *out, size_t cap);
#endif
