/* SPDX-License-Identifier: MIT */
/* A bounded MPMC channel of pointers: a ring allocated once, two
 * intrusive FIFO lists of waiting ops, and a mutex.
 *
 * Items move only in the poll of the op that reports them (see
 * <fut/chan.h>), so a dropped op never holds an item. What a wake hands
 * out is a reservation, counted in the channel:
 *
 *   granted   receives woken because an item is there for them; a newcomer
 *             only takes an item beyond these (avail() > granted).
 *   reserved  sends woken because a slot is free for them (capacity > 0);
 *             a newcomer only takes a slot beyond these.
 *
 * A woken op that is dropped before its poll gives its reservation back
 * and passes it to the next waiter (wake_recvs, wake_sends). A woken op
 * that finds its item gone when polled (capacity 0: the send it counted on
 * was dropped) goes back to the front of the queue.
 *
 * Wakes happen under the mutex: fut_waker_wake never blocks nor calls
 * back, and holding the lock keeps the op (and its waker) alive against a
 * concurrent drop on another thread. */
#include "internal.h"

#include <errno.h>
#include <stdint.h>

/* Receive op states */
#define R_IDLE 0u     /* not queued, nothing reserved */
#define R_WAITING 1u  /* in recvq */
#define R_NOTIFIED 2u /* woken, counted in granted */
#define R_DONE 3u     /* READY or dropped */

/* Send op states */
#define OP_IDLE 0u
#define OP_WAITING 1u  /* in sendq */
#define OP_NOTIFIED 2u /* woken, a slot counted in reserved (capacity > 0) */
#define OP_TAKEN 3u    /* capacity 0: a receive took the item */
#define OP_CLOSED 4u   /* taken off sendq by fut_chan_close */
#define OP_DONE 5u     /* READY with 0: delivered */
#define OP_FAILED 6u   /* READY with an error, or dropped undelivered */

/* An op's state is written by other threads (under the lock) only while
 * the op is queued; its owner checks it without the lock in drop, so
 * those accesses are relaxed atomics. */
#define ST_SET(op, v) atomic_store_explicit(fut__atomic_uint(&(op)->st), (v), memory_order_relaxed)
#define ST_GET(op) atomic_load_explicit(fut__atomic_uint(&(op)->st), memory_order_relaxed)

struct fut_chan {
    pthread_mutex_t mu;
    size_t cap, head, len;
    size_t granted, reserved;
    size_t nsend; /* sends in sendq */
    bool closed;
    fut__list recvq, sendq;
    void (*release)(void *item, void *ud);
    void *ud;
    void *ring[];
};

FUT_API int fut_chan_new(fut_chan **out, size_t capacity, void (*release)(void *item, void *ud),
                         void *ud)
{
    if (!out || capacity > SIZE_MAX / sizeof(void *) / 2)
        return -EINVAL;
    size_t size = sizeof(fut_chan) + capacity * sizeof(void *);
    fut_chan *c = fut__alloc(size);
    if (!c)
        return -ENOMEM;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        fut__free(c, size);
        return -ENOMEM;
    }
    c->cap = capacity;
    c->head = c->len = 0;
    c->granted = c->reserved = c->nsend = 0;
    c->closed = false;
    fut__list_init(&c->recvq);
    fut__list_init(&c->sendq);
    c->release = release;
    c->ud = ud;
    *out = c;
    return 0;
}

FUT_API int fut_chan_free(fut_chan *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->mu);
    bool busy = !fut__list_empty(&c->recvq) || !fut__list_empty(&c->sendq) || c->granted ||
                c->reserved;
    pthread_mutex_unlock(&c->mu);
    if (busy)
        return -EBUSY;
    for (size_t i = 0; i < c->len; i++) {
        void *item = c->ring[(c->head + i) % c->cap];
        if (c->release)
            c->release(item, c->ud);
    }
    pthread_mutex_destroy(&c->mu);
    fut__free(c, sizeof(fut_chan) + c->cap * sizeof(void *));
    return 0;
}

FUT_API size_t fut_chan_len(fut_chan *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->mu);
    size_t n = c->len;
    pthread_mutex_unlock(&c->mu);
    return n;
}

FUT_API size_t fut_chan_capacity(const fut_chan *c)
{
    return c ? c->cap : 0;
}

/* --- under the lock ---------------------------------------------------------- */

/* Items a receive could take now: the ring's, or on a rendezvous channel
 * the waiting sends'. */
static inline size_t avail(const fut_chan *c)
{
    return c->cap ? c->len : c->nsend;
}

static inline size_t free_slots(const fut_chan *c)
{
    return c->cap - c->len - c->reserved;
}

/* Wakes waiting receives while there are unreserved items. */
static void wake_recvs_slow(fut_chan *c)
{
    while (avail(c) > c->granted && !fut__list_empty(&c->recvq)) {
        fut_chan_recv_op *r = fut__container_of(c->recvq.next, fut_chan_recv_op, link);
        fut__list_del(&r->link);
        ST_SET(r, R_NOTIFIED);
        c->granted++;
        fut_waker_wake(r->waker);
    }
}

