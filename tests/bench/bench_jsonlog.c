/* bench_jsonlog.c - throughput of core/jsonlog's dedicated decoder on the engine's json-file
 * lines (the log benchmark's flood line and a Freenet-like mix with escapes), against
 * cJSON doing the same work (parse each line, take log, stream and time, copy the text)
 * and against a floor: splitting the same bytes into lines with memchr. Prints MB/s of
 * json-file bytes (1 MB = 1e6 bytes) and the ratios; not a pass/fail test. Why the
 * decoder is not cJSON: this figure.
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -Isrc $(pkg-config --cflags libcjson) -o build/bench_jsonlog \
 *      tests/bench/bench_jsonlog.c src/core/jsonlog.c $(pkg-config --libs libcjson)
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/jsonlog.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *make(size_t want, int mix, size_t *n)
{
    static const char *const texts[] = {
        "2026-12-01T00:00:00.000000Z  INFO flood::gen: a line of moderate length to fill the log "
        "n=1",
        "2026-12-01T00:00:00.123456Z DEBUG freenet::transport::connection_handler: sending packet "
        "peer_addr=10.1.2.3:31337 len=1200 \\\"quoted\\\" \\u001b[32mgreen\\u001b[0m",
        "{\\\"level\\\":\\\"info\\\",\\\"msg\\\":\\\"hole punched\\\",\\\"remote\\\":\\\"b\\\"}",
        "\\tat some.Trace(Frame.java:42) caf\\u00e9",
    };
    char *p = malloc(want + 512);
    size_t len = 0;
    unsigned i = 0;

    while (len < want) {
        const char *t = texts[mix ? i % 4 : 0];
        len += (size_t)sprintf(
            p + len,
            "{\"log\":\"%s\\n\",\"stream\":\"%s\",\"time\":\"2026-12-07T06:%02u:%02u.%09uZ\"}\n", t,
            i % 7 ? "stdout" : "stderr", i / 60 % 60, i % 60, i * 7919u % 1000000000u);
        i++;
    }
    *n = len;
    return p;
}

static volatile size_t sink;

static void emit(void *ud, int stream, const char *p, size_t n)
{
    (void)ud;
    sink += (size_t)stream + n + (unsigned char)p[0];
}

static double run_decoder(const char *p, size_t n, char *out)
{
    struct jsonlog_conv c;
    double t0 = now();
    memset(&c, 0, sizeof c);
    jsonlog_convert(&c, p, n, 1, out, JSONLOG_OUT_NEED(n), emit, NULL);
    return now() - t0;
}

static double run_cjson(const char *p, size_t n, char *out)
{
    const char *s = p, *end = p + n;
    double t0 = now();
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t ln = nl ? (size_t)(nl - s) : (size_t)(end - s);
        cJSON *j = cJSON_ParseWithLength(s, ln);
        const cJSON *log = cJSON_GetObjectItemCaseSensitive(j, "log");
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "stream");
        const cJSON *tm = cJSON_GetObjectItemCaseSensitive(j, "time");
        if (cJSON_IsString(log) && cJSON_IsString(st) && cJSON_IsString(tm)) {
            size_t tl = strlen(tm->valuestring), ll = strlen(log->valuestring);
            memcpy(out, tm->valuestring, tl);
            memcpy(out + tl, log->valuestring, ll);
            emit(NULL, st->valuestring[3] == 'e', out, tl + ll);
        }
        cJSON_Delete(j);
        s += ln + 1;
    }
    return now() - t0;
}

static double run_floor(const char *p, size_t n)
{
    const char *s = p, *end = p + n;
    double t0 = now();
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        sink += (unsigned char)s[0];
        s = nl ? nl + 1 : end;
    }
    return now() - t0;
}

static double best(double a, double b)
{
    return a < b ? a : b;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 100, n;

    for (int mix = 0; mix < 2; mix++) {
        char *p = make(mb * 1000000, mix, &n);
        char *out = malloc(JSONLOG_OUT_NEED(n));
        double d = 1e9, c = 1e9, f = 1e9;
        for (int r = 0; r < 3; r++) {
            d = best(d, run_decoder(p, n, out));
            c = best(c, run_cjson(p, n, out));
            f = best(f, run_floor(p, n));
        }
        printf("json-file %-14s decoder %6.0f MB/s, cJSON %6.0f MB/s (decoder %.1fx cJSON), "
               "floor (split lines) %6.0f MB/s (decoder at %.2f of it)\n",
               mix ? "(mixed lines)" : "(flood lines)", n / 1e6 / d, n / 1e6 / c, c / d,
               n / 1e6 / f, f / d);
        free(p);
        free(out);
    }
    return 0;
}
