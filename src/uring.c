/* SPDX-License-Identifier: MIT */
/* io_uring operations as futures (see <fut/uring.h>): one ring per
 * runtime, its completions delivered through an eventfd that an io watch
 * of the runtime's loop watches; cancellation through IORING_OP_ASYNC_CANCEL,
 * the teardown waiting for the operation's own completion. Without a ring
 * (not built with liburing, or unavailable at run time) the same futures
 * run on the pool, on readiness, or on a timer.
 *
 * Everything here runs on the loop thread: the ring, the operations and
 * their states are never touched by another thread.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#include <sys/eventfd.h>
#endif

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_MEMCHECK_H 1
#endif
#endif

/* kinds */
enum { K_READ, K_WRITE, K_RECV, K_SEND, K_ACCEPT, K_TIMEOUT };
/* states */
enum {
    U_INIT, /* not polled yet */
    U_RING, /* its SQE is queued or in flight: the kernel may use its buffer */
    U_DONE, /* its CQE arrived, res holds the result */
    U_FB,   /* running on a fallback child (path says which) */
    U_OVER, /* READY was returned or the teardown completed: holds nothing */
};
/* paths */
enum { P_NONE, P_RING, P_POOL, P_READY, P_SLEEP };
/* flags */
#define UF_CANCEL 0x01   /* IORING_OP_ASYNC_CANCEL asked for */
#define UF_BACKLOG 0x02  /* ... but no SQE was free: the prepare watcher retries */
#define UF_CHILD 0x04    /* the fallback child is initialised and not dropped */
#define UF_NONBLOCK 0x08 /* the fd has O_NONBLOCK */
#define UF_PLAIN 0x10    /* no RWF_NOWAIT for this fd: call only once it polled ready */
#define UF_POLLED 0x20   /* the fd polled ready since the last attempt */

/* read(2)'s own cap; io_uring lengths are 32-bit. */
#define MAX_IO 0x7ffff000u

static ssize_t cap_len(size_t len)
{
    return len > MAX_IO ? MAX_IO : (ssize_t)len;
}

/* --- the ring ------------------------------------------------------------------------ */

#ifdef HAVE_LIBURING

#define RING_ENTRIES 256
/* user_data of the cancellation requests: never an operation's address. */
#define CANCEL_UD ((uint64_t)1)

_Static_assert(sizeof(((fut_uring_op *)0)->ts) == sizeof(struct __kernel_timespec),
               "the op's timespec is the kernel's");

struct fut__uring {
    struct io_uring ring;
    fut_rt *rt;
    int efd;
    bool closing;       /* fut_rt_free is waiting for the last completions */
    unsigned backlog;   /* operations whose cancellation found no free SQE */
    fut__watch io;      /* the eventfd: completions arrived */
    fut__watch prepare; /* submits the batch before the loop blocks */
    fut__watch idle;    /* ... or the next iteration does, without blocking */
    fut__list inflight; /* operations in U_RING */
};

static void mark_defined(fut_uring_op *op)
{
#ifdef HAVE_MEMCHECK_H
    /* The kernel wrote these behind memcheck's back. */
    if ((op->kind == K_READ || op->kind == K_RECV) && op->res > 0)
        (void)VALGRIND_MAKE_MEM_DEFINED(op->buf, (size_t)op->res);
    if (op->kind == K_ACCEPT && op->res >= 0 && op->addrlen) {
        (void)VALGRIND_MAKE_MEM_DEFINED(op->addrlen, sizeof *op->addrlen);
        if (op->addr)
            (void)VALGRIND_MAKE_MEM_DEFINED(op->addr, op->addrlen_in < *op->addrlen ? op->addrlen_in
                                                                                    : *op->addrlen);
    }
#endif
}

/* The operation's own CQE: the kernel let go of its memory. */
static void complete(struct fut__uring *u, fut_uring_op *op, int res)
{
    fut__list_del(&op->link);
    if (op->flags & UF_BACKLOG) {
        op->flags &= ~UF_BACKLOG;
        u->backlog--;
    }
    op->ring = NULL;
    op->res = op->kind == K_TIMEOUT && res == -ETIME ? 0 : res;
    op->state = U_DONE;
    mark_defined(op);
    fut__keepalive(u->rt, -1);
    if (u->closing) {
        /* Never dropped by its owner (see the header): nothing will poll
         * it on this runtime again. */
        fut_waker_drop(op->waker);
        op->waker = NULL;
    } else if (op->waker) {
        fut_waker_wake(op->waker);
    }
}

