/* SPDX-License-Identifier: MIT */
/* libfut: the runtime, tasks, join handles and nested loops.
 *
 * A runtime drives tasks on one libev loop, on one thread: the thread that
 * created it. Every function here must be called on that thread, except
 * waking and dropping wakers (<fut/future.h>).
 *
 * How it sits on libev: library watchers (timers, io, the cross-thread
 * ev_async) only push tasks on the run queue; an ev_prepare watcher drains
 * the queue before the loop would block, and an ev_idle watcher keeps the
 * loop from blocking while work is left after a drain. The drain is
 * re-entrant, which is what nested loops build on.
 */
#ifndef FUT_RT_H
#define FUT_RT_H

#include <stdint.h>
#include <stdio.h>

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ev_loop;
struct fut_task;

/* Creates a runtime. loop == NULL: the runtime creates and owns a loop
 * on the epoll backend (falling back to libev's default backend when
 * epoll is unavailable). loop != NULL: the caller's loop is borrowed;
 * libfut's watchers live beside the caller's, the caller may run the loop
 * with ev_run() itself (tasks make progress inside it), and the loop
 * outlives the runtime. While any task is alive the runtime holds a
 * reference on the loop (ev_ref), so ev_run(loop, 0) returns only once
 * every task finished and the caller's own watchers are done.
 *
 * The runtime becomes the thread's default runtime (used by fut_drop()
 * outside any loop) if the thread has none.
 *
 * Returns 0 and *out, or -EINVAL (out NULL), -ENOMEM, -EMFILE or -ENFILE
 * (no fd left for the loop's epoll fd or its eventfd: nothing is left
 * behind), -EIO (libev could not create a loop). */
FUT_API int fut_rt_new(fut_rt **out, struct ev_loop *loop);

/* Frees a runtime: a synchronous, graceful destructor. It runs a
 * shutdown (<fut/scope.h>, fut_rt_shutdown) with the runtime's drop
 * budget: every live task, orphans included, is cancelled and its
 * asynchronous drop driven to completion while the loop runs, teardowns
 * still pending past the budget being escalated (with an infinite budget
 * a teardown that never completes makes this wait forever). Then the pool's
 * workers are stopped: each is joined once its current job returned,
 * except a worker still inside getaddrinfo for a DNS lookup whose future
 * is gone (fut_dns, <fut/pool.h>), which is not waited for: that thread
 * is detached and, when getaddrinfo returns, frees the lookup's list, its
 * block and the pool's bookkeeping (a few hundred bytes) itself and
 * exits. So a hung resolver does not delay this call; until those
 * threads finished, fut_set_allocator() returns -EBUSY and they show as
 * threads of the process (exiting the process meanwhile is fine).
 * Child processes never dropped (<fut/process.h>) are killed with
 * SIGKILL and reaped, blocking until the kernel has ended them.
 * Registered fds left open are closed, the runtime's
 * watchers are stopped and its memory freed; an owned loop is destroyed, a
 * borrowed one is left with none of libfut's watchers. Job futures and
 * other futures polled outside tasks must have been dropped before. Join handles and wakers that
 * outlive the runtime stay valid to poll and drop (every task has finished), but must not be woken
 * from another thread concurrently with this call.
 *
 * Returns 0; -EBUSY (nothing is freed) when called from inside the
 * runtime (a poll, a nested loop, a libev callback of this loop); NULL
 * is a no-op returning 0. */
FUT_API int fut_rt_free(fut_rt *rt);

/* The loop the runtime runs on. */
FUT_API struct ev_loop *fut_rt_loop(fut_rt *rt);

/* The thread's current runtime: the one running on this thread right
 * now (inside fut_rt_block_on(), a nested loop, a libev callback of
 * libfut), else the thread's default runtime (the one created while the
 * thread had none, until it is freed); NULL when none. */
FUT_API fut_rt *fut_rt_current(void);

/* The runtime's time, in seconds: the loop's notion of now (ev_now(),
 * updated once per loop iteration) under the real clock, the manual
 * clock's time under FUT_CLOCK_MANUAL and FUT_CLOCK_AUTO (see below).
 * Every deadline of the library is on this clock. */
FUT_API double fut_rt_now(fut_rt *rt);

