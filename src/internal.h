/* SPDX-License-Identifier: MIT */
/* libfut internals shared between files. Never installed. */
#ifndef FUT_INTERNAL_H
#define FUT_INTERNAL_H

#include "config.h"

#include <errno.h>
#include <sys/types.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fut.h"
#include "list.h"
#include "state.h"
#include "watch.h"

#define fut__likely(x) __builtin_expect(!!(x), 1)
#define fut__unlikely(x) __builtin_expect(!!(x), 0)

_Static_assert(sizeof(fut__timer) <= sizeof(fut__watcher), "fut__timer must fit fut__watcher");

/* --- struct fut state bits (the base's private `state`) ---------------- */
#define FUT__F_READY 0x1u    /* poll returned READY */
#define FUT__F_DROPPED 0x2u  /* teardown complete */
#define FUT__F_DROPPING 0x4u /* teardown started (poll_drop returned PENDING) */

/* A vtable slot; slots past the author's vtable size read as NULL. */
#define FUT__SLOT(vt, slot) \
    ((vt)->size >= offsetof(struct fut_vtable, slot) + sizeof((vt)->slot) ? (vt)->slot : NULL)

/* A vtable's two teardown slots, NULL where it has none: one test of its
 * size when it has every slot (the common case), else FUT__SLOT each. */
struct fut__drop_slots {
    fut_status (*poll_drop)(fut *, fut_cx *);
    void (*drop)(fut *);
};

static inline struct fut__drop_slots fut__drop_slots(const struct fut_vtable *vt)
{
    if (fut__likely(vt->size >= sizeof *vt))
        return (struct fut__drop_slots){vt->poll_drop, vt->drop};
    return (struct fut__drop_slots){FUT__SLOT(vt, poll_drop), FUT__SLOT(vt, drop)};
}

/* --- small idioms, one implementation each -------------------------------- */

/* A syscall's result as libfut returns it: the value, or -errno. */
static inline ssize_t fut__neg_errno(ssize_t r)
{
    return r < 0 ? -errno : r;
}

/* A multi-producer stack whose consumer takes every node at once (the
 * cross-thread wake stack, the pool's completions). `top` is an
 * _Atomic(T *), `link` the name of the node's plain `T *` link. Evaluates
 * to true when the stack was empty: only that push needs to signal the
 * consumer, which takes the whole stack anyway. */
#define FUT__STACK_PUSH(top, node, link) \
    ({ \
        __typeof__(node) fut__n = (node); \
        __typeof__(node) fut__old = atomic_load_explicit((top), memory_order_relaxed); \
        do \
            fut__n->link = fut__old; \
        while (!atomic_compare_exchange_weak_explicit( \
            (top), &fut__old, fut__n, memory_order_release, memory_order_relaxed)); \
        fut__old == NULL; \
    })

/* Takes every node of such a stack, oldest push first. */
#define FUT__STACK_TAKE_FIFO(top, link) \
    ({ \
        __typeof__(atomic_load(top)) fut__w = atomic_exchange_explicit((top), NULL, \
                                                                       memory_order_acquire); \
        __typeof__(fut__w) fut__rev = NULL; \
        while (fut__w) { /* LIFO to FIFO */ \
            __typeof__(fut__w) fut__nx = fut__w->link; \
            fut__w->link = fut__rev; \
            fut__rev = fut__w; \
            fut__w = fut__nx; \
        } \
        fut__rev; \
    })

/* A plain int of a public struct (public headers stay free of _Atomic, for
 * C++) accessed with C11 atomics: same size and alignment on every target
 * libfut builds for, checked here. */
_Static_assert(sizeof(_Atomic int) == sizeof(int) && _Alignof(_Atomic int) == _Alignof(int),
               "_Atomic int has the layout of int");
static inline _Atomic int *fut__atomic_int(const int *p)
{
    return (_Atomic int *)(void *)(uintptr_t)p;
}

_Static_assert(sizeof(_Atomic unsigned) == sizeof(unsigned) &&
                   _Alignof(_Atomic unsigned) == _Alignof(unsigned),
               "_Atomic unsigned has the layout of unsigned");
static inline _Atomic unsigned *fut__atomic_uint(const unsigned *p)
{
    return (_Atomic unsigned *)(void *)(uintptr_t)p;
}

/* --- allocation ---------------------------------------------------------- */
/* The hook every allocation goes through (alloc.c): the installed
 * allocator (all zero: the default, malloc and free called directly, with
 * no indirect call) and the count of blocks outstanding from it. */
