/* SPDX-License-Identifier: MIT */
/* Combinators (<fut/combine.h>): all, select, timeout, inline and with
 * branch tasks; losers' teardowns awaited; nesting; bad input; -ENOMEM. */
#include "helpers.h"

#include <math.h>

#include <errno.h>
#include <string.h>

#define rt th_rt

/* Snapshot of a counter taken when a future becomes READY. */
struct watch {
    fut base;
    fut *inner;
    int *counter;
    int seen;
};

static fut_status watch_poll(fut *self, fut_cx *cx)
{
    struct watch *w = (struct watch *)self;
    if (fut_poll(w->inner, cx) == FUT_PENDING)
        return FUT_PENDING;
    w->seen = *w->counter;
    return fut_ready(self, fut_out(w->inner));
}

static const struct fut_vtable watch_vt = {sizeof(struct fut_vtable), "watch", watch_poll, NULL,
                                           NULL};

static void watch_init(struct watch *w, fut *inner, int *counter)
{
    fut_init(&w->base, &watch_vt);
    w->inner = inner;
    w->counter = counter;
    w->seen = -1;
}

/* A select whose loser's teardown takes three loop turns: the result
 * arrives after that teardown, and other tasks ran meanwhile. */
static void loser_teardown(unsigned flags)
{
    int ticks = 0, dropped = 0, steps = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.002, 1000, &ticks);
    fut_join jt;
    ck_assert_int_eq(FUT_SPAWN(rt, &tk, &jt), 0);

    struct th_slow fast, slow;
    th_slow_init(&fast, 0.005, 42, 0, 0, NULL, NULL, &dropped);
    th_slow_init(&slow, -1, 0, 3, 0.005, NULL, &steps, &dropped);
    fut *kids[2] = {&slow.base, &fast.base};
    fut_join joins[2];
    fut_select sel;
    fut_select_init(&sel, kids, 2, flags, joins);
    struct watch w;
    watch_init(&w, &sel.base, &dropped);
    int ticks_before = ticks;
    ck_assert_int_eq(th_block(rt, &w.base), 1); /* the fast one won */
    ck_assert_int_eq(fut_out(&fast.base), 42);
    ck_assert_int_ge(w.seen, 1);               /* the loser's teardown was complete */
    ck_assert_int_eq(steps, 4);                /* 3 pending turns, then READY */
    ck_assert_int_gt(ticks - ticks_before, 2); /* the ticker ran meanwhile */
    ck_assert_int_eq(fut_drop(&sel.base), 0);
    ck_assert_int_eq(dropped, 2); /* the winner too, exactly once */
    fut_join_cancel(&jt);
    th_block(rt, &jt.base);
    fut_drop(&jt.base);
}

START_TEST(select_awaits_loser_teardown_inline)
{
    loser_teardown(0);
}
END_TEST

START_TEST(select_awaits_loser_teardown_tasks)
{
    loser_teardown(FUT_BRANCH_TASKS);
    ck_assert_uint_ge(th_stats(rt).tasks_spawned, 3);
}
END_TEST

/* select inside select */
START_TEST(select_inside_select)
{
    for (unsigned flags = 0; flags <= FUT_BRANCH_TASKS; flags += FUT_BRANCH_TASKS) {
        int dropped = 0;
        struct th_slow a, b, c;
        th_slow_init(&a, -1, 1, 2, 0.002, NULL, NULL, &dropped);
        th_slow_init(&b, 0.004, 2, 1, 0.002, NULL, NULL, &dropped);
        th_slow_init(&c, -1, 3, 2, 0.002, NULL, NULL, &dropped);
        fut *inner_kids[2] = {&a.base, &b.base};
        fut_join ij[2], oj[2];
        fut_select inner, outer;
        fut_select_init(&inner, inner_kids, 2, flags, ij);
        fut *outer_kids[2] = {&c.base, &inner.base};
        fut_select_init(&outer, outer_kids, 2, flags, oj);
        ck_assert_int_eq(th_block(rt, &outer.base), 1);
        ck_assert_int_eq(fut_out(&inner.base), 1);
        ck_assert_int_eq(fut_out(&b.base), 2);
        ck_assert_int_eq(dropped, 2); /* a (inner loser) and c (outer loser) */
        ck_assert_int_eq(fut_drop(&outer.base), 0);
        ck_assert_int_eq(dropped, 3);
    }
}
END_TEST

