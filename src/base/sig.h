/* sig.h - the process-wide interrupt flag set by SIGINT/SIGTERM handlers. Long waits
 * (engine_poll) check it so Ctrl-C reaches Lua, whose hook raises and runs teardown. */
#ifndef NT_SIG_H
#define NT_SIG_H
#include <signal.h>

extern volatile sig_atomic_t nt_interrupted; /* the signal number, 0 when none */
#endif
