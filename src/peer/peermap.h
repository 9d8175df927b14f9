/* peermap.h - natrig-peer's NAT-PMP / PCP client (the I/O around core/portmap): one mapping
 * request to a gateway, retried as RFC 6886 says (250 ms, doubling). Used by `natrig-peer
 * portmap` (prints the answer) and `natrig-peer peer --portmap` (registers the mapped
 * endpoint with the rendezvous). */
#ifndef NT_PEERMAP_H
#define NT_PEERMAP_H

#include <stdint.h>

#include "base/err.h"
#include "core/peerproto.h"
#include "core/portmap.h"

struct peermap_req {
    int pcp, tcp;             /* PCP (else NAT-PMP); TCP (else UDP) */
    struct peerproto_addr gw; /* the router's port 5351; ip 0 = the default gateway */
    uint16_t port, external;  /* internal port; external port asked for (0 = the same) */
    uint32_t lifetime;        /* seconds */
    long timeout_ms;          /* for the whole exchange */
};

/* The default route's gateway from /proc/net/route (host byte order), or 0. */
uint32_t peermap_default_gateway(void);

/* Ask for the mapping. Returns 0 with *a filled (a->result 0 = granted; ext_ip is the
 * external address: NAT-PMP's public address answer, PCP's MAP answer) and req->gw set to
 * the gateway asked; 1 when nothing answered within the timeout; -1 with err (no default
 * route, a socket error). */
int peermap_request(struct peermap_req *req, struct portmap_answer *a, uint32_t *ext_ip,
                    struct nt_err *err);

#endif
