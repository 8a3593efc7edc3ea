/* SPDX-License-Identifier: MIT */
/* libfut: the future protocol.
 *
 * A future is a struct whose first member is a `fut`, which points at a
 * const vtable with three slots:
 *
 *   poll       make progress; READY once the output is available,
 *              PENDING after a wake-up was arranged through the context.
 *   poll_drop  the asynchronous destructor: release every resource; may
 *              return PENDING while teardown waits on I/O (a wake-up was
 *              arranged), READY once everything is released.
 *   drop       the synchronous destructor: release everything, blocking
 *              if it must.
 *
 * The five contracts every future keeps:
 *
 * 1. poll is never called again after it returned READY. PENDING is only
 *    returned after a wake-up was arranged through the context (a waker
 *    obtained with fut_cx_waker() was stored, a library future returned
 *    PENDING). Debug builds report a PENDING with no wake arranged, naming
 *    the vtable.
 * 2. poll_drop may be called at any time after construction: before the
 *    first poll, while pending, after READY. It never allocates: all the
 *    state teardown needs lives in the future. The memory of the future
 *    itself belongs to its owner.
 * 3. drop releases everything, blocking if it must.
 * 4. poll_drop == NULL means drop is all teardown needs. drop == NULL with
 *    a poll_drop means the synchronous fallback (fut_drop()) runs
 *    poll_drop under a nested loop. Both NULL: nothing to release.
 * 5. Cancelling a future is dropping it.
 *
 * A future may be moved (memcpy'd) until its first poll or poll_drop, and
 * never after: library futures register their own address with libev.
 *
 * Output: every future produces one ssize_t status, >= 0 a value, < 0 a
 * negative errno. poll stores it with fut_ready() in the `out` field of
 * the base; larger payloads live in the future and are read through its
 * own accessors.
 *
 * NULL, across the whole API: a pointer argument must not be NULL unless
 * its documentation says it may be (passing one is a programming error
 * the library does not promise to catch), and every function that
 * releases or closes something (fut_drop, fut_rt_free, fut_waker_drop,
 * fut_fd_close, the *_close, *_free, *_drop and *_forget functions)
 * accepts NULL and does nothing.
 */
#ifndef FUT_FUTURE_H
#define FUT_FUTURE_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define FUT_API __attribute__((visibility("default")))
#else
#define FUT_API
#endif

typedef enum fut_status { FUT_PENDING = 0, FUT_READY = 1 } fut_status;

typedef struct fut fut;
/* What poll and poll_drop receive: the current task's waker (fut_cx_waker),
 * the runtime (fut_cx_rt) and the cancellation state (fut_cx_cancelled,
 * fut_cx_escalated, fut_cx_report). Opaque; valid only during the call it
 * was passed to. */
typedef struct fut_cx fut_cx;
/* A counted reference that wakes a task (or a nested loop). */
typedef struct fut_waker fut_waker;
/* A runtime: one libev loop, its run queue and its tasks. */
typedef struct fut_rt fut_rt;

struct fut_vtable {
    /* sizeof(struct fut_vtable) as the future's author compiled it: the
     * vtable grows by appending, slots past `size` read as NULL. */
    size_t size;
    /* Shown in diagnostics and introspection; may be NULL. */
    const char *name;
    fut_status (*poll)(fut *self, fut_cx *cx);
    fut_status (*poll_drop)(fut *self, fut_cx *cx); /* may be NULL */
    void (*drop)(fut *self);                        /* may be NULL */
};

struct fut {
    const struct fut_vtable *vt; /* public, read-only after fut_init() */
    ssize_t out;                 /* public, read-only: valid after READY */
    unsigned state;              /* private: protocol bookkeeping */
    unsigned rt;                 /* private: id of the runtime that last polled it */
};

/* Initialises the base of a future. Call it before anything else touches
 * the future. */
static inline void fut_init(fut *f, const struct fut_vtable *vt)
{
    f->vt = vt;
    f->out = 0;
    f->state = 0;
    f->rt = 0;
}

/* In a poll implementation: `return fut_ready(&self->base, n);` stores
 * the output and reports READY. */
static inline fut_status fut_ready(fut *f, ssize_t out)
{
    f->out = out;
    return FUT_READY;
}

/* The output of a future that has reported READY. */
static inline ssize_t fut_out(const fut *f)
{
    return f->out;
}

