/* SPDX-License-Identifier: MIT */
/* libfut: channels between tasks and threads.
 *
 *   fut_oneshot  one value (an ssize_t and an optional pointer) from one
 *                sender to one receiver; the sender never waits.
 *   fut_chan     a bounded multi-producer multi-consumer FIFO of pointers,
 *                with back-pressure; capacity 0 is a rendezvous.
 *
 * Threads: both are protected by a pthread mutex held for a few loads and
 * stores (never across a callback, a wake or an allocation), so senders
 * and receivers may live on any thread and on several runtimes; a wake
 * that crosses threads goes through the waker's remote path
 * (fut_waker_wake). A future is still polled and dropped on the thread of
 * the runtime that polls it, like every future.
 *
 * Waiting costs no allocation: a waiting op is linked, intrusively, into a
 * FIFO list of the channel. The only allocation is fut_oneshot_new() and
 * fut_chan_new() (the ring buffer is allocated there, once).
 *
 * Cancellation safety (dropping an op is cancelling it):
 *   - Items move only inside the poll of the op that reports them: a
 *     receive takes its item in the poll that returns READY, a send on a
 *     buffered channel puts its item in the ring in the poll that returns
 *     READY. A receive dropped while pending therefore never loses an
 *     item: every item is either in the output of a READY receive or still
 *     in the channel. A send dropped while pending never enqueued half: on
 *     a buffered channel its item was not enqueued and is still the
 *     caller's.
 *   - Waking is a grant: when an item arrives the first waiting receive is
 *     woken and the item is reserved for it (a newcomer cannot take it);
 *     when a slot frees up the first waiting send is woken and the slot is
 *     reserved for it. An op dropped after its wake but before its poll
 *     hands its grant on to the next waiter (in its drop, at once), so a
 *     cancelled waiter never strands an item or a slot.
 *   - Capacity 0 (rendezvous): a waiting send's item is taken straight out
 *     of the send op by a receive's poll, which then completes that send.
 *     A send dropped between that moment and its next poll has delivered
 *     its item: fut_chan_send_delivered() says so after the drop (it is 0
 *     for every other dropped send).
 */
#ifndef FUT_CHAN_H
#define FUT_CHAN_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- oneshot ------------------------------------------------------------- */

/* A one-value channel. One allocation holds the state both ends share,
 * counted: the sender end and the receiver end each hold a reference, and
 * the last end to go frees it. Opaque. */
typedef struct fut_oneshot fut_oneshot;

/* Creates a oneshot; *out is both ends: pass it to exactly one of
 * fut_oneshot_send() / fut_oneshot_sender_drop() (the sender end) and to
 * exactly one of fut_oneshot_recv() / fut_oneshot_receiver_drop() (the
 * receiver end). Returns 0, -EINVAL (out NULL) or -ENOMEM. Any thread. */
FUT_API int fut_oneshot_new(fut_oneshot **out);

/* Sends value (any ssize_t; a negative one is indistinguishable from an
 * error in the receive's output unless fut_oneshot_recv_sent() is asked)
 * and ptr, which the receiver will own; release(ptr) frees it should the
 * receiver go away without taking it (release may be NULL: nothing to
 * free). Never waits. Consumes the sender end: o must not be used by the
 * sender afterwards, whatever the result. Returns
 *   0        sent; a pending receive is woken;
 *   -EPIPE   the receiver end is gone: nothing was sent, ptr is still the
 *            caller's;
 *   -EINVAL  o NULL (nothing consumed).
 * Any thread. */
FUT_API int fut_oneshot_send(fut_oneshot *o, ssize_t value, void *ptr, void (*release)(void *ptr));

/* Drops the sender end without sending: the receive completes with
 * -EPIPE. NULL is a no-op. Any thread. */
FUT_API void fut_oneshot_sender_drop(fut_oneshot *o);

/* Drops the receiver end when no receive op was made for it: a later
 * fut_oneshot_send() returns -EPIPE; a value sent already has its pointer
 * released. NULL is a no-op. Any thread. */
FUT_API void fut_oneshot_receiver_drop(fut_oneshot *o);

/* The receive: a future READY with the value sent, or -EPIPE once the
 * sender end was dropped without sending. Embeddable; fields private. */
typedef struct fut_oneshot_recv_op {
    fut base;
    fut_oneshot *o;
    void *ptr;
    void (*release)(void *ptr);
    int sent;
} fut_oneshot_recv_op;

/* Initialises op on o's receiver end and returns &op->base; the op owns
 * the receiver end from now on, until it is READY (which gives the end
 * up: a READY op holds only the pointer received) or dropped. o NULL:
 * the op is READY with -EINVAL at its first poll.
 * Drop: while pending, gives the receiver end up (a later send gets
 * -EPIPE; a value that raced in is released); after READY, releases the
 * pointer unless fut_oneshot_recv_take() took it. Never waits. */
FUT_API fut *fut_oneshot_recv(fut_oneshot_recv_op *op, fut_oneshot *o);

/* After READY: the pointer sent (NULL if none or on -EPIPE), whose
 * ownership passes to the caller (the op's drop will no longer release
 * it). A second call returns NULL. */
