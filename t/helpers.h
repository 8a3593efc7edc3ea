/* SPDX-License-Identifier: MIT */
/* Shared test helpers: a counting allocator that can fail on demand, a
 * diagnostic catcher, fixtures, runtime and clock shorthands, and small
 * futures with scripted behaviour. */
#ifndef T_HELPERS_H
#define T_HELPERS_H

#include <check.h>
#include <fut.h>
#include <stdbool.h>

/* --- counting allocator ---------------------------------------------------- */
struct th_alloc_stats {
    long live; /* blocks outstanding */
    long live_bytes;
    long total;   /* allocations made */
    long fail_at; /* fail the allocation with this index (1-based); 0: never */
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

/* Fixture for suites sharing one runtime per test: th_setup(), then a new
 * runtime in th_rt; teardown frees th_rt (asserting success), then
 * th_teardown(). */
extern fut_rt *th_rt;
void th_rt_setup(void);
void th_rt_teardown(void);

/* --- runtimes and loops ----------------------------------------------------- */

/* A new runtime with its own loop; asserts it was made. */
fut_rt *th_new_rt(void);

/* fut_rt_block_on(rt, f), asserting it returned 0; returns f's output. */
ssize_t th_block(fut_rt *rt, fut *f);

/* Polls `child` once, from a future run by fut_rt_block_on(rt), and returns
 * the child's status; a READY child's output goes to *out (0 when PENDING;
 * out may be NULL). A PENDING child is left armed for the caller to drop. */
fut_status th_poll_once(fut_rt *rt, fut *child, ssize_t *out);

/* Nonzero while rt's loop has an active watcher that keeps it alive (a
 * started io or timer watcher, a live task): libfut's own watchers do not
 * count. Runs one non-blocking loop iteration. */
int th_loop_busy(fut_rt *rt);

/* rt's statistics; asserts fut_rt_stats() succeeded. */
struct fut_rt_stats th_stats(fut_rt *rt);

/* Runs rt's loop for `seconds`: a fut_sleep under fut_rt_block_on, other
 * tasks progressing meanwhile; asserts the sleep and its drop gave 0. */
void th_run_for(fut_rt *rt, double seconds);

/* One turn of rt's loop: a fut_yield under fut_rt_block_on, so every task
 * already woken is polled once; asserts the yield and its drop gave 0. */
void th_turn(fut_rt *rt);

/* --- clocks ----------------------------------------------------------------- */

/* CLOCK_MONOTONIC, in seconds. */
double th_mono(void);

/* Sleeps the calling thread for `seconds` (no loop runs meanwhile). */
void th_pause_for(double seconds);

/* --- fds and the environment ------------------------------------------------ */

/* pipe(p), asserting it succeeded (blocking ends, no CLOEXEC). */
void th_pipe(int p[2]);

/* Closes both ends of a pipe or socket pair. */
void th_close_pair(int p[2]);

/* How many fds this process has open (from /proc/self/fd, not counting
 * the directory's own). For comparing against a count taken earlier. */
int th_open_fds(void);

/* Nonzero when the suite runs under valgrind (FUT_VALGRIND set and not
 * empty, as t/run-test.sh reads it): slow tests shrink, some skip. */
int th_under_valgrind(void);

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
    int sleeping;    /* the run wait is live */
    int waiting;     /* a teardown step's wait is live */
    int *drop_steps; /* poll_drop calls */
    int *dropped;    /* completed teardowns: exactly once */
    int *polls;
    int turn;
    int in_poll; /* re-entrancy guard */
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

/* --- fault injection ------------------------------------------------------- */

/* One syscall to fail: calls to `nr` (whose argument `arg` masked with
 * `mask` equals `val`, when arg >= 0; any call when arg < 0) fail with
 * `err`. */
struct th_sysfail {
    long nr;
    int err;
    int arg;
    unsigned long mask, val; /* compared on the argument's low 32 bits */
};

/* Installs a seccomp filter failing the calls `rules` describe, for the
 * rest of this process's life: only for a test that Check runs in a
 * forked child. Returns 0, or -ENOSYS where that cannot be done (Check
 * not forking, under valgrind, an architecture the filter does not
 * know, no seccomp): the caller skips. */
int th_sysfail(const struct th_sysfail *rules, size_t n);

/* --- cancelled contexts ------------------------------------------------------ */

/* Runs `child` to completion in a nested loop inside a task of rt, and
 * cancels that task `after` seconds later (after <= 0: before the child's
 * first poll). The child's polls from then on see fut_cx_cancelled().
 * Returns the child's output; the child is left READY for the caller to
 * drop. */
ssize_t th_run_cancelled(fut_rt *rt, fut *child, double after);

/* --- suites ----------------------------------------------------------------- */

/* A test case `name` added to s, with the th_setup/th_teardown fixture and
 * a timeout of `timeout` seconds. */
TCase *th_tcase(Suite *s, const char *name, double timeout);

/* The same with the th_rt_setup/th_rt_teardown fixture: each test finds a
 * new runtime in th_rt, freed (asserting success) after it. */
TCase *th_rt_tcase(Suite *s, const char *name, double timeout);

/* Runs a suite with TAP output; returns the process exit status. */
int th_run(Suite *s);

#endif
