/* B4, libfut: timer insert + cancel with M armed timers in the background.
 *
 * Inside one task's poll, N times: fut_sleep_init, fut_poll it once (it
 * arms its ev_timer and clones the task's waker), fut_drop it (stops the
 * timer, drops the waker). The background: M ev_timers started on the
 * runtime's loop beforehand, with timeouts uniform in [1000 s, 2000 s)
 * (a fixed seed: every run has the same heap). They share libev's timer
 * heap with the sleeps, which is all the background is there for.
 *
 * Modes (where the new timer lands in the heap):
 *   early  1 s: before every background timer, it climbs to the root of
 *          the heap (log4 M levels), the worst case;
 *   mid    uniform in [1000 s, 2000 s) like the background, a new draw
 *          each iteration: a random position in the heap (an O(1) climb
 *          on average, but the heap nodes it touches are scattered over
 *          the whole heap: cache misses grow with M);
 *   late   1e6 s: after every background timer (the usual fixed timeout
 *          pattern: the newest deadline is the latest), no climb.
 * ns/op is per insert+cancel. Twin: b_timer_ev.c.
 */
#include <ev.h>
#include <fut.h>

#include "bench.h"

#define MODES "early mid late"

struct driver {
    fut base;
    long n;
    double lo, span; /* timeouts uniform in [lo, lo + span) */
    uint64_t seed;
};

static fut_status driver_poll(fut *self, fut_cx *cx)
{
    struct driver *d = (struct driver *)self;
    for (long i = 0; i < d->n; i++) {
        fut_sleep s;
        fut_sleep_init(&s, d->lo + d->span * bench_rand01(&d->seed));
        BENCH_CHECK(fut_poll(&s.base, cx) == FUT_PENDING);
        BENCH_CHECK(fut_drop(&s.base) == 0);
    }
    return fut_ready(self, 0);
}

static const struct fut_vtable driver_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_timer_driver",
    .poll = driver_poll,
};

static void never_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    abort();
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
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    struct ev_loop *loop = fut_rt_loop(rt);

    ev_timer *bg = calloc((size_t)(a.m ? a.m : 1), sizeof *bg);
    BENCH_CHECK(bg);
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (long i = 0; i < a.m; i++) {
        ev_timer_init(&bg[i], never_cb, 1000.0 + 1000.0 * bench_rand01(&seed), 0.);
        ev_timer_start(loop, &bg[i]);
    }
    /* The background must not keep the loop alive. */
    for (long i = 0; i < a.m; i++)
        ev_unref(loop);

    struct driver d = {.n = a.n, .lo = seconds, .span = span, .seed = 0x2545F4914F6CDD1DULL};
    fut_init(&d.base, &driver_vt);
    fut_join j;

    double t0 = bench_now();
    BENCH_CHECK(FUT_SPAWN(rt, &d, &j) == 0);
    ssize_t out = -1;
    BENCH_CHECK(fut_block_on(rt, &j.base, &out) == 0 && out == 0);
    double t1 = bench_now();

    fut_drop(&j.base);
    bench_report(&a, t1 - t0);
    for (long i = a.m; i-- > 0;) {
        ev_ref(loop);
        ev_timer_stop(loop, &bg[i]);
    }
    BENCH_CHECK(fut_rt_free(rt) == 0);
    free(bg);
    return 0;
}
