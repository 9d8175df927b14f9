/* fuzz_peerproto.c - natrig-peer's datagram decoder on arbitrary bytes: it never reads past
 * the input, and whatever it accepts re-encodes to exactly the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/peerproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct peerproto_msg m;
    unsigned char out[2048];
    struct nt_err err = {0};
    /* an exact-size copy, so a read past the end is caught by ASan */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (peerproto_decode(copy, size, &m, NULL) == PEERPROTO_OK) {
        long n = peerproto_encode(&m, out, sizeof out, &err);
        if (n < 0 || (size_t)n != size || memcmp(out, copy, size) != 0)
            abort();
    }
    free(copy);
    return 0;
}