/* Runs the loop until f is READY: the outermost synchronous entry point.
 * The other tasks run meanwhile. f is polled directly, not as a task, and
 * is not dropped: drop it (fut_drop()) when done with it. Called from
 * inside the runtime it behaves as fut_rt_nested_loop().
 *
 * Returns 0 and stores f's output in *out (out may be NULL), or
 *   -EINVAL  rt or f NULL;
 *   -EPERM   called on another thread than the runtime's;
 *   -ELOOP   the nested-loop depth limit is reached, or the stack is too
 *            low for one more level (f was not polled). */
FUT_API int fut_rt_block_on(fut_rt *rt, fut *f, ssize_t *out);

/* Drives f to completion from synchronous code that may already be inside
 * the runtime: a drop slot, a poll that must block. The tasks whose poll is
 * on the call stack right now are frozen: they are not polled
 * re-entrantly, and a wake aimed at one is kept and delivered when its
 * poll returns. Every other ready task keeps being polled, timers and I/O
 * keep firing.
 *
 * Nested loops nest. An inner loop returns only when its own future is
 * done, even if an outer one's finished first; the outer then returns as
 * soon as the inner did (the time spent so is in the stats). The depth is
 * bounded (fut_rt_set_max_depth(); default FUT_DEFAULT_MAX_DEPTH), and so
 * is the stack it may use: past the limit, or when less than a margin of
 * the thread's stack is left (64 KiB; 256 KiB under ASan), the call fails
 * with -ELOOP instead of overflowing the stack, whatever the limit.
 *
 * Same returns as fut_rt_block_on(). */
FUT_API int fut_rt_nested_loop(fut_rt *rt, fut *f, ssize_t *out);

/* Each nested level costs a few hundred bytes of stack (libev's ev_run
 * frame, libfut's, and whatever the futures' own frames take); 64 levels
 * stay far within a thread's usual stack. */
#define FUT_DEFAULT_MAX_DEPTH 64

/* Sets the nested-loop depth limit, 1 to 4096 (1: fut_rt_block_on() only, no
 * nesting). Returns 0, -EINVAL, -EBUSY (called from inside a loop of this
 * runtime) or -ENOMEM (the old limit stays). */
FUT_API int fut_rt_set_max_depth(fut_rt *rt, unsigned depth);

/* --- the clock ------------------------------------------------------------- */

/* The runtime's clock drives every deadline of the library: sleeps
 * (<fut/time.h>), fut_timeout, scope deadlines and drop budgets
 * (<fut/scope.h>), fd, stream and connect deadlines, the accept back-off
 * and a child process's grace period. All of them are timers of one heap
 * per runtime, and timers with the same deadline fire in the order they
 * were armed.
 *
 *   FUT_CLOCK_REAL    the default: the loop's time (ev_now()).
 *   FUT_CLOCK_MANUAL  a test clock: time stands still and moves only
 *                     through fut_rt_advance(), so timeouts fire at once,
 *                     in order, and at exactly the time they were set
 *                     for. A fut_rt_block_on() that waits only on timers
 *                     then never returns unless something advances the
 *                     clock (a task calling fut_rt_advance(), or the auto
 *                     mode).
 *   FUT_CLOCK_AUTO    the manual clock, which also jumps by itself: when
 *                     the loop would block with no task ready and timers
 *                     armed, it first polls I/O without blocking and, if
 *                     nothing at all happened, sets the time to the
 *                     earliest deadline and fires the timers due then (one
 *                     loop iteration per jump). So
 *                     fut_rt_block_on(rt, <a sleep of 3600 s>) returns at
 *                     once, with fut_rt_now() 3600 s later. It cannot know
 *                     about events still to come from outside (a peer's
 *                     bytes, a child's exit, a pool job, another thread's
 *                     wake, the caller's own libev watchers): a deadline
 *                     raced against one of those fires first whenever the
 *                     event has not arrived by the time the loop is idle.
 *                     Use FUT_CLOCK_MANUAL for such tests.
 *
 * The manual clock starts at the loop's time when it is switched on (so
 * times taken before stay comparable) and is a double: advancing by 0.1
 * three times need not land exactly on +0.3, while binary fractions (0.5,
 * 0.25) and whole seconds add up exactly. Under it, a deadline already
 * reached when it is armed (a zero timeout, a budget of 0 s) fires at the
 * loop's next iteration, as it would under the real clock.
 *
 * Outside the library's deadlines the real world goes on: I/O, signals,
 * child processes and pool jobs complete in real time (a child process
 * without a pidfd is still polled for on the real clock), and stats in
 * seconds (nested_blocked_seconds) are real. fut_uring_timeout()
 * (<fut/uring.h>) takes its fallback, a sleep, under a manual clock.
 */