FUT_API void *fut_oneshot_recv_take(fut_oneshot_recv_op *op);

/* After READY: 1 when a value was sent, 0 when the sender went away. */
FUT_API int fut_oneshot_recv_sent(const fut_oneshot_recv_op *op);

/* Channel ops: a READY op holds nothing (no waker, no reference), so it
 * may be initialised again for the next message without a drop, and a
 * coroutine that never drops what it awaited leaks nothing; an op that
 * is not READY must be dropped first. */

/* --- bounded MPMC channel ------------------------------------------------ */

/* A channel of pointers. Opaque. */
typedef struct fut_chan fut_chan;

/* Creates a channel holding up to `capacity` items (0: rendezvous, a send
 * completes only when a receive takes its item). The ring is allocated
 * here, once. release(item, ud) frees the items still queued when the
 * channel is freed (may be NULL: they are dropped silently). Returns 0,
 * -EINVAL (out NULL, or capacity above SIZE_MAX / sizeof(void *) / 2) or
 * -ENOMEM. Any thread. */
FUT_API int fut_chan_new(fut_chan **out, size_t capacity, void (*release)(void *item, void *ud),
                         void *ud);

/* Frees the channel (a hard, synchronous destructor), releasing the items
 * still queued through the release callback. Returns 0, or -EBUSY while an
 * op still waits on it (nothing is freed then). Ops that are not waiting
 * (not polled yet, READY, dropped) keep a pointer to the channel: drop or
 * forget them before freeing it. NULL is a no-op returning 0. No other
 * thread may use the channel concurrently. */
FUT_API int fut_chan_free(fut_chan *c);

/* Closes the channel: sends pending now and later complete with -EPIPE
 * (their items stay the caller's); receives drain what is queued, then
 * complete with -EPIPE. Every waiter is woken. Idempotent; NULL is a
 * no-op. Any thread. */
FUT_API void fut_chan_close(fut_chan *c);

/* Items queued now (a snapshot) and the capacity. 0 for NULL. */
FUT_API size_t fut_chan_len(fut_chan *c);
FUT_API size_t fut_chan_capacity(const fut_chan *c);

/* Sends without waiting. Returns 0 (item queued, a waiting receive woken),
 * -EAGAIN (no free slot; always on a rendezvous channel, where an item can
 * only pass to a receive waiting for it: use fut_chan_send()), -EPIPE
 * (closed) or -EINVAL (c NULL). On any error the item is still the
 * caller's. Any thread. */
FUT_API int fut_chan_try_send(fut_chan *c, void *item);

/* Receives without waiting: 0 with the item in *item, -EAGAIN (nothing
 * to take, or what is queued is reserved for receives already woken),
 * -EPIPE (closed and drained) or -EINVAL (c or item NULL). Any thread. */
FUT_API int fut_chan_try_recv(fut_chan *c, void **item);

/* A send. Embeddable; fields private. */
typedef struct fut_chan_send_op {
    fut base;
    fut_chan *c;
    void *item;
    fut_waker *waker;
    fut__list link;
    unsigned st;
} fut_chan_send_op;

/* Initialises a send of item on c and returns &op->base. Output: 0 once
 * the item is in the channel (or, capacity 0, taken by a receive); -EPIPE
 * when the channel is or gets closed first (the item is then still the
 * caller's); -EINVAL when c is NULL.
 * Waits while the channel is full, in FIFO order with the other sends.
 * Drop while pending: leaves the queue; a slot reserved for it goes to the
 * next waiting send. The item was not enqueued, except on a rendezvous
 * channel where a receive may have taken it already: see
 * fut_chan_send_delivered(). Never waits. */
FUT_API fut *fut_chan_send(fut_chan_send_op *op, fut_chan *c, void *item);

/* After READY or after the op was dropped: 1 when its item went into the
 * channel (it is no longer the caller's), 0 when it did not. */
FUT_API int fut_chan_send_delivered(const fut_chan_send_op *op);

/* A receive. Embeddable; fields private. */
typedef struct fut_chan_recv_op {
    fut base;
    fut_chan *c;
    void *item;
    fut_waker *waker;
    fut__list link;
    unsigned st;
} fut_chan_recv_op;

/* Initialises a receive from c and returns &op->base. Output: 0 with the
 * item (fut_chan_recv_item()); -EPIPE once the channel is closed and has
 * nothing left for this receive; -EINVAL when c is NULL. Waits in FIFO
 * order with the other receives.
 * Drop while pending: leaves the queue; an item reserved for it (it was
 * woken but not polled again) goes to the next waiting receive or stays
 * queued for a later one. No item is lost. Never waits. */
FUT_API fut *fut_chan_recv(fut_chan_recv_op *op, fut_chan *c);

/* After READY with 0: the item received, now the caller's. It stays
 * readable after op is dropped (as a coroutine's FUT_AWAIT does). */
FUT_API void *fut_chan_recv_item(const fut_chan_recv_op *op);

#ifdef __cplusplus
}
#endif

#endif
