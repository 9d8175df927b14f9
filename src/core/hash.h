/* hash.h - FNV-1a 64: content hashes for image tags (not for security). Pure. */
#ifndef NT_HASH_H
#define NT_HASH_H
#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_INIT 0xcbf29ce484222325ULL
uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n);
/* Write 16 lower-case hex digits and a NUL into out[17]. */
void hash_hex(uint64_t h, char out[17]);
#endif
