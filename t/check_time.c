/* SPDX-License-Identifier: MIT */
/* fut_sleep and fut_sleep_until_init: timing, bad input, cancellation at
 * every point, deadline order, sleeps driven by nested loops. */
#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <math.h>
#include <string.h>

/* --- local helpers ---------------------------------------------------------- */

/* A task body: sleeps `d` seconds, then appends its id to order[]. */
struct sleeper {
    fut base;
    fut_sleep s;
    double d;
    int id, armed;
    int *order, *n;
};

static fut_status sleeper_poll(fut *self, fut_cx *cx)
{
    struct sleeper *t = (struct sleeper *)self;
    if (!t->armed) {
        fut_sleep_init(&t->s, t->d);
        t->armed = 1;
    }
    if (fut_poll(&t->s.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    ck_assert_int_eq(fut_out(&t->s.base), 0);
    ck_assert_int_eq(fut_drop(&t->s.base), 0);
    t->armed = 0;
    t->order[(*t->n)++] = t->id;
    return fut_ready(self, t->id);
}

static void sleeper_drop(fut *self)
{
    struct sleeper *t = (struct sleeper *)self;
    if (t->armed)
        ck_assert_int_eq(fut_drop(&t->s.base), 0);
    t->armed = 0;
}

static const struct fut_vtable sleeper_vt = {.size = sizeof(struct fut_vtable),
                                             .name = "sleeper",
                                             .poll = sleeper_poll,
                                             .drop = sleeper_drop};

static void sleeper_init(struct sleeper *t, double d, int id, int *order, int *n)
{
    memset(t, 0, sizeof *t);
    fut_init(&t->base, &sleeper_vt);
    t->d = d;
    t->id = id;
    t->order = order;
    t->n = n;
}

/* --- timing ------------------------------------------------------------------ */

START_TEST(sleep_takes_its_time)
{
    fut_rt *rt = th_rt;
    const double d = 0.05;
    /* Taken before the loop's clock is refreshed: the timer is armed at or
     * after t0, so it cannot expire before t0 + d. */
    double t0 = th_mono();
    ev_now_update(fut_rt_loop(rt));
    double now0 = fut_rt_now(rt);
    fut_sleep s;
    ck_assert_ptr_eq(fut_sleep_init(&s, d), &s.base);
    ck_assert_int_eq(th_block(rt, &s.base), 0);
    double elapsed = th_mono() - t0;
    ck_assert_msg(elapsed >= d - 1e-4, "a %.3f s sleep completed after %.4f s", d, elapsed);
    ck_assert_msg(elapsed < 5.0, "a %.3f s sleep took %.3f s", d, elapsed);
    ck_assert_msg(fut_rt_now(rt) - now0 >= d - 1e-4, "loop time advanced only %.4f s",
                  fut_rt_now(rt) - now0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0); /* the timer is gone */
}
END_TEST

/* "A sleep of `seconds`, counted from its first poll": also when the loop
 * sat idle before fut_rt_block_on() (its cached time is then stale). */
START_TEST(sleep_counts_from_first_poll_after_idle)
{
    fut_rt *rt = th_rt;
    th_pause_for(0.25); /* the program does something else for a while */
    const double d = 0.1;
    fut_sleep s;
    fut_sleep_init(&s, d);
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, &s.base), 0);
    double elapsed = th_mono() - t0;
    ck_assert_int_eq(fut_drop(&s.base), 0);

    /* The same through a task spawned after an idle period. */
    th_pause_for(0.25);
    fut_sleep s2;
    fut_sleep_init(&s2, d);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s2, &j), 0);
    double t1 = th_mono();
    ck_assert_int_eq(th_block(rt, &j.base), 0);
    double elapsed2 = th_mono() - t1;
    ck_assert_int_eq(fut_drop(&j.base), 0);

    ck_assert_msg(elapsed >= d - 1e-3,
                  "fut_rt_block_on of a %.2f s sleep after 0.25 s idle returned after %.4f s", d,
                  elapsed);
    ck_assert_msg(elapsed2 >= d - 1e-3,
                  "a task's %.2f s sleep after 0.25 s idle completed after %.4f s", d, elapsed2);
}
END_TEST

/* A sleep armed late in a long poll (the loop's clock is from before
 * that poll) still takes its whole duration from its first poll. */
struct late_arm {
    fut base;
    fut_sleep s;
    double spin, d;
    double *t_arm, *t_done;
    int armed;
};

