/* SPDX-License-Identifier: MIT */
/* libfut: coroutine macros. Write a future as one function body, top to
 * bottom, with children bound for asynchronous drop at scope exit.
 *
 *     struct fetch {
 *         fut base;              // first, named `base`
 *         fut_coro co;           // named `co`
 *         fut_io rd;             // children live in the struct, not on the stack
 *         int fd;
 *         char buf[4096];
 *     };
 *
 *     static fut_status fetch_body(struct fetch *f, fut_cx *cx)
 *     {
 *         FUT_BEGIN(&f->co);
 *         FUT_BIND_ASYNC(&f->co, fut_io_readable_init(&f->rd, f->fd));
 *         FUT_AWAIT(&f->co, cx, &f->rd.base);
 *         if (fut_out(&f->rd.base) < 0)
 *             FUT_RETURN(&f->co, fut_out(&f->rd.base));   // an early error exit
 *         ssize_t n = read(f->fd, f->buf, sizeof f->buf);
 *         FUT_RETURN(&f->co, n < 0 ? -errno : n);
 *         FUT_END(&f->co);
 *     }
 *     FUT_CORO_DEFINE(fetch, fetch_body);   // fetch_vt: poll and poll_drop
 *
 *     struct fetch f = {.fd = fd};
 *     FUT_CORO_INIT(&f, fetch);             // returns &f.base
 *
 * The body is the future's poll. The generated poll_drop tears the
 * coroutine down, whenever it is called (the coroutine finished, returned
 * an error early, or is cancelled mid-await): first the child being
 * awaited if it is not bound, then every bound child in reverse order of
 * binding, each asynchronously (poll_drop until READY) and exactly once.
 *
 * Limitations (protothread-style, switch based):
 *  - C locals do not survive an await: keep state in the struct.
 *  - No switch statement may span an await (the awaits are case labels of
 *    the coroutine's own switch); a switch between two awaits is fine.
 *  - One await per source line (the line number is the resume point).
 *  - Leave the body only through FUT_AWAIT (pending), FUT_RETURN and
 *    FUT_END; a plain `return` skips the bookkeeping.
 *  - At most FUT_CORO_MAX_BOUND children bound at once; binding one more
 *    makes the coroutine return -E2BIG.
 * Misuse the compiler catches: FUT_AWAIT, FUT_BIND_ASYNC or FUT_RETURN
 * outside FUT_BEGIN/FUT_END (undeclared fut__co), FUT_BEGIN without
 * FUT_END and the reverse (unbalanced braces), a coroutine argument that
 * is not a fut_coro pointer.
 */
#ifndef FUT_CORO_H
#define FUT_CORO_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FUT_CORO_MAX_BOUND 8

typedef struct fut_coro {
    fut *self;      /* private: the coroutine's own base */
    int line;       /* private: resume point */
    unsigned nbound;/* private */
    fut *awaiting;  /* private: the child being awaited */
    fut *bound[FUT_CORO_MAX_BOUND]; /* private */
} fut_coro;

static inline void fut_coro_init(fut_coro *co)
{
    co->self = 0;
    co->line = 0;
    co->nbound = 0;
    co->awaiting = 0;
}

/* Binds child for asynchronous drop when the coroutine is torn down.
 * Returns 0 or -E2BIG. */
FUT_API int fut_coro_bind(fut_coro *co, fut *child);

/* The generated poll_drop. */
FUT_API fut_status fut_coro_poll_drop(fut_coro *co, fut_cx *cx);

#define FUT__CORO_CHECK(co) ((void)sizeof((co) == fut__co))

#if defined(__GNUC__) && (__GNUC__ >= 7 || defined(__clang__))
#define FUT__FALLTHROUGH __attribute__((fallthrough))
#else
#define FUT__FALLTHROUGH ((void)0)
#endif

#define FUT_BEGIN(co)                 \
    fut_coro *fut__co = (co);         \
    switch (fut__co->line) {          \
    case 0:

/* Polls child until READY; meanwhile the coroutine returns PENDING. Its
 * output is then fut_out(child). */
#define FUT_AWAIT(co, cx, child)                           \
    do {                                                   \
        FUT__CORO_CHECK(co);                               \
        fut__co->awaiting = (child);                       \
        fut__co->line = __LINE__;                          \
        FUT__FALLTHROUGH;                                  \
    case __LINE__:                                         \
        if (fut_poll(fut__co->awaiting, (cx)) == FUT_PENDING) \
            return FUT_PENDING;                            \
        fut__co->awaiting = 0;                             \
    } while (0)

/* Binds child for asynchronous drop at the coroutine's exit. */
#define FUT_BIND_ASYNC(co, child)                          \
    do {                                                   \
        FUT__CORO_CHECK(co);                               \
        int fut__e = fut_coro_bind(fut__co, (child));      \
        if (fut__e)                                        \
            FUT_RETURN(co, fut__e);                        \
    } while (0)

/* Ends the coroutine with output v (>= 0 a value, < 0 an error). */
#define FUT_RETURN(co, v)                                  \
    do {                                                   \
        FUT__CORO_CHECK(co);                               \
        fut__co->line = -1;                                \
        return fut_ready(fut__co->self, (v));              \
    } while (0)

#define FUT_END(co)          \
    }                        \
    FUT__CORO_CHECK(co);     \
    fut__co->line = -1;      \
    return fut_ready(fut__co->self, 0)

/* Emits `static const struct fut_vtable type##_vt` for a struct type with
 * members `base` (first) and `co`, whose poll is body. */
#define FUT_CORO_DEFINE(type, body)                                            \
    static fut_status type##_poll(fut *fut__f, fut_cx *fut__cx)                \
    {                                                                          \
        struct type *fut__s = (struct type *)(void *)fut__f;                   \
        fut__s->co.self = fut__f;                                              \
        return body(fut__s, fut__cx);                                          \
    }                                                                          \
    static fut_status type##_poll_drop(fut *fut__f, fut_cx *fut__cx)           \
    {                                                                          \
        return fut_coro_poll_drop(&((struct type *)(void *)fut__f)->co, fut__cx); \
    }                                                                          \
    static const struct fut_vtable type##_vt = {                               \
        sizeof(struct fut_vtable), #type, type##_poll, type##_poll_drop, 0}

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