extern struct fut_allocator fut__allocator;
extern _Atomic long fut__outstanding;

static inline void *fut__alloc(size_t size)
{
    void *p = fut__likely(!fut__allocator.alloc) ? malloc(size)
                                                 : fut__allocator.alloc(fut__allocator.ud, size);
    if (p)
        atomic_fetch_add_explicit(&fut__outstanding, 1, memory_order_relaxed);
    return p;
}

static inline void fut__free(void *p, size_t size)
{
    if (!p)
        return;
    if (fut__likely(!fut__allocator.free))
        free(p);
    else
        fut__allocator.free(fut__allocator.ud, p, size);
    atomic_fetch_sub_explicit(&fut__outstanding, 1, memory_order_release);
}

/* --- diagnostics ---------------------------------------------------------- */
void fut__diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *fut__name(const fut *f);

/* --- wakers ---------------------------------------------------------------
 * A waker is the common head of a task and of a nested-loop frame. Its
 * state word and every transition of it are in state.h. */
struct fut_waker {
    fut__state state;
    _Atomic unsigned refs;
    fut_rt *rt;
    /* The run queue, or the cross-thread wake stack: never both at once
     * (a waker is pushed on the stack only when its wake found it neither
     * NOTIFIED nor RUNNING, so not queued, and it stays NOTIFIED until
     * the loop thread took it off the stack and queued it). */
    struct fut_waker *next;
};

/* fut_cx flags */
#define FUT__CX_SHIELD 0x1u    /* a teardown: cancellation is not visible */
#define FUT__CX_ESCALATED 0x2u /* a teardown past its budget */
/* In rt->ctx_flags: fut_drop's first poll_drop, on the probe waker, is the
 * innermost context (fut_rt_free and fut_rt_set_max_depth refuse). It is
 * copied into the flags of what runs inside it, where only a frame's
 * cxflags read it (nested.c); a frame's poll does not pass it on. */
#define FUT__CX_PROBE 0x4u

/* The context a poll receives. Lives on the stack of whoever polls. */
struct fut_cx {
    fut_waker *waker;
    fut_rt *rt;
    struct fut_task *task; /* whose cancellation applies (NULL: none) */
    unsigned flags;
    /* Counts the wake-ups arranged through this context (fut__cx_arrange):
     * a poll that returns PENDING must have moved it. Only ever grows, so
     * a child's arrangements count for its parent with no save/restore. */
    unsigned arranged;
};

static inline void fut__cx_init(fut_cx *cx, fut_rt *rt, fut_waker *w)
{
    cx->waker = w;
    cx->rt = rt;
    cx->task = NULL;
    cx->flags = 0;
    cx->arranged = 0;
}

static inline void fut__cx_arrange(fut_cx *cx)
{
    cx->arranged++;
}

/* Wakes w and gives back the reference the caller held; nothing when w
 * is NULL. */
static inline void fut__wake_drop(fut_waker *w)
{
    if (w) {
        fut_waker_wake(w);
        fut_waker_drop(w);
    }
}

/* Wakes the waker a slot holds and empties the slot (its reference goes
 * with it); nothing when the slot is empty. */
static inline void fut__wake_slot(fut_waker **slot)
{
    fut_waker *w = *slot;
    *slot = NULL;
    fut__wake_drop(w);
}

/* Keeps the waker of the latest poll in *slot: a future may be polled by
 * another task than last time. */
static inline void fut__keep_waker(fut_waker **slot, fut_cx *cx)
{
    fut__cx_arrange(cx); /* fut_cx_waker(), inline */
    fut_waker *w = cx->waker;
    if (*slot != w) {
        fut_waker_drop(*slot);
        *slot = fut_waker_clone(w);
    }
}

/* fut_cx_cancelled(), inline for the library's own hot paths. */
static inline bool fut__cx_cancelled(const fut_cx *cx)
{
    return cx->task && !(cx->flags & FUT__CX_SHIELD) &&
           fut__state_is_cancelled(&((struct fut_waker *)cx->task)->state);
}

static inline bool fut__is_frame(fut_waker *w)
{
    return fut__state_is_frame(&w->state);
}

/* --- tasks ------------------------------------------------------------------ */
/* One allocation: this header (64 bytes on LP64), the future (its size
 * rounded up to 8), then the tail (struct fut__task_tail). The hot fields
 * are here; the task's output is its future's own `out` (READY stored it
 * there; a cancelled task's -ECANCELED is written there; teardown polls
 * put it back if a poll_drop overwrites it). */