/* A timeout fires while the inner future's poll is blocked in a nested
 * loop: with branch tasks, the cancellation reaches that loop (its wait
 * returns -ECANCELED), the inner future unwinds and is torn down, then
 * the timeout reports -ETIMEDOUT. */
struct blocked {
    fut base;
    int *unwound;
    int *dropped;
};

static fut_status blocked_poll(fut *self, fut_cx *cx)
{
    struct blocked *b = (struct blocked *)self;
    fut_sleep s;
    ssize_t out = 0;
    ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), fut_sleep_init(&s, 30), &out), 0);
    fut_drop(&s.base);
    ck_assert_int_eq(out, -ECANCELED);
    (*b->unwound)++;
    return fut_ready(self, out);
}

static void blocked_drop(fut *self)
{
    (*((struct blocked *)self)->dropped)++;
}

static const struct fut_vtable blocked_vt = {sizeof(struct fut_vtable), "blocked", blocked_poll,
                                             NULL, blocked_drop};

START_TEST(timeout_fires_during_nested_loop)
{
    int unwound = 0, dropped = 0;
    struct blocked b = {.unwound = &unwound, .dropped = &dropped};
    fut_init(&b.base, &blocked_vt);
    /* The auto clock: the deadline fires at exactly +0.02. */
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_AUTO), 0);
    fut_timeout t;
    fut_timeout_init(&t, &b.base, 0.02, FUT_BRANCH_TASKS);
    struct watch w;
    watch_init(&w, &t.base, &dropped);
    double t0 = fut_rt_now(rt), m0 = th_mono();
    ck_assert_int_eq(th_block(rt, &w.base), -ETIMEDOUT);
    ck_assert(fut_rt_now(rt) == t0 + 0.02);
    ck_assert(th_mono() - m0 < 5);
    ck_assert_int_eq(unwound, 1);
    ck_assert_int_eq(w.seen, 1); /* torn down before -ETIMEDOUT was reported */
    fut_drop(&t.base);
    ck_assert_int_eq(dropped, 1);
}
END_TEST

START_TEST(timeout_inner_wins_or_times_out)
{
    for (unsigned flags = 0; flags <= FUT_BRANCH_TASKS; flags += FUT_BRANCH_TASKS) {
        int dropped = 0, steps = 0;
        struct th_slow quick;
        th_slow_init(&quick, 0.002, 9, 0, 0, NULL, NULL, &dropped);
        fut_timeout t;
        ck_assert_int_eq(th_block(rt, fut_timeout_init(&t, &quick.base, 5, flags)), 9);
        fut_drop(&t.base);
        ck_assert_int_eq(dropped, 1);

        struct th_slow slow;
        th_slow_init(&slow, -1, 0, 2, 0.005, NULL, &steps, &dropped);
        struct watch w;
        watch_init(&w, fut_timeout_init(&t, &slow.base, 0.01, flags), &dropped);
        ck_assert_int_eq(th_block(rt, &w.base), -ETIMEDOUT);
        ck_assert_int_eq(w.seen, 2); /* reported after the teardown */
        ck_assert_int_eq(steps, 3);
        fut_drop(&t.base);
        ck_assert_int_eq(dropped, 2);
    }
}
END_TEST

/* An inner future READY at once with a plain drop (or none): the
 * timeout's teardown drops it exactly once, when the timeout is dropped,
 * and a second drop of the timeout is refused. */
static int plain_drops;

static fut_status plain_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    return fut_ready(self, 4);
}

