/* SPDX-License-Identifier: MIT */
/* Drop glue (DESIGN §3): fut_drop, fut_drop_async, a task's async drop,
 * exactly-once teardown whichever path runs it. */
#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <string.h>

/* A future with configurable slots that counts calls. */
struct counted {
    fut base;
    int polls, poll_drops, drops;
    int pending_drops; /* poll_drop PENDING this many times (waking itself) */
};

static fut_status counted_poll(fut *self, fut_cx *cx)
{
    struct counted *c = (struct counted *)self;
    (void)cx;
    c->polls++;
    return fut_ready(self, 5);
}

static fut_status counted_poll_drop(fut *self, fut_cx *cx)
{
    struct counted *c = (struct counted *)self;
    c->poll_drops++;
    if (c->pending_drops > 0) {
        c->pending_drops--;
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    return FUT_READY;
}

static void counted_drop(fut *self)
{
    ((struct counted *)self)->drops++;
}

static const struct fut_vtable vt_sync = {sizeof(struct fut_vtable), "sync", counted_poll, NULL,
                                          counted_drop};
static const struct fut_vtable vt_async = {sizeof(struct fut_vtable), "async", counted_poll,
                                           counted_poll_drop, NULL};
static const struct fut_vtable vt_both = {sizeof(struct fut_vtable), "both", counted_poll,
                                          counted_poll_drop, counted_drop};
static const struct fut_vtable vt_none = {sizeof(struct fut_vtable), "none", counted_poll, NULL,
                                          NULL};
/* An old author's vtable: only as far as poll; the slots after it must read
 * as NULL even if the memory holds something. */
static const struct {
    struct fut_vtable vt;
} vt_short = {{offsetof(struct fut_vtable, poll_drop), "short", counted_poll, counted_poll_drop,
               counted_drop}};

static void counted_init(struct counted *c, const struct fut_vtable *vt)
{
    memset(c, 0, sizeof *c);
    fut_init(&c->base, vt);
}

START_TEST(sync_drop_uses_drop_slot)
{
    struct counted c;
    counted_init(&c, &vt_sync);
    ck_assert_int_eq(fut_drop(&c.base), 0);
    ck_assert_int_eq(c.drops, 1);
    counted_init(&c, &vt_both); /* both slots: sync context prefers drop */
    ck_assert_int_eq(fut_drop(&c.base), 0);
    ck_assert_int_eq(c.drops, 1);
    ck_assert_int_eq(c.poll_drops, 0);
    counted_init(&c, &vt_none);
    ck_assert_int_eq(fut_drop(&c.base), 0);
    ck_assert_int_eq(fut_drop(NULL), 0);
}
END_TEST

START_TEST(short_vtable_slots_read_as_null)
{
    struct counted c;
    counted_init(&c, &vt_short.vt);
    ck_assert_int_eq(fut_drop(&c.base), 0);
    ck_assert_int_eq(c.drops, 0);
    ck_assert_int_eq(c.poll_drops, 0);
}
END_TEST

START_TEST(sync_drop_poll_drop_ready_at_once)
{
    struct counted c;
    counted_init(&c, &vt_async);
    struct fut_rt_stats before, after;
    fut_rt_stats(th_rt, &before, sizeof before);
    ck_assert_int_eq(fut_drop(&c.base), 0);
    fut_rt_stats(th_rt, &after, sizeof after);
    ck_assert_int_eq(c.poll_drops, 1);
    /* READY at once: no loop iteration, no drain. */
    ck_assert_uint_eq(after.drains, before.drains);
}
END_TEST

START_TEST(sync_drop_poll_drop_pending)
{
    struct counted c;
    counted_init(&c, &vt_async);
    c.pending_drops = 3;
    ck_assert_int_eq(fut_drop(&c.base), 0);
    ck_assert_int_eq(c.poll_drops, 4);
    ck_assert_int_eq(c.polls, 0);
}
END_TEST

START_TEST(double_drop_refused)
{
    struct counted c;
    counted_init(&c, &vt_sync);
    ck_assert_int_eq(fut_drop(&c.base), 0);
    ck_assert_int_eq(fut_drop(&c.base), -EALREADY);
    ck_assert_int_eq(c.drops, 1);
    ck_assert_int_eq(th_diag_count, 1);
    ck_assert_ptr_nonnull(strstr(th_diag_last, "double drop of sync"));
    th_diag_count = 0;
}
END_TEST

/* fut_drop needs a runtime only when teardown may have to wait. */
static void *no_rt_thread(void *arg)
{
    struct counted *c = arg;
    ck_assert_ptr_null(fut_rt_current());
    c->polls = fut_drop(&c->base); /* reuse a field for the result */
    return NULL;
}

START_TEST(sync_drop_without_runtime)
{
    struct counted c;
    counted_init(&c, &vt_async);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, no_rt_thread, &c), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(c.polls, -ENXIO);
    ck_assert_int_eq(c.poll_drops, 0); /* untouched */
    ck_assert_int_eq(fut_drop(&c.base), 0);
    ck_assert_int_eq(c.poll_drops, 1);
}
END_TEST

