/* cmd_repl.c - `natrig repl`: an interactive Lua prompt with natrig loaded, modelled on
 * lua.c (return-expression first, continuation lines on "<eof>" errors). On a terminal the
 * line is read with libedit (BSD editline, Debian's libedit): history kept across sessions
 * in a file, cursor movement, Ctrl-R search, Tab completion. Otherwise (a pipe, a file)
 * lines come from plain stdin, so scripts can drive the REPL.
 *
 * C only reads lines and runs chunks; the rest is Lua (lua/natrig/repl.lua): completion
 * (natrig.repl.tab), how results print (natrig.repl.show, the pretty-printer), where the
 * history lives (natrig.repl.history_file). Networks built in the REPL are torn down on exit
 * by natrig.cli.repl_exit, which says what it removes.
 *
 * Ctrl-C: at the prompt it clears the line (the signal interrupts the terminal read; the
 * REPL drops the pending interrupt and prompts again); during a running chunk it raises
 * through the hook of cli.c, so __close handlers run, and the REPL goes on. */
#include <errno.h>
#include <histedit.h>
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "base/sig.h"
#include "cli/cli.h"
#include "lua/l_aux.h"

#define REPL_HISTORY_SIZE 1000
#define REPL_LINE_MAX 65536 /* longest line taken from plain stdin */

enum read_status { READ_LINE, READ_EOF, READ_INTERRUPTED };

/* The line editor; el is NULL when stdin is not a terminal. */
struct repl_editor {
    EditLine *el;
    History *hist;
    char history_path[4096]; /* empty: no history file */
};

static const char *current_prompt = "natrig> ";

static int traceback(lua_State *L)
{
    if (!lua_isstring(L, 1) && luaL_callmeta(L, 1, "__tostring"))
        return 1;
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

static int docall(lua_State *L, int nargs, int nres)
{
    int base = lua_gettop(L) - nargs;
    int rc;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    return rc;
}

/* Forget a signal that arrived while no chunk ran (at the prompt, or after a chunk ended):
 * cli.c's handler set the flag and a hook that would raise inside the next Lua call. */
static void drop_interrupt(lua_State *L)
{
    l_watch_install(L);
    nt_interrupted = 0;
}

/* Push natrig.repl[name] (a function). Raises if the module is missing. */
static void push_repl_fn(lua_State *L, const char *name)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.repl");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
}

static const char *prompt_fn(EditLine *el)
{
    (void)el;
    return current_prompt;
}

/* Tab: natrig.repl.tab(text before the cursor, nil, nil, terminal width) -> insert, delete,
 * listing. It deletes
 * `delete` bytes before the cursor, inserts `insert`, and shows `listing` (the candidates,
 * already laid out) under the line. Errors in completion only beep. */
static unsigned char complete_fn(EditLine *el, int ch)
{
    lua_State *L = NULL;
    const LineInfo *li = el_line(el);
    unsigned char rc = CC_REFRESH_BEEP;
    int top, cols = 80;
    (void)ch;
    if (el_get(el, EL_CLIENTDATA, &L) != 0 || !L)
        return CC_ERROR;
    if (el_get(el, EL_GETTC, "co", &cols) != 0 || cols < 20)
        cols = 80;
    top = lua_gettop(L);
    push_repl_fn(L, "tab");
    lua_pushlstring(L, li->buffer, (size_t)(li->cursor - li->buffer));
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushinteger(L, cols);
    /* stack: tab text nil nil width */
    if (docall(L, 4, 3) == LUA_OK) {
        /* stack: insert delete listing */
        const char *ins = lua_tostring(L, -3);
        int del = (int)lua_tointeger(L, -2);
        const char *listing = lua_tostring(L, -1);
        if (del > 0 && del <= li->cursor - li->buffer) {
            el_deletestr(el, del);
            rc = CC_REFRESH;
        }
        if (ins && *ins) {
            el_insertstr(el, ins);
            rc = CC_REFRESH;
        }
        if (listing && *listing) {
            fputs("\n", stdout);
            fputs(listing, stdout);
            fflush(stdout);
            rc = CC_REDISPLAY;
        }
    }
    drop_interrupt(L);
    lua_settop(L, top);
    return rc;
}

