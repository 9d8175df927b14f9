/* sig.c - storage for the interrupt flag. */
#include "base/sig.h"

volatile sig_atomic_t nt_interrupted;
