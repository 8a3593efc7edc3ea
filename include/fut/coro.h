/* SPDX-License-Identifier: MIT */
/* libfut: coroutine macros. Write a future as one function body, top to
 * bottom: each await drops what it awaited, and children bound with
 * FUT_BIND_ASYNC are dropped asynchronously when the coroutine ends.
 *
 *     struct fetch {
 *         fut base;              // first, named `base`
 *         fut_coro co;           // named `co`
 *         fut_stream s;          // children live in the struct, not on the stack
 *         fut_stream_op op;
 *         char line[256];
 *     };
 *
 *     static fut_status fetch_body(struct fetch *f, fut_cx *cx)
 *     {
 *         FUT_BEGIN(&f->co);
 *         FUT_BIND_ASYNC(&f->s.base);              // closed however we end
 *         FUT_AWAIT(cx, fut_stream_read_line(&f->op, &f->s, f->line, sizeof f->line));
 *         if (fut_out(&f->op.base) < 0)            // still its output
 *             FUT_RETURN(fut_out(&f->op.base));    // an early error exit
 *         FUT_AWAIT(cx, fut_stream_write(&f->op, &f->s, f->line,
 *                                        (size_t)fut_out(&f->op.base)));
 *         FUT_RETURN(fut_out(&f->op.base));
 *         FUT_END();
 *     }
 *     FUT_CORO_DEFINE(fetch, fetch_body);   // fetch_vt: poll and poll_drop
 *
 *     struct fetch f = {0};
 *     fut_stream_open(rt, &f.s, fd, NULL);
 *     FUT_CORO_INIT(&f, fetch);             // returns &f.base
 *
 * The body is the future's poll. FUT_BEGIN(co) names the coroutine state
 * once; the other macros use it.
 *
 * Awaits. FUT_AWAIT(cx, child) polls child until READY, then drops it
 * asynchronously (its poll_drop until READY, shielded from the task's
 * cancellation like any teardown), the coroutine returning PENDING
 * meanwhile; only then does the body go on. So the body never drops what
 * it awaited: a join handle's task reference, a lookup's addresses, a
 * timer, a granted permit are released at the await, whichever way the
 * body goes on. After the await:
 *  - fut_out(child) is still the child's output: the base stays in your
 *    struct and the macro restores its `out` after the drop. It stays
 *    valid until the child is initialised again.
 *  - Anything else of the child is gone with its drop: to read what it
 *    keeps inside (a fut_dns_lookup()'s addresses), bind it (below). What
 *    it delivered to you lives on: bytes in your buffer, a stream handed
 *    to you (fut_accept, fut_connect), a channel item
 *    (fut_chan_recv_item() reads it after the drop).
 *  - The child's memory may be initialised again (a stream op re-used in
 *    a loop, a sleep re-armed) and awaited again.
 * A child bound with FUT_BIND_ASYNC is not dropped by the await: it stays
 * alive, holding what it holds, until the coroutine ends. Bind what you
 * must keep past the await, a guard above all (fut_sem_acquire_op,
 * fut_mutex_lock_op: their drop gives the permit or the lock back):
 *
 *         FUT_BIND_ASYNC(fut_mutex_lock(&s->lk, &s->m));
 *         FUT_AWAIT(cx, &s->lk.base);          // held until the end
 *
 * Binding the same child again is a no-op, so a loop may bind, await and
 * drop a guard by hand (fut_drop) every iteration; the teardown skips a
 * bound child that was dropped and not initialised again.
 *
 * Teardown. The generated poll_drop tears the coroutine down, whenever it
 * is called (the coroutine finished, returned an error early, or is
 * cancelled mid-await or mid-drop of what it awaited): first the child
 * being awaited or dropped, unless it is bound, then every bound child in
 * reverse order of binding, each asynchronously (poll_drop until READY)
 * and exactly once.
 *
 * Limitations (protothread-style, switch based):
 *  - C locals do not survive an await: keep state in the struct.
 *  - No switch statement may span an await (the awaits are case labels of
 *    the coroutine's own switch); a switch between two awaits is fine.
 *  - Leave the body only through FUT_AWAIT (pending), FUT_RETURN and
 *    FUT_END; a plain `return` skips the bookkeeping.
 *  - At most FUT_CORO_MAX_BOUND children bound at once; binding one more
 *    makes the coroutine return -E2BIG (what was bound is still dropped).
 *    The limit is a compile-time parameter: see FUT_CORO_MAX_BOUND.
 * Several awaits may share a source line (two in one macro, or on one
 * line): each resume point is numbered with __COUNTER__. Compilers
 * without __COUNTER__ (gcc and clang have it) fall back to __LINE__, and
 * two awaits on one line are then a "duplicate case value" error.
 *
 * Misuse the compiler catches: FUT_AWAIT, FUT_BIND_ASYNC, FUT_RETURN or
 * FUT_END outside FUT_BEGIN (undeclared fut__co), FUT_BEGIN without
 * FUT_END and the reverse (unbalanced braces), a FUT_BEGIN argument that
 * is not a fut_coro pointer, the earlier forms that passed the coroutine
 * to every macro (wrong number of macro arguments), FUT_CORO_MAX_BOUND
 * out of range (a negative array size naming it). Defining it again
 * after the header draws a "redefined" warning.
 */
#ifndef FUT_CORO_H
#define FUT_CORO_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How many children one coroutine can bind. Define it before including
 * <fut.h> or <fut/coro.h> to change it (1 to 65535; the same value in
 * every file that shares a coroutine struct): the library does not
 * depend on it, fut_coro_init() stores the capacity in the struct. */
