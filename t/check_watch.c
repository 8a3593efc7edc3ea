/* SPDX-License-Identifier: MIT */
/* The watcher layer (src/watch.c), seen from outside: on a borrowed loop,
 * libfut's watchers hold no reference on it once their work is done, and
 * give back exactly what they took when the runtime is freed (the weak
 * watches: prepare, async, the pool's and the signal hub's async, the
 * ring's eventfd, prepare and idle); an fd libev gave up on reaches the
 * waits as an error. */
#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* --- what each case makes the runtime start and stop ----------------------- */

static void use_nothing(fut_rt *rt)
{
}

static void use_task(fut_rt *rt)
{
    fut_yield y;
    fut_join j;
    ck_assert_int_eq(fut_rt_spawn(rt, fut_yield_init(&y), sizeof y, &j), 0);
    ck_assert_int_eq(th_block(rt, &j.base), 0);
    fut_drop(&j.base);
}

static void use_sleep(fut_rt *rt)
{
    fut_sleep s;
    ck_assert_int_eq(th_block(rt, fut_sleep_init(&s, 0.001)), 0);
    fut_drop(&s.base);
}

static ssize_t job_fn(fut_job *job, void *arg)
{
    return (ssize_t)(intptr_t)arg;
}

static void use_pool(fut_rt *rt)
{
    fut_job j;
    ck_assert_int_eq(th_block(rt, fut_job_init(&j, job_fn, (void *)5, NULL)), 5);
    fut_drop(&j.base);
}

/* A task that raises the signal once the wait is armed. */
static fut_status raise_body(struct th_fn *f, fut_cx *cx)
{
    ck_assert_int_eq(raise(SIGUSR2), 0);
    return fut_ready(&f->base, 0);
}

static void use_signal(fut_rt *rt)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    fut_signal s;
    fut_signal_init(&s, &set);
    ck_assert_int_eq(th_poll_once(rt, &s.base, NULL), FUT_PENDING);
    struct th_fn r;
    th_fn_init(&r, raise_body, NULL);
    ck_assert_int_eq(FUT_SPAWN(rt, &r, NULL), 0);
    ck_assert_int_eq(th_block(rt, &s.base), SIGUSR2);
    fut_drop(&s.base);
}

static void use_uring(fut_rt *rt)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "abc", 3), 3);
    char buf[8];
    fut_uring_op op;
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, p[0], buf, sizeof buf, -1)), 3);
    fut_drop(&op.base);
    close(p[0]);
    close(p[1]);
}

static void use_fd(fut_rt *rt)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fut_fd h;
    ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), 0);
    fut_fd_clear(&h, FUT_READABLE);
    fut_fd_wait w;
    ck_assert_int_eq(th_poll_once(rt, fut_fd_wait_init(&w, &h, FUT_READABLE), NULL), FUT_PENDING);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    ck_assert_int_eq(th_block(rt, &w.base), FUT_READABLE);
    fut_drop(&w.base);
    fut_fd_close(&h);
    close(p[0]);
    close(p[1]);
}

static void use_process(fut_rt *rt)
{
    for (unsigned flags = 0; flags <= FUT_PROCESS_NO_PIDFD; flags += FUT_PROCESS_NO_PIDFD) {
        struct fut_process_opts o;
        memset(&o, 0, sizeof o);
        o.file = "true";
        o.flags = flags;
        fut_process p;
        ck_assert_int_eq(fut_process_spawn(rt, &p, &o), 0);
        ck_assert_int_eq(th_block(rt, &p.base), 0);
        fut_drop(&p.base);
    }
}

/* A sync drop whose teardown takes turns: a nested loop, which holds the
 * loop while it runs. */
static void use_nested(fut_rt *rt)
{
    int drops = 0, dropped = 0;
    struct th_slow s;
    th_slow_init(&s, -1, 0, 3, 0.001, NULL, &drops, &dropped);
    ck_assert_int_eq(th_poll_once(rt, &s.base, NULL), FUT_PENDING);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(dropped, 1);
}

static void (*const uses[])(fut_rt *) = {use_nothing, use_task, use_sleep,   use_pool,  use_signal,
                                         use_uring,   use_fd,   use_process, use_nested};

/* --- the loop's references --------------------------------------------------- */

static void user_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    ck_abort_msg("the user's hour-long timer fired");
}

/* Nonzero while some watcher holds the loop. */
static int busy(struct ev_loop *loop)
{
    return ev_run(loop, EVRUN_NOWAIT);
}

/* Case _i: the runtime does its work on a borrowed loop beside a timer
 * of the caller's. Afterwards the runtime holds no reference on the loop
 * (the caller's timer alone decides whether it is busy), and freeing the
 * runtime leaves the loop's count as the caller had it: one reference
 * too few would let the loop stop under the caller's timer, one too
 * many would keep it running forever. */
