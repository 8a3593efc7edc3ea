/* SPDX-License-Identifier: MIT */
/* Registered fds: one persistent io watch per fd, readiness cached between
 * waits (see <fut/fd.h>). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#define H_OPEN FUT__H_OPEN
#define H_CHECKED FUT__H_CHECKED
#define H_BAD FUT__H_BAD
#define H_NOTSOCK FUT__H_NOTSOCK

#define BOTH (FUT_READABLE | FUT_WRITABLE)

static fut__watch *io_of(fut_fd *h)
{
    return fut__watch_of(&h->io);
}

/* Watches exactly the directions someone waits for and the cache does not
 * already have. Stop and start within one loop iteration cost nothing:
 * libev compares the mask when it next talks to the kernel. */
static void update(fut_fd *h)
{
    int want = 0;
    if (h->rwaker && !(h->ready & FUT_READABLE))
        want |= FUT_READABLE;
    if (h->wwaker && !(h->ready & FUT_WRITABLE))
        want |= FUT_WRITABLE;
    if (want == h->want || (h->flags & H_BAD))
        return;
    fut__watch_io_want(h->rt, io_of(h), want);
    if (want && !(h->flags & H_CHECKED) && fut__list_empty(&h->unchecked))
        fut__list_add_tail(&h->rt->fd_unchecked, &h->unchecked);
    h->want = want;
}

static void take_slot(fut_waker **slot, fut_waker **spare, fut_waker *w);

static void wake_slot(fut_waker *w)
{
    if (w)
        fut_waker_wake(w);
}

static void fd_cb(fut__watch *w, int events)
{
    fut_fd *h = fut__watch_data(w);
    int r = events & BOTH;
    if (events & FUT__WATCH_ERROR) { /* libev gave up on the fd */
        h->flags |= H_BAD;
        h->want = 0;
        r = BOTH;
    }
    int fresh = r & ~h->ready;
    h->ready |= r;
    if (r & FUT_READABLE) {
        wake_slot(h->rwaker);
        wake_slot(h->rspare);
    }
    if (r & FUT_WRITABLE) {
        wake_slot(h->wwaker);
        wake_slot(h->wspare);
    }
    /* Keep watching after a first report: the waiter usually runs in the
     * next drain and waits again before the loop polls, so the kernel's
     * interest never changes. Reported again while the cached readiness is
     * still unconsumed (the waiter did not run yet, or nobody waits), stop
     * watching what is cached, or level-triggered epoll would report it on
     * every iteration. */
    if (!fresh || (events & FUT__WATCH_ERROR))
        update(h);
}

/* Called from the prepare watcher, right before libev registers the fd. */
void fut__fd_check(fut_fd *h)
{
    h->flags |= H_CHECKED;
    if (fut__fd_usable(h->fd) != -EBADF)
        return;
    fut__watch_stop(h->rt, io_of(h));
    h->flags |= H_BAD;
    h->want = 0;
    wake_slot(h->rwaker);
    wake_slot(h->wwaker);
    wake_slot(h->rspare);
    wake_slot(h->wspare);
}

FUT_API int fut_fd_open(fut_rt *rt, fut_fd *h, int fd)
{
    if (!rt || !h || fd < 0)
        return -EINVAL;
    int err = fut__fd_usable(fd);
    if (err)
        return err;
    int fl = fcntl(fd, F_GETFL);
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
        return -errno;
    h->fd = fd;
    h->ready = BOTH;
    h->want = 0;
    h->flags = H_OPEN;
    h->rt = rt;
    h->rwaker = h->wwaker = h->rspare = h->wspare = NULL;
    h->closer = NULL;
    fut__list_init(&h->unchecked);
    fut__list_add_tail(&rt->fds, &h->open);
    fut__watch_io_init(io_of(h), fd_cb, h, fd, 0, 0);
    return 0;
}

/* Also used by fut_rt_free() on handles left open. */
void fut__fd_close(fut_fd *h)
{
    fut__watch_stop(h->rt, io_of(h));
    fut__list_del(&h->unchecked);
    fut__list_del(&h->open);
    fut_waker *all[4] = {h->rwaker, h->wwaker, h->rspare, h->wspare};
    h->rwaker = h->wwaker = h->rspare = h->wspare = NULL;
    /* Waits still on it (a bug of the caller, or rt_free) see -EBADF. */
    h->flags = H_BAD;
    h->want = 0;
    for (int i = 0; i < 4; i++) {
        if (all[i]) {
            fut__wake_drop(all[i]);
        }
    }
    if (h->closer) { /* the runtime is going: the owner's watchers too */
        void (*closer)(fut_fd *) = h->closer;
        h->closer = NULL;
        closer(h);
    }
}

