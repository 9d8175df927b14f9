/* test_dnsfail.c - TAP tests for core/dnsfail: the failure reply keeps the query's id and
 * question, sets QR, RA, RD as asked and the RCODE, drops every record; malformed queries
 * and responses get no reply. */
#include <stdio.h>
#include <string.h>

#include "core/dnsfail.h"
#include "tap.h"

/* id 0x1234, RD, one question "gw.test" A IN, and one additional record (EDNS OPT) */
static const unsigned char query[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                      0x00, 0x00, 0x01, 2,    'g',  'w',  4,    't',  'e',
                                      's',  't',  0,    0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
                                      0x29, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

int main(void)
{
    unsigned char out[512], bad[sizeof query];
    long n = dnsfail_reply(query, sizeof query, DNSFAIL_SERVFAIL, out, sizeof out);

    is_int(n, 25, "the reply is the header and the question (the OPT record dropped)");
    ok(out[0] == 0x12 && out[1] == 0x34, "the query's id");
    is_int(out[2], 0x81, "QR set, RD as asked");
    is_int(out[3], 0x82, "RA and SERVFAIL");
    is_int(out[5], 1, "one question");
    ok(out[6] == 0 && out[7] == 0 && out[10] == 0 && out[11] == 0, "no records counted");
    ok(memcmp(out + 12, query + 12, 13) == 0, "the question unchanged");
    n = dnsfail_reply(query, sizeof query, 3, out, sizeof out);
    is_int(out[3] & 0x0f, 3, "another rcode (NXDOMAIN)");
    memcpy(bad, query, sizeof query);
    bad[2] = 0x00;
    n = dnsfail_reply(bad, sizeof bad, 2, out, sizeof out);
    is_int(out[2], 0x80, "RD not asked: not set");
    bad[2] = 0x81;
    is_int(dnsfail_reply(bad, sizeof bad, 2, out, sizeof out), -1, "a response gets no reply");
    bad[2] = 0x11; /* opcode 2 */
    is_int(dnsfail_reply(bad, sizeof bad, 2, out, sizeof out), -1, "another opcode gets no reply");
    memcpy(bad, query, sizeof query);
    bad[5] = 2;
    is_int(dnsfail_reply(bad, sizeof bad, 2, out, sizeof out), -1, "two questions: no reply");
    is_int(dnsfail_reply(query, 11, 2, out, sizeof out), -1, "a short header: no reply");
    is_int(dnsfail_reply(query, 20, 2, out, sizeof out), -1, "a name cut short: no reply");
    is_int(dnsfail_reply(query, 22, 2, out, sizeof out), -1, "no QTYPE/QCLASS: no reply");
    memcpy(bad, query, sizeof query);
    bad[12] = 0xc0;
    is_int(dnsfail_reply(bad, sizeof bad, 2, out, sizeof out), -1, "a compressed name: no reply");
    is_int(dnsfail_reply(query, sizeof query, 2, out, 24), -1, "no room: no reply");
    is_int(dnsfail_reply(query, sizeof query, 16, out, sizeof out), -1, "rcode out of range");
    return tap_done();
}
