/* SPDX-License-Identifier: MIT */
/* The state word of a waker: a task, or a nested-loop frame. Every atomic
 * operation on it lives in this file, behind a named transition that
 * returns what its caller needs, so the protocol can be read in one place.
 *
 * Bits:
 *   NOTIFIED   woken: queued on the run queue, or running and to be
 *              re-queued when its poll returns. Whoever sets it enqueues;
 *              a wake that finds it set does nothing more.
 *   RUNNING    its poll is on the call stack (the task is frozen for the
 *              nested loops above it).
 *   DONE       finished; wakes are ignored. Never cleared.
 *   CANCELLED  its scope or join handle cancelled it; its next poll does
 *              not run (the result is -ECANCELED) unless it is already
 *              tearing down. Never cleared.
 *   TEARDOWN   its future is being dropped: polls call poll_drop.
 *   DROPWAIT   ... and that poll_drop returned PENDING at least once (the
 *              task is on rt->teardowns, under the drop budget).
 *   REMOTE     a frame pushed on the cross-thread wake stack, not yet
 *              taken by the loop thread (a task's remote pushes are
 *              counted by its reference instead).
 *   ESCALATED  its teardown ran past the drop budget: the hard path.
 *   FRAME      a nested-loop frame, not a task. Set at creation, never
 *              changes.
 *   SCOPED     a task spawned into a scope: its allocation has the whole
 *              tail (struct fut__task_tail). Set at creation, never
 *              changes.
 *   PROBE      (with FRAME) the runtime's probe waker, which fut_drop
 *              lends to a teardown's first poll_drop: NOTIFIED stays set
 *              until a nested loop hands the wake on to the frames that
 *              started from it (nested.c). Set at creation, never changes.
 *
 * Life of a task: NOTIFIED (spawned, queued) -> RUNNING (to_running) ->
 * idle (to_idle; re-queued at once if NOTIFIED came meanwhile) -> ... ->
 * TEARDOWN (start_teardown, after its poll returned READY or it was
 * cancelled) [-> DROPWAIT -> ESCALATED] -> DONE (to_done); or, when its
 * future has no teardown to run, RUNNING -> TEARDOWN | DONE at once
 * (ready_to_done).
 *
 * Any thread may wake (notify) or cancel; everything else runs on the
 * loop thread, with atomics because remote wakes race with it. */
#ifndef FUT_STATE_H
#define FUT_STATE_H

#include <stdatomic.h>
#include <stdbool.h>

#define FUT__W_NOTIFIED 0x1u
#define FUT__W_RUNNING 0x2u
#define FUT__W_DONE 0x4u
#define FUT__W_CANCELLED 0x8u
#define FUT__W_TEARDOWN 0x10u
#define FUT__W_DROPWAIT 0x20u
#define FUT__W_REMOTE 0x40u
#define FUT__W_ESCALATED 0x80u
#define FUT__W_FRAME 0x100u
#define FUT__W_SCOPED 0x200u
#define FUT__W_PROBE 0x400u

typedef _Atomic unsigned fut__state;

/* A new task: queued, and in teardown already when it is an orphan. */
static inline void fut__state_init_task(fut__state *s, bool teardown, bool scoped)
{
    atomic_init(s,
                FUT__W_NOTIFIED | (teardown ? FUT__W_TEARDOWN : 0) | (scoped ? FUT__W_SCOPED : 0));
}

static inline void fut__state_init_frame(fut__state *s)
{
    atomic_init(s, FUT__W_FRAME);
}

static inline void fut__state_init_probe(fut__state *s)
{
    atomic_init(s, FUT__W_FRAME | FUT__W_PROBE);
}

/* A snapshot, for any thread. */
static inline unsigned fut__state_load(const fut__state *s)
{
    return atomic_load_explicit((fut__state *)s, memory_order_acquire);
}

/* A snapshot of bits only the loop thread changes (FRAME, ESCALATED). */
static inline unsigned fut__state_peek(const fut__state *s)
{
    return atomic_load_explicit((fut__state *)s, memory_order_relaxed);
}

static inline bool fut__state_is_frame(const fut__state *s)
{
    return fut__state_peek(s) & FUT__W_FRAME;
}

static inline bool fut__state_is_done(const fut__state *s)
{
    return fut__state_load(s) & FUT__W_DONE;
}

static inline bool fut__state_is_cancelled(const fut__state *s)
{
    return fut__state_load(s) & FUT__W_CANCELLED;
}

