/* demux.h - the Engine's 8-byte framed stdout/stderr stream (exec, attach and logs of a
 * container without a TTY), split incrementally.
 *
 * Frame: byte 0 = stream (0 stdin, 1 stdout, 2 stderr), bytes 1-3 zero, bytes 4-7 the
 * payload length, big-endian. Bytes may arrive cut anywhere, so the demuxer keeps a
 * partial header between calls and hands payload bytes on as soon as they arrive.
 * Pure: no I/O. */
#ifndef NT_DEMUX_H
#define NT_DEMUX_H
#include <stddef.h>
#include <stdint.h>

struct nt_err;

/* Called with each run of payload bytes (stream 1 = stdout, 2 = stderr; 0 = stdin echo).
 * Return 0 to go on, non-zero to stop demux_feed with an error. */
typedef int (*demux_sink_fn)(void *ud, int stream, const char *p, size_t n);

struct demux {
    unsigned char hdr[8];
    size_t hdr_len;     /* header bytes gathered so far */
    uint32_t remaining; /* payload bytes still due for the current frame */
    int stream;
    uint32_t max_frame; /* a declared length above this is garbage (0: 64 MiB) */
    int raw;            /* 1 after the first bytes proved not to be framed (TTY output) */
    int started;
};

void demux_init(struct demux *d, uint32_t max_frame);
/* Feed n bytes. Returns 0, or -1 with err filled on a garbage header (bad stream byte,
 * non-zero padding, oversized frame) or when the sink refused. When the very first byte
 * cannot start a frame, the demuxer treats the whole stream as raw stdout instead, the
 * way TTY output arrives. */
int demux_feed(struct demux *d, const char *p, size_t n, demux_sink_fn sink, void *ud,
               struct nt_err *err);
/* 1 when the stream ended cleanly on a frame boundary, 0 when a frame was cut short. */
int demux_at_boundary(const struct demux *d);
#endif