struct fut_task {
    struct fut_waker w; /* first: a task is its waker */
    fut__list live;     /* rt->tasks; rt->teardowns while its poll_drop is pending */
    fut_waker *joiner;  /* the join handle's waker */
    uint32_t size;      /* of the future below */
    /* When its poll_drop first went PENDING, as seconds after `spawned`:
     * a float fits beside `size`; precise to ~5 ms after a day alive. */
    float torn_after;
    double spawned; /* ev_now() at spawn: its age in fut_rt_dump() */
    _Alignas(max_align_t) unsigned char fut[];
};

/* After the future, at fut__task_tail(): the cold fields. Every task has
 * the first FUT__TAIL_PLAIN bytes; the rest only a task spawned into a
 * scope (FUT__W_SCOPED: fut__task_scope() is NULL otherwise). */
struct fut__task_tail {
    double deadline;         /* when its pending teardown escalates */
    struct fut_scope *scope; /* the scope it was spawned into */
    void *tag;               /* given at spawn, handed out by fut_scope_next */
    fut__list sib;           /* the scope's tasks alive (s->tasks) */
    struct fut_task *task;   /* back from sib */
    int terr;                /* first error its teardown reported */
    uint32_t terrs;          /* how many it reported */
};
#define FUT__TAIL_PLAIN offsetof(struct fut__task_tail, scope)
#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct fut_task) == 64, "the task header stays at 64 bytes on LP64");
#endif

static inline size_t fut__task_fut_room(size_t size)
{
    return (size + 7) & ~(size_t)7;
}

/* The size of a task's allocation for a future of `size` bytes. */
static inline size_t fut__task_alloc_size(size_t size, bool scoped)
{
    return sizeof(struct fut_task) + fut__task_fut_room(size) +
           (scoped ? sizeof(struct fut__task_tail) : FUT__TAIL_PLAIN);
}

static inline struct fut__task_tail *fut__task_tail(const struct fut_task *t)
{
    return (struct fut__task_tail *)(void *)((unsigned char *)(uintptr_t)t->fut +
                                             fut__task_fut_room(t->size));
}

static inline bool fut__task_scoped(const struct fut_task *t)
{
    return fut__state_peek(&t->w.state) & FUT__W_SCOPED;
}

static inline struct fut_scope *fut__task_scope(const struct fut_task *t)
{
    return fut__task_scoped(t) ? fut__task_tail(t)->scope : NULL;
}

static inline fut *fut__task_fut(const struct fut_task *t)
{
    return (fut *)(void *)(uintptr_t)t->fut;
}

/* Its output, once its future is READY (or it was cancelled). */
static inline ssize_t fut__task_result(const struct fut_task *t)
{
    return fut__task_fut(t)->out;
}

/* A nested loop (fut_rt_block_on, fut_rt_nested_loop). The runtime keeps one
 * per possible depth in one block, allocated up front so that a sync drop
 * never allocates; the block is counted, because a frame's waker may be
 * cloned and outlive the loop that lent it (even the runtime). */
struct fut__frame {
    struct fut_waker w; /* woken when its future should be polled again */
    struct fut__frames *block;
    fut *f;
    bool drop;  /* drives f's teardown instead of f */
    bool probe; /* started by fut_drop after a first poll_drop on the probe */
    /* A wake of the probe was handed on while this frame was in use,
     * started inside a first poll_drop (cxflags has FUT__CX_PROBE): that
     * call may have missed it, and it would drive the rest of its
     * teardown in this frame. */
    bool probe_owed;
    bool running; /* f's poll is on the stack (only the loop thread reads it) */
    bool done;    /* f is READY (or torn down) */
    bool blocked; /* ... while an inner loop was running */
    double done_at;
    struct fut_task *owner; /* the task whose poll started it, or NULL */
    unsigned cxflags;       /* passed to its future's polls */
};

struct fut__frames {
    /* The probe waker: the waker of fut_drop's first poll_drop, which
     * claims no frame (a teardown READY at once never sets up a loop).
     * Only its `w` and `block` are used. A wake of it reaches every frame
     * in use that fut_drop started after such a poll was PENDING
     * (probe_fanout, nested.c). First: its address is the block's. */
    struct fut__frame probe;
    _Atomic unsigned refs; /* the runtime's, plus one per waker clone */
    unsigned n;
    struct fut__frame v[];
};

