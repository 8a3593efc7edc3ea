/* SPDX-License-Identifier: MIT */
/* fut_io: readiness on pipes and sockets, bad fds and bad input, deadlines,
 * fds closed behind the library's back, cancellation. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_PATH */
#endif
#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- local helpers ---------------------------------------------------------- */

/* read(2) or write(2) on the test's own fds, retried after an EINTR or an
 * EAGAIN that poll does not confirm: t/faults.sh injects both. */
static ssize_t rw(int fd, void *buf, size_t len, int out)
{
    for (int i = 0; i < 1000; i++) {
        ssize_t n = out ? write(fd, buf, len) : read(fd, buf, len);
        if (n >= 0 || (errno != EINTR && errno != EAGAIN))
            return n;
        struct pollfd p = {.fd = fd, .events = out ? POLLOUT : POLLIN};
        poll(&p, 1, 1000);
    }
    return -1;
}

static void put_byte(int fd)
{
    ck_assert_int_eq(rw(fd, "x", 1, 1), 1);
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    ck_assert_int_ne(fl, -1);
    ck_assert_int_eq(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* A task body waiting on one fd: fut_io_init(fd, events), with a deadline
 * when timeout >= 0. Records into *res what it saw. */
struct io_result {
    ssize_t out;
    int polls;
    int flag_at_ready; /* *flag when the io future became READY */
    int done;
};

struct waiter {
    fut base;
    fut_io io;
    int fd, events, armed;
    double timeout;
    const int *flag;
    struct io_result *res;
};

static fut_status waiter_poll(fut *self, fut_cx *cx)
{
    struct waiter *w = (struct waiter *)self;
    w->res->polls++;
    if (!w->armed) {
        ck_assert_ptr_eq(fut_io_init(&w->io, w->fd, w->events), &w->io.base);
        ck_assert_int_eq(w->io.fd, w->fd);
        if (w->timeout >= 0)
            ck_assert_int_eq(fut_io_set_timeout(&w->io, w->timeout), 0);
        w->armed = 1;
    }
    if (fut_poll(&w->io.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    w->res->out = fut_out(&w->io.base);
    w->res->flag_at_ready = w->flag ? *w->flag : 0;
    w->res->done = 1;
    ck_assert_int_eq(fut_drop(&w->io.base), 0);
    w->armed = 0;
    return fut_ready(self, w->res->out);
}

static void waiter_drop(fut *self)
{
    struct waiter *w = (struct waiter *)self;
    if (w->armed)
        ck_assert_int_eq(fut_drop(&w->io.base), 0);
    w->armed = 0;
}

static const struct fut_vtable waiter_vt = {
    .size = sizeof(struct fut_vtable), .name = "waiter", .poll = waiter_poll, .drop = waiter_drop};

static void waiter_init(struct waiter *w, int fd, int events, double timeout, const int *flag,
                        struct io_result *res)
{
    memset(w, 0, sizeof *w);
    fut_init(&w->base, &waiter_vt);
    w->fd = fd;
    w->events = events;
    w->timeout = timeout;
    w->flag = flag;
    w->res = res;
    memset(res, 0, sizeof *res);
    res->out = -99999;
}

/* A task body that sleeps `delay` seconds, then calls fn(arg). */
struct after {
    fut base;
    fut_sleep s;
    double delay;
    int armed;
    void (*fn)(void *);
    void *arg;
};

static fut_status after_poll(fut *self, fut_cx *cx)
{
    struct after *a = (struct after *)self;
    if (!a->armed) {
        fut_sleep_init(&a->s, a->delay);
        a->armed = 1;
    }
    if (fut_poll(&a->s.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    ck_assert_int_eq(fut_drop(&a->s.base), 0);
    a->armed = 0;
    a->fn(a->arg);
    return fut_ready(self, 0);
}

static void after_drop(fut *self)
{
    struct after *a = (struct after *)self;
    if (a->armed)
        ck_assert_int_eq(fut_drop(&a->s.base), 0);
    a->armed = 0;
}

static const struct fut_vtable after_vt = {
    .size = sizeof(struct fut_vtable), .name = "after", .poll = after_poll, .drop = after_drop};

static void spawn_after(fut_rt *rt, double delay, void (*fn)(void *), void *arg, fut_join *j)
{
    struct after a;
    memset(&a, 0, sizeof a);
    fut_init(&a.base, &after_vt);
    a.delay = delay;
    a.fn = fn;
    a.arg = arg;
    ck_assert_int_eq(FUT_SPAWN(rt, &a, j), 0);
}

struct writer_arg {
    int fd;
    int written;
};

static void do_write(void *arg)
{
    struct writer_arg *w = arg;
    w->written = 1;
    put_byte(w->fd);
}

static void do_close_pipe(void *arg)
{
    int *p = arg;
    ck_assert_int_eq(close(p[0]), 0);
    ck_assert_int_eq(close(p[1]), 0);
    p[0] = p[1] = -1;
}

/* --- readiness ------------------------------------------------------------------- */

START_TEST(readable_after_write_from_task)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    struct writer_arg wa = {.fd = p[1]};
    struct io_result res;
    struct waiter w;
    waiter_init(&w, p[0], FUT_READABLE, -1, &wa.written, &res);
    fut_join jw, jr;
    ck_assert_int_eq(FUT_SPAWN(rt, &w, &jr), 0);
    spawn_after(rt, 0.02, do_write, &wa, &jw);

    ck_assert_int_eq(th_block(rt, &jr.base), FUT_READABLE);
    ck_assert_int_eq(res.out, FUT_READABLE);
    ck_assert_int_eq(res.flag_at_ready, 1); /* not before the write */
    ck_assert_int_eq(res.polls, 2);         /* armed, then woken once */
    ck_assert_int_eq(th_block(rt, &jw.base), 0);
    ck_assert_int_eq(fut_drop(&jr.base), 0);
    ck_assert_int_eq(fut_drop(&jw.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0); /* the io watcher was stopped */

    /* Data already there: readable without any other task. */
    fut_io io;
    ck_assert_ptr_eq(fut_io_readable_init(&io, p[0]), &io.base);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_READABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* Readable through a libev timer of the caller's own on the same loop. */
static void timer_write_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    do_write(t->data);
}

START_TEST(readable_after_write_from_timer)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    struct writer_arg wa = {.fd = p[1]};
    ev_timer t;
    ev_timer_init(&t, timer_write_cb, 0.02, 0.);
    t.data = &wa;
    ev_timer_start(fut_rt_loop(rt), &t);
    fut_io io;
    fut_io_readable_init(&io, p[0]);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_READABLE);
    ck_assert_int_eq(wa.written, 1);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(writable_fresh_pipe)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    fut_io io;
    ck_assert_ptr_eq(fut_io_writable_init(&io, p[1]), &io.base);
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, &io.base), FUT_WRITABLE);
    ck_assert_double_lt(th_mono() - t0, 5.0);
    ck_assert_int_eq(fut_drop(&io.base), 0);

    /* Asking for both on the write end reports only what is ready. */
    fut_io_init(&io, p[1], FUT_READABLE | FUT_WRITABLE);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_WRITABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* Hang-ups are readiness of the kind asked for, never another kind. */
START_TEST(peer_closed_reports_asked_events)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    close(p[1]); /* EOF on the read end */
    fut_io io;
    fut_io_readable_init(&io, p[0]);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_READABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    close(p[0]);

    th_pipe(p);
    close(p[0]); /* EPIPE on the write end */
    fut_io_writable_init(&io, p[1]);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_WRITABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    close(p[1]);
    ck_assert_int_eq(th_loop_busy(rt), 0);
}
END_TEST

/* A regular file cannot be registered with epoll (EPERM): it is always
 * ready, and the future must say so rather than hang or abort. */
START_TEST(regular_file_is_ready)
{
    fut_rt *rt = th_rt;
    char path[] = "/tmp/check_io_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    fut_io io;
    fut_io_readable_init(&io, fd);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_READABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    fut_io_writable_init(&io, fd);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_WRITABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    close(fd);
}
END_TEST

/* Two futures on the same fd: both see the readiness. */
START_TEST(two_readers_same_fd)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    struct writer_arg wa = {.fd = p[1]};
    struct io_result r1, r2;
    struct waiter w1, w2;
    waiter_init(&w1, p[0], FUT_READABLE, -1, &wa.written, &r1);
    waiter_init(&w2, p[0], FUT_READABLE, 5.0, &wa.written, &r2);
    fut_join j1, j2, jw;
    ck_assert_int_eq(FUT_SPAWN(rt, &w1, &j1), 0);
    ck_assert_int_eq(FUT_SPAWN(rt, &w2, &j2), 0);
    spawn_after(rt, 0.02, do_write, &wa, &jw);
    ck_assert_int_eq(th_block(rt, &j1.base), FUT_READABLE);
    ck_assert_int_eq(th_block(rt, &j2.base), FUT_READABLE);
    ck_assert_int_eq(r1.flag_at_ready, 1);
    ck_assert_int_eq(r2.flag_at_ready, 1);
    ck_assert_int_eq(th_block(rt, &jw.base), 0);
    fut_drop(&j1.base);
    fut_drop(&j2.base);
    fut_drop(&jw.base);
    ck_assert_int_eq(th_loop_busy(rt), 0); /* w2's deadline timer stopped too */
    close(p[0]);
    close(p[1]);
}
END_TEST

/* Both events on a socketpair: exactly what is ready is reported. */
START_TEST(socketpair_both_events)
{
    fut_rt *rt = th_rt;
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    set_nonblock(sv[0]);
    set_nonblock(sv[1]);
    const int both = FUT_READABLE | FUT_WRITABLE;
    fut_io io;

    /* Fresh: writable, not readable. */
    ck_assert_ptr_eq(fut_io_init(&io, sv[0], both), &io.base);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_WRITABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);

    /* Data from the peer: readable and writable. */
    put_byte(sv[1]);
    fut_io_init(&io, sv[0], both);
    ck_assert_int_eq(th_block(rt, &io.base), both);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    char c;
    ck_assert_int_eq(rw(sv[0], &c, 1, 0), 1);

    /* Send buffer full: neither, until the peer writes: readable only. */
    static char buf[65536];
    size_t filled = 0;
    for (;;) {
        ssize_t n = write(sv[0], buf, sizeof buf);
        if (n < 0) {
            /* Full only when poll agrees: an EINTR or a spurious EAGAIN
             * (t/faults.sh injects them) is no proof. */
            ck_assert(errno == EAGAIN || errno == EINTR);
            struct pollfd p = {.fd = sv[0], .events = POLLOUT};
            if (poll(&p, 1, 0) == 0)
                break;
            continue;
        }
        filled += (size_t)n;
    }
    ck_assert_uint_gt(filled, 0);
    fut_io_init(&io, sv[0], both);
    ck_assert_int_eq(fut_io_set_timeout(&io, 0.05), 0);
    ck_assert_int_eq(th_block(rt, &io.base), -ETIMEDOUT);
    ck_assert_int_eq(fut_drop(&io.base), 0);

    struct writer_arg wa = {.fd = sv[1]};
    struct io_result res;
    struct waiter w;
    waiter_init(&w, sv[0], both, -1, &wa.written, &res);
    fut_join jr, jw;
    ck_assert_int_eq(FUT_SPAWN(rt, &w, &jr), 0);
    spawn_after(rt, 0.02, do_write, &wa, &jw);
    ck_assert_int_eq(th_block(rt, &jr.base), FUT_READABLE);
    ck_assert_int_eq(res.flag_at_ready, 1);
    ck_assert_int_eq(th_block(rt, &jw.base), 0);
    fut_drop(&jr.base);
    fut_drop(&jw.base);
    ck_assert_int_eq(rw(sv[0], &c, 1, 0), 1);

    /* The peer drains everything: writable again. */
    size_t drained = 0;
    while (drained < filled) {
        ssize_t n = rw(sv[1], buf, sizeof buf, 0);
        ck_assert_int_gt(n, 0);
        drained += (size_t)n;
    }
    fut_io_init(&io, sv[0], both);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_WRITABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);

    ck_assert_int_eq(th_loop_busy(rt), 0);
    close(sv[0]);
    close(sv[1]);
}
END_TEST

