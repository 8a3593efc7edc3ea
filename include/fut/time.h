/* SPDX-License-Identifier: MIT */
/* libfut: time. Sleep and deadline futures on the runtime's timers.
 *
 * Time is the runtime's clock, fut_rt_now(), in seconds. Under the
 * default real clock it is the loop's time, ev_now(), updated once per
 * loop iteration; a test may switch a runtime to a manual clock that
 * moves only when told to (fut_rt_set_clock(), fut_rt_advance() in
 * <fut/rt.h>), and every sleep, timeout and deadline then follows it. A
 * relative sleep (fut_sleep_init(), and the deadlines built on it:
 * fut_timeout, scope timeouts) reads the clock afresh when it is armed,
 * so it never ends before its duration has passed since its first poll,
 * however long the polls before it ran; an absolute one
 * (fut_sleep_until_init()) is against the runtime's time. Sleeps with the
 * same deadline fire in the order they were armed.
 */
#ifndef FUT_TIME_H
#define FUT_TIME_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A future that becomes READY with output 0 once its deadline passed.
 * Cancellable at any point (dropping it stops the timer); it has only a
 * sync drop, which never blocks. Embeddable, no allocation. */
typedef struct fut_sleep {
    fut base;
    fut_rt *rt;          /* private */
    fut_waker *waker;    /* private */
    unsigned char flags; /* private */
    fut__timer timer;    /* private: its deadline (until armed, the argument) */
} fut_sleep;

/* A sleep of `seconds`, counted from its first poll. Zero or negative
 * seconds: READY at the first poll. NaN: READY with -EINVAL. Returns
 * &s->base. */
FUT_API fut *fut_sleep_init(fut_sleep *s, double seconds);

/* A sleep until the absolute loop time `at` (see fut_rt_now()). A time in the
 * past: READY at the first poll. NaN: READY with -EINVAL. Returns
 * &s->base. */
FUT_API fut *fut_sleep_until_init(fut_sleep *s, double at);

#ifdef __cplusplus
}
#endif

#endif
