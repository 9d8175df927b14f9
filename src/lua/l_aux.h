/* l_aux.h - shared pieces of the C<->Lua seam (src/lua/ is the only place that includes
 * lua.h). Functions here may raise Lua errors; none holds C heap memory when it does. */
#ifndef NT_L_AUX_H
#define NT_L_AUX_H
#include <cJSON.h>
#include <lauxlib.h>
#include <lua.h>

#include "base/err.h"

#define NT_ERROR_MT "natrig.Error"
#define NT_ENGINE_MT "natrig.Engine"

/* Raise err as a natrig.Error table {code, status, op, message}. Never returns. */
int nt_raise(lua_State *L, const struct nt_err *err);
/* Raise a natrig.Error built from code, op and a message. Never returns. */
int nt_raisef(lua_State *L, enum nt_err_code code, const char *op, const char *fmt, ...);
/* The one check of a handle (a userdata of metatable mt at idx) before use: returns it, or
 * raises "op: <what> is closed" (NT_EINVAL) when is_open(handle) says it was closed. */
void *nt_check_open(lua_State *L, int idx, const char *mt, int (*is_open)(const void *),
                    const char *op, const char *what);

/* Push a Lua value for j (objects -> tables, arrays -> tables marked as arrays, null ->
 * natrig.core.null). Raises beyond a nesting depth of 64. */
void ljson_push(lua_State *L, const cJSON *j);
/* Like ljson_push, then deletes j (takes ownership), also when pushing raises. */
void ljson_push_owned(lua_State *L, cJSON *j);
/* Convert the value at idx to a new cJSON tree (the caller deletes it). Raises on values
 * JSON cannot hold; the partial tree is freed first. */
cJSON *ljson_check(lua_State *L, int idx);
/* Push the JSON text of the value at idx. */
void ljson_encode(lua_State *L, int idx);

/* Registration of each bound area into the module table at the top of the stack. */
void l_error_open(lua_State *L);
void l_json_open(lua_State *L);
void l_engine_open(lua_State *L);
void l_tar_open(lua_State *L);
void l_clock_open(lua_State *L);
void l_file_open(lua_State *L);
void l_proc_open(lua_State *L);
void l_host_open(lua_State *L);
void l_sock_open(lua_State *L);
void l_hash_open(lua_State *L);
void l_reap_open(lua_State *L);
void l_subnet_open(lua_State *L);
void l_box_open(lua_State *L);
void l_nat_open(lua_State *L);
void l_cgn_open(lua_State *L);
void l_log_open(lua_State *L);
void l_impair_open(lua_State *L);
void l_spawn_open(lua_State *L);
void l_signal_open(lua_State *L);
/* The watch hook (l_signal.c): deadlines and signals reach Lua code that never yields. */
void l_watch_install(lua_State *L);
void l_watch_arm_now(lua_State *L);

/* Boxes: Lua-owned holders for C heap memory (l_box.c), so a raise cannot leak it.
 * l_box_new pushes a userdata with size zeroed bytes and returns them; when it is collected
 * (or at l_box_release, whichever comes first) fini(payload) runs, once. Raises only on
 * allocation failure, before the caller holds anything. */
void *l_box_new(lua_State *L, size_t size, void (*fini)(void *));
void l_box_release(void *payload);
struct buf;
/* A boxed struct buf with the given maximum (0: 64 MiB); buf_free runs at collection. */
struct buf *l_box_buf(lua_State *L, size_t max);

/* Check that every key of the option table at idx is one of names (NULL-terminated);
 * raise "what: unknown option 'x'" otherwise. */
void l_check_options(lua_State *L, int idx, const char *what, const char *const *names);

/* Embedded lua/natrig/ files, registered in package.preload (generated file). */
void nt_embed_preload(lua_State *L);
/* The embedded source of chunk "@lua/natrig/x.lua", or NULL (gen_embed.lua). */
const char *nt_embed_source(const char *chunk, size_t *len);
/* nt_embed_preload, plus natrig.core.embedded_source (natrig_core.c); natrig.core loaded first. */
void nt_embed_open(lua_State *L);
int luaopen_natrig_core(lua_State *L);
int luaopen_natrig(lua_State *L);
#endif