static fut_status late_arm_poll(fut *self, fut_cx *cx)
{
    struct late_arm *l = (struct late_arm *)self;
    if (!l->armed) {
        double t0 = th_mono();
        while (th_mono() - t0 < l->spin) /* busy: no loop iteration in between */
            ;
        fut_sleep_init(&l->s, l->d);
        *l->t_arm = th_mono();
        l->armed = 1;
    }
    if (fut_poll(&l->s.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    *l->t_done = th_mono();
    fut_drop(&l->s.base);
    return fut_ready(self, 0);
}

static const struct fut_vtable late_arm_vt = {sizeof(struct fut_vtable), "late_arm", late_arm_poll,
                                              NULL, NULL};

START_TEST(sleep_counts_from_first_poll_in_a_long_poll)
{
    fut_rt *rt = th_rt;
    for (int i = 0; i < 3; i++) { /* directly, then as a task beside a ticker */
        double t_arm = 0, t_done = 0;
        struct late_arm l = {.spin = 0.03, .d = 0.005, .t_arm = &t_arm, .t_done = &t_done};
        fut_init(&l.base, &late_arm_vt);
        if (i == 0) {
            ck_assert_int_eq(th_block(rt, &l.base), 0);
        } else {
            fut_join j;
            ck_assert_int_eq(FUT_SPAWN(rt, &l, &j), 0);
            struct th_ticker tk;
            int ticks = 0;
            th_ticker_init(&tk, 0.001, 3, &ticks);
            ck_assert_int_eq(th_block(rt, &tk.base), 3);
            fut_drop(&tk.base);
            ck_assert_int_eq(th_block(rt, &j.base), 0);
            fut_drop(&j.base);
        }
        ck_assert_msg(t_done - t_arm >= 0.005 - 1e-4,
                      "a 5 ms sleep armed at the end of a 30 ms poll ended after %.4f s (round %d)",
                      t_done - t_arm, i);
    }
}
END_TEST

START_TEST(sleep_until_future)
{
    fut_rt *rt = th_rt;
    double t0 = th_mono();
    ev_now_update(fut_rt_loop(rt));
    double at = fut_rt_now(rt) + 0.05;
    fut_sleep s;
    ck_assert_ptr_eq(fut_sleep_until_init(&s, at), &s.base);
    ck_assert_int_eq(th_block(rt, &s.base), 0);
    double elapsed = th_mono() - t0;
    ck_assert_msg(fut_rt_now(rt) >= at - 1e-3, "woke at %.4f, before the deadline %.4f",
                  fut_rt_now(rt), at);
    ck_assert_msg(elapsed >= 0.05 - 1e-3, "completed after %.4f s", elapsed);
    ck_assert_msg(elapsed < 5.0, "took %.3f s", elapsed);
    ck_assert_int_eq(fut_drop(&s.base), 0);
}
END_TEST

/* Zero, negative and -inf durations, and deadlines in the past: READY with 0
 * at the first poll, no timer started. */
START_TEST(sleep_nonpositive_ready_at_once)
{
    fut_rt *rt = th_rt;
    const double durations[] = {0.0, -0.0, -1e-9, -1.0, -INFINITY};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        fut_sleep s;
        fut_sleep_init(&s, durations[i]);
        ssize_t out = -1;
        ck_assert_msg(th_poll_once(rt, &s.base, &out) == FUT_READY, "sleep(%g) was PENDING",
                      durations[i]);
        ck_assert_int_eq(out, 0);
        ck_assert_int_eq(fut_drop(&s.base), 0);
        ck_assert_int_eq(th_loop_busy(rt), 0);
    }
    ev_now_update(fut_rt_loop(rt));
    const double ats[] = {fut_rt_now(rt), fut_rt_now(rt) - 1.0, 0.0, -1e9, -INFINITY};
    for (size_t i = 0; i < sizeof ats / sizeof ats[0]; i++) {
        fut_sleep s;
        fut_sleep_until_init(&s, ats[i]);
        ssize_t out = -1;
        ck_assert_msg(th_poll_once(rt, &s.base, &out) == FUT_READY, "sleep_until(%f) was PENDING",
                      ats[i]);
        ck_assert_int_eq(out, 0);
        ck_assert_int_eq(fut_drop(&s.base), 0);
        ck_assert_int_eq(th_loop_busy(rt), 0);
    }
}
END_TEST

START_TEST(sleep_nan_is_einval)
{
    fut_rt *rt = th_rt;
    fut_sleep s;
    ssize_t out = 0;
    fut_sleep_init(&s, NAN);
    ck_assert(th_poll_once(rt, &s.base, &out) == FUT_READY);
    ck_assert_int_eq(out, -EINVAL);
    ck_assert_int_eq(fut_drop(&s.base), 0);

    fut_sleep_until_init(&s, NAN);
    ck_assert(th_poll_once(rt, &s.base, &out) == FUT_READY);
    ck_assert_int_eq(out, -EINVAL);
    ck_assert_int_eq(fut_drop(&s.base), 0);

    /* Through a task: the join carries the error. */
    fut_sleep_init(&s, -NAN);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &j), 0);
    ck_assert_int_eq(th_block(rt, &j.base), -EINVAL);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
}
END_TEST

