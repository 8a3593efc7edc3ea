/* SPDX-License-Identifier: MIT */
/* B1, raw libev twin of b_spawn.c: schedule N units of work and be told
 * each finished.
 *
 * The equivalent chosen: a unit is a malloc'd ev_idle watcher carrying a
 * result slot. "Spawn" = malloc + ev_idle_start (the unit is registered
 * with the loop and keeps it alive, like a live task keeps the runtime's
 * reference); "run" = libev queues every active idle watcher in one go
 * when nothing else is pending and invokes the callbacks from its pending
 * array (like the run queue); the callback does the work (stores 7 in the
 * caller's result slot: the join's output), stops its watcher and frees
 * the unit. "Join all" = ev_run() returns once no watcher is active, and
 * the caller then checks every result slot.
 *
 * Why not ev_timer(0): a timer costs a heap insert, a time check and a
 * heap removal that libfut's spawn never does; a zero timer is not the
 * cheapest way libev offers to run a callback soon. Why not a bare
 * ev_feed_event on an unstarted watcher: nothing is registered then, the
 * loop does not know the work exists (ev_run would return at once with no
 * active watcher) — less than a spawn does. ev_idle is the cheapest
 * watcher that is both registered and invoked by the loop.
 *
 * Modes as in b_spawn.c: all (N units at once; M > 1 repeats it M times),
 * batch (rounds of 256).
 */
#include <ev.h>

#include "bench.h"

#define MODES "all batch"
#define BATCH 256

struct unit {
    ev_idle w;
    long *result;
};

static void unit_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    struct unit *u = (struct unit *)w;
    ev_idle_stop(loop, w);
    *u->result = 7;
    free(u);
}

static void round_trip(struct ev_loop *loop, long *res, long n)
{
    for (long i = 0; i < n; i++) {
        struct unit *u = malloc(sizeof *u);
        BENCH_CHECK(u);
        ev_idle_init(&u->w, unit_cb);
        u->result = &res[i];
        res[i] = 0;
        ev_idle_start(loop, &u->w);
    }
    ev_run(loop, 0);
    for (long i = 0; i < n; i++)
        BENCH_CHECK(res[i] == 7);
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    int batch = bench_mode_is(&a, "batch");
    if (!batch && !bench_mode_is(&a, "all"))
        bench_usage(a.prog, MODES);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    long cap = batch ? BATCH : a.n;
    long *res = calloc((size_t)cap, sizeof *res);
    BENCH_CHECK(res);

    long rounds = batch ? 1 : bench_rounds(&a);

    double t0 = bench_now();
    if (batch) {
        for (long done = 0; done < a.n; done += BATCH)
            round_trip(loop, res, a.n - done < BATCH ? a.n - done : BATCH);
    } else {
        for (long r = 0; r < rounds; r++)
            round_trip(loop, res, a.n);
    }
    double t1 = bench_now();

    bench_report_ops(&a, t1 - t0, (double)a.n * (double)rounds);
    free(res);
    ev_loop_destroy(loop);
    return 0;
}
