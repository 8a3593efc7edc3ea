/* Regressions found in review: each test replays a scenario that failed
 * before its fix (use-after-free, a spinning loop, a freed loop under its
 * own ev_run, ...). */
#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <string.h>

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

int main(void)
{
    Suite *s = suite_create("review");
    TCase *tc = th_tcase(s, "review", 30);
    tcase_add_test(tc, remote_frame_wake_keeps_block_alive);
    tcase_add_test(tc, fast_drop_wake_leaves_no_idle);
    tcase_add_test(tc, rt_free_in_user_callback_is_busy);
    return th_run(s);
}