/* --- bad fds, bad input ---------------------------------------------------------------- */

static void expect_at_first_poll(fut_rt *rt, int fd, int events, ssize_t want)
{
    fut_io io;
    ck_assert_ptr_eq(fut_io_init(&io, fd, events), &io.base);
    ssize_t out = 0;
    ck_assert_msg(th_poll_once(rt, &io.base, &out) == FUT_READY, "fd %d events %#x was PENDING", fd,
                  events);
    ck_assert_msg(out == want, "fd %d events %#x: %zd, expected %zd", fd, events, out, want);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0); /* nothing was registered */
}

START_TEST(closed_fd_is_ebadf)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    close(p[0]);
    close(p[1]);
    /* libev would abort the process on these in epoll_ctl. */
    expect_at_first_poll(rt, p[0], FUT_READABLE, -EBADF);
    expect_at_first_poll(rt, p[1], FUT_WRITABLE, -EBADF);
    expect_at_first_poll(rt, p[0], FUT_READABLE | FUT_WRITABLE, -EBADF);
    expect_at_first_poll(rt, 1 << 20, FUT_READABLE, -EBADF);
    expect_at_first_poll(rt, 0x7fffffff, FUT_WRITABLE, -EBADF);

    /* Through tasks and the readable/writable shorthands. */
    fut_io io;
    fut_join j;
    fut_io_readable_init(&io, p[0]);
    ck_assert_int_eq(FUT_SPAWN(rt, &io, &j), 0);
    ck_assert_int_eq(th_block(rt, &j.base), -EBADF);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    fut_io_writable_init(&io, p[1]);
    ck_assert_int_eq(FUT_SPAWN(rt, &io, &j), 0);
    ck_assert_int_eq(th_block(rt, &j.base), -EBADF);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
}
END_TEST

