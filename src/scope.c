/* SPDX-License-Identifier: MIT */
/* Structured concurrency: teardown budgets and escalation, scopes, the
 * orphanage, graceful shutdown. */
#include "internal.h"

#include <errno.h>
#include <math.h>

/* --- drop budgets ------------------------------------------------------------ */

FUT_API int fut_rt_set_drop_budget(fut_rt *rt, double seconds)
{
    if (!rt || isnan(seconds) || seconds < 0)
        return -EINVAL;
    rt->drop_budget = seconds;
    return 0;
}

static double task_deadline(const fut_rt *rt, const struct fut_task *t)
{
    double d = fut__task_tail(t)->deadline;
    return d < rt->force_deadline ? d : rt->force_deadline;
}

/* Arms the budget timer at the earliest deadline of the pending
 * teardowns, or stops it when there is none. */
static void budget_rearm(fut_rt *rt)
{
    double next = INFINITY;
    fut__list *pos, *tmp;
    fut__list_each_safe(pos, tmp, &rt->teardowns) {
        struct fut_task *t = fut__container_of(pos, struct fut_task, live);
        if (fut__state_peek(&t->w.state) & FUT__W_ESCALATED)
            continue;
        double d = task_deadline(rt, t);
        if (d < next)
            next = d;
    }
    if (isfinite(next))
        fut__timer_arm(rt, &rt->budget, next);
    else
        fut__timer_cancel(rt, &rt->budget);
}

/* A task's poll_drop went PENDING: its budget starts now. */
void fut__teardown_wait(fut_rt *rt, struct fut_task *t)
{
    fut_scope *s = fut__task_scope(t);
    double budget = s && s->budget >= 0 ? s->budget : rt->drop_budget;
    double now = fut__fresh_now(rt);
    fut__task_tail(t)->deadline = now + budget;
    t->torn_after = (float)(now - t->spawned);
    /* Off the live list (nothing there needs it: it is cancelled or done
     * already) onto the teardowns, by the same link. */
    fut__list_del(&t->live);
    fut__list_add_tail(&rt->teardowns, &t->live);
    double d = task_deadline(rt, t);
    if (isfinite(d) && (!fut__timer_armed(&rt->budget) || d < rt->budget.at))
        budget_rearm(rt);
}

/* A task left the teardowns (task_finish unlinked it). */
void fut__teardown_done(fut_rt *rt)
{
    if (fut__list_empty(&rt->teardowns))
        fut__timer_cancel(rt, &rt->budget);
}

void fut__budget_fire(fut_rt *rt, fut__timer *timer)
{
    double now = fut__now(rt);
    if (now < timer->at)
        now = timer->at; /* it passed, whatever the loop's time reads */
    fut__list *pos, *tmp;
    fut__list_each_safe(pos, tmp, &rt->teardowns) {
        struct fut_task *t = fut__container_of(pos, struct fut_task, live);
        if (task_deadline(rt, t) > now)
            continue;
        if (!fut__state_escalate(&t->w.state))
            continue;
        rt->st.escalations++;
        fut_scope *s = fut__task_scope(t);
        if (s)
            s->escalations++;
        fut_waker_wake(&t->w);
    }
    budget_rearm(rt);
}

/* --- scopes ---------------------------------------------------------------------- */

static void wake_all_waits(fut_scope *s);

static void scope_cancel(fut_scope *s, int why)
{
    if (!s->cancelled)
        s->cancelled = why;
    /* Its own children only: the cost does not grow with the runtime's
     * other tasks. Those whose teardown is pending already are left
     * alone (cancelling them would change nothing but their state). */
    if (s->tasks.next) {
        fut__list *pos, *tmp;
        fut__list_each_safe(pos, tmp, &s->tasks) {
            struct fut__task_tail *tail = fut__container_of(pos, struct fut__task_tail, sib);
            struct fut_task *t = tail->task;
            if (!(fut__state_peek(&t->w.state) & FUT__W_DROPWAIT))
                fut__task_cancel(t);
        }
    }
    wake_all_waits(s);
    if (s->waker)
        fut_waker_wake(s->waker);
}

/* Its lists, set up at the first spawn or wait rather than at init: a
 * scope may be moved until then. */
static void scope_lists(fut_scope *s)
{
    if (!s->finished.next) {
        fut__list_init(&s->finished);
        fut__list_init(&s->nexts);
        fut__list_init(&s->waits);
        fut__list_init(&s->tasks);
    }
}

