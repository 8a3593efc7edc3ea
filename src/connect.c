/* SPDX-License-Identifier: MIT */
/* Connect (<fut/net.h>): one address, or several raced with happy
 * eyeballs (RFC 8305), after a lookup on the pool for a name. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { N_INIT, N_RESOLVE, N_RACE, N_DONE };

/* c->fds[i] of an attempt not started, or finished */
#define NOFD (-1)

static fut__watch *io_of(fut_connect *c, unsigned i)
{
    return fut__watch_of(&c->ios[i]);
}

static void trace(fut_connect *c, enum fut_connect_event ev, int i, int err)
{
    if (c->trace)
        c->trace(c->trace_ud, ev, i, i >= 0 && (unsigned)i < c->naddrs ? &c->addrs[i] : NULL, err);
}

static void io_cb(fut__watch *w, int events)
{
    fut_connect *c = fut__watch_data(w);
    fut__watch_stop(c->rt, w);
    c->fired |= 1u << ((fut__watcher *)(void *)w - c->ios); /* the poll reads SO_ERROR */
    if (c->waker)
        fut_waker_wake(c->waker);
}

/* Stops and closes attempt i; `lost` traces it as a loser closed. */
static void attempt_close(fut_connect *c, unsigned i, bool lost)
{
    if (c->fds[i] == NOFD)
        return;
    fut__watch_stop(c->rt, io_of(c, i));
    close(c->fds[i]);
    c->fds[i] = NOFD;
    c->live--;
    if (lost)
        trace(c, FUT_CONNECT_CLOSED, (int)i, 0);
}

static void close_all(fut_connect *c, int except)
{
    for (unsigned i = 0; i < c->next; i++)
        if ((int)i != except)
            attempt_close(c, i, true);
}

static fut_status finish(fut_connect *c, ssize_t out)
{
    close_all(c, -1);
    /* READY holds nothing: not even the task's waker (a coroutine may
     * never drop what it awaited) */
    fut_waker_drop(c->waker);
    c->waker = NULL;
    c->state = N_DONE;
    return fut_ready(&c->base, out);
}

/* Starts the next attempt. Returns 1 when it is in flight, 0 when it failed
 * at once (c->err), 2 when it connected at once (a Unix socket). */
static int attempt_start(fut_connect *c)
{
    unsigned i = c->next++;
    const fut_addr *a = &c->addrs[i];
    trace(c, FUT_CONNECT_START, (int)i, 0);
    int fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        c->err = -errno;
        trace(c, FUT_CONNECT_FAILED, (int)i, c->err);
        return 0;
    }
    fut__watch *w = io_of(c, i); /* set up before anything may stop it */
    fut__watch_io_init(w, io_cb, c, fd, FUT_WRITABLE, 0);
    int r;
    do
        r = connect(fd, &a->u.sa, a->len);
    while (r == -1 && errno == EINTR);
    c->fds[i] = fd;
    c->live++;
    if (r == 0)
        return 2;
    if (errno != EINPROGRESS) {
        c->err = -errno;
        attempt_close(c, i, false);
        trace(c, FUT_CONNECT_FAILED, (int)i, c->err);
        return 0;
    }
    fut__watch_start(c->rt, w);
    return 1;
}

/* The attempt i won: hand its fd out. */
static fut_status won(fut_connect *c, unsigned i)
{
    int fd = c->fds[i];
    fut__watch_stop(c->rt, io_of(c, i));
    trace(c, FUT_CONNECT_WON, (int)i, 0);
    close_all(c, (int)i);
    c->fds[i] = NOFD;
    c->live--;
    if (c->into) {
        int err = fut_stream_open(c->rt, c->into, fd, c->has_opts ? &c->opts : NULL);
        if (err) {
            close(fd);
            return finish(c, err);
        }
    }
    return finish(c, fd);
}

/* Fills the address list from a lookup, families interleaved, starting
 * with the family of the resolver's first answer (RFC 8305, 4). */