/* Polls a child future from inside a poll. Use this rather than calling the
 * slot: it keeps the bookkeeping the debug checks and the drop glue rely
 * on (poll after READY, poll after drop, PENDING without a wake are
 * reported through the diagnostic handler; the offending call then returns
 * READY without calling the slot, with out = -EINVAL). */
FUT_API fut_status fut_poll(fut *f, fut_cx *cx);

/* One step of asynchronous teardown, for owners that async-drop children
 * from their own poll or poll_drop: calls poll_drop (or drop when there is
 * no poll_drop) and returns READY once the child is fully released, after
 * which the child must not be touched again. PENDING means a wake-up was
 * arranged through cx; call it again when woken. Calling it on a future
 * that was already dropped is reported as a double drop and returns
 * READY. */
FUT_API fut_status fut_poll_drop(fut *f, fut_cx *cx);

/* The synchronous drop, for plain C code. Runs drop; with no drop but a
 * poll_drop, polls poll_drop and, if it is PENDING, drives it to
 * completion under a nested loop of the thread's current runtime (see
 * fut_rt_nested_loop() in <fut/rt.h>) of the runtime that last polled it
 * (the one its pending work belongs to: a pool job's completion, an fd's
 * readiness arrive there), else of the thread's current runtime: the
 * tasks not on the call stack keep running meanwhile. Exactly once per future, whichever path (this
 * or fut_poll_drop) runs it.
 *
 * Returns 0 once the future is released; f == NULL, or a zero-initialised
 * future (vt NULL: never initialised, e.g. after a failed spawn or init),
 * is a no-op returning 0. Errors (the future is still owned by the
 * caller, and untouched but for the stack case of -ELOOP):
 *   -EALREADY  f was already dropped. The double drop is always detected
 *              (also with --disable-debug: it costs one test) and reported
 *              through the diagnostic handler first: the default handler
 *              aborts, so -EALREADY is returned only when a handler of
 *              yours (fut_set_diag_handler()) returns;
 *   -ENXIO     teardown needs a nested loop and this thread has no
 *              current runtime;
 *   -ELOOP     teardown needs a nested loop and the depth limit is
 *              reached; or the first poll_drop was PENDING and the stack
 *              left is too small for one more nested loop (see
 *              fut_rt_nested_loop()): then the teardown has begun, and a
 *              later fut_drop() or fut_poll_drop() continues it.
 * The runtime used is this thread's (fut_rt_current()): a future whose
 * teardown needs one can only be dropped on a thread that has a runtime.
 * The first poll_drop runs inside the runtime: fut_rt_free() and
 * fut_rt_set_max_depth() refuse there (-EBUSY), and a nested loop started
 * there is shielded from cancellation, as the teardown is. */
FUT_API int fut_drop(fut *f);

/* A future that tears another one down: polling it runs target's
 * poll_drop (or drop) until READY. Its own poll_drop continues the same
 * teardown, so dropping the dropper never leaves the target half torn
 * down. Output: 0. Embeddable, no allocation. */
typedef struct fut_dropper {
    fut base;
    fut *target; /* private */
} fut_dropper;

/* Initialises d to drop target and returns &d->base. The target is owned
 * by the dropper from now on: it must not be polled or dropped elsewhere. */
FUT_API fut *fut_drop_async(fut_dropper *d, fut *target);

/* The context's waker, borrowed: valid during this poll only. Clone it to
 * keep it. Asking for it counts as arranging a wake-up for the debug
 * check. Never NULL. */
FUT_API fut_waker *fut_cx_waker(fut_cx *cx);

/* The runtime polling this future. Never NULL. */
FUT_API fut_rt *fut_cx_rt(fut_cx *cx);

/* 1 when the task this poll runs for was cancelled and this is not a
 * teardown (teardowns are shielded from the cancellation that caused
 * them). Cancellation is sticky. Library waits (sleep, fd readiness, join
 * handles, registered fds) polled under a cancelled context complete with
 * -ECANCELED, so code whose poll is on the stack when its task is
 * cancelled (a nested loop inside it, a long loop checking this) exits
 * through its normal error paths. */
FUT_API int fut_cx_cancelled(fut_cx *cx);

/* 1 in a poll_drop that runs past its drop budget (see <fut/scope.h>):
 * the teardown has been escalated; release everything now, the hard way
 * (close instead of flush), and return READY. Futures that have a sync
 * drop are escalated by calling it instead. */
FUT_API int fut_cx_escalated(fut_cx *cx);

/* From a poll_drop: reports a teardown error (a flush that failed, a
 * goodbye that was not acknowledged) as a negative errno. The first error
 * and the count reach the task's scope (fut_scope_result()) and the
 * runtime's stats; the teardown still has to complete. Outside a teardown
 * it is counted in the stats only. */
