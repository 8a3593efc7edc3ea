/* SPDX-License-Identifier: MIT */
/* The coroutine macros' runtime half: bindings, the await step and the
 * generated poll_drop (see <fut/coro.h>). */
#include "internal.h"

#include <errno.h>

#include "fut/coro.h"

/* The bindings. The user's FUT_CORO_MAX_BOUND may differ from the one
 * this file was compiled with, so the array is reached through the
 * object's bytes and bounded by co->cap, never by the macro. */
static fut **bound(fut_coro *co)
{
    return (fut **)(void *)((char *)co + offsetof(fut_coro, bound));
}

static bool is_bound(fut_coro *co, const fut *f)
{
    fut **b = bound(co);
    for (unsigned i = 0; i < co->nbound; i++)
        if (b[i] == f)
            return true;
    return false;
}

FUT_API int fut_coro_bind(fut_coro *co, fut *child)
{
    if (!co || !child)
        return -EINVAL;
    if (is_bound(co, child))
        return 0;
    if (co->nbound >= co->cap)
        return -E2BIG;
    bound(co)[co->nbound++] = child;
    return 0;
}

/* The drop that ends an await: a teardown, so shielded from the task's
 * cancellation as the combinators' drops are; the output survives it. */
static fut_status drop_awaited(fut *a, fut_cx *cx)
{
    ssize_t out = a->out;
    unsigned flags = cx->flags;
    cx->flags |= FUT__CX_SHIELD;
    fut_status st = fut_poll_drop(a, cx);
    cx->flags = flags;
    a->out = out;
    return st;
}

/* READY already means the poll is done and the drop under way (resumed
 * after a PENDING poll_drop). */
FUT_API fut_status fut_coro_await(fut_coro *co, fut_cx *cx)
{
    fut *a = co->awaiting;
    if (!(a->state & FUT__F_READY) && fut_poll(a, cx) == FUT_PENDING)
        return FUT_PENDING;
    if (!is_bound(co, a) && drop_awaited(a, cx) == FUT_PENDING)
        return FUT_PENDING;
    co->awaiting = NULL;
    return FUT_READY;
}

/* The child being awaited or dropped (unless bound: it goes with the
 * others), then the bound children in reverse order of binding, one
 * after the other, each asynchronously. Resumable: a PENDING step is
 * retried on the next call. */
FUT_API fut_status fut_coro_poll_drop(fut_coro *co, fut_cx *cx)
{
    fut *a = co->awaiting;
    if (a && !is_bound(co, a) && !(a->state & FUT__F_DROPPED) &&
        fut_poll_drop(a, cx) == FUT_PENDING)
        return FUT_PENDING;
    co->awaiting = NULL;
    fut **b = bound(co);
    while (co->nbound) {
        fut *c = b[co->nbound - 1];
        if (!(c->state & FUT__F_DROPPED) && fut_poll_drop(c, cx) == FUT_PENDING)
            return FUT_PENDING;
        co->nbound--;
    }
    return FUT_READY;
}