/* An O_PATH descriptor is open (fcntl(F_GETFD) accepts it) but cannot be
 * used for I/O: epoll_ctl() rejects it with EBADF, on which libev aborts
 * the process. The future must report -EBADF instead. */
START_TEST(o_path_fd_is_ebadf)
{
#ifndef O_PATH
    ck_abort_msg("O_PATH is not defined");
#else
    fut_rt *rt = th_rt;
    int dir = open("/", O_PATH | O_CLOEXEC);
    ck_assert_int_ge(dir, 0);
    char path[] = "/tmp/check_io_XXXXXX";
    int tmp = mkstemp(path);
    ck_assert_int_ge(tmp, 0);
    int file = open(path, O_PATH | O_CLOEXEC);
    unlink(path);
    close(tmp);
    ck_assert_int_ge(file, 0);
    expect_at_first_poll(rt, dir, FUT_READABLE, -EBADF);
    expect_at_first_poll(rt, file, FUT_WRITABLE, -EBADF);
    expect_at_first_poll(rt, file, FUT_READABLE | FUT_WRITABLE, -EBADF);
    close(dir);
    close(file);
#endif
}
END_TEST

START_TEST(bad_fd_or_events_is_einval)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    expect_at_first_poll(rt, -1, FUT_READABLE, -EINVAL);
    expect_at_first_poll(rt, -1000, FUT_WRITABLE, -EINVAL);
    expect_at_first_poll(rt, -1, 0, -EINVAL);
    expect_at_first_poll(rt, p[0], 0, -EINVAL);
    expect_at_first_poll(rt, p[1], 0x4, -EINVAL);  /* no known event */
    expect_at_first_poll(rt, p[1], ~0x3, -EINVAL); /* ditto */
    /* A negative fd with a deadline: still -EINVAL, no timer left. */
    fut_io io;
    fut_io_readable_init(&io, -1);
    ck_assert_int_eq(fut_io_set_timeout(&io, 5.0), 0);
    ssize_t out = 0;
    ck_assert(th_poll_once(rt, &io.base, &out) == FUT_READY);
    ck_assert_int_eq(out, -EINVAL);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
    /* The pipe itself was not disturbed. */
    fut_io_writable_init(&io, p[1]);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_WRITABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* --- deadlines ------------------------------------------------------------------------ */

