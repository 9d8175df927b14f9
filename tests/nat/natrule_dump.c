/* natrule_dump.c - test driver for core/natrule and core/natclass, used by the netns proofs
 * in tests/nat/.
 *   natrule_dump ruleset PRESET WAN_IP LAN_CIDR [key=value ...]   print the nft ruleset
 *   natrule_dump expect  PRESET WAN_IP LAN_CIDR [key=value ...]   print the claimed class
 *   natrule_dump check   PRESET WAN_IP LAN_CIDR [key=value ...] < `nft list table ip natrig`
 *   natrule_dump argv    PRESET WAN_IP LAN_CIDR [key=value ...]   print the apply, verify,
 *                        flush and diag argvs, one per line: "<what> <arg> <arg>..."
 *   natrule_dump classify < turnutils_natdiscovery output          print the measured class
 *   natrule_dump presets                                             the preset names, one a line
 *   natrule_dump cgn ruleset|check|argv|customers|expect key=value ...  a CGN
 *                        (core/natrule_cgn): its ruleset, the listing check (stdin), its flush
 *                        argvs, one line per customer "<inside> <public> <lo> <hi>", or the
 *                        class a client measures (home=PRESET: behind that home router too);
 *                        keys as for natrule_cgn_set_option (pool= and customer= repeat)
 * key=value options are those of natrule_set_option (mapping, filtering, hairpin, ...).
 * "expect" and "classify" print the same format so the scripts can compare them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "core/natclass.h"
#include "core/natrule.h"
#include "core/natrule_cgn.h"

static int die(const struct nt_err *err)
{
    fprintf(stderr, "natrule_dump: %s: %s\n", err->op, err->msg);
    return 2;
}

static void print_argv(const char *what, const struct natrule_argv *a)
{
    size_t i;

    printf("%s", what);
    for (i = 0; a->v[i]; i++)
        printf(" %s", a->v[i]);
    printf("\n");
}

static int read_stdin(struct buf *b)
{
    char chunk[4096];
    size_t n;

    for (n = fread(chunk, 1, sizeof chunk, stdin); n > 0; n = fread(chunk, 1, sizeof chunk, stdin))
        if (buf_append(b, chunk, n) < 0)
            return -1;
    if (!b->data)
        buf_append(b, "", 0);
    return 0;
}

static int build_spec(int argc, char **argv, struct natrule_spec *s, struct nt_err *err)
{
    int i;

    /* wan_ip and lan through natrule_set_option: an IPv6 firewall's (family=6) are IPv6 */
    if (natrule_preset(argv[2], s, err) < 0 || natrule_set_option(s, "wan_ip", argv[3], err) < 0 ||
        natrule_set_option(s, "lan", argv[4], err) < 0)
        return -1;
    for (i = 5; i < argc; i++) {
        char key[64];
        const char *eq = strchr(argv[i], '=');
        size_t kl = eq ? (size_t)(eq - argv[i]) : 0;

        if (!eq || kl >= sizeof key)
            return nt_err_set(err, NT_EINVAL, "natrule_dump", "bad option '%s' (want key=value)",
                              argv[i]);
        memcpy(key, argv[i], kl);
        key[kl] = '\0';
        if (natrule_set_option(s, key, eq + 1, err) < 0)
            return -1;
    }
    return natrule_validate(s, err);
}

