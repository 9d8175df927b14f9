/* logparse/json.c - JSON lines (rule 4 of core/logparse.h): a small validating scanner, key
 * roles, nested objects flattened to dotted keys, tracing's spans rendered as text; also
 * zap's trailing context object. */
#include "core/logparse/internal.h"

/* Deeper JSON is not a log line worth structuring; the bound keeps recursion small. */
#define JSON_MAX_DEPTH 64

struct json {
    const char *p, *end;
};

enum jtype { J_STR, J_NUM, J_LIT, J_OBJ, J_ARR };

struct jval {
    enum jtype type;
    const char *s, *e; /* strings: the content between the quotes; others: the text */
    int esc;           /* a string holding backslash escapes */
};

static void js_ws(struct json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* A string at j->p; escapes are validated here so unescaping cannot fail later. */
static int js_string(struct json *j, struct jval *v)
{
    const char *q = j->p + 1;

    v->type = J_STR;
    v->esc = 0;
    for (;;) {
        while (q < j->end && *q != '"' && *q != '\\')
            q++;
        if (q >= j->end)
            return -1;
        if (*q == '"')
            break;
        v->esc = 1;
        if (++q >= j->end)
            return -1;
        switch (*q) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            q++;
            break;
        case 'u':
            if (j->end - q < 5 || hex_val((unsigned char)q[1]) < 0 ||
                hex_val((unsigned char)q[2]) < 0 || hex_val((unsigned char)q[3]) < 0 ||
                hex_val((unsigned char)q[4]) < 0)
                return -1;
            q += 5;
            break;
        default:
            return -1;
        }
    }
    v->s = j->p + 1;
    v->e = q;
    j->p = q + 1;
    return 0;
}

static int js_digits(struct json *j)
{
    const char *s = j->p;

    while (j->p < j->end && is_digit((unsigned char)*j->p))
        j->p++;
    return j->p > s ? 0 : -1;
}

static int js_number(struct json *j, struct jval *v)
{
    v->type = J_NUM;
    v->s = j->p;
    if (*j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (js_digits(j) < 0)
        return -1;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (js_digits(j) < 0)
            return -1;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (js_digits(j) < 0)
            return -1;
    }
    v->e = j->p;
    return 0;
}

static int js_value(struct json *j, struct jval *v, int depth);

/* The members or elements of the object or array at j->p, each value checked, none kept. */
static int js_container(struct json *j, int depth)
{
    char close = *j->p == '{' ? '}' : ']';
    struct jval v;

    if (depth > JSON_MAX_DEPTH)
        return -1;
    j->p++;
    js_ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (j->p >= j->end || *j->p != '"' || js_string(j, &v) < 0)
                return -1;
            js_ws(j);
            if (j->p >= j->end || *j->p != ':')
                return -1;
            j->p++;
            js_ws(j);
        }
        if (js_value(j, &v, depth + 1) < 0)
            return -1;
        js_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == close) {
            j->p++;
            return 0;
        }
        if (*j->p != ',')
            return -1;
        j->p++;
        js_ws(j);
    }
}

/* Any value at j->p; containers are checked and skipped, v->s..v->e spans their text. */
static int js_value(struct json *j, struct jval *v, int depth)
{
    if (j->p >= j->end)
        return -1;
    switch (*j->p) {
    case '"':
        return js_string(j, v);
    case '{':
    case '[':
        v->type = *j->p == '{' ? J_OBJ : J_ARR;
        v->s = j->p;
        if (js_container(j, depth) < 0)
            return -1;
        v->e = j->p;
        return 0;
    case 't':
    case 'f':
    case 'n': {
        static const char *const lits[] = {"true", "false", "null"};
        const char *lit = lits[*j->p == 't' ? 0 : *j->p == 'f' ? 1 : 2];
        size_t n = strlen(lit);
        if (!has_prefix(j->p, j->end, lit, n))
            return -1;
        v->type = J_LIT;
        v->s = j->p;
        v->e = j->p += n;
        return 0;
    }
    default:
        if (*j->p == '-' || is_digit((unsigned char)*j->p))
            return js_number(j, v);
        return -1;
    }
}

/* A value as text: strings decoded (in place when they hold no escapes), others verbatim. */
static struct logparse_span js_text(struct sbuf *sb, const struct jval *v)
{
    if (v->type != J_STR || !v->esc)
        return span_between(v->s, v->e);
    return lp_unescape(sb, v->s, v->e, LP_ESC_GO);
}

