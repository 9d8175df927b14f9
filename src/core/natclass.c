/* natclass.c - turnutils_natdiscovery output -> struct natclass; spec -> claimed class.
 * Pure. The output format is described in natclass.h. */
#include "core/natclass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum section { SEC_NONE, SEC_MAPPING, SEC_FILTERING, SEC_HAIRPIN, SEC_LIFETIME, SEC_OTHER };

struct section_name {
    const char *header;
    enum section sec;
};

static const struct section_name sections[] = {
    {"-= Mapping Behavior Discovery =-", SEC_MAPPING},
    {"-= Filtering Behavior Discovery =-", SEC_FILTERING},
    {"-= Hairpinning Behavior Discovery =-", SEC_HAIRPIN},
    {"-= Mapping Lifetime Behavior Discovery =-", SEC_LIFETIME},
    {"-= Collision Behavior Discovery =-", SEC_OTHER},
};

struct verdict {
    const char *line;
    enum section sec;
    enum natclass_behaviour b;
};

static const struct verdict verdicts[] = {
    {"NAT with Endpoint Independent Mapping!", SEC_MAPPING, NATCLASS_EI},
    {"NAT with Address Dependent Mapping!", SEC_MAPPING, NATCLASS_AD},
    {"NAT with Address and Port Dependent Mapping!", SEC_MAPPING, NATCLASS_APD},
    {"NAT with Endpoint Independent Filtering!", SEC_FILTERING, NATCLASS_EI},
    {"NAT with Address Dependent Filtering!", SEC_FILTERING, NATCLASS_AD},
    {"NAT with Address and Port Dependent Filtering!", SEC_FILTERING, NATCLASS_APD},
};

/* What one section saw, judged when the section ends. */
struct sec_state {
    enum section sec;
    int responses;   /* "UDP reflexive addr" lines */
    int timeouts;    /* "STUN receive timeout.." lines */
    int hairpin_req; /* "Received a request (maybe a successful hairpinning)" */
    int no_nat;
    enum natclass_behaviour verdict;
};

static void set_note(struct natclass *c, const char *msg)
{
    if (!c->note[0])
        snprintf(c->note, sizeof c->note, "%s", msg);
}

static void finish(struct natclass *c, const struct sec_state *st)
{
    switch (st->sec) {
    case SEC_MAPPING:
    case SEC_FILTERING: {
        enum natclass_behaviour *dst = st->sec == SEC_MAPPING ? &c->mapping : &c->filtering;

        if (st->no_nat)
            *dst = NATCLASS_NO_NAT;
        else if (st->verdict != NATCLASS_UNKNOWN)
            *dst = st->verdict;
        else if (st->responses == 0)
            set_note(c, "no response from the STUN server");
        else
            set_note(c, "no verdict: the server may not do RFC 5780 (no OTHER-ADDRESS)");
        break;
    }
    case SEC_HAIRPIN:
        if (st->hairpin_req)
            c->hairpin = NATCLASS_YES;
        else if (st->responses > 0)
            c->hairpin = NATCLASS_NO;
        else
            set_note(c, "hairpin: no response from the STUN server");
        break;
    case SEC_LIFETIME:
        if (st->responses >= 2)
            c->lifetime_alive = NATCLASS_YES;
        else if (st->responses == 1 && st->timeouts > 0)
            c->lifetime_alive = NATCLASS_NO;
        else
            set_note(c, "lifetime: no response from the STUN server");
        break;
    default:
        break;
    }
}

/* The text after "key" on the line, past ':' and blanks: "0: : IPv4. Local addr: : 0.0.0.0:5"
 * gives "0.0.0.0:5". NULL when key is absent. */
static const char *value_after(const char *line, size_t len, const char *key, size_t *vlen)
{
    size_t kl = strlen(key), i;

    for (i = 0; i + kl <= len; i++) {
        if (memcmp(line + i, key, kl) == 0) {
            size_t j = i + kl;

            while (j < len && (line[j] == ':' || line[j] == ' '))
                j++;
            *vlen = len - j;
            return line + j;
        }
    }
    return NULL;
}

/* The port after the last ':' of "a.b.c.d:port"; -1 when there is none. */
static long port_of(const char *v, size_t len)
{
    size_t i = len;
    long p = 0;

    while (i > 0 && v[i - 1] >= '0' && v[i - 1] <= '9')
        i--;
    if (i == len || i == 0 || v[i - 1] != ':' || len - i > 5)
        return -1;
    for (; i < len; i++)
        p = p * 10 + (v[i] - '0');
    return p;
}

static int line_is(const char *line, size_t len, const char *s)
{
    return strlen(s) == len && memcmp(line, s, len) == 0;
}

