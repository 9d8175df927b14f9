/* cmd_rules.c - `natrig-shaper rules`: run (or print) the iptables argv lists core/impair
 * builds for the NFQUEUE chains, so a sidecar or a test script installs exactly the rules the
 * library would, with no shell in between. The running daemon takes the same request over
 * its control socket ("rules add --dir ... --via IP"), so natrig changes rules without an
 * engine exec round trip. Commands run with fork + execvp. --via finds the interface that
 * carries an address with getifaddrs (interface names are not stable; addresses are).
 * --family v6 writes the same rules with ip6tables (the IPv6 program named after --iptables). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/impair.h"
#include "core/ipv4.h"
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
        /* the daemon's stdout may be a pipe someone reads: a rule's chatter goes nowhere */
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, 1);
            if (quiet)
                dup2(fd, 2);
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

int shaper_dev_for_addr(const char *ip, char *dev, size_t n, struct nt_err *err)
{
    struct ifaddrs *ifa, *i;
    uint32_t want;
    struct in6_addr want6;
    int found = 0, v6 = ip && strchr(ip, ':');

    /* core/ipv4, as every IPv4 address natrig takes; an IPv6 one (a v6-only node's) is
     * compared in binary, so any spelling of it matches */
    if (v6 ? inet_pton(AF_INET6, ip, &want6) != 1 : !ip || ipv4_parse(ip, &want) < 0)
        return nt_err_set(err, NT_EINVAL, "--via", "bad address '%s' (want a.b.c.d or an IPv6 one)",
                          ip ? ip : "");
    if (getifaddrs(&ifa) < 0)
        return nt_err_set(err, NT_SYS, "--via", "getifaddrs: %s", strerror(errno));
    for (i = ifa; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != (v6 ? AF_INET6 : AF_INET))
            continue;
        if (v6 ? memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, &want6,
                        sizeof want6) == 0
               : ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr) == want) {
            snprintf(dev, n, "%s", i->ifa_name);
            found = 1;
        }
    }
    freeifaddrs(ifa);
    if (!found)
        return nt_err_set(err, NT_EINVAL, "--via", "no interface carries %s", ip);
    return 0;
}

int shaper_rules(int argc, char **argv, char *dev_out, size_t dev_n, FILE *out, struct nt_err *err)
{
    struct impair_cmds cmds = {0};
    struct impair_nfq_link link = {NULL, NULL, 0, IMPAIR_DIR_EGRESS};
    const char *action = argc > 1 ? argv[1] : "", *ipt = NULL, *via = NULL;
    enum impair_family fam = IMPAIR_FAMILY_V4;
    char dev[32], prog[64];
    int print = 0, have_queue = 0, rc = 0, i;
    size_t k;

    if (dev_out && dev_n)
        dev_out[0] = '\0';
    i = 2;
    while (i < argc) {
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--print") == 0) {
            print = 1;
            i++;
            continue;
        }
        if (!val)
            return nt_err_set(err, NT_EINVAL, "usage", "unexpected argument '%s'", argv[i]);
        if (strcmp(argv[i], "--dir") == 0) {
            if (impair_parse_dir("--dir", val, &link.dir, err) < 0)
                return -1;
        } else if (strcmp(argv[i], "--queue") == 0) {
            if (shaper_parse_queue("--queue", val, &link.queue, err) < 0)
                return -1;
            have_queue = 1;
        } else if (strcmp(argv[i], "--addr") == 0) {
            link.addr = val;
        } else if (strcmp(argv[i], "--dev") == 0) {
            link.dev = val;
        } else if (strcmp(argv[i], "--via") == 0) {
            via = val;
        } else if (strcmp(argv[i], "--iptables") == 0) {
            ipt = val;
        } else if (strcmp(argv[i], "--family") == 0) {
            if (impair_parse_family("--family", val, &fam, err) < 0)
                return -1;
            if (fam == IMPAIR_FAMILY_BOTH)
                return nt_err_set(err, NT_EINVAL, "usage",
                                  "--family: one family a command (v4 or v6), not both");
        } else {
            return nt_err_set(err, NT_EINVAL, "usage", "unexpected argument '%s'", argv[i]);
        }
        i += 2;
    }
    if (impair_ipt_for_family(ipt, fam, prog, sizeof prog, err) < 0)
        return -1;
    ipt = prog;
    if (strcmp(action, "up") == 0) {
        rc = impair_nfq_setup_cmds(ipt, link.dir, &cmds, err);
    } else if (strcmp(action, "down") == 0) {
        rc = impair_nfq_teardown_cmds(ipt, link.dir, &cmds, err);
    } else if (strcmp(action, "add") == 0 || strcmp(action, "del") == 0) {
        if (via && link.dev)
            return nt_err_set(err, NT_EINVAL, "usage", "--dev and --via exclude each other");
        if (via) {
            if (shaper_dev_for_addr(via, dev, sizeof dev, err) < 0)
                return -1;
            link.dev = dev;
        }
        if (!have_queue || !link.dev)
            return nt_err_set(err, NT_EINVAL, "usage",
                              "%s needs --queue N and --dev IFACE (or "
                              "--via ADDRESS)",
                              action);
        if (dev_out && dev_n)
            snprintf(dev_out, dev_n, "%s", link.dev);
        rc = action[0] == 'a' ? impair_nfq_link_add_cmds(ipt, &link, &cmds, err)
                              : impair_nfq_link_del_cmds(ipt, &link, &cmds, err);
    } else {
        return nt_err_set(err, NT_EINVAL, "usage", "unknown action '%s' (up, down, add, del)",
                          action);
    }
    if (rc < 0) {
        impair_cmds_free(&cmds);
        return -1;
    }
    for (k = 0; k < cmds.n; k++) {
        const struct impair_cmd *c = &cmds.v[k];
        char line[1024];
        int st;

        impair_argv_join(&c->argv, line, sizeof line);
        if (print) {
            if (out)
                fprintf(out, "%s%s\n", line, c->may_fail ? "  # may fail" : "");
            continue;
        }
        st = run_argv(c->argv.v, c->may_fail);
        if (st != 0 && !c->may_fail) {
            nt_err_set(err, NT_SYS, "rules", "failed (status %d): %s", st, line);
            rc = -1;
            break;
        }
    }
    impair_cmds_free(&cmds);
    return rc;
}

static int run_rules(int argc, char **argv)
{
    struct nt_err err = {0};
    char dev[32];

    if (shaper_rules(argc, argv, dev, sizeof dev, stdout, &err) == 0) {
        /* what the daemon answers too: the interface an add/del named */
        if (*dev)
            printf("dev=%s\n", dev);
        return 0;
    }
    if (strcmp(err.op, "usage") == 0) {
        fprintf(stderr, "natrig-shaper rules: %s\nusage: natrig-shaper %s\n", err.msg,
                shaper_cmd_rules.usage);
        return 2;
    }
    fprintf(stderr, "natrig-shaper rules: %s\n", err.msg);
    return strcmp(err.op, "rules") == 0 ? 1 : 2;
}

const struct shaper_cmd shaper_cmd_rules = {
    "rules",
    "rules up|down|add|del [--dir egress|ingress|both] [--queue N] [--dev IFACE | --via ADDRESS] "
    "[--addr A.B.C.D[/LEN]] [--family v4|v6] [--iptables PROGRAM] [--print] (add/del need "
    "--queue and the interface: --dev, or --via the address it carries; lo is refused; "
    "--family v6: the same rules with ip6tables)",
    run_rules};
