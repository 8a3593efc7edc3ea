/* SPDX-License-Identifier: MIT */
/* libfut: coordination between tasks: a counting semaphore, a
 * notification cell and a mutex.
 *
 * All three keep their waiters in an intrusive FIFO list whose nodes live
 * inside the waiting futures: waiting never allocates, and nothing here
 * can fail for lack of memory. The primitive's state records who was
 * granted what, so a waiter dropped after it was granted something but
 * before it saw it hands the grant on to the next waiter in its drop (at
 * once: no teardown here ever waits).
 *
 * Cancellation: a wait polled under a cancelled context (see
 * fut_cx_cancelled()) while it would have to wait completes with
 * -ECANCELED and leaves the queue; a grant already made wins over the
 * cancellation (the wait completes with 0 and owns what it was granted).
 * Dropping a wait is always safe: see each type for what it releases.
 *
 * Threads: none of these primitives locks. Every call on one primitive,
 * and every poll and drop of its futures, must happen on one thread at a
 * time (normally the loop thread of the runtime whose tasks share it).
 * Tasks of several runtimes on the same thread may share one: waiters are
 * woken through their wakers. From another thread, hand the work over to
 * a task on the owning thread.
 *
 * The primitives themselves are plain structs the caller embeds; they own
 * no memory and need no destructor, but must outlive every future that
 * waits on them and must not move while one does.
 */
#ifndef FUT_SYNC_H
#define FUT_SYNC_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- semaphore ------------------------------------------------------------
 *
 * A counting semaphore, fair: requests are served strictly in the order
 * they started waiting. A large request at the head of the queue blocks
 * smaller ones behind it even while enough permits for those are
 * available (no barging), so a large request is never starved; a new
 * request that finds others waiting queues behind them.
 *
 * The semaphore counts every permit: the ones available, the ones held by
 * acquire futures (the guards, below) and the ones held "loose" (taken by
 * fut_sem_try_acquire() or kept by fut_sem_forget(), to be given back by
 * fut_sem_release()). Their sum, the capacity, only changes through
 * fut_sem_init() and fut_sem_add(). */

/* The largest capacity: a request or a total above it is -EINVAL. */
#define FUT_SEM_MAX (((size_t)-1) >> 2)

typedef struct fut_sem {
    size_t avail;    /* private: permits not held by anyone */
    size_t loose;    /* private: held outside guards (try_acquire, forget) */
    size_t capacity; /* private: avail + loose + held by guards */
    int closed;      /* private */
    fut__list queue; /* private: waiting fut_sem_acquire_op, FIFO */
} fut_sem;

/* Initialises s with `permits` available. Returns 0, or -EINVAL (s NULL,
 * permits > FUT_SEM_MAX). */
FUT_API int fut_sem_init(fut_sem *s, size_t permits);

/* Takes n permits at once when nobody is waiting and n are available.
 * They are held loose: give them back with fut_sem_release(). Returns 0,
 * -EAGAIN (not now: too few available, or others waiting), -EPIPE
 * (closed), -EINVAL (n == 0, n > capacity). */
FUT_API int fut_sem_try_acquire(fut_sem *s, size_t n);

/* Gives back n loose permits (from fut_sem_try_acquire() or
 * fut_sem_forget()) and grants waiters at the head of the queue that now
 * fit, waking them. Returns 0, or -EINVAL (n > the loose permits: permits
 * held by a live guard are given back by dropping the guard). */
FUT_API int fut_sem_release(fut_sem *s, size_t n);

/* Grows the capacity by n new permits (available at once, granted to the
 * waiters as by fut_sem_release()). Returns 0, or -EINVAL (the capacity
 * would pass FUT_SEM_MAX). */
FUT_API int fut_sem_add(fut_sem *s, size_t n);

/* Closes the semaphore: every waiting acquire completes with -EPIPE, and
 * so do later ones and fut_sem_try_acquire(). Held permits stay held and
 * may still be released. Idempotent; NULL is a no-op. */
FUT_API void fut_sem_close(fut_sem *s);

/* Permits available now (not held, not granted to a waiter). */
FUT_API size_t fut_sem_available(const fut_sem *s);

/* The capacity: available + held (guards and loose). */
FUT_API size_t fut_sem_capacity(const fut_sem *s);

/* Waits for n permits. Output: 0 once granted; -EINVAL (n == 0, n >
 * capacity at the first poll); -EPIPE (closed before it was granted);
 * -ECANCELED (polled under a cancelled context while it would wait).
 *
 * The future is the guard of what it acquired: once it has been granted
 * (output 0), dropping it gives the n permits back to the semaphore,
 * granting the next waiters. fut_sem_forget() detaches them instead.
 *
 * Drop, any time, never waits: before the first poll, nothing; queued,
 * it leaves the queue without a trace (and the requests behind it move
 * up, which may grant them); granted but not yet seen by its poll, or
 * READY with 0, its permits go back and on to the next waiters in FIFO
 * order. No permit is ever lost or duplicated by a drop.
 *
 * Embeddable, no allocation; may be moved until its first poll. */
typedef struct fut_sem_acquire_op {
    fut base;
    fut_sem *s;       /* private */
    size_t n;         /* private */
    fut__list link;   /* private: in s->queue while queued */
    fut_waker *waker; /* private */
    unsigned char st; /* private */
} fut_sem_acquire_op;

