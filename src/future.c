/* SPDX-License-Identifier: MIT */
/* Drop glue: polling children with the protocol checks, asynchronous and
 * synchronous drop, the async dropper, yield. */
#include "internal.h"

#include <errno.h>

FUT_API fut_waker *fut_cx_waker(fut_cx *cx)
{
    fut__cx_arrange(cx);
    return cx->waker;
}

FUT_API fut_rt *fut_cx_rt(fut_cx *cx)
{
    return cx->rt;
}

FUT_API int fut_cx_cancelled(fut_cx *cx)
{
    return cx->task && !(cx->flags & FUT__CX_SHIELD) && fut__state_is_cancelled(&cx->task->w.state);
}

FUT_API int fut_cx_escalated(fut_cx *cx)
{
    return !!(cx->flags & FUT__CX_ESCALATED);
}

FUT_API void fut_cx_report(fut_cx *cx, int err)
{
    if (err >= 0)
        return;
    cx->rt->st.teardown_errors++;
    struct fut_task *t = cx->task;
    /* Only a scope reads them (when the task finishes). */
    if (t && (cx->flags & FUT__CX_SHIELD) && fut__task_scoped(t)) {
        struct fut__task_tail *tail = fut__task_tail(t);
        if (!tail->terrs++)
            tail->terr = err;
    }
}

FUT_API fut_status fut_poll(fut *f, fut_cx *cx)
{
    return fut__poll(f, cx);
}

FUT_API fut_status fut_poll_drop(fut *f, fut_cx *cx)
{
    return fut__poll_drop(f, cx);
}

/* The slow paths of fut__poll and fut__poll_drop: out of line, so that
 * the inline fast paths stay small. */
fut_status fut__poll_refused(fut *f)
{
    fut__diag("%s polled after %s", fut__name(f),
              f->state & FUT__F_READY ? "it returned READY" : "its drop started");
    f->out = -EINVAL;
    return FUT_READY;
}

void fut__pending_unarranged(const fut *f, const char *what)
{
    fut__diag("%s%s returned PENDING without arranging a wake-up", fut__name(f), what);
}

fut_status fut__double_drop(fut *f)
{
    fut__diag("double drop of %s", fut__name(f));
    return FUT_READY;
}

/* The hard path of an escalated teardown: the sync drop, when the future
 * has one. Returns false when it has none. */
bool fut__drop_hard(fut *f)
{
    void (*drop)(fut *) = FUT__SLOT(f->vt, drop);
    if (!drop)
        return false;
    if (!(f->state & FUT__F_DROPPED)) {
        drop(f);
        f->state |= FUT__F_DROPPED;
    }
    return true;
}

/* fut_drop of a future that has only poll_drop: its first poll_drop, made
 * inline on the runtime's probe waker; no frame is claimed, so a teardown
 * READY at once never touches the frames. Only rt->ctx_flags marks the
 * call: a nested loop started inside pd inherits the shield from it, and
 * fut_rt_free and fut_rt_set_max_depth refuse while FUT__CX_PROBE is set
 * (nested fut_drops save and restore it in turn). If pd is PENDING, the
 * frame at the current depth drives the rest, woken by the probe too
 * (fut__run_probe_pending). The depth is checked before the call, so that
 * -ELOOP at the limit leaves the future untouched; the stack only when a
 * loop is needed. rt is this thread's: no thread check. */
static inline __attribute__((always_inline)) int drop_probe(fut_rt *rt, fut *f,
                                                            fut_status (*pd)(fut *, fut_cx *))
{
    struct fut__frames *frs = rt->frames;
    if (fut__unlikely(rt->frame_depth >= frs->n))
        return -ELOOP;
    /* What is needed after pd lives beside cx, whose address pd gets, so
     * it is read back from memory: no register is saved for it, and the
     * plain drop's path in fut_drop keeps its lean prologue. */
    struct {
        fut_cx cx;
        fut *f;
        unsigned flags;
    } p;
    p.f = f;
    p.flags = rt->ctx_flags;
    fut__cx_init(&p.cx, rt, &frs->probe.w);
    /* A teardown: shielded from its task's cancellation. */
    p.cx.task = rt->ctx_task;
    p.cx.flags = rt->ctx_flags = p.flags | FUT__CX_SHIELD | FUT__CX_PROBE;
    fut_status st = pd(f, &p.cx);
    p.cx.rt->ctx_flags = p.flags;
    if (fut__likely(st == FUT_READY)) {
        p.f->state |= FUT__F_DROPPED;
        return 0;
    }
    return fut__run_probe_pending(p.cx.rt, p.f, p.cx.arranged);
}

/* The general case: f was polled by a runtime (its pending work belongs
 * to that one, when it lives on this thread; else the current one), or
 * no runtime. */
static __attribute__((noinline)) int drop_with_poll_drop_slow(fut *f,
                                                              fut_status (*pd)(fut *, fut_cx *))
{
    fut_rt *rt = f->rt ? fut__rt_by_id(f->rt) : NULL;
    if (!rt)
        rt = fut__rt_current();
    if (!rt)
        return -ENXIO;
    return drop_probe(rt, f, pd);
}

FUT_API int fut_drop(fut *f)
{
    const struct fut_vtable *vt;
    if (!f || !(vt = f->vt)) /* NULL, or zero-initialised: never set up, nothing to release */
        return 0;
    if (fut__unlikely(f->state & FUT__F_DROPPED)) {
        fut__diag("double drop of %s", fut__name(f));
        return -EALREADY;
    }
    struct fut__drop_slots ds = fut__drop_slots(vt);
    void (*drop)(fut *) = ds.drop;
    fut_status (*pd)(fut *, fut_cx *) = ds.poll_drop;
    if (drop || !pd) {
        if (drop)
            drop(f);
        f->state |= FUT__F_DROPPED;
        return 0;
    }
    fut_rt *rt;
    if (fut__unlikely(f->rt) || !(rt = fut__rt_current()))
        return drop_with_poll_drop_slow(f, pd);
    return drop_probe(rt, f, pd);
}

/* --- the async dropper ---------------------------------------------------- */

static fut_status dropper_poll(fut *self, fut_cx *cx)
{
    fut_dropper *d = (fut_dropper *)self;
    if (d->target && fut_poll_drop(d->target, cx) == FUT_PENDING)
        return FUT_PENDING;
    d->target = NULL;
    return fut_ready(self, 0);
}

static const struct fut_vtable dropper_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_dropper",
    .poll = dropper_poll,
    .poll_drop = dropper_poll,
};

FUT_API fut *fut_drop_async(fut_dropper *d, fut *target)
{
    fut_init(&d->base, &dropper_vt);
    d->target = target;
    return &d->base;
}

/* --- yield ------------------------------------------------------------------- */

static fut_status yield_poll(fut *self, fut_cx *cx)
{
    fut_yield *y = (fut_yield *)self;
    if (y->yielded)
        return fut_ready(self, 0);
    y->yielded = 1;
    fut_waker_wake(fut_cx_waker(cx));
    return FUT_PENDING;
}

static const struct fut_vtable yield_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_yield",
    .poll = yield_poll,
};

FUT_API fut *fut_yield_init(fut_yield *y)
{
    fut_init(&y->base, &yield_vt);
    y->yielded = 0;
    return &y->base;
}
