/* B4, raw libev twin of b_timer.c: N times ev_timer_init + ev_timer_start
 * + ev_timer_stop on one watcher, with the same M background timers
 * (same seed, same timeouts) and the same modes (early 1 s, mid uniform in
 * [1000 s, 2000 s) from the same seed, late 1e6 s; see b_timer.c). No loop iteration is needed for either:
 * both arm and cancel within one callback's worth of work.
 */
#include <ev.h>

#include "bench.h"

#define MODES "early mid late"

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

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    double seconds, span = 0.;
    if (bench_mode_is(&a, "early"))
        seconds = 1.0;
    else if (bench_mode_is(&a, "mid"))
        seconds = 1000.0, span = 1000.0;
    else if (bench_mode_is(&a, "late"))
        seconds = 1e6;
    else
        bench_usage(a.prog, MODES);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);

    ev_timer *bg = calloc((size_t)(a.m ? a.m : 1), sizeof *bg);
    BENCH_CHECK(bg);
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (long i = 0; i < a.m; i++) {
        ev_timer_init(&bg[i], never_cb, 1000.0 + 1000.0 * bench_rand01(&seed), 0.);
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
