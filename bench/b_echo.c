/* SPDX-License-Identifier: MIT */
/* B6, libfut: TCP echo server on 127.0.0.1.
 *
 *     b_echo PORT
 *
 * Listens on 127.0.0.1:PORT, prints `ready` once listening, echoes every
 * byte back on every connection, and on SIGTERM prints
 * `rusage user_us=<int> sys_us=<int>` (getrusage(RUSAGE_SELF), taken
 * before the teardown) and exits 0. One thread. bench/echo.sh drives it
 * with bench/echo_client.
 *
 * One accept task waits on the listening socket, a registered fut_fd
 * (<fut/fd.h>), and accepts until EAGAIN; each connection is a task of
 * its own that opens a fut_fd on its socket and loops read -> write with
 * fut_fd_read()/fut_fd_write(): a read shorter than the buffer
 * clears the cached readability, so in steady state a message costs one
 * read(2), one write(2) and a share of epoll_wait. SIGTERM arrives through
 * an ev_signal on the runtime's loop (fut_rt_loop()), which wakes the
 * future the main thread blocks on. Twin: b_echo_ev.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <fut.h>

#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "bench.h"

#define BUFSZ 16384

/* --- one connection ---------------------------------------------------- */

enum { C_OPEN, C_READ_INIT, C_READ, C_WRITE_INIT, C_WRITE, C_DONE };

struct conn {
    fut base;
    int fd;
    int state;
    int opened;      /* h is open */
    size_t off, len; /* the part of buf being written back */
    fut_fd h;        /* opened at the first poll: the task's copy must not move */
    fut_fd_op op;
    unsigned char buf[BUFSZ];
};