static void plain_drop(fut *self)
{
    (void)self;
    plain_drops++;
}

static const struct fut_vtable plain_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "plain",
    .poll = plain_poll,
    .drop = plain_drop,
};

static const struct fut_vtable bare_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bare",
    .poll = plain_poll,
};

START_TEST(timeout_inner_plain_drop_once)
{
    for (int bare = 0; bare <= 1; bare++) {
        plain_drops = 0;
        fut in;
        fut_init(&in, bare ? &bare_vt : &plain_vt);
        fut_timeout t;
        ck_assert_int_eq(th_block(rt, fut_timeout_init(&t, &in, 5, 0)), 4);
        ck_assert_int_eq(plain_drops, 0);
        ck_assert_int_eq(fut_drop(&t.base), 0);
        ck_assert_int_eq(plain_drops, bare ? 0 : 1);
        ck_assert_int_eq(fut_drop(&t.base), -EALREADY);
        th_diag_count = 0; /* the double drop's diagnostic */
        ck_assert_int_eq(plain_drops, bare ? 0 : 1);
    }
}
END_TEST

/* A timeout moved into a task by fut_rt_spawn before its first poll works
 * on the task's copy (no pointer into the original). */
START_TEST(timeout_moved_before_first_poll)
{
    int dropped = 0, steps = 0;
    struct th_slow slow;
    th_slow_init(&slow, -1, 0, 1, 0.002, NULL, &steps, &dropped);
    fut_timeout t;
    fut_timeout_init(&t, &slow.base, 0.01, 0);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &t, &j), 0);
    memset(&t, 0xa5, sizeof t); /* the original is gone */
    ck_assert_int_eq(th_block(rt, &j.base), -ETIMEDOUT);
    fut_drop(&j.base);
    ck_assert_int_eq(dropped, 1);
}
END_TEST

/* An inner future READY at once whose poll_drop takes two loop turns:
 * the timeout's teardown waits for it, dropped synchronously or
 * asynchronously, inline or with branch tasks, and drops it once. */
START_TEST(timeout_inner_ready_at_once_slow_teardown)
{
    for (unsigned flags = 0; flags <= FUT_BRANCH_TASKS; flags += FUT_BRANCH_TASKS) {
        for (int async = 0; async <= 1; async++) {
            int dropped = 0, steps = 0, polls = 0;
            struct th_slow k;
            th_slow_init(&k, 0, 5, 2, 0.002, &polls, &steps, &dropped);
            fut_timeout t;
            ck_assert_int_eq(th_block(rt, fut_timeout_init(&t, &k.base, 5, flags)), 5);
            ck_assert_int_eq(polls, 1);
            ck_assert_int_eq(steps, 0); /* not before the timeout's drop */
            ck_assert_int_eq(dropped, 0);
            if (async) {
                fut_dropper d;
                ck_assert_int_eq(th_block(rt, fut_drop_async(&d, &t.base)), 0);
                fut_drop(&d.base);
            } else {
                ck_assert_int_eq(fut_drop(&t.base), 0);
            }
            ck_assert_int_eq(steps, 3); /* 2 pending turns, then READY */
            ck_assert_int_eq(dropped, 1);
            ck_assert_int_eq(fut_drop(&t.base), -EALREADY);
            th_diag_count = 0; /* the double drop's diagnostic */
            ck_assert_int_eq(dropped, 1);
            ck_assert_uint_eq(th_stats(rt).tasks_alive, 0);
        }
    }
}
END_TEST

/* An inner future whose vtable ends before poll_drop (or before drop):
 * the slots past its size are never called, READY at once or not. */
static fut_status never_poll_drop(fut *self, fut_cx *cx)
{
    (void)self;
    (void)cx;
    ck_abort_msg("a poll_drop slot past the vtable's size was called");
    return FUT_READY;
}