int fut__frames_new(fut_rt *rt, unsigned n);
void fut__frames_release(struct fut__frames *fs);
void fut__frames_retire(struct fut__frames *fs);
int fut__run_probe_pending(fut_rt *rt, fut *f, unsigned arranged);
/* True when the thread's stack is too low for one more nested loop. The
 * thread's stack bounds are looked up at its first call (nested.c). */
extern __thread uintptr_t fut__stack_floor __attribute__((tls_model("initial-exec")));
bool fut__stack_low_slow(uintptr_t here);
static inline bool fut__stack_low(void)
{
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t floor = fut__stack_floor;
    if (fut__unlikely(!floor))
        return fut__stack_low_slow(here);
    return here < floor;
}
void fut__task_cancel(struct fut_task *t);
int fut__spawn(fut_rt *rt, const fut *f, size_t size, fut_join *join, struct fut_scope *scope,
               void *tag, bool teardown);
void fut__wake_frames(fut_rt *rt);
bool fut__drop_hard(fut *f);
/* Teardown budgets (scope.c) */
void fut__teardown_wait(fut_rt *rt, struct fut_task *t);
void fut__teardown_done(fut_rt *rt);
void fut__scope_child_spawned(struct fut_scope *s, struct fut_task *t);
void fut__scope_child_done(struct fut_scope *s, struct fut_task *t, unsigned state);
/* f is the orphanage's future (a task of fut_rt_adopt()). */
bool fut__is_orphan(const fut *f);
void fut__budget_fire(fut_rt *rt, fut__timer *t);
void fut__pool_free(fut_rt *rt);
void fut__uring_free(fut_rt *rt);
void fut__signal_free(fut_rt *rt);
void fut__process_free(fut_rt *rt);

/* --- runtime ------------------------------------------------------------------ */
struct fut_rt {
    struct ev_loop *loop;
    bool owns_loop;
    bool closing;
    pthread_t thread;
    unsigned id;                /* never 0; what a future's base records (fut.rt) */
    struct fut_rt *thread_next; /* the runtimes created on this thread */

    /* run queue: FIFO of wakers with NOTIFIED set */
    fut_waker *head, *tail;
    unsigned drain_budget;
    /* Seeded scheduling (fut_rt_set_seed): the xorshift64* state that
     * picks head or tail at each enqueue; 0: off, plain FIFO. */
    uint64_t sched_rng;

    fut__watch prepare; /* drains the run queue before the loop blocks */
    fut__watch idle;    /* keeps the loop from blocking while work is queued */
    fut__watch async;   /* cross-thread wakes */
    _Atomic(fut_waker *) remote;
    unsigned keepalive; /* reasons to hold a reference on the loop */

    fut__list tasks;        /* live tasks */
    fut__list io_unchecked; /* fut_io registered since the last prepare */
    fut__list fd_unchecked; /* fut_fd registered for the first time since then */
    fut__list fds;          /* open fut_fd handles */
    unsigned depth;         /* callbacks/polls of this runtime on the stack */
    /* What the poll on the stack runs for: nested loops started inside it
     * inherit its task (for cancellation) and its flags (shield). */
    struct fut_task *ctx_task;
    unsigned ctx_flags;
    double drop_budget;       /* seconds; default for teardowns */
    double force_deadline;    /* shutdown: every teardown escalates by then */
    fut__list teardowns;      /* tasks whose poll_drop is pending */
    fut__timer budget;        /* fires at the earliest teardown deadline */
    fut__list shutdowns;      /* pending fut_shutdown: woken when the last task finished */
    struct fut__pool *pool;   /* started at the first job */
    unsigned pool_max;        /* fut_rt_set_pool_size, 0: default */
    struct fut__uring *uring; /* the io_uring ring, set up at the first op */
    signed char uring_state;  /* 0 not tried, 1 in use, -1 unavailable */
    struct fut__sighub *sig;  /* signal waits, set up at the first one */
    fut__list procs;          /* fut_process spawned and not dropped */

    /* Timers (timer.c): the roots of the two heaps (FUT__TH_*), the arming
     * counter, the timer watch armed for the earliest real deadline and that
     * deadline (INFINITY: not armed); the clock (FUT_CLOCK_*) and, unless
     * real, its time. */
    fut__timer *troot[2];
    unsigned long long tseq;
    fut__watch timer;
    double timer_at;
    double manual_now;
    int clock;
    bool auto_jump; /* the auto clock jumps if nothing else happens this iteration */

