/* SPDX-License-Identifier: MIT */
/* Sleep and deadlines on ev_timer. */
#include "internal.h"

#include <errno.h>
#include <math.h>

#define S_RELATIVE 0x1u
#define S_ARMED 0x2u
#define S_FIRED 0x4u

static ev_timer *timer_of(fut_sleep *s)
{
    return (ev_timer *)(void *)&s->timer;
}

static void sleep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    fut_sleep *s = w->data;
    s->flags |= S_FIRED;
    fut_waker_wake(s->waker);
}

static void sleep_release(fut_sleep *s)
{
    if ((s->flags & S_ARMED) && ev_is_active(timer_of(s)))
        ev_timer_stop(s->rt->loop, timer_of(s));
    fut_waker_drop(s->waker);
    s->waker = NULL;
}

static fut_status sleep_poll(fut *self, fut_cx *cx)
{
    fut_sleep *s = (fut_sleep *)self;
    if (s->flags & S_FIRED) {
        sleep_release(s);
        return fut_ready(self, 0);
    }
    if (!(s->flags & S_ARMED)) {
        if (isnan(s->at))
            return fut_ready(self, -EINVAL);
        s->rt = fut_cx_rt(cx);
        double now;
        if (s->flags & S_RELATIVE) {
            /* The loop's clock dates from its last wake-up, and polls may
             * have run long since: a duration counts from now, never
             * before (one clock_gettime per armed sleep). */
            ev_now_update(s->rt->loop);
            s->rt->now_stale = false;
            now = ev_now(s->rt->loop);
        } else {
            now = fut__fresh_now(s->rt);
        }
        double after = s->flags & S_RELATIVE ? s->at : s->at - now;
        if (!(after > 0))
            return fut_ready(self, 0);
        s->at = now + after;
        ev_timer_init(timer_of(s), sleep_cb, after, 0.);
        timer_of(s)->data = s;
        ev_timer_start(s->rt->loop, timer_of(s));
        s->flags |= S_ARMED;
    }
    if (fut_cx_cancelled(cx)) {
        sleep_release(s);
        s->flags = 0; /* disarmed: a drop finds nothing to stop */
        return fut_ready(self, -ECANCELED);
    }
    fut__keep_waker(&s->waker, cx);
    return FUT_PENDING;
}

static void sleep_drop(fut *self)
{
    sleep_release((fut_sleep *)self);
}

static const struct fut_vtable sleep_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_sleep",
    .poll = sleep_poll,
    .drop = sleep_drop,
};

static fut *sleep_setup(fut_sleep *s, double t, unsigned flags)
{
    fut_init(&s->base, &sleep_vt);
    s->at = t;
    s->rt = NULL;
    s->waker = NULL;
    s->flags = (unsigned char)flags;
    return &s->base;
}

FUT_API fut *fut_sleep_init(fut_sleep *s, double seconds)
{
    return sleep_setup(s, seconds, S_RELATIVE);
}

FUT_API fut *fut_sleep_until_init(fut_sleep *s, double at)
{
    return sleep_setup(s, at, 0);
}
