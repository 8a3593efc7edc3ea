/* SPDX-License-Identifier: MIT */
/* Nested loops and frozen tasks (DESIGN §5): the scenarios of issue 2. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

static void join_all(fut_join *j, int n, ssize_t *outs)
{
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(fut_rt_block_on(th_rt, &j[i].base, &outs[i]), 0);
        ck_assert_int_eq(fut_drop(&j[i].base), 0);
    }
}

/* (a) a nested loop in plain sequential code, other tasks progressing */
START_TEST(nested_in_plain_code)
{
    int ticks = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.002, 1000, &ticks);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &tk, &j), 0);

    fut_sleep s;
    ssize_t out = -1;
    double t0 = th_mono();
    ck_assert_int_eq(fut_rt_nested_loop(th_rt, fut_sleep_init(&s, 0.03), &out), 0);
    ck_assert_int_eq(out, 0);
    ck_assert(th_mono() - t0 >= 0.025);
    fut_drop(&s.base);
    /* the ticker runs during nested loops (more of them where the machine
     * is slow: valgrind's first translations can outlast 30 ms) */
    for (int i = 0; i < 100 && ticks <= 2; i++) {
        ck_assert_int_eq(fut_rt_nested_loop(th_rt, fut_sleep_init(&s, 0.02), &out), 0);
        fut_drop(&s.base);
    }
    ck_assert_int_gt(ticks, 2);
    fut_join_cancel(&j);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, &out), 0);
    ck_assert_int_eq(out, -ECANCELED);
    fut_drop(&j.base);
}
END_TEST

/* (b) a nested loop inside one task while a sibling keeps progressing */
struct nest_in_task {
    double sleep;
    int *ticks;
    int ticks_before, ticks_after;
    int sibling_done_inside;
    fut_join *sibling;
    int err;
};

static fut_status nest_in_task_fn(struct th_fn *f, fut_cx *cx)
{
    struct nest_in_task *n = f->ud;
    (void)cx;
    fut_sleep s;
    n->ticks_before = *n->ticks;
    n->err = fut_rt_nested_loop(fut_cx_rt(cx), fut_sleep_init(&s, n->sleep), NULL);
    fut_drop(&s.base);
    n->ticks_after = *n->ticks;
    n->sibling_done_inside = fut_join_finished(n->sibling);
    return fut_ready(&f->base, 7);
}

static void nested_in_task(double sleep, int nticks, int expect_sibling_done)
{
    int ticks = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.005, nticks, &ticks);
    fut_join j[2];
    struct nest_in_task n = {.sleep = sleep, .ticks = &ticks, .sibling = &j[1]};
    struct th_fn a;
    th_fn_init(&a, nest_in_task_fn, &n);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &j[0]), 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &tk, &j[1]), 0);
    ssize_t outs[2];
    join_all(j, 2, outs);
    ck_assert_int_eq(n.err, 0);
    ck_assert_int_eq(outs[0], 7);
    ck_assert_int_eq(outs[1], nticks);
    ck_assert_int_gt(n.ticks_after, n.ticks_before);
    ck_assert_int_eq(n.sibling_done_inside, expect_sibling_done);
}

START_TEST(nested_in_task_sibling_finishes_first)
{
    nested_in_task(0.08, 3, 1);
}
END_TEST

START_TEST(nested_in_task_nested_finishes_first)
{
    nested_in_task(0.02, 20, 0);
}
END_TEST

/* (c) recursive nesting: the outer nested future finishes first */
struct rec {
    double sleep;
    double returned_at;
    int err;
};

static fut_status rec_fn(struct th_fn *f, fut_cx *cx)
{
    struct rec *r = f->ud;
    fut_sleep s;
    r->err = fut_rt_nested_loop(fut_cx_rt(cx), fut_sleep_init(&s, r->sleep), NULL);
    r->returned_at = th_mono();
    fut_drop(&s.base);
    return fut_ready(&f->base, 0);
}

