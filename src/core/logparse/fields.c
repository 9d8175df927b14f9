/* logparse/fields.c - the empty text every format's missing parts point at (the helpers
 * the structured formats share are inline in internal.h). */
#include "core/logparse/internal.h"

const char lp_no_text[1] = {0};