/* fut__spawn made t, a child of s. */
void fut__scope_child_spawned(fut_scope *s, struct fut_task *t)
{
    scope_lists(s);
    struct fut__task_tail *tail = fut__task_tail(t);
    tail->task = t;
    fut__list_add_tail(&s->tasks, &tail->sib);
}

static bool has_room(const fut_scope *s)
{
    return !s->limit || s->alive < s->limit;
}

/* Room goes to the first waiting spawn: it is woken to take it. */
static void wake_first_wait(fut_scope *s)
{
    if (s->waits.next && !fut__list_empty(&s->waits) && has_room(s))
        fut_waker_wake(fut__container_of(s->waits.next, fut_scope_spawn_op, link)->waker);
}

/* The scope stopped taking children: every waiting spawn fails. */
static void wake_all_waits(fut_scope *s)
{
    if (!s->waits.next)
        return;
    fut__list *pos, *tmp;
    fut__list_each_safe(pos, tmp, &s->waits)
        fut_waker_wake(fut__container_of(pos, fut_scope_spawn_op, link)->waker);
}

static void wake_nexts(fut_scope *s)
{
    fut__list *pos, *tmp;
    fut__list_each_safe(pos, tmp, &s->nexts)
        fut_waker_wake(fut__container_of(pos, fut_scope_next_op, link)->waker);
}

void fut__scope_child_done(fut_scope *s, struct fut_task *t, unsigned state)
{
    struct fut__task_tail *tail = fut__task_tail(t);
    fut__list_del(&tail->sib);
    ssize_t result = fut__task_result(t);
    s->alive--;
    bool kept = (s->flags & FUT_SCOPE_COLLECT) && s->closed < 2;
    if (kept) { /* task_finish unlinked t->live, and releases its own ref after us */
        atomic_fetch_add_explicit(&t->w.refs, 1, memory_order_relaxed);
        fut__list_add_tail(&s->finished, &t->live);
    }
    if (tail->terrs) {
        if (!s->teardown_errors)
            s->teardown_error = tail->terr;
        s->teardown_errors += tail->terrs;
    }
    /* -ECANCELED from a cancelled child is the cancellation, not a failure. */
    if (result < 0 && !(result == -ECANCELED && (state & FUT__W_CANCELLED))) {
        if (!s->errors++)
            s->first_error = (int)result;
        if (s->on_error)
            s->on_error(s, (int)result, s->on_error_ud);
        if (!(s->flags & FUT_SCOPE_KEEP_GOING) && !s->cancelled)
            scope_cancel(s, (int)result);
    }
    if (kept || s->alive == 0)
        wake_nexts(s);
    wake_first_wait(s);
    if (s->alive == 0 && s->waker)
        fut_waker_wake(s->waker);
}

static struct fut_task *take_finished(fut_scope *s)
{
    if (!s->finished.next || fut__list_empty(&s->finished))
        return NULL;
    struct fut_task *t = fut__container_of(s->finished.next, struct fut_task, live);
    fut__list_del(&t->live);
    return t;
}

static int scope_output(const fut_scope *s)
{
    if (s->cancelled == -ETIMEDOUT || s->cancelled == -ECANCELED)
        return s->cancelled;
    return s->first_error;
}

/* armed: 0 deadline not started, 1 running, 2 done */
static void scope_release(fut_scope *s)
{
    if (s->armed == 1) {
        fut_drop(&s->deadline.base);
        s->armed = 2;
    }
    fut_waker_drop(s->waker);
    s->waker = NULL;
}

static fut_status scope_poll(fut *self, fut_cx *cx)
{
    fut_scope *s = (fut_scope *)self;
    if (s->armed == 0 && s->timeout >= 0) {
        fut_sleep_init(&s->deadline, s->timeout);
        s->armed = 1;
    }
    if (s->armed == 1 && s->alive && fut_poll(&s->deadline.base, cx) == FUT_READY) {
        int out = (int)fut_out(&s->deadline.base);
        fut_drop(&s->deadline.base);
        s->armed = 2;
        scope_cancel(s, out == -ECANCELED ? -ECANCELED : -ETIMEDOUT);
    }
    if (s->alive == 0) {
        /* Nobody would await a child spawned from now on. */
        if (!s->closed)
            s->closed = 1;
        scope_release(s);
        return fut_ready(self, scope_output(s));
    }
    fut__keep_waker(&s->waker, cx);
    return FUT_PENDING;
}