START_TEST(timeout_on_silent_pipe)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    fut_io io;
    fut_io_readable_init(&io, p[0]);
    ck_assert_int_eq(fut_io_set_timeout(&io, 0.05), 0);
    double t0 = th_mono();
    ev_now_update(fut_rt_loop(rt));
    ck_assert_int_eq(th_block(rt, &io.base), -ETIMEDOUT);
    double elapsed = th_mono() - t0;
    ck_assert_msg(elapsed >= 0.05 - 1e-4, "timed out after %.4f s", elapsed);
    ck_assert_msg(elapsed < 5.0, "timed out after %.3f s", elapsed);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0); /* io watcher stopped with the timer */

    /* A zero deadline: times out, does not hang. */
    fut_io_readable_init(&io, p[0]);
    ck_assert_int_eq(fut_io_set_timeout(&io, 0), 0);
    ck_assert_int_eq(th_block(rt, &io.base), -ETIMEDOUT);
    ck_assert_int_eq(fut_drop(&io.base), 0);

    /* After a timeout the fd is still usable by a new future. */
    put_byte(p[1]);
    fut_io_readable_init(&io, p[0]);
    ck_assert_int_eq(fut_io_set_timeout(&io, 5.0), 0);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_READABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0); /* the 5 s deadline was stopped */
    close(p[0]);
    close(p[1]);
}
END_TEST

