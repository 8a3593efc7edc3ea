/* SPDX-License-Identifier: MIT */
/* Registered fds (<fut/fd.h>): open/close rules, cached readiness, read
 * and write futures, waits, cancellation, bad fds. */
#include "config.h"

#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define rt th_rt

START_TEST(open_bad_input)
{
    fut_fd h;
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(fut_fd_open(NULL, &h, p[0]), -EINVAL);
    ck_assert_int_eq(fut_fd_open(rt, NULL, p[0]), -EINVAL);
    ck_assert_int_eq(fut_fd_open(rt, &h, -1), -EINVAL);
    close(p[0]);
    close(p[1]);
    ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), -EBADF);
    ck_assert_int_eq(fut_fd_open(rt, &h, 1 << 20), -EBADF);
    int op = open("/", O_PATH);
    ck_assert_int_ge(op, 0);
    ck_assert_int_eq(fut_fd_open(rt, &h, op), -EBADF);
    close(op);
    fut_fd_close(NULL);
}
END_TEST

START_TEST(open_sets_nonblocking)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fut_fd h;
    ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), 0);
    ck_assert(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    fut_fd_close(&h);
    fut_fd_close(&h); /* a closed handle: no-op */
    close(p[0]);
    close(p[1]);
}
END_TEST

/* A short read clears the cached readability: the next read waits for
 * epoll instead of trying; a write wakes it. */
START_TEST(short_read_waits_without_trying)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fut_fd h;
    ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), 0);
    ck_assert_int_eq(write(p[1], "abc", 3), 3);
    char buf[16];
    fut_fd_op rd;
    ck_assert_int_eq(th_block(rt, fut_fd_read(&rd, &h, buf, sizeof buf)), 3);
    ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
    fut_drop(&rd.base);
    ck_assert_int_eq(h.ready & FUT_READABLE, 0);
    ck_assert_int_eq(th_poll_once(rt, fut_fd_read(&rd, &h, buf, sizeof buf), NULL), FUT_PENDING);
    ck_assert_int_eq(write(p[1], "de", 2), 2);
    ck_assert_int_eq(th_block(rt, &rd.base), 2);
    fut_drop(&rd.base);
    /* End of file: 0, and stays readable. */
    close(p[1]);
    ck_assert_int_eq(th_block(rt, fut_fd_read(&rd, &h, buf, sizeof buf)), 0);
    fut_drop(&rd.base);
    ck_assert_int_eq(th_block(rt, fut_fd_read(&rd, &h, buf, sizeof buf)), 0);
    fut_drop(&rd.base);
    fut_fd_close(&h);
    close(p[0]);
}
END_TEST

/* A full pipe: the write is PENDING until the reader drains it. */
START_TEST(write_waits_on_full_pipe)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fut_fd w, r;
    ck_assert_int_eq(fut_fd_open(rt, &w, p[1]), 0);
    ck_assert_int_eq(fut_fd_open(rt, &r, p[0]), 0);
    static char big[1 << 20];
    fut_fd_op wr, rd;
    ssize_t n = th_block(rt, fut_fd_write(&wr, &w, big, sizeof big));
    ck_assert_int_gt(n, 0);
    ck_assert_int_lt(n, (ssize_t)sizeof big); /* partial: the pipe is full */
    fut_drop(&wr.base);
    ck_assert_int_eq(th_poll_once(rt, fut_fd_write(&wr, &w, big, 1), NULL), FUT_PENDING);
    static char sink[1 << 20];
    ssize_t got = 0;
    while (got < n) {
        ssize_t k = th_block(rt, fut_fd_read(&rd, &r, sink, sizeof sink));
        ck_assert_int_gt(k, 0);
        got += k;
        fut_drop(&rd.base);
    }
    ck_assert_int_eq(th_block(rt, &wr.base), 1);
    fut_drop(&wr.base);
    fut_fd_close(&w);
    fut_fd_close(&r);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* Two tasks echo one byte back and forth through two pipes: the
 * initiator writes then reads, the responder reads then writes. */
struct pinger {
    fut base;
    fut_fd *in, *out;
    fut_fd_op op;
    int rounds, i, step, armed, first;
    char buf[8];
};