#define FUT_CLOCK_REAL 0
#define FUT_CLOCK_MANUAL 1
#define FUT_CLOCK_AUTO 2

/* Sets the runtime's clock to mode (FUT_CLOCK_*). Switching between
 * FUT_CLOCK_MANUAL and FUT_CLOCK_AUTO is allowed at any time (the time
 * and the armed deadlines stay); switching to or from FUT_CLOCK_REAL only
 * while no deadline is armed on the runtime (set it right after
 * fut_rt_new(), or once every sleep, timeout, budget and deadline has
 * fired or been dropped). Switching from the manual clock back to the real
 * one makes fut_rt_now() the loop's time again, which may be earlier than
 * the manual time was. On rt's thread, from plain code or from a poll.
 *
 * Returns 0 (also when mode is the current one), or
 *   -EINVAL  rt NULL, mode unknown;
 *   -EPERM   called on another thread than the runtime's;
 *   -EBUSY   to or from FUT_CLOCK_REAL while a deadline is armed (nothing
 *            changes). */
FUT_API int fut_rt_set_clock(fut_rt *rt, int mode);

/* The runtime's clock mode (FUT_CLOCK_*), or -EINVAL when rt is NULL. */
FUT_API int fut_rt_clock(const fut_rt *rt);

/* Moves the manual clock forward by `seconds`, firing on the way every
 * timer due by the new time, in deadline order (ties in arming order),
 * and running the tasks they wake before it returns:
 *
 *   1. the tasks ready now run until none is left;
 *   2. while the earliest armed deadline is at or before now + seconds,
 *      the time becomes that deadline, every timer due at it fires, and
 *      the tasks ready then run until none is left (so a sleep armed by a
 *      task woken at time t counts from t, and fires within the same call
 *      if it is due by the end);
 *   3. the time becomes now + seconds.
 *
 * fut_rt_advance(rt, 0) fires what is due at the current time. "Run
 * until none is left" polls tasks only: it does not poll I/O or block, so
 * a task that waits on I/O stays parked, and a task that wakes itself
 * forever keeps this call from returning (as it keeps the loop from
 * blocking). From plain code (between fut_rt_block_on() calls) the
 * tasks run in this call; from inside a poll (a task's, or a future's
 * under fut_rt_block_on()), the other ready tasks run re-entrantly, as in
 * a nested loop, while the task whose poll is on the stack, and the
 * future of a fut_rt_block_on() or nested loop in progress, are polled
 * again only after that poll returns (their wakes are kept).
 *
 * Returns 0, or
 *   -EINVAL  rt NULL; seconds NaN, negative or infinite; or the clock is
 *            FUT_CLOCK_REAL (nothing changes);
 *   -EPERM   called on another thread than the runtime's. */
FUT_API int fut_rt_advance(fut_rt *rt, double seconds);

/* --- scheduling order ----------------------------------------------------- */

/* Seeded scheduling, a test and debugging aid: with seed != 0 the order
 * in which ready tasks are polled is permuted (each wake puts the task at
 * the head or the tail of the run queue, by a pseudo-random bit), so code
 * that silently relies on one task running before another shows up. The
 * permutation is reproducible for a given seed and the same sequence of
 * wakes (wakes from other threads, I/O and timer readiness vary from run
 * to run). seed 0 turns it off: ready tasks are polled in the order they
 * were woken (FIFO), the default. Every other guarantee holds either way:
 * a task woken while its poll is on the stack (fut_yield()) is polled
 * again after that poll returns and after the tasks ready by then, nested
 * loops keep running the other tasks, and a drain polls at most a bounded
 * number of tasks before the loop polls for I/O.
 * Off, it costs one predictable branch per wake.
 *
 * The environment variable FUT_SEED, when set to a non-zero integer
 * (decimal, or 0x hex), is the seed of every runtime fut_rt_new() makes,
 * so a whole test suite can be run under a seed: FUT_SEED=3 make check.
 * This call overrides it for rt; a test that pins FIFO order calls
 * fut_rt_set_seed(rt, 0).
 *
 * Takes effect at the next wake; tasks already queued keep their place.
 * On rt's thread. Returns 0, or -EINVAL when rt is NULL. */
FUT_API int fut_rt_set_seed(fut_rt *rt, uint64_t seed);

/* --- tasks --------------------------------------------------------------- */

