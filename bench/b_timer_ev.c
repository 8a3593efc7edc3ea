/* SPDX-License-Identifier: MIT */
/* B4, raw libev twin of b_timer.c: N times ev_timer_init + ev_timer_start
 * + ev_timer_stop on one watcher, with the same M background timers
 * (same seed, same timeouts) and the same modes (early 1 s, mid uniform in
 * [1000 s, 2000 s) from the same seed, late 1e6 s, spread: background and
 * new timers uniform in [1 s, 1001 s); see b_timer.c). No loop
 * iteration is needed for either: both arm and cancel within one
 * callback's worth of work.
 *
 *   fifo, lifo  N ev_timers of 1e9 s started, then stopped in starting
 *               order (fifo) or in reverse (lifo); M > 1 repeats it.
 *   fire        N malloc'd units, each an ev_timer of (i % 64) ms started
 *               (b_spawn_ev's unit with a timer instead of an idle
 *               watcher: libfut spawns a task per timer); the callback
 *               counts the unit fired and frees it; ev_run until all did.
 *   timeout_ready  an operation with a timeout whose result is there at
 *               once: the timer is initialised, the operation tried
 *               through a function pointer, and as it completed, the timer
 *               is never started. The floor of any timeout: nothing is
 *               armed when nothing waits. timeout_hand: the same.
 */
#include <stddef.h>

#include <ev.h>

#include "bench.h"

#define MODES "early mid late spread fifo lifo fire timeout_ready timeout_hand"

static void never_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    abort();
}

static BENCH_NOINLINE void run(struct ev_loop *loop, long n, double lo, double span)
{
    ev_timer t;
    uint64_t seed = 0x2545F4914F6CDD1DULL;
    for (long i = 0; i < n; i++) {
        ev_timer_init(&t, never_cb, lo + span * bench_rand01(&seed), 0.);
        ev_timer_start(loop, &t);
        BENCH_CHECK(ev_is_active(&t));
        ev_timer_stop(loop, &t);
    }
}

/* --- fifo, lifo --------------------------------------------------------------- */

static BENCH_NOINLINE void arm_cancel_rounds(struct ev_loop *loop, ev_timer *t, long n, long rounds,
                                             int lifo)
{
    for (long r = 0; r < rounds; r++) {
        for (long i = 0; i < n; i++) {
            ev_timer_init(&t[i], never_cb, 1e9, 0.);
            ev_timer_start(loop, &t[i]);
        }
        if (lifo)
            for (long i = n; i-- > 0;)
                ev_timer_stop(loop, &t[i]);
        else
            for (long i = 0; i < n; i++)
                ev_timer_stop(loop, &t[i]);
        BENCH_CHECK(!ev_is_active(&t[0]));
    }
}

static void arm_cancel(const struct bench_args *a, int lifo)
{
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    ev_timer *t = calloc((size_t)a->n, sizeof *t);
    BENCH_CHECK(t);
    memset(t, 1, (size_t)a->n * sizeof *t); /* touched before the clock starts */
    long rounds = bench_rounds(a);

    double t0 = bench_now();
    arm_cancel_rounds(loop, t, a->n, rounds, lifo);
    double t1 = bench_now();

    bench_report_ops(a, t1 - t0, (double)a->n * (double)rounds);
    free(t);
    ev_loop_destroy(loop);
}

/* --- fire ------------------------------------------------------------------------ */

static long fired;

static void fire_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    fired++;
    free(w);
}

static void fire(const struct bench_args *a)
{
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);

    double t0 = bench_now();
    ev_now_update(loop);
    for (long i = 0; i < a->n; i++) {
        ev_timer *w = malloc(sizeof *w);
        BENCH_CHECK(w);
        ev_timer_init(w, fire_cb, (double)(i % 64) * 1e-3, 0.);
        ev_timer_start(loop, w);
    }
    ev_run(loop, 0);
    double t1 = bench_now();

    BENCH_CHECK(fired == a->n);
    bench_report(a, t1 - t0);
    ev_loop_destroy(loop);
}

/* --- timeout_ready ----------------------------------------------------------------- */

struct op {
    long (*try)(struct op *);
    ev_timer deadline;
    long result;
};

static long op_ready(struct op *o)
{
    (void)o;
    return 7;
}

static void op_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct op *o = (struct op *)((char *)w - offsetof(struct op, deadline));
    o->result = -1;
}

/* Tries the operation; arms the deadline only when it has to wait. */
static BENCH_NOINLINE long with_timeout(struct ev_loop *loop, struct op *o, double seconds)
{
    ev_timer_init(&o->deadline, op_timeout_cb, seconds, 0.);
    long r = o->try(o);
    if (r >= 0)
        return r;
    ev_timer_start(loop, &o->deadline);
    return -1;
}

static void timeout_ready(const struct bench_args *a)
{
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    long bad = 0;

    double t0 = bench_now();
    for (long i = 0; i < a->n; i++) {
        struct op o = {.try = op_ready};
        BENCH_KEEP(&o);
        if (with_timeout(loop, &o, 1.0) != 7)
            bad++;
    }
    double t1 = bench_now();

    BENCH_CHECK(bad == 0);
    bench_report(a, t1 - t0);
    ev_loop_destroy(loop);
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (bench_mode_is(&a, "fifo") || bench_mode_is(&a, "lifo")) {
        arm_cancel(&a, bench_mode_is(&a, "lifo"));
        return 0;
    }
    if (bench_mode_is(&a, "fire")) {
        fire(&a);
        return 0;
    }
    if (bench_mode_is(&a, "timeout_ready") || bench_mode_is(&a, "timeout_hand")) {
        timeout_ready(&a);
        return 0;
    }
    double seconds, span = 0., bg_lo = 1000.0, bg_span = 1000.0;
    if (bench_mode_is(&a, "early"))
        seconds = 1.0;
    else if (bench_mode_is(&a, "mid"))
        seconds = 1000.0, span = 1000.0;
    else if (bench_mode_is(&a, "late"))
        seconds = 1e6;
    else if (bench_mode_is(&a, "spread"))
        seconds = bg_lo = 1.0, span = bg_span = 1000.0;
    else
        bench_usage(a.prog, MODES);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);

    ev_timer *bg = calloc((size_t)(a.m ? a.m : 1), sizeof *bg);
    BENCH_CHECK(bg);
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (long i = 0; i < a.m; i++) {
        ev_timer_init(&bg[i], never_cb, bg_lo + bg_span * bench_rand01(&seed), 0.);
        ev_timer_start(loop, &bg[i]);
    }

    double t0 = bench_now();
    run(loop, a.n, seconds, span);
    double t1 = bench_now();

    bench_report(&a, t1 - t0);
    for (long i = a.m; i-- > 0;)
        ev_timer_stop(loop, &bg[i]);
    ev_loop_destroy(loop);
    free(bg);
    return 0;
}
