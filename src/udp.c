/* SPDX-License-Identifier: MIT */
/* UDP sockets (<fut/net.h>): a registered fd, registered lazily at the
 * first op so the struct may move until then, and one-shot send and
 * receive ops that try the syscall first and wait only on EAGAIN. */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define U_OPEN 0x1
#define U_REG 0x2  /* registered with the loop */
#define U_GONE 0x4 /* the runtime was freed under it */
#define U_CONN 0x8 /* connected to a peer */

static fut_status udp_poll(fut *self, fut_cx *cx)
{
    fut_udp *u = (fut_udp *)self;
    return fut_ready(self, (u->flags & U_OPEN) ? u->h.fd : -EBADF);
}

static void udp_drop(fut *self)
{
    fut_udp *u = (fut_udp *)self;
    if (!(u->flags & U_OPEN))
        return;
    /* A moved copy: libev watches the original; leave it and the fd
     * (closing it would make libev abort). */
    bool moved = (u->flags & (U_REG | U_GONE)) == U_REG && fut__fd_moved(&u->h, "fut_udp", u);
    if ((u->flags & (U_REG | U_GONE)) == U_REG)
        moved ? fut__fd_forget(&u->h) : fut_fd_close(&u->h);
    if (!moved)
        close(u->h.fd);
    u->flags = 0;
    u->h.fd = -1;
}

static const struct fut_vtable udp_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_udp",
    .poll = udp_poll,
    .drop = udp_drop,
};

/* The runtime is being freed with the socket still open: its handle is
 * closed already, the socket stays open until the fut_udp is dropped. */
static void rt_gone(fut_fd *h)
{
    fut_udp *u = fut__container_of(h, fut_udp, h);
    u->flags |= U_GONE;
}

static int parse_ip(fut_addr *a, const char *s)
{
    int err = fut_addr_parse(a, s);
    if (err)
        return err;
    int fam = a->u.sa.sa_family;
    return fam == AF_INET || fam == AF_INET6 ? 0 : -EINVAL;
}