/* fut_drop_async: the dropper future drives the teardown; dropping the
 * dropper half way still completes it exactly once. */
START_TEST(drop_async_completes_teardown)
{
    int dropped = 0, steps = 0;
    struct th_slow s;
    th_slow_init(&s, -1, 0, 3, 0.002, NULL, &steps, &dropped);
    fut_dropper d;
    ssize_t out = -1;
    ck_assert_int_eq(fut_rt_block_on(th_rt, fut_drop_async(&d, &s.base), &out), 0);
    ck_assert_int_eq(out, 0);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(steps, 4);
    ck_assert_int_eq(fut_drop(&d.base), 0);
    ck_assert_int_eq(dropped, 1);
}
END_TEST

START_TEST(drop_async_dropped_half_way)
{
    int dropped = 0, steps = 0;
    struct th_slow s;
    th_slow_init(&s, -1, 0, 3, 0.002, NULL, &steps, &dropped);
    struct {
        fut_dropper d;
    } holder;
    fut_drop_async(&holder.d, &s.base);
    fut_join j;
    /* The task polls the dropper once or more, then is cancelled: its
     * async drop of the dropper finishes the target's teardown. */
    ck_assert_int_eq(FUT_SPAWN(th_rt, &holder.d, &j), 0);
    fut_yield y;
    ck_assert_int_eq(fut_rt_block_on(th_rt, fut_yield_init(&y), NULL), 0);
    fut_drop(&y.base);
    ck_assert_int_eq(steps, 1); /* teardown started, pending */
    ck_assert_int_eq(fut_join_cancel(&j), 0);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, &out), 0);
    ck_assert_int_eq(out, -ECANCELED);
    ck_assert_int_eq(dropped, 1);
    fut_drop(&j.base);
}
END_TEST

/* A cancelled task drops its future asynchronously, and the join handle
 * completes only after that teardown. */
struct observe {
    fut base;
    fut_join *j;
    int *dropped;
    int dropped_when_joined;
};

static fut_status observe_poll(fut *self, fut_cx *cx)
{
    struct observe *o = (struct observe *)self;
    fut_status st = fut_poll(&o->j->base, cx);
    if (st == FUT_READY) {
        o->dropped_when_joined = *o->dropped;
        return fut_ready(self, o->j->base.out);
    }
    return FUT_PENDING;
}

static const struct fut_vtable observe_vt = {sizeof(struct fut_vtable), "observe", observe_poll,
                                             NULL, NULL};

START_TEST(cancelled_task_async_drops_its_future)
{
    int dropped = 0, steps = 0, polls = 0;
    struct th_slow s;
    th_slow_init(&s, -1, 0, 3, 0.005, &polls, &steps, &dropped);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &s, &j), 0);
    fut_yield y;
    ck_assert_int_eq(fut_rt_block_on(th_rt, fut_yield_init(&y), NULL), 0);
    ck_assert_int_eq(polls, 1);
    ck_assert_int_eq(fut_join_cancel(&j), 0);
    struct observe o = {.j = &j, .dropped = &dropped};
    fut_init(&o.base, &observe_vt);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &o.base, &out), 0);
    ck_assert_int_eq(out, -ECANCELED);
    ck_assert_int_eq(o.dropped_when_joined, 1);
    ck_assert_int_eq(steps, 4);
    ck_assert_int_eq(polls, 1); /* never polled after the cancel */
    struct fut_rt_stats st;
    fut_rt_stats(th_rt, &st, sizeof st);
    ck_assert_uint_eq(st.async_drops, 1);
    ck_assert_uint_eq(st.tasks_tearing_down, 0);
    fut_drop(&j.base);
}
END_TEST

/* A task whose future completed still tears it down (poll_drop after READY)
 * before the join completes. */
START_TEST(completed_task_drops_its_future)
{
    int dropped = 0, steps = 0;
    struct th_slow s;
    th_slow_init(&s, 0.001, 42, 2, 0.002, NULL, &steps, &dropped);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &s, &j), 0);
    struct observe o = {.j = &j, .dropped = &dropped};
    fut_init(&o.base, &observe_vt);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &o.base, &out), 0);
    ck_assert_int_eq(out, 42);
    ck_assert_int_eq(o.dropped_when_joined, 1);
    fut_drop(&j.base);
}
END_TEST

