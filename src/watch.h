/* SPDX-License-Identifier: MIT */
/* The watcher layer: the one place that talks to libev (with rt.c, which
 * creates and destroys the loop). Included by internal.h; never installed.
 *
 * A fut__watch is a libev watcher with its callback and its loop
 * reference kept in one place:
 *
 *   - Starting and stopping are idempotent: starting a started watch, or
 *     stopping a stopped one, does nothing (libuv's uv__handle_start and
 *     uv__handle_stop).
 *   - A weak watch (FUT__WATCH_WEAK) does not keep the loop alive: the
 *     layer gives back the reference libev takes at start and takes it
 *     again before the stop, so no caller balances ev_ref/ev_unref.
 *   - Its callback is void fn(fut__watch *w, int events): no libev type
 *     in it. The layer's own callback (one per kind) finds the watch
 *     around libev's watcher and calls fn; for an io watch, `events` is
 *     FUT_READABLE / FUT_WRITABLE, plus FUT__WATCH_ERROR when libev gave
 *     up on the fd (epoll_ctl failed for it: out of watches or memory);
 *     0 for the other kinds.
 *   - `data` is the owner's pointer, stored at init; it also tells where
 *     the owner was when the watch was set up (fut__fd_moved).
 *
 * Public futures embed a watch as opaque storage (fut__watcher, 64 bytes;
 * fut__watch_of() checks at build time that a watch fits). Only the loop
 * thread starts, stops or reads a watch; fut__watch_send() alone may be
 * called from any thread and from a signal handler. */
#ifndef FUT_WATCH_H
#define FUT_WATCH_H

#include <ev.h>
#include <stdbool.h>

#include "fut/future.h"
#include "fut/io.h"

typedef struct fut__watch fut__watch;
typedef void fut__watch_fn(fut__watch *w, int events);

/* kinds */
enum {
    FUT__WATCH_IO = 1, /* readiness of an fd */
    FUT__WATCH_TIMER,  /* once, `after` seconds after the start */
    FUT__WATCH_ASYNC,  /* fut__watch_send() from any thread */
    FUT__WATCH_IDLE,   /* every iteration while started; the loop does not block */
    FUT__WATCH_PREPARE /* every iteration, before the loop polls (blocks) */
};

/* flags, at init */
#define FUT__WATCH_WEAK 0x1u /* does not keep the loop alive */
#define FUT__WATCH_LAST 0x2u /* after every other watcher of the iteration (not io) */

/* in an io callback's events, beside FUT_READABLE / FUT_WRITABLE */
#define FUT__WATCH_ERROR 0x100

struct fut__watch {
    union {
        ev_watcher any;
        ev_io io;
        ev_timer timer;
        ev_async async;
        ev_idle idle;
        ev_prepare prepare;
    } ev; /* first: libev's pointer is the watch's */
    fut__watch_fn *fn;
    unsigned char kind;
    unsigned char flags;
};

_Static_assert(sizeof(fut__watch) <= sizeof(fut__watcher), "a watch must fit fut__watcher");
_Static_assert(_Alignof(fut__watch) <= _Alignof(fut__watcher), "a watch's alignment");

/* The watch kept in a public future's storage. */
static inline fut__watch *fut__watch_of(fut__watcher *s)
{
    return (fut__watch *)(void *)s;
}

/* Set a watch up, stopped; flags are FUT__WATCH_*. An io watch is for fd
 * and `events` (FUT_READABLE | FUT_WRITABLE). A timer keeps the loop
 * alive while started. */
static inline void fut__watch_io_init(fut__watch *w, fut__watch_fn *fn, void *data, int fd,
                                      int events, unsigned flags);
void fut__watch_timer_init(fut__watch *w, fut__watch_fn *fn, void *data);
void fut__watch_async_init(fut__watch *w, fut__watch_fn *fn, void *data, unsigned flags);
void fut__watch_idle_init(fut__watch *w, fut__watch_fn *fn, void *data, unsigned flags);
void fut__watch_prepare_init(fut__watch *w, fut__watch_fn *fn, void *data, unsigned flags);

static inline bool fut__watch_active(const fut__watch *w)
{
    return ev_is_active(&w->ev.any);
}

/* Its callback is due in this iteration (libev queued it, not yet run). */
static inline bool fut__watch_pending(const fut__watch *w)
{
    return ev_is_pending(&w->ev.any);
}

static inline void *fut__watch_data(const fut__watch *w)
{
    return w->ev.any.data;
}

/* The calls that take a runtime are macros over functions on its loop:
 * fut_rt is complete only after this header (it embeds watches). */