/* A wake. Returns the state before it: the caller enqueues only when it
 * had none of NOTIFIED and DONE (and not RUNNING, for a task). */
static inline unsigned fut__state_notify(fut__state *s)
{
    return atomic_fetch_or_explicit(s, FUT__W_NOTIFIED, memory_order_acq_rel);
}

/* A frame woken from another thread claims its place on the cross-thread
 * stack. True when this call claimed it (it was not there already). */
static inline bool fut__state_claim_remote(fut__state *s)
{
    return !(atomic_fetch_or_explicit(s, FUT__W_REMOTE, memory_order_acq_rel) & FUT__W_REMOTE);
}

/* The loop thread took the frame off the cross-thread stack. */
static inline void fut__state_release_remote(fut__state *s)
{
    atomic_fetch_and_explicit(s, ~FUT__W_REMOTE, memory_order_acq_rel);
}

/* Queued -> running: a queued waker is NOTIFIED and not RUNNING, so one
 * add flips both. Returns the state before (CANCELLED, TEARDOWN, ...). */
static inline unsigned fut__state_to_running(fut__state *s)
{
    return atomic_fetch_add_explicit(s, FUT__W_RUNNING - FUT__W_NOTIFIED, memory_order_acq_rel);
}

/* Running -> idle, after a PENDING poll. True when it was woken while its
 * poll ran: the caller re-queues it. */
static inline bool fut__state_to_idle(fut__state *s)
{
    return atomic_fetch_and_explicit(s, ~FUT__W_RUNNING, memory_order_acq_rel) & FUT__W_NOTIFIED;
}

/* Running -> done: DONE first, so that a racing wake is ignored, then
 * RUNNING and NOTIFIED cleared. Returns the state before. */
static inline unsigned fut__state_to_done(fut__state *s)
{
    unsigned old = atomic_fetch_or_explicit(s, FUT__W_DONE, memory_order_acq_rel);
    atomic_fetch_and_explicit(s, ~(FUT__W_RUNNING | FUT__W_NOTIFIED), memory_order_acq_rel);
    return old;
}

/* Running -> done straight from a READY poll, for a task whose teardown
 * has nothing to run: TEARDOWN and DONE set, RUNNING and NOTIFIED cleared,
 * in one step (as start_teardown then to_done would leave it). Returns
 * the state before, TEARDOWN included, as to_done would have. */
static inline unsigned fut__state_ready_to_done(fut__state *s)
{
    unsigned old = atomic_load_explicit(s, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(
        s, &old, (old | FUT__W_TEARDOWN | FUT__W_DONE) & ~(FUT__W_RUNNING | FUT__W_NOTIFIED),
        memory_order_acq_rel, memory_order_relaxed))
        ;
    return old | FUT__W_TEARDOWN;
}

/* A frame retired with its block (the block's wakers may outlive it):
 * later wakes are ignored. */
static inline void fut__state_retire(fut__state *s)
{
    atomic_fetch_or_explicit(s, FUT__W_DONE, memory_order_acq_rel);
}

/* A frame about to be polled consumes its wake. True when it had one. */
static inline bool fut__state_take_notified(fut__state *s)
{
    if (!(fut__state_load(s) & FUT__W_NOTIFIED))
        return false;
    atomic_fetch_and_explicit(s, ~FUT__W_NOTIFIED, memory_order_acq_rel);
    return true;
}

static inline bool fut__state_is_notified(const fut__state *s)
{
    return fut__state_load(s) & FUT__W_NOTIFIED;
}

/* The task's future is being dropped from now on (loop thread). */
static inline void fut__state_start_teardown(fut__state *s)
{
    atomic_fetch_or_explicit(s, FUT__W_TEARDOWN, memory_order_relaxed);
}

/* Its poll_drop returned PENDING for the first time (loop thread). */
static inline void fut__state_set_dropwait(fut__state *s)
{
    atomic_fetch_or_explicit(s, FUT__W_DROPWAIT, memory_order_relaxed);
}

/* Past its drop budget. True when this call escalated it. */
static inline bool fut__state_escalate(fut__state *s)
{
    return !(atomic_fetch_or_explicit(s, FUT__W_ESCALATED, memory_order_acq_rel) &
             FUT__W_ESCALATED);
}

/* Cancels it. Returns the state before: the caller wakes it only when it
 * was neither DONE, CANCELLED nor TEARDOWN. */
static inline unsigned fut__state_cancel(fut__state *s)
{
    return atomic_fetch_or_explicit(s, FUT__W_CANCELLED, memory_order_acq_rel);
}

#endif