/* Its drop completed: kept children are released, pending ops let go. */
static void scope_detach(fut_scope *s)
{
    if (!s->finished.next)
        return;
    struct fut_task *t;
    while ((t = take_finished(s)))
        fut__task_release(t);
    while (!fut__list_empty(&s->nexts)) {
        fut_scope_next_op *op = fut__container_of(s->nexts.next, fut_scope_next_op, link);
        fut__list_del(&op->link);
        op->link.next = NULL;
        op->let_go = 1;
        fut_waker_wake(op->waker);
    }
    while (!fut__list_empty(&s->waits)) {
        fut_scope_spawn_op *op = fut__container_of(s->waits.next, fut_scope_spawn_op, link);
        fut__list_del(&op->link);
        op->link.next = NULL;
        op->let_go = 1;
        fut_waker_wake(op->waker);
    }
}

static fut_status scope_poll_drop(fut *self, fut_cx *cx)
{
    fut_scope *s = (fut_scope *)self;
    if (s->closed < 2) {
        s->closed = 2;
        if (s->finished.next)
            wake_nexts(s); /* nothing more will be kept */
        wake_all_waits(s);
    }
    if (s->alive && !s->cancelled)
        scope_cancel(s, -ECANCELED);
    if (s->alive == 0) {
        scope_release(s);
        scope_detach(s);
        return FUT_READY;
    }
    fut__keep_waker(&s->waker, cx);
    return FUT_PENDING;
}

static const struct fut_vtable scope_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_scope",
    .poll = scope_poll,
    .poll_drop = scope_poll_drop,
};

FUT_API fut *fut_scope_init(fut_scope *s, fut_rt *rt, unsigned flags)
{
    fut_init(&s->base, &scope_vt);
    s->rt = rt;
    s->flags = flags;
    s->alive = 0;
    s->cancelled = 0;
    s->first_error = 0;
    s->errors = 0;
    s->teardown_error = 0;
    s->teardown_errors = 0;
    s->escalations = 0;
    s->budget = -1;
    s->timeout = -1;
    s->armed = 0;
    s->closed = 0;
    s->waker = NULL;
    s->on_error = NULL;
    s->on_error_ud = NULL;
    s->finished.next = s->finished.prev = NULL;
    s->nexts.next = s->nexts.prev = NULL;
    s->waits.next = s->waits.prev = NULL;
    s->tasks.next = s->tasks.prev = NULL;
    s->limit = 0;
    return &s->base;
}

FUT_API int fut_scope_set_timeout(fut_scope *s, double seconds)
{
    if (!s || isnan(seconds) || seconds < 0 || s->armed)
        return -EINVAL;
    s->timeout = seconds;
    return 0;
}

FUT_API int fut_scope_set_budget(fut_scope *s, double seconds)
{
    if (!s || isnan(seconds) || seconds < 0)
        return -EINVAL;
    s->budget = seconds;
    return 0;
}

FUT_API int fut_scope_set_error_handler(fut_scope *s,
                                        void (*on_error)(fut_scope *s, int err, void *ud), void *ud)
{
    if (!s)
        return -EINVAL;
    s->on_error = on_error;
    s->on_error_ud = ud;
    return 0;
}

/* Why the scope takes no more children, or 0. */
static int scope_refuses(const fut_scope *s)
{
    /* A dropped scope has no cancellation to report when it had no
     * children then: its drop is what refuses. */
    if (s->closed == 2)
        return -ESHUTDOWN;
    if (s->cancelled)
        return -ECANCELED;
    if (s->closed)
        return -ESHUTDOWN;
    return 0;
}

FUT_API int fut_scope_spawn(fut_scope *s, const fut *f, size_t size, fut_join *join)
{
    return fut_scope_spawn_tag(s, f, size, NULL, join);
}

FUT_API int fut_scope_spawn_tag(fut_scope *s, const fut *f, size_t size, void *tag, fut_join *join)
{
    if (!s)
        return -EINVAL;
    int err = scope_refuses(s);
    if (err)
        return err;
    if (!has_room(s) || (s->waits.next && !fut__list_empty(&s->waits)))
        return -EAGAIN;
    err = fut__spawn(s->rt, f, size, join, s, tag, false);
    if (!err) {
        scope_lists(s);
        s->alive++;
    }
    return err;
}

/* --- bounded concurrency ------------------------------------------------------------ */