static const struct fut_vtable short_vts[2] = {
    {.size = offsetof(struct fut_vtable, poll_drop),
     .name = "short",
     .poll = plain_poll,
     .poll_drop = never_poll_drop,
     .drop = plain_drop},
    {.size = offsetof(struct fut_vtable, drop),
     .name = "shorter_by_one",
     .poll = plain_poll,
     .drop = plain_drop},
};

START_TEST(timeout_inner_short_vtable)
{
    for (int i = 0; i < 2; i++) {
        plain_drops = 0;
        fut in;
        fut_init(&in, &short_vts[i]);
        fut_timeout t;
        ck_assert_int_eq(th_block(rt, fut_timeout_init(&t, &in, 5, 0)), 4);
        ck_assert_int_eq(fut_drop(&t.base), 0);
        ck_assert_int_eq(plain_drops, 0);
    }
}
END_TEST

/* Dropped before its first poll, inline or with branch tasks: the inner
 * future is never polled, its teardown runs once, no task is spawned. */
START_TEST(timeout_dropped_before_first_poll)
{
    for (unsigned flags = 0; flags <= FUT_BRANCH_TASKS; flags += FUT_BRANCH_TASKS) {
        for (int nan = 0; nan <= 1; nan++) {
            int dropped = 0, steps = 0, polls = 0;
            struct th_slow k;
            th_slow_init(&k, -1, 0, 1, 0.001, &polls, &steps, &dropped);
            uint64_t spawned = th_stats(rt).tasks_spawned;
            fut_timeout t;
            fut_timeout_init(&t, &k.base, nan ? NAN : 0.01, flags);
            ck_assert_int_eq(fut_drop(&t.base), 0);
            ck_assert_int_eq(polls, 0);
            ck_assert_int_eq(steps, 2);
            ck_assert_int_eq(dropped, 1);
            ck_assert_uint_eq(th_stats(rt).tasks_spawned, spawned);
        }
    }
}
END_TEST

/* A NaN duration with branch tasks: -EINVAL at the first poll, no task
 * spawned, the inner future never polled and dropped with the timeout. */
START_TEST(timeout_nan_with_branch_tasks)
{
    int dropped = 0, polls = 0;
    struct th_slow k;
    th_slow_init(&k, 0, 1, 0, 0, &polls, NULL, &dropped);
    uint64_t spawned = th_stats(rt).tasks_spawned;
    fut_timeout t;
    ck_assert_int_eq(th_block(rt, fut_timeout_init(&t, &k.base, NAN, FUT_BRANCH_TASKS)), -EINVAL);
    ck_assert_int_eq(polls, 0);
    ck_assert_int_eq(dropped, 0);
    ck_assert_int_eq(fut_drop(&t.base), 0);
    ck_assert_int_eq(dropped, 1);
    ck_assert_uint_eq(th_stats(rt).tasks_spawned, spawned);
}
END_TEST

/* A select whose winner has a poll_drop that takes two loop turns: READY
 * once the losers are torn down; the winner's teardown runs with the
 * select's (sync or async), once, and the losers are not dropped again. */