/* An infinite (or absurdly long) sleep is simply pending: it neither fires
 * nor disturbs the loop, and dropping it stops it. */
START_TEST(sleep_infinite_pending_then_dropped)
{
    fut_rt *rt = th_rt;
    fut_sleep inf, big;
    fut_sleep_init(&inf, INFINITY);
    fut_sleep_init(&big, 1e300);
    ck_assert(th_poll_once(rt, &inf.base, NULL) == FUT_PENDING);
    ck_assert(th_poll_once(rt, &big.base, NULL) == FUT_PENDING);
    fut_sleep shortest;
    fut_sleep_init(&shortest, 0.01);
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, &shortest.base), 0);
    ck_assert_double_lt(th_mono() - t0, 5.0);
    ck_assert_int_eq(fut_drop(&shortest.base), 0);
    ck_assert_int_eq(fut_drop(&inf.base), 0);
    ck_assert_int_eq(fut_drop(&big.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
}
END_TEST

/* --- cancellation -------------------------------------------------------------- */

START_TEST(sleep_dropped_before_first_poll)
{
    fut_rt *rt = th_rt;
    long total = th_alloc.total;
    fut_sleep s;
    fut_sleep_init(&s, 10.0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_alloc.total, total); /* a sleep allocates nothing */
    ck_assert_int_eq(th_loop_busy(rt), 0);

    /* A task cancelled before its first poll: the sleep is never armed. */
    fut_sleep_init(&s, 10.0);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &j), 0);
    ck_assert_int_eq(fut_join_cancel(&j), 0);
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, &j.base), -ECANCELED);
    ck_assert_double_lt(th_mono() - t0, 5.0);
    ck_assert_int_eq(th_stats(rt).tasks_alive, 0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
}
END_TEST

/* The sleep lives in a task; cancelling the task while the timer is armed
 * stops the timer. The task's memory is freed right after, so a timer left
 * behind would fire into freed memory when the later sleep runs the loop
 * past its deadline (ASan/valgrind), and it would keep the loop busy. */
START_TEST(sleep_cancelled_while_pending)
{
    fut_rt *rt = th_rt;
    long live = th_alloc.live;
    fut_sleep s;
    fut_sleep_init(&s, 0.03);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &j), 0);
    fut_yield y;
    ck_assert_int_eq(th_block(rt, fut_yield_init(&y)), 0); /* the task armed its timer */
    ck_assert_int_eq(fut_drop(&y.base), 0);
    ck_assert_int_eq(th_stats(rt).polls, 1);
    ck_assert(!fut_join_finished(&j));
    ck_assert_int_ne(th_loop_busy(rt), 0);

    ck_assert_int_eq(fut_join_cancel(&j), 0);
    ck_assert_int_eq(th_block(rt, &j.base), -ECANCELED);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(th_alloc.live, live); /* the task is freed */
    ck_assert_int_eq(th_loop_busy(rt), 0); /* and its timer stopped */

    /* Run the loop well past the cancelled deadline. */
    uint64_t polls = th_stats(rt).polls;
    fut_sleep later;
    fut_sleep_init(&later, 0.08);
    double t0 = th_mono();
    ev_now_update(fut_rt_loop(rt));
    ck_assert_int_eq(th_block(rt, &later.base), 0);
    ck_assert_double_ge(th_mono() - t0, 0.08 - 1e-4);
    ck_assert_int_eq(fut_drop(&later.base), 0);
    ck_assert_int_eq(th_stats(rt).polls, polls);
}
END_TEST

/* fut_rt_free() cancels a task sleeping for a long time: it does not wait
 * for the deadline, and the join handle survives the runtime. */