static fut_status pinger_poll(fut *self, fut_cx *cx)
{
    struct pinger *p = (struct pinger *)self;
    for (;;) {
        if (p->i == p->rounds)
            return fut_ready(self, p->i);
        if (!p->armed) {
            if ((p->step == 0) == p->first)
                fut_fd_write(&p->op, p->out, "x", 1);
            else
                fut_fd_read(&p->op, p->in, p->buf, sizeof p->buf);
            p->armed = 1;
        }
        if (fut_poll(&p->op.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        ck_assert_int_eq(fut_out(&p->op.base), 1);
        fut_drop(&p->op.base);
        p->armed = 0;
        if (++p->step == 2) {
            p->step = 0;
            p->i++;
        }
    }
}

static void pinger_drop(fut *self)
{
    struct pinger *p = (struct pinger *)self;
    if (p->armed)
        fut_drop(&p->op.base);
}

static const struct fut_vtable pinger_vt = {sizeof(struct fut_vtable), "pinger", pinger_poll, NULL,
                                            pinger_drop};

START_TEST(ping_pong_between_tasks)
{
    int a[2], b[2];
    ck_assert_int_eq(pipe(a), 0);
    ck_assert_int_eq(pipe(b), 0);
    fut_fd ar, aw, br, bw;
    ck_assert_int_eq(fut_fd_open(rt, &ar, a[0]), 0);
    ck_assert_int_eq(fut_fd_open(rt, &aw, a[1]), 0);
    ck_assert_int_eq(fut_fd_open(rt, &br, b[0]), 0);
    ck_assert_int_eq(fut_fd_open(rt, &bw, b[1]), 0);
    struct pinger x = {.in = &br, .out = &aw, .rounds = 1000, .first = 1};
    struct pinger y = {.in = &ar, .out = &bw, .rounds = 1000, .first = 0};
    fut_init(&x.base, &pinger_vt);
    fut_init(&y.base, &pinger_vt);
    fut_join jx, jy;
    ck_assert_int_eq(FUT_SPAWN(rt, &x, &jx), 0);
    ck_assert_int_eq(FUT_SPAWN(rt, &y, &jy), 0);
    long allocs = th_alloc.total;
    ck_assert_int_eq(th_block(rt, &jx.base), 1000);
    ck_assert_int_eq(th_block(rt, &jy.base), 1000);
    ck_assert_int_eq(th_alloc.total, allocs); /* steady state allocates nothing */
    fut_drop(&jx.base);
    fut_drop(&jy.base);
    fut_fd_close(&ar);
    fut_fd_close(&aw);
    fut_fd_close(&br);
    fut_fd_close(&bw);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
}
END_TEST

START_TEST(wait_reports_ready_events)
{
    int s[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
    fut_fd h;
    ck_assert_int_eq(fut_fd_open(rt, &h, s[0]), 0);
    fut_fd_wait w;
    /* Fresh handle: assumed ready both ways. */
    ck_assert_int_eq(th_block(rt, fut_fd_wait_init(&w, &h, FUT_READABLE | FUT_WRITABLE)),
                     FUT_READABLE | FUT_WRITABLE);
    fut_drop(&w.base);
    fut_fd_clear(&h, FUT_READABLE | FUT_WRITABLE);
    /* The kernel says: writable, not readable. */
    ck_assert_int_eq(th_block(rt, fut_fd_wait_init(&w, &h, FUT_READABLE | FUT_WRITABLE)),
                     FUT_WRITABLE);
    fut_drop(&w.base);
    ck_assert_int_eq(th_poll_once(rt, fut_fd_wait_init(&w, &h, FUT_READABLE), NULL), FUT_PENDING);
    ck_assert_int_eq(write(s[1], "z", 1), 1);
    ck_assert_int_eq(th_block(rt, &w.base), FUT_READABLE);
    fut_drop(&w.base);
    ck_assert_int_eq(th_block(rt, fut_fd_wait_init(&w, &h, 0)), -EINVAL);
    fut_drop(&w.base);
    fut_fd_close(&h);
    close(s[0]);
    close(s[1]);
}
END_TEST

/* Two waiters on one direction take turns; neither is lost. */
struct waiter {
    fut base;
    fut_fd_wait w;
    int armed;
};

static fut_status waiter_poll(fut *self, fut_cx *cx)
{
    struct waiter *x = (struct waiter *)self;
    if (fut_poll(&x->w.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    return fut_ready(self, fut_out(&x->w.base));
}

static void waiter_drop(fut *self)
{
    fut_drop(&((struct waiter *)self)->w.base);
}

static const struct fut_vtable waiter_vt = {sizeof(struct fut_vtable), "waiter", waiter_poll, NULL,
                                            waiter_drop};

/* Two tasks, each waiting for p[0] to be readable through one registered
 * handle (its readiness cleared), left parked for `seconds`. */
struct two_waiters {
    int p[2];
    fut_fd h;
    struct waiter a, b;
    fut_join ja, jb;
};

static void two_waiters_start(struct two_waiters *t, double seconds)
{
    ck_assert_int_eq(pipe(t->p), 0);
    ck_assert_int_eq(fut_fd_open(rt, &t->h, t->p[0]), 0);
    fut_fd_clear(&t->h, FUT_READABLE);
    fut_init(&t->a.base, &waiter_vt);
    fut_init(&t->b.base, &waiter_vt);
    fut_fd_wait_init(&t->a.w, &t->h, FUT_READABLE);
    fut_fd_wait_init(&t->b.w, &t->h, FUT_READABLE);
    ck_assert_int_eq(FUT_SPAWN(rt, &t->a, &t->ja), 0);
    ck_assert_int_eq(FUT_SPAWN(rt, &t->b, &t->jb), 0);
    th_run_for(rt, seconds);
}

START_TEST(two_waiters_take_turns)
{
    struct two_waiters t;
    two_waiters_start(&t, 0.01);
    ck_assert(!fut_join_finished(&t.ja));
    ck_assert(!fut_join_finished(&t.jb));
    ck_assert_int_eq(write(t.p[1], "q", 1), 1);
    ck_assert_int_eq(th_block(rt, &t.ja.base), FUT_READABLE);
    ck_assert_int_eq(th_block(rt, &t.jb.base), FUT_READABLE);
    fut_drop(&t.ja.base);
    fut_drop(&t.jb.base);
    fut_fd_close(&t.h);
    close(t.p[0]);
    close(t.p[1]);
}
END_TEST

/* Two tasks waiting to read one registered fd that never becomes
 * readable do not spin; both complete when the handle closes. */
START_TEST(two_fd_waiters_do_not_spin)
{
    struct two_waiters t;
    two_waiters_start(&t, 0.05);
    ck_assert_uint_lt(th_stats(rt).polls, 20); /* was millions */
    fut_fd_close(&t.h);
    ck_assert_int_eq(th_block(rt, &t.ja.base), -EBADF);
    ck_assert_int_eq(th_block(rt, &t.jb.base), -EBADF);
    fut_drop(&t.ja.base);
    fut_drop(&t.jb.base);
    close(t.p[0]);
    close(t.p[1]);
}
END_TEST

/* A read cancelled while pending gives its slot back; the handle keeps
 * working for the next reader. */
START_TEST(cancelled_read_leaves_handle_usable)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fut_fd h;
    ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), 0);
    fut_fd_clear(&h, FUT_READABLE);
    char buf[4];
    fut_fd_op rd;
    fut_fd_read(&rd, &h, buf, sizeof buf);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &rd, &j), 0);
    fut_yield y;
    th_block(rt, fut_yield_init(&y));
    fut_drop(&y.base);
    ck_assert_ptr_nonnull(h.rwaker);
    fut_join_cancel(&j);
    ck_assert_int_eq(th_block(rt, &j.base), -ECANCELED);
    fut_drop(&j.base);
    ck_assert_ptr_null(h.rwaker);
    ck_assert_int_eq(write(p[1], "ok", 2), 2);
    struct fut_rt_stats before, after;
    fut_rt_stats(rt, &before, sizeof before);
    ck_assert_int_eq(th_block(rt, fut_fd_read(&rd, &h, buf, sizeof buf)), 2);
    fut_drop(&rd.base);
    fut_rt_stats(rt, &after, sizeof after);
    ck_assert_uint_eq(after.wakes, before.wakes); /* nothing woke the dead task */
    fut_fd_close(&h);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* The fd closed after open, before its first registration reaches epoll:
 * -EBADF, not libev's abort. */
START_TEST(closed_before_registration_is_ebadf)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fut_fd h;
    ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), 0);
    fut_fd_clear(&h, FUT_READABLE);
    close(p[0]);
    close(p[1]);
    fut_fd_wait w;
    ck_assert_int_eq(th_block(rt, fut_fd_wait_init(&w, &h, FUT_READABLE)), -EBADF);
    fut_drop(&w.base);
    char c;
    fut_fd_op rd;
    ck_assert_int_eq(th_block(rt, fut_fd_read(&rd, &h, &c, 1)), -EBADF);
    fut_drop(&rd.base);
    fut_fd_close(&h);
}
END_TEST

