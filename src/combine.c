/* SPDX-License-Identifier: MIT */
/* Combinators: all, select, timeout. Children polled inline, or each in a
 * branch task (FUT_BRANCH_TASKS). */
#include "internal.h"

#include <errno.h>
#include <math.h>

#define NONE ((size_t)-1)

static bool dropped(const fut *f)
{
    return f->state & FUT__F_DROPPED;
}

/* Async-drops every child but `except` that is not dropped yet, all in
 * the same poll (concurrently), started in reverse order. Shielded: a
 * teardown does not see the cancellation that caused it. */
static fut_status drop_children(fut__branches *b, size_t except, fut_cx *cx)
{
    unsigned flags = cx->flags;
    cx->flags |= FUT__CX_SHIELD;
    bool pending = false;
    for (size_t i = b->n; i-- > 0;) {
        fut *c = b->children[i];
        if (i == except || dropped(c))
            continue;
        if (fut_poll_drop(c, cx) == FUT_PENDING)
            pending = true;
    }
    cx->flags = flags;
    return pending ? FUT_PENDING : FUT_READY;
}

/* --- branch tasks --------------------------------------------------------------- */

/* What each branch task runs: its child, by reference. */
struct branch {
    fut base;
    fut *child;
    fut__branches *b;
    size_t idx;
    int finished; /* the child completed, not unwound after a cancel */
};

static fut_status branch_poll(fut *self, fut_cx *cx)
{
    struct branch *br = (struct branch *)self;
    if (fut_poll(br->child, cx) == FUT_PENDING)
        return FUT_PENDING;
    /* A child that returns after its branch was cancelled (its poll was on
     * the stack) is a loser unwinding, not a result. */
    if (!fut_cx_cancelled(cx)) {
        br->finished = 1;
        if (br->b->winner < 0)
            br->b->winner = (int)br->idx;
    }
    if (br->b->waker)
        fut_waker_wake(br->b->waker);
    return fut_ready(self, fut_out(br->child));
}

/* A cancelled branch tears its child down in its own task, concurrently
 * with the others. A child that finished is left to the combinator, which
 * drops it with itself, as in inline mode. */
static fut_status branch_poll_drop(fut *self, fut_cx *cx)
{
    struct branch *br = (struct branch *)self;
    if (dropped(br->child) || br->finished)
        return FUT_READY;
    return fut_poll_drop(br->child, cx);
}

static const struct fut_vtable branch_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_branch",
    .poll = branch_poll,
    .poll_drop = branch_poll_drop,
};

static bool tasks(const fut__branches *b)
{
    return b->flags & FUT_BRANCH_TASKS;
}

/* Spawns one task per child; on failure cancels those it spawned and
 * records -ENOMEM (the rest are dropped inline later). */
static void spawn_branches(fut__branches *b, fut_cx *cx)
{
    b->started = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct branch br = {.child = b->children[i], .b = b, .idx = i};
        fut_init(&br.base, &branch_vt);
        int err = fut_rt_spawn(fut_cx_rt(cx), &br.base, sizeof br, &b->joins[i]);
        if (err) {
            b->error = err;
            break;
        }
        b->started++;
    }
}

static void cancel_branches(fut__branches *b, size_t except)
{
    for (size_t i = 0; i < (size_t)b->started; i++)
        if (i != except && b->joins[i].task)
            fut_join_cancel(&b->joins[i]);
    b->cancelled = 1;
}

/* READY once every branch task finished (its child's teardown included). */
static fut_status wait_branches(fut__branches *b, fut_cx *cx)
{
    unsigned flags = cx->flags;
    cx->flags |= FUT__CX_SHIELD; /* waiting for teardowns */
    bool pending = false;
    for (size_t i = 0; i < (size_t)b->started; i++) {
        fut_join *j = &b->joins[i];
        if (!j->task)
            continue;
        if (fut_poll(&j->base, cx) == FUT_PENDING)
            pending = true;
        else
            fut_drop(&j->base); /* task = NULL: done with it */
    }
    cx->flags = flags;
    return pending ? FUT_PENDING : FUT_READY;
}

