/* SPDX-License-Identifier: MIT */
/* io_uring operations (<fut/uring.h>), each test run twice: on the ring
 * (_i == 0; where io_uring cannot be set up here, that run falls back
 * too and says so) and on the fallback forced with FUT_NO_URING=1
 * (_i == 1). Pipe reads completing, cancelled mid-flight (the kernel
 * never writes into the buffer once the drop completed) and completing
 * just as they are cancelled; the sync drop blocking until the
 * completion; a cancelled context; timeouts; accept; send/recv; regular
 * files at offsets; more operations in flight than the ring has entries;
 * freeing the runtime under an operation nobody dropped. */
#include "config.h"

#include "helpers.h"

#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static fut_rt *rt;
static char *orig_env; /* FUT_NO_URING as the suite was started with */

/* The path of run _i: 0 the ring (unless the environment says otherwise),
 * 1 the fallback. */
static void use_path(int i)
{
    if (i)
        setenv("FUT_NO_URING", "1", 1);
    else if (orig_env)
        setenv("FUT_NO_URING", orig_env, 1);
    else
        unsetenv("FUT_NO_URING");
}

static int ring; /* the runtime of this run uses the ring */

static fut_rt *new_rt(int i)
{
    use_path(i);
    rt = th_new_rt();
    ring = fut_rt_uring_active(rt);
    if (i)
        ck_assert_int_eq(ring, 0);
    return rt;
}

static void teardown(void)
{
    if (rt)
        ck_assert_int_eq(fut_rt_free(rt), 0);
    rt = NULL;
    th_teardown();
}

/* What is in the pipe right now (non-blocking), up to len bytes. */
static ssize_t drain_pipe(int fd, char *buf, size_t len)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    ssize_t n = read(fd, buf, len);
    fcntl(fd, F_SETFL, fl);
    return n < 0 ? -errno : n;
}

static int all_canary(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != 'C')
            return 0;
    return 1;
}

/* --- a task body owning an operation, counting its teardowns ------------------ */

struct own {
    fut base;
    fut_uring_op op;
    int *drops; /* completed teardowns of op */
    ssize_t *out;
};

static fut_status own_poll(fut *self, fut_cx *cx)
{
    struct own *o = (struct own *)self;
    if (fut_poll(&o->op.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    if (o->out)
        *o->out = fut_out(&o->op.base);
    return fut_ready(self, fut_out(&o->op.base));
}

static fut_status own_poll_drop(fut *self, fut_cx *cx)
{
    struct own *o = (struct own *)self;
    if (fut_poll_drop(&o->op.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    if (o->drops)
        (*o->drops)++;
    return FUT_READY;
}

static const struct fut_vtable own_vt = {sizeof(struct fut_vtable), "own", own_poll, own_poll_drop,
                                         NULL};

static void own_init(struct own *o, int *drops, ssize_t *out)
{
    fut_init(&o->base, &own_vt);
    o->drops = drops;
    o->out = out;
}

/* --- pipes --------------------------------------------------------------------------- */

START_TEST(pipe_read_completes)
{
    new_rt(_i);
    int p[2];
    th_pipe(p);
    char buf[16];
    memset(buf, 'C', sizeof buf);
    fut_uring_op op;
    /* data already there */
    ck_assert_int_eq(write(p[1], "abc", 3), 3);
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, p[0], buf, sizeof buf, -1)), 3);
    ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    /* data arriving while the read is in flight */
    memset(buf, 'C', sizeof buf);
    ssize_t out;
    ck_assert_int_eq(th_poll_once(rt, fut_uring_read(&op, p[0], buf, sizeof buf, -1), &out),
                     FUT_PENDING);
    ck_assert_int_eq(write(p[1], "hello", 5), 5);
    ck_assert_int_eq(th_block(rt, &op.base), 5);
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    ck_assert(all_canary(buf + 5, sizeof buf - 5));
    ck_assert_int_eq(fut_drop(&op.base), 0);
    /* end of file */
    close(p[1]);
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, p[0], buf, sizeof buf, -1)), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    close(p[0]);
    /* a closed fd */
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, p[0], buf, sizeof buf, -1)), -EBADF);
    ck_assert_int_eq(fut_drop(&op.base), 0);
}
END_TEST

/* A pipe write, and a read from a task woken by it. */
START_TEST(pipe_write_then_read_in_task)
{
    new_rt(_i);
    int p[2];
    th_pipe(p);
    char buf[8];
    memset(buf, 'C', sizeof buf);
    int drops = 0;
    ssize_t got = -1;
    struct own o;
    own_init(&o, &drops, &got);
    fut_uring_read(&o.op, p[0], buf, sizeof buf, -1);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &o, &j), 0);
    th_run_for(rt, 0.01); /* the read is in flight */
    fut_uring_op w;
    ck_assert_int_eq(th_block(rt, fut_uring_write(&w, p[1], "xy", 2, -1)), 2);
    ck_assert_int_eq(fut_drop(&w.base), 0);
    ck_assert_int_eq(th_block(rt, &j.base), 2);
    fut_drop(&j.base);
    ck_assert_int_eq(got, 2);
    ck_assert_int_eq(drops, 1);
    ck_assert_int_eq(memcmp(buf, "xy", 2), 0);
    th_close_pair(p);
}
END_TEST

/* Nobody writes; the task is cancelled: its teardown waits for the
 * cancellation's completion (on the ring: poll_drop PENDING once), the
 * buffer stays untouched, the data written afterwards stays in the
 * pipe. */
