/* cmd_ctl.c - the client subcommands: set, clear, stats, bind, ping. Each sends one request to
 * the running daemon (ctl.c) and prints "ok", the answer, or the error (exit status 1; 2 for a
 * usage error). `set` checks the impairment locally first (core/impair), so a typo fails
 * without a daemon and the daemon receives the canonical form. */
#include <stdio.h>
#include <string.h>

#include "core/impair.h"
#include "shaper/shaper.h"

#define MAX_KV 64

struct ctl_opts {
    const char *control;
    int have_queue;
    uint16_t queue;
    int timeout_ms;
    const char *kv[MAX_KV];
    size_t nkv;
};

/* --opt VALUE or --opt=VALUE; returns the value and advances *i, or NULL when arg is not opt. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt, int *missing)
{
    size_t l = strlen(opt);

    if (strncmp(argv[*i], opt, l) != 0)
        return NULL;
    if (argv[*i][l] == '=')
        return argv[*i] + l + 1;
    if (argv[*i][l] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static int parse_opts(const struct shaper_cmd *cmd, int argc, char **argv, struct ctl_opts *o,
                      int want_kv)
{
    struct nt_err err = {0};
    int i;

    memset(o, 0, sizeof *o);
    o->timeout_ms = 2000;
    for (i = 1; i < argc; i++) {
        const char *qv, *cv = NULL, *tv = NULL;
        int missing = 0;

        qv = opt_value(argc, argv, &i, "--queue", &missing);
        if (!qv && !missing)
            cv = opt_value(argc, argv, &i, "--control", &missing);
        if (!qv && !cv && !missing)
            tv = opt_value(argc, argv, &i, "--timeout", &missing);
        if (qv) {
            if (shaper_parse_queue("--queue", qv, &o->queue, &err) < 0)
                goto usage;
            o->have_queue = 1;
        } else if (cv) {
            o->control = cv;
        } else if (tv) {
            uint16_t t;
            if (shaper_parse_queue("--timeout", tv, &t, &err) < 0 || t == 0) {
                nt_err_set(&err, NT_EINVAL, "usage", "--timeout: milliseconds, 1-65535");
                goto usage;
            }
            o->timeout_ms = t;
        } else if (missing) {
            nt_err_set(&err, NT_EINVAL, "usage", "%s needs a value", argv[i]);
            goto usage;
        } else if (want_kv && argv[i][0] != '-' && strchr(argv[i], '=') && o->nkv < MAX_KV) {
            o->kv[o->nkv++] = argv[i];
        } else {
            nt_err_set(&err, NT_EINVAL, "usage", "unexpected argument '%s'", argv[i]);
            goto usage;
        }
    }
    return 0;
usage:
    fprintf(stderr, "natrig-shaper %s: %s\nusage: natrig-shaper %s\n", cmd->name, err.msg,
            cmd->usage);
    return -1;
}

/* Send and print. Returns the exit status. */
static int roundtrip(const struct ctl_opts *o, const char *req)
{
    struct nt_err err = {0};
    char reply[SHAPER_MSG_MAX];

    if (ctl_request(shaper_control_path(o->control), req, reply, sizeof reply, o->timeout_ms,
                    &err) < 0) {
        fprintf(stderr, "natrig-shaper: %s\n", err.msg);
        return 1;
    }
    if (strncmp(reply, "ok", 2) == 0 && (reply[2] == '\0' || reply[2] == ' ')) {
        printf("%s\n", reply[2] ? reply + 3 : "ok");
        return 0;
    }
    fprintf(stderr, "natrig-shaper: %s\n", strncmp(reply, "err ", 4) == 0 ? reply + 4 : reply);
    return 1;
}

static int need_queue(const struct shaper_cmd *cmd, const struct ctl_opts *o)
{
    if (o->have_queue)
        return 0;
    fprintf(stderr, "natrig-shaper %s: --queue is required\nusage: natrig-shaper %s\n", cmd->name,
            cmd->usage);
    return -1;
}

static int run_set(int argc, char **argv)
{
    struct ctl_opts o;
    struct impair_spec s;
    struct nt_err err = {0};
    char req[SHAPER_MSG_MAX], spec[SHAPER_MSG_MAX - 32];

    if (parse_opts(&shaper_cmd_set, argc, argv, &o, 1) < 0 || need_queue(&shaper_cmd_set, &o) < 0)
        return 2;
    impair_spec_init(&s);
    if (impair_spec_parse_kv(&s, o.kv, o.nkv, &err) < 0 || shaper_check_spec(&s, &err) < 0) {
        fprintf(stderr, "natrig-shaper set: %s\n", err.msg);
        return 2;
    }
    impair_spec_format(&s, spec, sizeof spec);
    snprintf(req, sizeof req, "set queue=%u%s%s", (unsigned)o.queue, *spec ? " " : "", spec);
    return roundtrip(&o, req);
}

static int run_simple(const struct shaper_cmd *cmd, int argc, char **argv, int queue_required,
                      int queue_allowed)
{
    struct ctl_opts o;
    char req[64];

    if (parse_opts(cmd, argc, argv, &o, 0) < 0)
        return 2;
    if (queue_required && need_queue(cmd, &o) < 0)
        return 2;
    if (!queue_allowed && o.have_queue) {
        fprintf(stderr, "natrig-shaper %s: takes no --queue\n", cmd->name);
        return 2;
    }
    if (o.have_queue)
        snprintf(req, sizeof req, "%s queue=%u", cmd->name, (unsigned)o.queue);
    else
        snprintf(req, sizeof req, "%s", cmd->name);
    return roundtrip(&o, req);
}

static int run_clear(int argc, char **argv)
{
    return run_simple(&shaper_cmd_clear, argc, argv, 1, 1);
}

static int run_stats(int argc, char **argv)
{
    return run_simple(&shaper_cmd_stats, argc, argv, 0, 1);
}

static int run_bind(int argc, char **argv)
{
    return run_simple(&shaper_cmd_bind, argc, argv, 1, 1);
}

static int run_ping(int argc, char **argv)
{
    return run_simple(&shaper_cmd_ping, argc, argv, 0, 0);
}

const struct shaper_cmd shaper_cmd_set = {
    "set",
    "set --queue N [--control PATH] [--timeout MS] key=value ... (keys: delay jitter "
    "distribution loss loss_corr duplicate reorder reorder_corr reorder_gap corrupt rate "
    "direction seed preset; the spec replaces the queue's whole impairment; seed=N restarts "
    "its random decisions from N)",
    run_set};
const struct shaper_cmd shaper_cmd_clear = {"clear", "clear --queue N [--control PATH]", run_clear};
const struct shaper_cmd shaper_cmd_stats = {"stats", "stats [--queue N] [--control PATH]",
                                            run_stats};
const struct shaper_cmd shaper_cmd_bind = {"bind", "bind --queue N [--control PATH]", run_bind};
const struct shaper_cmd shaper_cmd_ping = {"ping", "ping [--control PATH]", run_ping};
