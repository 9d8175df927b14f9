/* attach.h - an exec's stream on this process's own file descriptors: the hijacked
 * (upgraded) connection `docker exec -i -t` uses. The exec is made beforehand (POST
 * /containers/{id}/exec with AttachStdin/Tty as wanted); this starts it and pumps bytes
 * until the process ends: stdin to the process, its output back (frames split into
 * stdout and stderr without a TTY), the terminal's size kept in step with a TTY.
 * It blocks (one connection of its own, outside the multi handle): meant for the command
 * line (natrig exec), not for scenarios. */
#ifndef NT_ENGINE_ATTACH_H
#define NT_ENGINE_ATTACH_H

#include "base/err.h"

struct engine;

struct engine_attach {
    int tty;    /* the exec was made with Tty: output is raw, stdin a terminal goes raw */
    int in_fd;  /* -1: no stdin (AttachStdin false) */
    int out_fd; /* stdout (and all output with a TTY) */
    int err_fd; /* stderr without a TTY */
};

/* Start exec exec_id on a connection of its own and pump until it ends. Returns 0 when
 * the stream ended (read the exit code with GET /exec/{id}/json), or -1 with err filled
 * (the engine refused, the connection broke, or a signal arrived without a TTY). */
int engine_exec_attach(struct engine *e, const char *exec_id, const struct engine_attach *a,
                       struct nt_err *err);
#endif
