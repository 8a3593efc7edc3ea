/* SPDX-License-Identifier: MIT */
/* libfut: structured concurrency. Scopes, drop budgets, the orphanage,
 * graceful shutdown.
 *
 * A scope owns the tasks spawned into it and is itself a future: it
 * completes when all of them finished. Dropping (cancelling) a scope
 * cancels its children and waits for their asynchronous drops; their
 * futures' own scopes are dropped with them, so cancellation propagates
 * down the tree. Errors propagate up: by default the first child that
 * fails cancels its siblings; with FUT_SCOPE_KEEP_GOING (servers) each
 * failure is counted and passed to an error handler, and the others go on.
 *
 * A scope can also be a task set (FUT_SCOPE_COLLECT: fut_scope_next()
 * takes its children's outputs as they finish) and can bound how many
 * children it runs at once (fut_scope_set_limit(), fut_scope_spawn_wait()).
 * A scope that takes no more children (closed, cancelled, dropped) says so
 * to every spawn: -ESHUTDOWN or -ECANCELED, never a silent 0.
 *
 * Scopes and their futures belong to their runtime's loop thread.
 *
 * Teardowns run shielded from the cancellation that caused them, under a
 * drop budget: a teardown still pending when its budget runs out is
 * escalated (the future's sync drop is called, or, when it has none, its
 * poll_drop keeps being polled with fut_cx_escalated() true). Escalations
 * are counted in the scope and the runtime stats.
 */
#ifndef FUT_SCOPE_H
#define FUT_SCOPE_H

#include "future.h"
#include "rt.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The drop budget of a runtime when none was set, in seconds. */
#define FUT_DEFAULT_DROP_BUDGET 10.0

/* Sets the runtime's drop budget: how long a task's asynchronous teardown
 * may stay pending before it is escalated. INFINITY: never escalate.
 * Applies to teardowns that start afterwards. Returns 0 or -EINVAL (NaN,
 * negative). */
FUT_API int fut_rt_set_drop_budget(fut_rt *rt, double seconds);

/* Scope flags */
/* A failing child does not cancel its siblings: its error is counted
 * (first error, count: fut_scope_result(), the scope's output) and passed
 * to the error handler, and the others keep running; new children are
 * still taken. The policy for servers, whose connections are children.
 * Without it, the first child error cancels the scope: every sibling, and
 * every later spawn fails with -ECANCELED. */
#define FUT_SCOPE_KEEP_GOING 0x1u
/* A task set: each finished child is kept, with its output and tag, until
 * fut_scope_next() takes it (or the scope is dropped). A kept child holds
 * its task's memory (one block: the task and its copy of the future, the
 * future already torn down) and nothing else. Without it, fut_scope_next()
 * fails with -EINVAL. Its children's errors are counted, reported and
 * acted on by the policy as they finish, whether taken or not. */
#define FUT_SCOPE_COLLECT 0x2u

/* Embeddable; fields private. Initialise with fut_scope_init(); the scope
 * must not move once a child was spawned into it (or a fut_scope_next()
 * or fut_scope_spawn_wait() on it was polled), and must be dropped
 * (fut_drop() or an owner's async drop) before its memory goes: dropping
 * it waits for its children. */
typedef struct fut_scope {
    fut base;
    fut_rt *rt;
    unsigned flags;
    unsigned alive; /* children not finished */
    int cancelled;  /* 0, or why: -ECANCELED, -ETIMEDOUT, a child's error */
    int first_error;
    unsigned errors;
    int teardown_error;
    unsigned teardown_errors;
    unsigned escalations;
    double budget;  /* < 0: the runtime's */
    double timeout; /* < 0: none */
    int armed;
    int closed; /* 1: closed or completed, 2: its drop started */
    fut_waker *waker;
    fut_sleep deadline;
    void (*on_error)(struct fut_scope *s, int err, void *ud);
    void *on_error_ud;
    /* Set up at the first spawn or wait: the scope may move until then. */
    fut__list finished; /* kept children, in finish order (COLLECT) */
    fut__list nexts;    /* pending fut_scope_next ops */
    fut__list waits;    /* pending fut_scope_spawn_wait ops, FIFO */
    unsigned limit;     /* most children alive at once, 0: no limit */
    fut__list tasks;    /* children alive: cancelled without a walk of the runtime */
} fut_scope;

/* Output of the scope future: 0 when every child succeeded; else the
 * first child error (a child output < 0 that was not caused by the
 * scope's own cancellation), -ETIMEDOUT after its deadline, -ECANCELED
 * after fut_scope_cancel(). Returns &s->base. */
FUT_API fut *fut_scope_init(fut_scope *s, fut_rt *rt, unsigned flags);

/* Cancels the scope's children `seconds` after the scope's first poll
 * (its output then is -ETIMEDOUT). Call before the first poll. Returns 0
 * or -EINVAL. */