START_TEST(sleep_cancelled_by_rt_free)
{
    fut_rt *rt = th_new_rt();
    fut_sleep s;
    fut_sleep_init(&s, 30.0);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &j), 0);
    fut_sleep_init(&s, 30.0);
    ck_assert_int_eq(FUT_SPAWN(rt, &s, NULL), 0); /* detached */
    fut_yield y;
    ck_assert_int_eq(th_block(rt, fut_yield_init(&y)), 0);
    ck_assert_int_eq(fut_drop(&y.base), 0);
    ck_assert_int_eq(th_stats(rt).polls, 2);
    double t0 = th_mono();
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_double_lt(th_mono() - t0, 5.0);
    ck_assert_int_eq(fut_join_finished(&j), 1);
    ck_assert_int_eq(fut_drop(&j.base), 0);
}
END_TEST

/* A sleep dropped from plain code while armed (polled once from a frame). */
START_TEST(sleep_dropped_while_pending)
{
    fut_rt *rt = th_rt;
    fut_sleep s;
    fut_sleep_init(&s, 0.02);
    ck_assert(th_poll_once(rt, &s.base, NULL) == FUT_PENDING);
    ck_assert_int_ne(th_loop_busy(rt), 0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
    memset(&s, 0xa5, sizeof s); /* a timer still linked would now be garbage */
    fut_sleep later;
    fut_sleep_init(&later, 0.05);
    ck_assert_int_eq(th_block(rt, &later.base), 0);
    ck_assert_int_eq(fut_drop(&later.base), 0);
}
END_TEST

START_TEST(sleep_dropped_after_ready)
{
    fut_rt *rt = th_rt;
    fut_sleep s;
    fut_sleep_init(&s, 0.001);
    ck_assert_int_eq(th_block(rt, &s.base), 0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
    /* A second drop is a reported protocol error, not a crash. */
    ck_assert_int_eq(fut_drop(&s.base), -EALREADY);
    ck_assert_int_eq(th_diag_count, 1);
    ck_assert_ptr_nonnull(strstr(th_diag_last, "fut_sleep"));
    th_diag_count = 0;

    /* In a task: the task drops its READY sleep; the join returns 0. */
    fut_sleep_init(&s, 0.001);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &j), 0);
    ck_assert_int_eq(th_block(rt, &j.base), 0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(fut_join_cancel(&j), -EINVAL); /* dropped handle */
    ck_assert_int_eq(th_loop_busy(rt), 0);
}
END_TEST

/* --- ordering, nesting ------------------------------------------------------------- */

START_TEST(sleeps_complete_in_deadline_order)
{
    enum { N = 16 };
    /* On the auto clock: the order is the heap's, not the machine's load
     * (t/check_clock has the manual clock's own tests). */
    fut_rt *rt = th_rt;
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_AUTO), 0);
    double t0 = fut_rt_now(rt);
    int order[N], n = 0;
    fut_join j[N];
    /* Spawned in a scrambled order; task i sleeps (i + 1) * 4 ms. */
    for (int k = 0; k < N; k++) {
        int i = (k * 7 + 3) % N;
        struct sleeper t;
        sleeper_init(&t, (i + 1) * 0.004, i, order, &n);
        ck_assert_int_eq(FUT_SPAWN(rt, &t, &j[k]), 0);
    }
    for (int k = 0; k < N; k++) {
        ck_assert_int_eq(th_block(rt, &j[k].base), (k * 7 + 3) % N);
        ck_assert_int_eq(fut_drop(&j[k].base), 0);
    }
    ck_assert_int_eq(n, N);
    for (int i = 0; i < N; i++)
        ck_assert_msg(order[i] == i, "completion %d was task %d", i, order[i]);
    ck_assert(fut_rt_now(rt) == t0 + N * 0.004);
}
END_TEST

/* Task bodies that drive a sleep with fut_rt_nested_loop() from their poll. */
struct nester {
    fut base;
    fut_sleep s;
    double d;
    int switch_waker; /* poll the sleep as the task first, then nest */
    int step;
    int *ticks; /* the ticker's counter */
    int ticks_before;
    struct nester_result *res;
};

struct nester_result {
    int rc;
    ssize_t out;
    double end; /* th_mono() when the nested loop returned */
    int ticks_during;
    int polls;
};

