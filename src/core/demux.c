/* demux.c - incremental splitter of the Engine's multiplexed stdout/stderr stream. */
#include "core/demux.h"

#include <string.h>

#include "base/err.h"

void demux_init(struct demux *d, uint32_t max_frame)
{
    memset(d, 0, sizeof *d);
    d->max_frame = max_frame ? max_frame : (uint32_t)64 << 20;
}

static int header_ok(const unsigned char *h)
{
    return h[0] <= 2 && h[1] == 0 && h[2] == 0 && h[3] == 0;
}

int demux_feed(struct demux *d, const char *p, size_t n, demux_sink_fn sink, void *ud,
               struct nt_err *err)
{
    if (!d->started && n > 0) {
        d->started = 1;
        /* A framed stream starts with 0, 1 or 2; anything else is TTY/raw output. */
        if ((unsigned char)p[0] > 2)
            d->raw = 1;
    }
    if (d->raw) {
        if (n && sink(ud, 1, p, n))
            return nt_err_set(err, NT_LIMIT, "demux", "stream consumer refused data");
        return 0;
    }
    while (n > 0) {
        if (d->remaining == 0) {
            size_t take = 8 - d->hdr_len;
            if (take > n)
                take = n;
            memcpy(d->hdr + d->hdr_len, p, take);
            d->hdr_len += take;
            p += take;
            n -= take;
            if (d->hdr_len < 8)
                return 0;
            if (!header_ok(d->hdr))
                return nt_err_set(err, NT_PARSE, "demux",
                                  "garbage stream header (bytes %02x %02x %02x %02x)", d->hdr[0],
                                  d->hdr[1], d->hdr[2], d->hdr[3]);
            d->stream = d->hdr[0];
            d->remaining = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                           (uint32_t)d->hdr[6] << 8 | (uint32_t)d->hdr[7];
            d->hdr_len = 0;
            if (d->remaining > d->max_frame)
                return nt_err_set(err, NT_LIMIT, "demux",
                                  "stream frame of %u bytes exceeds the %u-byte limit",
                                  d->remaining, d->max_frame);
            continue;
        }
        size_t take = n < d->remaining ? n : d->remaining;
        if (sink(ud, d->stream, p, take))
            return nt_err_set(err, NT_LIMIT, "demux", "stream consumer refused data");
        d->remaining -= (uint32_t)take;
        p += take;
        n -= take;
    }
    return 0;
}

int demux_at_boundary(const struct demux *d)
{
    return d->raw || (d->remaining == 0 && d->hdr_len == 0);
}
