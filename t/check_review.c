/* SPDX-License-Identifier: MIT */
/* Regressions found in review: each test replays a scenario that failed
 * before its fix (use-after-free, a spinning loop, a freed loop under its
 * own ev_run, ...). */
#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A frame waker woken from another thread after its loop returned, the
 * waker's last clone dropped, then the frame block replaced: the remote
 * stack must hold the block alive (ASan/valgrind catch the use after free). */
static fut_waker *kept;

static fut_status grab_poll(fut *self, fut_cx *cx)
{
    kept = fut_waker_clone(fut_cx_waker(cx));
    return fut_ready(self, 0);
}

static const struct fut_vtable grab_vt = {sizeof(struct fut_vtable), "grab", grab_poll, NULL, NULL};

static void *remote_wake_and_drop(void *arg)
{
    (void)arg;
    fut_waker_wake(kept);
    fut_waker_drop(kept);
    return NULL;
}

START_TEST(remote_frame_wake_keeps_block_alive)
{
    fut_rt *rt = th_new_rt();
    fut g;
    fut_init(&g, &grab_vt);
    ck_assert_int_eq(th_block(rt, &g), 0);
    fut_drop(&g);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, remote_wake_and_drop, NULL), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(fut_rt_set_max_depth(rt, 32), 0); /* replaces the block */
    fut_yield y;
    th_block(rt, fut_yield_init(&y)); /* takes the remote stack */
    fut_drop(&y.base);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* A sync drop whose READY-at-once teardown woke its own waker must not
 * leave the runtime's idle watcher on: a borrowed loop's ev_run(loop, 0)
 * returns once no task is left. */
static fut_status wake_then_ready(fut *self, fut_cx *cx)
{
    (void)self;
    fut_waker_wake(fut_cx_waker(cx));
    return FUT_READY;
}

static const struct fut_vtable wtr_vt = {sizeof(struct fut_vtable), "wake_then_ready", NULL,
                                         wake_then_ready, NULL};

static fut_status dropper_body(struct th_fn *f, fut_cx *cx)
{
    (void)cx;
    fut x;
    fut_init(&x, &wtr_vt);
    ck_assert_int_eq(fut_drop(&x), 0);
    return fut_ready(&f->base, 0);
}

static long iterations;

static void count_cb(struct ev_loop *l, ev_check *w, int r)
{
    (void)l;
    (void)w;
    (void)r;
    if (++iterations > 100000)
        ev_break(l, EVBREAK_ALL); /* would spin forever otherwise */
}

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

/* fut_rt_free from a callback of the caller's own watcher on the
 * runtime's loop is refused: the loop must not be destroyed under it. */
static fut_rt *cb_rt;
static int cb_err;

static void free_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    cb_err = fut_rt_free(cb_rt);
}

START_TEST(rt_free_in_user_callback_is_busy)
{
    ck_assert_int_eq(fut_rt_new(&cb_rt, NULL), 0);
    ev_timer t;
    ev_timer_init(&t, free_cb, 0.001, 0.);
    ev_timer_start(fut_rt_loop(cb_rt), &t);
    cb_err = 1;
    ev_run(fut_rt_loop(cb_rt), 0);
    ck_assert_int_eq(cb_err, -EBUSY);
    ck_assert_int_eq(fut_rt_free(cb_rt), 0);
}
END_TEST

/* A registered fd whose only waiter finished must not keep a borrowed
 * loop's ev_run(loop, 0) alive. */
struct reader {
    fut base;
    fut_fd *h;
    fut_fd_op op;
    int started;
    char buf[64];
};