bool fut__fd_moved_slow(fut_fd *h, const char *what, const void *obj)
{
    void *home = fut__watch_data(io_of(h));
    fut__diag("%s %p was moved after its fd %d was registered with the loop (at %p): "
              "open it where it will stay (inside the task), or spawn before opening it",
              what, obj, h->fd, (void *)((char *)obj + ((char *)home - (char *)h)));
    return true;
}

/* The drop of a moved copy: libev still knows the original's watcher,
 * which cannot be stopped through a copy, and closing the fd would make
 * libev abort at its next epoll_ctl. Unlink the original from the
 * runtime's lists (the copy's links are the original's), so that
 * fut_rt_free() does not touch memory that may be gone; the fd stays
 * open. */
void fut__fd_forget(fut_fd *copy)
{
    fut__list_del(&copy->unchecked);
    fut__list_del(&copy->open);
    copy->rwaker = copy->wwaker = copy->rspare = copy->wspare = NULL;
    copy->flags = H_BAD;
}

/* A stream's persistent wait: the slots keep the waker between waits
 * (nothing to clone or give back when the same task waits again). */
void fut__fd_arm(fut_fd *h, int events, fut_cx *cx)
{
    fut__cx_arrange(cx);
    fut_waker *w = cx->waker;
    /* the same task waiting again for what is watched already: nothing */
    if (fut__likely((events & ~h->want) == 0) && (!(events & FUT_READABLE) || h->rwaker == w) &&
        (!(events & FUT_WRITABLE) || h->wwaker == w))
        return;
    if ((events & FUT_READABLE) && h->rwaker != w)
        take_slot(&h->rwaker, &h->rspare, w);
    if ((events & FUT_WRITABLE) && h->wwaker != w)
        take_slot(&h->wwaker, &h->wspare, w);
    update(h);
}

void fut__fd_wake(fut_fd *h)
{
    wake_slot(h->rwaker);
    wake_slot(h->wwaker);
    wake_slot(h->rspare);
    wake_slot(h->wspare);
}

ssize_t fut__fd_send(fut_fd *h, const void *buf, size_t len)
{
    if (!(h->flags & H_NOTSOCK)) {
        ssize_t n = send(h->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0 || errno != ENOTSOCK)
            return n;
        h->flags |= H_NOTSOCK;
    }
    return write(h->fd, buf, len);
}

FUT_API void fut_fd_close(fut_fd *h)
{
    if (h && (h->flags & H_OPEN))
        fut__fd_close(h);
}

FUT_API void fut_fd_clear(fut_fd *h, int events)
{
    h->ready &= ~events;
}

/* --- waiting ------------------------------------------------------------------ */

/* Takes the slots for `events` with this poll's waker; a different waker
 * already there is woken so that it polls again (it takes its turn). */
static void take_slot(fut_waker **slot, fut_waker **spare, fut_waker *w)
{
    if (*slot == w || *spare == w)
        return;
    if (*slot) {
        if (*spare) { /* a third waiter: the oldest polls again */
            fut__wake_drop(*spare);
        }
        *spare = *slot; /* parked, not woken: no spinning */
    }
    *slot = fut_waker_clone(w);
}

static void give_slot(fut_waker **slot, fut_waker **spare, fut_waker *w)
{
    if (*slot == w) {
        fut_waker_drop(*slot);
        *slot = *spare; /* the parked one moves up */
        *spare = NULL;
    } else if (*spare == w) {
        fut_waker_drop(*spare);
        *spare = NULL;
    }
}

static void take_slots(fut_fd *h, int events, fut_waker **mine, fut_cx *cx)
{
    fut_waker *w = fut_cx_waker(cx);
    if (events & FUT_READABLE)
        take_slot(&h->rwaker, &h->rspare, w);
    if (events & FUT_WRITABLE)
        take_slot(&h->wwaker, &h->wspare, w);
    if (*mine != w) {
        fut_waker_drop(*mine);
        *mine = fut_waker_clone(w);
    }
    update(h);
}