START_TEST(read_cancelled_mid_flight)
{
    new_rt(_i);
    int p[2];
    th_pipe(p);
    static char buf[64];
    memset(buf, 'C', sizeof buf);
    int drops = 0;
    ssize_t got = 12345;
    struct own o;
    own_init(&o, &drops, &got);
    fut_uring_read(&o.op, p[0], buf, sizeof buf, -1);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &o, &j), 0);
    th_run_for(rt, 0.02);
    struct fut_rt_stats st0 = th_stats(rt);
    ck_assert_int_eq(fut_join_cancel(&j), 0);
    ck_assert_int_eq(th_block(rt, &j.base), -ECANCELED);
    fut_drop(&j.base);
    ck_assert_int_eq(drops, 1);
    ck_assert_int_eq(got, 12345); /* never READY */
    if (ring)                     /* the teardown waited for the kernel */
        ck_assert_int_eq(th_stats(rt).async_drops - st0.async_drops, 1);
    /* The kernel lets go: data written now stays in the pipe. */
    ck_assert_int_eq(write(p[1], "late", 4), 4);
    th_pause_for(0.02);
    th_run_for(rt, 0.01);
    ck_assert(all_canary(buf, sizeof buf));
    char rest[8];
    ck_assert_int_eq(drain_pipe(p[0], rest, sizeof rest), 4);
    ck_assert_int_eq(memcmp(rest, "late", 4), 0);
    th_close_pair(p);
}
END_TEST

/* The sync drop of an operation in flight: on the ring it waits for the
 * completion in a nested loop (a ready task runs meanwhile); the buffer
 * is untouched afterwards. */
static fut_status flag_poll(struct th_fn *f, fut_cx *cx)
{
    (void)cx;
    (*(int *)f->ud)++;
    return fut_ready(&f->base, 0);
}

START_TEST(sync_drop_waits_for_completion)
{
    new_rt(_i);
    int p[2];
    th_pipe(p);
    char buf[32];
    memset(buf, 'C', sizeof buf);
    fut_uring_op op;
    ck_assert_int_eq(th_poll_once(rt, fut_uring_read(&op, p[0], buf, sizeof buf, -1), NULL),
                     FUT_PENDING);
    int ran = 0;
    struct th_fn flag;
    th_fn_init(&flag, flag_poll, &ran);
    ck_assert_int_eq(FUT_SPAWN(rt, &flag, NULL), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    if (ring)
        ck_assert_int_eq(ran, 1); /* the drop ran a loop until the completion came */
    ck_assert_int_eq(write(p[1], "zz", 2), 2);
    th_pause_for(0.02);
    th_run_for(rt, 0.005);
    ck_assert(all_canary(buf, sizeof buf));
    char rest[4];
    ck_assert_int_eq(drain_pipe(p[0], rest, sizeof rest), 2);
    th_close_pair(p);
}
END_TEST

/* Write, then drop at once: the read either completed (the data is in
 * the buffer, the pipe is empty) or was cancelled (the buffer untouched,
 * the data still in the pipe); the teardown completes once either way.
 * Both with the sync drop and with a task cancelled. */
START_TEST(read_completes_as_cancelled)
{
    new_rt(_i);
    int p[2];
    th_pipe(p);
    int completed = 0, cancelled = 0;
    for (int k = 0; k < 40; k++) {
        char buf[8];
        memset(buf, 'C', sizeof buf);
        int drops = 0;
        if (k % 2 == 0) {
            fut_uring_op op;
            ck_assert_int_eq(th_poll_once(rt, fut_uring_read(&op, p[0], buf, 3, -1), NULL),
                             FUT_PENDING);
            ck_assert_int_eq(write(p[1], "xyz", 3), 3);
            ck_assert_int_eq(fut_drop(&op.base), 0);
            drops = 1;
            ck_assert_int_eq(fut_drop(&op.base), -EALREADY); /* once */
            ck_assert_int_eq(th_diag_count, 1);
            th_diag_count = 0;
        } else {
            ssize_t got = 12345;
            struct own o;
            own_init(&o, &drops, &got);
            fut_uring_read(&o.op, p[0], buf, 3, -1);
            fut_join j;
            ck_assert_int_eq(FUT_SPAWN(rt, &o, &j), 0);
            th_run_for(rt, 0.002);
            ck_assert_int_eq(write(p[1], "xyz", 3), 3);
            fut_join_cancel(&j);
            ssize_t r = th_block(rt, &j.base);
            fut_drop(&j.base);
            ck_assert(r == -ECANCELED || r == 3);
        }
        ck_assert_int_eq(drops, 1);
        th_pause_for(0.001);
        char rest[8];
        ssize_t left = drain_pipe(p[0], rest, sizeof rest);
        if (memcmp(buf, "xyz", 3) == 0) {
            ck_assert_int_eq(left, -EAGAIN);
            completed++;
        } else {
            ck_assert(all_canary(buf, sizeof buf));
            ck_assert_int_eq(left, 3);
            cancelled++;
        }
    }
    printf("# %s: %d completed, %d cancelled\n", ring ? "ring" : "fallback", completed, cancelled);
    th_close_pair(p);
}
END_TEST

/* A read polled under a cancelled context (its task cancelled while the
 * read runs in a nested loop inside the task's poll) completes with
 * -ECANCELED once the kernel confirmed. */
struct nest {
    fut base;
    fut_uring_op *op;
};

static fut_status nest_poll(fut *self, fut_cx *cx)
{
    struct nest *n = (struct nest *)self;
    ssize_t out = 0;
    ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), &n->op->base, &out), 0);
    return fut_ready(self, out);
}

static const struct fut_vtable nest_vt = {sizeof(struct fut_vtable), "nest", nest_poll, NULL, NULL};

struct canceller {
    fut base;
    fut_sleep s;
    fut_join *j;
};