    struct fut__frames *frames;
    unsigned frame_depth; /* frames in use: frames->v[0 .. frame_depth-1] */
    bool frame_woken;     /* a frame was woken on this thread */
    /* ev_now() may be old: the runtime was left for plain code since the
     * loop last updated its clock. Refreshed by fut__fresh_now(). */
    bool now_stale;

    struct fut_rt_stats st;
};

/* fds registered with libev since the last prepare: checked right before
 * libev hands them to epoll_ctl (which aborts the process on EBADF). */
void fut__check_fds(fut_rt *rt);
int fut__fd_usable(int fd);
void fut__fd_check(fut_fd *h);
void fut__fd_close(fut_fd *h);
/* Reports (diagnostic) a handle used at another address than the one
 * libev knows; what/obj name the object that embeds it. */
bool fut__fd_moved_slow(fut_fd *h, const char *what, const void *obj);
static inline bool fut__fd_moved(fut_fd *h, const char *what, const void *obj)
{
    return fut__unlikely(fut__watch_data(fut__watch_of(&h->io)) != h) &&
           fut__fd_moved_slow(h, what, obj);
}
/* fut_fd flags */
#define FUT__H_OPEN 0x1
#define FUT__H_CHECKED 0x2 /* passed the check right before its first registration */
#define FUT__H_BAD 0x4
#define FUT__H_NOTSOCK 0x8 /* write(2), not send(2): not a socket */
static inline bool fut__fd_bad(const fut_fd *h)
{
    return h->flags & FUT__H_BAD;
}
void fut__fd_forget(fut_fd *copy);
void fut__fd_arm(fut_fd *h, int events, fut_cx *cx);
void fut__fd_wake(fut_fd *h);
/* send(MSG_NOSIGNAL) on a socket, write(2) on anything else. */
ssize_t fut__fd_send(fut_fd *h, const void *buf, size_t len);
int fut__addr_split(const char *s, char *buf, size_t size, const char **port, int *bracketed);
void fut__drain(fut_rt *rt);
void fut__task_release(struct fut_task *t);
void fut__take_remote(fut_rt *rt);
bool fut__on_thread(const fut_rt *rt);

/* libfut's own watchers do not keep the loop alive; live tasks and
 * running nested loops do, through one loop reference. */
static inline void fut__keepalive(fut_rt *rt, int delta)
{
    if (delta > 0) {
        if (rt->keepalive++ == 0)
            fut__loop_ref(rt->loop);
    } else if (--rt->keepalive == 0) {
        fut__loop_unref(rt->loop);
    }
}

/* The thread's current runtime. initial-exec: a plain %fs access instead
 * of a call to __tls_get_addr on every enter/leave. */
extern __thread fut_rt *fut__current __attribute__((tls_model("initial-exec")));
/* The runtime created on this thread while it had none (until freed). */
extern __thread fut_rt *fut__thread_default __attribute__((tls_model("initial-exec")));

/* The runtime of this thread with that id, NULL when there is none. */
fut_rt *fut__rt_by_id(unsigned id);

static inline fut_rt *fut__rt_current(void)
{
    return fut__current ? fut__current : fut__thread_default;
}

/* --- timers and the clock (timer.c) ---------------------------------------------
 * A fut__timer is armed for an absolute time on the runtime's clock and
 * fires once: its `fire` runs from the loop (or from fut_rt_advance()),
 * off the node's heap, with t->at passed (even if fut__now() reads a hair
 * earlier: compare against t->at). Arming an armed node re-arms it;
 * cancelling one that is not armed is a no-op. Never allocates. */
#define FUT__TH_RT 0u   /* the heap on the runtime's clock */
#define FUT__TH_REAL 1u /* the heap on the real clock, whatever the mode */

static inline void fut__timer_init(fut__timer *t, void (*fire)(fut_rt *, fut__timer *))
{
    t->prev = NULL;
    t->fire = fire;
}

static inline bool fut__timer_armed(const fut__timer *t)
{
    return t->prev != NULL;
}

