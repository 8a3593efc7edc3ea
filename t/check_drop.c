/* SPDX-License-Identifier: MIT */
/* Drop glue (DESIGN §3): fut_drop, fut_drop_async, a task's async drop,
 * exactly-once teardown whichever path runs it. */
#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

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

/* --- fut_drop's first poll_drop: the probe waker ------------------------------
 * fut_drop polls a poll_drop-only future's teardown once on the runtime's
 * probe waker, with no nested-loop frame claimed; only a PENDING one gets a
 * frame, which the probe's wakes must reach. */

/* A teardown that keeps its first poll's waker and returns PENDING without
 * waking it; READY at the next poll. `hand` is where the clone goes. */
struct keeper {
    fut base;
    fut_waker *_Atomic *hand;
    int poll_drops;
};

static fut_status keeper_poll_drop(fut *self, fut_cx *cx)
{
    struct keeper *k = (struct keeper *)self;
    if (k->poll_drops++ == 0) {
        atomic_store(k->hand, fut_waker_clone(fut_cx_waker(cx)));
        return FUT_PENDING;
    }
    return FUT_READY;
}

static const struct fut_vtable keeper_vt = {sizeof(struct fut_vtable), "keeper", NULL,
                                            keeper_poll_drop, NULL};

static void keeper_init(struct keeper *k, fut_waker *_Atomic *hand)
{
    memset(k, 0, sizeof *k);
    fut_init(&k->base, &keeper_vt);
    k->hand = hand;
}

/* A task that wakes (and gives back) the waker in *hand once one is there. */
static fut_status hand_waker_fn(struct th_fn *f, fut_cx *cx)
{
    fut_waker *_Atomic *hand = f->ud;
    fut_waker *w = atomic_exchange(hand, NULL);
    if (!w) {
        fut_waker_wake(fut_cx_waker(cx)); /* yield until the teardown kept it */
        return FUT_PENDING;
    }
    fut_waker_wake(w);
    fut_waker_drop(w);
    return fut_ready(&f->base, 0);
}

/* Only the kept clone of the first poll's waker can finish this teardown
 * (nothing else wakes it): woken from a task on the same thread. */
START_TEST(probe_clone_woken_from_this_thread)
{
    fut_waker *_Atomic hand = NULL;
    struct th_fn t;
    th_fn_init(&t, hand_waker_fn, (void *)&hand);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &t, &j), 0);
    struct keeper k;
    keeper_init(&k, &hand);
    ck_assert_int_eq(fut_drop(&k.base), 0);
    ck_assert_int_eq(k.poll_drops, 2);
    ck_assert_ptr_null(atomic_load(&hand));
    ck_assert_int_eq(th_block(th_rt, &j.base), 0);
    fut_drop(&j.base);
}
END_TEST

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

struct remote_wake {
    fut_waker *_Atomic w;
    int delay_ms;
};

static void *remote_wake_thread(void *arg)
{
    struct remote_wake *r = arg;
    fut_waker *w;
    while (!(w = atomic_load(&r->w)))
        sleep_ms(1);
    sleep_ms(r->delay_ms); /* the loop thread is blocked in the loop by then */
    fut_waker_wake(w);
    fut_waker_drop(w);
    return NULL;
}

/* The same, woken from another thread: the probe goes through the
 * cross-thread wake stack. */
START_TEST(probe_clone_woken_from_another_thread)
{
    struct remote_wake r = {NULL, 20};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, remote_wake_thread, &r), 0);
    struct keeper k;
    keeper_init(&k, &r.w); /* the first poll hands its clone to the thread */
    ck_assert_int_eq(fut_drop(&k.base), 0);
    ck_assert_int_eq(k.poll_drops, 2);
    pthread_join(th, NULL);
    struct fut_rt_stats st;
    fut_rt_stats(th_rt, &st, sizeof st);
    ck_assert_uint_eq(st.nested_depth, 0);
}
END_TEST

/* A teardown woken through the probe leaves nothing behind for the next
 * one at the same depth: no spurious poll there. */
START_TEST(probe_wake_leaves_no_spurious_poll)
{
    for (int i = 0; i < 3; i++) {
        int steps = 0, dropped = 0;
        struct th_slow k;
        th_slow_init(&k, -1, 0, 1, 0.001, NULL, &steps, &dropped);
        ck_assert_int_eq(fut_drop(&k.base), 0);
        ck_assert_int_eq(steps, 2); /* PENDING on its sleep, READY once woken */
        ck_assert_int_eq(dropped, 1);
    }
}
END_TEST

/* A poll_drop READY at once that drops another future whose teardown
 * pends (a nested loop runs inside the first poll_drop); and one that
 * wakes its own waker first and is PENDING after that inner drop: the
 * inner loop hands the probe's wake on, and the outer frame must still
 * see it (nothing else wakes the outer teardown). */
struct nester {
    fut base;
    int pend; /* 1: wake the cx waker, drop the inner one, then PENDING once */
    int poll_drops, inner_err, inner_drops;
};

static fut_status nester_poll_drop(fut *self, fut_cx *cx)
{
    struct nester *n = (struct nester *)self;
    if (n->poll_drops++ > 0)
        return FUT_READY;
    if (n->pend)
        fut_waker_wake(fut_cx_waker(cx));
    struct counted c;
    counted_init(&c, &vt_async);
    c.pending_drops = 2;
    n->inner_err = fut_drop(&c.base);
    n->inner_drops = c.poll_drops;
    return n->pend ? FUT_PENDING : FUT_READY;
}

static const struct fut_vtable nester_vt = {sizeof(struct fut_vtable), "nester", NULL,
                                            nester_poll_drop, NULL};