static fut_status canceller_poll(fut *self, fut_cx *cx)
{
    struct canceller *c = (struct canceller *)self;
    if (fut_poll(&c->s.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    fut_drop(&c->s.base);
    fut_join_cancel(c->j);
    return fut_ready(self, 0);
}

static const struct fut_vtable canceller_vt = {sizeof(struct fut_vtable), "canceller",
                                               canceller_poll, NULL, NULL};

START_TEST(cancelled_context)
{
    new_rt(_i);
    int p[2];
    th_pipe(p);
    char buf[8];
    memset(buf, 'C', sizeof buf);
    fut_uring_op op;
    fut_uring_read(&op, p[0], buf, sizeof buf, -1);
    struct nest n = {.op = &op};
    fut_init(&n.base, &nest_vt);
    fut_join jn;
    ck_assert_int_eq(FUT_SPAWN(rt, &n, &jn), 0);
    struct canceller c = {.j = &jn};
    fut_init(&c.base, &canceller_vt);
    fut_sleep_init(&c.s, 0.02);
    ck_assert_int_eq(FUT_SPAWN(rt, &c, NULL), 0);
    ck_assert_int_eq(th_block(rt, &jn.base), -ECANCELED);
    fut_drop(&jn.base);
    ck_assert_int_eq(fut_out(&op.base), -ECANCELED);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert(all_canary(buf, sizeof buf));
    th_close_pair(p);
}
END_TEST

/* --- timeouts --------------------------------------------------------------------- */

START_TEST(timeout_op)
{
    new_rt(_i);
    fut_uring_op op;
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, fut_uring_timeout(&op, 0.05)), 0);
    double dt = th_mono() - t0;
    ck_assert_msg(dt >= 0.045, "timeout fired after %.3f s", dt);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_timeout(&op, 0)), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_timeout(&op, NAN)), -EINVAL);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    /* dropped while pending: never fires */
    ck_assert_int_eq(th_poll_once(rt, fut_uring_timeout(&op, 30), NULL), FUT_PENDING);
    t0 = th_mono();
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert(th_mono() - t0 < 5);
    /* dropped before its first poll */
    fut_uring_timeout(&op, 1);
    ck_assert_int_eq(fut_drop(&op.base), 0);
}
END_TEST

/* More operations in flight than the ring has entries, from tasks. */
START_TEST(many_in_flight)
{
    new_rt(_i);
    enum { N = 600 };
    static struct own o[N];
    static ssize_t out[N];
    static int drops;
    drops = 0;
    static fut_join j[N];
    for (int k = 0; k < N; k++) {
        out[k] = -1;
        own_init(&o[k], &drops, &out[k]);
        fut_uring_timeout(&o[k].op, 0.01 + 0.0001 * (k % 10));
        ck_assert_int_eq(FUT_SPAWN(rt, &o[k], &j[k]), 0);
    }
    for (int k = 0; k < N; k++) {
        ck_assert_int_eq(th_block(rt, &j[k].base), 0);
        fut_drop(&j[k].base);
        ck_assert_int_eq(out[k], 0);
    }
    ck_assert_int_eq(drops, N);
}
END_TEST

/* --- sockets ---------------------------------------------------------------------- */

static int listener(struct sockaddr_in *a)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(s, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s, (struct sockaddr *)a, sizeof *a), 0);
    socklen_t l = sizeof *a;
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)a, &l), 0);
    ck_assert_int_eq(listen(s, 16), 0);
    return s;
}

static int connect_to(const struct sockaddr_in *a)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c, 0);
    ck_assert_int_eq(connect(c, (const struct sockaddr *)a, sizeof *a), 0);
    return c;
}

START_TEST(accept_op)
{
    new_rt(_i);
    int fds0 = th_open_fds();
    struct sockaddr_in la;
    int l = listener(&la);
    struct sockaddr_in peer;
    memset(&peer, 0, sizeof peer);
    socklen_t plen = sizeof peer;
    fut_uring_op op;
    ck_assert_int_eq(
        th_poll_once(rt, fut_uring_accept(&op, l, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC),
                     NULL),
        FUT_PENDING);
    int c = connect_to(&la);
    ssize_t s = th_block(rt, &op.base);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(plen, sizeof peer);
    ck_assert_int_eq(peer.sin_family, AF_INET);
    struct sockaddr_in ca;
    socklen_t cl = sizeof ca;
    ck_assert_int_eq(getsockname(c, (struct sockaddr *)&ca, &cl), 0);
    ck_assert_int_eq(peer.sin_port, ca.sin_port);
    ck_assert(fcntl((int)s, F_GETFD) & FD_CLOEXEC);
    close((int)s);
    close(c);

    /* no address asked for */
    c = connect_to(&la);
    ck_assert_int_ge(s = th_block(rt, fut_uring_accept(&op, l, NULL, NULL, 0)), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    close((int)s);
    close(c);

    /* cancelled while waiting; then accepted but never taken: closed */
    ck_assert_int_eq(th_poll_once(rt, fut_uring_accept(&op, l, NULL, NULL, 0), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_poll_once(rt, fut_uring_accept(&op, l, NULL, NULL, 0), NULL), FUT_PENDING);
    c = connect_to(&la);
    th_pause_for(0.01);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    close(c);
    close(l);
    /* not a listening socket: the same error at once on both paths (the
     * fallback used to wait for readability forever) */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_accept(&op, p[0], NULL, NULL, 0)), -ENOTSOCK);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    close(p[0]);
    close(p[1]);
    int sp[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_accept(&op, sp[0], NULL, NULL, 0)), -EINVAL);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    close(sp[0]);
    close(sp[1]);
    ck_assert_int_eq(th_open_fds(), fds0);
}
END_TEST

