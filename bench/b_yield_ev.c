/* SPDX-License-Identifier: MIT */
/* B3, raw libev twin of b_yield.c: callbacks that give the others a turn.
 *
 * The equivalent chosen: a yielder is an ev_idle watcher. A yield feeds
 * the yielder's own watcher (ev_feed_event: it runs again after the
 * callbacks already pending, in the same pass, no syscall), and, once 256
 * callbacks ran since the loop last polled the backend, starts it as an
 * idle watcher instead, so that it runs at the next loop iteration, after
 * an epoll_wait. An ev_prepare watcher starts each iteration's count
 * afresh. That is libfut's policy, and so the same number of syscalls per
 * yield (bench/syscalls.sh): tasks under fut_rt_block_on run in two drains of
 * the run queue per loop iteration (the frame's and the prepare
 * watcher's), 128 polls each. The twin measures the hand-off, not a
 * different policy. The plainest libev yield
 * (an idle watcher left started: one loop iteration, one epoll_wait, per
 * round of yields) is slower (b_yield_ev ... with BENCH_YIELD_IDLE=1 set in
 * the environment runs that variant).
 *
 * Modes as in b_yield.c: one (1 yielder, N yields), many (M yielders,
 * default 100, N yields each). ns/op is per yield.
 */
#include <ev.h>

#include "bench.h"

#define MODES "one many"
#define BUDGET 256

struct yielder {
    ev_idle w;
    long left;
};

static long yields;
static unsigned budget;
static int plain_idle;

static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    budget = BUDGET;
}

static void yielder_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    struct yielder *y = (struct yielder *)w;
    yields++;
    if (--y->left == 0) {
        if (ev_is_active(w))
            ev_idle_stop(loop, w);
        return;
    }
    if (plain_idle)
        return; /* stays started: runs again next iteration */
    if (budget) {
        budget--;
        if (ev_is_active(w))
            ev_idle_stop(loop, w);
        ev_feed_event(loop, w, EV_CUSTOM);
    } else if (!ev_is_active(w)) {
        ev_idle_start(loop, w);
    }
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    long tasks;
    if (bench_mode_is(&a, "one"))
        tasks = 1;
    else if (bench_mode_is(&a, "many"))
        tasks = a.m > 0 ? a.m : 100;
    else
        bench_usage(a.prog, MODES);
    const char *env = getenv("BENCH_YIELD_IDLE");
    plain_idle = env && *env == '1';
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    ev_prepare prep;
    ev_prepare_init(&prep, prepare_cb);
    ev_prepare_start(loop, &prep);
    ev_unref(loop); /* the yielders keep the loop alive, not this */
    struct yielder *y = calloc((size_t)tasks, sizeof *y);
    BENCH_CHECK(y);

    double t0 = bench_now();
    for (long i = 0; i < tasks; i++) {
        ev_idle_init(&y[i].w, yielder_cb);
        y[i].left = a.n;
        ev_idle_start(loop, &y[i].w);
    }
    ev_run(loop, 0);
    double t1 = bench_now();

    BENCH_CHECK(yields == a.n * tasks);
    bench_report_ops(&a, t1 - t0, (double)a.n * (double)tasks);
    ev_ref(loop);
    ev_prepare_stop(loop, &prep);
    free(y);
    ev_loop_destroy(loop);
    return 0;
}
