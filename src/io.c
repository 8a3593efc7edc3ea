/* SPDX-License-Identifier: MIT */
/* fd readiness on ev_io, with an optional deadline on the runtime's timers. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>

#define I_ARMED 0x1u
#define I_TIMEDOUT 0x2u
#define I_BADF 0x4u

static ev_io *io_of(fut_io *f)
{
    return (ev_io *)(void *)&f->io;
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    fut_io *f = w->data;
    /* Level-triggered: stop now, or libev reports it every iteration until
     * the task gets to run. */
    ev_io_stop(loop, w);
    f->revents |= fut__from_ev_events(revents);
    fut_waker_wake(f->waker);
}

static void io_timeout_fire(fut_rt *rt, fut__timer *t)
{
    fut_io *f = fut__container_of(t, fut_io, timer);
    f->flags |= I_TIMEDOUT;
    fut_waker_wake(f->waker);
}

/* 0 when epoll can watch fd, else the negative errno. An O_PATH
 * descriptor is open (F_GETFD accepts it) but epoll_ctl rejects it with
 * EBADF, on which libev aborts: it is as unusable as a closed one. */
int fut__fd_usable(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl == -1)
        return -errno;
#ifdef O_PATH
    if (fl & O_PATH)
        return -EBADF;
#endif
    return 0;
}

void fut__check_fds(fut_rt *rt)
{
    fut__list *pos, *tmp;
    fut__list_each_safe(pos, tmp, &rt->fd_unchecked) {
        fut__list_del(pos);
        fut__fd_check(fut__container_of(pos, fut_fd, unchecked));
    }
    fut__list_each_safe(pos, tmp, &rt->io_unchecked) {
        fut_io *f = fut__container_of(pos, fut_io, unchecked);
        fut__list_del(pos);
        if (fut__fd_usable(f->fd) == -EBADF) {
            ev_io_stop(rt->loop, io_of(f));
            f->flags |= I_BADF;
            fut_waker_wake(f->waker);
        }
    }
    /* This iteration's drain has already run: a task woken above must not
     * wait for the loop to block and wake up for something else. */
    if (rt->head && !ev_is_active(&rt->idle))
        ev_idle_start(rt->loop, &rt->idle);
}

static void io_release(fut_io *f)
{
    if (f->flags & I_ARMED) {
        fut__list_del(&f->unchecked);
        if (ev_is_active(io_of(f)))
            ev_io_stop(f->rt->loop, io_of(f));
        fut__timer_cancel(f->rt, &f->timer);
    }
    fut_waker_drop(f->waker);
    f->waker = NULL;
}

static fut_status io_poll(fut *self, fut_cx *cx)
{
    fut_io *f = (fut_io *)self;
    if (!(f->flags & I_ARMED)) {
        if (f->fd < 0 || !(f->events & (FUT_READABLE | FUT_WRITABLE)))
            return fut_ready(self, -EINVAL);
        /* A bad fd gets its error now, and never reaches libev (which
         * would size its fd table to it, then abort in epoll_ctl). The
         * prepare watcher checks again right before libev registers it. */
        int err = fut__fd_usable(f->fd);
        if (err)
            return fut_ready(self, err);
        f->rt = fut_cx_rt(cx);
        ev_io_init(io_of(f), io_cb, f->fd, fut__to_ev_events(f->events));
        io_of(f)->data = f;
        fut__timer_init(&f->timer, io_timeout_fire);
        ev_io_start(f->rt->loop, io_of(f));
        fut__list_add_tail(&f->rt->io_unchecked, &f->unchecked);
        if (f->timeout >= 0) /* the deadline counts from now */
            fut__timer_arm(f->rt, &f->timer, fut__fresh_now(f->rt) + f->timeout);
        f->flags |= I_ARMED;
    } else if (f->revents || (f->flags & (I_TIMEDOUT | I_BADF))) {
        int r = f->revents ? f->revents : f->flags & I_BADF ? -EBADF : -ETIMEDOUT;
        io_release(f);
        return fut_ready(self, r);
    }
    if (fut_cx_cancelled(cx)) {
        io_release(f);
        f->flags &= ~I_ARMED;
        return fut_ready(self, -ECANCELED);
    }
    fut__keep_waker(&f->waker, cx);
    return FUT_PENDING;
}

static void io_drop(fut *self)
{
    io_release((fut_io *)self);
}

static const struct fut_vtable io_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_io",
    .poll = io_poll,
    .drop = io_drop,
};

FUT_API fut *fut_io_init(fut_io *f, int fd, int events)
{
    fut_init(&f->base, &io_vt);
    f->fd = fd;
    f->events = events;
    f->timeout = -1;
    f->rt = NULL;
    f->waker = NULL;
    f->revents = 0;
    f->flags = 0;
    /* unchecked is linked when armed: a future may move until then */
    return &f->base;
}

FUT_API fut *fut_io_readable_init(fut_io *f, int fd)
{
    return fut_io_init(f, fd, FUT_READABLE);
}

FUT_API fut *fut_io_writable_init(fut_io *f, int fd)
{
    return fut_io_init(f, fd, FUT_WRITABLE);
}

FUT_API int fut_io_set_timeout(fut_io *f, double seconds)
{
    if (!f || isnan(seconds) || seconds < 0 || (f->flags & I_ARMED))
        return -EINVAL;
    f->timeout = seconds;
    return 0;
}