FUT_API int fut_udp_open(fut_rt *rt, fut_udp *u, const char *bind_addr, const char *peer)
{
    if (!rt || !u || (!bind_addr && !peer))
        return -EINVAL;
    fut_addr local, remote;
    int err;
    if (peer && (err = parse_ip(&remote, peer)))
        return err;
    if (bind_addr) {
        if ((err = parse_ip(&local, bind_addr)))
            return err;
        if (peer && local.u.sa.sa_family != remote.u.sa.sa_family)
            return -EINVAL;
    } else { /* the wildcard of the peer's family, port 0 */
        memset(&local, 0, sizeof local);
        local.u.sa.sa_family = remote.u.sa.sa_family;
        local.len = remote.len;
    }
    int fd = socket(local.u.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -errno;
    socklen_t len = sizeof local.u;
    if (bind(fd, &local.u.sa, local.len) == -1 ||
        (peer && connect(fd, &remote.u.sa, remote.len) == -1) ||
        getsockname(fd, &local.u.sa, &len) == -1) {
        err = -errno;
        close(fd);
        return err;
    }
    local.len = len;
    memset(u, 0, sizeof *u);
    fut_init(&u->base, &udp_vt);
    u->rt = rt;
    u->local = local;
    u->h.fd = fd;
    u->flags = U_OPEN | (peer ? U_CONN : 0);
    return 0;
}

FUT_API const fut_addr *fut_udp_addr(const fut_udp *u)
{
    return u ? &u->local : NULL;
}

/* Registers the fd at the socket's first op. Returns 0, or the op's
 * error when the socket cannot be used. */
static int usable(fut_udp *u)
{
    if (fut__unlikely(!(u->flags & U_REG))) {
        if (!(u->flags & U_OPEN))
            return -EBADF;
        int err = fut_fd_open(u->rt, &u->h, u->h.fd);
        if (err)
            return err;
        u->h.closer = rt_gone;
        u->flags |= U_REG;
        return 0;
    }
    if (fut__unlikely(fut__fd_moved(&u->h, "fut_udp", u)))
        return -EINVAL;
    if (fut__unlikely(!(u->flags & U_OPEN) || (u->flags & U_GONE) || fut__fd_bad(&u->h)))
        return -EBADF;
    return 0;
}

/* --- ops ------------------------------------------------------------------------ */

static ssize_t do_send(fut_udp_op *op)
{
    int fd = op->u->h.fd;
    int fl = MSG_NOSIGNAL | MSG_DONTWAIT;
    if (op->has_peer)
        return sendto(fd, op->buf, op->len, fl, &op->peer.u.sa, op->peer.len);
    return send(fd, op->buf, op->len, fl);
}

static ssize_t do_recv(fut_udp_op *op)
{
    struct iovec iov = {.iov_base = op->buf, .iov_len = op->len};
    struct msghdr m = {
        .msg_name = &op->peer.u,
        .msg_namelen = sizeof op->peer.u,
        .msg_iov = &iov,
        .msg_iovlen = 1,
    };
    ssize_t n = recvmsg(op->u->h.fd, &m, MSG_DONTWAIT);
    if (n >= 0) {
        op->peer.len = m.msg_namelen;
        op->has_peer = 1;
        op->truncated = (m.msg_flags & MSG_TRUNC) != 0;
    }
    return n;
}

static fut_status op_poll(fut *self, fut_cx *cx)
{
    fut_udp_op *op = (fut_udp_op *)self;
    fut_udp *u = op->u;
    int err = usable(u);
    if (err)
        return fut_ready(self, err);
    if (op->send && !op->has_peer && !(u->flags & U_CONN))
        return fut_ready(self, -EDESTADDRREQ);
    int dir = op->send ? FUT_WRITABLE : FUT_READABLE;
    for (;;) {
        if (!(u->h.ready & dir)) {
            if (fut__cx_cancelled(cx))
                return fut_ready(self, -ECANCELED);
            /* The waker stays in the slot after READY or a drop, like a
             * stream's: the same task waiting again costs nothing. */
            fut__fd_arm(&u->h, dir, cx);
            return FUT_PENDING;
        }
        ssize_t n = op->send ? do_send(op) : do_recv(op);
        if (n >= 0)
            return fut_ready(self, n);
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            u->h.ready &= ~dir;
        else if (errno != EINTR)
            return fut_ready(self, -errno);
    }
}

static const struct fut_vtable op_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_udp_op",
    .poll = op_poll,
};

static fut_status bad_poll(fut *self, fut_cx *cx)
{
    return fut_ready(self, -EINVAL);
}

static const struct fut_vtable bad_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_udp_op (invalid)",
    .poll = bad_poll,
};

static fut *op_init(fut_udp_op *op, fut_udp *u, void *buf, size_t len, int send)
{
    fut_init(&op->base, (!u || (!buf && len)) ? &bad_vt : &op_vt);
    op->u = u;
    op->buf = buf;
    op->len = len;
    op->send = send;
    op->truncated = 0;
    op->has_peer = 0;
    op->peer.len = 0;
    return &op->base;
}

FUT_API fut *fut_udp_send(fut_udp_op *op, fut_udp *u, const void *buf, size_t len,
                          const fut_addr *to)
{
    fut *f = op_init(op, u, (void *)buf, len, 1);
    if (to) {
        op->peer = *to;
        op->has_peer = 1;
    }
    return f;
}

FUT_API fut *fut_udp_recv(fut_udp_op *op, fut_udp *u, void *buf, size_t len)
{
    return op_init(op, u, buf, len, 0);
}

FUT_API const fut_addr *fut_udp_op_peer(const fut_udp_op *op)
{
    return op && op->has_peer ? &op->peer : NULL;
}

FUT_API int fut_udp_op_truncated(const fut_udp_op *op)
{
    return op && !op->send ? op->truncated : 0;
}
