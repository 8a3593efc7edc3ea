/* SPDX-License-Identifier: MIT */
/* Listeners and accept (<fut/net.h>). */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define L_OPEN 0x1
#define L_REG 0x2    /* registered with the loop */
#define L_UNLINK 0x4 /* we created the socket path */
#define L_GONE 0x8   /* the runtime was freed under it */
#define L_BACKOFF 0x10

/* Out of fds: retry after 10 ms, doubling up to 1 s. */
#define BACKOFF_MIN 0.010
#define BACKOFF_MAX 1.0

static fut_status listener_poll(fut *self, fut_cx *cx)
{
    int fd = fut_listener_fd((fut_listener *)self);
    return fut_ready(self, fd >= 0 ? fd : -EBADF);
}

static void listener_drop(fut *self)
{
    fut_listener *l = (fut_listener *)self;
    if (!(l->state & L_OPEN))
        return;
    bool moved = false;
    if ((l->state & (L_REG | L_GONE)) == L_REG) {
        /* A moved copy: libev watches the original; leave it and the fd
         * (closing it would make libev abort). */
        moved = fut__fd_moved(&l->h, "fut_listener", l);
        if (!moved)
            fut__timer_cancel(l->rt, &l->timer);
        moved ? fut__fd_forget(&l->h) : fut_fd_close(&l->h);
    }
    fut_waker_drop(l->waker);
    l->waker = NULL;
    if (!moved)
        close(l->h.fd);
    if (l->state & L_UNLINK)
        unlink(l->addr.u.un.sun_path);
    l->state = 0;
    l->h.fd = -1;
}

static const struct fut_vtable listener_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_listener",
    .poll = listener_poll,
    .drop = listener_drop,
};

static int setopt(int fd, int level, int name, int v)
{
    return setsockopt(fd, level, name, &v, sizeof v) == -1 ? -errno : 0;
}

FUT_API int fut_listener_open_addr(fut_rt *rt, fut_listener *l, const fut_addr *a, int backlog,
                                   unsigned flags)
{
    if (!rt || !l || !a)
        return -EINVAL;
    int fam = a->u.sa.sa_family;
    if (fam != AF_INET && fam != AF_INET6 && fam != AF_UNIX)
        return -EINVAL;
    int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -errno;
    int err = 0;
    if (fam != AF_UNIX)
        err = setopt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (!err && (flags & FUT_LISTEN_REUSEPORT))
        err = setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (!err && fam == AF_INET6)
        err = setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, (flags & FUT_LISTEN_V6ONLY) != 0);
    if (!err && bind(fd, &a->u.sa, a->len) == -1)
        err = -errno;
    bool made_path = !err && fam == AF_UNIX && a->u.un.sun_path[0] != '\0';
    if (!err && listen(fd, backlog > 0 ? backlog : FUT_LISTEN_BACKLOG) == -1)
        err = -errno;
    memset(l, 0, sizeof *l);
    l->addr = *a;
    socklen_t len = sizeof l->addr.u;
    if (!err && fam != AF_UNIX) {
        if (getsockname(fd, &l->addr.u.sa, &len) == -1)
            err = -errno;
        else
            l->addr.len = len;
    }
    if (err) {
        close(fd);
        if (made_path)
            unlink(a->u.un.sun_path);
        return err;
    }
    fut_init(&l->base, &listener_vt);
    l->rt = rt;
    l->flags = flags;
    l->h.fd = fd;
    l->state = L_OPEN | (made_path ? L_UNLINK : 0);
    return 0;
}

FUT_API int fut_listener_open(fut_rt *rt, fut_listener *l, const char *addr, int backlog,
                              unsigned flags)
{
    fut_addr a;
    int err = fut_addr_parse(&a, addr);
    return err ? err : fut_listener_open_addr(rt, l, &a, backlog, flags);
}

FUT_API const fut_addr *fut_listener_addr(const fut_listener *l)
{
    return l ? &l->addr : NULL;
}

FUT_API int fut_listener_fd(const fut_listener *l)
{
    return l && (l->state & L_OPEN) ? l->h.fd : -1;
}

FUT_API unsigned long fut_listener_backoffs(const fut_listener *l)
{
    return l ? l->backoffs : 0;
}

/* --- accept ------------------------------------------------------------------- */

