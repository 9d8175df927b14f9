/* err.h - the one error record every fallible function in src/core and src/engine fills.
 * Functions return 0 on success and -1 on failure; on failure they fill a caller-owned
 * struct nt_err. Nothing below src/lua prints, exits or longjmps. */
#ifndef NT_ERR_H
#define NT_ERR_H

#include <stddef.h>

enum nt_err_code {
    NT_OK = 0,
    NT_EINVAL,    /* bad input from the caller (a bad option, a path that escapes) */
    NT_ENGINE,    /* the engine answered with an error status */
    NT_TRANSPORT, /* could not talk to the engine at all */
    NT_PARSE,     /* could not parse what came back */
    NT_LIMIT,     /* a bounded buffer would overflow */
    NT_SYS,       /* a system call failed */
    NT_TIMEOUT,
};

struct nt_err {
    enum nt_err_code code;
    int status;    /* HTTP status, 0 when none */
    char op[64];   /* what was being done: "container create", "exec start" */
    char msg[512]; /* human text, engine's own message when it gave one */
};

/* Fill err (may be NULL) with code, op and a printf-style message. Always returns -1. */
int nt_err_set(struct nt_err *err, enum nt_err_code code, const char *op, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Name of an error code, e.g. "engine", "einval". */
const char *nt_err_code_name(enum nt_err_code code);

#endif