FUT_API int fut_scope_set_timeout(fut_scope *s, double seconds);

/* The drop budget of this scope's children (overrides the runtime's).
 * Returns 0 or -EINVAL. */
FUT_API int fut_scope_set_budget(fut_scope *s, double seconds);

/* Calls on_error(s, err, ud) once per failed child, with its error, on
 * the loop thread, as the child finishes (after its teardown): a server
 * logs each failed connection here. A failure is a child output < 0 that
 * is not the -ECANCELED of the scope's own cancellation; it is counted
 * (fut_scope_result() already shows it) before the call, and, without
 * FUT_SCOPE_KEEP_GOING, the first one cancels the siblings right after
 * it. The handler may call fut_scope_result(), fut_scope_cancel(),
 * fut_scope_close() and spawn into s; it must not drop s. NULL removes
 * it. Any time before the scope is dropped. Returns 0 or -EINVAL (s NULL). */
FUT_API int fut_scope_set_error_handler(fut_scope *s,
                                        void (*on_error)(fut_scope *s, int err, void *ud),
                                        void *ud);

/* Spawns a task into the scope, as fut_rt_spawn() does (same ownership
 * rules and errors). A scope that no longer takes children refuses, and
 * the caller keeps f (an accept loop should stop on these, not retry):
 *   -ESHUTDOWN  the scope's drop started (or it was dropped: its memory
 *               still in place), fut_scope_close() was called, or the
 *               scope already completed (was polled to READY); also the
 *               runtime is being freed, as for fut_rt_spawn();
 *   -ECANCELED  the scope was cancelled: fut_scope_cancel(), its
 *               timeout, or, without FUT_SCOPE_KEEP_GOING, a child's
 *               error (fut_scope_result() says which).
 * With a limit (fut_scope_set_limit()) it does not wait for room:
 *   -EAGAIN     the scope is at its limit, or spawns are waiting for room
 *               (they go first); fut_scope_spawn_wait() waits instead.
 * Loop thread only. */
FUT_API int fut_scope_spawn(fut_scope *s, const fut *f, size_t size, fut_join *join);

#define FUT_SCOPE_SPAWN(s, fp, join) \
    fut_scope_spawn((s), (const fut *)(fp), sizeof *(fp) + FUT__NOT_BARE_FUT(fp), (join))

/* fut_scope_spawn(), with a tag that fut_scope_next() hands back with the
 * child's output (to tell which child it was: an index, the caller's
 * record of it). The library never reads the tag. */
FUT_API int fut_scope_spawn_tag(fut_scope *s, const fut *f, size_t size, void *tag, fut_join *join);

#define FUT_SCOPE_SPAWN_TAG(s, fp, tag, join) \
    fut_scope_spawn_tag((s), (const fut *)(fp), sizeof *(fp) + FUT__NOT_BARE_FUT(fp), (tag), (join))

/* --- bounded concurrency --------------------------------------------------- */

/* At most n children of the scope alive at once (0: no limit, the
 * default). A child counts from its spawn until it finished, its
 * teardown included, so the bound holds for the resources its future
 * owns. Lowering it below the children alive cancels none: new spawns
 * wait until they are fewer. Any time; raising it lets waiting spawns in.
 * Returns 0 or -EINVAL (s NULL). Loop thread only. */
FUT_API int fut_scope_set_limit(fut_scope *s, unsigned n);

/* A future that spawns f into the scope once the scope has room under its
 * limit (at once when it has no limit): fut_scope_spawn_tag() that waits.
 * Waiting spawns get room in the order they first waited (FIFO), before
 * any fut_scope_spawn(). Embeddable; no allocation but the task's own, at
 * the spawn.
 *
 * f (size bytes, as for fut_rt_spawn()) and join must stay where they are
 * until the op is READY or dropped; f is copied at the spawn, and from
 * then on is the task's (forget the caller's copy, do not drop it).
 *
 * Output: 0 once spawned (join, if any, initialised); else f is still
 * the caller's and it is
 *   -ESHUTDOWN  the scope was closed, completed or dropped, or its drop
 *               completed while this waited; or the runtime is being
 *               freed;
 *   -ECANCELED  the scope was cancelled, or the task polling this was;
 *   -ENOMEM, -EINVAL (s NULL, or f as for fut_rt_spawn()).
 *
 * Cancellation: dropping it while it waits spawns nothing and loses
 * nothing: the room it was about to get goes to the next waiter. A
 * pending op must be dropped before the scope's memory goes. Loop thread
 * only. */
typedef struct fut_scope_spawn_op {
    fut base;
    fut_scope *scope; /* private */
    const fut *f;     /* private */
    size_t size;      /* private */
    void *tag;        /* private */
    fut_join *join;   /* private */
    int let_go;       /* private: the scope's drop completed */
    fut_waker *waker; /* private */
    fut__list link;   /* private: the scope's waits (next NULL: none) */
} fut_scope_spawn_op;

