/* err.c - struct nt_err helpers. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int nt_err_set(struct nt_err *err, enum nt_err_code code, const char *op, const char *fmt, ...)
{
    va_list ap;
    char msg[sizeof err->msg];

    if (!err)
        return -1;
    err->code = code;
    snprintf(err->op, sizeof err->op, "%s", op ? op : "");
    /* Formatted aside first: callers wrap an earlier message ("lan: %s", err->msg), and
     * vsnprintf into the buffer it reads from is undefined (valgrind: overlapping copy). */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(err->msg, msg, sizeof msg);
    return -1;
}

const char *nt_err_code_name(enum nt_err_code code)
{
    static const char *names[] = {"ok",    "einval", "engine", "transport",
                                  "parse", "limit",  "sys",    "timeout"};

    if ((unsigned)code < sizeof names / sizeof names[0])
        return names[code];
    return "unknown";
}
