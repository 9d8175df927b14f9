/* test_natclass.c - core/natclass: every real turnutils_natdiscovery output captured by
 * tests/nat/netns-classify (tests/fixtures/natdiscovery/NAME.txt) must parse to the verdict in
 * NAME.expected; plus CRLF and truncated copies, text that is not natdiscovery output, the
 * notes for unknown fields, and the class each preset claims. TAP. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/natclass.h"
#include "tap.h"

static void describe(const struct natclass *c, char *dst, size_t n)
{
    struct buf b;

    buf_init(&b, 1024);
    natclass_describe(c, &b);
    snprintf(dst, n, "%s", b.data ? b.data : "");
    buf_free(&b);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every NAME.txt in the directory against NAME.expected. */
static void test_fixtures(void)
{
    char dir[512], *names[256];
    size_t n = 0, i;
    DIR *d;
    struct dirent *e;

    snprintf(dir, sizeof dir, "%s/natdiscovery", tap_fixture_dir());
    d = opendir(dir);
    ok(d != NULL, "open %s", dir);
    if (!d)
        return;
    for (e = readdir(d); e && n < 256; e = readdir(d)) {
        size_t l = strlen(e->d_name);

        if (l > 4 && strcmp(e->d_name + l - 4, ".txt") == 0)
            names[n++] = strndup(e->d_name, l - 4);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    ok(n >= 20, "at least 20 captured outputs (%zu)", n);

    for (i = 0; i < n; i++) {
        char path[768], want[256], got[256];
        char *text, *exp;
        size_t len = 0, elen = 0;
        struct natclass c;
        struct nt_err err = {0};

        snprintf(path, sizeof path, "%s/%s.txt", dir, names[i]);
        text = tap_slurp(path, &len);
        snprintf(path, sizeof path, "%s/%s.expected", dir, names[i]);
        exp = tap_slurp(path, &elen);
        ok(text && exp, "%s: fixture and expectation read", names[i]);
        if (text && exp) {
            snprintf(want, sizeof want, "%.*s", (int)strcspn(exp, "\n"), exp);
            ok(natclass_parse(text, len, &c, &err) == 0, "%s: parsed (%s)", names[i], err.msg);
            describe(&c, got, sizeof got);
            is_str(got, want, "%s: verdict", names[i]);

            /* the same text with CRLF line ends reads the same */
            {
                char *crlf = malloc(len * 2 + 1), crlf_got[256];
                size_t j, k = 0;
                struct natclass c2;

                for (j = 0; j < len; j++) {
                    if (text[j] == '\n')
                        crlf[k++] = '\r';
                    crlf[k++] = text[j];
                }
                ok(natclass_parse(crlf, k, &c2, &err) == 0, "%s: CRLF parsed", names[i]);
                describe(&c2, crlf_got, sizeof crlf_got);
                is_str(crlf_got, want, "%s: CRLF verdict", names[i]);
                free(crlf);
            }
            /* every prefix parses without reading past its end (ASan would tell) */
            {
                size_t cut;
                int fine = 1;

                for (cut = 0; cut < len; cut += 7) {
                    char *part = malloc(cut ? cut : 1);
                    struct natclass c3;

                    memcpy(part, text, cut);
                    if (natclass_parse(part, cut, &c3, &err) == 0 &&
                        (c3.mapping != NATCLASS_UNKNOWN && c.mapping != c3.mapping))
                        fine = 0;
                    free(part);
                }
                ok(fine, "%s: truncated copies never give another mapping verdict", names[i]);
            }
        }
        free(text);
        free(exp);
        free(names[i]);
    }
}

static void test_details(void)
{
    char path[512];
    char *text;
    size_t len = 0;
    struct natclass c;
    struct nt_err err = {0};

    snprintf(path, sizeof path, "%s/natdiscovery/port_restricted-hairpin_on.txt",
             tap_fixture_dir());
    text = tap_slurp(path, &len);
    ok(text && natclass_parse(text, len, &c, &err) == 0, "port_restricted-hairpin_on parsed");
    if (text) {
        ok(strncmp(c.public_addr, "203.0.113.1:", 12) == 0, "public address %s", c.public_addr);
        is_str(c.note, "", "nothing unknown, no note");
        is_int(c.lifetime_alive, NATCLASS_UNTESTED, "lifetime untested");
    }
    free(text);

    snprintf(path, sizeof path, "%s/natdiscovery/no_server.txt", tap_fixture_dir());
    text = tap_slurp(path, &len);
    ok(text && natclass_parse(text, len, &c, &err) == 0, "no_server parsed");
    if (text) {
        is_str(c.note, "hairpin: no response from the STUN server", "no_server note");
        is_str(c.public_addr, "", "no public address");
    }
    free(text);

    snprintf(path, sizeof path, "%s/natdiscovery/no_nat.txt", tap_fixture_dir());
    text = tap_slurp(path, &len);
    ok(text && natclass_parse(text, len, &c, &err) == 0 && c.mapping == NATCLASS_NO_NAT &&
           c.filtering == NATCLASS_NO_NAT,
       "no_nat: 'No NAT!' wins over the EIM/EIF line the tool prints after it");
    free(text);

    memset(&err, 0, sizeof err);
    ok(natclass_parse("hello\nworld\n", 12, &c, &err) == -1 && err.code == NT_PARSE &&
           strstr(err.msg, "no turnutils_natdiscovery section"),
       "not natdiscovery output: %s", err.msg);
    ok(natclass_parse(NULL, 5, &c, &err) == -1, "NULL text");
    ok(natclass_parse("", 0, &c, &err) == -1, "empty text");

    /* a verdict line of another section does not count */
    {
        const char *t = "\n-= Filtering Behavior Discovery =-\n"
                        "0: : IPv4. UDP reflexive addr: 1.2.3.4:5\n"
                        "NAT with Endpoint Independent Mapping!\n";

        ok(natclass_parse(t, strlen(t), &c, &err) == 0 && c.mapping == NATCLASS_UNKNOWN &&
               c.filtering == NATCLASS_UNKNOWN && strstr(c.note, "no verdict"),
           "mapping verdict inside the filtering section ignored: %s", c.note);
    }
    /* a server without RFC 5780: responses but no verdict */
    {
        const char *t = "\n-= Mapping Behavior Discovery =-\n"
                        "0: : IPv4. UDP reflexive addr: 1.2.3.4:5\n"
                        "0: : IPv4. Local addr: : 0.0.0.0:6\n";

        ok(natclass_parse(t, strlen(t), &c, &err) == 0 && c.mapping == NATCLASS_UNKNOWN &&
               c.port_preserved == NATCLASS_NO && strstr(c.note, "RFC 5780"),
           "no verdict without RFC 5780: %s", c.note);
    }
}

static void test_from_spec(void)
{
    static const struct {
        const char *preset;
        const char *want;
    } rows[] = {
        {"full_cone", "mapping=EIM filtering=EIF hairpin=on port=preserved"},
        {"restricted_cone", "mapping=EIM filtering=ADF hairpin=on port=preserved"},
        {"port_restricted", "mapping=EIM filtering=APDF hairpin=on port=preserved"},
        {"symmetric", "mapping=APDM filtering=APDF hairpin=on port=changed"},
        {"address_dependent", "mapping=ADM filtering=ADF hairpin=on port=changed"},
        {"linux_masquerade", "mapping=EIM filtering=APDF hairpin=off port=preserved"},
    };
    size_t i;

    for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct natrule_spec s;
        struct natclass c;
        char got[256];

        natrule_preset(rows[i].preset, &s, NULL);
        natclass_from_spec(&s, &c);
        describe(&c, got, sizeof got);
        is_str(got, rows[i].want, "%s claims", rows[i].preset);
    }
    is_str(natclass_mapping_name(NATCLASS_APD), "APDM", "mapping name");
    is_str(natclass_filtering_name(NATCLASS_AD), "ADF", "filtering name");
    is_str(natclass_mapping_name(NATCLASS_NO_NAT), "none", "no NAT name");
    is_str(natclass_filtering_name((enum natclass_behaviour)99), "unknown", "out of range");
}

int main(void)
{
    test_fixtures();
    test_details();
    test_from_spec();
    return tap_done();
}
