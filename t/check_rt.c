/* SPDX-License-Identifier: MIT */
/* The runtime (DESIGN §4): owned and borrowed loops, fut_rt_free. */
#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

START_TEST(owned_loop_is_epoll)
{
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(NULL, NULL), -EINVAL);
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    ck_assert_ptr_nonnull(fut_rt_loop(rt));
    ck_assert_uint_eq(ev_backend(fut_rt_loop(rt)), EVBACKEND_EPOLL);
    ck_assert_ptr_eq(fut_rt_current(), rt);
    ck_assert(fut_rt_now(rt) > 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_ptr_null(fut_rt_current());
    ck_assert_int_eq(fut_rt_free(NULL), 0);
    ck_assert_ptr_null(fut_rt_loop(NULL));
}
END_TEST

/* A borrowed loop: the caller's own watchers and libfut's tasks share it;
 * the caller runs it with ev_run(loop, 0), which returns once no task is
 * alive and the caller's watchers are done; the loop outlives the runtime. */
static int user_timer_fired;

static void user_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    user_timer_fired++;
}

START_TEST(borrowed_loop_coexists)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ck_assert_ptr_nonnull(loop);
    ev_timer ut;
    ev_timer_init(&ut, user_timer_cb, 0.02, 0.);
    ev_timer_start(loop, &ut);
    user_timer_fired = 0;

    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, loop), 0);
    ck_assert_ptr_eq(fut_rt_loop(rt), loop);
    int ticks = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.005, 8, &ticks);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &tk, &j), 0);

    ev_run(loop, 0); /* returns when the ticker and the user timer are done */
    ck_assert_int_eq(ticks, 8);
    ck_assert_int_eq(user_timer_fired, 1);
    ck_assert(fut_join_finished(&j));
    fut_drop(&j.base);
    ck_assert_int_eq(fut_rt_free(rt), 0);

    /* The loop survives, with none of libfut's watchers left. */
    ev_timer_start(loop, &ut);
    ev_run(loop, 0);
    ck_assert_int_eq(user_timer_fired, 2);
    ck_assert_int_eq(ev_pending_count(loop), 0);
    ev_loop_destroy(loop);
}
END_TEST

/* With no task alive, libfut does not keep the caller's ev_run alive. */
START_TEST(borrowed_loop_not_kept_alive_idle)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, loop), 0);
    ev_run(loop, 0); /* must return at once */
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ev_loop_destroy(loop);
}
END_TEST

/* fut_rt_free cancels live tasks and drives their teardowns to the end. */
START_TEST(free_drives_teardowns)
{
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    int dropped = 0, polls = 0;
    struct th_slow s[4];
    for (int i = 0; i < 4; i++) {
        th_slow_init(&s[i], -1, 0, 3, 0.002, &polls, NULL, &dropped);
        ck_assert_int_eq(FUT_SPAWN(rt, &s[i], NULL), 0);
    }
    fut_yield y;
    ck_assert_int_eq(fut_rt_block_on(rt, fut_yield_init(&y), NULL), 0);
    fut_drop(&y.base);
    ck_assert_int_eq(polls, 4);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(dropped, 4);
    /* th_teardown checks nothing leaked */
}
END_TEST

/* Tasks never polled are still dropped by fut_rt_free. */
START_TEST(free_drops_unpolled_tasks)
{
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    int dropped = 0, polls = 0;
    struct th_slow s;
    th_slow_init(&s, -1, 0, 2, 0, &polls, NULL, &dropped);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &j), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(polls, 0);
    ck_assert_int_eq(dropped, 1);
    ck_assert(fut_join_finished(&j));
    fut_drop(&j.base); /* the handle outlives the runtime */
}
END_TEST

/* From inside the runtime, fut_rt_free refuses. */
static fut_status free_inside(struct th_fn *f, fut_cx *cx)
{
    return fut_ready(&f->base, fut_rt_free(fut_cx_rt(cx)));
}

START_TEST(free_inside_runtime_is_busy)
{
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    struct th_fn f;
    th_fn_init(&f, free_inside, NULL);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(rt, &f.base, &out), 0);
    ck_assert_int_eq(out, -EBUSY);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* Also from inside a poll_drop run by fut_drop from plain code (its fast
 * path, before any loop exists). */
struct free_in_pd {
    fut base;
    int err;
};

