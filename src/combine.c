/* SPDX-License-Identifier: MIT */
/* Combinators: all, select, timeout. Children polled inline, or each in a
 * branch task (FUT_BRANCH_TASKS). */
#include "internal.h"

#include <errno.h>
#include <math.h>

#define NONE ((size_t)-1)

/* fut__branches.flags: the caller's FUT_BRANCH_TASKS (the only bit of
 * theirs kept) and these. fut_timeout keeps its own phase bits (TO_*,
 * below) in its select's flags too. */
#define BR_BAD 0x10000u  /* bad arguments: -EINVAL at the first poll */
#define BR_DONE 0x20000u /* select, inline: READY, every loser torn down */

static bool dropped(const fut *f)
{
    return f->state & FUT__F_DROPPED;
}

/* A child's plain drop, then its mark, in fut__poll_drop's order; out of
 * line for the teardowns that end with it, which then keep nothing
 * across a call. */
static __attribute__((noinline)) void drop_plain(fut *f, void (*drop)(fut *))
{
    drop(f);
    f->state |= FUT__F_DROPPED;
}

/* fut__poll_drop's common case, inline: a child without a poll_drop is
 * released by its drop, if any, and marked. False, doing nothing: it has
 * a poll_drop. c->vt is not NULL (the child was polled, or checked).
 * `last`: nothing follows in the caller (its drop goes through
 * drop_plain); else it is called here, as in a loop. */
static inline __attribute__((always_inline)) bool drop_if_plain(fut *c, bool last)
{
    struct fut__drop_slots ds = fut__drop_slots(c->vt);
    if (ds.poll_drop)
        return false;
    if (ds.drop && last) {
        drop_plain(c, ds.drop);
        return true;
    }
    if (ds.drop)
        ds.drop(c);
    c->state |= FUT__F_DROPPED;
    return true;
}

/* A child's teardown, shielded: it does not see the cancellation that
 * caused it. */
static __attribute__((noinline)) fut_status drop_shielded(fut *c, fut_cx *cx)
{
    unsigned flags = cx->flags;
    cx->flags |= FUT__CX_SHIELD;
    fut_status st = fut__poll_drop(c, cx);
    cx->flags = flags;
    return st;
}

/* Async-drops every child but `except` that is not dropped yet, all in
 * the same poll (concurrently), started in reverse order. Shielded: a
 * teardown does not see the cancellation that caused it. */
static inline __attribute__((always_inline)) fut_status
drop_children_inline(fut__branches *b, size_t except, fut_cx *cx)
{
    fut **children = b->children;
    unsigned flags = cx->flags;
    cx->flags |= FUT__CX_SHIELD;
    bool pending = false;
    for (size_t i = b->n; i-- > 0;) {
        fut *c = children[i];
        if (i == except || dropped(c))
            continue;
        /* A zeroed child (never set up) goes to fut__poll_drop. */
        if (!(c->vt && drop_if_plain(c, false)) && fut__poll_drop(c, cx) == FUT_PENDING)
            pending = true;
    }
    cx->flags = flags;
    return pending ? FUT_PENDING : FUT_READY;
}