/* Wakes waiting sends while there are unreserved slots (capacity > 0). */
static void wake_sends_slow(fut_chan *c)
{
    while (c->cap && free_slots(c) && !fut__list_empty(&c->sendq)) {
        fut_chan_send_op *s = fut__container_of(c->sendq.next, fut_chan_send_op, link);
        fut__list_del(&s->link);
        c->nsend--;
        ST_SET(s, OP_NOTIFIED);
        c->reserved++;
        fut_waker_wake(s->waker);
    }
}

/* The common case, nobody waiting, without a call. */
static inline void wake_recvs(fut_chan *c)
{
    if (!fut__list_empty(&c->recvq))
        wake_recvs_slow(c);
}

static inline void wake_sends(fut_chan *c)
{
    if (!fut__list_empty(&c->sendq))
        wake_sends_slow(c);
}

/* Closed and nothing queued: the waiting receives are woken, without a
 * reservation, to see it. (Closed with items queued, a receive waits only
 * while those are reserved for receives already woken; it is woken here
 * once they took them, or earlier by a reservation handed on.) */
static void wake_drained(fut_chan *c)
{
    while (!fut__list_empty(&c->recvq)) {
        fut_chan_recv_op *r = fut__container_of(c->recvq.next, fut_chan_recv_op, link);
        fut__list_del(&r->link);
        ST_SET(r, R_IDLE);
        fut_waker_wake(r->waker);
    }
}

/* Takes the next item; avail(c) > 0. */
static void *take(fut_chan *c)
{
    void *item;
    if (c->len) {
        item = c->ring[c->head];
        c->head = c->head + 1 == c->cap ? 0 : c->head + 1;
        c->len--;
        wake_sends(c);
        if (fut__unlikely(c->closed) && !c->len)
            wake_drained(c);
    } else {
        fut_chan_send_op *s = fut__container_of(c->sendq.next, fut_chan_send_op, link);
        fut__list_del(&s->link);
        c->nsend--;
        item = s->item;
        ST_SET(s, OP_TAKEN);
        fut_waker_wake(s->waker);
    }
    return item;
}

/* Queues an item; a free slot was checked or reserved. */
static void push(fut_chan *c, void *item)
{
    size_t i = c->head + c->len;
    if (i >= c->cap)
        i -= c->cap;
    c->ring[i] = item;
    c->len++;
    wake_recvs(c);
}

/* Keeps the waker of this poll in *slot; returns the one it replaces, to
 * be dropped once the lock is released. */
static inline fut_waker *keep_waker(fut_waker **slot, fut_cx *cx)
{
    fut_waker *w = fut_cx_waker(cx);
    if (fut__likely(*slot == w))
        return NULL;
    fut_waker *old = *slot;
    *slot = fut_waker_clone(w);
    return old;
}

/* --- non-blocking ------------------------------------------------------------- */