START_TEST(nested_outer_finishes_first)
{
    struct rec outer = {.sleep = 0.01}, inner = {.sleep = 0.08};
    struct th_fn a, b;
    th_fn_init(&a, rec_fn, &outer);
    th_fn_init(&b, rec_fn, &inner);
    fut_join j[2];
    /* A runs first and starts the outer nested loop; B runs inside it and
     * starts the inner one. The script is the spawn order: FIFO, which
     * is the run queue's documented order with seeding off (FUT_SEED may
     * be set for the run). */
    ck_assert_int_eq(fut_rt_set_seed(th_rt, 0), 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &j[0]), 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &j[1]), 0);
    double t0 = th_mono();
    ssize_t outs[2];
    join_all(j, 2, outs);
    ck_assert_int_eq(outer.err, 0);
    ck_assert_int_eq(inner.err, 0);
    /* The outer loop's sleep (10 ms) finished first, but it returned only
     * after the inner one. */
    ck_assert(inner.returned_at <= outer.returned_at);
    ck_assert(outer.returned_at - t0 >= 0.07);

    struct fut_rt_stats st;
    ck_assert_int_eq(fut_rt_stats(th_rt, &st, sizeof st), 0);
    ck_assert_int_eq(st.nested_depth_max, 3); /* block_on + outer + inner */
    ck_assert_int_eq(st.nested_depth, 0);
    ck_assert_int_eq(st.nested_blocked, 1);
    ck_assert(st.nested_blocked_seconds >= 0.04);
    ck_assert(st.nested_blocked_seconds < 10);
}
END_TEST

/* (d) a wake aimed at a frozen task is delivered after it unfreezes */
struct frozen {
    fut_waker *a_waker;
    int woke;
};

static fut_status frozen_a(struct th_fn *f, fut_cx *cx)
{
    struct frozen *z = f->ud;
    if (f->step == 0) {
        z->a_waker = fut_waker_clone(fut_cx_waker(cx));
        fut_sleep s;
        /* B runs in here and wakes us: we are frozen, so the wake must be
         * kept, not delivered by polling us re-entrantly. */
        ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), fut_sleep_init(&s, 0.03), NULL), 0);
        fut_drop(&s.base);
        ck_assert_int_eq(z->woke, 1);
        return FUT_PENDING;
    }
    fut_waker_drop(z->a_waker);
    z->a_waker = NULL;
    return fut_ready(&f->base, f->step);
}

static fut_status frozen_b(struct th_fn *f, fut_cx *cx)
{
    struct frozen *z = f->ud;
    /* A may not have run yet (a seeded order): yield until it is in its
     * nested loop. */
    if (!z->a_waker && f->step < 100) {
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    ck_assert_ptr_nonnull(z->a_waker);
    fut_waker_wake(z->a_waker);
    z->woke = 1;
    return fut_ready(&f->base, 0);
}

START_TEST(wake_of_frozen_task_is_kept)
{
    struct frozen z = {0};
    struct th_fn a, b;
    th_fn_init(&a, frozen_a, &z);
    th_fn_init(&b, frozen_b, &z);
    fut_join j[2];
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &j[0]), 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &j[1]), 0);
    ssize_t outs[2];
    join_all(j, 2, outs);
    ck_assert_int_eq(outs[0], 1); /* polled exactly once more, after the wake */
    ck_assert_int_eq(z.woke, 1);
    struct fut_rt_stats st;
    fut_rt_stats(th_rt, &st, sizeof st);
    ck_assert_uint_ge(st.frozen_wakes, 1);
}
END_TEST

/* A frozen task is never polled re-entrantly: its th_fn counts re-entries
 * in the task's own copy, which we reach through a pointer it stores. */
struct reent {
    fut_waker *w;
};

static fut_status reent_a(struct th_fn *f, fut_cx *cx)
{
    struct reent *r = f->ud;
    if (f->step == 0) {
        r->w = fut_waker_clone(fut_cx_waker(cx));
        fut_yield y;
        /* Several loop turns in which B wakes us repeatedly. */
        for (int i = 0; i < 5; i++) {
            ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), fut_yield_init(&y), NULL), 0);
            fut_drop(&y.base);
        }
        return FUT_PENDING;
    }
    fut_waker_drop(r->w);
    r->w = NULL;
    return fut_ready(&f->base, f->reentered);
}

static fut_status reent_b(struct th_fn *f, fut_cx *cx)
{
    struct reent *r = f->ud;
    if (r->w)
        fut_waker_wake(r->w);
    if (f->step < 10) {
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    return fut_ready(&f->base, 0);
}

START_TEST(frozen_task_never_reentered)
{
    struct reent r = {0};
    struct th_fn a, b;
    th_fn_init(&a, reent_a, &r);
    th_fn_init(&b, reent_b, &r);
    fut_join j[2];
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &j[0]), 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &j[1]), 0);
    ssize_t outs[2];
    join_all(j, 2, outs);
    ck_assert_int_eq(outs[0], 0); /* re-entries seen by the task's copy */
}
END_TEST

/* The same for a nested loop's own future: woken while its poll is on the
 * stack (inside an inner loop), it is polled again as soon as it returns,
 * with no other event needed to wake the loop. */