/* Gives back the slots this future holds (those still holding its waker). */
static void give_slots(fut_fd *h, int events, fut_waker **mine)
{
    if (!*mine)
        return;
    if (events & FUT_READABLE)
        give_slot(&h->rwaker, &h->rspare, *mine);
    if (events & FUT_WRITABLE)
        give_slot(&h->wwaker, &h->wspare, *mine);
    fut_waker_drop(*mine);
    *mine = NULL;
    /* Nobody waiting: stop watching, or the active watch would keep a
     * borrowed loop running. A new wait in the same iteration
     * restarts it with the same mask, which costs libev no syscall. */
    if (h->flags & H_OPEN)
        update(h);
}

static fut_status wait_poll(fut *self, fut_cx *cx)
{
    fut_fd_wait *fw = (fut_fd_wait *)self;
    fut_fd *h = fw->h;
    if (fut__unlikely(fut__fd_moved(h, "fut_fd", h)))
        return fut_ready(self, -EINVAL);
    int r = h->ready & fw->events;
    if (!(fw->events & BOTH) || (h->flags & H_BAD) || r) {
        give_slots(h, fw->events, &fw->waker);
        return fut_ready(self, !(fw->events & BOTH) ? -EINVAL : (h->flags & H_BAD) ? -EBADF : r);
    }
    if (fut_cx_cancelled(cx)) {
        give_slots(h, fw->events, &fw->waker);
        return fut_ready(self, -ECANCELED);
    }
    take_slots(h, fw->events, &fw->waker, cx);
    return FUT_PENDING;
}

static void wait_drop(fut *self)
{
    fut_fd_wait *fw = (fut_fd_wait *)self;
    give_slots(fw->h, fw->events, &fw->waker);
}

static const struct fut_vtable wait_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_fd_wait",
    .poll = wait_poll,
    .drop = wait_drop,
};

FUT_API fut *fut_fd_wait_init(fut_fd_wait *w, fut_fd *h, int events)
{
    fut_init(&w->base, &wait_vt);
    w->h = h;
    w->events = events;
    w->waker = NULL;
    return &w->base;
}

/* --- read and write ------------------------------------------------------------- */

static fut_status rw_poll(fut *self, fut_cx *cx)
{
    fut_fd_op *op = (fut_fd_op *)self;
    fut_fd *h = op->h;
    int dir = op->write ? FUT_WRITABLE : FUT_READABLE;
    if (fut__unlikely(fut__fd_moved(h, "fut_fd", h)))
        return fut_ready(self, -EINVAL);
    for (;;) {
        if (h->flags & H_BAD) {
            give_slots(h, dir, &op->waker);
            return fut_ready(self, -EBADF);
        }
        if (!(h->ready & dir)) {
            if (fut_cx_cancelled(cx)) {
                give_slots(h, dir, &op->waker);
                return fut_ready(self, -ECANCELED);
            }
            take_slots(h, dir, &op->waker, cx);
            return FUT_PENDING;
        }
        ssize_t n = op->write ? fut__fd_send(h, op->buf, op->len) : read(h->fd, op->buf, op->len);
        if (n >= 0) {
            /* Short: the kernel's buffer was drained (read) or filled
             * (write); the next call would fail with EAGAIN. */
            if (n > 0 && (size_t)n < op->len)
                h->ready &= ~dir;
            give_slots(h, dir, &op->waker);
            return fut_ready(self, n);
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            h->ready &= ~dir;
        else if (errno != EINTR) {
            int err = errno;
            give_slots(h, dir, &op->waker);
            return fut_ready(self, -err);
        }
    }
}

static void rw_drop(fut *self)
{
    fut_fd_op *op = (fut_fd_op *)self;
    give_slots(op->h, op->write ? FUT_WRITABLE : FUT_READABLE, &op->waker);
}

static const struct fut_vtable rw_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_fd_op",
    .poll = rw_poll,
    .drop = rw_drop,
};

static fut *rw_init(fut_fd_op *op, fut_fd *h, void *buf, size_t len, int write)
{
    fut_init(&op->base, &rw_vt);
    op->h = h;
    op->buf = buf;
    op->len = len;
    op->write = write;
    op->waker = NULL;
    return &op->base;
}

FUT_API fut *fut_fd_read(fut_fd_op *op, fut_fd *h, void *buf, size_t len)
{
    return rw_init(op, h, buf, len, 0);
}

FUT_API fut *fut_fd_write(fut_fd_op *op, fut_fd *h, const void *buf, size_t len)
{
    return rw_init(op, h, (void *)buf, len, 1);
}
