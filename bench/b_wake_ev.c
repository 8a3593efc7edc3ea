/* SPDX-License-Identifier: MIT */
/* B2, raw libev twin of b_wake.c: two callbacks handing a token back and
 * forth, N hops.
 *
 * The equivalent chosen: each side is an (unstarted) ev_idle watcher; a
 * hop is ev_feed_event() on the other side's watcher from inside the
 * callback. libev appends the event to its pending array and invokes it
 * in the same ev_invoke_pending pass, without a syscall and without
 * another loop iteration: exactly what a libfut wake does (a push on the
 * run queue, drained without polling the backend, 128 tasks per drain).
 *
 * Why not ev_idle start/stop: each hop would then be a full loop
 * iteration with a backend poll (an epoll_wait syscall) per hop, while
 * libfut polls the backend once per 128 queued polls: that would measure
 * libev's iteration, not the hand-off. Why not ev_async: that is the
 * cross-thread path (a write to an eventfd), not a same-thread wake.
 *
 * Modes:
 *   hop     as above; M > 1 makes it N * M hops.
 *   select  K = M (default 8) child watchers, one per event the select
 *           waits on, and a driver watcher, all (unstarted) ev_idle fed
 *           with ev_feed_event. A round: the driver's callback feeds child
 *           r % K; that child's callback is the select returning its index
 *           (it checks the index and counts the round) and feeds the
 *           driver. With callbacks, waiting on any of K events costs
 *           nothing over waiting on one: each event has its own callback,
 *           there is nothing to poll and nothing to re-arm (a fed watcher
 *           is one-shot). Two feeds per round, as libfut's two wakes.
 *           select_hand (libfut's hand-made select) is the same here.
 */
#include <ev.h>

#include "bench.h"

#define MODES "hop select select_hand"

struct side {
    ev_idle w; /* never started: only fed */
    struct side *peer;
};

static long hops, nhops;

static void side_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    struct side *s = (struct side *)w;
    if (hops >= nhops)
        return;
    hops++;
    ev_feed_event(loop, &s->peer->w, EV_CUSTOM);
}

/* --- select ------------------------------------------------------------------ */

struct sel_child {
    ev_idle w; /* never started: only fed */
    long idx;
};

static ev_idle driver;
static struct sel_child *children;
static long rounds, nrounds, nk, wrong;

static void driver_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)w;
    (void)revents;
    if (rounds >= nrounds)
        return;
    ev_feed_event(loop, &children[rounds % nk].w, EV_CUSTOM);
}

static void child_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    struct sel_child *c = (struct sel_child *)w;
    if (c->idx != rounds % nk)
        wrong++;
    rounds++;
    ev_feed_event(loop, &driver, EV_CUSTOM);
}

static void select_rounds(const struct bench_args *a)
{
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    nk = a->m > 0 ? a->m : 8;
    nrounds = a->n;
    children = calloc((size_t)nk, sizeof *children);
    BENCH_CHECK(children);
    for (long i = 0; i < nk; i++) {
        ev_idle_init(&children[i].w, child_cb);
        children[i].idx = i;
    }
    ev_idle_init(&driver, driver_cb);

    double t0 = bench_now();
    ev_feed_event(loop, &driver, EV_CUSTOM);
    ev_run(loop, 0);
    double t1 = bench_now();

    BENCH_CHECK(rounds == a->n && wrong == 0);
    bench_report(a, t1 - t0);
    free(children);
    ev_loop_destroy(loop);
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (bench_mode_is(&a, "select") || bench_mode_is(&a, "select_hand")) {
        select_rounds(&a);
        return 0;
    }
    if (!bench_mode_is(&a, "hop"))
        bench_usage(a.prog, MODES);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    struct side s[2];
    for (int i = 0; i < 2; i++) {
        ev_idle_init(&s[i].w, side_cb);
        s[i].peer = &s[!i];
    }
    nhops = a.n * bench_rounds(&a);

    double t0 = bench_now();
    ev_feed_event(loop, &s[0].w, EV_CUSTOM);
    /* ev_run invokes what is pending first; with no active watcher it then
     * polls the backend once without blocking and returns. */
    ev_run(loop, 0);
    double t1 = bench_now();

    BENCH_CHECK(hops == nhops);
    bench_report_ops(&a, t1 - t0, (double)nhops);
    ev_loop_destroy(loop);
    return 0;
}