struct frozen_frame {
    fut_waker *w;
};

static fut_status frozen_frame_waker(struct th_fn *f, fut_cx *cx)
{
    struct frozen_frame *z = f->ud;
    (void)cx;
    fut_waker_wake(z->w);
    return fut_ready(&f->base, 0);
}

static fut_status frozen_frame_fn(struct th_fn *f, fut_cx *cx)
{
    struct frozen_frame *z = f->ud;
    if (f->step == 0) {
        z->w = fut_waker_clone(fut_cx_waker(cx));
        struct th_fn waker;
        th_fn_init(&waker, frozen_frame_waker, z);
        fut_join j;
        ck_assert_int_eq(FUT_SPAWN(fut_cx_rt(cx), &waker, &j), 0);
        /* The task runs in this inner loop and wakes us (we are frozen). */
        ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), &j.base, NULL), 0);
        fut_drop(&j.base);
        return FUT_PENDING;
    }
    fut_waker_drop(z->w);
    return fut_ready(&f->base, f->step);
}

START_TEST(wake_of_frozen_frame_is_kept)
{
    struct frozen_frame z = {0};
    struct th_fn f;
    th_fn_init(&f, frozen_frame_fn, &z);
    ssize_t out = -1;
    /* No timer, no fd: only the kept wake can finish this. */
    ck_assert_int_eq(fut_rt_block_on(th_rt, &f.base, &out), 0);
    ck_assert_int_eq(out, 1);
    ck_assert_int_eq(f.reentered, 0);
}
END_TEST

/* (e) the depth limit */
struct deep {
    int limit; /* deep_thread: the depth limit, 0 for the default */
    int depth, max_reached, err_at;
    int err;
    fut_rt *rt;
};

static fut_status deep_fn(struct th_fn *f, fut_cx *cx)
{
    struct deep *d = f->ud;
    (void)cx;
    d->depth++;
    if (d->depth > d->max_reached)
        d->max_reached = d->depth;
    struct th_fn child;
    th_fn_init(&child, deep_fn, d);
    int err = fut_rt_nested_loop(d->rt, &child.base, NULL);
    if (err && !d->err) {
        d->err = err;
        d->err_at = d->depth;
    }
    d->depth--;
    return fut_ready(&f->base, err);
}

START_TEST(depth_limit_is_an_error)
{
    struct deep d = {.rt = th_rt};
    ck_assert_int_eq(fut_rt_set_max_depth(th_rt, 4), 0);
    struct th_fn top;
    th_fn_init(&top, deep_fn, &d);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &top.base, NULL), 0);
    /* block_on is level 1; nested loops 2..4; the 5th is refused. */
    ck_assert_int_eq(d.err, -ELOOP);
    ck_assert_int_eq(d.err_at, 4);
    ck_assert_int_eq(d.max_reached, 4);
    ck_assert_str_eq(fut_strerror(-ELOOP), "nested loop depth limit reached");
}
END_TEST

struct drop_at_limit {
    struct th_slow *s;
    int err;
};

static fut_status drop_at_limit_fn(struct th_fn *f, fut_cx *cx)
{
    struct drop_at_limit *d = f->ud;
    (void)cx;
    d->err = fut_drop(&d->s->base);
    return fut_ready(&f->base, 0);
}

START_TEST(sync_drop_past_limit_refused)
{
    int drop_steps = 0, dropped = 0;
    struct th_slow s;
    th_slow_init(&s, -1, 0, 1, 0.001, NULL, &drop_steps, &dropped);
    ck_assert_int_eq(fut_rt_set_max_depth(th_rt, 1), 0);
    struct drop_at_limit d = {&s, 0};
    struct th_fn f;
    th_fn_init(&f, drop_at_limit_fn, &d);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &f.base, NULL), 0);
    ck_assert_int_eq(d.err, -ELOOP);
    ck_assert_int_eq(drop_steps, 0); /* untouched */
    ck_assert_int_eq(fut_rt_set_max_depth(th_rt, 4), 0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(dropped, 1);
}
END_TEST

