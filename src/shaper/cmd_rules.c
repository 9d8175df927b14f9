/* cmd_rules.c - `natrig-shaper rules`: run (or print) the iptables argv lists core/impair
 * builds for the NFQUEUE chains, so a sidecar or a test script installs exactly the rules the
 * library would, with no shell in between. Commands run with fork + execvp. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/impair.h"
#include "shaper/shaper.h"

/* Run argv; a may_fail command's output is discarded (its failure is expected). Returns the
 * exit status, or -1 when it could not be started. */
static int run_argv(char *const *argv, int quiet)
{
    pid_t pid = fork();
    int status;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
        }
        execvp(argv[0], argv);
        fprintf(stderr, "natrig-shaper rules: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_rules(int argc, char **argv)
{
    struct impair_cmds cmds = {0};
    struct impair_nfq_link link = {NULL, 0, IMPAIR_DIR_EGRESS};
    struct nt_err err = {0};
    const char *action = argc > 1 ? argv[1] : "", *ipt = NULL;
    int print = 0, have_queue = 0, rc = 0, i;
    size_t k;

    i = 2;
    while (i < argc) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--print") == 0) {
            print = 1;
            i++;
            continue;
        }
        if (!val) {
            nt_err_set(&err, NT_EINVAL, "usage", "unexpected argument '%s'", argv[i]);
            goto usage;
        }
        if (strcmp(argv[i], "--dir") == 0) {
            if (impair_parse_dir("--dir", val, &link.dir, &err) < 0)
                goto usage;
        } else if (strcmp(argv[i], "--queue") == 0) {
            if (shaper_parse_queue("--queue", val, &link.queue, &err) < 0)
                goto usage;
            have_queue = 1;
        } else if (strcmp(argv[i], "--addr") == 0) {
            link.addr = val;
        } else if (strcmp(argv[i], "--iptables") == 0) {
            ipt = val;
        } else {
            nt_err_set(&err, NT_EINVAL, "usage", "unexpected argument '%s'", argv[i]);
            goto usage;
        }
        i += 2;
    }
    if (strcmp(action, "up") == 0) {
        rc = impair_nfq_setup_cmds(ipt, link.dir, &cmds, &err);
    } else if (strcmp(action, "down") == 0) {
        rc = impair_nfq_teardown_cmds(ipt, link.dir, &cmds, &err);
    } else if (strcmp(action, "add") == 0 || strcmp(action, "del") == 0) {
        if (!have_queue) {
            nt_err_set(&err, NT_EINVAL, "usage", "%s needs --queue N", action);
            goto usage;
        }
        rc = action[0] == 'a' ? impair_nfq_link_add_cmds(ipt, &link, &cmds, &err)
                              : impair_nfq_link_del_cmds(ipt, &link, &cmds, &err);
    } else {
        nt_err_set(&err, NT_EINVAL, "usage", "unknown action '%s' (up, down, add, del)", action);
        goto usage;
    }
    if (rc < 0) {
        fprintf(stderr, "natrig-shaper rules: %s\n", err.msg);
        impair_cmds_free(&cmds);
        return 2;
    }
    for (k = 0; k < cmds.n; k++) {
        const struct impair_cmd *c = &cmds.v[k];
        char line[1024];
        int st;

        impair_argv_join(&c->argv, line, sizeof line);
        if (print) {
            printf("%s%s\n", line, c->may_fail ? "  # may fail" : "");
            continue;
        }
        st = run_argv(c->argv.v, c->may_fail);
        if (st != 0 && !c->may_fail) {
            fprintf(stderr, "natrig-shaper rules: failed (status %d): %s\n", st, line);
            rc = 1;
            break;
        }
    }
    impair_cmds_free(&cmds);
    return rc;

usage:
    fprintf(stderr, "natrig-shaper rules: %s\nusage: natrig-shaper %s\n", err.msg,
            shaper_cmd_rules.usage);
    return 2;
}

const struct shaper_cmd shaper_cmd_rules = {
    "rules",
    "rules up|down|add|del [--dir egress|ingress|both] [--queue N] [--addr A.B.C.D[/LEN]] "
    "[--iptables PROGRAM] [--print]",
    run_rules};