START_TEST(select_winner_with_slow_teardown)
{
    for (unsigned flags = 0; flags <= FUT_BRANCH_TASKS; flags += FUT_BRANCH_TASKS) {
        for (int async = 0; async <= 1; async++) {
            int dropped = 0, steps = 0, lsteps = 0;
            struct th_slow k[3];
            th_slow_init(&k[0], -1, 0, 0, 0, NULL, &lsteps, &dropped);
            th_slow_init(&k[1], 0.002, 7, 2, 0.002, NULL, &steps, &dropped);
            th_slow_init(&k[2], -1, 0, 0, 0, NULL, &lsteps, &dropped);
            fut *kids[3] = {&k[0].base, &k[1].base, &k[2].base};
            fut_join joins[3];
            fut_select sel;
            fut_select_init(&sel, kids, 3, flags, joins);
            ck_assert_int_eq(th_block(rt, &sel.base), 1);
            ck_assert_int_eq(fut_out(&k[1].base), 7);
            ck_assert_int_eq(dropped, 2); /* the losers */
            ck_assert_int_eq(lsteps, 2);
            ck_assert_int_eq(steps, 0);
            if (async) {
                fut_dropper d;
                ck_assert_int_eq(th_block(rt, fut_drop_async(&d, &sel.base)), 0);
                fut_drop(&d.base);
            } else {
                ck_assert_int_eq(fut_drop(&sel.base), 0);
            }
            ck_assert_int_eq(steps, 3); /* 2 pending turns, then READY */
            ck_assert_int_eq(lsteps, 2);
            ck_assert_int_eq(dropped, 3);
            ck_assert_int_eq(fut_drop(&sel.base), -EALREADY);
            th_diag_count = 0; /* the double drop's diagnostic */
            ck_assert_int_eq(dropped, 3);
            ck_assert_uint_eq(th_stats(rt).tasks_alive, 0);
        }
    }
}
END_TEST

/* Dropped before its first poll: no child is polled, each is torn down
 * once, no branch task is spawned. */
START_TEST(select_dropped_before_first_poll)
{
    for (unsigned flags = 0; flags <= FUT_BRANCH_TASKS; flags += FUT_BRANCH_TASKS) {
        int dropped = 0, steps = 0, polls = 0;
        struct th_slow k[3];
        fut *kids[3];
        for (int i = 0; i < 3; i++) {
            th_slow_init(&k[i], 0, i, 1, 0.001, &polls, &steps, &dropped);
            kids[i] = &k[i].base;
        }
        uint64_t spawned = th_stats(rt).tasks_spawned;
        fut_join joins[3];
        fut_select sel;
        fut_select_init(&sel, kids, 3, flags, joins);
        ck_assert_int_eq(fut_drop(&sel.base), 0);
        ck_assert_int_eq(polls, 0);
        ck_assert_int_eq(steps, 6); /* a pending turn, then READY, each */
        ck_assert_int_eq(dropped, 3);
        ck_assert_uint_eq(th_stats(rt).tasks_spawned, spawned);
    }
}
END_TEST

/* Children whose vtables end before poll_drop or drop, as losers and as
 * the winner: the slots past the size are never called; a zeroed child
 * after the winner (never polled) is dropped as nothing. */
START_TEST(select_children_short_vtables)
{
    for (int w = 0; w < 2; w++) {
        plain_drops = 0;
        fut a, b, zero;
        fut_init(&a, &short_vts[0]);
        fut_init(&b, &short_vts[1]);
        memset(&zero, 0, sizeof zero);
        fut *kids[3] = {w ? &b : &a, w ? &a : &b, &zero};
        fut_select sel;
        ck_assert_int_eq(th_block(rt, fut_select_init(&sel, kids, 3, 0, NULL)), 0);
        ck_assert_int_eq(fut_out(kids[0]), 4);
        ck_assert_int_eq(fut_drop(&sel.base), 0);
        ck_assert_int_eq(plain_drops, 0);
        ck_assert_int_eq(fut_drop(&sel.base), -EALREADY);
        th_diag_count = 0;
    }
}
END_TEST

START_TEST(all_returns_every_status)
{
    for (unsigned flags = 0; flags <= FUT_BRANCH_TASKS; flags += FUT_BRANCH_TASKS) {
        int dropped = 0;
        struct th_slow k[3];
        fut *kids[3];
        for (int i = 0; i < 3; i++) {
            th_slow_init(&k[i], 0.002 * (3 - i), i == 1 ? -EIO : i, 1, 0.001, NULL, NULL, &dropped);
            kids[i] = &k[i].base;
        }
        fut_join joins[3];
        fut_all a;
        ck_assert_int_eq(th_block(rt, fut_all_init(&a, kids, 3, flags, joins)), 0);
        ck_assert_int_eq(fut_out(kids[0]), 0);
        ck_assert_int_eq(fut_out(kids[1]), -EIO);
        ck_assert_int_eq(fut_out(kids[2]), 2);
        ck_assert_int_eq(fut_drop(&a.base), 0);
        ck_assert_int_eq(dropped, 3);
    }
}
END_TEST

