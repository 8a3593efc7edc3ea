/* SPDX-License-Identifier: MIT */
/* B1, raw libev twins of b_spawn.c: schedule N units of work and be told
 * each finished.
 *
 * all, batch (the floor, the libev figure of every table): a unit is a
 * malloc'd watcher carrying a result slot. "Spawn" = malloc +
 * ev_feed_event (the unit is queued on libev's pending array, as a spawned
 * task is queued on libfut's run queue: neither registers anything with
 * the backend); "run" = the next loop iteration invokes the pending
 * callbacks in order; the callback does the work (stores 7 in the caller's
 * result slot: the join's output) and frees the unit. "Join all" = one
 * ev_run() (it makes one iteration: nothing is active, so it does not
 * block, and it returns once the fed callbacks ran), then the caller
 * checks every result slot. This is the cheapest way libev offers to run
 * a callback soon, and it is what libfut's spawn is measured against
 * (issue 13: the registered-watcher twin below charged libev ~190
 * instructions per unit that libfut never pays).
 *
 * idle_all, idle_batch (the former twin, kept for comparison): the unit
 * is a malloc'd ev_idle, started (registered with the loop: it keeps it
 * alive, like a live task keeps the runtime's reference); libev queues
 * every active idle watcher when nothing else is pending; the callback
 * stores the result, stops its watcher and frees the unit; ev_run()
 * returns once no watcher is active. Dearer than the floor by the start
 * and stop of the watcher and by the idle bookkeeping of each iteration.
 *
 * Why not ev_timer(0): a timer costs a heap insert, a time check and a
 * heap removal that libfut's spawn never does.
 *
 * Modes as in b_spawn.c: all (N units at once; M > 1 repeats it M times),
 * batch (rounds of 256); idle_all and idle_batch likewise. b_spawn has no
 * idle_* mode (it exits 3: shown as '-').
 */
#include <ev.h>

#include "bench.h"

#define MODES "all batch idle_all idle_batch"
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

/* The floor: a fed watcher whose callback frees it. */
struct fed {
    ev_watcher w;
    long *result;
};

static void fed_cb(struct ev_loop *loop, ev_watcher *w, int revents)
{
    (void)loop;
    (void)revents;
    struct fed *u = (struct fed *)w;
    *u->result = 7;
    free(u);
}

static void round_trip_fed(struct ev_loop *loop, long *res, long n)
{
    for (long i = 0; i < n; i++) {
        struct fed *u = malloc(sizeof *u);
        BENCH_CHECK(u);
        ev_init(&u->w, fed_cb);
        u->result = &res[i];
        res[i] = 0;
        ev_feed_event(loop, &u->w, EV_CUSTOM);
    }
    ev_run(loop, 0);
    for (long i = 0; i < n; i++)
        BENCH_CHECK(res[i] == 7);
}

static void round_trip_idle(struct ev_loop *loop, long *res, long n)
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
    int idle = bench_mode_is(&a, "idle_all") || bench_mode_is(&a, "idle_batch");
    int batch = bench_mode_is(&a, "batch") || bench_mode_is(&a, "idle_batch");
    if (!idle && !batch && !bench_mode_is(&a, "all"))
        bench_usage(a.prog, MODES);
    void (*round_trip)(struct ev_loop *, long *, long) = idle ? round_trip_idle : round_trip_fed;
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
