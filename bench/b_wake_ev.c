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
 * Mode: hop.
 */
#include <ev.h>

#include "bench.h"

#define MODES "hop"

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

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (!bench_mode_is(&a, "hop"))
        bench_usage(a.prog, MODES);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    struct side s[2];
    for (int i = 0; i < 2; i++) {
        ev_idle_init(&s[i].w, side_cb);
        s[i].peer = &s[!i];
    }
    nhops = a.n;

    double t0 = bench_now();
    ev_feed_event(loop, &s[0].w, EV_CUSTOM);
    /* ev_run invokes what is pending first; with no active watcher it then
     * polls the backend once without blocking and returns. */
    ev_run(loop, 0);
    double t1 = bench_now();

    BENCH_CHECK(hops == a.n);
    bench_report(&a, t1 - t0);
    ev_loop_destroy(loop);
    return 0;
}