FUT_API int fut_scope_set_limit(fut_scope *s, unsigned n)
{
    if (!s)
        return -EINVAL;
    s->limit = n;
    wake_first_wait(s);
    return 0;
}

/* pass_on: the room it may have been woken for is the next one's. */
static void wait_unlink(fut_scope_spawn_op *op, bool pass_on)
{
    if (op->link.next) {
        fut_scope *s = op->scope;
        bool first = s->waits.next == &op->link;
        fut__list_del(&op->link);
        op->link.next = NULL;
        if (first && pass_on)
            wake_first_wait(s);
    }
    fut_waker_drop(op->waker);
    op->waker = NULL;
}

static fut_status spawn_wait_poll(fut *self, fut_cx *cx)
{
    fut_scope_spawn_op *op = (fut_scope_spawn_op *)self;
    fut_scope *s = op->scope;
    if (op->let_go) {
        wait_unlink(op, true);
        return fut_ready(self, -ESHUTDOWN);
    }
    if (!s)
        return fut_ready(self, -EINVAL);
    scope_lists(s);
    int err = scope_refuses(s);
    if (err) {
        wait_unlink(op, true);
        return fut_ready(self, err);
    }
    bool first = fut__list_empty(&s->waits) || s->waits.next == &op->link;
    if (first && has_room(s)) {
        wait_unlink(op, false);
        err = fut__spawn(s->rt, op->f, op->size, op->join, s, op->tag, false);
        if (!err)
            s->alive++;
        wake_first_wait(s);
        return fut_ready(self, err);
    }
    if (fut__cx_cancelled(cx)) {
        wait_unlink(op, true);
        return fut_ready(self, -ECANCELED);
    }
    fut__keep_waker(&op->waker, cx);
    if (!op->link.next)
        fut__list_add_tail(&s->waits, &op->link);
    return FUT_PENDING;
}

static void spawn_wait_drop(fut *self)
{
    wait_unlink((fut_scope_spawn_op *)self, true);
}

static const struct fut_vtable spawn_wait_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_scope_spawn_wait",
    .poll = spawn_wait_poll,
    .drop = spawn_wait_drop,
};

FUT_API fut *fut_scope_spawn_wait(fut_scope_spawn_op *op, fut_scope *s, const fut *f, size_t size,
                                  void *tag, fut_join *join)
{
    fut_init(&op->base, &spawn_wait_vt);
    op->scope = s;
    op->f = f;
    op->size = size;
    op->tag = tag;
    op->join = join;
    op->let_go = 0;
    op->waker = NULL;
    op->link.next = op->link.prev = NULL;
    return &op->base;
}

/* --- task sets ------------------------------------------------------------------ */

static void next_unlink(fut_scope_next_op *op)
{
    if (op->link.next) {
        fut__list_del(&op->link);
        op->link.next = NULL;
    }
    fut_waker_drop(op->waker);
    op->waker = NULL;
}

static fut_status next_poll(fut *self, fut_cx *cx)
{
    fut_scope_next_op *op = (fut_scope_next_op *)self;
    fut_scope *s = op->scope;
    if (op->let_go) {
        next_unlink(op);
        return fut_ready(self, -ECHILD);
    }
    if (!s || !(s->flags & FUT_SCOPE_COLLECT)) {
        next_unlink(op);
        return fut_ready(self, -EINVAL);
    }
    scope_lists(s);
    struct fut_task *t = take_finished(s);
    if (t) {
        next_unlink(op);
        op->child = 1;
        op->tag = fut__task_tail(t)->tag;
        ssize_t out = fut__task_result(t);
        fut__task_release(t);
        return fut_ready(self, out);
    }
    if (s->alive == 0 || s->closed == 2) {
        next_unlink(op);
        return fut_ready(self, -ECHILD);
    }
    if (fut__cx_cancelled(cx)) {
        next_unlink(op);
        return fut_ready(self, -ECANCELED);
    }
    fut__keep_waker(&op->waker, cx);
    if (!op->link.next)
        fut__list_add_tail(&s->nexts, &op->link);
    return FUT_PENDING;
}

static void next_drop(fut *self)
{
    next_unlink((fut_scope_next_op *)self);
}

static const struct fut_vtable next_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_scope_next",
    .poll = next_poll,
    .drop = next_drop,
};