/* Teardown shared by all and select: everything still alive goes. */
static fut_status branches_poll_drop(fut__branches *b, fut_cx *cx)
{
    if (tasks(b) && b->started > 0) {
        if (!b->cancelled)
            cancel_branches(b, NONE);
        if (wait_branches(b, cx) == FUT_PENDING)
            return FUT_PENDING;
    }
    /* Inline children, finished ones, those never spawned. */
    if (drop_children(b, NONE, cx) == FUT_PENDING)
        return FUT_PENDING;
    fut_waker_drop(b->waker);
    b->waker = NULL;
    return FUT_READY;
}

/* Task mode, spawning failed: wait for what started, drop the rest. */
static fut_status branches_failed(fut *self, fut__branches *b, fut_cx *cx)
{
    if (branches_poll_drop(b, cx) == FUT_PENDING)
        return FUT_PENDING;
    return fut_ready(self, b->error);
}

/* The combinator's own task was cancelled while its poll is on the stack
 * (it sits in a nested loop): its branches are cancelled, and it completes
 * with -ECANCELED once they are torn down. */
static void owner_cancelled(fut__branches *b, fut_cx *cx)
{
    if (!b->cancelled && fut_cx_cancelled(cx)) {
        cancel_branches(b, NONE);
        b->error = -ECANCELED;
    }
}

static bool bad_args(const fut__branches *b)
{
    return !b->children || b->n == 0 || (tasks(b) && !b->joins);
}

static void branches_init(fut__branches *b, fut **children, size_t n, unsigned flags,
                          fut_join *joins)
{
    b->children = children;
    b->joins = joins;
    b->n = n;
    b->flags = flags;
    b->started = 0;
    b->cancelled = 0;
    b->error = 0;
    b->winner = -1;
    b->waker = NULL;
}

static fut_status branches_drop_slot(fut *self, fut_cx *cx);

/* --- all ------------------------------------------------------------------------------ */

static fut_status all_poll(fut *self, fut_cx *cx)
{
    fut__branches *b = &((fut_all *)self)->b;
    if (bad_args(b))
        return fut_ready(self, -EINVAL);
    if (!tasks(b)) {
        bool pending = false;
        for (size_t i = 0; i < b->n; i++) {
            fut *c = b->children[i];
            if (!(c->state & FUT__F_READY) && fut_poll(c, cx) == FUT_PENDING)
                pending = true;
        }
        return pending ? FUT_PENDING : fut_ready(self, 0);
    }
    if (!b->started && !b->error)
        spawn_branches(b, cx);
    if (b->error)
        return branches_failed(self, b, cx);
    owner_cancelled(b, cx);
    if (wait_branches(b, cx) == FUT_PENDING)
        return FUT_PENDING;
    return fut_ready(self, b->error ? b->error : 0);
}

static const struct fut_vtable all_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_all",
    .poll = all_poll,
    .poll_drop = branches_drop_slot,
};

FUT_API fut *fut_all_init(fut_all *a, fut **children, size_t n, unsigned flags, fut_join *joins)
{
    fut_init(&a->base, &all_vt);
    branches_init(&a->b, children, n, flags, joins);
    return &a->base;
}

/* --- select ------------------------------------------------------------------------------ */

