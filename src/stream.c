/* SPDX-License-Identifier: MIT */
/* Streams (<fut/net.h>): a registered fd with a read buffer, a write
 * buffer, deadlines on one lazy timer, and a graceful close as the
 * asynchronous drop. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define R FUT_READABLE
#define W FUT_WRITABLE

#define ST_REG 0x1   /* the fd is registered with the loop */
#define ST_OWN_R 0x2 /* rbuf is ours */
#define ST_OWN_W 0x4
#define ST_EOF 0x8   /* the peer's end of file was read */
#define ST_SHUT 0x10 /* we shut writing down */
#define ST_SOCK 0x20 /* a socket: shutdown(2) applies */
#define ST_CLOSED 0x40
#define ST_OPEN 0x80  /* fut_stream_open() succeeded */
#define ST_GONE 0x400 /* the runtime was freed under it */

/* s->close_state */
enum { C_NONE, C_FLUSH, C_DRAIN };

/* Which deadline fired (s->timedout); R and W are the ops'. */
#define T_CLOSE 0x4

/* fut_stream_op kinds */
enum { K_READ, K_EXACT, K_UNTIL, K_FILL, K_WRITE, K_FLUSH, K_SHUT };
#define IS_READ(kind) ((kind) <= K_FILL)

static int stream_fd(const fut_stream *s)
{
    return s->h.fd;
}

static void progress(fut_stream *s)
{
    if (s->ito > 0)
        s->active = fut__now(s->rt);
}

/* --- deadlines ---------------------------------------------------------------
 * One timer per stream, armed lazily: progress only stores a time, and
 * the timer, when it fires, works out which deadline really passed and
 * re-arms itself for the next one (libev's manual, "be smart about
 * timeouts"). */

static double dmin(double a, double b)
{
    return a < b ? a : b;
}

static double next_deadline(const fut_stream *s, unsigned waiting)
{
    double at = INFINITY;
    if ((waiting & R) && s->rto > 0)
        at = dmin(at, s->rsince + s->rto);
    if ((waiting & W) && s->wto > 0)
        at = dmin(at, s->wsince + s->wto);
    if ((waiting & (R | W)) && s->ito > 0)
        at = dmin(at, s->active + s->ito);
    if (s->close_state != C_NONE)
        at = dmin(at, s->close_at);
    return at;
}

/* Bits of the ops waiting now (kept in the high bits of flags). */
#define ST_RWAIT 0x100
#define ST_WWAIT 0x200
static unsigned waiting_of(const fut_stream *s)
{
    return (s->flags & ST_RWAIT ? R : 0) | (s->flags & ST_WWAIT ? W : 0);
}

static void timer_arm(fut_stream *s, double at)
{
    if (s->timer_at <= at)
        return; /* it fires earlier and re-arms */
    fut__timer_arm(s->rt, &s->timer, at);
    s->timer_at = at;
}

static void timer_fire(fut_rt *rt, fut__timer *t)
{
    fut_stream *s = fut__container_of(t, fut_stream, timer);
    double now = fut__now(rt);
    if (now < t->at)
        now = t->at; /* it passed, whatever the loop's time reads */
    unsigned waiting = waiting_of(s);
    s->timer_at = INFINITY;
    unsigned fired = 0;
    if ((waiting & R) &&
        ((s->rto > 0 && now >= s->rsince + s->rto) || (s->ito > 0 && now >= s->active + s->ito)))
        fired |= R;
    if ((waiting & W) &&
        ((s->wto > 0 && now >= s->wsince + s->wto) || (s->ito > 0 && now >= s->active + s->ito)))
        fired |= W;
    if (s->close_state != C_NONE && now >= s->close_at)
        fired |= T_CLOSE;
    if (fired) {
        s->timedout |= fired;
        fut__fd_wake(&s->h);
    }
    double at = next_deadline(s, waiting & ~fired);
    if (at < INFINITY && !(fired & T_CLOSE))
        timer_arm(s, at);
}

/* The runtime is being freed with the stream still open. */
static void rt_gone(fut_fd *h)
{
    fut_stream *s = fut__container_of(h, fut_stream, h);
    fut__timer_cancel(s->rt, &s->timer);
    s->timer_at = INFINITY;
    s->flags |= ST_GONE;
}