FUT_API fut *fut_scope_next(fut_scope_next_op *op, fut_scope *s)
{
    fut_init(&op->base, &next_vt);
    op->tag = NULL;
    op->child = 0;
    op->scope = s;
    op->let_go = 0;
    op->waker = NULL;
    op->link.next = op->link.prev = NULL;
    return &op->base;
}

FUT_API void fut_scope_cancel(fut_scope *s)
{
    if (s)
        scope_cancel(s, -ECANCELED);
}

FUT_API void fut_scope_close(fut_scope *s)
{
    if (s && !s->closed) {
        s->closed = 1;
        wake_all_waits(s);
    }
}

FUT_API void fut_scope_result(const fut_scope *s, struct fut_scope_result *r)
{
    r->first_error = s->first_error;
    r->errors = s->errors;
    r->teardown_error = s->teardown_error;
    r->teardown_errors = s->teardown_errors;
    r->escalations = s->escalations;
    r->alive = s->alive;
}

/* --- the orphanage ------------------------------------------------------------------ */

/* A task future that only tears its target down, shielded, then releases
 * it. Escalated, it takes the target's hard path when there is one. */
struct orphan {
    fut base;
    fut *target;
    void (*release)(fut *f, void *ud);
    void *ud;
};

static fut_status orphan_step(fut *self, fut_cx *cx)
{
    struct orphan *o = (struct orphan *)self;
    if (o->target) {
        if (!(fut_cx_escalated(cx) && fut__drop_hard(o->target))) {
            unsigned flags = cx->flags;
            cx->flags |= FUT__CX_SHIELD;
            fut_status st = fut_poll_drop(o->target, cx);
            cx->flags = flags;
            if (st == FUT_PENDING)
                return FUT_PENDING;
        }
        fut *t = o->target;
        o->target = NULL;
        cx->rt->st.orphans_alive--;
        if (o->release)
            o->release(t, o->ud);
    }
    return fut_ready(self, 0);
}

static const struct fut_vtable orphan_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_orphan",
    .poll = orphan_step,
    .poll_drop = orphan_step,
};

bool fut__is_orphan(const fut *f)
{
    return f->vt == &orphan_vt;
}

FUT_API int fut_rt_adopt(fut_rt *rt, fut *f, void (*release)(fut *f, void *ud), void *ud)
{
    if (!rt || !f)
        return -EINVAL;
    struct orphan o = {.target = f, .release = release, .ud = ud};
    fut_init(&o.base, &orphan_vt);
    int err = fut__spawn(rt, &o.base, sizeof o, NULL, NULL, NULL, true);
    if (err)
        return err;
    rt->st.orphans++;
    rt->st.orphans_alive++;
    return 0;
}

/* --- graceful shutdown ------------------------------------------------------------------ */

static void shutdown_release(fut_shutdown *sd)
{
    if (sd->started)
        fut__list_del(&sd->link);
    fut_waker_drop(sd->waker);
    sd->waker = NULL;
}

static fut_status shutdown_poll(fut *self, fut_cx *cx)
{
    fut_shutdown *sd = (fut_shutdown *)self;
    fut_rt *rt = sd->rt;
    if (!sd->started) {
        sd->started = 1;
        fut__list_init(&sd->link); /* here, not at init: it may move until polled */
        rt->closing = true;
        double d = fut__fresh_now(rt) + sd->budget;
        if (d < rt->force_deadline)
            rt->force_deadline = d;
        fut__list *pos, *tmp;
        fut__list_each_safe(pos, tmp, &rt->tasks)
            fut__task_cancel(fut__container_of(pos, struct fut_task, live));
        budget_rearm(rt);
    }
    if (rt->st.tasks_alive == 0) {
        shutdown_release(sd);
        return fut_ready(self, 0);
    }
    fut__keep_waker(&sd->waker, cx);
    if (fut__list_empty(&sd->link))
        fut__list_add_tail(&rt->shutdowns, &sd->link);
    return FUT_PENDING;
}

static void shutdown_drop(fut *self)
{
    shutdown_release((fut_shutdown *)self);
}

static const struct fut_vtable shutdown_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_shutdown",
    .poll = shutdown_poll,
    .drop = shutdown_drop,
};

FUT_API fut *fut_rt_shutdown(fut_shutdown *s, fut_rt *rt, double budget)
{
    fut_init(&s->base, &shutdown_vt);
    s->rt = rt;
    s->budget = isnan(budget) || budget < 0 ? 0 : budget;
    s->started = 0;
    s->waker = NULL;
    return &s->base;
}
