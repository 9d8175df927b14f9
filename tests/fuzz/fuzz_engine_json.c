/* fuzz_engine_json.c - libFuzzer target for engine_error_message (engine/engine.h), which
 * reads error bodies the engine (or a proxy in front of it) sends: JSON or anything else.
 * The first input byte picks the output size; the rest is the body, copied exactly (no
 * NUL after it) so ASan sees a read past its end. The output must be NUL-terminated
 * inside cap. Built (against build/fuzz/libnatrig.a, like every target) and run by
 * tests/fuzz/run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[4] = {1, 7, 512, 4096};
    size_t cap;
    char *body, *out;

    if (size < 1)
        return 0;
    cap = caps[data[0] & 3];
    data++;
    size--;
    body = malloc(size ? size : 1);
    out = malloc(cap);
    memcpy(body, data, size);
    memset(out, 'Z', cap);
    engine_error_message(body, size, out, cap);
    if (!memchr(out, 0, cap))
        __builtin_trap();
    /* Plain text (no '{' anywhere) comes back as its first line (without a final CR), cut
     * at 300 and at cap. */
    if (!memchr(body, '{', size) && !memchr(body, '"', size)) {
        size_t line = size;
        const char *nl = memchr(body, '\n', size);
        const char *nul = memchr(body, 0, size);
        if (nl)
            line = (size_t)(nl - body);
        /* a CR ending the line (CRLF bodies) is dropped too */
        if (line && body[line - 1] == '\r')
            line--;
        if (nul && (size_t)(nul - body) < line)
            line = (size_t)(nul - body);
        if (line > 300)
            line = 300;
        if (line > cap - 1)
            line = cap - 1;
        if (strlen(out) != line || memcmp(out, body, line) != 0)
            __builtin_trap();
    }
    free(body);
    free(out);
    return 0;
}