FUT_API fut *fut_scope_spawn_wait(fut_scope_spawn_op *op, fut_scope *s, const fut *f, size_t size,
                                  void *tag, fut_join *join);

#define FUT_SCOPE_SPAWN_WAIT(op, s, fp, tag, join) \
    fut_scope_spawn_wait((op), (s), (const fut *)(fp), sizeof *(fp) + FUT__NOT_BARE_FUT(fp), \
                         (tag), (join))

/* --- task sets ----------------------------------------------------------- */

/* A future that takes the next finished child of a FUT_SCOPE_COLLECT
 * scope: the earliest finished one not taken yet, else the next to
 * finish (a child finishes once its future's teardown is done). Like
 * Tokio's JoinSet::join_next. Embeddable, no allocation.
 *
 * Output: the child's output (-ECANCELED for a child cancelled before its
 * future completed), with child = 1 and tag = its spawn tag. Otherwise
 * child = 0 and:
 *   -ECHILD     no child left to take: the scope has no child alive and
 *               none kept (the end of a `while next` loop), or its drop
 *               started (children finishing then are not kept);
 *   -EINVAL     s NULL, or the scope is not a FUT_SCOPE_COLLECT one;
 *   -ECANCELED  the task polling it was cancelled.
 * A child's output may be any of these too: read child, not the code.
 *
 * Cancellation: dropping a pending op loses nothing; a child that
 * finished meanwhile stays kept for the next call. Several ops may wait
 * on one scope; each child goes to one of them. A pending op must be
 * dropped before the scope's memory goes; one still pending when the
 * scope's drop completes is woken and completes with -ECHILD. Loop thread
 * only. */
typedef struct fut_scope_next_op {
    fut base;
    void *tag;        /* public, read-only: the child's tag, when child */
    int child;        /* public, read-only: 1 when the output is a child's */
    fut_scope *scope; /* private */
    int let_go;       /* private: the scope's drop completed */
    fut_waker *waker; /* private */
    fut__list link;   /* private: the scope's pending nexts (next NULL: none) */
} fut_scope_next_op;

FUT_API fut *fut_scope_next(fut_scope_next_op *op, fut_scope *s);

/* Cancels every child (and, through their drops, their own scopes); the
 * scope then completes once their teardowns did. Idempotent. */
FUT_API void fut_scope_cancel(fut_scope *s);

/* Closes the scope to new children (fut_scope_spawn() then fails with
 * -ESHUTDOWN) without cancelling the ones it has: a server's graceful
 * stop. The scope completes when they finished. NULL: no-op. Idempotent. */
FUT_API void fut_scope_close(fut_scope *s);

/* Never-taken children of a FUT_SCOPE_COLLECT scope are released by its
 * drop; the scope completes when its children finished, taken or not. */
struct fut_scope_result {
    int first_error;    /* first child error, 0 if none */
    unsigned errors;    /* children that failed */
    int teardown_error; /* first error a child's teardown reported */
    unsigned teardown_errors;
    unsigned escalations; /* children whose teardown ran past the budget */
    unsigned alive;       /* children not finished yet */
};

FUT_API void fut_scope_result(const fut_scope *s, struct fut_scope_result *r);

/* --- the orphanage ------------------------------------------------------ */

/* Hands f's teardown to the runtime, for owners that cannot await it (a
 * libev callback, sync code that must not block): the runtime drives f's
 * poll_drop in the background, under the drop budget, then calls
 * release(f, ud) (e.g. to free f's memory; may be NULL). f must stay where
 * it is until then and must not be touched by the caller. fut_rt_free()
 * drains the orphanage before it returns. Counted in the stats (orphans).
 * Returns 0, -EINVAL, -ENOMEM (f is still the caller's), -ESHUTDOWN. */
FUT_API int fut_rt_adopt(fut_rt *rt, fut *f, void (*release)(fut *f, void *ud), void *ud);

/* --- graceful shutdown --------------------------------------------------- */

/* A future that shuts the runtime down: cancels every task, waits for
 * every teardown, escalating those still pending `budget` seconds after
 * its first poll (INFINITY: never), and completes (output 0) when no task
 * is left. fut_rt_free() runs one with the runtime's drop budget. Spawning
 * after it started fails with -ESHUTDOWN. Embeddable. */
typedef struct fut_shutdown {
    fut base;
    fut_rt *rt;       /* private */
    double budget;    /* private */
    int started;      /* private */
    fut_waker *waker; /* private */
    fut__list link;   /* private: the runtime's pending shutdowns */
} fut_shutdown;

FUT_API fut *fut_rt_shutdown(fut_shutdown *s, fut_rt *rt, double budget);

#ifdef __cplusplus
}
#endif

#endif