/* Dropped half way, a combinator tears down every child exactly once. */
START_TEST(dropped_half_way)
{
    for (unsigned flags = 0; flags <= FUT_BRANCH_TASKS; flags += FUT_BRANCH_TASKS) {
        int dropped = 0, steps = 0;
        struct th_slow k[3];
        fut *kids[3];
        for (int i = 0; i < 3; i++) {
            th_slow_init(&k[i], i == 0 ? 0.001 : -1, i, 2, 0.002, NULL, &steps, &dropped);
            kids[i] = &k[i].base;
        }
        fut_join joins[3];
        fut_all a;
        fut_all_init(&a, kids, 3, flags, joins);
        ck_assert_int_eq(th_poll_once(rt, &a.base, NULL), FUT_PENDING);
        fut_sleep s;
        th_block(rt, fut_sleep_init(&s, 0.005));
        fut_drop(&s.base);
        ck_assert_int_eq(fut_drop(&a.base), 0);
        ck_assert_int_eq(dropped, 3);
        ck_assert_uint_eq(th_stats(rt).tasks_alive, 0);

        fut_select sel;
        dropped = 0;
        for (int i = 0; i < 3; i++)
            th_slow_init(&k[i], -1, i, 2, 0.002, NULL, NULL, &dropped);
        fut_select_init(&sel, kids, 3, flags, joins);
        ck_assert_int_eq(th_poll_once(rt, &sel.base, NULL), FUT_PENDING);
        ck_assert_int_eq(fut_drop(&sel.base), 0);
        ck_assert_int_eq(dropped, 3);
    }
}
END_TEST

START_TEST(bad_input)
{
    fut_select sel;
    ck_assert_int_eq(th_block(rt, fut_select_init(&sel, NULL, 2, 0, NULL)), -EINVAL);
    fut_drop(&sel.base);
    int dropped = 0;
    struct th_slow k;
    th_slow_init(&k, 0.001, 1, 0, 0, NULL, NULL, &dropped);
    fut *kids[1] = {&k.base};
    ck_assert_int_eq(th_block(rt, fut_select_init(&sel, kids, 0, 0, NULL)), -EINVAL);
    fut_drop(&sel.base);
    fut_all a; /* tasks without join storage */
    ck_assert_int_eq(th_block(rt, fut_all_init(&a, kids, 1, FUT_BRANCH_TASKS, NULL)), -EINVAL);
    fut_drop(&a.base);
    ck_assert_int_eq(dropped, 0); /* untouched */
    fut_drop(&k.base);
    /* a NaN deadline: -EINVAL, not -ETIMEDOUT; inner never polled, and
     * dropped with the timeout */
    int polls = 0;
    dropped = 0;
    th_slow_init(&k, 0.001, 1, 0, 0, &polls, NULL, &dropped);
    fut_timeout t;
    ck_assert_int_eq(th_block(rt, fut_timeout_init(&t, &k.base, NAN, 0)), -EINVAL);
    ck_assert_int_eq(polls, 0);
    fut_drop(&t.base);
    ck_assert_int_eq(dropped, 1);
}
END_TEST

/* Branch tasks that cannot be spawned: -ENOMEM, after dropping every
 * child (those started and those not), nothing leaked. */