START_TEST(send_recv_socketpair)
{
    new_rt(_i);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    char buf[16];
    memset(buf, 'C', sizeof buf);
    int drops = 0;
    ssize_t got = -1;
    struct own r;
    own_init(&r, &drops, &got);
    fut_uring_recv(&r.op, sv[1], buf, sizeof buf, 0);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &r, &j), 0);
    th_run_for(rt, 0.01);
    fut_uring_op s;
    ck_assert_int_eq(th_block(rt, fut_uring_send(&s, sv[0], "ping", 4, MSG_NOSIGNAL)), 4);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_block(rt, &j.base), 4);
    fut_drop(&j.base);
    ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
    /* and back, the data there before the recv */
    ck_assert_int_eq(th_block(rt, fut_uring_send(&s, sv[1], "pong!", 5, MSG_NOSIGNAL)), 5);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    fut_uring_op rr;
    ck_assert_int_eq(th_block(rt, fut_uring_recv(&rr, sv[0], buf, sizeof buf, 0)), 5);
    ck_assert_int_eq(fut_drop(&rr.base), 0);
    ck_assert_int_eq(memcmp(buf, "pong!", 5), 0);
    /* a recv cancelled mid-flight leaves the data for the next one */
    memset(buf, 'C', sizeof buf);
    ck_assert_int_eq(th_poll_once(rt, fut_uring_recv(&rr, sv[0], buf, sizeof buf, 0), NULL),
                     FUT_PENDING);
    ck_assert_int_eq(fut_drop(&rr.base), 0);
    ck_assert_int_eq(send(sv[1], "abc", 3, 0), 3);
    ck_assert(all_canary(buf, sizeof buf));
    ck_assert_int_eq(th_block(rt, fut_uring_recv(&rr, sv[0], buf, sizeof buf, 0)), 3);
    ck_assert_int_eq(fut_drop(&rr.base), 0);
    /* the peer gone */
    close(sv[1]);
    ck_assert_int_eq(th_block(rt, fut_uring_recv(&rr, sv[0], buf, sizeof buf, 0)), 0);
    ck_assert_int_eq(fut_drop(&rr.base), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_send(&s, sv[0], "x", 1, MSG_NOSIGNAL)), -EPIPE);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    /* not a socket */
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ck_assert_int_ge(nul, 0);
    ck_assert_int_eq(th_block(rt, fut_uring_recv(&rr, nul, buf, sizeof buf, 0)), -ENOTSOCK);
    ck_assert_int_eq(fut_drop(&rr.base), 0);
    close(nul);
    close(sv[0]);
}
END_TEST

/* A send to a closed peer fails with -EPIPE on both paths and never raises
 * SIGPIPE, whether or not the caller passed MSG_NOSIGNAL: SIGPIPE is
 * blocked here, so a raised one would stay pending. */
START_TEST(send_closed_peer_no_sigpipe)
{
    new_rt(_i);
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &pipe_set, &old), 0);
    ck_assert_int_eq(sigpending(&pending), 0);
    ck_assert(!sigismember(&pending, SIGPIPE));
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    close(sv[1]);
    fut_uring_op s;
    ck_assert_int_eq(th_block(rt, fut_uring_send(&s, sv[0], "x", 1, 0)), -EPIPE);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_send(&s, sv[0], "y", 1, MSG_NOSIGNAL)), -EPIPE);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(sigpending(&pending), 0);
    int raised = sigismember(&pending, SIGPIPE);
    if (raised) { /* take it before unblocking, or it would kill the test */
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
    close(sv[0]);
    ck_assert_msg(!raised, "SIGPIPE raised on the %s path", ring ? "ring" : "fallback");
}
END_TEST

/* --- regular files ------------------------------------------------------------------ */

START_TEST(file_at_offsets)
{
    new_rt(_i);
    char path[] = "/tmp/fut-uring-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    fut_uring_op op;
    ck_assert_int_eq(th_block(rt, fut_uring_write(&op, fd, "hello world", 11, 0)), 11);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    char buf[16];
    memset(buf, 'C', sizeof buf);
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, fd, buf, 5, 6)), 5);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(memcmp(buf, "world", 5), 0);
    /* the current position: at 0, the writes above did not move it */
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, fd, buf, 5, -1)), 5);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    ck_assert_int_eq(lseek(fd, 0, SEEK_CUR), 5);
    ck_assert_int_eq(th_block(rt, fut_uring_write(&op, fd, "!", 1, -1)), 1);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(pread(fd, buf, 11, 0), 11);
    ck_assert_int_eq(memcmp(buf, "hello!world", 11), 0);
    /* past the end */
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, fd, buf, 5, 100)), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    /* dropped before and right after the first poll */
    fut_uring_read(&op, fd, buf, 5, 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    th_poll_once(rt, fut_uring_read(&op, fd, buf, 5, 0), NULL);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    close(fd);
}
END_TEST

/* --- the runtime ----------------------------------------------------------------------- */