static void backoff_fire(fut_rt *rt, fut__timer *t)
{
    fut_listener *l = fut__container_of(t, fut_listener, timer);
    l->state &= ~L_BACKOFF;
    if (l->waker)
        fut_waker_wake(l->waker);
}

static void rt_gone(fut_fd *h)
{
    fut_listener *l = fut__container_of(h, fut_listener, h);
    fut__timer_cancel(l->rt, &l->timer);
    l->state |= L_GONE;
}

static int listener_usable(fut_listener *l)
{
    if (fut__unlikely(!(l->state & L_REG))) {
        if (!(l->state & L_OPEN))
            return -EBADF;
        int err = fut_fd_open(l->rt, &l->h, l->h.fd);
        if (err)
            return err;
        l->h.closer = rt_gone;
        l->h.ready = 0; /* wait for the first connection instead of trying */
        fut__timer_init(&l->timer, backoff_fire);
        l->state |= L_REG;
        return 0;
    }
    if (fut__unlikely(fut__fd_moved(&l->h, "fut_listener", l)))
        return -EINVAL;
    if (!(l->state & L_OPEN) || (l->state & L_GONE) || fut__fd_bad(&l->h))
        return -EBADF;
    return 0;
}

/* Out of fds: leave the readiness cached (so the fd is not watched: a
 * level-triggered listener with a queued connection would report on
 * every iteration) and retry from a timer. */
static fut_status back_off(fut_listener *l, fut_cx *cx)
{
    fut__keep_waker(&l->waker, cx);
    l->backoff = l->backoff > 0 ? l->backoff * 2 : BACKOFF_MIN;
    if (l->backoff > BACKOFF_MAX)
        l->backoff = BACKOFF_MAX;
    l->backoffs++;
    l->rt->st.net_accept_backoffs++;
    l->state |= L_BACKOFF;
    fut__timer_arm(l->rt, &l->timer, fut__fresh_now(l->rt) + l->backoff);
    return FUT_PENDING;
}

static fut_status accept_poll(fut *self, fut_cx *cx)
{
    fut_accept *a = (fut_accept *)self;
    fut_listener *l = a->l;
    if (!l)
        return fut_ready(self, -EINVAL);
    int err = listener_usable(l);
    if (err)
        return fut_ready(self, err);
    for (;;) {
        bool wait = (l->state & L_BACKOFF) || !(l->h.ready & FUT_READABLE);
        if (wait && fut__cx_cancelled(cx))
            return fut_ready(self, -ECANCELED);
        if (l->state & L_BACKOFF) {
            fut__keep_waker(&l->waker, cx);
            return FUT_PENDING;
        }
        if (!(l->h.ready & FUT_READABLE)) {
            fut__fd_arm(&l->h, FUT_READABLE, cx);
            return FUT_PENDING;
        }
        socklen_t len = sizeof a->peer.u;
        int fd = accept4(l->h.fd, &a->peer.u.sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            a->peer.len = len;
            l->backoff = 0;
            l->accepted++;
            if (a->into) {
                err = fut_stream_open(l->rt, a->into, fd, a->has_opts ? &a->opts : NULL);
                if (err) {
                    close(fd);
                    return fut_ready(self, err);
                }
            }
            return fut_ready(self, fd);
        }
        switch (errno) {
        case EAGAIN:
#if EAGAIN != EWOULDBLOCK
        case EWOULDBLOCK:
#endif
            l->h.ready &= ~FUT_READABLE;
            continue;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            return back_off(l, cx);
        /* A connection that failed before we took it, or errors Linux
         * passes on from the new socket (accept(2)): try the next one. */
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
        case EPERM:
            continue;
        default:
            return fut_ready(self, -errno);
        }
    }
}

static const struct fut_vtable accept_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_accept",
    .poll = accept_poll,
};

FUT_API fut *fut_accept_init(fut_accept *a, fut_listener *l, fut_stream *into,
                             const struct fut_stream_opts *opts)
{
    fut_init(&a->base, &accept_vt);
    a->l = l;
    a->into = into;
    a->has_opts = opts != NULL;
    if (opts)
        a->opts = *opts;
    memset(&a->peer, 0, sizeof a->peer);
    return &a->base;
}

FUT_API const fut_addr *fut_accept_peer(const fut_accept *a)
{
    return a ? &a->peer : NULL;
}