/* Closing the handle under a pending wait (a caller bug) completes the
 * wait with -EBADF; fut_rt_free closes handles left open. */
START_TEST(close_under_wait_and_rt_free)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fut_fd h, h2;
    ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), 0);
    ck_assert_int_eq(fut_fd_open(rt, &h2, p[1]), 0);
    fut_fd_clear(&h, FUT_READABLE);
    fut_fd_wait w;
    ck_assert_int_eq(th_poll_once(rt, fut_fd_wait_init(&w, &h, FUT_READABLE), NULL), FUT_PENDING);
    fut_fd_close(&h);
    ck_assert_int_eq(th_block(rt, &w.base), -EBADF);
    fut_drop(&w.base);
    ck_assert_int_eq(fut_rt_free(rt), 0); /* h2 still open */
    fut_fd_close(&h2);                    /* no-op now */
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* A wait and a read on an fd that is not ready, polled under a cancelled
 * context: -ECANCELED, and the fd's slots are free for the next ones. */
START_TEST(wait_and_read_under_a_cancelled_context)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fut_fd h;
    ck_assert_int_eq(fut_fd_open(rt, &h, p[0]), 0);
    char buf[4];
    fut_fd_op op;
    /* a fresh fd counts as ready: one read finds it empty first */
    ck_assert_int_eq(th_poll_once(rt, fut_fd_read(&op, &h, buf, sizeof buf), NULL), FUT_PENDING);
    fut_drop(&op.base);
    fut_fd_wait w;
    fut_fd_wait_init(&w, &h, FUT_READABLE);
    ck_assert_int_eq(th_run_cancelled(rt, &w.base, 0), -ECANCELED);
    fut_drop(&w.base);
    fut_fd_read(&op, &h, buf, sizeof buf);
    ck_assert_int_eq(th_run_cancelled(rt, &op.base, 0), -ECANCELED);
    fut_drop(&op.base);
    ck_assert_int_eq(write(p[1], "ok", 2), 2);
    ck_assert_int_eq(th_block(rt, fut_fd_read(&op, &h, buf, sizeof buf)), 2);
    fut_drop(&op.base);
    fut_fd_close(&h);
    close(p[0]);
    close(p[1]);
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
    ck_assert_int_eq(write(wfd, "x", 1), 1);
}