/* A join handle: a future whose output is the task's output (or
 * -ECANCELED when the task was cancelled before its future completed). It
 * becomes READY once the task finished, including the asynchronous drop of
 * its future. Dropping the handle detaches the task, which keeps running.
 * Embeddable; initialised by fut_rt_spawn(). */
typedef struct fut_join {
    fut base;
    struct fut_task *task; /* private */
} fut_join;

/* Spawns a task running a copy of the future f, which is size bytes long
 * (sizeof the caller's future struct): the task takes it by value, so f is
 * copied before its first poll and the caller's copy must then be
 * forgotten, not dropped. One allocation for the task and its future.
 * When the future is READY, or the task is cancelled, the task
 * asynchronously drops its future (poll_drop until READY, or drop), then
 * finishes.
 *
 * join may be NULL (detached task). Returns 0, or
 *   -EINVAL     rt or f NULL, size < sizeof(fut);
 *   -ENOMEM     (nothing was spawned, f is still the caller's);
 *   -ESHUTDOWN  the runtime is being freed. */
FUT_API int fut_rt_spawn(fut_rt *rt, const fut *f, size_t size, fut_join *join);

/* Spawns a future held in a variable: FUT_SPAWN(rt, &s, &j) where s is the
 * caller's future struct (not a fut *: that is a compile error, since
 * only sizeof(fut) bytes would be copied). */
#define FUT_SPAWN(rt, fp, join) \
    fut_rt_spawn((rt), (const fut *)(fp), sizeof *(fp) + FUT__NOT_BARE_FUT(fp), (join))

/* 0, or a compile error when fp is a plain fut pointer (what
 * FUT_CORO_INIT() and every *_init() return): the spawn would copy the
 * base alone. Pass the caller's struct instead. Private. */
#ifdef __cplusplus
#define FUT__NOT_BARE_FUT(fp) 0
#else
/* clang-format would write `fut * : -1`. */
/* clang-format off */
#define FUT__NOT_BARE_FUT(fp) \
    (0 * sizeof(char[_Generic((fp), fut *: -1, const fut *: -1, default: 1)]))
/* clang-format on */
#endif

/* Cancels the joined task: it stops polling its future and drops it
 * asynchronously; the join handle then completes with -ECANCELED once the
 * teardown is done. A no-op when the task already finished. Returns 0, or
 * -EINVAL when join is NULL or detached. */
FUT_API int fut_join_cancel(fut_join *join);

/* 1 when the joined task has finished (the join will be READY). */
FUT_API int fut_join_finished(const fut_join *join);

/* --- stats --------------------------------------------------------------- */

struct fut_rt_stats {
    uint64_t tasks_spawned;        /* since creation */
    uint64_t tasks_alive;          /* spawned and not finished */
    uint64_t tasks_tearing_down;   /* teardown in progress right now */
    uint64_t polls;                /* task polls */
    uint64_t wakes;                /* wakes that scheduled a task */
    uint64_t remote_wakes;         /* of which from another thread */
    uint64_t frozen_wakes;         /* wakes kept for a task whose poll was on the stack
                                      (those from the loop's thread; a remote one
                                      meeting a running task is delivered uncounted) */
    uint64_t async_drops;          /* teardowns that went through poll_drop */
    uint64_t drains;               /* run-queue drains */
    uint64_t nested_loops;         /* fut_rt_nested_loop() runs (depth >= 2) */
    uint64_t nested_depth;         /* loops on the stack now (fut_rt_block_on is 1) */
    uint64_t nested_depth_max;     /* deepest seen */
    uint64_t nested_blocked;       /* loops whose future was done but waited for an inner one */
    double nested_blocked_seconds; /* time they spent waiting so */
    uint64_t escalations;          /* teardowns escalated past their drop budget */
    uint64_t teardown_errors;      /* errors teardowns reported (fut_cx_report) */
    uint64_t orphans;              /* futures adopted by the orphanage */
    uint64_t orphans_alive;        /* ... whose teardown is not finished */
    uint64_t net_closes;           /* streams closed gracefully (<fut/net.h>) */
    uint64_t net_aborts;           /* streams closed abortively (RST): escalated, timed out, hard */
    uint64_t net_accept_backoffs;  /* accepts that backed off for lack of fds */
};

/* Fills *st with up to size bytes of the runtime's counters (pass
 * sizeof *st: older callers keep working as the struct grows). Returns 0
 * or -EINVAL. */
FUT_API int fut_rt_stats(const fut_rt *rt, struct fut_rt_stats *st, size_t size);