FUT_API fut *fut_sem_acquire(fut_sem_acquire_op *a, fut_sem *s, size_t n);

/* Detaches the permits held by a granted acquire: its drop will not give
 * them back; they are loose, for fut_sem_release(). Returns how many
 * (n), or 0 when a holds none (not granted, failed, already forgotten, or
 * a NULL). */
FUT_API size_t fut_sem_forget(fut_sem_acquire_op *a);

/* --- notify ---------------------------------------------------------------
 *
 * Wakes tasks waiting for an event, like Tokio's Notify. The notifier
 * changes the shared state, then notifies; the waiter checks the state,
 * and waits when it has to, with no notification lost in between:
 *
 *   fut_notify_one()  wakes the first waiter (FIFO); with none waiting,
 *                     stores one permit (at most one: notifications
 *                     coalesce) that the next wait consumes at once.
 *   fut_notify_all()  wakes every waiter that exists now, including the
 *                     waits initialised but not yet polled; stores
 *                     nothing for later waits.
 */
typedef struct fut_notify {
    fut__list queue;   /* private: waiting fut_notify_wait, FIFO */
    unsigned long gen; /* private: fut_notify_all() calls */
    int permit;        /* private: a stored fut_notify_one() */
} fut_notify;

FUT_API void fut_notify_init(fut_notify *n);
FUT_API void fut_notify_one(fut_notify *n);
FUT_API void fut_notify_all(fut_notify *n);

/* 1 when a permit is stored (the next wait completes at once). */
FUT_API int fut_notify_stored(const fut_notify *n);

/* Waits for a notification. Output: 0 when notified (by a stored
 * permit, fut_notify_one() or fut_notify_all() since the wait was
 * initialised); -ECANCELED (polled under a cancelled context while it
 * would wait).
 *
 * Drop, any time, never waits: queued, it leaves the queue; woken by
 * fut_notify_one() but dropped before its poll saw it, the notification
 * is not lost: it goes on to the next waiter, or is stored as the permit.
 * A wake by fut_notify_all() dropped unseen is not passed on (all the
 * waiters of that moment were woken anyway).
 *
 * A READY wait holds nothing: it may be initialised again for the next
 * wait without a drop (a coroutine that never drops it leaks nothing).
 *
 * Embeddable, no allocation; may be moved until its first poll. */
typedef struct fut_notify_wait {
    fut base;
    fut_notify *n;     /* private */
    unsigned long gen; /* private: n->gen at initialisation */
    fut__list link;    /* private: in n->queue while queued */
    fut_waker *waker;  /* private */
    unsigned char st;  /* private */
} fut_notify_wait;

FUT_API fut *fut_notify_wait_init(fut_notify_wait *w, fut_notify *n);

/* --- mutex ----------------------------------------------------------------
 *
 * An asynchronous mutex, fair: the lock is handed to the waiters in the
 * order they started waiting; a lock attempt that finds others waiting
 * queues behind them even when the mutex is free at that moment. It
 * guards no data itself; it is held across waits (a plain variable does
 * when nothing in the critical section waits). */
typedef struct fut_mutex {
    const void *owner; /* private: the holding lock future, or the mutex
                        * itself when held loose (try_lock, forget) */
    fut__list queue;   /* private: waiting fut_mutex_lock_op, FIFO */
} fut_mutex;

FUT_API void fut_mutex_init(fut_mutex *m);

/* Takes the mutex when it is free and nobody waits; the caller then holds
 * it loose and unlocks it with fut_mutex_unlock(). Returns 0 or -EBUSY. */
FUT_API int fut_mutex_try_lock(fut_mutex *m);

/* Unlocks a mutex held loose, handing it to the first waiter. Returns 0,
 * or -EPERM (not locked, or held by a lock future: drop the future). */
FUT_API int fut_mutex_unlock(fut_mutex *m);

/* 1 while the mutex is held (or handed to a waiter that has not run
 * yet). */
FUT_API int fut_mutex_locked(const fut_mutex *m);

/* Waits for the mutex. Output: 0 once it holds it; -ECANCELED (polled
 * under a cancelled context while it would wait).
 *
 * The future is the guard: once it holds the mutex (output 0), dropping
 * it unlocks, handing the mutex to the next waiter. fut_mutex_forget()
 * detaches it instead (then fut_mutex_unlock()).
 *
 * Drop, any time, never waits: queued, it leaves the queue; handed the
 * mutex but dropped before its poll saw it, or READY with 0, it passes
 * the mutex on to the next waiter (or leaves it unlocked).
 *
 * Embeddable, no allocation; may be moved until its first poll. */
typedef struct fut_mutex_lock_op {
    fut base;
    fut_mutex *m;     /* private */
    fut__list link;   /* private: in m->queue while queued */
    fut_waker *waker; /* private */
    unsigned char st; /* private */
} fut_mutex_lock_op;

FUT_API fut *fut_mutex_lock(fut_mutex_lock_op *l, fut_mutex *m);

/* Detaches a held mutex from its lock future: the drop will not unlock
 * it; the caller holds it loose. Returns 1, or 0 when l does not hold
 * the mutex (or is NULL). */
FUT_API int fut_mutex_forget(fut_mutex_lock_op *l);

#ifdef __cplusplus
}
#endif

#endif
