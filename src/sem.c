/* SPDX-License-Identifier: MIT */
/* A fair counting semaphore; waiters queue inside their acquire futures
 * (see <fut/sync.h>). */
#include "internal.h"

#include <errno.h>

/* fut_sem_acquire_op.st */
enum {
    A_NEW,       /* not polled yet */
    A_QUEUED,    /* in s->queue */
    A_GRANTED,   /* holds n permits (its poll may not have seen it yet) */
    A_FORGOTTEN, /* was granted; its permits are loose now */
    A_CLOSED,    /* the semaphore was closed while it was queued */
    A_DONE,      /* holds nothing: failed, or dropped */
};

static fut_sem_acquire_op *op_of(fut__list *l)
{
    return fut__container_of(l, fut_sem_acquire_op, link);
}

/* Grants the head of the queue while it fits: strictly FIFO, a request
 * that does not fit blocks the ones behind it. */
static void grant(fut_sem *s)
{
    while (!fut__list_empty(&s->queue)) {
        fut_sem_acquire_op *a = op_of(s->queue.next);
        if (a->n > s->avail)
            return;
        s->avail -= a->n;
        fut__list_del(&a->link);
        a->st = A_GRANTED;
        fut__wake_slot(&a->waker);
    }
}

FUT_API int fut_sem_init(fut_sem *s, size_t permits)
{
    if (!s || permits > FUT_SEM_MAX)
        return -EINVAL;
    s->avail = permits;
    s->loose = 0;
    s->capacity = permits;
    s->closed = 0;
    fut__list_init(&s->queue);
    return 0;
}

FUT_API int fut_sem_try_acquire(fut_sem *s, size_t n)
{
    if (n == 0 || n > s->capacity)
        return -EINVAL;
    if (s->closed)
        return -EPIPE;
    if (n > s->avail || !fut__list_empty(&s->queue))
        return -EAGAIN;
    s->avail -= n;
    s->loose += n;
    return 0;
}

FUT_API int fut_sem_release(fut_sem *s, size_t n)
{
    if (n > s->loose)
        return -EINVAL;
    s->loose -= n;
    s->avail += n;
    grant(s);
    return 0;
}

FUT_API int fut_sem_add(fut_sem *s, size_t n)
{
    if (n > FUT_SEM_MAX - s->capacity)
        return -EINVAL;
    s->capacity += n;
    s->avail += n;
    grant(s);
    return 0;
}

FUT_API void fut_sem_close(fut_sem *s)
{
    if (!s)
        return;
    s->closed = 1;
    while (!fut__list_empty(&s->queue)) {
        fut_sem_acquire_op *a = op_of(s->queue.next);
        fut__list_del(&a->link);
        a->st = A_CLOSED;
        fut__wake_slot(&a->waker);
    }
}

FUT_API size_t fut_sem_available(const fut_sem *s)
{
    return s->avail;
}

FUT_API size_t fut_sem_capacity(const fut_sem *s)
{
    return s->capacity;
}

static fut_status acquire_poll(fut *self, fut_cx *cx)
{
    fut_sem_acquire_op *a = (fut_sem_acquire_op *)self;
    fut_sem *s = a->s;
    switch (a->st) {
    case A_NEW:
        if (a->n == 0 || a->n > s->capacity) {
            a->st = A_DONE;
            return fut_ready(self, -EINVAL);
        }
        if (s->closed) {
            a->st = A_DONE;
            return fut_ready(self, -EPIPE);
        }
        if (fut__likely(a->n <= s->avail && fut__list_empty(&s->queue))) {
            s->avail -= a->n;
            a->st = A_GRANTED;
            return fut_ready(self, 0);
        }
        if (fut__cx_cancelled(cx)) {
            a->st = A_DONE;
            return fut_ready(self, -ECANCELED);
        }
        a->st = A_QUEUED;
        fut__list_add_tail(&s->queue, &a->link);
        a->waker = fut_waker_clone(fut_cx_waker(cx));
        return FUT_PENDING;
    case A_QUEUED:
        if (fut__cx_cancelled(cx)) {
            bool head = s->queue.next == &a->link;
            fut__list_del(&a->link);
            fut_waker_drop(a->waker);
            a->waker = NULL;
            a->st = A_DONE;
            if (head)
                grant(s);
            return fut_ready(self, -ECANCELED);
        }
        fut__keep_waker(&a->waker, cx);
        return FUT_PENDING;
    case A_GRANTED:
    case A_FORGOTTEN:
        return fut_ready(self, 0);
    default: /* A_CLOSED; A_DONE is never polled again */
        return fut_ready(self, -EPIPE);
    }
}

static void acquire_drop(fut *self)
{
    fut_sem_acquire_op *a = (fut_sem_acquire_op *)self;
    fut_sem *s = a->s;
    if (a->st == A_QUEUED) {
        bool head = s->queue.next == &a->link;
        fut__list_del(&a->link);
        /* The requests behind a head that did not fit may fit now. */
        if (head)
            grant(s);
    } else if (a->st == A_GRANTED) {
        s->avail += a->n;
        if (!fut__list_empty(&s->queue))
            grant(s);
    }
    a->st = A_DONE;
    if (a->waker) { /* a granted op gave its waker up already */
        fut_waker_drop(a->waker);
        a->waker = NULL;
    }
}

static const struct fut_vtable acquire_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_sem_acquire",
    .poll = acquire_poll,
    .drop = acquire_drop,
};

FUT_API fut *fut_sem_acquire(fut_sem_acquire_op *a, fut_sem *s, size_t n)
{
    fut_init(&a->base, &acquire_vt);
    a->s = s;
    a->n = n;
    fut__list_init(&a->link);
    a->waker = NULL;
    a->st = A_NEW;
    return &a->base;
}

FUT_API size_t fut_sem_forget(fut_sem_acquire_op *a)
{
    if (!a || a->st != A_GRANTED)
        return 0;
    a->st = A_FORGOTTEN;
    a->s->loose += a->n;
    return a->n;
}