#ifndef FUT_CORO_MAX_BOUND
#define FUT_CORO_MAX_BOUND 16
#endif

/* A compile error naming the problem when the limit is out of range. */
typedef char fut__coro_max_bound_must_be_1_to_65535
    [(FUT_CORO_MAX_BOUND) >= 1 && (FUT_CORO_MAX_BOUND) <= 65535 ? 1 : -1];

typedef struct fut_coro {
    fut *self;                      /* private: the coroutine's own base */
    int line;                       /* private: resume point */
    unsigned nbound;                /* private */
    unsigned cap;                   /* private: capacity of bound[], set by fut_coro_init() */
    fut *awaiting;                  /* private: the child being awaited, then dropped */
    fut *bound[FUT_CORO_MAX_BOUND]; /* private; last: its size may vary */
} fut_coro;

/* Initialises co with this file's FUT_CORO_MAX_BOUND as its capacity.
 * FUT_CORO_INIT() calls it. */
static inline void fut_coro_init(fut_coro *co)
{
    co->self = 0;
    co->line = 0;
    co->nbound = 0;
    co->cap = FUT_CORO_MAX_BOUND;
    co->awaiting = 0;
}

/* Binds child for asynchronous drop when the coroutine is torn down; a
 * bound child awaited is not dropped by the await. Returns 0 (also when
 * child is bound already: nothing changes), -E2BIG when the capacity is
 * full, -EINVAL when co or child is NULL. FUT_BIND_ASYNC() calls it. */
FUT_API int fut_coro_bind(fut_coro *co, fut *child);

/* The second half of an await, for FUT_AWAIT(): once co's awaited child
 * is READY, drops it asynchronously unless it is bound, keeping its
 * output in its `out`. READY once it is released (or bound); PENDING
 * meanwhile (a wake-up was arranged): call it again when woken. */
FUT_API fut_status fut_coro_drop_awaited(fut_coro *co, fut_cx *cx);

/* The generated poll_drop. */
FUT_API fut_status fut_coro_poll_drop(fut_coro *co, fut_cx *cx);

#if defined(__GNUC__) && (__GNUC__ >= 7 || defined(__clang__))
#define FUT__FALLTHROUGH __attribute__((fallthrough))
#else
#define FUT__FALLTHROUGH ((void)0)
#endif

/* Starts the body; co is the coroutine's fut_coro (e.g. &self->co). */
#define FUT_BEGIN(co) \
    fut_coro *fut__co = (co); \
    switch (fut__co->line) { \
    case 0:

/* Awaits child (a fut *, evaluated once): polls it until READY, then
 * drops it asynchronously unless it is bound; the coroutine returns
 * PENDING meanwhile. fut_out(child) is then its output (see above). */
#ifdef __COUNTER__ /* two resume points, positive, unique in the file */
#define FUT_AWAIT(cx, child) FUT__AWAIT_AT(cx, child, __COUNTER__ + 1, __COUNTER__ + 1)
#else
#define FUT_AWAIT(cx, child) FUT__AWAIT_AT(cx, child, __LINE__ * 2, __LINE__ * 2 + 1)
#endif
#define FUT__AWAIT_AT(cx, child, polling, dropping) \
    do { \
        fut__co->awaiting = (child); \
        fut__co->line = (polling); \
        FUT__FALLTHROUGH; \
    case (polling): \
        if (fut_poll(fut__co->awaiting, (cx)) == FUT_PENDING) \
            return FUT_PENDING; \
        fut__co->line = (dropping); \
        FUT__FALLTHROUGH; \
    case (dropping): \
        if (fut_coro_drop_awaited(fut__co, (cx)) == FUT_PENDING) \
            return FUT_PENDING; \
    } while (0)

/* Binds child (a fut *) for asynchronous drop at the coroutine's exit;
 * past the capacity the coroutine ends with -E2BIG. */
#define FUT_BIND_ASYNC(child) \
    do { \
        int fut__e = fut_coro_bind(fut__co, (child)); \
        if (fut__e) \
            FUT_RETURN(fut__e); \
    } while (0)

/* Ends the coroutine with output v (>= 0 a value, < 0 an error). */
#define FUT_RETURN(v) \
    do { \
        fut__co->line = -1; \
        return fut_ready(fut__co->self, (v)); \
    } while (0)

/* Ends the body; falling through to it ends the coroutine with 0. */
#define FUT_END() \
    } \
    fut__co->line = -1; \
    return fut_ready(fut__co->self, 0)

/* Emits `static const struct fut_vtable type##_vt` for a struct type with
 * members `base` (first) and `co`, whose poll is body. */
#define FUT_CORO_DEFINE(type, body) \
    static fut_status type##_poll(fut *fut__f, fut_cx *fut__cx) \
    { \
        struct type *fut__s = (struct type *)(void *)fut__f; \
        fut__s->co.self = fut__f; \
        return body(fut__s, fut__cx); \
    } \
    static fut_status type##_poll_drop(fut *fut__f, fut_cx *fut__cx) \
    { \
        return fut_coro_poll_drop(&((struct type *)(void *)fut__f)->co, fut__cx); \
    } \
    static const struct fut_vtable type##_vt = {sizeof(struct fut_vtable), #type, type##_poll, \
                                                type##_poll_drop, 0}

static inline fut *fut__coro_setup(fut *base, const struct fut_vtable *vt, fut_coro *co)
{
    fut_init(base, vt);
    fut_coro_init(co);
    return base;
}

/* Initialises a coroutine future s of struct type; returns &s->base. */
#define FUT_CORO_INIT(s, type) fut__coro_setup(&(s)->base, &type##_vt, &(s)->co)

#ifdef __cplusplus
}
#endif

#endif
