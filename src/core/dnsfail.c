/* dnsfail.c - see dnsfail.h. RFC 1035 4.1: a 12-byte header, then the question (a name as
 * length-prefixed labels ending in a zero byte, then QTYPE and QCLASS). */
#include "core/dnsfail.h"

#include <string.h>

#define DNS_HEADER 12
#define DNS_NAME_MAX 255

long dnsfail_reply(const unsigned char *q, size_t n, int rcode, unsigned char *out, size_t cap)
{
    size_t i = DNS_HEADER, name = 0, len;

    if (!q || !out || n < DNS_HEADER || rcode < 0 || rcode > 15)
        return -1;
    if (q[2] & 0x80) /* QR: already a response */
        return -1;
    if ((q[2] >> 3) & 0x0f) /* opcode: QUERY only */
        return -1;
    if (q[4] != 0 || q[5] != 1) /* one question */
        return -1;
    for (;;) {
        if (i >= n)
            return -1;
        if (q[i] == 0)
            break;
        if (q[i] & 0xc0) /* a compression pointer has no place in a query's question */
            return -1;
        name += (size_t)q[i] + 1;
        if (name > DNS_NAME_MAX)
            return -1;
        i += (size_t)q[i] + 1;
    }
    i++; /* the root label */
    if (i + 4 > n)
        return -1;
    len = i + 4; /* QTYPE, QCLASS */
    if (len > cap)
        return -1;
    memcpy(out, q, len);
    out[2] = (unsigned char)(0x80 | (q[2] & 0x01)); /* QR, opcode 0, AA 0, TC 0, RD as asked */
    out[3] = (unsigned char)(0x80 | rcode);         /* RA, Z 0, RCODE */
    memset(out + 6, 0, 6);                          /* no answer, authority, additional */
    return (long)len;
}