static void conn_close(struct conn *c)
{
    if (c->opened)
        fut_fd_close(&c->h);
    c->opened = 0;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static fut_status conn_poll(fut *self, fut_cx *cx)
{
    struct conn *c = (struct conn *)self;
    ssize_t n;
    for (;;) {
        switch (c->state) {
        case C_OPEN:
            if (fut_fd_open(fut_cx_rt(cx), &c->h, c->fd) != 0) {
                c->state = C_DONE;
                break;
            }
            c->opened = 1;
            c->state = C_READ_INIT;
            break;
        case C_READ_INIT:
            fut_fd_read(&c->op, &c->h, c->buf, sizeof c->buf);
            c->state = C_READ;
            break;
        case C_READ:
            if (fut_poll(&c->op.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            n = fut_out(&c->op.base);
            fut_drop(&c->op.base);
            if (n <= 0) { /* end of file, or an error (a reset) */
                c->state = C_DONE;
                break;
            }
            c->off = 0;
            c->len = (size_t)n;
            c->state = C_WRITE_INIT;
            break;
        case C_WRITE_INIT:
            fut_fd_write(&c->op, &c->h, c->buf + c->off, c->len - c->off);
            c->state = C_WRITE;
            break;
        case C_WRITE:
            if (fut_poll(&c->op.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            n = fut_out(&c->op.base);
            fut_drop(&c->op.base);
            if (n < 0) {
                c->state = C_DONE;
                break;
            }
            c->off += (size_t)n;
            c->state = c->off < c->len ? C_WRITE_INIT : C_READ_INIT;
            break;
        default:
            conn_close(c);
            return fut_ready(self, 0);
        }
    }
}

static void conn_drop(fut *self)
{
    struct conn *c = (struct conn *)self;
    if (c->state == C_READ || c->state == C_WRITE)
        fut_drop(&c->op.base);
    conn_close(c);
}

static const struct fut_vtable conn_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_echo_conn",
    .poll = conn_poll,
    .drop = conn_drop,
};

/* --- the accept loop ----------------------------------------------------- */

struct acceptor {
    fut base;
    fut_fd *lh;
    int waiting;
    fut_fd_wait w;
};

static fut_status acceptor_poll(fut *self, fut_cx *cx)
{
    struct acceptor *a = (struct acceptor *)self;
    for (;;) {
        if (a->waiting) {
            if (fut_poll(&a->w.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            ssize_t r = fut_out(&a->w.base);
            fut_drop(&a->w.base);
            a->waiting = 0;
            if (r < 0) {
                fprintf(stderr, "b_echo: waiting on the listener: %s\n", fut_strerror((int)r));
                return fut_ready(self, r);
            }
        }
        int fd = accept4(a->lh->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                fut_fd_clear(a->lh, FUT_READABLE);
                fut_fd_wait_init(&a->w, a->lh, FUT_READABLE);
                a->waiting = 1;
            } else if (errno != EINTR && errno != ECONNABORTED) {
                fprintf(stderr, "b_echo: accept: %s\n", strerror(errno));
                return fut_ready(self, -errno);
            }
            continue;
        }
        struct conn c = {.fd = fd, .state = C_OPEN};
        fut_init(&c.base, &conn_vt);
        if (fut_rt_spawn(fut_cx_rt(cx), &c.base, sizeof c, NULL) != 0)
            close(fd);
    }
}

static void acceptor_drop(fut *self)
{
    struct acceptor *a = (struct acceptor *)self;
    if (a->waiting)
        fut_drop(&a->w.base);
}

static const struct fut_vtable acceptor_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_echo_acceptor",
    .poll = acceptor_poll,
    .drop = acceptor_drop,
};

/* --- SIGTERM ------------------------------------------------------------------ */

/* READY once SIGTERM arrived (or the accept task ended: a fatal error). */
struct stopper {
    fut base;
    fut_join *acceptor;
    int stop;
    fut_waker *w;
};

static fut_status stopper_poll(fut *self, fut_cx *cx)
{
    struct stopper *s = (struct stopper *)self;
    if (fut_poll(&s->acceptor->base, cx) == FUT_READY)
        return fut_ready(self, fut_out(&s->acceptor->base) < 0 ? 1 : 0);
    if (s->stop)
        return fut_ready(self, 0);
    if (!s->w)
        s->w = fut_waker_clone(fut_cx_waker(cx));
    return FUT_PENDING;
}

static void stopper_drop(fut *self)
{
    struct stopper *s = (struct stopper *)self;
    fut_waker_drop(s->w);
    s->w = NULL;
}

static const struct fut_vtable stopper_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_echo_stopper",
    .poll = stopper_poll,
    .drop = stopper_drop,
};

static void sigterm_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    struct stopper *s = w->data;
    s->stop = 1;
    if (s->w)
        fut_waker_wake(s->w);
}

/* --- main ------------------------------------------------------------------------ */

static int listen_on(const char *port_s)
{
    char *end;
    long port = strtol(port_s, &end, 10);
    if (*end || port < 1 || port > 65535) {
        fprintf(stderr, "usage: b_echo PORT\n");
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    BENCH_CHECK(fd >= 0);
    int one = 1;
    BENCH_CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "b_echo: bind 127.0.0.1:%ld: %s\n", port, strerror(errno));
        exit(1);
    }
    BENCH_CHECK(listen(fd, 4096) == 0);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: b_echo PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(argv[1]);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    fut_fd lh;
    BENCH_CHECK(fut_fd_open(rt, &lh, lfd) == 0);

    fut_join aj;
    struct acceptor acc = {.lh = &lh};
    fut_init(&acc.base, &acceptor_vt);
    BENCH_CHECK(FUT_SPAWN(rt, &acc, &aj) == 0);

    struct stopper s = {.acceptor = &aj};
    fut_init(&s.base, &stopper_vt);
    ev_signal sig;
    ev_signal_init(&sig, sigterm_cb, SIGTERM);
    sig.data = &s;
    ev_signal_start(fut_rt_loop(rt), &sig);

    printf("ready\n");
    fflush(stdout);
    ssize_t failed = 0;
    BENCH_CHECK(fut_rt_block_on(rt, &s.base, &failed) == 0);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("rusage user_us=%lld sys_us=%lld\n",
           (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
           (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
    fflush(stdout);

    ev_signal_stop(fut_rt_loop(rt), &sig);
    fut_drop(&s.base);
    fut_drop(&aj.base);                /* detaches; fut_rt_free() cancels it */
    BENCH_CHECK(fut_rt_free(rt) == 0); /* cancels every connection task: they close their fds */
    fut_fd_close(&lh);                 /* a no-op by now */
    close(lfd);
    return failed ? 1 : 0;
}