static fut_status reader_poll(fut *self, fut_cx *cx)
{
    struct reader *r = (struct reader *)self;
    if (!r->started) {
        fut_fd_read(&r->op, r->h, r->buf, sizeof r->buf);
        r->started = 1;
    }
    if (fut_poll(&r->op.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    fut_drop(&r->op.base);
    return fut_ready(self, fut_out(&r->op.base));
}

static const struct fut_vtable reader_vt = {sizeof(struct fut_vtable), "reader", reader_poll, NULL,
                                            NULL};

static int wfd;

static void write_cb(struct ev_loop *l, ev_timer *t, int rv)
{
    (void)t;
    (void)rv;
    ck_assert_int_eq(write(wfd, "x", 1), 1);
    (void)l;
}

static void stop_cb(struct ev_loop *l, ev_timer *t, int rv)
{
    (void)t;
    (void)rv;
    ev_break(l, EVBREAK_ALL);
}

START_TEST(finished_fd_waiter_releases_loop)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, loop), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    wfd = p[1];
    fut_fd h;
    ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), 0);
    fut_fd_clear(&h, FUT_READABLE);
    struct reader r = {.h = &h};
    fut_init(&r.base, &reader_vt);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &r, &j), 0);
    ev_timer t, guard;
    ev_timer_init(&t, write_cb, 0.01, 0.);
    ev_timer_start(loop, &t);
    ev_timer_init(&guard, stop_cb, 5., 0.); /* a hang would end here */
    ev_timer_start(loop, &guard);
    ev_unref(loop);
    double t0 = th_mono();
    ev_run(loop, 0);
    ck_assert(th_mono() - t0 < 2);
    ck_assert(fut_join_finished(&j));
    ev_ref(loop);
    ev_timer_stop(loop, &guard);
    fut_drop(&j.base);
    fut_fd_close(&h);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ev_loop_destroy(loop);
    close(p[0]);
    close(p[1]);
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
    ck_assert_int_eq(
        fut_rt_nested_loop(fut_cx_rt(cx), fut_all_init(&all, kids, 2, FUT_BRANCH_TASKS, joins), &out),
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
    fut_rt *rt = th_new_rt();
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
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* An orphan's teardown is under the drop budget, like a task's: one that
 * never finishes on its own is escalated, not left until fut_rt_free. */
struct stubborn {
    fut base;
    fut_sleep s;
    int armed;
    int *escalated;
};

static fut_status stubborn_poll_drop(fut *self, fut_cx *cx)
{
    struct stubborn *st = (struct stubborn *)self;
    if (fut_cx_escalated(cx)) {
        (*st->escalated)++;
        if (st->armed)
            fut_drop(&st->s.base);
        st->armed = 0;
        return FUT_READY;
    }
    if (!st->armed) {
        fut_sleep_init(&st->s, 100);
        st->armed = 1;
    }
    return fut_poll(&st->s.base, cx);
}

static const struct fut_vtable stubborn_vt = {sizeof(struct fut_vtable), "stubborn", NULL,
                                              stubborn_poll_drop, NULL};

START_TEST(orphan_teardown_is_budgeted)
{
    fut_rt *rt = th_new_rt();
    ck_assert_int_eq(fut_rt_set_drop_budget(rt, 0.02), 0);
    int escalated = 0;
    struct stubborn st = {.escalated = &escalated};
    fut_init(&st.base, &stubborn_vt);
    ck_assert_int_eq(fut_rt_adopt(rt, &st.base, NULL, NULL), 0);
    fut_sleep w;
    th_block(rt, fut_sleep_init(&w, 0.2));
    fut_drop(&w.base);
    ck_assert_int_eq(escalated, 1);
    struct fut_rt_stats sts = th_stats(rt);
    ck_assert_uint_eq(sts.orphans_alive, 0);
    ck_assert_uint_ge(sts.escalations, 1);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* Two shutdowns pending at once (the second started from a callback
 * inside the first one's loop): both are woken when the last task ends. */
static fut_rt *sd_rt;
static int inner_done;

static void inner_shutdown_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    fut_shutdown sd2;
    ck_assert_int_eq(fut_rt_block_on(sd_rt, fut_rt_shutdown(&sd2, sd_rt, 1.0), NULL), 0);
    fut_drop(&sd2.base);
    inner_done = 1;
}

START_TEST(two_pending_shutdowns_both_complete)
{
    sd_rt = th_new_rt();
    int dropped = 0;
    struct th_slow slow;
    th_slow_init(&slow, -1, 0, 2, 0.02, NULL, NULL, &dropped);
    ck_assert_int_eq(FUT_SPAWN(sd_rt, &slow, NULL), 0);
    fut_yield y;
    th_block(sd_rt, fut_yield_init(&y));
    fut_drop(&y.base);
    ev_timer t;
    ev_timer_init(&t, inner_shutdown_cb, 0.005, 0.);
    ev_timer_start(fut_rt_loop(sd_rt), &t);
    inner_done = 0;
    fut_shutdown sd1;
    double t0 = th_mono();
    ck_assert_int_eq(th_block(sd_rt, fut_rt_shutdown(&sd1, sd_rt, 1.0)), 0);
    ck_assert(th_mono() - t0 < 2);
    fut_drop(&sd1.base);
    ck_assert_int_eq(inner_done, 1);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(fut_rt_free(sd_rt), 0);
}
END_TEST

/* Jobs submitted together while a worker is idle but already signalled
 * get workers of their own, up to the limit: 8 jobs that wait for each
 * other (a rendezvous) all run at once. Before the fix one idle worker
 * took them one after the other and the rendezvous timed out. */
static pthread_mutex_t rv_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rv_cv = PTHREAD_COND_INITIALIZER;
static int rv_count;

static ssize_t rendezvous(fut_job *job, void *arg)
{
    (void)job;
    (void)arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    int err = 0;
    pthread_mutex_lock(&rv_mu);
    if (++rv_count == 8)
        pthread_cond_broadcast(&rv_cv);
    while (rv_count < 8 && err == 0)
        err = pthread_cond_timedwait(&rv_cv, &rv_mu, &until);
    pthread_mutex_unlock(&rv_mu);
    return err ? -ETIMEDOUT : 0;
}

static ssize_t nothing(fut_job *job, void *arg)
{
    (void)job;
    (void)arg;
    return 0;
}

START_TEST(pool_starts_workers_for_queued_jobs)
{
    fut_rt *rt = th_new_rt();
    ck_assert_int_eq(fut_rt_set_pool_size(rt, 8), 0);
    fut_job warm;
    ck_assert_int_eq(th_block(rt, fut_job_init(&warm, nothing, NULL, NULL)), 0); /* one idle worker */
    fut_drop(&warm.base);
    rv_count = 0;
    fut_job j[8];
    fut *kids[8];
    for (int i = 0; i < 8; i++)
        kids[i] = fut_job_init(&j[i], rendezvous, NULL, NULL);
    fut_all all;
    ck_assert_int_eq(th_block(rt, fut_all_init(&all, kids, 8, 0, NULL)), 0);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(fut_out(kids[i]), 0); /* nobody timed out */
    fut_drop(&all.base);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* Two tasks waiting to read one registered fd that never becomes
 * readable do not spin; both complete when the handle closes. */
struct fdwaiter {
    fut base;
    fut_fd_wait w;
};

static fut_status fdwaiter_poll(fut *self, fut_cx *cx)
{
    struct fdwaiter *x = (struct fdwaiter *)self;
    if (fut_poll(&x->w.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    return fut_ready(self, fut_out(&x->w.base));
}

static void fdwaiter_drop(fut *self)
{
    fut_drop(&((struct fdwaiter *)self)->w.base);
}

static const struct fut_vtable fdwaiter_vt = {sizeof(struct fut_vtable), "fdwaiter", fdwaiter_poll,
                                              NULL, fdwaiter_drop};

START_TEST(two_fd_waiters_do_not_spin)
{
    fut_rt *rt = th_new_rt();
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fut_fd h;
    ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), 0);
    fut_fd_clear(&h, FUT_READABLE);
    struct fdwaiter a, b;
    fut_init(&a.base, &fdwaiter_vt);
    fut_init(&b.base, &fdwaiter_vt);
    fut_fd_wait_init(&a.w, &h, FUT_READABLE);
    fut_fd_wait_init(&b.w, &h, FUT_READABLE);
    fut_join ja, jb;
    ck_assert_int_eq(FUT_SPAWN(rt, &a, &ja), 0);
    ck_assert_int_eq(FUT_SPAWN(rt, &b, &jb), 0);
    fut_sleep s;
    th_block(rt, fut_sleep_init(&s, 0.05));
    fut_drop(&s.base);
    ck_assert_uint_lt(th_stats(rt).polls, 20); /* was millions */
    fut_fd_close(&h);
    ck_assert_int_eq(th_block(rt, &ja.base), -EBADF);
    ck_assert_int_eq(th_block(rt, &jb.base), -EBADF);
    fut_drop(&ja.base);
    fut_drop(&jb.base);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("review");
    TCase *tc = th_tcase(s, "review", 30);
    tcase_add_test(tc, remote_frame_wake_keeps_block_alive);
    tcase_add_test(tc, fast_drop_wake_leaves_no_idle);
    tcase_add_test(tc, rt_free_in_user_callback_is_busy);
    tcase_add_test(tc, finished_fd_waiter_releases_loop);
    tcase_add_test(tc, branch_tasks_see_owner_cancel);
    tcase_add_test(tc, orphan_teardown_is_budgeted);
    tcase_add_test(tc, two_pending_shutdowns_both_complete);
    tcase_add_test(tc, pool_starts_workers_for_queued_jobs);
    tcase_add_test(tc, two_fd_waiters_do_not_spin);
    return th_run(s);
}