START_TEST(borrowed_loop_refs_balance)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ck_assert_ptr_nonnull(loop);
    ev_timer user;
    ev_timer_init(&user, user_cb, 3600., 0.);
    ev_timer_start(loop, &user);
    ck_assert_int_ne(busy(loop), 0);
    ev_timer_stop(loop, &user);
    ck_assert_int_eq(busy(loop), 0);

    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, loop), 0);
    ck_assert_int_eq(busy(loop), 0); /* a new runtime holds nothing */
    uses[_i](rt);
    ck_assert_int_eq(busy(loop), 0); /* its work done, it holds nothing */
    ev_timer_start(loop, &user);
    ck_assert_int_ne(busy(loop), 0);
    ev_timer_stop(loop, &user);
    ck_assert_int_eq(busy(loop), 0);

    ev_timer_start(loop, &user);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_ne(busy(loop), 0); /* the caller's timer still holds it */
    ev_timer_stop(loop, &user);
    ck_assert_int_eq(busy(loop), 0); /* and nothing else does */
    ev_loop_destroy(loop);
}
END_TEST

/* A task alive holds the loop; once it is done, nothing does. */
START_TEST(live_task_holds_borrowed_loop)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ck_assert_ptr_nonnull(loop);
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, loop), 0);
    fut_sleep s;
    fut_join j;
    ck_assert_int_eq(fut_rt_spawn(rt, fut_sleep_init(&s, 0.01), sizeof s, &j), 0);
    ck_assert_int_ne(busy(loop), 0);
    ev_run(loop, 0); /* returns once the task is done */
    ck_assert(fut_join_finished(&j));
    ck_assert_int_eq(busy(loop), 0);
    fut_drop(&j.base);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ev_loop_destroy(loop);
}
END_TEST

/* --- an fd libev gave up on ---------------------------------------------------- */

/* epoll_ctl on fd fails with ENOSPC (the user's epoll watch limit): libev
 * gives up on the fd, stops its watchers and reports an error. 0, or -1
 * where the failure cannot be injected (the caller skips). */
static int fail_epoll_ctl_on(int fd, const char *test)
{
    const struct th_sysfail rule = {__NR_epoll_ctl, ENOSPC, 2, 0xffffffff, (unsigned)fd};
    if (th_sysfail(&rule, 1) == 0)
        return 0;
    fprintf(stderr, "# %s: no seccomp here, skipped\n", test);
    return -1;
}

/* libev reports the error as a pending event of the iteration whose fd
 * update failed, which comes after the prepare watchers: the loop may
 * block in epoll_wait before the callback runs. A timer of 20 ms wakes
 * it (a detached task). */
static void wake_loop_soon(fut_rt *rt)
{
    fut_sleep s;
    ck_assert_int_eq(fut_rt_spawn(rt, fut_sleep_init(&s, 0.02), sizeof s, NULL), 0);
}

/* A registered fd: its waits complete with -EBADF, the handle stays bad,
 * the loop runs on and nothing stays started. */
START_TEST(fd_libev_gave_up_on)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    if (fail_epoll_ctl_on(p[0], "fd_libev_gave_up_on") == 0) {
        fut_rt *rt = th_new_rt();
        fut_fd h;
        ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), 0);
        fut_fd_clear(&h, FUT_READABLE);
        wake_loop_soon(rt);
        fut_fd_wait w;
        ck_assert_int_eq(th_block(rt, fut_fd_wait_init(&w, &h, FUT_READABLE)), -EBADF);
        fut_drop(&w.base);
        char c;
        fut_fd_op op;
        ck_assert_int_eq(th_block(rt, fut_fd_read(&op, &h, &c, 1)), -EBADF);
        fut_drop(&op.base);
        fut_sleep s;
        ck_assert_int_eq(th_block(rt, fut_sleep_init(&s, 0.001)), 0);
        fut_drop(&s.base);
        ck_assert_int_eq(th_loop_busy(rt), 0);
        fut_fd_close(&h);
        ck_assert_int_eq(fut_rt_free(rt), 0);
    }
    close(p[0]);
    close(p[1]);
}
END_TEST

/* A one-shot fut_io, whose callback stops the watcher libev stopped
 * already: it completes (libev reports the fd both ways; the caller's
 * next call on it meets the error) and nothing stays started. */
START_TEST(io_libev_gave_up_on)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    if (fail_epoll_ctl_on(p[0], "io_libev_gave_up_on") == 0) {
        fut_rt *rt = th_new_rt();
        wake_loop_soon(rt);
        fut_io io;
        ck_assert_int_eq(th_block(rt, fut_io_readable_init(&io, p[0])),
                         FUT_READABLE | FUT_WRITABLE);
        fut_drop(&io.base);
        ck_assert_int_eq(th_loop_busy(rt), 0);
        ck_assert_int_eq(fut_rt_free(rt), 0);
    }
    close(p[0]);
    close(p[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("watch");
    TCase *tc = th_tcase(s, "refs", 60);
    tcase_add_loop_test(tc, borrowed_loop_refs_balance, 0, (int)(sizeof uses / sizeof uses[0]));
    tcase_add_test(tc, live_task_holds_borrowed_loop);

    tc = th_tcase(s, "errors", 30);
    tcase_add_test(tc, fd_libev_gave_up_on);
    tcase_add_test(tc, io_libev_gave_up_on);
    return th_run(s);
}