static void editor_close(struct repl_editor *ed)
{
    if (ed->el)
        el_end(ed->el);
    if (ed->hist)
        history_end(ed->hist);
    ed->el = NULL;
    ed->hist = NULL;
}

static void editor_open(lua_State *L, struct repl_editor *ed, const char *argv0)
{
    HistEvent ev;
    memset(ed, 0, sizeof *ed);
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return;
    ed->el = el_init(argv0, stdin, stdout, stderr);
    ed->hist = history_init();
    if (!ed->el || !ed->hist) {
        editor_close(ed); /* whichever of the two did start */
        return;
    }
    history(ed->hist, &ev, H_SETSIZE, REPL_HISTORY_SIZE);
    history(ed->hist, &ev, H_SETUNIQUE, 1);
    el_set(ed->el, EL_EDITOR, "emacs");
    el_set(ed->el, EL_PROMPT, prompt_fn);
    el_set(ed->el, EL_HIST, history, ed->hist);
    el_set(ed->el, EL_CLIENTDATA, (void *)L);
    /* No EL_SIGNAL: cli.c's SIGINT handler stays in place and interrupts the read. */
    /* The wide call keeps our static names; the narrow EL_ADDFN copies them and never
     * frees the copies (libedit's own "XXX: The two strdup's leak"), which LSan reports. */
    el_wset(ed->el, EL_ADDFN, L"natrig-complete", L"complete a Lua name or a preset", complete_fn);
    el_set(ed->el, EL_BIND, "^I", "natrig-complete", NULL);
    el_set(ed->el, EL_BIND, "^R", "em-inc-search-prev", NULL);
    el_source(ed->el, NULL); /* the user's ~/.editrc may rebind keys */

    /* stack: (empty) */
    push_repl_fn(L, "history_file");
    if (docall(L, 0, 1) == LUA_OK && lua_isstring(L, -1)) {
        size_t n;
        const char *p = lua_tolstring(L, -1, &n);
        if (n < sizeof ed->history_path) {
            memcpy(ed->history_path, p, n + 1);
            history(ed->hist, &ev, H_LOAD, ed->history_path); /* absent at first: fine */
        }
    }
    lua_pop(L, 1);
}

/* Read one line (without its newline) and push it. */
static enum read_status read_line(lua_State *L, struct repl_editor *ed, const char *prompt)
{
    current_prompt = prompt;
    if (ed->el) {
        int count = 0;
        const char *s;
        errno = 0;
        s = el_gets(ed->el, &count);
        if (!s || count <= 0) {
            /* A signal makes the read fail (count -1, EINTR); Ctrl-D on an empty line
             * is end of input (count 0). */
            if (nt_interrupted || (count < 0 && errno == EINTR))
                return READ_INTERRUPTED;
            return READ_EOF;
        }
        lua_pushlstring(L, s, strcspn(s, "\n"));
        return READ_LINE;
    }
    fputs(prompt, stdout);
    fflush(stdout);
    {
        luaL_Buffer b;
        char chunk[4096];
        size_t total = 0;
        int got = 0;
        luaL_buffinit(L, &b);
        while (fgets(chunk, sizeof chunk, stdin)) {
            size_t n = strcspn(chunk, "\n");
            got = 1;
            total += n;
            if (total > REPL_LINE_MAX) {
                luaL_pushresult(&b);
                lua_pop(L, 1);
                fprintf(stderr, "natrig repl: line longer than %d bytes\n", REPL_LINE_MAX);
                return READ_EOF;
            }
            luaL_addlstring(&b, chunk, n);
            if (chunk[n] == '\n')
                break;
        }
        luaL_pushresult(&b);
        if (!got) {
            lua_pop(L, 1);
            if (ferror(stdin) && errno == EINTR) {
                clearerr(stdin);
                return READ_INTERRUPTED;
            }
            return READ_EOF;
        }
    }
    return READ_LINE;
}

static void remember(struct repl_editor *ed, const char *line)
{
    HistEvent ev;
    if (!ed->hist || line[strspn(line, " \t")] == '\0')
        return;
    history(ed->hist, &ev, H_ENTER, line);
    if (ed->history_path[0])
        history(ed->hist, &ev, H_SAVE, ed->history_path);
}

