/* buf.h - a growable byte buffer with a hard maximum (every buffer filled from the network
 * or from logs has one). Functions borrow their inputs. */
#ifndef NT_BUF_H
#define NT_BUF_H
#include <stddef.h>

struct buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len, cap, max;
};

/* Set up an empty buffer that refuses to grow beyond max bytes (0: 64 MiB). */
void buf_init(struct buf *b, size_t max);
/* Append n bytes. Returns 0, or -1 (buffer unchanged) when max would be exceeded. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appends(struct buf *b, const char *s);
/* Drop the first n bytes. */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
#endif