int natclass_parse(const char *text, size_t len, struct natclass *out, struct nt_err *err)
{
    struct sec_state st = {SEC_NONE, 0, 0, 0, 0, NATCLASS_UNKNOWN};
    size_t pos = 0, i;
    int any = 0, mapping_first_done = 0;
    long mapped_port = -1;

    memset(out, 0, sizeof *out);
    if (!text)
        len = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - line) : len - pos;
        size_t vlen;
        const char *v;

        pos += ll + (nl ? 1 : 0);
        while (ll > 0 && (line[ll - 1] == '\r' || line[ll - 1] == ' '))
            ll--;

        for (i = 0; i < sizeof sections / sizeof sections[0]; i++) {
            if (line_is(line, ll, sections[i].header)) {
                finish(out, &st);
                memset(&st, 0, sizeof st);
                st.sec = sections[i].sec;
                any = 1;
                break;
            }
        }
        if (i < sizeof sections / sizeof sections[0] || st.sec == SEC_NONE)
            continue;

        for (i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++)
            if (verdicts[i].sec == st.sec && line_is(line, ll, verdicts[i].line))
                st.verdict = verdicts[i].b;
        if (line_is(line, ll, "No NAT! (Endpoint Independent Mapping)"))
            st.no_nat = 1;
        if (line_is(line, ll, "STUN receive timeout.."))
            st.timeouts++;
        if (line_is(line, ll, "Received a request (maybe a successful hairpinning)"))
            st.hairpin_req = 1;
        v = value_after(line, ll, "UDP reflexive addr", &vlen);
        if (v) {
            st.responses++;
            if (!out->public_addr[0] && vlen < sizeof out->public_addr) {
                memcpy(out->public_addr, v, vlen);
                out->public_addr[vlen] = '\0';
            }
            if (st.sec == SEC_MAPPING && !mapping_first_done && mapped_port < 0)
                mapped_port = port_of(v, vlen);
            continue;
        }
        v = value_after(line, ll, "Local addr", &vlen);
        /* the tool prints the local address right after the reflexive one */
        if (v && st.sec == SEC_MAPPING && !mapping_first_done && mapped_port >= 0) {
            long local = port_of(v, vlen);

            if (local >= 0)
                out->port_preserved = local == mapped_port ? NATCLASS_YES : NATCLASS_NO;
            mapping_first_done = 1;
        }
    }
    finish(out, &st);
    if (!any)
        return nt_err_set(err, NT_PARSE, "natdiscovery parse",
                          "no turnutils_natdiscovery section (\"-= ... Discovery =-\") found");
    return 0;
}

void natclass_from_spec(const struct natrule_spec *s, struct natclass *out)
{
    static const enum natclass_behaviour map[] = {NATCLASS_EI, NATCLASS_AD, NATCLASS_APD};

    memset(out, 0, sizeof *out);
    out->mapping = (unsigned)s->mapping < 3 ? map[s->mapping] : NATCLASS_UNKNOWN;
    out->filtering = (unsigned)s->filtering < 3 ? map[s->filtering] : NATCLASS_UNKNOWN;
    out->hairpin = s->hairpin ? NATCLASS_YES : NATCLASS_NO;
    out->port_preserved =
        s->mapping == NATRULE_EIM && s->port_preservation ? NATCLASS_YES : NATCLASS_NO;
}

static const char *behaviour_name(enum natclass_behaviour b, const char *const names[3])
{
    switch (b) {
    case NATCLASS_NO_NAT:
        return "none";
    case NATCLASS_EI:
        return names[0];
    case NATCLASS_AD:
        return names[1];
    case NATCLASS_APD:
        return names[2];
    default:
        return "unknown";
    }
}

const char *natclass_mapping_name(enum natclass_behaviour b)
{
    static const char *const n[3] = {"EIM", "ADM", "APDM"};

    return behaviour_name(b, n);
}

const char *natclass_filtering_name(enum natclass_behaviour b)
{
    static const char *const n[3] = {"EIF", "ADF", "APDF"};

    return behaviour_name(b, n);
}

static const char *answer_name(enum natclass_answer a, const char *yes, const char *no)
{
    return a == NATCLASS_YES ? yes : a == NATCLASS_NO ? no : "untested";
}

int natclass_describe(const struct natclass *c, struct buf *out)
{
    char line[256];
    int n;

    n = snprintf(line, sizeof line, "mapping=%s filtering=%s hairpin=%s port=%s",
                 natclass_mapping_name(c->mapping), natclass_filtering_name(c->filtering),
                 answer_name(c->hairpin, "on", "off"),
                 answer_name(c->port_preserved, "preserved", "changed"));
    if (n > 0 && (size_t)n < sizeof line && c->lifetime_alive != NATCLASS_UNTESTED)
        n += snprintf(line + n, sizeof line - (size_t)n, " lifetime=%s",
                      answer_name(c->lifetime_alive, "alive", "expired"));
    if (n < 0 || (size_t)n >= sizeof line)
        return -1;
    return buf_append(out, line, (size_t)n);
}
