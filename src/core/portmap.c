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
