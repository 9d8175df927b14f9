/* fdio.h - whole writes on a file descriptor (a pipe, a socket or a file may take less than
 * asked, and a signal may interrupt a write). */
#ifndef NT_FDIO_H
#define NT_FDIO_H
#include <stddef.h>

/* Write all n bytes of p to fd, again after EINTR and short writes. 0, or -1 (errno set). */
int nt_write_all(int fd, const char *p, size_t n);
#endif
