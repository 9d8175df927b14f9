/* portmap.h - the pure piece of natrig's port mapping (lua/natrig/portmap.lua runs Debian's
 * miniupnpd in a router):
 *  - the answer to a STUN Binding request (RFC 5389) that tells miniupnpd its external
 *    address. natrig's "public" network uses private addresses (10.128.0.0/9), and
 *    miniupnpd 2.3.1 refuses to forward ports when its WAN address is private and has no
 *    option to allow it; its own STUN option (ext_perform_stun) does take whatever address
 *    the STUN server reports. natrig-peer stun-reflect answers on the router's loopback with
 *    the address the router should claim (its WAN address, or the external_ip fault's).
 * No I/O. */
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

#endif
