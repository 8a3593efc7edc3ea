/* Shared test helpers: a counting allocator that can fail on demand, a
 * diagnostic catcher, and small futures with scripted behaviour. */
#ifndef T_HELPERS_H
#define T_HELPERS_H

#include <check.h>
#include <fut.h>
#include <stdbool.h>

/* --- counting allocator ---------------------------------------------------- */
struct th_alloc_stats {
    long live;         /* blocks outstanding */
    long live_bytes;
    long total;        /* allocations made */
    long fail_at;      /* fail the allocation with this index (1-based); 0: never */
    long failed;
};
extern struct th_alloc_stats th_alloc;
void th_alloc_install(void);
void th_alloc_uninstall(void); /* asserts nothing is outstanding */

/* --- diagnostics ------------------------------------------------------------ */
extern int th_diag_count;
extern char th_diag_last[256];
void th_diag_catch(void);

/* Fixture: allocator + diag catcher; teardown asserts no leaks. */
void th_setup(void);
void th_teardown(void);

/* --- scripted futures ------------------------------------------------------- */

/* A future whose teardown takes `turns` loop turns: each PENDING step of
 * poll_drop waits `turn_delay` seconds on a timer (or yields when 0). Its
 * poll waits `run_delay` seconds (< 0: forever) and is READY with `value`.
 * Counters record every call. */
struct th_slow {
    fut base;
    int turns, value;
    double run_delay, turn_delay;
    fut_sleep sleep;  /* the run wait */
    fut_sleep dsleep; /* a teardown step's wait */
    fut_yield yield;
    int sleeping;     /* the run wait is live */
    int waiting;      /* a teardown step's wait is live */
    int *drop_steps; /* poll_drop calls */
    int *dropped;    /* completed teardowns: exactly once */
    int *polls;
    int turn;
    int in_poll;     /* re-entrancy guard */
};
void th_slow_init(struct th_slow *s, double run_delay, int value, int turns, double turn_delay,
                  int *polls, int *drop_steps, int *dropped);

/* A task body that increments *counter every `period` seconds, `n` times,
 * then is READY with n. */
struct th_ticker {
    fut base;
    fut_sleep sleep;
    int n, done;
    double period;
    int *counter;
    int armed;
};
void th_ticker_init(struct th_ticker *t, double period, int n, int *counter);

/* A future driven by a callback: fn is called from poll with the step
 * number; it returns the status (and sets base.out through fut_ready). */
struct th_fn;
typedef fut_status (*th_fn_cb)(struct th_fn *f, fut_cx *cx);
struct th_fn {
    fut base;
    th_fn_cb fn;
    void *ud;
    int step;
    int in_poll;
    int reentered;
};
void th_fn_init(struct th_fn *f, th_fn_cb fn, void *ud);

/* Runs a suite with TAP output; returns the process exit status. */
int th_run(Suite *s);

#endif
