/* SPDX-License-Identifier: MIT */
/* B8, raw libev twin of b_mem.c: N parked "units", malloc'd one by one.
 * alloc is the bytes malloc'd per unit (the watcher: the whole unit,
 * nothing is added around it), rss the resident growth per unit (malloc
 * headers and rounding, libev's timer heap or fd table).
 * Modes:
 *   idle    an ev_idle watcher, not started: a callback and its data, the
 *           smallest thing that can be told later to run (fed an event);
 *           waiting for nothing registers nothing with the loop;
 *   timer   an ev_timer of 1e9 s, started;
 *   socket  an ev_io on its own socket (one end of a socketpair made
 *           beforehand, not counted), started and registered with epoll.
 */
#include <sys/socket.h>

#include <ev.h>

#include "bench.h"

#define MODES "idle timer socket"

static void never_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    abort();
}

static void never_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    abort();
}

static void never_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    abort();
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    int mode;
    size_t usize;
    if (bench_mode_is(&a, "idle"))
        mode = 0, usize = sizeof(ev_idle);
    else if (bench_mode_is(&a, "timer"))
        mode = 1, usize = sizeof(ev_timer);
    else if (bench_mode_is(&a, "socket"))
        mode = 2, usize = sizeof(ev_io);
    else
        bench_usage(a.prog, MODES);
    int *sv = NULL;
    if (mode == 2) {
        bench_need_fds(2 * a.n + 16);
        sv = malloc((size_t)a.n * 2 * sizeof *sv);
        BENCH_CHECK(sv);
        for (long i = 0; i < a.n; i++)
            BENCH_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, &sv[2 * i]) == 0);
    }
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    void **t = malloc((size_t)a.n * sizeof *t);
    BENCH_CHECK(t);
    /* Touch the pointer array first: it is bookkeeping of the benchmark,
     * not of the units. */
    memset(t, 0, (size_t)a.n * sizeof *t);

    long bytes = 0, rss0 = bench_rss();
    for (long i = 0; i < a.n; i++) {
        t[i] = malloc(usize);
        BENCH_CHECK(t[i]);
        bytes += (long)usize;
        if (mode == 0) {
            ev_idle_init((ev_idle *)t[i], never_idle_cb);
        } else if (mode == 1) {
            ev_timer_init((ev_timer *)t[i], never_cb, 1e9, 0.);
            ev_timer_start(loop, (ev_timer *)t[i]);
        } else {
            ev_io_init((ev_io *)t[i], never_io_cb, sv[2 * i], EV_READ);
            ev_io_start(loop, (ev_io *)t[i]);
        }
    }
    ev_run(loop, EVRUN_NOWAIT); /* registers the fds */
    long rss1 = bench_rss();

    double alloc_per = (double)bytes / (double)a.n;
    double rss_per = (double)(rss1 - rss0) / (double)a.n;
    printf("%s %s n=%ld m=0 bytes/task=%.1f rss/task=%.1f future_bytes=%zu "
           "overhead_bytes/task=%.1f\n",
           a.prog, a.mode, a.n, alloc_per, rss_per, usize, alloc_per - (double)usize);
    fflush(stdout);
    for (long i = 0; i < a.n; i++) {
        if (mode == 1)
            ev_timer_stop(loop, (ev_timer *)t[i]);
        else if (mode == 2)
            ev_io_stop(loop, (ev_io *)t[i]);
        free(t[i]);
    }
    if (sv) {
        for (long i = 0; i < 2 * a.n; i++)
            close(sv[i]);
        free(sv);
    }
    free(t);
    ev_loop_destroy(loop);
    return 0;
}