/* Cancel before the first poll: never polled, still dropped once. */
START_TEST(cancel_before_first_poll)
{
    int dropped = 0, polls = 0;
    struct th_slow s;
    th_slow_init(&s, -1, 0, 1, 0.001, &polls, NULL, &dropped);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &s, &j), 0);
    ck_assert_int_eq(fut_join_cancel(&j), 0);
    ck_assert_int_eq(fut_join_cancel(&j), 0); /* idempotent */
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, &out), 0);
    ck_assert_int_eq(out, -ECANCELED);
    ck_assert_int_eq(polls, 0);
    ck_assert_int_eq(dropped, 1);
    fut_drop(&j.base);
}
END_TEST

/* Exactly once whichever path runs it: tasks finishing, tasks cancelled,
 * tasks still alive when the runtime is freed. */
START_TEST(exactly_once_on_every_path)
{
    int dropped[3] = {0}, polls[3] = {0};
    struct th_slow s[3];
    th_slow_init(&s[0], 0.001, 1, 2, 0.001, &polls[0], NULL, &dropped[0]); /* completes */
    th_slow_init(&s[1], -1, 0, 2, 0.001, &polls[1], NULL, &dropped[1]);    /* cancelled */
    th_slow_init(&s[2], -1, 0, 2, 0.001, &polls[2], NULL, &dropped[2]);    /* at rt_free */
    fut_join j[3];
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(FUT_SPAWN(th_rt, &s[i], &j[i]), 0);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j[0].base, NULL), 0);
    fut_join_cancel(&j[1]);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j[1].base, NULL), 0);
    ck_assert_int_eq(dropped[0], 1);
    ck_assert_int_eq(dropped[1], 1);
    ck_assert_int_eq(dropped[2], 0);
    ck_assert_int_eq(fut_rt_free(th_rt), 0);
    ck_assert_int_eq(dropped[2], 1);
    ck_assert(fut_join_finished(&j[2]));
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fut_drop(&j[i].base), 0);
    ck_assert_int_eq(fut_rt_new(&th_rt, NULL), 0); /* for teardown */
}
END_TEST

/* A sync drop whose READY-at-once teardown woke its own waker must not
 * leave the runtime's idle watcher on: a borrowed loop's ev_run(loop, 0)
 * returns once no task is left. */
static fut_status wake_then_ready(fut *self, fut_cx *cx)
{
    fut_waker_wake(fut_cx_waker(cx));
    return FUT_READY;
}

static const struct fut_vtable wtr_vt = {sizeof(struct fut_vtable), "wake_then_ready", NULL,
                                         wake_then_ready, NULL};

static fut_status dropper_body(struct th_fn *f, fut_cx *cx)
{
    fut x;
    fut_init(&x, &wtr_vt);
    ck_assert_int_eq(fut_drop(&x), 0);
    return fut_ready(&f->base, 0);
}

static long iterations;

static void count_cb(struct ev_loop *l, ev_check *w, int r)
{
    if (++iterations > 100000)
        ev_break(l, EVBREAK_ALL); /* would spin forever otherwise */
}

/* Its own runtime on a borrowed loop (the fixture's is on an owned one). */
START_TEST(fast_drop_wake_leaves_no_idle)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, loop), 0);
    ev_check chk;
    ev_check_init(&chk, count_cb);
    ev_check_start(loop, &chk);
    ev_unref(loop);
    struct th_fn f;
    th_fn_init(&f, dropper_body, NULL);
    ck_assert_int_eq(FUT_SPAWN(rt, &f, NULL), 0);
    iterations = 0;
    ev_run(loop, 0);
    ck_assert_int_lt(iterations, 100);
    ev_ref(loop);
    ev_check_stop(loop, &chk);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ev_loop_destroy(loop);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("drop");
    TCase *tc = tcase_create("drop");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, sync_drop_uses_drop_slot);
    tcase_add_test(tc, short_vtable_slots_read_as_null);
    tcase_add_test(tc, sync_drop_poll_drop_ready_at_once);
    tcase_add_test(tc, sync_drop_poll_drop_pending);
    tcase_add_test(tc, fast_drop_wake_leaves_no_idle);
    tcase_add_test(tc, double_drop_refused);
    tcase_add_test(tc, sync_drop_without_runtime);
    tcase_add_test(tc, drop_async_completes_teardown);
    tcase_add_test(tc, drop_async_dropped_half_way);
    tcase_add_test(tc, cancelled_task_async_drops_its_future);
    tcase_add_test(tc, completed_task_drops_its_future);
    tcase_add_test(tc, cancel_before_first_poll);
    tcase_add_test(tc, exactly_once_on_every_path);
    suite_add_tcase(s, tc);
    return th_run(s);
}