static int span_is(struct logparse_span s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* Whose keys a JSON object's members are: the line's (roles apply, also to dotted keys
 * such as "log.level"), tracing's "fields" (only "message" is special) or plain fields. */
enum jroles { JR_TOP, JR_FIELDS, JR_NONE };

/* The dotted path of a flattened member: its raw key, under its parent's path. */
struct jpath {
    const struct jpath *up;
    const struct jval *key;
    size_t n; /* raw bytes of the whole path, dots included */
};

static void path_put(struct sbuf *sb, const struct jpath *p)
{
    if (p->up) {
        path_put(sb, p->up);
        sb_putc(sb, '.');
    }
    if (p->key->esc)
        lp_unescape_put(sb, p->key->s, p->key->e, LP_ESC_GO);
    else
        sb_put(sb, p->key->s, (size_t)(p->key->e - p->key->s));
}

/* The role of a dotted key, matched on its raw text; longer than any role name is none. */
static enum lp_key path_kind(const struct jpath *p)
{
    char buf[16];
    struct sbuf tmp;
    unsigned fl = 0;

    if (p->n > sizeof buf)
        return LP_KEY_OTHER;
    tmp.p = buf;
    tmp.len = 0;
    tmp.cap = sizeof buf;
    tmp.flags = &fl;
    path_put(&tmp, p);
    return lp_key_kind(buf, tmp.len);
}

/* One member's value when no role took it: a field, its key built now that it is kept. */
static void js_field(struct sbuf *sb, struct logparse_entry *e, struct logparse_span key,
                     const struct jpath *path, const struct jval *v)
{
    size_t start = sb->len;

    if (!lp_field_room(e))
        return;
    if (path->up) {
        path_put(sb, path);
        key = sb_since(sb, start);
    }
    lp_add_field(e, key, js_text(sb, v));
}

/* One scalar member; a value the key's role cannot use is kept as a field instead. */
static void js_member(struct sbuf *sb, struct logparse_entry *e, enum lp_key kind,
                      struct logparse_span key, const struct jpath *path, const struct jval *v)
{
    int64_t ns;

    switch (kind) {
    case LP_KEY_TIME:
        if ((v->type == J_STR && !v->esc) || v->type == J_NUM) {
            if (lp_time_value(v->s, v->e, &ns) == 0) {
                e->ts_ns = ns;
                return;
            }
        }
        break;
    case LP_KEY_LEVEL:
        if (v->type == J_STR) {
            int l = lp_level_value(v->s, (size_t)(v->e - v->s));
            if (l > 0) {
                e->level = (enum logparse_level)l;
                return;
            }
        } else if (v->type == J_NUM && v->e - v->s == 2 && all_digits(v->s, v->e)) {
            int n = num_at(v->s, 2); /* pino and bunyan: 10 trace .. 50 error, 60 fatal */
            if (n >= 10 && n <= 60) {
                e->level = n <= 10   ? LOGPARSE_LEVEL_TRACE
                           : n <= 20 ? LOGPARSE_LEVEL_DEBUG
                           : n <= 30 ? LOGPARSE_LEVEL_INFO
                           : n <= 40 ? LOGPARSE_LEVEL_WARN
                           : n <= 50 ? LOGPARSE_LEVEL_ERROR
                                     : LOGPARSE_LEVEL_FATAL;
                return;
            }
        }
        break;
    case LP_KEY_MSG:
        e->message = js_text(sb, v);
        return;
    case LP_KEY_TARGET:
        if (v->type == J_STR) {
            e->target = js_text(sb, v);
            return;
        }
        break;
    default:
        break;
    }
    js_field(sb, e, key, path, v);
}

/* Whether the object at p (at '{') is "{}" with any blanks. */
static int js_empty_object(const char *p, const char *end)
{
    struct json j = {p + 1, end};

    js_ws(&j);
    return j.p < j.end && *j.p == '}';
}

/* The members of the object at j->p, flattened under up (NULL: none). span_at/spans_at get
 * where the line's "span"/"spans" start so they can be rendered once the line is known to
 * parse. */
static int js_object(struct json *j, struct sbuf *sb, struct logparse_entry *e, enum jroles roles,
                     const struct jpath *up, int depth, const char **span_at, const char **spans_at)
{
    struct jval k, v;

    if (depth > JSON_MAX_DEPTH)
        return -1;
    j->p++;
    js_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        struct logparse_span key = {lp_no_text, 0};
        struct jpath path;
        enum lp_key kind = LP_KEY_OTHER;
        if (j->p >= j->end || *j->p != '"' || js_string(j, &k) < 0)
            return -1;
        js_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return -1;
        j->p++;
        js_ws(j);
        path.up = up;
        path.key = &k;
        path.n = (up ? up->n + 1 : 0) + (size_t)(k.e - k.s);
        if (!up) {
            key = js_text(sb, &k); /* in place unless escaped */
            if (roles == JR_TOP)
                kind = lp_key_kind(key.p, key.n);
            else if (roles == JR_FIELDS && span_is(key, "message"))
                kind = LP_KEY_MSG;
        } else if (roles == JR_TOP) {
            kind = path_kind(&path);
        }
        if (j->p >= j->end)
            return -1;
        if (kind == LP_KEY_FIELDS && !up && *j->p == '{') {
            if (js_object(j, sb, e, JR_FIELDS, NULL, depth + 1, span_at, spans_at) < 0)
                return -1;
        } else if (*j->p == '{' && path.n <= LOGPARSE_PREFIX_MAX && kind != LP_KEY_SPAN &&
                   !js_empty_object(j->p, j->end)) {
            /* flattened: its members' keys are this path plus theirs */
            if (js_object(j, sb, e, roles == JR_FIELDS ? JR_NONE : roles, &path, depth + 1, span_at,
                          spans_at) < 0)
                return -1;
        } else {
            if (kind == LP_KEY_SPAN && !up && *j->p == '{')
                *span_at = j->p;
            else if (kind == LP_KEY_SPANS && !up && *j->p == '[')
                *spans_at = j->p;
            if (js_value(j, &v, depth + 1) < 0)
                return -1;
            if ((kind == LP_KEY_SPAN || kind == LP_KEY_SPANS) &&
                (v.type == J_OBJ || v.type == J_ARR))
                ; /* rendered into spans */
            else if (v.type == J_OBJ || v.type == J_ARR)
                js_field(sb, e, key, &path, &v);
            else
                js_member(sb, e, kind, key, &path, &v);
        }
        js_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == '}') {
            j->p++;
            return 0;
        }
        if (*j->p != ',')
            return -1;
        j->p++;
        js_ws(j);
    }
}