START_TEST(fallback_switch)
{
    use_path(1);
    rt = th_new_rt();
    ck_assert_int_eq(fut_rt_uring_active(rt), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    setenv("FUT_NO_URING", "0", 1); /* "0" does not disable */
    rt = th_new_rt();
    int a = fut_rt_uring_active(rt);
    ck_assert_int_eq(fut_rt_uring_active(rt), a); /* stable */
    ck_assert_int_eq(fut_rt_uring_active(NULL), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    rt = NULL;
    use_path(0);
}
END_TEST

/* fut_rt_free() under an operation its owner never dropped: cancelled
 * and waited for; the op can still be dropped on another runtime. */
START_TEST(rt_free_with_op_in_flight)
{
    new_rt(_i);
    int p[2];
    th_pipe(p);
    char buf[8];
    memset(buf, 'C', sizeof buf);
    fut_uring_op op;
    ck_assert_int_eq(th_poll_once(rt, fut_uring_read(&op, p[0], buf, sizeof buf, -1), NULL),
                     FUT_PENDING);
    if (!ring) { /* the fallback's readiness wait must be dropped before */
        ck_assert_int_eq(fut_drop(&op.base), 0);
        th_close_pair(p);
        return;
    }
    ck_assert_int_eq(fut_rt_free(rt), 0);
    rt = th_new_rt();
    ck_assert_int_eq(write(p[1], "q", 1), 1);
    th_pause_for(0.01);
    ck_assert(all_canary(buf, sizeof buf));
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(fut_out(&op.base), 0); /* never READY */
    th_close_pair(p);
}
END_TEST

/* Reads "ab" from a pipe one byte at a time with the fd table cut down to
 * `spare` free fds for the first read, which must fall back (the ring not
 * set up), then with the table back for the second, which must set the
 * ring up again if this machine has one. */
static void ring_retried_after_fd_limit(const char *name, int spare)
{
    if (getenv("FUT_VALGRIND") || getenv("FUT_NO_URING")) {
        fprintf(stderr, "# %s: skipped here\n", name);
        return;
    }
    fut_rt *probe = th_new_rt();
    int have_ring = fut_rt_uring_active(probe);
    ck_assert_int_eq(fut_rt_free(probe), 0);
    rt = th_new_rt();
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "ab", 2), 2);
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    int lowest = dup(0);
    close(lowest);
    low = old;
    low.rlim_cur = (rlim_t)lowest + (rlim_t)spare;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
    char c;
    fut_uring_op op;
    ssize_t r = th_block(rt, fut_uring_read(&op, p[0], &c, 1, -1));
    int active_low = fut_rt_uring_active(rt);
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
    ck_assert_int_eq(r, 1); /* the fallback served it */
    ck_assert_int_eq(c, 'a');
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(active_low, 0);
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, p[0], &c, 1, -1)), 1);
    ck_assert_int_eq(c, 'b');
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(fut_rt_uring_active(rt), have_ring);
    th_close_pair(p);
}

/* No fd left at the first operation: the ring is not set up and the
 * operation falls back; once fds are free again the next operation sets
 * the ring up (it used to stay on the fallback for the runtime's life). */
START_TEST(ring_retried_after_fd_shortage)
{
    ring_retried_after_fd_limit("ring_retried_after_fd_shortage", 0);
}
END_TEST

/* The ring's first fd is the last one free: its eventfd cannot be made.
 * The operation falls back and the ring is tried again at the next one. */
START_TEST(ring_retried_after_eventfd_shortage)
{
    ring_retried_after_fd_limit("ring_retried_after_eventfd_shortage", 1);
}
END_TEST

/* No memory for the ring: unavailable for now, tried again later. */
START_TEST(ring_retried_after_allocation_failure)
{
    fut_rt *probe = th_new_rt();
    int have_ring = fut_rt_uring_active(probe);
    ck_assert_int_eq(fut_rt_free(probe), 0);
    rt = th_new_rt();
    th_alloc.fail_at = th_alloc.total + 1;
    ck_assert_int_eq(fut_rt_uring_active(rt), 0);
    ck_assert_int_eq(th_alloc.failed, getenv("FUT_NO_URING") || !have_ring ? 0 : 1);
    th_alloc.fail_at = 0;
    ck_assert_int_eq(fut_rt_uring_active(rt), have_ring);
    ck_assert_int_eq(fut_rt_uring_active(NULL), 0);
}
END_TEST

/* A timeout too long for the kernel's timespec waits (no overflow into
 * the past); dropped, it never fires. */
START_TEST(timeout_beyond_timespec_waits)
{
    new_rt(_i);
    fut_uring_op op;
    ck_assert_int_eq(th_poll_once(rt, fut_uring_timeout(&op, 1e300), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_poll_once(rt, fut_uring_timeout(&op, INFINITY), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_timeout(&op, -1)), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
}
END_TEST

/* read and write on a blocking socket (no RWF_NOWAIT there): the
 * fallback waits for readiness and never blocks the loop. */
START_TEST(read_write_on_a_blocking_socket)
{
    new_rt(_i);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    fut_uring_op op;
    char buf[8];
    ck_assert_int_eq(write(sv[1], "hi", 2), 2);
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, sv[0], buf, sizeof buf, -1)), 2);
    ck_assert_int_eq(memcmp(buf, "hi", 2), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    static char big[1 << 16];
    memset(big, 'x', sizeof big);
    ssize_t n = th_block(rt, fut_uring_write(&op, sv[0], big, sizeof big, -1));
    ck_assert_int_gt(n, 0);
    ck_assert_int_le(n, (ssize_t)sizeof big);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0); /* left as it was */
    ssize_t got = 0, r;
    ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);
    while ((r = read(sv[1], big, sizeof big)) > 0)
        got += r;
    ck_assert_int_eq(got, n);
    th_close_pair(sv);
}
END_TEST

/* --- kernels and fds without what the ring needs -------------------------------- */

/* Reads one byte through op from a fresh pipe (the ring or the fallback,
 * whichever rt uses): the operations work whatever happened to the ring. */
static void one_read_works(void)
{
    int p[2];
    th_pipe(p);
    ck_assert_int_eq(write(p[1], "z", 1), 1);
    char c = 0;
    fut_uring_op op;
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, p[0], &c, 1, -1)), 1);
    ck_assert_int_eq(c, 'z');
    ck_assert_int_eq(fut_drop(&op.base), 0);
    th_close_pair(p);
}

/* What a kernel without io_uring says (ENOSYS), or a ring that cannot
 * give its opcode probe or take the eventfd: unavailable for good, not
 * tried again (no further allocation for it), every operation on the
 * fallback, and no fd left behind. */
