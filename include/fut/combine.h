/* SPDX-License-Identifier: MIT */
/* libfut: combinators. all, select, timeout.
 *
 * Each combinator is a future that owns its children (the caller's
 * memory, given by pointer; they must not move or be touched while the
 * combinator lives) and whose teardown async-drops every child it has not
 * dropped yet, concurrently, started in reverse order. Losers are never
 * dropped synchronously: a select returns READY only after every loser's
 * poll_drop returned READY, so a loser can say goodbye.
 *
 * Like any future, a combinator may be moved (into a task by fut_rt_spawn)
 * until its first poll; its children are referenced by pointer and stay
 * where they are.
 *
 * Branch modes. By default children are polled inline, from the
 * combinator's own poll: cheapest, but a child whose poll blocks (a nested
 * loop inside it) freezes its siblings with it. With FUT_BRANCH_TASKS each
 * child runs in a task of its own (one allocation per child, at the first
 * poll): siblings keep progressing while one branch is blocked, and
 * cancelling a branch reaches a poll that is on the stack
 * (fut_cx_cancelled(), library waits return -ECANCELED).
 */
#ifndef FUT_COMBINE_H
#define FUT_COMBINE_H

#include "rt.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FUT_BRANCH_TASKS 0x1u

/* State shared by the combinators. Private. */
typedef struct fut__branches {
    fut **children;
    fut_join *joins; /* FUT_BRANCH_TASKS: one per child, caller's memory */
    size_t n;
    unsigned flags;
    int started;   /* branch tasks spawned */
    int cancelled; /* branch tasks cancelled */
    int error;     /* spawning failed */
    int winner;    /* select: -1 until a child is READY */
    fut_waker *waker;
} fut__branches;

/* --- all ------------------------------------------------------------------ */

/* READY when every child is READY; each child's status is its own output
 * (fut_out(children[i])). Output: 0; with FUT_BRANCH_TASKS, the error of
 * fut_rt_spawn (-ENOMEM, -ESHUTDOWN) when the branch tasks could not be
 * spawned, or -ECANCELED when the combinator's own task was cancelled
 * while its poll was on the stack (after every branch was torn down). */
typedef struct fut_all {
    fut base;
    fut__branches b; /* private */
} fut_all;

/* children: n futures (n >= 1). joins: NULL, or n join handles of the
 * caller's memory when flags has FUT_BRANCH_TASKS. Returns &a->base;
 * bad arguments make the future READY with -EINVAL at its first poll. */
FUT_API fut *fut_all_init(fut_all *a, fut **children, size_t n, unsigned flags, fut_join *joins);

/* --- select ----------------------------------------------------------------- */

/* The first child READY wins. The losers are then async-dropped, their
 * teardowns driven concurrently, and the select is READY only when every
 * loser's teardown completed. Output: the winner's index; its status is
 * fut_out(children[winner]). -ENOMEM as for fut_all. The winner itself is
 * dropped with the select. */
typedef struct fut_select {
    fut base;
    fut__branches b; /* private */
} fut_select;

FUT_API fut *fut_select_init(fut_select *s, fut **children, size_t n, unsigned flags,
                             fut_join *joins);

/* --- timeout ------------------------------------------------------------------ */

/* Runs inner with a deadline `seconds` after the first poll. Output: the
 * inner future's output when it finished first; -ETIMEDOUT when the
 * deadline came first, reported only after the inner future's teardown
 * completed; -EINVAL at the first poll for a NaN duration (inner is then
 * never polled; it is dropped with the timeout). The inner future is
 * owned by the timeout.
 *
 * The deadline bounds the wait for the result, not the teardown after it:
 * an inner future that owns a stream closes it gracefully, which waits for
 * the peer's FIN up to the stream's close timeout (<fut/net.h>), or the
 * drop budget in a task. Where the deadline must hold whatever the peer
 * does, shorten the close timeout (fut_stream_set_close_timeout()). */
typedef struct fut_timeout {
    fut base;
    fut_select sel;    /* private */
    fut *kids[2];      /* private */
    fut_join joins[2]; /* private */
    fut_sleep sleep;   /* private */
} fut_timeout;

FUT_API fut *fut_timeout_init(fut_timeout *t, fut *inner, double seconds, unsigned flags);

#ifdef __cplusplus
}
#endif

#endif
