/* sig.c - storage for the interrupt flags. */
#include "base/sig.h"

volatile sig_atomic_t nt_interrupted;
volatile sig_atomic_t nt_signals_deferred;
volatile sig_atomic_t nt_signal_count;
volatile sig_atomic_t nt_last_signal;

int nt_take_signal(void)
{
    int s;
    if (nt_signals_deferred)
        return 0;
    s = nt_interrupted;
    nt_interrupted = 0;
    return s;
}