static fut_status select_poll(fut *self, fut_cx *cx)
{
    fut__branches *b = &((fut_select *)self)->b;
    if (bad_args(b))
        return fut_ready(self, -EINVAL);
    if (!tasks(b)) {
        if (b->winner < 0) {
            for (size_t i = 0; i < b->n; i++) {
                if (fut_poll(b->children[i], cx) == FUT_READY) {
                    b->winner = (int)i;
                    break;
                }
            }
            if (b->winner < 0)
                return FUT_PENDING;
        }
        /* The losers' teardowns, concurrently; READY once all are done. */
        if (drop_children(b, (size_t)b->winner, cx) == FUT_PENDING)
            return FUT_PENDING;
        return fut_ready(self, b->winner);
    }
    if (!b->started && !b->error) {
        fut__keep_waker(&b->waker, cx); /* before the branches can finish */
        spawn_branches(b, cx);
    }
    if (b->error)
        return branches_failed(self, b, cx);
    owner_cancelled(b, cx);
    if (b->winner < 0 && !b->cancelled) {
        fut__keep_waker(&b->waker, cx);
        return FUT_PENDING;
    }
    if (!b->cancelled)
        cancel_branches(b, (size_t)b->winner);
    if (wait_branches(b, cx) == FUT_PENDING)
        return FUT_PENDING;
    /* Losers that finished anyway are dropped now too: READY only once
     * every loser is torn down, as inline. */
    if (drop_children(b, b->error || b->winner < 0 ? NONE : (size_t)b->winner, cx) ==
        FUT_PENDING)
        return FUT_PENDING;
    fut_waker_drop(b->waker);
    b->waker = NULL;
    return fut_ready(self, b->error ? b->error : b->winner);
}

static const struct fut_vtable select_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_select",
    .poll = select_poll,
    .poll_drop = branches_drop_slot,
};

/* all and select keep their fut__branches right after the base. */
static fut_status branches_drop_slot(fut *self, fut_cx *cx)
{
    fut__branches *b = &((fut_select *)self)->b;
    if (bad_args(b))
        return FUT_READY;
    return branches_poll_drop(b, cx);
}

FUT_API fut *fut_select_init(fut_select *s, fut **children, size_t n, unsigned flags,
                             fut_join *joins)
{
    fut_init(&s->base, &select_vt);
    branches_init(&s->b, children, n, flags, joins);
    return &s->base;
}

/* --- timeout ---------------------------------------------------------------------------------- */

/* The pointers into the timeout itself are set when it is polled, not at
 * init: a future may be moved (into a task by fut_rt_spawn) until then. */
static fut_timeout *timeout_here(fut *self)
{
    fut_timeout *t = (fut_timeout *)self;
    t->kids[1] = &t->sleep.base;
    t->sel.b.children = t->kids;
    if (t->sel.b.flags & FUT_BRANCH_TASKS)
        t->sel.b.joins = t->joins;
    return t;
}

static fut_status timeout_poll(fut *self, fut_cx *cx)
{
    fut_timeout *t = timeout_here(self);
    /* A NaN duration: -EINVAL before anything starts (the sleep is not
     * armed yet, its `at` still holds the duration). */
    if (fut__unlikely(isnan(t->sleep.timer.at)))
        return fut_ready(self, -EINVAL);
    if (fut_poll(&t->sel.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    ssize_t w = fut_out(&t->sel.base);
    if (w == 0)
        return fut_ready(self, fut_out(t->kids[0]));
    if (w == 1) /* the deadline won; a cancelled wait reads -ECANCELED */
        return fut_ready(self, fut_out(&t->sleep.base) == -ECANCELED ? -ECANCELED : -ETIMEDOUT);
    return fut_ready(self, w);
}

static fut_status timeout_poll_drop(fut *self, fut_cx *cx)
{
    fut_timeout *t = timeout_here(self);
    return fut_poll_drop(&t->sel.base, cx);
}

static const struct fut_vtable timeout_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_timeout",
    .poll = timeout_poll,
    .poll_drop = timeout_poll_drop,
};

FUT_API fut *fut_timeout_init(fut_timeout *t, fut *inner, double seconds, unsigned flags)
{
    fut_init(&t->base, &timeout_vt);
    t->kids[0] = inner;
    t->kids[1] = fut_sleep_init(&t->sleep, seconds);
    fut_select_init(&t->sel, t->kids, 2, flags, t->joins);
    return &t->base;
}