START_TEST(ring_unavailable_for_good)
{
    if (getenv("FUT_NO_URING")) {
        fprintf(stderr, "# ring_unavailable_for_good: skipped under FUT_NO_URING\n");
        return;
    }
    static const struct th_sysfail rules[][1] = {
        {{__NR_io_uring_setup, ENOSYS, -1, 0, 0}},
        {{__NR_io_uring_register, EINVAL, 1, 0xff, 8 /* IORING_REGISTER_PROBE */}},
        {{__NR_io_uring_register, EINVAL, 1, 0xff, 4 /* IORING_REGISTER_EVENTFD */}},
        {{__NR_eventfd2, EINVAL, -1, 0, 0}},
    };
    int fds0 = th_open_fds();
    if (th_sysfail(rules[_i], 1) != 0) {
        fprintf(stderr, "# ring_unavailable_for_good: no seccomp here, skipped\n");
        return;
    }
    rt = th_new_rt();
    ck_assert_int_eq(fut_rt_uring_active(rt), 0);
    long total = th_alloc.total;
    ck_assert_int_eq(fut_rt_uring_active(rt), 0);
    ck_assert_int_eq(th_alloc.total, total);
    one_read_works();
    ck_assert_int_eq(fut_rt_free(rt), 0);
    rt = NULL;
    ck_assert_int_eq(th_open_fds(), fds0);
}
END_TEST

/* Out of fds or memory at the ring's setup (ENFILE, ENOMEM from
 * io_uring_setup): unavailable for now, and tried again at the next
 * operation. */
START_TEST(ring_retried_after_transient_errors)
{
#ifndef HAVE_LIBURING
    fprintf(stderr, "# ring_retried_after_transient_errors: built without liburing, skipped\n");
    return;
#endif
    if (getenv("FUT_NO_URING")) {
        fprintf(stderr, "# ring_retried_after_transient_errors: skipped under FUT_NO_URING\n");
        return;
    }
    struct th_sysfail rule = {__NR_io_uring_setup, _i ? ENOMEM : ENFILE, -1, 0, 0};
    if (th_sysfail(&rule, 1) != 0) {
        fprintf(stderr, "# ring_retried_after_transient_errors: no seccomp here, skipped\n");
        return;
    }
    rt = th_new_rt();
    ck_assert_int_eq(fut_rt_uring_active(rt), 0);
    long total = th_alloc.total;
    ck_assert_int_eq(fut_rt_uring_active(rt), 0);
    ck_assert_int_eq(th_alloc.total, total + 1);
    one_read_works();
}
END_TEST

/* FUT_NO_URING set but empty or "0" does not disable the ring. */
START_TEST(no_uring_empty_or_zero_keeps_the_ring)
{
    unsetenv("FUT_NO_URING");
    fut_rt *probe = th_new_rt();
    int have_ring = fut_rt_uring_active(probe);
    ck_assert_int_eq(fut_rt_free(probe), 0);
    setenv("FUT_NO_URING", _i ? "0" : "", 1);
    rt = th_new_rt();
    ck_assert_int_eq(fut_rt_uring_active(rt), have_ring);
    one_read_works();
}
END_TEST

/* Where preadv2/pwritev2 have no RWF_NOWAIT (older kernels, some fd
 * types: EOPNOTSUPP), the fallback on a blocking fd calls read and write
 * only once the fd polled ready, and writes at most PIPE_BUF so it never
 * blocks the loop. */
START_TEST(fallback_without_rwf_nowait)
{
    static const struct th_sysfail rules[] = {
        {__NR_preadv2, EOPNOTSUPP, -1, 0, 0},
        {__NR_pwritev2, EOPNOTSUPP, -1, 0, 0},
    };
    if (th_sysfail(rules, 2) != 0) {
        fprintf(stderr, "# fallback_without_rwf_nowait: no seccomp here, skipped\n");
        return;
    }
    new_rt(1);
    int p[2];
    th_pipe(p);
    char buf[8];
    memset(buf, 'C', sizeof buf);
    fut_uring_op op;
    /* nothing to read yet: waits, the loop free */
    ck_assert_int_eq(th_poll_once(rt, fut_uring_read(&op, p[0], buf, sizeof buf, -1), NULL),
                     FUT_PENDING);
    ck_assert_int_eq(write(p[1], "abc", 3), 3);
    ck_assert_int_eq(th_block(rt, &op.base), 3);
    ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    /* data already there: read at the first readiness */
    ck_assert_int_eq(write(p[1], "de", 2), 2);
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, p[0], buf, sizeof buf, -1)), 2);
    ck_assert_int_eq(memcmp(buf, "de", 2), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    /* a write larger than PIPE_BUF into an empty pipe: PIPE_BUF at most */
    static char big[4 * PIPE_BUF];
    memset(big, 'w', sizeof big);
    ssize_t n = th_block(rt, fut_uring_write(&op, p[1], big, sizeof big, -1));
    ck_assert_int_gt(n, 0);
    ck_assert_int_le(n, PIPE_BUF);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(drain_pipe(p[0], big, sizeof big), n);
    ck_assert_int_eq(th_block(rt, fut_uring_write(&op, p[1], "small", 5, -1)), 5);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(drain_pipe(p[0], big, sizeof big), 5);
    /* an offset on a pipe: what pread and pwrite say */
    ck_assert_int_eq(write(p[1], "o", 1), 1);
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, p[0], buf, 1, 0)), -ESPIPE);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_write(&op, p[1], "o", 1, 0)), -ESPIPE);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
    th_close_pair(p);
}
END_TEST

/* Non-blocking fds: the fallback tries at once and waits for readiness
 * on EAGAIN, for read, write and accept alike. */
