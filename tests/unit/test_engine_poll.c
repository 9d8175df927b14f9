/* test_engine_poll.c - TAP tests for engine_poll's delivery (engine/engine.h) against a tiny
 * HTTP server on a unix socket (a forked child): a callback that leaves by longjmp, as a
 * Lua error does from poll_cb in l_engine.c, must neither leave a finished transfer linked
 * with curl (the next poll would wait for a completion that never comes again) nor lose the
 * events of its batch: the next poll delivers the whole batch again. And a stream whose
 * reader lags (a busy Lua side) is paused, not buffered: no piece handed over is much
 * larger than STREAM_HELD_MAX, and no byte is lost. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "engine/engine.h"
#include "tap.h"

#define FLOOD_FRAMES 2048
#define FLOOD_PAYLOAD 4096 /* 8 MiB of framed stdout in all */

/* A log follow's answer: framed stdout as fast as the reader takes it, then close. */
static void flood(int c)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: "
                               "application/vnd.docker.raw-stream\r\nConnection: close\r\n\r\n";
    unsigned char frame[8 + FLOOD_PAYLOAD];
    memset(frame, 'x', sizeof frame);
    frame[0] = 1, frame[1] = frame[2] = frame[3] = 0;
    frame[4] = 0, frame[5] = 0, frame[6] = FLOOD_PAYLOAD >> 8, frame[7] = FLOOD_PAYLOAD & 255;
    frame[sizeof frame - 1] = '\n';
    if (write(c, head, sizeof head - 1) != (ssize_t)(sizeof head - 1))
        _exit(1);
    for (int i = 0; i < FLOOD_FRAMES; i++) {
        size_t off = 0;
        while (off < sizeof frame) {
            ssize_t w = write(c, frame + off, sizeof frame - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
    }
    close(c);
}

static void serve(int ls)
{
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            _exit(0);
        char req[4096] = "";
        size_t n = 0;
        while (n < sizeof req - 1 && !strstr(req, "\r\n\r\n")) {
            ssize_t r = read(c, req + n, sizeof req - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
            req[n] = 0;
        }
        if (strstr(req, "/flood ")) {
            flood(c);
            continue;
        }
        const char *body = strstr(req, " /version ")
                               ? "{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\","
                                 "\"Version\":\"20.10.0\"}"
                               : "{\"ok\":true}";
        char resp[512];
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           strlen(body), body);
        if (write(c, resp, (size_t)len) != len)
            _exit(1);
        close(c);
    }
}

static jmp_buf escape;
static int seen[8], nseen, jump_at;

static void cb(void *ud, const struct engine_event *ev)
{
    (void)ud;
    if (!ev->done)
        return;
    if (nseen < 8)
        seen[nseen] = ev->id;
    nseen++;
    if (nseen == jump_at)
        longjmp(escape, 1);
}

static size_t flood_bytes, flood_max;
static int flood_done;

static void flood_cb(void *ud, const struct engine_event *ev)
{
    (void)ud;
    size_t n = ev->out.len + ev->errout.len;
    flood_bytes += n;
    if (n > flood_max)
        flood_max = n;
    flood_done |= ev->done && !ev->error;
    if (ev->done && ev->error)
        printf("# the stream ended with an error: %s\n", ev->error);
    if (n) {
        struct timespec ts = {0, 20 * 1000 * 1000}; /* the reader lags: 20 ms a piece */
        nanosleep(&ts, NULL);
    }
}

int main(void)
{
    char dir[] = "/tmp/natrig-poll-XXXXXX", path[128], host[160];
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct nt_err err = {0};

    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/engine.sock", dir);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) || listen(ls, 16))
        return 1;
    pid_t child = fork();
    if (child == 0)
        serve(ls);
    close(ls);

    snprintf(host, sizeof host, "unix://%s", path);
    struct engine *e = engine_open(host, &err);
    ok(e != NULL, "the engine opens against the fake (%s)", e ? "" : err.msg);
    if (!e)
        goto out;

    struct engine_req r = {"GET", "/info", NULL, NULL, 0, ENGINE_BUFFER, 5000, 0, NULL};
    int a = engine_submit(e, &r, &err), b = engine_submit(e, &r, &err);
    ok(a > 0 && b > 0, "two requests queued");

    /* Poll until both are done, leaving the callback by longjmp on the first completion. */
    jump_at = 1;
    volatile int jumped = 0;
    for (volatile int i = 0; i < 100 && engine_pending(e) > 0; i++) {
        if (setjmp(escape)) {
            jumped = 1;
            continue;
        }
        engine_poll(e, 100, cb, NULL);
    }
    ok(jumped, "the callback left by longjmp");
    /* Whatever finished before the jump was unlinked: nothing stays pending for good. */
    ok(engine_pending(e) == 0, "no transfer left linked (%d pending)", engine_pending(e));

    /* The interrupted batch comes again, complete, then nothing more. */
    jump_at = 0;
    int before = nseen;
    for (int i = 0; i < 20; i++)
        engine_poll(e, 50, cb, NULL);
    int got_a = 0, got_b = 0;
    for (int i = 0; i < nseen && i < 8; i++) {
        got_a |= seen[i] == a;
        got_b |= seen[i] == b;
    }
    ok(got_a && got_b, "both completions were delivered (a %d, b %d)", got_a, got_b);
    /* 3 events for 2 requests, however the fake server's replies fall into batches: the
     * first completion (where the callback jumped), its batch again, and whatever was
     * not in that batch once (whether that happens before or after `before` is a race) */
    ok(nseen == 3, "the interrupted batch was delivered again, once (%d events in all, %d after)",
       nseen, nseen - before);

    /* A lagging reader: every piece handed over is taken slowly. */
    struct engine_req fr = {"GET", "/flood", NULL, NULL, 0, ENGINE_STREAM, 0, 0, NULL};
    int f = engine_submit(e, &fr, &err);
    ok(f > 0, "a flooding stream queued");
    for (int i = 0; i < 2000 && engine_pending(e) > 0; i++)
        engine_poll(e, 100, flood_cb, NULL);
    ok(flood_done && flood_bytes == (size_t)FLOOD_FRAMES * FLOOD_PAYLOAD,
       "every byte of the stream arrived (%zu of %d)", flood_bytes, FLOOD_FRAMES * FLOOD_PAYLOAD);
    ok(flood_max <= 256 << 10, "a lagging reader is handed pieces of at most 256 KiB (largest %zu)",
       flood_max);

    /* A whole body (DEMUX: exec output, a log fetch) of the same size is never paused. */
    struct engine_req dr = {"GET", "/flood", NULL, NULL, 0, ENGINE_DEMUX, 20000, 0, NULL};
    flood_bytes = 0, flood_done = 0;
    int d = engine_submit(e, &dr, &err);
    for (int i = 0; d > 0 && i < 300 && engine_pending(e) > 0; i++)
        engine_poll(e, 100, flood_cb, NULL);
    ok(flood_done && flood_bytes == (size_t)FLOOD_FRAMES * FLOOD_PAYLOAD,
       "a whole 8 MiB body arrives in one piece (%zu bytes, pending %d)", flood_bytes,
       engine_pending(e));
    engine_close(e);
out:
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    unlink(path);
    rmdir(dir);
    printf("1..%d\n", tap_n);
    return tap_fail != 0;
}