START_TEST(max_depth_bad_input)
{
    ck_assert_int_eq(fut_rt_set_max_depth(NULL, 4), -EINVAL);
    ck_assert_int_eq(fut_rt_set_max_depth(th_rt, 0), -EINVAL);
    ck_assert_int_eq(fut_rt_set_max_depth(th_rt, 5000), -EINVAL);
    ck_assert_int_eq(fut_rt_nested_loop(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(fut_rt_nested_loop(th_rt, NULL, NULL), -EINVAL);
}
END_TEST

/* Changing the limit from inside a loop is refused. */
static fut_status set_depth_inside(struct th_fn *f, fut_cx *cx)
{
    return fut_ready(&f->base, fut_rt_set_max_depth(fut_cx_rt(cx), 8));
}

START_TEST(max_depth_busy_inside_loop)
{
    struct th_fn f;
    th_fn_init(&f, set_depth_inside, NULL);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &f.base, &out), 0);
    ck_assert_int_eq(out, -EBUSY);
}
END_TEST

/* Nesting on a thread with a 1 MiB stack, with the limit at `limit` (0:
 * the default). */
static void *deep_thread(void *arg)
{
    struct deep *d = arg;
    fut_rt *trt;
    ck_assert_int_eq(fut_rt_new(&trt, NULL), 0);
    if (d->limit)
        ck_assert_int_eq(fut_rt_set_max_depth(trt, (unsigned)d->limit), 0);
    d->rt = trt;
    struct th_fn top;
    th_fn_init(&top, deep_fn, d);
    ck_assert_int_eq(fut_rt_block_on(trt, &top.base, NULL), 0);
    ck_assert_int_eq(fut_rt_free(trt), 0);
    return NULL;
}

static void nest_on_small_stack(struct deep *d)
{
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    ck_assert_int_eq(pthread_create(&th, &attr, deep_thread, d), 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
}

/* The default limit, reached on a thread with a small stack: a clean
 * -ELOOP, never a stack overflow. */
START_TEST(default_depth_limit_on_small_stack)
{
    struct deep d = {0};
    nest_on_small_stack(&d);
    ck_assert_int_eq(d.err, -ELOOP);
    ck_assert_int_eq(d.max_reached, FUT_DEFAULT_MAX_DEPTH);
}
END_TEST

/* The highest limit on a 1 MiB stack: the stack runs out first, and the
 * call says -ELOOP instead of crashing (a level costs 300 to 800 bytes). */
START_TEST(stack_runs_out_before_the_limit)
{
    struct deep d = {.limit = 4096};
    nest_on_small_stack(&d);
    ck_assert_int_eq(d.err, -ELOOP);
    ck_assert_int_lt(d.max_reached, 4096);
    ck_assert_int_gt(d.max_reached, 64); /* the margin does not cut it short */
}
END_TEST

/* fut_drop where the stack is too low for one more nested loop: a
 * teardown READY at once needs none and completes; one whose first
 * poll_drop is PENDING gets -ELOOP with its teardown begun, and a later
 * fut_drop, from higher up the stack, finishes it. */
struct low_drop {
    fut_rt *rt;
    int tried, ready_err, ready_steps, ready_dropped;
    int pending_err, pending_steps, pending_dropped;
    struct th_slow pending;
};

static fut_status low_drop_fn(struct th_fn *f, fut_cx *cx)
{
    struct low_drop *l = f->ud;
    (void)cx;
    struct th_fn child;
    th_fn_init(&child, low_drop_fn, l);
    int err = fut_rt_nested_loop(l->rt, &child.base, NULL);
    if (err == -ELOOP && !l->tried) { /* the deepest level: the stack is low */
        l->tried = 1;
        struct th_slow r;
        th_slow_init(&r, -1, 0, 0, 0, NULL, &l->ready_steps, &l->ready_dropped);
        l->ready_err = fut_drop(&r.base);
        th_slow_init(&l->pending, -1, 0, 1, 0.001, NULL, &l->pending_steps, &l->pending_dropped);
        l->pending_err = fut_drop(&l->pending.base);
    }
    return fut_ready(&f->base, err);
}

static void *low_drop_thread(void *arg)
{
    struct low_drop *l = arg;
    ck_assert_int_eq(fut_rt_new(&l->rt, NULL), 0);
    ck_assert_int_eq(fut_rt_set_max_depth(l->rt, 4096), 0);
    struct th_fn top;
    th_fn_init(&top, low_drop_fn, l);
    ck_assert_int_eq(fut_rt_block_on(l->rt, &top.base, NULL), 0);
    ck_assert_int_eq(l->tried, 1);
    ck_assert_int_eq(l->pending_err, -ELOOP);
    ck_assert_int_eq(l->pending_steps, 1); /* begun */
    ck_assert_int_eq(l->pending_dropped, 0);
    ck_assert_int_eq(fut_drop(&l->pending.base), 0);
    ck_assert_int_eq(fut_rt_free(l->rt), 0);
    return NULL;
}

START_TEST(sync_drop_on_a_low_stack)
{
    struct low_drop l;
    memset(&l, 0, sizeof l);
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1024 * 1024);
    ck_assert_int_eq(pthread_create(&th, &attr, low_drop_thread, &l), 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    ck_assert_int_eq(l.ready_err, 0);
    ck_assert_int_eq(l.ready_steps, 1);
    ck_assert_int_eq(l.ready_dropped, 1);
    ck_assert_int_eq(l.pending_dropped, 1);
    ck_assert_int_ge(l.pending_steps, 2);
}
END_TEST

/* (f) a sync drop whose teardown takes several loop turns, while other
 * tasks keep running: from plain code and from inside a task. */
START_TEST(sync_drop_multi_turn_teardown_from_plain_code)
{
    int ticks = 0, polls = 0, drop_steps = 0, dropped = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.002, 1000, &ticks);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &tk, &j), 0);
    struct th_slow s;
    th_slow_init(&s, -1, 0, 3, 0.01, &polls, &drop_steps, &dropped);
    int before = ticks;
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(drop_steps, 4); /* READY on the 4th step: 3 turns */
    ck_assert_int_gt(ticks - before, 3);
    fut_join_cancel(&j);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, NULL), 0);
    fut_drop(&j.base);
}
END_TEST