static fut_status drop_children(fut__branches *b, size_t except, fut_cx *cx)
{
    return drop_children_inline(b, except, cx);
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
    if (fut__poll(br->child, cx) == FUT_PENDING)
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
    return fut__poll_drop(br->child, cx);
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
        if (fut__poll(&j->base, cx) == FUT_PENDING)
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

/* Arguments are checked once, at init (they are private from then on). */
static bool bad_args(const fut__branches *b)
{
    return b->flags & BR_BAD;
}

static void branches_init(fut__branches *b, fut **children, size_t n, unsigned flags,
                          fut_join *joins)
{
    b->children = children;
    b->joins = joins;
    b->n = n;
    if (!children || n == 0 || ((flags & FUT_BRANCH_TASKS) && !joins))
        flags |= BR_BAD;
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
            if (!(c->state & FUT__F_READY) && fut__poll(c, cx) == FUT_PENDING)
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
    branches_init(&a->b, children, n, flags & FUT_BRANCH_TASKS, joins);
    return &a->base;
}

/* --- select ------------------------------------------------------------------------------ */

/* Branch tasks, or bad arguments. */
static __attribute__((noinline)) fut_status select_poll_slow(fut *self, fut__branches *b,
                                                             fut_cx *cx)
{
    if (bad_args(b))
        return fut_ready(self, -EINVAL);
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
    if (drop_children(b, b->error || b->winner < 0 ? NONE : (size_t)b->winner, cx) == FUT_PENDING)
        return FUT_PENDING;
    fut_waker_drop(b->waker);
    b->waker = NULL;
    return fut_ready(self, b->error ? b->error : b->winner);
}

static fut_status select_poll(fut *self, fut_cx *cx)
{
    fut__branches *b = &((fut_select *)self)->b;
    if (fut__unlikely(b->flags)) /* branch tasks, bad arguments */
        return select_poll_slow(self, b, cx);
    int w = b->winner;
    if (w < 0) {
        fut **first = b->children, **end = first + b->n, **p = first;
        for (; p != end; p++)
            if (fut__poll(*p, cx) == FUT_READY)
                break;
        if (p == end)
            return FUT_PENDING;
        b->winner = w = (int)(p - first);
    }
    /* The losers' teardowns, concurrently; READY once all are done. */
    if (drop_children_inline(b, (size_t)w, cx) == FUT_PENDING)
        return FUT_PENDING;
    b->flags = BR_DONE;
    return fut_ready(self, w);
}

/* Once READY inline, only the winner is left to tear down (the losers
 * were, and inline mode keeps no waker). */
static fut_status select_poll_drop(fut *self, fut_cx *cx)
{
    fut__branches *b = &((fut_select *)self)->b;
    if (fut__likely(b->flags == BR_DONE)) {
        fut *w = b->children[b->winner];
        return drop_if_plain(w, true) ? FUT_READY : drop_shielded(w, cx);
    }
    return branches_drop_slot(self, cx);
}

static const struct fut_vtable select_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_select",
    .poll = select_poll,
    .poll_drop = select_poll_drop,
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
    branches_init(&s->b, children, n, flags & FUT_BRANCH_TASKS, joins);
    return &s->base;
}

/* --- timeout ---------------------------------------------------------------------------------- */

/* sel.b.flags is the timeout's phase word: the caller's FUT_BRANCH_TASKS
 * and the bits below. 0 is the one shape the hot paths handle (inline
 * mode, a valid duration, the inner future not polled yet); every other
 * value takes the slow paths, which handle every shape. */
#define TO_NAN 0x100u     /* a NaN duration: -EINVAL at the first poll */
#define TO_SLEEP 0x200u   /* the deadline's sleep is set up (about to be polled) */
#define TO_LATE 0x400u    /* the deadline won (inline mode) */
#define TO_AT_ONCE 0x800u /* the inner future won before the deadline was set up */
#define TO_SELECT 0x1000u /* task mode: sel is set up */

/* The deadline's sleep, set up at its first use: until then only its
 * timer's `at` is written, holding the duration. A timeout around a
 * future READY at once never needs it. */
static fut_sleep *timeout_sleep(fut_timeout *t)
{
    if (!(t->sel.b.flags & TO_SLEEP)) {
        t->sel.b.flags |= TO_SLEEP;
        fut_sleep_init(&t->sleep, t->sleep.timer.at);
    }
    return &t->sleep;
}

/* Task mode runs the select over {inner, sleep}, set up at the first poll
 * or drop (init only records the flags: inline mode never uses it). The
 * pointers into the timeout itself are set then too, not at init: a
 * future may be moved (into a task by fut_rt_spawn) until its first poll. */
static __attribute__((noinline)) fut_select *timeout_select(fut_timeout *t)
{
    t->kids[1] = &timeout_sleep(t)->base;
    if (!(t->sel.b.flags & TO_SELECT)) {
        t->sel.b.flags |= TO_SELECT;
        fut_init(&t->sel.base, &select_vt);
        branches_init(&t->sel.b, t->kids, 2, t->sel.b.flags, t->joins);
    }
    t->sel.b.children = t->kids;
    t->sel.b.joins = t->joins;
    return &t->sel;
}

static __attribute__((noinline)) fut_status timeout_poll_tasks(fut_timeout *t, fut_cx *cx)
{
    fut_select *sel = timeout_select(t);
    if (fut__poll(&sel->base, cx) == FUT_PENDING)
        return FUT_PENDING;
    ssize_t w = fut_out(&sel->base);
    if (w == 0)
        return fut_ready(&t->base, fut_out(t->kids[0]));
    if (w == 1) /* the deadline won; a cancelled wait reads -ECANCELED */
        return fut_ready(&t->base, fut_out(&t->sleep.base) == -ECANCELED ? -ECANCELED : -ETIMEDOUT);
    return fut_ready(&t->base, w);
}

