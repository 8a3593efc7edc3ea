/* SPDX-License-Identifier: MIT */
/* A one-value channel: one shared, counted allocation, a mutex, one
 * waker slot. The sender never waits, so the lock is held for a few
 * stores only; the wake happens after it is released. */
#include "internal.h"

#include <errno.h>

#define SENT 0x1u    /* value and ptr are set and not yet taken */
#define TX_GONE 0x2u /* the sender end was consumed */
#define RX_GONE 0x4u /* the receiver end was dropped */
#define TAKEN 0x8u   /* the receive moved the value into its op */

struct fut_oneshot {
    pthread_mutex_t mu;
    _Atomic unsigned refs; /* one per end */
    unsigned st;
    ssize_t value;
    void *ptr;
    void (*release)(void *ptr);
    fut_waker *waker; /* the pending receive's */
};

static void unref(fut_oneshot *o)
{
    if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&o->mu);
    fut__free(o, sizeof *o);
}

FUT_API int fut_oneshot_new(fut_oneshot **out)
{
    if (!out)
        return -EINVAL;
    fut_oneshot *o = fut__alloc(sizeof *o);
    if (!o)
        return -ENOMEM;
    if (pthread_mutex_init(&o->mu, NULL) != 0) {
        fut__free(o, sizeof *o);
        return -ENOMEM;
    }
    atomic_init(&o->refs, 2);
    o->st = 0;
    o->value = 0;
    o->ptr = NULL;
    o->release = NULL;
    o->waker = NULL;
    *out = o;
    return 0;
}

/* Marks the sender end consumed (after storing a value or not) and takes
 * the receive's waker to wake outside the lock. */
static fut_waker *tx_done_locked(fut_oneshot *o)
{
    fut_waker *w = o->waker;
    o->waker = NULL;
    o->st |= TX_GONE;
    return w;
}

FUT_API int fut_oneshot_send(fut_oneshot *o, ssize_t value, void *ptr, void (*release)(void *ptr))
{
    if (!o)
        return -EINVAL;
    pthread_mutex_lock(&o->mu);
    int r = 0;
    if (o->st & RX_GONE) {
        r = -EPIPE;
    } else {
        o->value = value;
        o->ptr = ptr;
        o->release = release;
        o->st |= SENT;
    }
    fut_waker *w = tx_done_locked(o);
    pthread_mutex_unlock(&o->mu);
    fut__wake_drop(w);
    unref(o);
    return r;
}

FUT_API void fut_oneshot_sender_drop(fut_oneshot *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    fut_waker *w = tx_done_locked(o);
    pthread_mutex_unlock(&o->mu);
    fut__wake_drop(w);
    unref(o);
}

FUT_API void fut_oneshot_receiver_drop(fut_oneshot *o)
{
    if (!o)
        return;
    pthread_mutex_lock(&o->mu);
    o->st |= RX_GONE;
    void *ptr = NULL;
    void (*release)(void *) = NULL;
    if ((o->st & SENT) && !(o->st & TAKEN)) {
        ptr = o->ptr;
        release = o->release;
        o->ptr = NULL;
        o->st |= TAKEN;
    }
    fut_waker *w = o->waker;
    o->waker = NULL;
    pthread_mutex_unlock(&o->mu);
    fut_waker_drop(w);
    if (release && ptr)
        release(ptr);
    unref(o);
}

/* --- the receive ---------------------------------------------------------- */

static fut_status recv_poll(fut *self, fut_cx *cx)
{
    fut_oneshot_recv_op *op = (fut_oneshot_recv_op *)self;
    fut_oneshot *o = op->o;
    if (fut__unlikely(!o))
        return fut_ready(self, -EINVAL);
    pthread_mutex_lock(&o->mu);
    if (o->st & SENT) {
        op->ptr = o->ptr;
        op->release = o->release;
        op->sent = 1;
        ssize_t v = o->value;
        o->ptr = NULL;
        o->st |= TAKEN;
        pthread_mutex_unlock(&o->mu);
        /* READY holds nothing of the oneshot (a coroutine may never drop
         * what it awaited): the receiver's end goes now; the pointer
         * stays in the op until taken or the op is dropped. */
        op->o = NULL;
        fut_oneshot_receiver_drop(o);
        return fut_ready(self, v);
    }
    if (o->st & TX_GONE) {
        pthread_mutex_unlock(&o->mu);
        op->o = NULL;
        fut_oneshot_receiver_drop(o);
        return fut_ready(self, -EPIPE);
    }
    /* The waker is swapped under the lock: a sender on another thread
     * takes it under the same lock. The old one is dropped after. */
    fut_waker *w = fut_cx_waker(cx), *old = NULL;
    if (o->waker != w) {
        old = o->waker;
        o->waker = fut_waker_clone(w);
    }
    pthread_mutex_unlock(&o->mu);
    fut_waker_drop(old);
    return FUT_PENDING;
}

static void recv_drop(fut *self)
{
    fut_oneshot_recv_op *op = (fut_oneshot_recv_op *)self;
    if (op->ptr && op->release)
        op->release(op->ptr);
    op->ptr = NULL;
    fut_oneshot *o = op->o;
    op->o = NULL;
    fut_oneshot_receiver_drop(o);
}

static const struct fut_vtable recv_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_oneshot_recv",
    .poll = recv_poll,
    .drop = recv_drop,
};

FUT_API fut *fut_oneshot_recv(fut_oneshot_recv_op *op, fut_oneshot *o)
{
    fut_init(&op->base, &recv_vt);
    op->o = o;
    op->ptr = NULL;
    op->release = NULL;
    op->sent = 0;
    return &op->base;
}

FUT_API void *fut_oneshot_recv_take(fut_oneshot_recv_op *op)
{
    void *p = op->ptr;
    op->ptr = NULL;
    return p;
}

FUT_API int fut_oneshot_recv_sent(const fut_oneshot_recv_op *op)
{
    return op->sent;
}