START_TEST(branch_spawn_fails)
{
    for (int failing = 1; failing <= 3; failing++) {
        int dropped = 0;
        struct th_slow k[3];
        fut *kids[3];
        for (int i = 0; i < 3; i++) {
            th_slow_init(&k[i], -1, i, 1, 0.001, NULL, NULL, &dropped);
            kids[i] = &k[i].base;
        }
        fut_join joins[3];
        fut_select sel;
        fut_select_init(&sel, kids, 3, FUT_BRANCH_TASKS, joins);
        th_alloc.fail_at = th_alloc.total + failing;
        ck_assert_int_eq(th_block(rt, &sel.base), -ENOMEM);
        th_alloc.fail_at = 0;
        ck_assert_int_eq(fut_drop(&sel.base), 0);
        ck_assert_int_eq(dropped, 3);
    }
}
END_TEST

/* A combinator with branch tasks whose own task is cancelled while it
 * blocks in a nested loop completes promptly with -ECANCELED. */
static fut_status all_in_nested_loop(struct th_fn *f, fut_cx *cx)
{
    fut_sleep a, b;
    fut *kids[2] = {fut_sleep_init(&a, 1), fut_sleep_init(&b, 1)};
    fut_join joins[2];
    fut_all all;
    ssize_t out = 0;
    ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx),
                                        fut_all_init(&all, kids, 2, FUT_BRANCH_TASKS, joins), &out),
                     0);
    fut_drop(&all.base);
    return fut_ready(&f->base, out);
}

/* Waits 20 ms, then cancels the task whose join it was given. */
struct killer {
    fut base;
    fut_sleep s;
    int armed;
    fut_join *victim;
};

static fut_status killer_poll(fut *self, fut_cx *cx)
{
    struct killer *k = (struct killer *)self;
    if (!k->armed) {
        fut_sleep_init(&k->s, 0.02);
        k->armed = 1;
    }
    if (fut_poll(&k->s.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    fut_drop(&k->s.base);
    k->armed = 0;
    fut_join_cancel(k->victim);
    return fut_ready(self, 0);
}

static void killer_drop(fut *self)
{
    struct killer *k = (struct killer *)self;
    if (k->armed)
        fut_drop(&k->s.base);
}

static const struct fut_vtable killer_vt = {sizeof(struct fut_vtable), "killer", killer_poll, NULL,
                                            killer_drop};

START_TEST(branch_tasks_see_owner_cancel)
{
    struct th_fn body;
    th_fn_init(&body, all_in_nested_loop, NULL);
    fut_join jb, jk;
    ck_assert_int_eq(FUT_SPAWN(rt, &body, &jb), 0);
    struct killer k = {.victim = &jb};
    fut_init(&k.base, &killer_vt);
    ck_assert_int_eq(FUT_SPAWN(rt, &k, &jk), 0);
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, &jb.base), -ECANCELED);
    ck_assert(th_mono() - t0 < 0.5); /* not after the 1 s sleeps */
    fut_drop(&jb.base);
    th_block(rt, &jk.base);
    fut_drop(&jk.base);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("combine");
    TCase *tc = tcase_create("combine");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, select_awaits_loser_teardown_inline);
    tcase_add_test(tc, select_awaits_loser_teardown_tasks);
    tcase_add_test(tc, select_inside_select);
    tcase_add_test(tc, timeout_fires_during_nested_loop);
    tcase_add_test(tc, timeout_inner_wins_or_times_out);
    tcase_add_test(tc, timeout_inner_plain_drop_once);
    tcase_add_test(tc, timeout_moved_before_first_poll);
    tcase_add_test(tc, timeout_inner_ready_at_once_slow_teardown);
    tcase_add_test(tc, timeout_inner_short_vtable);
    tcase_add_test(tc, timeout_dropped_before_first_poll);
    tcase_add_test(tc, timeout_nan_with_branch_tasks);
    tcase_add_test(tc, select_winner_with_slow_teardown);
    tcase_add_test(tc, select_dropped_before_first_poll);
    tcase_add_test(tc, select_children_short_vtables);
    tcase_add_test(tc, all_returns_every_status);
    tcase_add_test(tc, dropped_half_way);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, branch_spawn_fails);
    tcase_add_test(tc, branch_tasks_see_owner_cancel);
    suite_add_tcase(s, tc);
    return th_run(s);
}