static int cgn_main(int argc, char **argv, struct buf *b)
{
    struct nt_err err = {0};
    struct natrule_cgn c;
    int i;

    const char *home = NULL;

    natrule_cgn_init(&c);
    for (i = 3; i < argc; i++) {
        if (strncmp(argv[i], "home=", 5) == 0) {
            home = argv[i] + 5;
            continue;
        }
        char key[64];
        const char *eq = strchr(argv[i], '=');
        size_t kl = eq ? (size_t)(eq - argv[i]) : 0;

        if (!eq || kl >= sizeof key) {
            fprintf(stderr, "natrule_dump: bad option '%s' (want key=value)\n", argv[i]);
            return 2;
        }
        memcpy(key, argv[i], kl);
        key[kl] = '\0';
        if (natrule_cgn_set_option(&c, key, eq + 1, &err) < 0)
            return die(&err);
    }
    if (natrule_cgn_validate(&c, &err) < 0)
        return die(&err);
    if (strcmp(argv[2], "ruleset") == 0) {
        if (natrule_cgn_ruleset(&c, b, &err) < 0)
            return die(&err);
        fputs(b->data, stdout);
    } else if (strcmp(argv[2], "check") == 0) {
        if (read_stdin(b) < 0 || natrule_cgn_check_listing(&c, b->data, &err) < 0)
            return die(&err);
        printf("ready\n");
    } else if (strcmp(argv[2], "argv") == 0) {
        static struct natrule_argv a[NATRULE_CGN_MAX_CUSTOMERS + 8];
        static char names[NATRULE_CGN_MAX_CUSTOMERS + 8][16];
        size_t n = natrule_cgn_flush_argvs(&c, a, names, NATRULE_CGN_MAX_CUSTOMERS + 8), k;

        for (k = 0; k < n; k++)
            print_argv("flush", &a[k]);
    } else if (strcmp(argv[2], "expect") == 0) {
        struct natclass h, out;
        struct natrule_spec hs;

        if (home && natrule_preset(home, &hs, &err) < 0)
            return die(&err);
        if (home)
            natclass_from_spec(&hs, &h);
        natrule_cgn_claim(&c, home ? &h : NULL, &out);
        natclass_describe(&out, b);
        printf("%s\n", b->data);
    } else if (strcmp(argv[2], "customers") == 0) {
        for (size_t k = 0; k < c.n_cust; k++) {
            char in[16], pub[16];
            uint32_t addr;
            unsigned lo, hi;

            natrule_cgn_customer(&c, k, &addr, &lo, &hi);
            ipv4_format(c.cust[k], in, sizeof in);
            ipv4_format(addr, pub, sizeof pub);
            printf("%s %s %u %u\n", in, pub, lo, hi);
        }
    } else {
        fprintf(stderr, "natrule_dump: unknown cgn mode '%s'\n", argv[2]);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct nt_err err = {0};
    struct natrule_spec spec;
    struct buf b;
    int rc = 0;

    buf_init(&b, 1 << 20);
    if (argc == 2 && strcmp(argv[1], "presets") == 0) {
        for (const char *const *p = natrule_preset_names(); *p; p++)
            printf("%s\n", *p);
        buf_free(&b);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "cgn") == 0) {
        rc = cgn_main(argc, argv, &b);
        buf_free(&b);
        return rc;
    }
    if (argc == 2 && strcmp(argv[1], "classify") == 0) {
        struct natclass c;

        if (read_stdin(&b) < 0 || natclass_parse(b.data, b.len, &c, &err) < 0) {
            buf_free(&b);
            return die(&err);
        }
        buf_reset(&b);
        natclass_describe(&c, &b);
        printf("%s\n", b.data);
        buf_free(&b);
        return 0;
    }
    if (argc < 5) {
        fprintf(stderr, "usage: natrule_dump ruleset|expect|check|argv PRESET WAN_IP LAN_CIDR "
                        "[key=value ...]\n       natrule_dump classify < natdiscovery.txt\n");
        return 2;
    }
    if (build_spec(argc, argv, &spec, &err) < 0)
        return die(&err);
    if (strcmp(argv[1], "ruleset") == 0) {
        if (natrule_ruleset(&spec, &b, &err) < 0)
            rc = die(&err);
        else
            fputs(b.data, stdout);
    } else if (strcmp(argv[1], "expect") == 0) {
        struct natclass c;

        natclass_from_spec(&spec, &c);
        natclass_describe(&c, &b);
        printf("%s\n", b.data);
    } else if (strcmp(argv[1], "check") == 0) {
        if (read_stdin(&b) < 0 || natrule_check_listing(&spec, b.data, &err) < 0)
            rc = die(&err);
        else
            printf("ready\n");
    } else if (strcmp(argv[1], "argv") == 0) {
        struct natrule_argv a[8];
        size_t n, i;

        natrule_apply_argv(NULL, &a[0]);
        print_argv("apply", &a[0]);
        natrule_verify_argv(&a[0]);
        print_argv("verify", &a[0]);
        n = natrule_flush_argvs(&spec, a, 8);
        for (i = 0; i < n && i < 8; i++)
            print_argv("flush", &a[i]);
        n = natrule_diag_argvs(a, 8);
        for (i = 0; i < n && i < 8; i++)
            print_argv("diag", &a[i]);
    } else {
        fprintf(stderr, "natrule_dump: unknown mode '%s'\n", argv[1]);
        rc = 2;
    }
    buf_free(&b);
    return rc;
}