FUT_API void fut_cx_report(fut_cx *cx, int err);

/* A new reference to the same waker. Never fails, never allocates. Any
 * thread. */
FUT_API fut_waker *fut_waker_clone(fut_waker *w);

/* Schedules the waker's task to be polled. Any thread: on the runtime's
 * own thread it is a queue push; from another thread it goes through a
 * lock-free queue and one ev_async_send. Waking a task that is running
 * (its poll is on the call stack) records the wake and delivers it when
 * the poll returns. Waking a finished task does nothing. Never allocates,
 * never fails. Does not consume the reference. */
FUT_API void fut_waker_wake(fut_waker *w);

/* Releases a reference. NULL is a no-op. Any thread. */
FUT_API void fut_waker_drop(fut_waker *w);

/* A future that returns PENDING once (waking itself) and then READY with
 * 0: lets the other ready tasks run. */
typedef struct fut_yield {
    fut base;
    int yielded; /* private */
} fut_yield;

FUT_API fut *fut_yield_init(fut_yield *y);

/* Room for one libev watcher (ev_timer, ev_io) inside a public future,
 * so that callers need not include <ev.h>. Private; the library checks at
 * build time that its libev's watchers fit. */
typedef union fut__watcher {
    void *p;
    double d;
    long long ll;
    unsigned char bytes[64];
} fut__watcher;

/* A deadline inside a public future: a node of its runtime's timer heap
 * (no allocation per timer). Private. */
typedef struct fut__timer {
    struct fut__timer *prev; /* NULL: not armed */
    struct fut__timer *next, *child;
    double at;              /* the deadline, on the runtime's clock */
    unsigned long long seq; /* arming order: breaks ties */
    void (*fire)(fut_rt *rt, struct fut__timer *t);
} fut__timer;

/* An intrusive list link inside a public future. Private. */
typedef struct fut__list {
    struct fut__list *prev, *next;
} fut__list;

/* --- diagnostics -------------------------------------------------------- */

/* Receives protocol violations found by the debug checks: a message naming
 * the future's vtable. The default handler prints it to stderr and calls
 * abort(). NULL restores the default. Process-wide; set it before
 * starting runtimes. */
typedef void (*fut_diag_fn)(const char *msg, void *ud);
FUT_API void fut_set_diag_handler(fut_diag_fn fn, void *ud);

/* 1 when this build of the library performs the protocol checks, 0 when
 * it was configured with --disable-debug. */
FUT_API int fut_debug_checks(void);

/* --- allocation --------------------------------------------------------- */

/* The allocator every allocation of the library goes through. alloc
 * returns NULL on failure (the call that needed the memory then returns
 * -ENOMEM and leaves everything as it was); free receives the size that
 * was asked for. Both may be called from any thread. */
struct fut_allocator {
    void *(*alloc)(void *ud, size_t size);
    void (*free)(void *ud, void *p, size_t size);
    void *ud;
};

/* Installs the allocator *a (the struct is copied: it need not outlive the
 * call), or restores malloc/free when a is NULL. Returns 0, or
 * -EBUSY while memory from the current allocator is still outstanding
 * (nothing changes then). libev's own allocations (a loop created by
 * fut_rt_new) do not go through it. */
FUT_API int fut_set_allocator(const struct fut_allocator *a);

/* --- misc ---------------------------------------------------------------- */

/* The version of the library running, "MAJOR.MINOR.PATCH": the string
 * FUT_VERSION_STRING (<fut/version.h>) had when it was built. Static,
 * never NULL. The macros say which headers a program was compiled
 * against; these two calls say which library it runs with. */
FUT_API const char *fut_version(void);

/* The same version as one comparable integer, MAJOR * 10000 + MINOR * 100
 * + PATCH: the library's FUT_VERSION_NUMBER, so a program can test it
 * against the headers' (FUT_VERSION_ENCODE() builds any other). */
FUT_API int fut_version_number(void);

/* A message for a negative errno returned by the library, including what
 * the library means by it where it differs from strerror(), or for one
 * of the library's own codes (the resolver's -FUT_EAI_*, <fut/pool.h>);
 * "unknown error" for anything else, positive values included. Never NULL.
 * The string is static; on a C library without strerrordesc_np (glibc
 * before 2.32, musl) an errno's text comes from strerror_r into a
 * per-thread buffer, valid until the thread's next call. */
FUT_API const char *fut_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
