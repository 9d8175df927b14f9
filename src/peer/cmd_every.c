/* cmd_every.c - `natrig-peer every MS FILE ARGV...`: runs ARGV every MS milliseconds and
 * puts its standard output in FILE (written to FILE.new, then renamed: a reader never sees
 * half a listing). natrig's path counting (natrig.path) runs `nft list table ip natrig_path`
 * so in a holder, its FILE in the holder's control directory, which natrig reads on the
 * host without an engine call. Runs until SIGINT/SIGTERM or the container ends. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peer/peercmd.h"
#include "peer/peerlog.h"
#include "peer/peernet.h"

#define T_EVERY "natrig_peer::every"
#define EVERY_PATH_MAX 4096

static int every_once(char **cmd, const char *out, const char *tmp)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), status = 0;
    pid_t pid;

    if (fd < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(fd);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        if (dup2(fd, 1) < 0)
            _exit(127);
        if (null >= 0)
            dup2(null, 2);
        execvp(cmd[0], cmd);
        _exit(127);
    }
    close(fd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return rename(tmp, out);
}

static int every_run(int argc, char **argv)
{
    struct peerlog_line l;
    char tmp[EVERY_PATH_MAX];
    unsigned long runs = 0, failed = 0;
    long ms;
    char *end = NULL;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        peercmd_usage(&cmd_every, 0);
        return 0;
    }
    if (argc < 4)
        return peercmd_usage_error(&cmd_every, "needs MS FILE ARGV...");
    errno = 0;
    ms = strtol(argv[1], &end, 10);
    if (errno || !end || *end || ms < 10 || ms > 600000)
        return peercmd_usage_error(&cmd_every, "MS must be 10..600000, got '%s'", argv[1]);
    if (snprintf(tmp, sizeof tmp, "%s.new", argv[2]) >= (int)sizeof tmp)
        return peercmd_usage_error(&cmd_every, "FILE is too long");
    peernet_signals_init();
    peerlog_begin(&l, PEERLOG_INFO, T_EVERY, "every started");
    peerlog_int(&l, "ms", ms);
    peerlog_str(&l, "file", argv[2]);
    peerlog_str(&l, "cmd", argv[3]);
    peerlog_end(&l);
    while (!peernet_stop_signal()) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

        runs++;
        if (every_once(argv + 3, argv[2], tmp) < 0)
            failed++;
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !peernet_stop_signal()) {
        }
    }
    peerlog_begin(&l, PEERLOG_INFO, T_EVERY, "shutting down");
    peerlog_int(&l, "runs", (long long)runs);
    peerlog_int(&l, "failed", (long long)failed);
    peerlog_end(&l);
    return 0;
}

const struct peer_cmd cmd_every = {
    "every",
    " MS FILE ARGV...\n"
    "  Runs ARGV every MS milliseconds (10..600000) and puts its standard output in FILE\n"
    "  (written to FILE.new, then renamed). Until SIGINT/SIGTERM.\n",
    "run a command every MS ms, its output into a file",
    every_run,
};
