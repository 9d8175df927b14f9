/* portmap.c - see portmap.h. */
#include "core/portmap.h"

#include <string.h>

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)(v >> 16));
    wr16(p + 2, (uint16_t)v);
}

int portmap_stun_answer(const uint8_t *req, size_t n, uint32_t ext_ip, uint16_t port, uint8_t *out,
                        size_t cap)
{
    size_t len;

    if (n < 20 || cap < PORTMAP_STUN_REPLY_LEN)
        return -1;
    if (req[0] != 0x00 || req[1] != 0x01 || rd32(req + 4) != PORTMAP_STUN_MAGIC)
        return -1;
    len = (size_t)req[2] << 8 | req[3];
    if (len % 4 || 20 + len > n)
        return -1;
    wr16(out, 0x0101);
    wr16(out + 2, 12);
    memcpy(out + 4, req + 4, 16); /* magic cookie and transaction id */
    wr16(out + 20, 0x0020);       /* XOR-MAPPED-ADDRESS */
    wr16(out + 22, 8);
    out[24] = 0;
    out[25] = 1; /* IPv4 */
    wr16(out + 26, (uint16_t)(port ^ (PORTMAP_STUN_MAGIC >> 16)));
    wr32(out + 28, ext_ip ^ PORTMAP_STUN_MAGIC);
    return PORTMAP_STUN_REPLY_LEN;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

int portmap_natpmp_addr_req(uint8_t *out, size_t cap)
{
    if (cap < 2)
        return -1;
    out[0] = 0;
    out[1] = 0;
    return 2;
}

int portmap_natpmp_map_req(enum portmap_proto proto, uint16_t iport, uint16_t eport,
                           uint32_t lifetime, uint8_t *out, size_t cap)
{
    if (cap < 12)
        return -1;
    out[0] = 0;
    out[1] = proto == PORTMAP_UDP ? 1 : 2;
    wr16(out + 2, 0);
    wr16(out + 4, iport);
    wr16(out + 6, eport);
    wr32(out + 8, lifetime);
    return 12;
}

int portmap_natpmp_parse(const uint8_t *in, size_t n, int map, enum portmap_proto proto,
                         struct portmap_answer *out)
{
    unsigned op = map ? (proto == PORTMAP_UDP ? 1u : 2u) : 0u;

    memset(out, 0, sizeof *out);
    if (n < (map ? 16u : 12u) || in[0] != 0 || in[1] != 128 + op)
        return -1;
    out->result = rd16(in + 2);
    out->epoch = rd32(in + 4);
    if (!map) {
        out->ext_ip = rd32(in + 8);
        return 0;
    }
    out->iport = rd16(in + 8);
    out->eport = rd16(in + 10);
    out->lifetime = rd32(in + 12);
    return 0;
}

/* ::ffff:a.b.c.d */
static void mapped_v4(uint8_t *p, uint32_t ip)
{
    memset(p, 0, 10);
    p[10] = 0xff;
    p[11] = 0xff;
    wr32(p + 12, ip);
}

int portmap_pcp_map_req(enum portmap_proto proto, uint32_t client_ip, uint16_t iport,
                        uint16_t eport, uint32_t lifetime, const uint8_t nonce[12], uint8_t *out,
                        size_t cap)
{
    if (cap < PORTMAP_PCP_MAP_LEN)
        return -1;
    memset(out, 0, PORTMAP_PCP_MAP_LEN);
    out[0] = 2; /* version */
    out[1] = 1; /* MAP, request */
    wr32(out + 4, lifetime);
    mapped_v4(out + 8, client_ip);
    memcpy(out + 24, nonce, 12);
    out[36] = (uint8_t)proto;
    wr16(out + 40, iport);
    wr16(out + 42, eport);
    mapped_v4(out + 44, 0);
    return PORTMAP_PCP_MAP_LEN;
}

int portmap_pcp_parse(const uint8_t *in, size_t n, const uint8_t nonce[12],
                      struct portmap_answer *out)
{
    memset(out, 0, sizeof *out);
    if (n < PORTMAP_PCP_MAP_LEN || in[0] != 2 || in[1] != 0x81 || memcmp(in + 24, nonce, 12))
        return -1;
    out->result = in[3];
    out->lifetime = rd32(in + 4);
    out->epoch = rd32(in + 8);
    out->iport = rd16(in + 40);
    out->eport = rd16(in + 42);
    out->ext_ip = rd32(in + 56);
    return 0;
}

const char *portmap_result_name(int pcp, int result)
{
    static const char *const natpmp[] = {"SUCCESS",         "UNSUPP_VERSION",   "NOT_AUTHORIZED",
                                         "NETWORK_FAILURE", "OUT_OF_RESOURCES", "UNSUPP_OPCODE"};
    static const char *const pcpn[] = {
        "SUCCESS",          "UNSUPP_VERSION",        "NOT_AUTHORIZED",   "MALFORMED_REQUEST",
        "UNSUPP_OPCODE",    "UNSUPP_OPTION",         "MALFORMED_OPTION", "NETWORK_FAILURE",
        "NO_RESOURCES",     "UNSUPP_PROTOCOL",       "USER_EX_QUOTA",    "CANNOT_PROVIDE_EXTERNAL",
        "ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS"};

    if (pcp)
        return result >= 0 && result < (int)(sizeof pcpn / sizeof *pcpn) ? pcpn[result] : "?";
    return result >= 0 && result < (int)(sizeof natpmp / sizeof *natpmp) ? natpmp[result] : "?";
}
