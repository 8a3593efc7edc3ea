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

/* A child with a poll_drop: a teardown, shielded from the task's
 * cancellation as the combinators' drops are. */
static __attribute__((noinline)) fut_status drop_awaited_async(fut_coro *co, fut *a, fut_cx *cx)
{
    ssize_t out = a->out;
    unsigned flags = cx->flags;
    cx->flags |= FUT__CX_SHIELD;
    fut_status st = fut_poll_drop(a, cx);
    cx->flags = flags;
    a->out = out;
    if (st == FUT_READY)
        co->awaiting = NULL;
    return st;
}

/* The drop that ends an await, right after the child's poll returned
 * READY (or resumed after a PENDING poll_drop); the output survives it.
 * A child without poll_drop is released here at once, with no context
 * (what fut_poll_drop() does, minus a call: the hot path of stream ops
 * and timers). */
FUT_API fut_status fut_coro_drop_awaited(fut_coro *co, fut_cx *cx)
{
    fut *a = co->awaiting;
    if (co->nbound && is_bound(co, a)) {
        co->awaiting = NULL;
        return FUT_READY;
    }
    struct fut__drop_slots ds = fut__drop_slots(a->vt);
    if (ds.poll_drop)
        return drop_awaited_async(co, a, cx);
    co->awaiting = NULL;
    if (ds.drop) {
        ssize_t out = a->out;
        ds.drop(a);
        a->out = out;
    }
    a->state |= FUT__F_DROPPED;
    return FUT_READY;
}

/* The child being awaited or dropped (unless bound: it goes with the
 * others; an await that finished its drop left none), then the bound children in reverse order of
 * binding, one after the other, each asynchronously. Resumable: a PENDING step is retried on the
 * next call. */
FUT_API fut_status fut_coro_poll_drop(fut_coro *co, fut_cx *cx)
{
    fut *a = co->awaiting;
    if (a && !is_bound(co, a) && fut_poll_drop(a, cx) == FUT_PENDING)
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
