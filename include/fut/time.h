/* SPDX-License-Identifier: MIT */
/* libfut: time. Sleep and deadline futures on libev timers.
 *
 * Time is the loop's time, ev_now() (fut_rt_now()), in seconds: it is
 * updated once per loop iteration. A relative sleep (fut_sleep_init(), and
 * the deadlines built on it: fut_timeout, scope timeouts) refreshes it when
 * it is armed, so it never ends before its duration has passed since its
 * first poll, however long the polls before it ran; an absolute one
 * (fut_sleep_until_init()) is against the loop's time.
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
    double at;         /* private: seconds, relative until armed */
    fut_rt *rt;        /* private */
    fut_waker *waker;  /* private */
    unsigned char flags; /* private */
    fut__watcher timer;  /* private: the ev_timer */
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
