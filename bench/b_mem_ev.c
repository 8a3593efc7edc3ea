/* Memory, raw libev twin of b_mem.c: N idle "units", each a malloc'd
 * ev_timer of 1e9 s, started. alloc is the bytes malloc'd per unit
 * (sizeof(ev_timer): the whole unit, nothing is added around it), rss the
 * resident growth per unit (malloc headers, libev's timer heap).
 * Mode: idle.
 */
#include <ev.h>

#include "bench.h"

#define MODES "idle"

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
    if (!bench_mode_is(&a, "idle"))
        bench_usage(a.prog, MODES);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    ev_timer **t = malloc((size_t)a.n * sizeof *t);
    BENCH_CHECK(t);
    /* Touch the pointer array first: it is bookkeeping of the benchmark,
     * not of the units. */
    memset(t, 0, (size_t)a.n * sizeof *t);

    long bytes = 0, rss0 = bench_rss();
    for (long i = 0; i < a.n; i++) {
        t[i] = malloc(sizeof **t);
        BENCH_CHECK(t[i]);
        bytes += (long)sizeof **t;
        ev_timer_init(t[i], never_cb, 1e9, 0.);
        ev_timer_start(loop, t[i]);
    }
    long rss1 = bench_rss();

    double alloc_per = (double)bytes / (double)a.n;
    double rss_per = (double)(rss1 - rss0) / (double)a.n;
    printf("%s %s n=%ld m=0 alloc_bytes/task=%.1f rss_bytes/task=%.1f future_bytes=%zu "
           "overhead_bytes/task=%.1f\n",
           a.prog, a.mode, a.n, alloc_per, rss_per, sizeof(ev_timer), alloc_per - (double)sizeof(ev_timer));
    fflush(stdout);
    for (long i = 0; i < a.n; i++) {
        ev_timer_stop(loop, t[i]);
        free(t[i]);
    }
    free(t);
    ev_loop_destroy(loop);
    return 0;
}
