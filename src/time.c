/* SPDX-License-Identifier: MIT */
/* Sleep and deadlines, on the runtime's timers (timer.c). */
#include "internal.h"

#include <errno.h>
#include <math.h>

#define S_RELATIVE 0x1u
#define S_ARMED 0x2u
#define S_FIRED 0x4u

static void sleep_fire(fut_rt *rt, fut__timer *t)
{
    fut_sleep *s = fut__container_of(t, fut_sleep, timer);
    s->flags |= S_FIRED;
    fut_waker_wake(s->waker);
}

static void sleep_release(fut_sleep *s)
{
    if (s->flags & S_ARMED)
        fut__timer_cancel(s->rt, &s->timer);
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
        /* Until armed, the node's `at` holds what fut_sleep*_init got. */
        double at = s->timer.at;
        if (isnan(at))
            return fut_ready(self, -EINVAL);
        s->rt = cx->rt;
        /* The loop's clock dates from its last wake-up, and polls may
         * have run long since: a duration counts from now, never before
         * (one clock_gettime per armed sleep). */
        double now = s->flags & S_RELATIVE ? fut__clock_read(s->rt) : fut__fresh_now(s->rt);
        if (s->flags & S_RELATIVE)
            at += now;
        if (!(at > now))
            return fut_ready(self, 0);
        fut__timer_init(&s->timer, sleep_fire);
        fut__timer_arm(s->rt, &s->timer, at);
        s->flags |= S_ARMED;
    }
    if (fut__cx_cancelled(cx)) {
        sleep_release(s);
        s->flags = 0; /* disarmed: a drop finds nothing to cancel */
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
    s->timer.prev = NULL;
    s->timer.at = t;
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
