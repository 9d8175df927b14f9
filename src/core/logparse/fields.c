/* logparse/fields.c - what the structured formats share: key roles, the entry's field
 * list, quoted strings. */
#include "core/logparse/internal.h"

const char lp_no_text[1] = {0};

/* Key roles shared by JSON and logfmt. */
enum lp_key lp_key_kind(const char *p, size_t n)
{
    static const struct {
        const char *name;
        size_t n;
        enum lp_key kind;
    } keys[] = {
        {"time", 4, LP_KEY_TIME},
        {"level", 5, LP_KEY_LEVEL},
        {"msg", 3, LP_KEY_MSG},
        {"ts", 2, LP_KEY_TIME},
        {"timestamp", 9, LP_KEY_TIME},
        {"message", 7, LP_KEY_MSG},
        {"lvl", 3, LP_KEY_LEVEL},
        {"@timestamp", 10, LP_KEY_TIME},
        {"severity", 8, LP_KEY_LEVEL},
        {"levelname", 9, LP_KEY_LEVEL},
        {"log.level", 9, LP_KEY_LEVEL},
        {"@message", 8, LP_KEY_MSG},
        {"target", 6, LP_KEY_TARGET},
        {"logger", 6, LP_KEY_TARGET},
        {"logger_name", 11, LP_KEY_TARGET},
        {"fields", 6, LP_KEY_FIELDS},
        {"span", 4, LP_KEY_SPAN},
        {"spans", 5, LP_KEY_SPANS},
    };
    size_t i;

    if (n < 2 || n > 11)
        return LP_KEY_OTHER;
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (keys[i].n == n && memcmp(keys[i].name, p, n) == 0)
            return keys[i].kind;
    return LP_KEY_OTHER;
}

void lp_add_field(struct logparse_entry *e, struct logparse_span k, struct logparse_span v)
{
    if (e->nfields >= LOGPARSE_MAX_FIELDS) {
        e->flags |= LOGPARSE_F_FIELDS_DROPPED;
        return;
    }
    e->fields[e->nfields].key = k;
    e->fields[e->nfields].val = v;
    e->nfields++;
}

/* Whether one more field fits; sets the flag when not, so nothing is built for nothing. */
int lp_field_room(struct logparse_entry *e)
{
    if (e->nfields < LOGPARSE_MAX_FIELDS)
        return 1;
    e->flags |= LOGPARSE_F_FIELDS_DROPPED;
    return 0;
}

/* A quoted string at p ('"'); returns the position of the closing quote or NULL if cut. */
const char *lp_quote_end(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            if (++p == end)
                return NULL;
        } else if (*p == '"') {
            return p;
        }
    }
    return NULL;
}