void fut__timer_arm(fut_rt *rt, fut__timer *t, double at);
/* `after` seconds on the real clock, even under a manual one. */
void fut__timer_arm_real(fut_rt *rt, fut__timer *t, double after);
void fut__timer_cancel(fut_rt *rt, fut__timer *t);
void fut__timers_init(fut_rt *rt);
void fut__timers_free(fut_rt *rt);
/* The prepare and idle watchers' part, under a manual clock. */
void fut__timers_prepare(fut_rt *rt);
void fut__timers_idle(fut_rt *rt);

/* The runtime's time: the loop's (ev_now()), or the manual clock's. */
static inline double fut__now(fut_rt *rt)
{
    return fut__likely(rt->clock == FUT_CLOCK_REAL) ? fut__loop_now(rt->loop) : rt->manual_now;
}

/* The same, the loop's time refreshed first when plain code ran since the
 * loop last updated it: for arming deadlines. */
static inline double fut__fresh_now(fut_rt *rt)
{
    if (fut__unlikely(rt->clock != FUT_CLOCK_REAL))
        return rt->manual_now;
    if (fut__unlikely(rt->now_stale)) {
        fut__loop_update_now(rt->loop);
        rt->now_stale = false;
    }
    return fut__loop_now(rt->loop);
}

/* Now, read from the clock: for a duration that counts from this moment
 * (one clock_gettime under the real clock). */
static inline double fut__clock_read(fut_rt *rt)
{
    if (fut__unlikely(rt->clock != FUT_CLOCK_REAL))
        return rt->manual_now;
    fut__loop_update_now(rt->loop);
    rt->now_stale = false;
    return fut__loop_now(rt->loop);
}

/* Enter/leave the runtime from a libev callback or an entry point: makes
 * it current and counts the depth. */
static inline fut_rt *fut__enter(fut_rt *rt)
{
    fut_rt *prev = fut__current;
    fut__current = rt;
    rt->depth++;
    return prev;
}

static inline void fut__leave(fut_rt *rt, fut_rt *prev)
{
    rt->depth--;
    fut__current = prev;
}

/* --- polling with the protocol checks ------------------------------------------
 * fut_poll() and fut_poll_drop(), inline for the library's own combinators
 * (the exported functions are these). The slow paths are out of line. */

fut_status fut__poll_refused(fut *f) __attribute__((cold));
void fut__pending_unarranged(const fut *f, const char *what) __attribute__((cold));
fut_status fut__double_drop(fut *f) __attribute__((cold));

static inline fut_status fut__poll(fut *f, fut_cx *cx)
{
#ifndef NDEBUG
    if (fut__unlikely(f->state & (FUT__F_READY | FUT__F_DROPPED | FUT__F_DROPPING)))
        return fut__poll_refused(f);
    /* cx->arranged only grows: a wake arranged below this call (by f or
     * by a child of f) moves it, and still counts for our caller. */
    unsigned arranged0 = cx->arranged;
#endif
    f->rt = cx->rt->id;
    fut_status st = f->vt->poll(f, cx);
    if (st == FUT_READY)
        f->state |= FUT__F_READY; /* combinators read it */
#ifndef NDEBUG
    else if (fut__unlikely(cx->arranged == arranged0))
        fut__pending_unarranged(f, "");
#endif
    return st;
}

static inline fut_status fut__poll_drop(fut *f, fut_cx *cx)
{
    const struct fut_vtable *vt = f->vt;
    if (fut__unlikely(!vt))
        return FUT_READY; /* zero-initialised: nothing to release */
    if (fut__unlikely(f->state & FUT__F_DROPPED))
        return fut__double_drop(f);
    /* poll_drop first, drop only without one: not fut__drop_slots(), which
     * reads both. */
    fut_status (*pd)(fut *, fut_cx *) = FUT__SLOT(vt, poll_drop);
    if (pd) {
        f->rt = cx->rt->id;
#ifndef NDEBUG
        unsigned arranged0 = cx->arranged;
#endif
        fut_status st = pd(f, cx);
        if (st == FUT_PENDING) {
            f->state |= FUT__F_DROPPING;
#ifndef NDEBUG
            if (fut__unlikely(cx->arranged == arranged0))
                fut__pending_unarranged(f, ": poll_drop");
#endif
            return FUT_PENDING;
        }
#ifndef NDEBUG
        /* A teardown that completed arranged nothing its owner waits on. */
        cx->arranged = arranged0;
#endif
    } else {
        void (*drop)(fut *) = FUT__SLOT(vt, drop);
        if (drop)
            drop(f);
    }
    f->state |= FUT__F_DROPPED;
    return FUT_READY;
}

#endif
