/* SPDX-License-Identifier: MIT */
/* Notifications to waiting tasks, like Tokio's Notify (see
 * <fut/sync.h>). */
#include "internal.h"

#include <errno.h>

/* fut_notify_wait.st */
enum {
    W_NEW,    /* not polled yet */
    W_QUEUED, /* in n->queue */
    W_ONE,    /* woken by fut_notify_one(): passed on if dropped unseen */
    W_ALL,    /* woken by fut_notify_all() */
    W_DONE,   /* its poll saw it, or it failed, or it was dropped */
};

static fut_notify_wait *wait_of(fut__list *l)
{
    return fut__container_of(l, fut_notify_wait, link);
}

static void wake(fut_notify_wait *w, unsigned char st)
{
    fut__list_del(&w->link);
    w->st = st;
    fut__wake_slot(&w->waker);
}

FUT_API void fut_notify_init(fut_notify *n)
{
    fut__list_init(&n->queue);
    n->gen = 0;
    n->permit = 0;
}

FUT_API void fut_notify_one(fut_notify *n)
{
    if (fut__list_empty(&n->queue))
        n->permit = 1;
    else
        wake(wait_of(n->queue.next), W_ONE);
}

FUT_API void fut_notify_all(fut_notify *n)
{
    n->gen++;
    while (!fut__list_empty(&n->queue))
        wake(wait_of(n->queue.next), W_ALL);
}

FUT_API int fut_notify_stored(const fut_notify *n)
{
    return n->permit;
}

static fut_status wait_poll(fut *self, fut_cx *cx)
{
    fut_notify_wait *w = (fut_notify_wait *)self;
    fut_notify *n = w->n;
    switch (w->st) {
    case W_NEW:
        /* A fut_notify_all() since the wait was initialised counts: the
         * waiter may have checked its condition before that. */
        if (n->permit || n->gen != w->gen) {
            if (n->gen == w->gen)
                n->permit = 0;
            w->st = W_DONE;
            return fut_ready(self, 0);
        }
        if (fut__cx_cancelled(cx)) {
            w->st = W_DONE;
            return fut_ready(self, -ECANCELED);
        }
        w->st = W_QUEUED;
        fut__list_add_tail(&n->queue, &w->link);
        w->waker = fut_waker_clone(fut_cx_waker(cx));
        return FUT_PENDING;
    case W_QUEUED:
        if (fut__cx_cancelled(cx)) {
            fut__list_del(&w->link);
            fut_waker_drop(w->waker);
            w->waker = NULL;
            w->st = W_DONE;
            return fut_ready(self, -ECANCELED);
        }
        fut__keep_waker(&w->waker, cx);
        return FUT_PENDING;
    default: /* W_ONE, W_ALL */
        w->st = W_DONE;
        return fut_ready(self, 0);
    }
}

static void wait_drop(fut *self)
{
    fut_notify_wait *w = (fut_notify_wait *)self;
    if (w->st == W_QUEUED)
        fut__list_del(&w->link);
    else if (w->st == W_ONE)
        fut_notify_one(w->n); /* not lost: on to the next waiter */
    w->st = W_DONE;
    fut_waker_drop(w->waker);
    w->waker = NULL;
}

static const struct fut_vtable wait_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_notify_wait",
    .poll = wait_poll,
    .drop = wait_drop,
};

FUT_API fut *fut_notify_wait_init(fut_notify_wait *w, fut_notify *n)
{
    fut_init(&w->base, &wait_vt);
    w->n = n;
    w->gen = n->gen;
    fut__list_init(&w->link);
    w->waker = NULL;
    w->st = W_NEW;
    return &w->base;
}