START_TEST(set_timeout_bad_input)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    fut_io io;
    fut_io_readable_init(&io, p[0]);
    ck_assert_int_eq(fut_io_set_timeout(NULL, 1.0), -EINVAL);
    ck_assert_int_eq(fut_io_set_timeout(&io, NAN), -EINVAL);
    ck_assert_int_eq(fut_io_set_timeout(&io, -NAN), -EINVAL);
    ck_assert_int_eq(fut_io_set_timeout(&io, -1.0), -EINVAL);
    ck_assert_int_eq(fut_io_set_timeout(&io, -1e-9), -EINVAL);
    ck_assert_int_eq(fut_io_set_timeout(&io, -INFINITY), -EINVAL);
    /* The rejected values left no deadline behind: with data present the
     * future is readable, not timed out. */
    put_byte(p[1]);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_READABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    char c;
    ck_assert_int_eq(rw(p[0], &c, 1, 0), 1);

    /* After the first poll: -EINVAL, and the future keeps waiting without
     * a deadline. */
    fut_io_readable_init(&io, p[0]);
    ck_assert(th_poll_once(rt, &io.base, NULL) == FUT_PENDING);
    ck_assert_int_eq(fut_io_set_timeout(&io, 0.01), -EINVAL);
    ck_assert_int_eq(fut_io_set_timeout(&io, NAN), -EINVAL);
    th_run_for(rt, 0.05);
    put_byte(p[1]);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_READABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* The documented case: the fd is closed (both pipe ends) while the future
 * waits on it. epoll silently forgets it; the deadline completes the
 * future with -ETIMEDOUT instead of a hang. */
START_TEST(closed_behind_back_times_out)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    int fd = p[0];
    struct io_result res;
    struct waiter w;
    waiter_init(&w, fd, FUT_READABLE, 0.3, NULL, &res);
    fut_join jr, jc;
    ck_assert_int_eq(FUT_SPAWN(rt, &w, &jr), 0);
    spawn_after(rt, 0.03, do_close_pipe, p, &jc);
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, &jr.base), -ETIMEDOUT);
    ck_assert_double_lt(th_mono() - t0, 10.0);
    ck_assert_int_eq(p[0], -1); /* closed while the future was pending */
    ck_assert_int_eq(th_block(rt, &jc.base), 0);
    fut_drop(&jr.base);
    fut_drop(&jc.base);
    ck_assert_int_eq(th_loop_busy(rt), 0);

    /* The fd number is reused by a new pipe: watching it works. */
    int q[2];
    th_pipe(q);
    put_byte(q[1]);
    fut_io io;
    fut_io_readable_init(&io, q[0]);
    ck_assert_int_eq(fut_io_set_timeout(&io, 5.0), 0);
    ck_assert_int_eq(th_block(rt, &io.base), FUT_READABLE);
    ck_assert_int_eq(fut_drop(&io.base), 0);
    close(q[0]);
    close(q[1]);
}
END_TEST

/* --- cancellation ------------------------------------------------------------------------- */

/* The waiting task is cancelled; its memory is freed; then the pipe becomes
 * readable and the loop runs: nothing may fire into the freed task. */