START_TEST(non_blocking_fds)
{
    new_rt(_i);
    int p[2];
    ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
    char buf[8];
    fut_uring_op op;
    ck_assert_int_eq(th_poll_once(rt, fut_uring_read(&op, p[0], buf, sizeof buf, -1), NULL),
                     FUT_PENDING);
    ck_assert_int_eq(write(p[1], "nb", 2), 2);
    ck_assert_int_eq(th_block(rt, &op.base), 2);
    ck_assert_int_eq(memcmp(buf, "nb", 2), 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_write(&op, p[1], "xy", 2, -1)), 2);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(drain_pipe(p[0], buf, sizeof buf), 2);
    th_close_pair(p);

    struct sockaddr_in la;
    int l = listener(&la);
    ck_assert_int_eq(fcntl(l, F_SETFL, O_NONBLOCK), 0);
    ck_assert_int_eq(th_poll_once(rt, fut_uring_accept(&op, l, NULL, NULL, SOCK_CLOEXEC), NULL),
                     FUT_PENDING);
    int c = connect_to(&la);
    ssize_t s = th_block(rt, &op.base);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    close((int)s);
    close(c);
    close(l);
}
END_TEST

/* A send into a full socket waits until the peer read (on the fallback,
 * for writability). */
START_TEST(send_waits_for_room)
{
    new_rt(_i);
    int sv[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    static char big[1 << 16];
    memset(big, 's', sizeof big);
    long filled = 0;
    ssize_t r;
    while ((r = send(sv[0], big, sizeof big, MSG_DONTWAIT)) > 0)
        filled += r;
    ck_assert_int_eq(errno, EAGAIN);
    fut_uring_op op;
    ck_assert_int_eq(th_poll_once(rt, fut_uring_send(&op, sv[0], "!", 1, 0), NULL), FUT_PENDING);
    long got = 0;
    while (got < filled && (r = recv(sv[1], big, sizeof big, MSG_DONTWAIT)) > 0)
        got += r;
    ck_assert_int_eq(got, filled);
    ck_assert_int_eq(th_block(rt, &op.base), 1);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(recv(sv[1], big, sizeof big, 0), 1);
    ck_assert_int_eq(big[0], '!');
    th_close_pair(sv);
}
END_TEST

/* Errors the kernel gives at once come out the same on both paths: a bad
 * fd, a read from a file open for writing only. */
START_TEST(bad_fds_fail_at_once)
{
    new_rt(_i);
    int fds0 = th_open_fds();
    char buf[4];
    fut_uring_op op;
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, -1, buf, sizeof buf, -1)), -EBADF);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_recv(&op, -1, buf, sizeof buf, 0)), -EBADF);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_accept(&op, -1, NULL, NULL, 0)), -EBADF);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    char path[] = "/tmp/check_uring.XXXXXX";
    int w = mkstemp(path);
    ck_assert_int_ge(w, 0);
    unlink(path);
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", w);
    int wo = open(self, O_WRONLY | O_CLOEXEC);
    ck_assert_int_ge(wo, 0);
    ck_assert_int_eq(write(wo, "data", 4), 4);
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, wo, buf, sizeof buf, 0)), -EBADF);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_block(rt, fut_uring_read(&op, w, buf, sizeof buf, 0)), 4);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(memcmp(buf, "data", 4), 0);
    close(wo);
    close(w);
    ck_assert_int_eq(th_open_fds(), fds0);
}
END_TEST

/* More operations queued in one poll than the submission queue holds,
 * then all cancelled in one teardown: the queue is sent to the kernel
 * when full, nothing is lost. */
struct batch {
    fut base;
    fut_uring_op *ops;
    unsigned char *ready;
    int n;
};

static fut_status batch_poll(fut *self, fut_cx *cx)
{
    struct batch *b = (struct batch *)self;
    int done = 0;
    for (int k = 0; k < b->n; k++) {
        if (!b->ready[k] && fut_poll(&b->ops[k].base, cx) == FUT_READY)
            b->ready[k] = 1;
        done += b->ready[k];
    }
    return done == b->n ? fut_ready(self, done) : FUT_PENDING;
}

static fut_status batch_poll_drop(fut *self, fut_cx *cx)
{
    struct batch *b = (struct batch *)self;
    int pending = 0;
    for (int k = 0; k < b->n; k++)
        if (fut_poll_drop(&b->ops[k].base, cx) == FUT_PENDING)
            pending++;
    return pending ? FUT_PENDING : FUT_READY;
}

static const struct fut_vtable batch_vt = {sizeof(struct fut_vtable), "batch", batch_poll,
                                           batch_poll_drop, NULL};

START_TEST(more_ops_in_one_poll_than_the_queue_holds)
{
    new_rt(_i);
    enum { N = 700 };
    static fut_uring_op ops[N];
    static unsigned char ready[N];
    memset(ready, 0, sizeof ready);
    struct batch b = {.ops = ops, .ready = ready, .n = N};
    fut_init(&b.base, &batch_vt);
    for (int k = 0; k < N; k++)
        fut_uring_timeout(&ops[k], 0.01);
    ck_assert_int_eq(th_block(rt, &b.base), N);
    ck_assert_int_eq(fut_drop(&b.base), 0);
    for (int k = 0; k < N; k++)
        ck_assert_int_eq(fut_out(&ops[k].base), 0);
    /* all in flight, then torn down together */
    fut_init(&b.base, &batch_vt);
    memset(ready, 0, sizeof ready);
    for (int k = 0; k < N; k++)
        fut_uring_timeout(&ops[k], 30);
    ck_assert_int_eq(th_poll_once(rt, &b.base, NULL), FUT_PENDING);
    double t0 = th_mono();
    ck_assert_int_eq(fut_drop(&b.base), 0);
    ck_assert(th_mono() - t0 < 5);
}
END_TEST