static void stop_cb(struct ev_loop *l, ev_timer *t, int rv)
{
    ev_break(l, EVBREAK_ALL);
}

/* Its own runtime on a borrowed loop (the fixture's is on an owned one). */
START_TEST(finished_fd_waiter_releases_loop)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    fut_rt *brt;
    ck_assert_int_eq(fut_rt_new(&brt, loop), 0);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    wfd = p[1];
    fut_fd h;
    ck_assert_int_eq(fut_fd_open(brt, &h, p[0]), 0);
    fut_fd_clear(&h, FUT_READABLE);
    struct reader r = {.h = &h};
    fut_init(&r.base, &reader_vt);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(brt, &r, &j), 0);
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
    ck_assert_int_eq(fut_rt_free(brt), 0);
    ev_loop_destroy(loop);
    close(p[0]);
    close(p[1]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fd");
    TCase *tc = tcase_create("fd");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, open_bad_input);
    tcase_add_test(tc, wait_and_read_under_a_cancelled_context);
    tcase_add_test(tc, open_sets_nonblocking);
    tcase_add_test(tc, short_read_waits_without_trying);
    tcase_add_test(tc, write_waits_on_full_pipe);
    tcase_add_test(tc, ping_pong_between_tasks);
    tcase_add_test(tc, wait_reports_ready_events);
    tcase_add_test(tc, two_waiters_take_turns);
    tcase_add_test(tc, two_fd_waiters_do_not_spin);
    tcase_add_test(tc, cancelled_read_leaves_handle_usable);
    tcase_add_test(tc, closed_before_registration_is_ebadf);
    tcase_add_test(tc, close_under_wait_and_rt_free);
    tcase_add_test(tc, finished_fd_waiter_releases_loop);
    suite_add_tcase(s, tc);
    return th_run(s);
}