START_TEST(cancel_task_while_pending)
{
    fut_rt *rt = th_rt;
    long live = th_alloc.live;
    int p[2];
    th_pipe(p);
    struct io_result res;
    struct waiter w;
    waiter_init(&w, p[0], FUT_READABLE, 5.0, NULL, &res);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &w, &j), 0);
    th_run_for(rt, 0.01); /* armed and registered */
    ck_assert_int_eq(res.polls, 1);
    ck_assert(!fut_join_finished(&j));

    ck_assert_int_eq(fut_join_cancel(&j), 0);
    ck_assert_int_eq(th_block(rt, &j.base), -ECANCELED);
    ck_assert_int_eq(res.polls, 1);
    ck_assert_int_eq(res.done, 0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(th_alloc.live, live);
    ck_assert_int_eq(th_loop_busy(rt), 0); /* io watcher and deadline stopped */

    struct fut_rt_stats before = th_stats(rt);
    put_byte(p[1]);
    th_run_for(rt, 0.03);
    ck_assert_int_eq(th_loop_busy(rt), 0);
    struct fut_rt_stats after = th_stats(rt);
    ck_assert_int_eq(after.polls, before.polls);
    ck_assert_int_eq(after.wakes, before.wakes);
    ck_assert_int_eq(after.tasks_alive, 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* The future itself is dropped while armed (it was polled once from a
 * frame), then overwritten: a watcher left in libev would now be garbage. */
START_TEST(drop_while_pending)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    fut_io *io = malloc(sizeof *io);
    ck_assert_ptr_nonnull(io);
    fut_io_readable_init(io, p[0]);
    ck_assert_int_eq(fut_io_set_timeout(io, 0.02), 0);
    ck_assert(th_poll_once(rt, &io->base, NULL) == FUT_PENDING);
    th_run_for(rt, 0.005);
    ck_assert_int_ne(th_loop_busy(rt), 0);
    ck_assert_int_eq(fut_drop(&io->base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
    memset(io, 0x5a, sizeof *io);
    free(io);

    put_byte(p[1]);
    th_run_for(rt, 0.05); /* past the dropped future's deadline too */
    ck_assert_int_eq(th_loop_busy(rt), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* A task cancelled by fut_rt_free() while waiting on a silent pipe. */
START_TEST(cancel_by_rt_free)
{
    fut_rt *rt = th_new_rt();
    int p[2];
    th_pipe(p);
    struct io_result res;
    struct waiter w;
    waiter_init(&w, p[0], FUT_READABLE, -1, NULL, &res);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &w, &j), 0);
    th_run_for(rt, 0.01);
    ck_assert_int_eq(res.polls, 1);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(fut_join_finished(&j), 1);
    ck_assert_int_eq(res.done, 0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    put_byte(p[1]);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* The fd became ready (the watcher fired and woke the task) but the task is
 * cancelled before it gets to run: the teardown copes with the fired
 * watcher and still stops the deadline timer. */
struct cancel_cb_arg {
    ev_io w;
    fut_join *j;
    int fired;
};

static void cancel_on_ready_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct cancel_cb_arg *a = (struct cancel_cb_arg *)w;
    ev_io_stop(loop, w);
    a->fired++;
    ck_assert_int_eq(fut_join_cancel(a->j), 0);
}

START_TEST(cancel_after_ready_before_poll)
{
    fut_rt *rt = th_rt;
    int p[2];
    th_pipe(p);
    struct io_result res;
    struct waiter w;
    waiter_init(&w, p[0], FUT_READABLE, 5.0, NULL, &res);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &w, &j), 0);
    struct cancel_cb_arg a = {.j = &j};
    ev_io_init(&a.w, cancel_on_ready_cb, p[0], EV_READ);
    ev_io_start(fut_rt_loop(rt), &a.w);
    put_byte(p[1]);
    ck_assert_int_eq(th_block(rt, &j.base), -ECANCELED);
    ck_assert_int_eq(a.fired, 1);
    ck_assert_int_eq(res.polls, 1);
    ck_assert_int_eq(res.done, 0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* The fd is closed behind the library's back right after the future's
 * first poll, before the loop's next iteration registers it with epoll
 * (libev would abort the process in epoll_ctl). Per <fut/io.h> the
 * future completes with -EBADF, with or without a deadline. */
struct closer {
    fut base;
    fut_io io;
    int p[2];
    double timeout;
    int step;
};

static fut_status closer_poll(fut *self, fut_cx *cx)
{
    struct closer *c = (struct closer *)self;
    if (c->step == 0) {
        fut_io_readable_init(&c->io, c->p[0]);
        if (c->timeout >= 0)
            ck_assert_int_eq(fut_io_set_timeout(&c->io, c->timeout), 0);
        c->step = 1;
    }
    fut_status st = fut_poll(&c->io.base, cx);
    if (c->step == 1 && st == FUT_PENDING) {
        close(c->p[0]);
        close(c->p[1]);
        c->step = 2;
    }
    if (st == FUT_PENDING)
        return FUT_PENDING;
    ck_assert_int_eq(fut_drop(&c->io.base), 0);
    c->step = 3;
    return fut_ready(self, fut_out(&c->io.base));
}

static void closer_drop(fut *self)
{
    struct closer *c = (struct closer *)self;
    if (c->step == 1 || c->step == 2)
        fut_drop(&c->io.base);
}

static const struct fut_vtable closer_vt = {
    .size = sizeof(struct fut_vtable), .name = "closer", .poll = closer_poll, .drop = closer_drop};

static ssize_t run_closer(fut_rt *rt, double timeout, int as_task)
{
    struct closer c;
    memset(&c, 0, sizeof c);
    fut_init(&c.base, &closer_vt);
    c.timeout = timeout;
    th_pipe(c.p);
    ssize_t out;
    if (as_task) {
        fut_join j;
        ck_assert_int_eq(FUT_SPAWN(rt, &c, &j), 0);
        out = th_block(rt, &j.base);
        ck_assert_int_eq(fut_drop(&j.base), 0);
    } else {
        out = th_block(rt, &c.base);
        ck_assert_int_eq(fut_drop(&c.base), 0);
    }
    ck_assert_int_eq(th_loop_busy(rt), 0);
    return out;
}

START_TEST(closed_before_registration)
{
    fut_rt *rt = th_rt;
    ck_assert_int_eq(run_closer(rt, 0.1, 0), -EBADF);
    ck_assert_int_eq(run_closer(rt, -1, 0), -EBADF); /* no deadline: no hang either */
    /* From a task: its wake comes after the iteration's drain, and must
     * still be acted on at once, not when the 5 s deadline fires. */
    double t0 = th_mono();
    ck_assert_int_eq(run_closer(rt, 5.0, 1), -EBADF);
    ck_assert_double_lt(th_mono() - t0, 2.5);
    ck_assert_int_eq(run_closer(rt, -1, 1), -EBADF);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("io");
    TCase *tc = th_rt_tcase(s, "ready", 30);
    tcase_add_test(tc, readable_after_write_from_task);
    tcase_add_test(tc, readable_after_write_from_timer);
    tcase_add_test(tc, writable_fresh_pipe);
    tcase_add_test(tc, peer_closed_reports_asked_events);
    tcase_add_test(tc, regular_file_is_ready);
    tcase_add_test(tc, two_readers_same_fd);
    tcase_add_test(tc, socketpair_both_events);

    tc = th_rt_tcase(s, "bad", 30);
    tcase_add_test(tc, closed_fd_is_ebadf);
    tcase_add_test(tc, bad_fd_or_events_is_einval);
    tcase_add_test(tc, o_path_fd_is_ebadf);

    tc = th_rt_tcase(s, "deadline", 30);
    tcase_add_test(tc, timeout_on_silent_pipe);
    tcase_add_test(tc, set_timeout_bad_input);
    tcase_add_test(tc, closed_behind_back_times_out);

    tc = th_rt_tcase(s, "cancel", 30);
    tcase_add_test(tc, cancel_task_while_pending);
    tcase_add_test(tc, drop_while_pending);
    tcase_add_test(tc, cancel_by_rt_free);
    tcase_add_test(tc, cancel_after_ready_before_poll);

    /* Last: a regression here aborts the process (libev's assertion),
     * which without fork mode (valgrind) ends the run. */
    tc = th_rt_tcase(s, "closed_early", 30);
    tcase_add_test(tc, closed_before_registration);
    return th_run(s);
}