static void take_addrs(fut_connect *c, struct addrinfo *res)
{
    struct addrinfo *fam[2] = {NULL, NULL};
    int first = res ? res->ai_family : AF_INET6;
    for (struct addrinfo *p = res; p; p = p->ai_next) {
        int k = p->ai_family == first ? 0 : 1;
        if (!fam[k])
            fam[k] = p;
    }
    c->naddrs = 0;
    while ((fam[0] || fam[1]) && c->naddrs < FUT_CONNECT_MAX_ADDRS) {
        for (int k = 0; k < 2 && c->naddrs < FUT_CONNECT_MAX_ADDRS; k++) {
            struct addrinfo *p = fam[k];
            if (!p)
                continue;
            if (p->ai_addrlen <= sizeof c->addrs[0].u) {
                fut_addr *a = &c->addrs[c->naddrs++];
                memset(a, 0, sizeof *a);
                memcpy(&a->u, p->ai_addr, p->ai_addrlen);
                a->len = p->ai_addrlen;
            }
            int want = p->ai_family;
            do
                p = p->ai_next;
            while (p && (p->ai_family != want));
            fam[k] = p;
        }
    }
}

static fut_status race(fut_connect *c, fut_cx *cx)
{
    for (;;) {
        /* Attempts whose socket became writable: connected, or failed. */
        bool failed = false;
        for (unsigned i = 0; i < c->next; i++) {
            if (c->fds[i] == NOFD || !(c->fired & (1u << i)))
                continue;
            c->fired &= ~(1u << i);
            int e = 0;
            socklen_t el = sizeof e;
            if (getsockopt(c->fds[i], SOL_SOCKET, SO_ERROR, &e, &el) == -1)
                e = errno;
            if (!e)
                return won(c, i);
            c->err = -e;
            attempt_close(c, i, false);
            trace(c, FUT_CONNECT_FAILED, (int)i, -e);
            failed = true;
        }
        /* Start the next one: at first, when the last failed, or when
         * the attempt delay passed. */
        bool start = c->next < c->naddrs && (c->live == 0 || failed);
        if (!start && c->next < c->naddrs && c->live) {
            if (fut_poll(&c->attempt.base, cx) == FUT_READY)
                start = true;
        }
        if (start) {
            if (c->sleeping)
                fut_drop(&c->attempt.base);
            int r = attempt_start(c);
            if (r == 2)
                return won(c, c->next - 1);
            fut_sleep_init(&c->attempt, c->delay);
            c->sleeping = 1;
            continue;
        }
        if (c->live == 0)
            return finish(c, c->err ? c->err : -ECONNREFUSED);
        fut__keep_waker(&c->waker, cx);
        return FUT_PENDING;
    }
}