/* --- open and close -------------------------------------------------------------- */

static fut_status stream_poll(fut *self, fut_cx *cx)
{
    int fd = fut_stream_fd((fut_stream *)self);
    return fut_ready(self, fd >= 0 ? fd : -EBADF);
}

static fut_status stream_poll_drop(fut *self, fut_cx *cx);

static const struct fut_vtable stream_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_stream",
    .poll = stream_poll,
    .poll_drop = stream_poll_drop,
};

FUT_API int fut_stream_open(fut_rt *rt, fut_stream *s, int fd, const struct fut_stream_opts *o)
{
    if (!rt || !s || fd < 0)
        return -EINVAL;
    struct fut_stream_opts d = {0};
    if (o)
        d = *o;
    if ((d.rbuf && !d.rbuf_size) || (d.wbuf && !d.wbuf_size))
        return -EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl == -1)
        return -errno;
    int err = fut__fd_usable(fd);
    if (err)
        return err;
    memset(s, 0, sizeof *s);
    s->rcap = d.rbuf_size ? d.rbuf_size : FUT_STREAM_RBUF_DEFAULT;
    s->wcap = d.wbuf_size ? d.wbuf_size : FUT_STREAM_WBUF_DEFAULT;
    s->rbuf = d.rbuf;
    s->wbuf = d.wbuf;
    if (!s->rbuf) {
        if (!(s->rbuf = fut__alloc(s->rcap)))
            return -ENOMEM;
        s->flags |= ST_OWN_R;
    }
    if (!s->wbuf) {
        if (!(s->wbuf = fut__alloc(s->wcap))) {
            if (s->flags & ST_OWN_R)
                fut__free(s->rbuf, s->rcap);
            return -ENOMEM;
        }
        s->flags |= ST_OWN_W;
    }
    if (!(fl & O_NONBLOCK))
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int type;
    socklen_t tl = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0)
        s->flags |= ST_SOCK;
    fut_init(&s->base, &stream_vt);
    s->flags |= ST_OPEN;
    s->rt = rt;
    s->h.fd = fd;
    s->cto = FUT_STREAM_CLOSE_TIMEOUT;
    s->timer_at = INFINITY;
    return 0;
}

/* Registers the fd at the stream's first use. Returns 0, or the op's
 * error when the stream cannot be used. */
static int usable(fut_stream *s)
{
    if (fut__unlikely(!(s->flags & ST_REG))) {
        if (!(s->flags & ST_OPEN) || (s->flags & ST_CLOSED))
            return -EBADF;
        int err = fut_fd_open(s->rt, &s->h, s->h.fd);
        if (err)
            return err;
        s->h.closer = rt_gone;
        fut__timer_init(&s->timer, timer_fire);
        s->flags |= ST_REG;
        s->active = fut__now(s->rt);
        return 0;
    }
    if (fut__unlikely(fut__fd_moved(&s->h, "fut_stream", s)))
        return -EINVAL;
    if (fut__unlikely(s->flags & (ST_GONE | ST_CLOSED)) || fut__unlikely(fut__fd_bad(&s->h)))
        return -EBADF;
    return 0;
}

