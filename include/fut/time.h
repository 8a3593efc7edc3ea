/* libfut: time. Sleep and deadline futures on libev timers.
 *
 * Time is the loop's time, ev_now() (fut_now()), in seconds: it is
 * updated once per loop iteration, so a deadline set from a poll counts
 * from the start of the current iteration.
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

/* A sleep until the absolute loop time `at` (see fut_now()). A time in the
 * past: READY at the first poll. NaN: READY with -EINVAL. Returns
 * &s->base. */
FUT_API fut *fut_sleep_until_init(fut_sleep *s, double at);

#ifdef __cplusplus
}
#endif

#endif