/* Render one tracing span object {"name":"conn","peer":"a"} as conn{peer=a}. The text was
 * validated by the first pass, so errors only stop the rendering early. */
static void js_render_span(struct json *j, struct sbuf *sb)
{
    struct json scan = *j;
    struct jval k, v;
    int pass, nother = 0;

    for (pass = 0; pass < 2; pass++) {
        *j = scan;
        j->p++;
        js_ws(j);
        while (j->p < j->end && *j->p == '"') {
            int is_name;
            if (js_string(j, &k) < 0)
                return;
            js_ws(j);
            j->p++; /* ':' */
            js_ws(j);
            if (js_value(j, &v, 2) < 0)
                return;
            is_name = k.e - k.s == 4 && memcmp(k.s, "name", 4) == 0;
            if (pass == 0 && is_name && v.type == J_STR) {
                lp_unescape_put(sb, v.s, v.e, LP_ESC_GO);
            } else if (pass == 1 && !is_name) {
                sb_putc(sb, nother++ ? ' ' : '{');
                lp_unescape_put(sb, k.s, k.e, LP_ESC_GO);
                sb_putc(sb, '=');
                if (v.type == J_STR)
                    lp_unescape_put(sb, v.s, v.e, LP_ESC_GO);
                else
                    sb_put(sb, v.s, (size_t)(v.e - v.s));
            }
            js_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                js_ws(j);
            }
        }
    }
    if (nother)
        sb_putc(sb, '}');
    if (j->p < j->end)
        j->p++; /* '}' */
}

static struct logparse_span js_render_spans(struct sbuf *sb, const char *at, const char *end)
{
    struct json j = {at, end};
    size_t start = sb->len;
    int n = 0;

    if (*j.p == '{') {
        js_render_span(&j, sb);
        return sb_since(sb, start);
    }
    j.p++;
    js_ws(&j);
    while (j.p < j.end && *j.p != ']') {
        struct jval v;
        if (*j.p == '{') {
            if (n++)
                sb_putc(sb, ':');
            js_render_span(&j, sb);
        } else if (js_value(&j, &v, 2) < 0) {
            break;
        }
        js_ws(&j);
        if (j.p < j.end && *j.p == ',') {
            j.p++;
            js_ws(&j);
        }
    }
    return sb_since(sb, start);
}

int lp_parse_json(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e)
{
    struct json j = {p, end};
    const char *span_at = NULL, *spans_at = NULL;

    js_ws(&j);
    if (js_object(&j, sb, e, JR_TOP, NULL, 1, &span_at, &spans_at) < 0)
        return -1;
    js_ws(&j);
    if (j.p != j.end)
        return -1;
    e->format = LOGPARSE_FMT_JSON;
    if (spans_at)
        e->spans = js_render_spans(sb, spans_at, end);
    else if (span_at)
        e->spans = js_render_spans(sb, span_at, end);
    return 0;
}

/* The trailing {json} column of zap: its members become fields (flattened, no roles). */
int lp_json_fields(const char *p, const char *end, struct sbuf *sb, struct logparse_entry *e)
{
    struct json j = {p, end};
    const char *span_at = NULL, *spans_at = NULL;

    if (js_object(&j, sb, e, JR_NONE, NULL, 1, &span_at, &spans_at) < 0)
        return -1;
    js_ws(&j);
    return j.p == j.end ? 0 : -1;
}