static fut_status free_in_pd_poll_drop(fut *self, fut_cx *cx)
{
    ((struct free_in_pd *)self)->err = fut_rt_free(fut_cx_rt(cx));
    return FUT_READY;
}

static const struct fut_vtable free_in_pd_vt = {sizeof(struct fut_vtable), "free_in_pd", NULL,
                                                free_in_pd_poll_drop, NULL};

START_TEST(free_inside_sync_drop_is_busy)
{
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    struct free_in_pd f = {.err = 1};
    fut_init(&f.base, &free_in_pd_vt);
    ck_assert_int_eq(fut_drop(&f.base), 0);
    ck_assert_int_eq(f.err, -EBUSY);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* A teardown that spawns while the runtime is being freed is refused. */
struct spawn_in_drop {
    fut base;
    int *err;
};

static fut_status sid_poll(fut *self, fut_cx *cx)
{
    (void)self;
    fut_waker_wake(fut_cx_waker(cx)); /* keep it pending but legal */
    return FUT_PENDING;
}

static void sid_drop(fut *self)
{
    struct spawn_in_drop *s = (struct spawn_in_drop *)self;
    fut_yield y;
    fut_yield_init(&y);
    *s->err = fut_rt_spawn(fut_rt_current(), &y.base, sizeof y, NULL);
}

static const struct fut_vtable sid_vt = {sizeof(struct fut_vtable), "spawn_in_drop", sid_poll, NULL,
                                         sid_drop};

START_TEST(spawn_during_free_refused)
{
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    int err = 1;
    struct spawn_in_drop s = {.err = &err};
    fut_init(&s.base, &sid_vt);
    ck_assert_int_eq(FUT_SPAWN(rt, &s, NULL), 0);
    fut_yield y;
    ck_assert_int_eq(fut_rt_block_on(rt, fut_yield_init(&y), NULL), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(err, -ESHUTDOWN);
}
END_TEST

/* Free from the wrong thread is refused. */
static void *free_thread(void *arg)
{
    return (void *)(intptr_t)fut_rt_free(arg);
}

START_TEST(free_from_other_thread_refused)
{
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    pthread_t th;
    void *ret;
    ck_assert_int_eq(pthread_create(&th, NULL, free_thread, rt), 0);
    pthread_join(th, &ret);
    ck_assert_int_eq((int)(intptr_t)ret, -EBUSY);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* Two runtimes on one thread: the first created is the default; the one
 * running is current while it runs. */
static fut_status current_is(struct th_fn *f, fut_cx *cx)
{
    return fut_ready(&f->base, fut_rt_current() == fut_cx_rt(cx));
}

START_TEST(current_runtime)
{
    fut_rt *a, *b;
    ck_assert_int_eq(fut_rt_new(&a, NULL), 0);
    ck_assert_int_eq(fut_rt_new(&b, NULL), 0);
    ck_assert_ptr_eq(fut_rt_current(), a);
    struct th_fn f;
    th_fn_init(&f, current_is, NULL);
    ssize_t out = 0;
    ck_assert_int_eq(fut_rt_block_on(b, &f.base, &out), 0);
    ck_assert_int_eq(out, 1);
    ck_assert_ptr_eq(fut_rt_current(), a);
    ck_assert_int_eq(fut_rt_free(b), 0);
    ck_assert_int_eq(fut_rt_free(a), 0);
    ck_assert_ptr_null(fut_rt_current());
}
END_TEST

/* With no fd left (or only one: the epoll fd then fits, the eventfd
 * libev needs for ev_async does not), fut_rt_new returns -EMFILE and
 * leaves nothing behind, instead of libev aborting the process. */
START_TEST(new_with_fd_table_full)
{
    if (getenv("FUT_VALGRIND")) { /* valgrind emulates the fd limit its own way */
        fprintf(stderr, "# new_with_fd_table_full: skipped under valgrind\n");
        return;
    }
    struct rlimit old, low;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    for (int spare = 0; spare <= 1; spare++) {
        int lowest = dup(0);
        close(lowest);
        low = old;
        low.rlim_cur = (rlim_t)(lowest + spare);
        long live = th_alloc.live;
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
        fut_rt *rt = (fut_rt *)1;
        int err = fut_rt_new(&rt, NULL);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
        ck_assert_msg(err == -EMFILE, "%d free fd(s): fut_rt_new returned %d", spare, err);
        ck_assert_ptr_null(rt);
        ck_assert_int_eq(th_alloc.live, live);
        int next = dup(0); /* the fds it opened were closed */
        close(next);
        ck_assert_int_eq(next, lowest);
    }
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0); /* and it works again */
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* A forked child starts with no current runtime (the parent's are copies
 * it must not use), and the one it creates becomes its own. */
START_TEST(forked_child_has_no_runtime)
{
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    ck_assert_ptr_eq(fut_rt_current(), rt);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int bad = fut_rt_current() != NULL;
        fut_rt *mine = NULL;
        /* the library's allocator is the test's counting one: leave it */
        bad |= fut_rt_new(&mine, NULL) != 0;
        bad |= fut_rt_current() != mine;
        _exit(bad);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_ptr_eq(fut_rt_current(), rt); /* the parent is unchanged */
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

static ssize_t answer(fut_job *job, void *arg)
{
    (void)job;
    (void)arg;
    return 42;
}

/* Where eventfds cannot be made (a sandbox: ENOSYS), libev backs its
 * async watchers with a pipe: fut_rt_new works (it used to fail with the
 * eventfd's error) and wakes from other threads arrive. */
START_TEST(new_without_eventfds)
{
    static const struct th_sysfail rules[] = {
        {__NR_eventfd2, ENOSYS, -1, 0, 0},
#ifdef __NR_eventfd
        {__NR_eventfd, ENOSYS, -1, 0, 0},
#endif
    };
    if (th_sysfail(rules, sizeof rules / sizeof rules[0]) != 0) {
        fprintf(stderr, "# new_without_eventfds: no seccomp here, skipped\n");
        return;
    }
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    fut_job job;
    ck_assert_int_eq(th_block(rt, fut_job_init(&job, answer, NULL, NULL)), 42);
    ck_assert_int_eq(fut_drop(&job.base), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* Without epoll (ENOSYS), the runtime runs on the best other backend
 * libev has; out of fds for it, it says so. */
START_TEST(new_without_epoll)
{
    const struct th_sysfail rules[] = {
        {__NR_epoll_create1, _i ? EMFILE : ENOSYS, -1, 0, 0},
#ifdef __NR_epoll_create
        {__NR_epoll_create, _i ? EMFILE : ENOSYS, -1, 0, 0},
#endif
    };
    if (th_sysfail(rules, sizeof rules / sizeof rules[0]) != 0) {
        fprintf(stderr, "# new_without_epoll: no seccomp here, skipped\n");
        return;
    }
    fut_rt *rt = NULL;
    int err = fut_rt_new(&rt, NULL);
    if (_i) {
        ck_assert_int_eq(err, -EMFILE);
        ck_assert_ptr_null(rt);
        return;
    }
    ck_assert_int_eq(err, 0);
    ck_assert_int_ne(ev_backend(fut_rt_loop(rt)), EVBACKEND_EPOLL);
    fut_sleep s;
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, fut_sleep_init(&s, 0.02)), 0);
    ck_assert_double_ge(th_mono() - t0, 0.015);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* fut_rt_free from a callback of the caller's own watcher on the
 * runtime's loop is refused: the loop must not be destroyed under it. */
static fut_rt *cb_rt;
static int cb_err;

static void free_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
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
    Suite *s = suite_create("rt");
    TCase *tc = th_tcase(s, "rt", 20);
    tcase_add_test(tc, owned_loop_is_epoll);
    tcase_add_test(tc, borrowed_loop_coexists);
    tcase_add_test(tc, borrowed_loop_not_kept_alive_idle);
    tcase_add_test(tc, free_drives_teardowns);
    tcase_add_test(tc, free_drops_unpolled_tasks);
    tcase_add_test(tc, free_inside_runtime_is_busy);
    tcase_add_test(tc, free_inside_sync_drop_is_busy);
    tcase_add_test(tc, rt_free_in_user_callback_is_busy);
    tcase_add_test(tc, spawn_during_free_refused);
    tcase_add_test(tc, free_from_other_thread_refused);
    tcase_add_test(tc, current_runtime);
    tcase_add_test(tc, new_with_fd_table_full);
    tcase_add_test(tc, forked_child_has_no_runtime);
    tcase_add_test(tc, new_without_eventfds);
    tcase_add_loop_test(tc, new_without_epoll, 0, 2);
    return th_run(s);
}
