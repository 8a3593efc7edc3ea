/* SPDX-License-Identifier: MIT */
/* The allocation hook every allocation of the library goes through. */
#include "internal.h"

#include <errno.h>

/* The installed allocator; all zero is the default (fut__alloc and
 * fut__free, internal.h, call malloc and free directly then). */
struct fut_allocator fut__allocator;
/* Blocks outstanding from the current allocator: switching allocators
 * under live memory would hand a block to the wrong free. fut__free()
 * decrements it with release order: a thread that sees the count drop to
 * 0 here may replace the allocator that call just read (a pool worker may
 * free last, see fut_rt_free()). */
_Atomic long fut__outstanding;

FUT_API int fut_set_allocator(const struct fut_allocator *a)
{
    if (a && (!a->alloc || !a->free))
        return -EINVAL;
    if (atomic_load_explicit(&fut__outstanding, memory_order_acquire) != 0)
        return -EBUSY;
    if (a)
        fut__allocator = *a;
    else
        fut__allocator = (struct fut_allocator){NULL, NULL, NULL};
    return 0;
}