/* Closes the fd (abortively with `abort`) and releases everything. */
static void finish(fut_stream *s, bool abort)
{
    if (s->flags & ST_CLOSED)
        return;
    bool live = (s->flags & (ST_REG | ST_GONE)) == ST_REG;
    if (live) {
        fut__timer_cancel(s->rt, &s->timer);
        s->timer_at = INFINITY;
        fut_fd_close(&s->h);
    }
    if (abort && (s->flags & ST_SOCK)) {
        struct linger lg = {1, 0};
        setsockopt(stream_fd(s), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    if (stream_fd(s) >= 0)
        close(stream_fd(s));
    if (live && abort)
        s->rt->st.net_aborts++;
    else if (live)
        s->rt->st.net_closes++;
    if (s->flags & ST_OWN_R)
        fut__free(s->rbuf, s->rcap);
    if (s->flags & ST_OWN_W)
        fut__free(s->wbuf, s->wcap);
    s->rbuf = s->wbuf = NULL;
    s->rlen = s->wlen = 0;
    s->flags = (s->flags & ~(ST_OWN_R | ST_OWN_W)) | ST_CLOSED;
    s->h.fd = -1;
}

FUT_API void fut_stream_close_hard(fut_stream *s)
{
    if (s && (s->flags & ST_OPEN))
        finish(s, true);
}

FUT_API int fut_stream_fd(const fut_stream *s)
{
    return s && (s->flags & ST_OPEN) && !(s->flags & ST_CLOSED) ? s->h.fd : -1;
}

FUT_API size_t fut_stream_buffered(const fut_stream *s)
{
    return s ? s->rlen : 0;
}

static int check_timeout(double v)
{
    return isnan(v) || v < 0 ? -EINVAL : 0;
}

FUT_API int fut_stream_set_timeouts(fut_stream *s, double read, double write, double idle)
{
    if (!s || check_timeout(read) || check_timeout(write) || check_timeout(idle))
        return -EINVAL;
    s->rto = isinf(read) ? 0 : read;
    s->wto = isinf(write) ? 0 : write;
    s->ito = isinf(idle) ? 0 : idle;
    if ((s->flags & ST_REG) && !fut__fd_bad(&s->h)) {
        /* ops waiting now count from now */
        s->active = s->rsince = s->wsince = fut__fresh_now(s->rt);
        timer_arm(s, next_deadline(s, waiting_of(s)));
    }
    return 0;
}

FUT_API int fut_stream_set_close_timeout(fut_stream *s, double seconds)
{
    if (!s || check_timeout(seconds))
        return -EINVAL;
    s->cto = seconds;
    return 0;
}

/* --- syscalls ----------------------------------------------------------------- */

static ssize_t do_recv(fut_stream *s, void *buf, size_t len)
{
    ssize_t n;
    do
        n = (s->flags & ST_SOCK) ? recv(stream_fd(s), buf, len, MSG_DONTWAIT)
                                 : read(stream_fd(s), buf, len);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        if ((size_t)n < len) /* drained: the next call would say EAGAIN */
            s->h.ready &= ~R;
        progress(s);
        return n;
    }
    if (n == 0) {
        s->flags |= ST_EOF;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->h.ready &= ~R;
        return -EAGAIN;
    }
    return -errno;
}

static ssize_t do_send(fut_stream *s, const void *buf, size_t len)
{
    ssize_t n;
    do
        n = fut__fd_send(&s->h, buf, len);
    while (n < 0 && errno == EINTR);
    if (n >= 0) {
        if ((size_t)n < len)
            s->h.ready &= ~W;
        progress(s);
        return n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->h.ready &= ~W;
        return -EAGAIN;
    }
    return -errno;
}

/* Sends what the write buffer holds while the kernel takes it. Returns 0
 * once it is empty, 1 when bytes are left and the socket is full, or a
 * negative errno (then sticky in s->err). */
static int flush_some(fut_stream *s)
{
    while (s->wlen) {
        if (!(s->h.ready & W))
            return 1;
        ssize_t n = do_send(s, s->wbuf + s->wpos, s->wlen);
        if (n == -EAGAIN)
            return 1;
        if (n < 0)
            return s->err = (int)n;
        s->wpos += (size_t)n;
        s->wlen -= (size_t)n;
    }
    s->wpos = 0;
    return 0;
}

/* Reads into the read buffer's free tail. */
static ssize_t fill(fut_stream *s)
{
    if (s->rpos + s->rlen == s->rcap) {
        memmove(s->rbuf, s->rbuf + s->rpos, s->rlen);
        s->rpos = 0;
    }
    size_t tail = s->rpos + s->rlen;
    ssize_t n = do_recv(s, s->rbuf + tail, s->rcap - tail);
    if (n > 0)
        s->rlen += (size_t)n;
    return n;
}

static void consume(fut_stream *s, void *dst, size_t n)
{
    memcpy(dst, s->rbuf + s->rpos, n);
    fut_stream_consume(s, n);
}

/* --- ops ------------------------------------------------------------------------ */

static fut_status op_done(fut_stream_op *op, ssize_t v)
{
    if (op->waiting) {
        op->waiting = 0;
        op->s->flags &= ~(IS_READ(op->kind) ? ST_RWAIT : ST_WWAIT);
    }
    return fut_ready(&op->base, v);
}

/* Waits for `dir`; a reader also waits for room to push out bytes left in
 * the write buffer, so they never stay there while the stream waits. */
static fut_status op_wait(fut_stream_op *op, int dir, fut_cx *cx)
{
    fut_stream *s = op->s;
    if (fut__cx_cancelled(cx))
        return op_done(op, -ECANCELED);
    if (!op->waiting) {
        op->waiting = 1;
        s->flags |= dir == R ? ST_RWAIT : ST_WWAIT;
        if (fut__unlikely(s->rto > 0 || s->wto > 0 || s->ito > 0)) {
            double now = fut__now(s->rt);
            *(dir == R ? &s->rsince : &s->wsince) = now;
            timer_arm(s, next_deadline(s, waiting_of(s)));
        }
    }
    fut__fd_arm(&s->h, dir | (dir == R && s->wlen ? W : 0), cx);
    return FUT_PENDING;
}

static fut_status read_step(fut_stream_op *op, fut_cx *cx)
{
    fut_stream *s = op->s;
    for (;;) {
        ssize_t n;
        switch (op->kind) {
        case K_READ:
            if (s->rlen) {
                n = (ssize_t)(s->rlen < op->len ? s->rlen : op->len);
                consume(s, op->buf, (size_t)n);
                return op_done(op, n);
            }
            if (s->flags & ST_EOF)
                return op_done(op, 0);
            if (!(s->h.ready & R))
                return op_wait(op, R, cx);
            n = do_recv(s, op->buf, op->len);
            if (n == -EAGAIN)
                continue;
            return op_done(op, n);
        case K_EXACT:
            if (s->rlen && op->done < op->len) {
                size_t k = op->len - op->done;
                if (k > s->rlen)
                    k = s->rlen;
                consume(s, op->buf + op->done, k);
                op->done += k;
            }
            if (op->done == op->len)
                return op_done(op, (ssize_t)op->len);
            if (s->flags & ST_EOF)
                return op_done(op, -EPIPE);
            if (!(s->h.ready & R))
                return op_wait(op, R, cx);
            n = do_recv(s, op->buf + op->done, op->len - op->done);
            if (n > 0)
                op->done += (size_t)n;
            else if (n < 0 && n != -EAGAIN)
                return op_done(op, n);
            continue;
        case K_FILL:
            if (s->flags & ST_EOF)
                return op_done(op, 0);
            if (s->rlen == s->rcap)
                return op_done(op, -EMSGSIZE);
            if (!(s->h.ready & R))
                return op_wait(op, R, cx);
            n = fill(s);
            if (n > 0)
                return op_done(op, (ssize_t)s->rlen);
            if (n == 0 || n != -EAGAIN)
                return op_done(op, n);
            continue;
        default: { /* K_UNTIL */
            size_t look = s->rlen < op->len ? s->rlen : op->len;
            unsigned char *hit = look ? memchr(s->rbuf + s->rpos, op->delim, look) : NULL;
            if (hit) {
                n = hit - (s->rbuf + s->rpos) + 1;
                consume(s, op->buf, (size_t)n);
                return op_done(op, n);
            }
            if (s->rlen >= op->len)
                return op_done(op, -EMSGSIZE);
            if (s->flags & ST_EOF) {
                n = (ssize_t)s->rlen;
                consume(s, op->buf, s->rlen);
                return op_done(op, n);
            }
            if (!(s->h.ready & R))
                return op_wait(op, R, cx);
            n = fill(s);
            if (n < 0 && n != -EAGAIN)
                return op_done(op, n);
            continue;
        }
        }
    }
}

static fut_status write_step(fut_stream_op *op, fut_cx *cx)
{
    fut_stream *s = op->s;
    if (s->err)
        return op_done(op, s->err);
    if (op->kind == K_WRITE) {
        if (s->flags & ST_SHUT)
            return op_done(op, -EPIPE);
        while (op->done < op->len) {
            size_t left = op->len - op->done;
            if (!s->wlen && (s->h.ready & W)) { /* nothing queued: straight to the kernel */
                ssize_t n = do_send(s, op->buf + op->done, left);
                if (n >= 0) {
                    op->done += (size_t)n;
                    continue;
                }
                if (n != -EAGAIN)
                    return op_done(op, s->err = (int)n);
            }
            if (s->wpos && s->wpos + s->wlen == s->wcap) {
                memmove(s->wbuf, s->wbuf + s->wpos, s->wlen);
                s->wpos = 0;
            }
            size_t room = s->wcap - s->wpos - s->wlen;
            if (room) {
                size_t k = left < room ? left : room;
                memcpy(s->wbuf + s->wpos + s->wlen, op->buf + op->done, k);
                s->wlen += k;
                op->done += k;
                continue;
            }
            int r = flush_some(s);
            if (r < 0)
                return op_done(op, r);
            if (r > 0)
                return op_wait(op, W, cx);
        }
        flush_some(s); /* an error is sticky: the next op reports it */
        return op_done(op, (ssize_t)op->len);
    }
    int r = flush_some(s);
    if (r < 0)
        return op_done(op, r);
    if (r > 0)
        return op_wait(op, W, cx);
    if (op->kind == K_SHUT && !(s->flags & ST_SHUT)) {
        s->flags |= ST_SHUT;
        if ((s->flags & ST_SOCK) && shutdown(stream_fd(s), SHUT_WR) == -1 && errno != ENOTCONN)
            return op_done(op, -errno);
    }
    return op_done(op, 0);
}

static fut_status op_poll(fut *self, fut_cx *cx)
{
    fut_stream_op *op = (fut_stream_op *)self;
    fut_stream *s = op->s;
    int err = usable(s);
    if (err)
        return op_done(op, err);
    int dir = IS_READ(op->kind) ? R : W;
    if (fut__unlikely(s->timedout & dir)) {
        s->timedout &= ~(unsigned)dir;
        return op_done(op, -ETIMEDOUT);
    }
    if (dir == R) {
        if (s->wlen && !s->err)
            flush_some(s);
        return read_step(op, cx);
    }
    return write_step(op, cx);
}

/* A pending op leaves its waker in the stream's slot: the next wait by
 * the same task reuses it, and the stream's close gives it back. */
static void op_drop(fut *self)
{
    fut_stream_op *op = (fut_stream_op *)self;
    if (op->waiting) {
        op->waiting = 0;
        op->s->flags &= ~(IS_READ(op->kind) ? ST_RWAIT : ST_WWAIT);
    }
}

static const struct fut_vtable op_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_stream_op",
    .poll = op_poll,
    .drop = op_drop,
};