static void reap(struct fut__uring *u)
{
    struct io_uring_cqe *cqe;
    /* peek also flushes completions the kernel kept aside on overflow */
    while (io_uring_peek_cqe(&u->ring, &cqe) == 0) {
        uint64_t ud = cqe->user_data;
        int res = cqe->res;
        io_uring_cqe_seen(&u->ring, cqe);
        if (ud != CANCEL_UD) /* a cancellation's own result tells nothing we need */
            complete(u, (fut_uring_op *)(uintptr_t)ud, res);
    }
}

static void efd_cb(fut__watch *w, int events)
{
    struct fut__uring *u = fut__watch_data(w);
    uint64_t n;
    /* Clear first: a completion posted while reaping signals again. */
    while (read(u->efd, &n, sizeof n) < 0 && errno == EINTR)
        ;
    reap(u);
}

static struct io_uring_sqe *sqe_get(struct fut__uring *u)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) { /* the queue is full: send it now */
        io_uring_submit(&u->ring);
        sqe = io_uring_get_sqe(&u->ring);
    }
    return sqe;
}

static void submit_cancel(struct fut__uring *u, fut_uring_op *op)
{
    struct io_uring_sqe *sqe = sqe_get(u);
    if (!sqe) {
        if (!(op->flags & UF_BACKLOG)) {
            op->flags |= UF_BACKLOG;
            u->backlog++;
        }
        return;
    }
    if (op->flags & UF_BACKLOG) {
        op->flags &= ~UF_BACKLOG;
        u->backlog--;
    }
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
    io_uring_sqe_set_data64(sqe, CANCEL_UD);
}

/* Submits what was queued, retrying cancellations that found no SQE. */
static void flush(struct fut__uring *u)
{
    if (u->backlog) {
        fut__list *pos, *tmp;
        fut__list_each_safe(pos, tmp, &u->inflight) {
            fut_uring_op *op = fut__container_of(pos, fut_uring_op, link);
            if (op->flags & UF_BACKLOG)
                submit_cancel(u, op);
        }
    }
    if (io_uring_sq_ready(&u->ring))
        io_uring_submit(&u->ring);
    fut__watch_stop(u->rt, &u->idle);
}

/* The prepare and the idle watch's callback. */
static void flush_cb(fut__watch *w, int events)
{
    flush(fut__watch_data(w));
}

/* Something was queued for the kernel. The prepare watcher, which runs
 * after libfut's drain and before the loop blocks, submits the batch. If
 * it is not pending right now, this iteration's may have run already (a
 * nested loop inside a drain invokes the outer iteration's pending
 * watchers): the idle watcher then keeps the loop from blocking until the
 * next prepare or idle callback submitted. */
static void batch_arm(struct fut__uring *u)
{
    if (!fut__watch_pending(&u->prepare))
        fut__watch_start(u->rt, &u->idle);
}

static bool env_disabled(void)
{
    const char *e = getenv("FUT_NO_URING");
    return e && *e && strcmp(e, "0") != 0;
}

/* The kernel must have every operation used here (Linux 5.6) and keep
 * completions instead of dropping them on overflow. */
static bool ring_usable(struct io_uring *ring)
{
    static const int ops[] = {IORING_OP_READ,        IORING_OP_WRITE,  IORING_OP_RECV,
                              IORING_OP_SEND,        IORING_OP_ACCEPT, IORING_OP_TIMEOUT,
                              IORING_OP_ASYNC_CANCEL};
    if ((ring->features & (IORING_FEAT_NODROP | IORING_FEAT_RW_CUR_POS)) !=
        (IORING_FEAT_NODROP | IORING_FEAT_RW_CUR_POS))
        return false;
    struct io_uring_probe *p = io_uring_get_probe_ring(ring);
    if (!p)
        return false;
    bool ok = true;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        ok = ok && io_uring_opcode_supported(p, ops[i]);
    io_uring_free_probe(p);
    return ok;
}