static int incomplete(lua_State *L, int status)
{
    size_t n;
    const char *msg;
    if (status != LUA_ERRSYNTAX)
        return 0;
    msg = lua_tolstring(L, -1, &n);
    return n >= 5 && strcmp(msg + n - 5, "<eof>") == 0;
}

/* Read a chunk and push it compiled (LUA_OK) or its error message. Returns -1 at end of
 * input, -2 when Ctrl-C cleared the line. */
static int read_chunk(lua_State *L, struct repl_editor *ed)
{
    int status;
    enum read_status rs = read_line(L, ed, "natrig> ");
    if (rs != READ_LINE)
        return rs == READ_EOF ? -1 : -2;
    /* stack: line */
    remember(ed, lua_tostring(L, -1));
    /* Try it as an expression first, so `net:peers()` prints its value. */
    lua_pushfstring(L, "return %s;", lua_tostring(L, -1));
    status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
    lua_remove(L, -2);
    if (status == LUA_OK) {
        lua_remove(L, -2);
        return LUA_OK;
    }
    lua_pop(L, 1);
    /* stack: text */
    for (;;) {
        status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=stdin");
        if (!incomplete(L, status))
            break;
        lua_pop(L, 1);
        rs = read_line(L, ed, ">> ");
        if (rs != READ_LINE) {
            lua_pop(L, 1);
            return rs == READ_EOF ? -1 : -2;
        }
        remember(ed, lua_tostring(L, -1));
        /* stack: text line */
        lua_pushfstring(L, "%s\n%s", lua_tostring(L, -2), lua_tostring(L, -1));
        lua_remove(L, -2);
        lua_remove(L, -2);
    }
    lua_remove(L, -2);
    return status;
}

/* Print the chunk's results through natrig.repl.show (the pretty-printer). */
static void print_results(lua_State *L)
{
    int n = lua_gettop(L);
    if (n == 0)
        return;
    push_repl_fn(L, "show");
    lua_insert(L, 1);
    if (docall(L, n, 0) != LUA_OK) {
        fprintf(stderr, "error printing the result: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}

static void call_cli(lua_State *L, const char *fn, const char *arg)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    if (arg)
        lua_pushstring(L, arg);
    if (docall(L, arg ? 1 : 0, 0) != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    lua_settop(L, 0);
}

int cli_repl(lua_State *L, int argc, char **argv)
{
    struct repl_editor ed;

    /* natrig.cli.repl_init([--attach RUN] [file]) sets up globals (natrig, expect, net,
     * help, ...); a usage error there ends the REPL with 2. */
    lua_getglobal(L, "require");
    lua_pushstring(L, "natrig.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "repl_init");
    lua_remove(L, -2);
    for (int i = 0; i < argc; i++)
        lua_pushstring(L, argv[i]);
    if (docall(L, argc, 1) != LUA_OK) {
        fprintf(stderr, "natrig repl: %s\n", lua_tostring(L, -1));
        return 2;
    }
    /* repl_init says what Ctrl-D does (an attached run is left up) */
    printf("natrig %s - Lua 5.4 with natrig loaded. `help()` lists what is here, Tab "
           "completes; Ctrl-C clears the line or stops a call; %s.\n",
           NATRIG_VERSION, lua_isstring(L, -1) ? lua_tostring(L, -1) : "Ctrl-D quits");
    lua_settop(L, 0);
    editor_open(L, &ed, "natrig");
    for (;;) {
        int status = read_chunk(L, &ed);
        if (status == -1)
            break;
        if (status == -2) {
            /* Ctrl-C at the prompt: the line is gone, the REPL stays. */
            drop_interrupt(L);
            fputs("\n", stdout);
            lua_settop(L, 0);
            continue;
        }
        if (status == LUA_OK)
            status = docall(L, 0, LUA_MULTRET);
        drop_interrupt(L);
        if (status == LUA_OK)
            print_results(L);
        else
            fprintf(stderr, "%s\n", lua_tostring(L, -1));
        lua_settop(L, 0);
        /* After a Ctrl-C, stop what the interrupted line left running (bring-up tasks). */
        call_cli(L, "repl_after", NULL);
        fflush(stdout);
    }
    editor_close(&ed);
    putchar('\n');
    drop_interrupt(L);
    call_cli(L, "repl_exit", NULL);
    return 0;
}