static fut *op_init(fut_stream_op *op, fut_stream *s, int kind, void *buf, size_t len)
{
    fut_init(&op->base, &op_vt);
    op->s = s;
    op->kind = kind;
    op->buf = buf;
    op->len = len;
    op->done = 0;
    op->waiting = 0;
    return &op->base;
}

static const struct fut_vtable bad_vt;

static fut_status bad_poll(fut *self, fut_cx *cx)
{
    return fut_ready(self, -EINVAL);
}

static const struct fut_vtable bad_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_stream_op (invalid)",
    .poll = bad_poll,
};

/* Bad arguments make the op READY with -EINVAL at its first poll. */
static fut *op_bad(fut_stream_op *op, fut_stream *s)
{
    fut_init(&op->base, &bad_vt);
    op->s = s;
    op->waiting = 0;
    return &op->base;
}

FUT_API fut *fut_stream_read(fut_stream_op *op, fut_stream *s, void *buf, size_t len)
{
    if (!s || !buf || !len)
        return op_bad(op, s);
    return op_init(op, s, K_READ, buf, len);
}

FUT_API fut *fut_stream_read_exact(fut_stream_op *op, fut_stream *s, void *buf, size_t len)
{
    if (!s || (!buf && len))
        return op_bad(op, s);
    return op_init(op, s, K_EXACT, buf, len);
}