static bool transient(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOMEM;
}

/* The runtime's ring, set up at the first call; NULL when unavailable. */
static struct fut__uring *ring_get(fut_rt *rt)
{
    if (fut__likely(rt->uring_state > 0))
        return rt->uring;
    if (rt->uring_state < 0)
        return NULL;
    if (env_disabled()) {
        rt->uring_state = -1;
        return NULL;
    }
    struct fut__uring *u = fut__alloc(sizeof *u);
    if (!u)
        return NULL; /* tried again next time */
    memset(u, 0, sizeof *u);
    u->rt = rt;
    u->efd = -1;
    fut__list_init(&u->inflight);
    int err = io_uring_queue_init(RING_ENTRIES, &u->ring, 0);
    if (err < 0) {
        fut__free(u, sizeof *u);
        /* Out of fds or memory for now: the next operation tries again
         * (this one falls back). Anything else: unavailable for good. */
        if (!transient(-err))
            rt->uring_state = -1;
        return NULL;
    }
    bool usable = ring_usable(&u->ring);
    if (usable && (u->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        err = errno;
    if (!usable || u->efd < 0 || io_uring_register_eventfd(&u->ring, u->efd) < 0) {
        bool again = usable && u->efd < 0 && transient(err);
        if (u->efd >= 0)
            close(u->efd);
        io_uring_queue_exit(&u->ring);
        fut__free(u, sizeof *u);
        if (!again)
            rt->uring_state = -1;
        return NULL;
    }
    /* libfut's watchers do not keep the loop alive: operations in flight
     * do, through the runtime's keepalive. */
    fut__watch_io_init(&u->io, efd_cb, u, u->efd, FUT_READABLE, FUT__WATCH_WEAK);
    fut__watch_start(rt, &u->io);
    /* LAST: after libfut's drain */
    fut__watch_prepare_init(&u->prepare, flush_cb, u, FUT__WATCH_WEAK | FUT__WATCH_LAST);
    fut__watch_start(rt, &u->prepare);
    fut__watch_idle_init(&u->idle, flush_cb, u, FUT__WATCH_WEAK);
    rt->uring = u;
    rt->uring_state = 1;
    return u;
}

/* fut_rt_free, once every task was torn down: only operations their owner
 * never dropped can still be in flight. They are cancelled and waited for,
 * then the ring is closed. */
void fut__uring_free(fut_rt *rt)
{
    struct fut__uring *u = rt->uring;
    rt->uring_state = 0;
    if (!u)
        return;
    u->closing = true;
    fut__list *pos, *tmp;
    fut__list_each_safe(pos, tmp, &u->inflight) {
        fut_uring_op *op = fut__container_of(pos, fut_uring_op, link);
        if (!(op->flags & UF_CANCEL)) {
            op->flags |= UF_CANCEL;
            submit_cancel(u, op);
        }
    }
    while (!fut__list_empty(&u->inflight)) {
        flush(u);
        struct io_uring_cqe *cqe;
        int err = io_uring_wait_cqe(&u->ring, &cqe);
        if (err == -EINTR || err == -EAGAIN)
            continue;
        if (err < 0) { /* cannot happen with a sane ring; do not spin */
            fut__list_each_safe(pos, tmp, &u->inflight)
                complete(u, fut__container_of(pos, fut_uring_op, link), err);
            break;
        }
        reap(u);
    }
    fut__watch_stop(rt, &u->idle);
    fut__watch_stop(rt, &u->prepare);
    fut__watch_stop(rt, &u->io);
    io_uring_queue_exit(&u->ring);
    close(u->efd);
    rt->uring = NULL;
    fut__free(u, sizeof *u);
}

/* Queues op's SQE. false: no SQE to be had (the caller falls back). */
static bool ring_submit(struct fut__uring *u, fut_uring_op *op)
{
    struct io_uring_sqe *sqe = sqe_get(u);
    if (!sqe)
        return false;
    unsigned len = (unsigned)cap_len(op->len);
    switch (op->kind) {
    case K_READ:
        io_uring_prep_read(sqe, op->fd, op->buf, len, (uint64_t)op->off);
        break;
    case K_WRITE:
        io_uring_prep_write(sqe, op->fd, op->buf, len, (uint64_t)op->off);
        break;
    case K_RECV:
        io_uring_prep_recv(sqe, op->fd, op->buf, len, op->msg_flags);
        break;
    case K_SEND:
        io_uring_prep_send(sqe, op->fd, op->buf, len, op->msg_flags);
        break;
    case K_ACCEPT:
        if (op->addrlen)
            op->addrlen_in = *op->addrlen;
        io_uring_prep_accept(sqe, op->fd, op->addr, op->addrlen, op->msg_flags);
        break;
    default:                    /* K_TIMEOUT */
        if (op->seconds > 1e15) /* ~31 million years: forever, without overflow */
            op->seconds = 1e15;
        op->ts.tv_sec = (long long)op->seconds;
        /* The fraction is below 1 by at least an ulp: times 1e9 it rounds
         * to below 1e9, so at most 999999999 ns. */
        op->ts.tv_nsec = (long long)((op->seconds - (double)op->ts.tv_sec) * 1e9);
        io_uring_prep_timeout(sqe, (struct __kernel_timespec *)(void *)&op->ts, 0, 0);
        break;
    }
    io_uring_sqe_set_data(sqe, op);
    op->ring = u;
    op->state = U_RING;
    op->path = P_RING;
    fut__list_add_tail(&u->inflight, &op->link);
    fut__keepalive(u->rt, 1);
    batch_arm(u);
    return true;
}

static void ring_cancel(fut_uring_op *op)
{
    struct fut__uring *u = op->ring;
    if (op->flags & UF_CANCEL)
        return;
    op->flags |= UF_CANCEL;
    submit_cancel(u, op);
    batch_arm(u);
}

#else /* !HAVE_LIBURING */

struct fut__uring;

static struct fut__uring *ring_get(fut_rt *rt)
{
    rt->uring_state = -1;
    return NULL;
}

static bool ring_submit(struct fut__uring *u, fut_uring_op *op)
{
    return false;
}

static void ring_cancel(fut_uring_op *op)
{
}

void fut__uring_free(fut_rt *rt)
{
    rt->uring_state = 0;
}

#endif /* HAVE_LIBURING */

FUT_API int fut_rt_uring_active(fut_rt *rt)
{
    return rt && ring_get(rt) != NULL;
}

/* --- the fallbacks ------------------------------------------------------------------ */

/* On a pool worker: the blocking call. Workers block every signal, so no
 * EINTR. */
static ssize_t job_io(fut_job *job, void *arg)
{
    fut_uring_op *op = arg;
    size_t len = (size_t)cap_len(op->len);
    if (op->kind == K_READ)
        return fut__neg_errno(op->off < 0 ? read(op->fd, op->buf, len)
                                          : pread(op->fd, op->buf, len, (off_t)op->off));
    return fut__neg_errno(op->off < 0 ? write(op->fd, op->buf, len)
                                      : pwrite(op->fd, op->buf, len, (off_t)op->off));
}

/* One non-blocking attempt; -EAGAIN: wait for readiness first. */
static ssize_t try_io(fut_uring_op *op)
{
    size_t len = (size_t)cap_len(op->len);
    bool nb = op->flags & UF_NONBLOCK;
    ssize_t n;
    for (;;) {
        switch (op->kind) {
        case K_READ:
        case K_WRITE: {
            bool rd = op->kind == K_READ;
            if (!nb && !(op->flags & UF_PLAIN)) {
                struct iovec iov = {op->buf, len};
                n = rd ? preadv2(op->fd, &iov, 1, (off_t)op->off, RWF_NOWAIT)
                       : pwritev2(op->fd, &iov, 1, (off_t)op->off, RWF_NOWAIT);
                if (n >= 0 || errno != EOPNOTSUPP)
                    break;
                op->flags |= UF_PLAIN; /* an older kernel, or an fd type without it */
            }
            if (!nb) {
                if (!(op->flags & UF_POLLED))
                    return -EAGAIN;
                op->flags &= ~UF_POLLED;
                if (!rd && len > PIPE_BUF) /* writable: at least this fits */
                    len = PIPE_BUF;
            }
            if (rd)
                n = op->off < 0 ? read(op->fd, op->buf, len)
                                : pread(op->fd, op->buf, len, (off_t)op->off);
            else
                n = op->off < 0 ? write(op->fd, op->buf, len)
                                : pwrite(op->fd, op->buf, len, (off_t)op->off);
            break;
        }
        case K_RECV:
            n = recv(op->fd, op->buf, len, op->msg_flags | MSG_DONTWAIT);
            break;
        case K_SEND:
            n = send(op->fd, op->buf, len, op->msg_flags | MSG_DONTWAIT);
            break;
        default: /* K_ACCEPT */
            if (!nb) {
                if (!(op->flags & UF_POLLED))
                    return -EAGAIN;
                op->flags &= ~UF_POLLED;
            }
            n = accept4(op->fd, op->addr, op->addrlen, op->msg_flags);
            break;
        }
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

static int io_events(const fut_uring_op *op)
{
    return op->kind == K_WRITE || op->kind == K_SEND ? FUT_WRITABLE : FUT_READABLE;
}

/* Chooses the fallback at the first poll and sets its child up. Returns
 * 0, or the negative errno the operation completes with. */
static int fallback_start(fut_uring_op *op)
{
    op->state = U_FB;
    if (op->kind == K_TIMEOUT) {
        op->path = P_SLEEP;
        fut_sleep_init(&op->fb.sleep, op->seconds);
        op->flags |= UF_CHILD;
        return 0;
    }
    if (op->kind == K_READ || op->kind == K_WRITE) {
        struct stat st;
        if (fstat(op->fd, &st) < 0)
            return -errno;
        if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
            /* always "ready" for epoll, yet may block on the disk */
            op->path = P_POOL;
            fut_job_init(&op->fb.job, job_io, op, NULL);
            op->flags |= UF_CHILD;
            return 0;
        }
    }
    int fl = fcntl(op->fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (op->kind == K_ACCEPT) {
        /* What the ring says at once: readiness of something that is not
         * a listening socket (a pipe, a connected socket) could come never
         * or mean nothing. */
        int listening = 0;
        socklen_t len = sizeof listening;
        if (getsockopt(op->fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
            return -errno; /* -ENOTSOCK */
        if (!listening)
            return -EINVAL;
    }
    if (fl & O_NONBLOCK)
        op->flags |= UF_NONBLOCK;
    op->path = P_READY; /* the first attempt comes before any wait */
    return 0;
}

static fut_status finish(fut_uring_op *op, ssize_t r)
{
    op->state = U_OVER;
    fut_waker_drop(op->waker);
    op->waker = NULL;
    return fut_ready(&op->base, r);
}

static fut *child_of(fut_uring_op *op)
{
    switch (op->path) {
    case P_POOL:
        return &op->fb.job.base;
    case P_SLEEP:
        return &op->fb.sleep.base;
    default:
        return &op->fb.io.base;
    }
}

static fut_status fallback_poll(fut_uring_op *op, fut_cx *cx)
{
    for (;;) {
        if (op->flags & UF_CHILD) {
            fut *c = child_of(op);
            if (fut_poll(c, cx) == FUT_PENDING)
                return FUT_PENDING;
            ssize_t r = fut_out(c);
            fut_poll_drop(c, cx); /* READY children let go at once */
            op->flags &= ~UF_CHILD;
            if (op->path != P_READY || r < 0)
                return finish(op, r);
            op->flags |= UF_POLLED;
        }
        ssize_t n = try_io(op);
        if (n != -EAGAIN)
            return finish(op, n);
        fut_io_init(&op->fb.io, op->fd, io_events(op));
        op->flags |= UF_CHILD;
    }
}

/* --- the future --------------------------------------------------------------------- */

static fut_status op_poll(fut *self, fut_cx *cx)
{
    fut_uring_op *op = (fut_uring_op *)self;
    switch (op->state) {
    case U_INIT:
        if (op->kind == K_TIMEOUT && !(op->seconds > 0))
            return finish(op, isnan(op->seconds) ? -EINVAL : 0);
        if (fut_cx_cancelled(cx))
            return finish(op, -ECANCELED);
        op->rt = fut_cx_rt(cx);
        /* A timeout under a manual clock (fut_rt_set_clock()) waits on
         * that clock: the kernel's would not follow it. */
        if (op->kind != K_TIMEOUT || op->rt->clock == FUT_CLOCK_REAL) {
            struct fut__uring *u = ring_get(op->rt);
            if (u && ring_submit(u, op))
                break;
        }
        {
            int err = fallback_start(op);
            if (err)
                return finish(op, err);
        }
        return fallback_poll(op, cx);
    case U_RING:
        break;
    case U_DONE:
        return finish(op, op->res);
    case U_FB:
        return fallback_poll(op, cx);
    default:
        return finish(op, -EINVAL); /* not reached: the drop glue reports it first */
    }
    /* In flight. A cancelled context cancels it; its output is then what
     * the completion says. */
    if (fut_cx_cancelled(cx))
        ring_cancel(op);
    fut__keep_waker(&op->waker, cx);
    return FUT_PENDING;
}

static fut_status op_poll_drop(fut *self, fut_cx *cx)
{
    fut_uring_op *op = (fut_uring_op *)self;
    switch (op->state) {
    case U_RING:
        /* The kernel may still write into the buffer: ask it to stop and
         * wait for the operation's own completion. */
        ring_cancel(op);
        fut__keep_waker(&op->waker, cx);
        return FUT_PENDING;
    case U_DONE:
        /* Completed, result never handed out: an accepted connection
         * nobody will see is closed. */
        if (op->kind == K_ACCEPT && op->res >= 0)
            close(op->res);
        break;
    case U_FB:
        if ((op->flags & UF_CHILD) && fut_poll_drop(child_of(op), cx) == FUT_PENDING)
            return FUT_PENDING; /* a pool job still running */
        op->flags &= ~UF_CHILD;
        break;
    default:
        break;
    }
    op->state = U_OVER;
    fut_waker_drop(op->waker);
    op->waker = NULL;
    return FUT_READY;
}

static const struct fut_vtable op_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_uring_op",
    .poll = op_poll,
    .poll_drop = op_poll_drop,
};

static fut *op_setup(fut_uring_op *op, int kind, int fd, void *buf, size_t len)
{
    memset(op, 0, sizeof *op);
    fut_init(&op->base, &op_vt);
    op->kind = (unsigned char)kind;
    op->state = U_INIT;
    op->path = P_NONE;
    op->fd = fd;
    op->buf = buf;
    op->len = len;
    op->off = -1;
    return &op->base;
}

FUT_API fut *fut_uring_read(fut_uring_op *op, int fd, void *buf, size_t len, off_t off)
{
    fut *f = op_setup(op, K_READ, fd, buf, len);
    op->off = off < 0 ? -1 : (long long)off;
    return f;
}

FUT_API fut *fut_uring_write(fut_uring_op *op, int fd, const void *buf, size_t len, off_t off)
{
    fut *f = op_setup(op, K_WRITE, fd, (void *)buf, len);
    op->off = off < 0 ? -1 : (long long)off;
    return f;
}

FUT_API fut *fut_uring_recv(fut_uring_op *op, int fd, void *buf, size_t len, int flags)
{
    fut *f = op_setup(op, K_RECV, fd, buf, len);
    op->msg_flags = flags;
    return f;
}

FUT_API fut *fut_uring_send(fut_uring_op *op, int fd, const void *buf, size_t len, int flags)
{
    fut *f = op_setup(op, K_SEND, fd, (void *)buf, len);
    /* A closed peer is an error, not a signal, on every path (the
     * fallback's send(2) would raise SIGPIPE without it). */
    op->msg_flags = flags | MSG_NOSIGNAL;
    return f;
}

FUT_API fut *fut_uring_accept(fut_uring_op *op, int fd, struct sockaddr *addr, socklen_t *addrlen,
                              int flags)
{
    fut *f = op_setup(op, K_ACCEPT, fd, NULL, 0);
    op->addr = addr;
    op->addrlen = addrlen;
    op->msg_flags = flags;
    return f;
}

FUT_API fut *fut_uring_timeout(fut_uring_op *op, double seconds)
{
    fut *f = op_setup(op, K_TIMEOUT, -1, NULL, 0);
    op->seconds = seconds;
    return f;
}
