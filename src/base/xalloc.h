/* xalloc.h - allocators that abort with a message on OOM (the core does not recover from OOM). */
#ifndef NT_XALLOC_H
#define NT_XALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
#endif
