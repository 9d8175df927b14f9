/* portmap.h - the pure piece of natrig's port mapping (lua/natrig/portmap.lua runs Debian's
 * miniupnpd in a router):
 *  - the answer to a STUN Binding request (RFC 5389) that tells miniupnpd its external
 *    address. natrig's "public" network uses private addresses (10.128.0.0/9), and
 *    miniupnpd 2.3.1 refuses to forward ports when its WAN address is private and has no
 *    option to allow it; its own STUN option (ext_perform_stun) does take whatever address
 *    the STUN server reports. natrig-peer stun-reflect answers on the router's loopback with
 *    the address the router should claim (its WAN address, or the external_ip fault's);
 *  - NAT-PMP (RFC 6886) and PCP (RFC 6887) MAP requests and their answers, for natrig-peer
 *    portmap (a client of natrig's own, beside Debian's upnpc and natpmpc).
 * No I/O. Addresses and ports in host byte order. */
#ifndef NT_PORTMAP_H
#define NT_PORTMAP_H

#include <stddef.h>
#include <stdint.h>

#define PORTMAP_STUN_MAGIC 0x2112A442u
#define PORTMAP_STUN_REPLY_LEN 32 /* header 20 + XOR-MAPPED-ADDRESS 12 */

/* Build the Binding success response to the request in req (n bytes) into out (cap >= 32):
 * XOR-MAPPED-ADDRESS ext_ip:port (host byte order), the request's transaction id. Any
 * CHANGE-REQUEST is ignored (the answer comes from where the request went, which is what a
 * 1:1 NAT's STUN check expects). Returns the reply length, or -1 when req is not a STUN
 * Binding request (short, wrong type, wrong magic cookie, length not a multiple of 4). */
int portmap_stun_answer(const uint8_t *req, size_t n, uint32_t ext_ip, uint16_t port, uint8_t *out,
                        size_t cap);

#define PORTMAP_PORT 5351
#define PORTMAP_PCP_MAP_LEN 60 /* header 24 + MAP 36 */

enum portmap_proto { PORTMAP_UDP = 17, PORTMAP_TCP = 6 };

/* A mapping request's answer, whichever protocol carried it. */
struct portmap_answer {
    int result;        /* 0 = success; NAT-PMP result code, or PCP result code */
    uint32_t epoch;    /* seconds since the server's start (NAT-PMP) / epoch time (PCP) */
    uint32_t lifetime; /* seconds granted */
    uint16_t iport;    /* internal port the answer is for */
    uint16_t eport;    /* assigned external port */
    uint32_t ext_ip;   /* PCP: assigned external address; NAT-PMP: from the address request */
};

/* NAT-PMP: the public address request (2 bytes) and a MAP request (12 bytes). Return the
 * length written to out (cap >= 12). */
int portmap_natpmp_addr_req(uint8_t *out, size_t cap);
int portmap_natpmp_map_req(enum portmap_proto proto, uint16_t iport, uint16_t eport,
                           uint32_t lifetime, uint8_t *out, size_t cap);
/* Decode a NAT-PMP answer: to the address request (ext_ip, epoch, result) or to a MAP
 * request of proto. Returns 0, or -1 when it is not such an answer. */
int portmap_natpmp_parse(const uint8_t *in, size_t n, int map, enum portmap_proto proto,
                         struct portmap_answer *out);

/* PCP MAP request (60 bytes) from client_ip, with a 12-byte nonce. */
int portmap_pcp_map_req(enum portmap_proto proto, uint32_t client_ip, uint16_t iport,
                        uint16_t eport, uint32_t lifetime, const uint8_t nonce[12], uint8_t *out,
                        size_t cap);
/* Decode a PCP MAP answer carrying nonce. Returns 0, or -1 when it is not one. */
int portmap_pcp_parse(const uint8_t *in, size_t n, const uint8_t nonce[12],
                      struct portmap_answer *out);

/* A result code's name: NAT-PMP ("SUCCESS", "NOT_AUTHORIZED", ...) or PCP. */
const char *portmap_result_name(int pcp, int result);

#endif
