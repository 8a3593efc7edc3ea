/* SPDX-License-Identifier: MIT */
/* The watcher layer (see watch.h): libev's watchers started, stopped and
 * ref-counted in one place, and called back without libev's types. */
#include "internal.h"

/* libev's EV_READ / EV_WRITE -> FUT_READABLE / FUT_WRITABLE (the same
 * bits: watch.h checks), and libev giving up on the fd. */
static inline int from_ev_events(int revents)
{
    return (revents & (EV_READ | EV_WRITE)) | ((revents & EV_ERROR) ? FUT__WATCH_ERROR : 0);
}

/* libev's callbacks, one per kind: each has libev's exact type, finds the
 * watch around libev's watcher and calls its fn (no cast of a function
 * pointer). */
void fut__watch_io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
    fut__watch *w = fut__container_of(io, fut__watch, ev.io);
    w->fn(w, from_ev_events(revents));
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    fut__watch *w = fut__container_of(t, fut__watch, ev.timer);
    w->fn(w, 0);
}

static void async_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    fut__watch *w = fut__container_of(a, fut__watch, ev.async);
    w->fn(w, 0);
}

static void idle_cb(struct ev_loop *loop, ev_idle *i, int revents)
{
    fut__watch *w = fut__container_of(i, fut__watch, ev.idle);
    w->fn(w, 0);
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
    fut__watch *w = fut__container_of(p, fut__watch, ev.prepare);
    w->fn(w, 0);
}

static void setup(fut__watch *w, int kind, fut__watch_fn *fn, void *data, unsigned flags)
{
    w->fn = fn;
    w->kind = (unsigned char)kind;
    w->flags = (unsigned char)flags;
    w->ev.any.data = data;
    if (flags & FUT__WATCH_LAST)
        ev_set_priority(&w->ev.any, EV_MINPRI);
}

void fut__watch_timer_init(fut__watch *w, fut__watch_fn *fn, void *data)
{
    ev_timer_init(&w->ev.timer, timer_cb, 0., 0.);
    setup(w, FUT__WATCH_TIMER, fn, data, 0);
}

void fut__watch_async_init(fut__watch *w, fut__watch_fn *fn, void *data, unsigned flags)
{
    ev_async_init(&w->ev.async, async_cb);
    setup(w, FUT__WATCH_ASYNC, fn, data, flags);
}

void fut__watch_idle_init(fut__watch *w, fut__watch_fn *fn, void *data, unsigned flags)
{
    ev_idle_init(&w->ev.idle, idle_cb);
    setup(w, FUT__WATCH_IDLE, fn, data, flags);
}

void fut__watch_prepare_init(fut__watch *w, fut__watch_fn *fn, void *data, unsigned flags)
{
    ev_prepare_init(&w->ev.prepare, prepare_cb);
    setup(w, FUT__WATCH_PREPARE, fn, data, flags);
}

/* The kind's libev start and stop, as tail calls. */
static void start_kind(struct ev_loop *loop, fut__watch *w)
{
    switch (w->kind) {
    case FUT__WATCH_IO:
        ev_io_start(loop, &w->ev.io);
        return;
    case FUT__WATCH_TIMER:
        ev_timer_start(loop, &w->ev.timer);
        return;
    case FUT__WATCH_ASYNC:
        ev_async_start(loop, &w->ev.async);
        return;
    case FUT__WATCH_IDLE:
        ev_idle_start(loop, &w->ev.idle);
        return;
    case FUT__WATCH_PREPARE:
        ev_prepare_start(loop, &w->ev.prepare);
        return;
    }
}

static void stop_kind(struct ev_loop *loop, fut__watch *w)
{
    switch (w->kind) {
    case FUT__WATCH_IO:
        ev_io_stop(loop, &w->ev.io);
        return;
    case FUT__WATCH_TIMER:
        ev_timer_stop(loop, &w->ev.timer);
        return;
    case FUT__WATCH_ASYNC:
        ev_async_stop(loop, &w->ev.async);
        return;
    case FUT__WATCH_IDLE:
        ev_idle_stop(loop, &w->ev.idle);
        return;
    case FUT__WATCH_PREPARE:
        ev_prepare_stop(loop, &w->ev.prepare);
        return;
    }
}

/* The start of a stopped watch. */
void fut__watch_start_slow(struct ev_loop *loop, fut__watch *w)
{
    start_kind(loop, w);
    if (w->flags & FUT__WATCH_WEAK)
        ev_unref(loop); /* libev's reference, given back: the layer counts */
}

/* The stop of a started watch. */
void fut__watch_stop_slow(struct ev_loop *loop, fut__watch *w)
{
    if (w->flags & FUT__WATCH_WEAK)
        ev_ref(loop); /* what the stop gives back */
    stop_kind(loop, w);
}

void fut__watch_timer_arm(fut_rt *rt, fut__watch *w, double after)
{
    fut__watch_stop(rt, w);
    ev_timer_set(&w->ev.timer, after > 0 ? after : 0., 0.);
    fut__watch_start_slow(rt->loop, w);
}

void fut__watch_send(fut_rt *rt, fut__watch *w)
{
    ev_async_send(rt->loop, &w->ev.async);
}

double fut__wall_clock(void)
{
    return ev_time();
}