static fut_status nester_poll(fut *self, fut_cx *cx)
{
    struct nester *t = (struct nester *)self;
    t->res->polls++;
    if (t->step == 0) {
        fut_sleep_init(&t->s, t->d);
        t->ticks_before = *t->ticks;
        t->step = 1;
        if (t->switch_waker) {
            /* Armed with the task's waker; come back for the nested loop. */
            ck_assert_int_eq(fut_poll(&t->s.base, cx), FUT_PENDING);
            fut_waker_wake(fut_cx_waker(cx));
            return FUT_PENDING;
        }
    }
    fut_rt *rt = fut_cx_rt(cx);
    t->res->rc = fut_rt_nested_loop(rt, &t->s.base, &t->res->out);
    t->res->end = fut_rt_now(rt);
    t->res->ticks_during = *t->ticks - t->ticks_before;
    ck_assert_int_eq(fut_drop(&t->s.base), 0);
    t->step = 2;
    return fut_ready(self, 5);
}

static void nester_drop(fut *self)
{
    struct nester *t = (struct nester *)self;
    if (t->step == 1)
        fut_drop(&t->s.base);
}

static const struct fut_vtable nester_vt = {
    .size = sizeof(struct fut_vtable), .name = "nester", .poll = nester_poll, .drop = nester_drop};

static void nested_sleep_case(int switch_waker)
{
    /* On the auto clock: the nested loop's 0.2 s and the ticks in between
     * are exact and take no real time. */
    fut_rt *rt = th_rt;
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_AUTO), 0);
    int ticks = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.005, 3, &ticks);
    fut_join jt, jn;
    ck_assert_int_eq(FUT_SPAWN(rt, &tk, &jt), 0);

    struct nester_result res;
    memset(&res, 0, sizeof res);
    res.out = -1;
    struct nester n;
    memset(&n, 0, sizeof n);
    fut_init(&n.base, &nester_vt);
    n.d = 0.2;
    n.switch_waker = switch_waker;
    n.ticks = &ticks;
    n.res = &res;
    double t0 = fut_rt_now(rt);
    ck_assert_int_eq(FUT_SPAWN(rt, &n, &jn), 0);

    ck_assert_int_eq(th_block(rt, &jn.base), 5);
    ck_assert_int_eq(res.rc, 0);
    ck_assert_int_eq(res.out, 0);
    ck_assert_int_eq(res.polls, switch_waker ? 2 : 1);
    ck_assert_msg(res.end == t0 + 0.2, "nested 0.2 s sleep returned after %.9f s", res.end - t0);
    /* The other task kept running while the nested loop waited: all three
     * of its ticks (5, 10, 15 ms) came first. */
    ck_assert_int_eq(res.ticks_during, 3);
    ck_assert_int_eq(th_block(rt, &jt.base), 3);
    ck_assert_int_eq(ticks, 3);
    ck_assert_int_eq(fut_drop(&jn.base), 0);
    ck_assert_int_eq(fut_drop(&jt.base), 0);
    struct fut_rt_stats st = th_stats(rt);
    ck_assert_int_ge(st.nested_loops, 1);
    ck_assert_int_ge(st.nested_depth_max, 2);
    ck_assert_int_eq(th_loop_busy(rt), 0);
}

START_TEST(sleep_in_nested_loop)
{
    nested_sleep_case(0);
}
END_TEST

/* The sleep was armed by its task's poll, then driven by a nested loop in
 * the task's next poll: it must now wake the nested loop, not the (frozen)
 * task, or the nested loop would never return. */
START_TEST(sleep_armed_by_task_then_nested)
{
    nested_sleep_case(1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("time");
    TCase *tc = th_rt_tcase(s, "sleep", 30);
    tcase_add_test(tc, sleep_takes_its_time);
    tcase_add_test(tc, sleep_counts_from_first_poll_after_idle);
    tcase_add_test(tc, sleep_counts_from_first_poll_in_a_long_poll);
    tcase_add_test(tc, sleep_until_future);
    tcase_add_test(tc, sleep_nonpositive_ready_at_once);
    tcase_add_test(tc, sleep_nan_is_einval);
    tcase_add_test(tc, sleep_infinite_pending_then_dropped);

    tc = th_rt_tcase(s, "cancel", 30);
    tcase_add_test(tc, sleep_dropped_before_first_poll);
    tcase_add_test(tc, sleep_cancelled_while_pending);
    tcase_add_test(tc, sleep_cancelled_by_rt_free);
    tcase_add_test(tc, sleep_dropped_while_pending);
    tcase_add_test(tc, sleep_dropped_after_ready);

    tc = th_rt_tcase(s, "order", 30);
    tcase_add_test(tc, sleeps_complete_in_deadline_order);
    tcase_add_test(tc, sleep_in_nested_loop);
    tcase_add_test(tc, sleep_armed_by_task_then_nested);
    return th_run(s);
}
