/* SPDX-License-Identifier: MIT */
/* The allocation hook every allocation of the library goes through. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

static void *default_alloc(void *ud, size_t size)
{
    return malloc(size);
}

static void default_free(void *ud, void *p, size_t size)
{
    free(p);
}

static struct fut_allocator allocator = {default_alloc, default_free, NULL};
/* Blocks outstanding from the current allocator: switching allocators
 * under live memory would hand a block to the wrong free. */
static _Atomic long outstanding;

void *fut__alloc(size_t size)
{
    void *p = allocator.alloc(allocator.ud, size);
    if (p)
        atomic_fetch_add_explicit(&outstanding, 1, memory_order_relaxed);
    return p;
}

void fut__free(void *p, size_t size)
{
    if (!p)
        return;
    allocator.free(allocator.ud, p, size);
    /* release: a thread that sees the count drop to 0 in
     * fut_set_allocator() may replace the allocator this call just read
     * (a pool worker may free last, see fut_rt_free()). */
    atomic_fetch_sub_explicit(&outstanding, 1, memory_order_release);
}

FUT_API int fut_set_allocator(const struct fut_allocator *a)
{
    if (a && (!a->alloc || !a->free))
        return -EINVAL;
    if (atomic_load_explicit(&outstanding, memory_order_acquire) != 0)
        return -EBUSY;
    if (a)
        allocator = *a;
    else
        allocator = (struct fut_allocator){default_alloc, default_free, NULL};
    return 0;
}