/* Starts w on rt's loop; nothing if started. */
#define fut__watch_start(rt, w) fut__watch_start_on((rt)->loop, (w))

/* Stops w; nothing if stopped. A callback due in this iteration does not
 * run. */
#define fut__watch_stop(rt, w) fut__watch_stop_on((rt)->loop, (w))

/* Makes an io watch watch exactly `events` from now: stopped for 0, else
 * started for them. Calling it again with the same events leaves it as
 * it was (a stop and a start that libev folds: the fd is the same, so
 * libev talks to the kernel only if the mask changed by the time it
 * polls); a caller on a hot path compares first, as fd.c does with its
 * `want`. It runs at every wait of a registered fd. Not for a weak watch
 * (which starts and stops with fut__watch_start and fut__watch_stop). */
#define fut__watch_io_want(rt, w, events) fut__watch_io_want_on(&(rt)->loop, (w), (events))

/* Inline: a strong io watch (a wait on an fd: io.c, fd.c, connect.c)
 * calls libev directly; the other kinds and weak watches go through the
 * layer's switch. */
_Static_assert(FUT_READABLE == EV_READ && FUT_WRITABLE == EV_WRITE,
               "libfut's readiness bits are libev's");

void fut__watch_io_cb(struct ev_loop *loop, ev_io *io, int revents);
void fut__watch_start_slow(struct ev_loop *loop, fut__watch *w);
void fut__watch_stop_slow(struct ev_loop *loop, fut__watch *w);

static inline void fut__watch_io_init(fut__watch *w, fut__watch_fn *fn, void *data, int fd,
                                      int events, unsigned flags)
{
    ev_io_init(&w->ev.io, fut__watch_io_cb, fd, events & (EV_READ | EV_WRITE));
    w->ev.io.data = data;
    w->fn = fn;
    w->kind = FUT__WATCH_IO;
    w->flags = (unsigned char)flags;
}

static inline bool fut__watch_plain_io(const fut__watch *w)
{
    return w->kind == FUT__WATCH_IO && !(w->flags & FUT__WATCH_WEAK);
}

static inline void fut__watch_start_on(struct ev_loop *loop, fut__watch *w)
{
    if (fut__watch_active(w))
        return;
    if (fut__watch_plain_io(w))
        ev_io_start(loop, &w->ev.io);
    else
        fut__watch_start_slow(loop, w);
}

static inline void fut__watch_stop_on(struct ev_loop *loop, fut__watch *w)
{
    if (!fut__watch_active(w))
        return;
    if (fut__watch_plain_io(w))
        ev_io_stop(loop, &w->ev.io);
    else
        fut__watch_stop_slow(loop, w);
}

/* (The loop is read where it is used: nothing is held across the calls.) */
static inline void fut__watch_io_want_on(struct ev_loop *const *loop, fut__watch *w, int events)
{
    int want = events & (EV_READ | EV_WRITE);
    if (ev_is_active(&w->ev.io))
        ev_io_stop(*loop, &w->ev.io);
    if (want) {
        /* ev_io_modify, not ev_io_set: the fd is the same, and ev_io_set
         * would flag it as changed, which makes libev's epoll backend
         * re-add it (a failing EPOLL_CTL_ADD) even when the mask is not. */
        ev_io_modify(&w->ev.io, want);
        ev_io_start(*loop, &w->ev.io);
    }
}

/* (Re)starts a timer watch to fire once, `after` seconds (< 0: 0) after
 * the loop's now. */
void fut__watch_timer_arm(fut_rt *rt, fut__watch *w, double after);

/* Makes an async watch's callback run on its loop. Any thread,
 * async-signal-safe; sends coalesce until the callback runs. */
void fut__watch_send(fut_rt *rt, fut__watch *w);

/* --- the loop's reference and clock (rt->loop; see internal.h) --------------- */

static inline void fut__loop_ref(struct ev_loop *loop)
{
    ev_ref(loop);
}

static inline void fut__loop_unref(struct ev_loop *loop)
{
    ev_unref(loop);
}

/* The loop's time: when it last woke up. */
static inline double fut__loop_now(struct ev_loop *loop)
{
    return ev_now(loop);
}

static inline void fut__loop_update_now(struct ev_loop *loop)
{
    ev_now_update(loop);
}

/* One iteration of the loop: blocks until something happens unless a
 * watcher keeps it from blocking (an idle watch). */
static inline void fut__loop_run_once(struct ev_loop *loop)
{
    ev_run(loop, EVRUN_ONCE);
}

/* The wall clock now, read from the system (the loop's time is on the
 * same clock). */
double fut__wall_clock(void);

#endif
