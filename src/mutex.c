/* SPDX-License-Identifier: MIT */
/* A fair asynchronous mutex; waiters queue inside their lock futures
 * (see <fut/sync.h>). */
#include "internal.h"

#include <errno.h>

/* fut_mutex_lock_op.st */
enum {
    L_NEW,    /* not polled yet */
    L_QUEUED, /* in m->queue */
    L_HELD,   /* m->owner == the future (its poll may not have seen it yet) */
    L_LOOSE,  /* was handed the mutex, then forgotten */
    L_DONE,   /* holds nothing: failed, or dropped */
};

static fut_mutex_lock_op *op_of(fut__list *l)
{
    return fut__container_of(l, fut_mutex_lock_op, link);
}

/* The mutex is being let go: to the first waiter, or unlocked. */
static void hand_over(fut_mutex *m)
{
    if (fut__list_empty(&m->queue)) {
        m->owner = NULL;
        return;
    }
    fut_mutex_lock_op *l = op_of(m->queue.next);
    fut__list_del(&l->link);
    l->st = L_HELD;
    m->owner = l;
    fut__wake_slot(&l->waker);
}

FUT_API void fut_mutex_init(fut_mutex *m)
{
    m->owner = NULL;
    fut__list_init(&m->queue);
}

FUT_API int fut_mutex_try_lock(fut_mutex *m)
{
    if (m->owner)
        return -EBUSY;
    m->owner = m;
    return 0;
}

FUT_API int fut_mutex_unlock(fut_mutex *m)
{
    if (m->owner != m)
        return -EPERM;
    hand_over(m);
    return 0;
}

FUT_API int fut_mutex_locked(const fut_mutex *m)
{
    return m->owner != NULL;
}

static fut_status lock_poll(fut *self, fut_cx *cx)
{
    fut_mutex_lock_op *l = (fut_mutex_lock_op *)self;
    fut_mutex *m = l->m;
    switch (l->st) {
    case L_NEW:
        /* Waiters imply an owner: the mutex is never left free while
         * someone waits, so this is the whole no-barging check. */
        if (fut__likely(!m->owner)) {
            m->owner = l;
            l->st = L_HELD;
            return fut_ready(self, 0);
        }
        if (fut__cx_cancelled(cx)) {
            l->st = L_DONE;
            return fut_ready(self, -ECANCELED);
        }
        l->st = L_QUEUED;
        fut__list_add_tail(&m->queue, &l->link);
        l->waker = fut_waker_clone(fut_cx_waker(cx));
        return FUT_PENDING;
    case L_QUEUED:
        if (fut__cx_cancelled(cx)) {
            fut__list_del(&l->link);
            fut_waker_drop(l->waker);
            l->waker = NULL;
            l->st = L_DONE;
            return fut_ready(self, -ECANCELED);
        }
        fut__keep_waker(&l->waker, cx);
        return FUT_PENDING;
    default: /* L_HELD, L_LOOSE */
        return fut_ready(self, 0);
    }
}

static void lock_drop(fut *self)
{
    fut_mutex_lock_op *l = (fut_mutex_lock_op *)self;
    if (l->st == L_QUEUED)
        fut__list_del(&l->link);
    else if (l->st == L_HELD)
        hand_over(l->m);
    l->st = L_DONE;
    fut_waker_drop(l->waker);
    l->waker = NULL;
}

static const struct fut_vtable lock_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_mutex_lock",
    .poll = lock_poll,
    .drop = lock_drop,
};

FUT_API fut *fut_mutex_lock(fut_mutex_lock_op *l, fut_mutex *m)
{
    fut_init(&l->base, &lock_vt);
    l->m = m;
    fut__list_init(&l->link);
    l->waker = NULL;
    l->st = L_NEW;
    return &l->base;
}

FUT_API int fut_mutex_forget(fut_mutex_lock_op *l)
{
    if (!l || l->st != L_HELD)
        return 0;
    l->st = L_LOOSE;
    l->m->owner = l->m;
    return 1;
}
