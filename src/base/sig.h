/* sig.h - the process-wide interrupt flag set by SIGINT/SIGTERM handlers. Long waits
 * (engine_poll) check it so Ctrl-C reaches Lua, whose scheduler raises and runs teardown.
 * While signals are deferred (teardown), they are counted but stop nothing. */
#ifndef NT_SIG_H
#define NT_SIG_H
#include <signal.h>

extern volatile sig_atomic_t nt_interrupted;      /* the signal number, 0 when none */
extern volatile sig_atomic_t nt_signals_deferred; /* 1 during teardown */
extern volatile sig_atomic_t nt_signal_count;     /* signals received in all */
extern volatile sig_atomic_t nt_last_signal;      /* the last one received, never cleared */

/* Should a wait stop now? (a signal arrived and signals are not deferred) */
static inline int nt_should_stop(void)
{
    return nt_interrupted && !nt_signals_deferred;
}

/* The pending signal (clearing it), or 0; always 0 while deferred. */
int nt_take_signal(void);
#endif