FUT_API fut *fut_stream_read_until(fut_stream_op *op, fut_stream *s, void *buf, size_t max,
                                   int delim)
{
    if (!s || !buf || !max || max > s->rcap)
        return op_bad(op, s);
    fut *f = op_init(op, s, K_UNTIL, buf, max);
    op->delim = (unsigned char)delim;
    return f;
}

FUT_API fut *fut_stream_fill(fut_stream_op *op, fut_stream *s)
{
    if (!s)
        return op_bad(op, s);
    return op_init(op, s, K_FILL, NULL, 0);
}

FUT_API const unsigned char *fut_stream_peek(const fut_stream *s, size_t *len)
{
    *len = s && s->rbuf ? s->rlen : 0;
    return *len ? s->rbuf + s->rpos : NULL;
}

FUT_API void fut_stream_consume(fut_stream *s, size_t n)
{
    if (!s)
        return;
    if (n > s->rlen)
        n = s->rlen;
    s->rlen -= n;
    s->rpos = s->rlen ? s->rpos + n : 0;
}

FUT_API fut *fut_stream_read_line(fut_stream_op *op, fut_stream *s, void *buf, size_t max)
{
    return fut_stream_read_until(op, s, buf, max, '\n');
}

FUT_API fut *fut_stream_write(fut_stream_op *op, fut_stream *s, const void *buf, size_t len)
{
    if (!s || (!buf && len))
        return op_bad(op, s);
    return op_init(op, s, K_WRITE, (void *)buf, len);
}

