/* test_portmap.c - TAP tests for core/portmap: the STUN Binding answer natrig-peer
 * stun-reflect gives miniupnpd (byte for byte, XOR-MAPPED-ADDRESS decoded back), rejected
 * requests. */
#include <stdint.h>
#include <string.h>

#include "core/portmap.h"
#include "tap.h"

static void test_stun(void)
{
    uint8_t req[28] = {0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42};
    uint8_t out[64];
    int n, i;

    for (i = 8; i < 20; i++)
        req[i] = (uint8_t)i;
    /* CHANGE-REQUEST (change IP and port), as miniupnpd's 4th request carries */
    req[20] = 0x00, req[21] = 0x03, req[22] = 0x00, req[23] = 0x04, req[27] = 0x06;
    n = portmap_stun_answer(req, sizeof req, 0x0a800005u, 58938, out, sizeof out);
    is_int(n, 32, "a Binding request gets a 32-byte answer");
    ok(out[0] == 0x01 && out[1] == 0x01, "type is Binding success");
    ok(memcmp(out + 4, req + 4, 16) == 0, "cookie and transaction id echoed");
    ok(out[20] == 0x00 && out[21] == 0x20, "attribute is XOR-MAPPED-ADDRESS");
    is_int(((out[26] << 8 | out[27]) ^ 0x2112), 58938, "port decodes to the source port");
    is_int(((uint32_t)out[28] << 24 | (uint32_t)out[29] << 16 | (uint32_t)out[30] << 8 | out[31]) ^
               0x2112A442u,
           0x0a800005u, "address decodes to the claimed external address");
    is_int(portmap_stun_answer(req, 19, 1, 1, out, sizeof out), -1, "short request refused");
    req[1] = 0x11;
    is_int(portmap_stun_answer(req, sizeof req, 1, 1, out, sizeof out), -1, "not Binding: refused");
    req[1] = 0x01;
    req[4] = 0;
    is_int(portmap_stun_answer(req, sizeof req, 1, 1, out, sizeof out), -1, "no magic: refused");
    req[4] = 0x21;
    req[3] = 0x0c;
    is_int(portmap_stun_answer(req, sizeof req, 1, 1, out, sizeof out), -1,
           "length past the datagram: refused");
    req[3] = 0x08;
    is_int(portmap_stun_answer(req, sizeof req, 1, 1, out, 31), -1, "small output refused");
}

int main(void)
{
    test_stun();
    return tap_done();
}
