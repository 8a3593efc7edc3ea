/* SPDX-License-Identifier: MIT */
/* The coroutine macros' runtime half: bindings and the generated
 * poll_drop (see <fut/coro.h>). */
#include "internal.h"

#include <errno.h>

#include "fut/coro.h"

FUT_API int fut_coro_bind(fut_coro *co, fut *child)
{
    if (!co || !child)
        return -EINVAL;
    if (co->nbound >= FUT_CORO_MAX_BOUND)
        return -E2BIG;
    co->bound[co->nbound++] = child;
    return 0;
}

static bool is_bound(const fut_coro *co, const fut *f)
{
    for (unsigned i = 0; i < co->nbound; i++)
        if (co->bound[i] == f)
            return true;
    return false;
}

/* The child being awaited (unless bound: it goes with the others), then
 * the bound children in reverse order of binding, one after the other,
 * each asynchronously. Resumable: a PENDING step is retried on the next
 * call. */
FUT_API fut_status fut_coro_poll_drop(fut_coro *co, fut_cx *cx)
{
    fut *a = co->awaiting;
    if (a && !is_bound(co, a) && !(a->state & FUT__F_DROPPED) &&
        fut_poll_drop(a, cx) == FUT_PENDING)
        return FUT_PENDING;
    co->awaiting = NULL;
    while (co->nbound) {
        fut *c = co->bound[co->nbound - 1];
        if (!(c->state & FUT__F_DROPPED) && fut_poll_drop(c, cx) == FUT_PENDING)
            return FUT_PENDING;
        co->nbound--;
    }
    return FUT_READY;
}