FUT_API fut *fut_stream_flush(fut_stream_op *op, fut_stream *s)
{
    if (!s)
        return op_bad(op, s);
    return op_init(op, s, K_FLUSH, NULL, 0);
}

FUT_API fut *fut_stream_shutdown(fut_stream_op *op, fut_stream *s)
{
    if (!s)
        return op_bad(op, s);
    return op_init(op, s, K_SHUT, NULL, 0);
}

FUT_API size_t fut_stream_op_done(const fut_stream_op *op)
{
    return op ? op->done : 0;
}

/* --- graceful close -------------------------------------------------------------
 * FLUSH (write what is buffered), shutdown(SHUT_WR), DRAIN (read and
 * discard until the peer's end of file), close. Escalation, or the close
 * timeout, jumps to an abortive close. */

static fut_status close_wait(fut_stream *s, int dir, fut_cx *cx)
{
    fut__fd_arm(&s->h, dir, cx);
    return FUT_PENDING;
}

static fut_status stream_poll_drop(fut *self, fut_cx *cx)
{
    fut_stream *s = (fut_stream *)self;
    if (!(s->flags & ST_OPEN) || (s->flags & ST_CLOSED))
        return FUT_READY;
    if ((s->flags & (ST_REG | ST_GONE)) != ST_REG || fut__fd_bad(&s->h)) {
        finish(s, false); /* never used, or its runtime is gone */
        return FUT_READY;
    }
    if (fut__fd_moved(&s->h, "fut_stream", s)) {
        /* libev still watches the fd through the original: leave both
         * (closing the fd would make libev abort); free the buffers. */
        fut__fd_forget(&s->h);
        s->flags &= ~(unsigned)ST_REG;
        s->h.fd = -1;
        finish(s, false);
        return FUT_READY;
    }
    if (fut_cx_escalated(cx) || (s->timedout & T_CLOSE)) {
        finish(s, true);
        return FUT_READY;
    }
    if (s->close_state == C_NONE) {
        s->close_state = C_FLUSH;
        s->flags &= ~(unsigned)(ST_RWAIT | ST_WWAIT);
        s->close_at = s->cto > 0 && !isinf(s->cto) ? fut__fresh_now(s->rt) + s->cto : INFINITY;
        timer_arm(s, s->close_at);
    }
    if (s->close_state == C_FLUSH) {
        int seen = s->err; /* an op reported it already */
        int r = seen ? seen : flush_some(s);
        if (r > 0)
            return close_wait(s, W, cx);
        if (r < 0) {   /* the connection is broken: nothing to say goodbye to */
            if (!seen) /* buffered bytes that never reached the peer */
                fut_cx_report(cx, r);
            finish(s, false);
            return FUT_READY;
        }
        if ((s->flags & ST_SOCK) && !(s->flags & ST_SHUT))
            shutdown(stream_fd(s), SHUT_WR);
        s->flags |= ST_SHUT;
        s->close_state = C_DRAIN;
    }
    /* DRAIN: the peer's end of file says it has read everything we sent
     * (closing with unread bytes would make the kernel send a reset). */
    while ((s->flags & ST_SOCK) && !(s->flags & ST_EOF)) {
        if (!(s->h.ready & R))
            return close_wait(s, R, cx);
        s->rpos = 0;
        s->rlen = 0;
        ssize_t n = do_recv(s, s->rbuf, s->rcap);
        if (n < 0 && n != -EAGAIN)
            break; /* reset: nothing more to wait for */
    }
    finish(s, false);
    return FUT_READY;
}