/* An operation in flight sees its task cancelled (on the ring its
 * cancellation is asked for), then is dropped before the kernel
 * confirmed: one cancellation, the drop waits for the completion, the
 * buffer stays untouched. On the fallback the readiness wait completes
 * with -ECANCELED at once. */
static fut_status cancel_then_drop(struct th_fn *f, fut_cx *cx)
{
    fut_uring_op *op = f->ud;
    if (fut_poll(&op->base, cx) == FUT_READY) /* the fallback's wait: -ECANCELED */
        return fut_ready(&f->base, fut_out(&op->base));
    if (!fut_cx_cancelled(cx))
        return FUT_PENDING;
    ck_assert_int_eq(fut_drop(&op->base), 0);
    return fut_ready(&f->base, 1);
}

START_TEST(cancelled_in_flight_then_dropped)
{
    new_rt(_i);
    int p[2];
    th_pipe(p);
    char buf[8];
    memset(buf, 'C', sizeof buf);
    fut_uring_op op;
    fut_uring_read(&op, p[0], buf, sizeof buf, -1);
    struct th_fn f;
    th_fn_init(&f, cancel_then_drop, &op);
    ck_assert_int_eq(th_run_cancelled(rt, &f.base, 0.02), ring ? 1 : -ECANCELED);
    ck_assert_int_eq(fut_drop(&f.base), 0);
    ck_assert_int_eq(write(p[1], "late", 4), 4);
    th_pause_for(0.01);
    ck_assert(all_canary(buf, sizeof buf));
    ck_assert_int_eq(drain_pipe(p[0], buf, sizeof buf), 4);
    th_close_pair(p);
}
END_TEST

/* Polled for the first time under a cancelled context: -ECANCELED, and
 * nothing was read. */
START_TEST(cancelled_before_the_first_poll)
{
    new_rt(_i);
    int p[2];
    th_pipe(p);
    ck_assert_int_eq(write(p[1], "keep", 4), 4);
    char buf[8];
    memset(buf, 'C', sizeof buf);
    fut_uring_op op;
    fut_uring_read(&op, p[0], buf, sizeof buf, -1);
    ck_assert_int_eq(th_run_cancelled(rt, &op.base, 0), -ECANCELED);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert(all_canary(buf, sizeof buf));
    ck_assert_int_eq(drain_pipe(p[0], buf, sizeof buf), 4);
    th_close_pair(p);
}
END_TEST

int main(void)
{
    const char *e = getenv("FUT_NO_URING");
    orig_env = e ? strdup(e) : NULL;
    /* Where io_uring cannot be set up (an old kernel, seccomp, a tool
     * without io_uring support) the ring runs test the fallback too. */
    fut_rt *probe;
    if (fut_rt_new(&probe, NULL) == 0) {
        printf("# io_uring %s\n", fut_rt_uring_active(probe)
                                      ? "in use: runs 0 on the ring, runs 1 on the fallback"
                                      : "unavailable or disabled here: every run on the fallback");
        fut_rt_free(probe);
    }
    Suite *s = suite_create("uring");
    TCase *tc = tcase_create("uring");
    tcase_add_checked_fixture(tc, th_setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, pipe_read_completes, 0, 2);
    tcase_add_loop_test(tc, pipe_write_then_read_in_task, 0, 2);
    tcase_add_loop_test(tc, read_cancelled_mid_flight, 0, 2);
    tcase_add_loop_test(tc, sync_drop_waits_for_completion, 0, 2);
    tcase_add_loop_test(tc, read_completes_as_cancelled, 0, 2);
    tcase_add_loop_test(tc, cancelled_context, 0, 2);
    tcase_add_loop_test(tc, timeout_op, 0, 2);
    tcase_add_loop_test(tc, many_in_flight, 0, 2);
    tcase_add_loop_test(tc, accept_op, 0, 2);
    tcase_add_loop_test(tc, send_recv_socketpair, 0, 2);
    tcase_add_loop_test(tc, send_closed_peer_no_sigpipe, 0, 2);
    tcase_add_loop_test(tc, file_at_offsets, 0, 2);
    tcase_add_test(tc, fallback_switch);
    tcase_add_test(tc, ring_retried_after_fd_shortage);
    tcase_add_loop_test(tc, rt_free_with_op_in_flight, 0, 2);
    tcase_add_test(tc, ring_retried_after_eventfd_shortage);
    tcase_add_test(tc, ring_retried_after_allocation_failure);
    tcase_add_loop_test(tc, timeout_beyond_timespec_waits, 0, 2);
    tcase_add_loop_test(tc, read_write_on_a_blocking_socket, 0, 2);
    tcase_add_loop_test(tc, ring_unavailable_for_good, 0, 4);
    tcase_add_loop_test(tc, ring_retried_after_transient_errors, 0, 2);
    tcase_add_loop_test(tc, no_uring_empty_or_zero_keeps_the_ring, 0, 2);
    tcase_add_test(tc, fallback_without_rwf_nowait);
    tcase_add_loop_test(tc, non_blocking_fds, 0, 2);
    tcase_add_loop_test(tc, send_waits_for_room, 0, 2);
    tcase_add_loop_test(tc, bad_fds_fail_at_once, 0, 2);
    tcase_add_loop_test(tc, cancelled_before_the_first_poll, 0, 2);
    tcase_add_loop_test(tc, more_ops_in_one_poll_than_the_queue_holds, 0, 2);
    tcase_add_loop_test(tc, cancelled_in_flight_then_dropped, 0, 2);
    suite_add_tcase(s, tc);
    int r = th_run(s);
    free(orig_env);
    return r;
}