struct drop_in_task {
    struct th_slow *s;
    int *ticks;
    int before, after, err;
};

static fut_status drop_in_task_fn(struct th_fn *f, fut_cx *cx)
{
    struct drop_in_task *d = f->ud;
    (void)cx;
    d->before = *d->ticks;
    d->err = fut_drop(&d->s->base);
    d->after = *d->ticks;
    return fut_ready(&f->base, 0);
}

START_TEST(sync_drop_multi_turn_teardown_inside_task)
{
    int ticks = 0, drop_steps = 0, dropped = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.002, 1000, &ticks);
    struct th_slow s;
    th_slow_init(&s, -1, 0, 3, 0.01, NULL, &drop_steps, &dropped);
    struct drop_in_task d = {.s = &s, .ticks = &ticks};
    struct th_fn f;
    th_fn_init(&f, drop_in_task_fn, &d);
    fut_join j[2];
    ck_assert_int_eq(FUT_SPAWN(th_rt, &tk, &j[0]), 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &f, &j[1]), 0);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j[1].base, NULL), 0);
    ck_assert_int_eq(d.err, 0);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_gt(d.after - d.before, 3);
    fut_drop(&j[1].base);
    fut_join_cancel(&j[0]);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j[0].base, NULL), 0);
    fut_drop(&j[0].base);
}
END_TEST

/* Another thread may not run this runtime's loop. */
struct other {
    fut_rt *rt;
    int err_block, err_nested;
};

static void *other_thread(void *arg)
{
    struct other *o = arg;
    fut_yield y;
    o->err_block = fut_rt_block_on(o->rt, fut_yield_init(&y), NULL);
    o->err_nested = fut_rt_nested_loop(o->rt, &y.base, NULL);
    return NULL;
}

START_TEST(loop_from_other_thread_refused)
{
    struct other o = {.rt = th_rt};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, other_thread, &o), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(o.err_block, -EPERM);
    ck_assert_int_eq(o.err_nested, -EPERM);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nested");
    TCase *tc = tcase_create("nested");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, nested_in_plain_code);
    tcase_add_test(tc, nested_in_task_sibling_finishes_first);
    tcase_add_test(tc, nested_in_task_nested_finishes_first);
    tcase_add_test(tc, nested_outer_finishes_first);
    tcase_add_test(tc, wake_of_frozen_task_is_kept);
    tcase_add_test(tc, frozen_task_never_reentered);
    tcase_add_test(tc, wake_of_frozen_frame_is_kept);
    tcase_add_test(tc, depth_limit_is_an_error);
    tcase_add_test(tc, sync_drop_past_limit_refused);
    tcase_add_test(tc, max_depth_bad_input);
    tcase_add_test(tc, max_depth_busy_inside_loop);
    tcase_add_test(tc, default_depth_limit_on_small_stack);
    tcase_add_test(tc, stack_runs_out_before_the_limit);
    tcase_add_test(tc, sync_drop_on_a_low_stack);
    tcase_add_test(tc, sync_drop_multi_turn_teardown_from_plain_code);
    tcase_add_test(tc, sync_drop_multi_turn_teardown_inside_task);
    tcase_add_test(tc, loop_from_other_thread_refused);
    suite_add_tcase(s, tc);
    return th_run(s);
}