/* --- introspection ------------------------------------------------------- */

/* fut_rt_dump() flags */
#define FUT_DUMP_TEXT 0x0u /* one line per item, key=value fields (default) */
#define FUT_DUMP_DOT 0x1u  /* a Graphviz digraph */

/* Writes what the runtime is doing right now to out: its counters, every
 * live task, every pending teardown and the stack of nested loops. For a
 * human at a terminal (on a signal, say) and for tests, which may parse
 * the text format: its keys stay, new ones may be appended to a line.
 *
 * Walks the runtime's own lists and allocates nothing of its own (stdio
 * may allocate the stream's buffer); it may be called anywhere on the loop
 * thread, from plain code or from inside a poll (even one that runs a
 * nested loop), but out must not call back into the runtime (a
 * fopencookie() stream, say). out is flushed before the call returns.
 *
 * Text format (FUT_DUMP_TEXT), in this order; times in seconds, pointers
 * as %p, "none" for no pointer:
 *
 *   rt id=P now=T tasks_alive=N tasks_spawned=N tearing_down=N polls=N
 *      wakes=N remote_wakes=N frozen_wakes=N async_drops=N escalations=N
 *      teardown_errors=N orphans=N orphans_alive=N nested_depth=N
 *      nested_depth_max=N nested_loops=N      (one line: fut_rt_stats())
 *   task id=P state=S phase=H scope=P|none name=NAME age=T awaits=A
 *   teardown id=P name=NAME age=T budget_left=T|inf|escalated
 *   frame depth=D name=NAME drop=0|1 owner=P|none done=0|1
 *   end tasks=N teardowns=N frames=N
 *
 * task: one line per live task (a finished child kept by a
 * FUT_SCOPE_COLLECT scope is not live). id is the task's address: stable
 * while it lives, may be reused after. state is where its poll stands:
 *   queued   woken, waiting for its turn in the run queue;
 *   parked   waiting for a wake;
 *   running  its poll is on the stack (the dump is called from it, or
 *            from a future it polls);
 *   frozen   its poll is on the stack below a nested loop it started
 *            (fut_rt_block_on, fut_rt_nested_loop, a sync drop): it is not
 *            polled again until that loop returns.
 * phase is what it polls: run (its future), cancelled (cancelled, its
 * future not yet told), teardown (its future's poll_drop), orphan (a
 * future adopted by fut_rt_adopt(), being torn down). scope is the scope
 * it was spawned into; the task whose poll spawned it is not recorded
 * (that would cost a field in every task and a liveness check here), so a
 * task spawned with fut_rt_spawn() shows scope=none. name is the vtable name
 * of its future, with blanks, '=', '"' and control characters shown as
 * '_'. age is the time since it was spawned. awaits names what it waits
 * for when the runtime knows without tracking it per poll: for a frozen
 * task, the future of the innermost nested loop it started; for a task in
 * teardown, its own future's poll_drop (awaits=poll_drop); else unknown.
 *
 * teardown: one line per task whose poll_drop is pending (rt's drop
 * budget), oldest first; these tasks also have a task line. age is the
 * time since its poll_drop first returned PENDING; budget_left is the
 * time until it escalates (the earlier of its budget's deadline and a
 * shutdown's), inf for an infinite budget, escalated once past it.
 *
 * frame: one line per nested loop, outermost (depth=1, usually
 * fut_rt_block_on) first. name is its future's vtable name; drop=1 when it
 * drives that future's teardown (a sync drop); owner is the task whose
 * poll started it; done=1 when its future is done and it waits for the
 * loops above it to return.
 *
 * end: the counts of the lines above; its presence says the dump is whole.
 *
 * DOT format (FUT_DUMP_DOT): `strict digraph fut_rt { ... }` with a node "rt"
 * labelled with the main counters, a node per task ("t<id>", its name,
 * state and age in the label; dashed and red while in teardown, bold
 * once escalated), a node per scope ("s<id>") with edges scope -> task
 * and rt -> scope or rt -> task, and the frames as a chain
 * "f1" -> "f2" -> ... with a dotted edge from each frame to its owner.
 *
 * Returns 0, or
 *   -EINVAL  rt or out NULL, or flags unknown;
 *   -EPERM   called on another thread than the runtime's;
 *   -errno   of the stream, when a write or the flush failed (what was
 *            written may be partial). */
FUT_API int fut_rt_dump(fut_rt *rt, FILE *out, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif
