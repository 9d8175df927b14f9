/* dnsfail.h - a DNS reply that only says "failed": the query's header and question, with
 * QR and RA set and the given RCODE (2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED), no records.
 * natrig-peer dnsfail answers with it while a DNS node's servfail fault is on. Pure. */
#ifndef NT_DNSFAIL_H
#define NT_DNSFAIL_H
#include <stddef.h>

#define DNSFAIL_SERVFAIL 2

/* Write the reply to query q (n bytes) into out (cap bytes). Returns its length, or -1 when
 * q is not a DNS query with one well-formed question (too short, a response, an opcode
 * other than QUERY, qdcount != 1, a bad or compressed name) or out is too small. */
long dnsfail_reply(const unsigned char *q, size_t n, int rcode, unsigned char *out, size_t cap);
#endif
