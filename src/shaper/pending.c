/* pending.c - a binary min-heap of held packets keyed on (due time, arrival order): the
 * daemon sleeps until the top is due, so every release costs O(log n) whatever the mix of
 * delays and jitter. Uses base/xalloc. */
#include <stdlib.h>

#include "base/xalloc.h"
#include "shaper/shaper.h"

static int before(const struct pending *a, const struct pending *b)
{
    return a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq);
}

void pending_push(struct pending_heap *h, struct pending *p)
{
    size_t i;

    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->v = xrealloc(h->v, h->cap * sizeof *h->v);
    }
    p->seq = h->next_seq++;
    i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(p, &h->v[parent]))
            break;
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = *p;
}

int pending_peek(const struct pending_heap *h, uint64_t *due_us)
{
    if (h->n == 0)
        return 0;
    *due_us = h->v[0].due_us;
    return 1;
}

void pending_pop(struct pending_heap *h, struct pending *out)
{
    struct pending last;
    size_t i = 0;

    *out = h->v[0];
    last = h->v[--h->n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct pending *mv = &last;
        if (l < h->n && before(&h->v[l], mv))
            m = l, mv = &h->v[l];
        if (r < h->n && before(&h->v[r], mv))
            m = r;
        if (m == i)
            break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n > 0)
        h->v[i] = last;
}

void pending_free(struct pending_heap *h)
{
    size_t i;

    for (i = 0; i < h->n; i++)
        free(h->v[i].pkt);
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
