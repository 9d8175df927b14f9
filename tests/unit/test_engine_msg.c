/* test_engine_msg.c - TAP tests for engine_error_message (engine/engine.h): the engine's
 * {"message": "..."} error body is reduced to its message, anything else to the first
 * line of the raw text. Bodies are copied to exact-size heap buffers (no NUL after them)
 * and the output is exactly cap bytes, so ASan sees any access out of bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "tap.h"

#define S(lit) lit, sizeof(lit) - 1

struct row {
    const char *name;
    const char *body;
    size_t len;
    size_t cap;
    const char *want;
};

static const struct row rows[] = {
    {"message", S("{\"message\":\"x\"}"), 512, "x"},
    {"engine 404", S("{\"message\":\"No such container: abc\"}\n"), 512, "No such container: abc"},
    {"message among other keys", S("{\"code\":404,\"message\":\"gone\",\"x\":[1]}"), 512, "gone"},
    {"whitespace around JSON", S("  \n{ \"message\" : \"spaced\" }\n  "), 512, "spaced"},
    {"message with a newline kept whole", S("{\"message\":\"line1\\nline2\"}"), 512,
     "line1\nline2"},
    {"unicode escape decoded", S("{\"message\":\"caf\\u00e9\"}"), 512, "caf\xc3\xa9"},
    {"empty message", S("{\"message\":\"\"}"), 512, ""},
    {"message truncated to cap", S("{\"message\":\"abcdef\"}"), 4, "abc"},
    {"length ends the JSON", "{\"message\":\"x\"}garbage", 15, 512, "x"},
    /* not JSON: first line */
    {"plain text, one line", S("404 page not found\n"), 512, "404 page not found"},
    {"plain text, several lines", S("first\nsecond\nthird\n"), 512, "first"},
    {"plain text without newline", S("Bad Gateway"), 512, "Bad Gateway"},
    {"CRLF line end not kept", S("Bad Gateway\r\n"), 512, "Bad Gateway"},
    {"HTML error page", S("<html>\n<body>502</body>\n</html>\n"), 512, "<html>"},
    {"empty body", S(""), 512, ""},
    {"only a newline", S("\n"), 512, ""},
    {"plain text truncated to cap", S("abcdefgh"), 5, "abcd"},
    {"plain text with NUL stops there", S("abc\0def"), 512, "abc"},
    {"length shorter than the text", "first line\nsecond", 5, 512, "first"},
    /* JSON without a usable message: the raw text */
    {"JSON without message", S("{\"error\":\"x\"}"), 512, "{\"error\":\"x\"}"},
    {"message not a string", S("{\"message\":42}"), 512, "{\"message\":42}"},
    {"message null", S("{\"message\":null}"), 512, "{\"message\":null}"},
    {"message object", S("{\"message\":{\"a\":1}}"), 512, "{\"message\":{\"a\":1}}"},
    {"array", S("[\"message\"]"), 512, "[\"message\"]"},
    {"JSON string", S("\"message\""), 512, "\"message\""},
    {"cut JSON", S("{\"message\":\"x\""), 512, "{\"message\":\"x\""},
    {"JSON over two lines without message", S("{\n\"error\":1}"), 512, "{"},
    {"Message (wrong case)", S("{\"Message\":\"x\"}"), 512, "{\"Message\":\"x\"}"},
};

static void check_rows(void)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        char *body = malloc(r->len ? r->len : 1);
        char *out = malloc(r->cap);

        memcpy(body, r->body, r->len);
        memset(out, 'Z', r->cap);
        engine_error_message(body, r->len, out, r->cap);
        is_str(out, r->want, "%s", r->name);
        free(body);
        free(out);
    }
}

static void check_long(void)
{
    size_t n = 5000;
    char *body = malloc(n), out[1024];

    memset(body, 'a', n);
    engine_error_message(body, n, out, sizeof out);
    ok(strlen(out) <= 300 && strlen(out) > 0 && strspn(out, "a") == strlen(out),
       "5000-byte plain body: at most 300 bytes kept (%zu)", strlen(out));

    engine_error_message(body, n, out, 1);
    is_str(out, "", "cap 1: empty string");
    free(body);

    /* A long JSON message is kept up to cap. */
    {
        size_t mlen = 2000;
        char *j = malloc(mlen + 32);
        size_t o = (size_t)sprintf(j, "{\"message\":\"");
        memset(j + o, 'm', mlen);
        o += mlen;
        memcpy(j + o, "\"}", 2);
        o += 2;
        engine_error_message(j, o, out, sizeof out);
        is_int(strlen(out), sizeof out - 1, "2000-byte message filled the 1024-byte output");
        free(j);
    }
}

int main(void)
{
    check_rows();
    check_long();
    return tap_done();
}