static fut_status connect_poll(fut *self, fut_cx *cx)
{
    fut_connect *c = (fut_connect *)self;
    if (c->state == N_INIT) {
        if (c->err)
            return fut_ready(self, c->err); /* bad arguments */
        c->rt = fut_cx_rt(cx);
        if (c->timeout > 0)
            fut_sleep_init(&c->deadline, c->timeout);
        c->state = c->name ? N_RESOLVE : N_RACE;
        if (c->name)
            fut_dns_lookup(&c->dns, c->host, c->port, AF_UNSPEC, SOCK_STREAM);
    }
    if (c->timeout > 0 && fut_poll(&c->deadline.base, cx) == FUT_READY)
        return finish(c, -ETIMEDOUT);
    if (fut_cx_cancelled(cx))
        return finish(c, -ECANCELED);
    if (c->state == N_RESOLVE) {
        if (fut_poll(&c->dns.job.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        ssize_t r = fut_out(&c->dns.job.base);
        if (r < 0)
            return finish(c, r);
        take_addrs(c, fut_dns_result(&c->dns));
        trace(c, FUT_CONNECT_RESOLVED, (int)c->naddrs, 0);
        c->state = N_RACE;
        if (!c->naddrs)
            return finish(c, -EADDRNOTAVAIL);
    }
    return race(c, cx);
}

/* Sync parts first (sockets, watchers, timers); then the lookup, whose
 * teardown does not wait for the resolver. */
static fut_status connect_poll_drop(fut *self, fut_cx *cx)
{
    fut_connect *c = (fut_connect *)self;
    if (c->state != N_INIT) {
        close_all(c, -1);
        if (c->timeout > 0)
            fut_drop(&c->deadline.base);
        if (c->sleeping)
            fut_drop(&c->attempt.base);
        c->sleeping = 0;
        c->timeout = 0;
        fut_waker_drop(c->waker);
        c->waker = NULL;
        if (c->name) {
            if (fut_poll_drop(&c->dns.job.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            c->name = NULL;
        }
        c->state = N_INIT;
    }
    return FUT_READY;
}

static const struct fut_vtable connect_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_connect",
    .poll = connect_poll,
    .poll_drop = connect_poll_drop,
};

static fut *setup(fut_connect *c, fut_stream *into, const struct fut_stream_opts *opts)
{
    fut_init(&c->base, &connect_vt);
    c->rt = NULL;
    c->into = into;
    c->has_opts = opts != NULL;
    if (opts)
        c->opts = *opts;
    c->state = N_INIT;
    c->err = 0;
    c->naddrs = c->next = c->live = 0;
    c->fired = 0;
    c->sleeping = 0;
    c->delay = FUT_CONNECT_ATTEMPT_DELAY;
    c->timeout = 0;
    c->name = NULL;
    c->trace = NULL;
    c->trace_ud = NULL;
    c->waker = NULL;
    for (unsigned i = 0; i < FUT_CONNECT_MAX_ADDRS; i++)
        c->fds[i] = NOFD;
    return &c->base;
}

FUT_API fut *fut_connect_addrs(fut_connect *c, const fut_addr *addrs, size_t n, fut_stream *into,
                               const struct fut_stream_opts *opts)
{
    fut *f = setup(c, into, opts);
    if (!addrs || n == 0 || n > FUT_CONNECT_MAX_ADDRS) {
        c->err = -EINVAL;
        return f;
    }
    memcpy(c->addrs, addrs, n * sizeof *addrs);
    c->naddrs = (unsigned)n;
    return f;
}

FUT_API fut *fut_connect_init(fut_connect *c, const fut_addr *addr, fut_stream *into,
                              const struct fut_stream_opts *opts)
{
    return fut_connect_addrs(c, addr, 1, into, opts);
}

FUT_API fut *fut_connect_name(fut_connect *c, const char *target, fut_stream *into,
                              const struct fut_stream_opts *opts)
{
    fut *f = setup(c, into, opts);
    if (!target) {
        c->err = -EINVAL;
        return f;
    }
    if (fut_addr_parse(&c->addrs[0], target) == 0) {
        c->naddrs = 1;
        return f;
    }
    const char *port;
    int br;
    int err = fut__addr_split(target, c->host, sizeof c->host, &port, &br);
    if (!err && (!*port || strlen(port) >= sizeof c->port))
        err = -EINVAL;
    if (!err) {
        fut_addr probe; /* the port must be numeric and in range */
        char tmp[sizeof "0.0.0.0:" + sizeof c->port];
        (void)snprintf(tmp, sizeof tmp, "0.0.0.0:%s", port); /* cannot truncate */
        err = fut_addr_parse(&probe, tmp);
    }
    if (err) {
        c->err = err;
        return f;
    }
    memcpy(c->port, port, strlen(port) + 1); /* its length was checked above */
    c->name = c->host;
    return f;
}

static int before_poll(fut_connect *c, double v)
{
    if (!c || isnan(v) || v < 0 || c->state != N_INIT)
        return -EINVAL;
    return 0;
}

FUT_API int fut_connect_set_timeout(fut_connect *c, double seconds)
{
    int err = before_poll(c, seconds);
    if (!err)
        c->timeout = isinf(seconds) ? 0 : seconds;
    return err;
}

FUT_API int fut_connect_set_attempt_delay(fut_connect *c, double seconds)
{
    int err = before_poll(c, seconds);
    if (!err)
        c->delay = seconds;
    return err;
}

FUT_API int fut_connect_set_trace(fut_connect *c, fut_connect_trace_fn fn, void *ud)
{
    int err = before_poll(c, 0);
    if (!err) {
        c->trace = fn;
        c->trace_ud = ud;
    }
    return err;
}