FUT_API int fut_chan_try_send(fut_chan *c, void *item)
{
    if (!c)
        return -EINVAL;
    int r = -EAGAIN;
    pthread_mutex_lock(&c->mu);
    if (c->closed)
        r = -EPIPE;
    else if (c->cap && free_slots(c)) {
        push(c, item);
        r = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

FUT_API int fut_chan_try_recv(fut_chan *c, void **item)
{
    if (!c || !item)
        return -EINVAL;
    int r = -EAGAIN;
    pthread_mutex_lock(&c->mu);
    if (avail(c) > c->granted) {
        *item = take(c);
        r = 0;
    } else if (c->closed && !c->len) {
        r = -EPIPE;
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

FUT_API void fut_chan_close(fut_chan *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->closed = true;
    while (!fut__list_empty(&c->sendq)) {
        fut_chan_send_op *s = fut__container_of(c->sendq.next, fut_chan_send_op, link);
        fut__list_del(&s->link);
        ST_SET(s, OP_CLOSED);
        fut_waker_wake(s->waker);
    }
    c->nsend = 0;
    if (!c->len)
        wake_drained(c);
    pthread_mutex_unlock(&c->mu);
}

/* --- the send ----------------------------------------------------------------- */

static fut_status send_poll(fut *self, fut_cx *cx)
{
    fut_chan_send_op *op = (fut_chan_send_op *)self;
    fut_chan *c = op->c;
    if (fut__unlikely(!c))
        return fut_ready(self, -EINVAL);
    fut_waker *old = NULL;
    ssize_t r = 0;
    pthread_mutex_lock(&c->mu);
    switch (op->st) {
    case OP_WAITING:
        old = keep_waker(&op->waker, cx);
        pthread_mutex_unlock(&c->mu);
        fut_waker_drop(old);
        return FUT_PENDING;
    case OP_TAKEN:
        break;
    case OP_NOTIFIED:
        c->reserved--;
        if (c->closed) {
            r = -EPIPE;
            break;
        }
        push(c, op->item);
        break;
    case OP_CLOSED:
        r = -EPIPE;
        break;
    default: /* OP_IDLE */
        if (c->closed) {
            r = -EPIPE;
        } else if (c->cap && free_slots(c)) {
            push(c, op->item);
        } else {
            fut__list_add_tail(&c->sendq, &op->link);
            c->nsend++;
            op->st = OP_WAITING;
            old = keep_waker(&op->waker, cx);
            if (!c->cap)
                wake_recvs(c);
            pthread_mutex_unlock(&c->mu);
            fut_waker_drop(old);
            return FUT_PENDING;
        }
    }
    op->st = r ? OP_FAILED : OP_DONE;
    old = op->waker; /* READY holds nothing (a coroutine may never drop it) */
    op->waker = NULL;
    pthread_mutex_unlock(&c->mu);
    fut_waker_drop(old);
    return fut_ready(self, r);
}

static void send_drop(fut *self)
{
    fut_chan_send_op *op = (fut_chan_send_op *)self;
    fut_chan *c = op->c;
    unsigned st = ST_GET(op);
    if (c && st != OP_DONE && st != OP_FAILED) {
        pthread_mutex_lock(&c->mu);
        switch (op->st) {
        case OP_WAITING:
            fut__list_del(&op->link);
            c->nsend--;
            op->st = OP_FAILED;
            break;
        case OP_NOTIFIED:
            c->reserved--;
            wake_sends(c); /* the slot goes to the next waiting send */
            op->st = OP_FAILED;
            break;
        case OP_TAKEN:
            break; /* delivered */
        default:
            op->st = OP_FAILED;
        }
        pthread_mutex_unlock(&c->mu);
    }
    fut_waker_drop(op->waker);
    op->waker = NULL;
}

static const struct fut_vtable send_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_chan_send",
    .poll = send_poll,
    .drop = send_drop,
};

FUT_API fut *fut_chan_send(fut_chan_send_op *op, fut_chan *c, void *item)
{
    fut_init(&op->base, &send_vt);
    op->c = c;
    op->item = item;
    op->waker = NULL;
    fut__list_init(&op->link);
    op->st = OP_IDLE;
    return &op->base;
}

FUT_API int fut_chan_send_delivered(const fut_chan_send_op *op)
{
    return op->st == OP_DONE || op->st == OP_TAKEN;
}

/* --- the receive ----------------------------------------------------------------- */

static fut_status recv_poll(fut *self, fut_cx *cx)
{
    fut_chan_recv_op *op = (fut_chan_recv_op *)self;
    fut_chan *c = op->c;
    if (fut__unlikely(!c))
        return fut_ready(self, -EINVAL);
    fut_waker *old;
    bool front = false;
    pthread_mutex_lock(&c->mu);
    if (op->st == R_WAITING) {
        old = keep_waker(&op->waker, cx);
        pthread_mutex_unlock(&c->mu);
        fut_waker_drop(old);
        return FUT_PENDING;
    }
    if (op->st == R_NOTIFIED) {
        c->granted--;
        front = true; /* if what it was woken for is gone, it keeps its place */
    }
    if (avail(c) > c->granted || (c->closed && !c->len)) {
        bool got = avail(c) > c->granted;
        if (got)
            op->item = take(c);
        op->st = R_DONE;
        old = op->waker; /* READY holds nothing (a coroutine may never drop it) */
        op->waker = NULL;
        pthread_mutex_unlock(&c->mu);
        fut_waker_drop(old);
        return fut_ready(self, got ? 0 : -EPIPE);
    }
    if (front) {
        op->link.next = c->recvq.next;
        op->link.prev = &c->recvq;
        c->recvq.next->prev = &op->link;
        c->recvq.next = &op->link;
    } else {
        fut__list_add_tail(&c->recvq, &op->link);
    }
    op->st = R_WAITING;
    old = keep_waker(&op->waker, cx);
    pthread_mutex_unlock(&c->mu);
    fut_waker_drop(old);
    return FUT_PENDING;
}

static void recv_drop(fut *self)
{
    fut_chan_recv_op *op = (fut_chan_recv_op *)self;
    fut_chan *c = op->c;
    unsigned st = ST_GET(op);
    if (c && (st == R_WAITING || st == R_NOTIFIED)) {
        pthread_mutex_lock(&c->mu);
        if (op->st == R_WAITING) {
            fut__list_del(&op->link);
        } else if (op->st == R_NOTIFIED) {
            c->granted--;
            wake_recvs(c); /* the item goes to the next waiting receive */
        }
        pthread_mutex_unlock(&c->mu);
    }
    op->st = R_DONE;
    fut_waker_drop(op->waker);
    op->waker = NULL;
}

static const struct fut_vtable recv_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_chan_recv",
    .poll = recv_poll,
    .drop = recv_drop,
};

FUT_API fut *fut_chan_recv(fut_chan_recv_op *op, fut_chan *c)
{
    fut_init(&op->base, &recv_vt);
    op->c = c;
    op->item = NULL;
    op->waker = NULL;
    fut__list_init(&op->link);
    op->st = R_IDLE;
    return &op->base;
}

FUT_API void *fut_chan_recv_item(const fut_chan_recv_op *op)
{
    return op->item;
}