START_TEST(nested_drop_pending_inside_first_poll_drop)
{
    for (int pend = 0; pend <= 1; pend++) {
        struct nester n = {.pend = pend};
        fut_init(&n.base, &nester_vt);
        ck_assert_int_eq(fut_drop(&n.base), 0);
        ck_assert_int_eq(n.inner_err, 0);
        ck_assert_int_eq(n.inner_drops, 3);
        ck_assert_int_eq(n.poll_drops, pend ? 2 : 1);
    }
    struct fut_rt_stats st;
    fut_rt_stats(th_rt, &st, sizeof st);
    ck_assert_uint_eq(st.nested_depth, 0);
    ck_assert_uint_ge(st.nested_depth_max, 1);
}
END_TEST

/* A nested loop started inside a task's fut_drop (its first poll_drop) is
 * shielded from that task's cancellation, as the teardown itself is. */
static fut_join shield_join;
static int seen_task, seen_pd, seen_loop;

static fut_status report_cancelled(struct th_fn *f, fut_cx *cx)
{
    seen_loop = fut_cx_cancelled(cx);
    return fut_ready(&f->base, 0);
}

static fut_status shield_pd(fut *self, fut_cx *cx)
{
    (void)self;
    seen_pd = fut_cx_cancelled(cx);
    struct th_fn g;
    th_fn_init(&g, report_cancelled, NULL);
    ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), &g.base, NULL), 0);
    return FUT_READY;
}

static const struct fut_vtable shield_vt = {sizeof(struct fut_vtable), "shield", NULL, shield_pd,
                                            NULL};

static fut_status cancel_self_then_drop(struct th_fn *f, fut_cx *cx)
{
    ck_assert_int_eq(fut_join_cancel(&shield_join), 0);
    seen_task = fut_cx_cancelled(cx);
    fut x;
    fut_init(&x, &shield_vt);
    ck_assert_int_eq(fut_drop(&x), 0);
    return fut_ready(&f->base, 0);
}

START_TEST(loop_inside_first_poll_drop_is_shielded)
{
    seen_task = seen_pd = seen_loop = -1;
    struct th_fn t;
    th_fn_init(&t, cancel_self_then_drop, NULL);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &t, &shield_join), 0);
    th_block(th_rt, &shield_join.base);
    fut_drop(&shield_join.base);
    ck_assert_int_eq(seen_task, 1); /* the test is meaningful: it was cancelled */
    ck_assert_int_eq(seen_pd, 0);
    ck_assert_int_eq(seen_loop, 0);
}
END_TEST

/* The runtime cannot be freed, nor its frames replaced, from inside the
 * first poll_drop of a fut_drop; both work again once it returned. */
static int free_err, depth_err;

static fut_status free_inside_pd(fut *self, fut_cx *cx)
{
    (void)self;
    free_err = fut_rt_free(fut_cx_rt(cx));
    depth_err = fut_rt_set_max_depth(fut_cx_rt(cx), 8);
    return FUT_READY;
}

static const struct fut_vtable free_inside_vt = {sizeof(struct fut_vtable), "free_inside", NULL,
                                                 free_inside_pd, NULL};

START_TEST(rt_free_inside_first_poll_drop_refused)
{
    fut x;
    fut_init(&x, &free_inside_vt);
    free_err = depth_err = 0;
    ck_assert_int_eq(fut_drop(&x), 0);
    ck_assert_int_eq(free_err, -EBUSY);
    ck_assert_int_eq(depth_err, -EBUSY);
    ck_assert_int_eq(fut_rt_set_max_depth(th_rt, 8), 0);
    ck_assert_int_eq(fut_rt_free(th_rt), 0);
    ck_assert_int_eq(fut_rt_new(&th_rt, NULL), 0); /* for teardown */
}
END_TEST

/* A teardown READY at once that keeps a clone of its waker: waking the
 * clone later is harmless (at most a spurious poll of a later teardown),
 * also once the runtime is gone. */
static fut_waker *kept;

static fut_status keep_and_ready(fut *self, fut_cx *cx)
{
    (void)self;
    kept = fut_waker_clone(fut_cx_waker(cx));
    return FUT_READY;
}

static const struct fut_vtable keep_vt = {sizeof(struct fut_vtable), "keep", NULL, keep_and_ready,
                                          NULL};

START_TEST(probe_clone_outlives_its_teardown)
{
    fut x;
    fut_init(&x, &keep_vt);
    ck_assert_int_eq(fut_drop(&x), 0);
    ck_assert_ptr_nonnull(kept);
    fut_waker_wake(kept); /* no teardown waits on it */
    /* A later pending teardown still completes. */
    struct counted c;
    counted_init(&c, &vt_async);
    c.pending_drops = 1;
    ck_assert_int_eq(fut_drop(&c.base), 0);
    ck_assert_int_ge(c.poll_drops, 2);
    /* Woken again with the runtime gone: ignored. */
    ck_assert_int_eq(fut_rt_free(th_rt), 0);
    fut_waker_wake(kept);
    fut_waker_drop(kept);
    kept = NULL;
    ck_assert_int_eq(fut_rt_new(&th_rt, NULL), 0); /* for teardown */
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
    tcase_add_test(tc, probe_clone_woken_from_this_thread);
    tcase_add_test(tc, probe_clone_woken_from_another_thread);
    tcase_add_test(tc, probe_wake_leaves_no_spurious_poll);
    tcase_add_test(tc, nested_drop_pending_inside_first_poll_drop);
    tcase_add_test(tc, loop_inside_first_poll_drop_is_shielded);
    tcase_add_test(tc, rt_free_inside_first_poll_drop_refused);
    tcase_add_test(tc, probe_clone_outlives_its_teardown);
    suite_add_tcase(s, tc);
    return th_run(s);
}
