/* test_portmap.c - TAP tests for core/portmap: the STUN Binding answer natrig-peer
 * stun-reflect gives miniupnpd (byte for byte, XOR-MAPPED-ADDRESS decoded back), rejected
 * requests; NAT-PMP and PCP MAP requests and answers (byte layout, refusals, nonces). */
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

static void test_natpmp(void)
{
    uint8_t b[64];
    struct portmap_answer a;
    static const uint8_t addr_ans[12] = {0, 128, 0, 0, 0, 0, 0, 42, 10, 128, 0, 5};
    static const uint8_t map_ans[16] = {0,    129,  0,    0,    0, 0, 0, 43,
                                        0x17, 0x70, 0x17, 0x71, 0, 0, 0, 60};
    static const uint8_t denied[16] = {0, 129, 0, 2, 0, 0, 0, 44, 0x17, 0x70, 0, 0, 0, 0, 0, 0};

    is_int(portmap_natpmp_addr_req(b, sizeof b), 2, "NAT-PMP address request is 2 bytes");
    ok(b[0] == 0 && b[1] == 0, "version 0, opcode 0");
    is_int(portmap_natpmp_map_req(PORTMAP_TCP, 6000, 6001, 60, b, sizeof b), 12,
           "MAP request: 12 bytes");
    ok(b[1] == 2 && b[4] == 0x17 && b[5] == 0x70 && b[6] == 0x17 && b[7] == 0x71 && b[11] == 60,
       "opcode 2 (TCP), ports and lifetime in network order");
    is_int(portmap_natpmp_parse(addr_ans, 12, 0, PORTMAP_UDP, &a), 0, "address answer parses");
    ok(a.ext_ip == 0x0a800005u && a.epoch == 42 && a.result == 0, "external address and epoch");
    is_int(portmap_natpmp_parse(map_ans, 16, 1, PORTMAP_UDP, &a), 0, "UDP MAP answer parses");
    ok(a.iport == 6000 && a.eport == 6001 && a.lifetime == 60 && a.epoch == 43, "its fields");
    is_int(portmap_natpmp_parse(map_ans, 16, 1, PORTMAP_TCP, &a), -1,
           "a UDP answer is not a TCP one");
    is_int(portmap_natpmp_parse(map_ans, 15, 1, PORTMAP_UDP, &a), -1, "short answer refused");
    is_int(portmap_natpmp_parse(denied, 16, 1, PORTMAP_UDP, &a), 0, "a refusal parses");
    is_str(portmap_result_name(0, a.result), "NOT_AUTHORIZED", "result 2 is NOT_AUTHORIZED");
}

static void test_pcp(void)
{
    uint8_t req[64], ans[64];
    const uint8_t nonce[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    struct portmap_answer a;

    is_int(portmap_pcp_map_req(PORTMAP_UDP, 0x0ac80102u, 6100, 6100, 120, nonce, req, sizeof req),
           60, "PCP MAP request: 60 bytes");
    ok(req[0] == 2 && req[1] == 1 && req[7] == 120, "version 2, MAP request, lifetime");
    ok(req[18] == 0xff && req[19] == 0xff && req[20] == 10 && req[23] == 2,
       "client address as ::ffff:10.200.1.2");
    ok(memcmp(req + 24, nonce, 12) == 0 && req[36] == 17 && req[40] == 0x17 && req[41] == 0xd4,
       "nonce, protocol 17, internal port 6100");
    memcpy(ans, req, 60);
    ans[1] = 0x81;
    ans[3] = 0;
    ans[11] = 7; /* epoch */
    ans[42] = 0x17, ans[43] = 0xd5;
    ans[56] = 10, ans[57] = 128, ans[58] = 0, ans[59] = 9;
    is_int(portmap_pcp_parse(ans, 60, nonce, &a), 0, "a PCP MAP answer parses");
    ok(a.result == 0 && a.eport == 6101 && a.ext_ip == 0x0a800009u && a.epoch == 7 &&
           a.lifetime == 120,
       "assigned port, address, epoch, lifetime");
    ans[30] ^= 1;
    is_int(portmap_pcp_parse(ans, 60, nonce, &a), -1, "another nonce is not our answer");
    ans[30] ^= 1;
    ans[3] = 2;
    is_int(portmap_pcp_parse(ans, 60, nonce, &a), 0, "a refusal parses");
    is_str(portmap_result_name(1, a.result), "NOT_AUTHORIZED", "PCP 2 is NOT_AUTHORIZED");
    is_str(portmap_result_name(1, 8), "NO_RESOURCES", "PCP 8 is NO_RESOURCES");
}

int main(void)
{
    test_stun();
    test_natpmp();
    test_pcp();
    return tap_done();
}
