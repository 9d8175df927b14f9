/* fuzz_peerproto.c - natrig-peer's datagram decoder on arbitrary bytes: it never reads past
 * the input, and whatever it accepts (IPv4 and IPv6 endpoints alike) re-encodes to exactly the
 * same bytes. The same bytes as text go to the endpoint parser ("IPv4:PORT", "[IPv6]:PORT"):
 * whatever it accepts formats within PEERPROTO_ADDR_STRLEN and parses back to the same
 * endpoint. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "core/peerproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void endpoint_text(const uint8_t *data, size_t size)
{
    char s[96], text[PEERPROTO_ADDR_STRLEN + 8];
    struct peerproto_addr a, b;

    if (size >= sizeof s || memchr(data, 0, size))
        return;
    memcpy(s, data, size);
    s[size] = '\0';
    if (peerproto_parse_endpoint(s, &a, "fuzz", NULL) < 0)
        return;
    peerproto_addr_format(&a, text, sizeof text);
    if (strlen(text) >= PEERPROTO_ADDR_STRLEN)
        abort();
    if (peerproto_parse_endpoint(text, &b, "fuzz", NULL) < 0 || !peerproto_addr_eq(&a, &b))
        abort();
}

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
    endpoint_text(copy, size);
    free(copy);
    return 0;
}