/* Inline mode, the inner future PENDING at this poll: the deadline's
 * turn, then, once it won, the inner future's teardown, which completes
 * first. */
static __attribute__((noinline)) fut_status timeout_poll_deadline(fut_timeout *t, fut_cx *cx)
{
    fut *in = t->kids[0];
    if (!(t->sel.b.flags & TO_LATE)) {
        if (fut__poll(&timeout_sleep(t)->base, cx) == FUT_PENDING)
            return FUT_PENDING;
        t->sel.b.flags |= TO_LATE;
    }
    if (!dropped(in) && drop_shielded(in, cx) == FUT_PENDING)
        return FUT_PENDING;
    return fut_ready(&t->base, fut_out(&t->sleep.base) == -ECANCELED ? -ECANCELED : -ETIMEDOUT);
}

static __attribute__((noinline)) fut_status timeout_poll_slow(fut_timeout *t, fut_cx *cx)
{
    unsigned ph = t->sel.b.flags;
    /* Before anything starts: the inner future is never polled. */
    if (ph & TO_NAN)
        return fut_ready(&t->base, -EINVAL);
    if (tasks(&t->sel.b))
        return timeout_poll_tasks(t, cx);
    /* Inline, the deadline armed: the inner future first, while it may
     * still win. */
    if (!(ph & TO_LATE)) {
        fut *in = t->kids[0];
        if (fut__poll(in, cx) == FUT_READY)
            return fut_ready(&t->base, fut_out(in));
    }
    return timeout_poll_deadline(t, cx);
}

/* Inline mode is the select written out for two children, cheaper: the
 * inner future is polled first and the deadline's sleep only while the
 * inner one is PENDING, so a timeout around a future that is READY at once
 * never arms (nor even sets up) its timer. This is the first poll. */
static fut_status timeout_poll(fut *self, fut_cx *cx)
{
    fut_timeout *t = (fut_timeout *)self;
    if (fut__unlikely(t->sel.b.flags))
        return timeout_poll_slow(t, cx);
    fut *in = t->kids[0];
    if (fut__poll(in, cx) == FUT_PENDING)
        return timeout_poll_deadline(t, cx);
    t->sel.b.flags = TO_AT_ONCE;
    return fut_ready(self, fut_out(in));
}

static __attribute__((noinline)) fut_status timeout_poll_drop_tasks(fut_timeout *t, fut_cx *cx)
{
    return fut__poll_drop(&timeout_select(t)->base, cx);
}

static __attribute__((noinline)) fut_status timeout_poll_drop_slow(fut_timeout *t, fut_cx *cx)
{
    unsigned ph = t->sel.b.flags;
    if (fut__unlikely(tasks(&t->sel.b)))
        return timeout_poll_drop_tasks(t, cx);
    /* Both children, concurrently, the sleep first (reverse order of
     * creation), shielded, as drop_children does. A sleep never set up
     * holds nothing. */
    fut *sl = &t->sleep.base;
    fut *in = t->kids[0];
    unsigned flags = cx->flags;
    cx->flags |= FUT__CX_SHIELD;
    bool pending = false;
    if ((ph & TO_SLEEP) && !dropped(sl) && fut__poll_drop(sl, cx) == FUT_PENDING)
        pending = true;
    if (!dropped(in) && fut__poll_drop(in, cx) == FUT_PENDING)
        pending = true;
    cx->flags = flags;
    return pending ? FUT_PENDING : FUT_READY;
}

/* The inner future won at once (READY, its deadline never set up, so
 * holding nothing): what is left is the inner future's plain drop, when
 * it has no poll_drop. Anything else takes the general teardown. */
static fut_status timeout_poll_drop(fut *self, fut_cx *cx)
{
    fut_timeout *t = (fut_timeout *)self;
    if (fut__likely(t->sel.b.flags == TO_AT_ONCE) && drop_if_plain(t->kids[0], true))
        return FUT_READY;
    return timeout_poll_drop_slow(t, cx);
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
    t->sleep.timer.at = seconds; /* see timeout_sleep() */
    /* Only FUT_BRANCH_TASKS means anything to a select; the other bits
     * are the phase's. */
    unsigned ph = flags & FUT_BRANCH_TASKS;
    if (fut__unlikely(isnan(seconds)))
        ph |= TO_NAN;
    t->sel.b.flags = ph;
    return &t->base;
}
