/* natclass.h - reading the verdicts of coturn's `turnutils_natdiscovery` (an RFC 5780 client:
 * -m mapping, -f filtering, -H hairpinning, -t -T lifetime) into a NAT class, and the class a
 * natrule spec claims, in one comparable form. Pure: parses text it is given. Uses
 * base/err.h, base/buf.h and core/natrule.h (for natclass_from_spec).
 *
 * What the tool prints, per test section ("-= Mapping Behavior Discovery =-", ...), as seen
 * from coturn 4.6.1 (fixtures in tests/fixtures/natdiscovery/):
 *  - mapping and filtering end with a verdict between "=====" lines, e.g.
 *    "NAT with Endpoint Independent Mapping!", "NAT with Address and Port Dependent
 *    Filtering!", or "No NAT! (Endpoint Independent Mapping)";
 *  - hairpinning prints no verdict: "Received a request (maybe a successful hairpinning)"
 *    means the second socket's request to the first socket's public address arrived
 *    (hairpin on); timeouts after the first response mean it did not (off);
 *  - lifetime prints no verdict either: a second response (sent by the server to the first
 *    mapping via RESPONSE-PORT after -T seconds) means the mapping was still alive, a timeout
 *    means it had expired.
 * Each response prints "UDP reflexive addr: A:P" and "Local addr: : 0.0.0.0:L"; the first pair
 * of the mapping section says whether the NAT kept the inside port.
 *
 * Ownership: functions borrow their inputs; struct natclass holds no pointers. */
#ifndef NT_NATCLASS_H
#define NT_NATCLASS_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "core/natrule.h"

enum natclass_behaviour {
    NATCLASS_UNKNOWN = 0, /* not tested, or the tool reached no verdict */
    NATCLASS_NO_NAT,      /* the public address was the local one */
    NATCLASS_EI,          /* endpoint independent */
    NATCLASS_AD,          /* address dependent */
    NATCLASS_APD,         /* address and port dependent */
};

enum natclass_answer {
    NATCLASS_UNTESTED = 0, /* section absent, or no first response to judge from */
    NATCLASS_YES,
    NATCLASS_NO,
};

struct natclass {
    enum natclass_behaviour mapping;
    enum natclass_behaviour filtering;
    enum natclass_answer hairpin;        /* -H */
    enum natclass_answer lifetime_alive; /* -t -T N: mapping still alive after N seconds */
    enum natclass_answer port_preserved; /* first mapping response: public port == local */
    char public_addr[32];                /* first "UDP reflexive addr", "" when none */
    char note[128];                      /* why something is unknown, "" when all is known */
};

/* Parse the whole stdout of turnutils_natdiscovery (len bytes, need not be NUL-terminated).
 * Returns 0 (fields the output does not settle stay UNKNOWN/UNTESTED, with a note), or -1
 * with err (NT_PARSE) when the text holds no natdiscovery section at all. */
int natclass_parse(const char *text, size_t len, struct natclass *out, struct nt_err *err);

/* The class a spec claims: its mapping and filtering, hairpin yes/no, port preserved
 * yes for port-preserving EIM and no otherwise; lifetime untested. */
void natclass_from_spec(const struct natrule_spec *s, struct natclass *out);

/* "EIM"/"ADM"/"APDM", "none" (no NAT), "unknown"; filtering uses EIF/ADF/APDF. */
const char *natclass_mapping_name(enum natclass_behaviour b);
const char *natclass_filtering_name(enum natclass_behaviour b);

/* Append "mapping=EIM filtering=APDF hairpin=on port=preserved" (hairpin on|off|untested,
 * port preserved|changed|untested) and, when tested, " lifetime=alive|expired".
 * Returns 0, or -1 when out is full. */
int natclass_describe(const struct natclass *c, struct buf *out);

#endif
