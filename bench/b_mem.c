/* Memory, libfut: bytes per idle task.
 *
 * Spawns N detached tasks, each running a fut_sleep of 1e9 s (the task's
 * future is the sleep itself), lets every one be polled once (each arms
 * its ev_timer and parks), then measures:
 *   alloc  the bytes the library asked its allocator for (a counting
 *          allocator installed with fut_set_allocator), per task;
 *   rss    the growth of the resident set (/proc/self/statm) per task:
 *          the allocations plus malloc's headers and rounding, plus
 *          libev's timer heap (16 bytes per timer, grown by doubling);
 *   future sizeof(fut_sleep), the part of alloc that is the task's own
 *          future; overhead = alloc - future is what the runtime adds.
 * Mode: idle. Twin: b_mem_ev.c (N malloc'd ev_timers, started).
 */
#include <fut.h>

#include "bench.h"

#define MODES "idle"

static long live_bytes;

static void *count_alloc(void *ud, size_t size)
{
    (void)ud;
    void *p = malloc(size);
    if (p)
        live_bytes += (long)size;
    return p;
}

static void count_free(void *ud, void *p, size_t size)
{
    (void)ud;
    live_bytes -= (long)size;
    free(p);
}

/* READY once every task was polled. */
struct polled {
    fut base;
    fut_rt *rt;
    uint64_t polls;
};

static fut_status polled_poll(fut *self, fut_cx *cx)
{
    struct polled *p = (struct polled *)self;
    struct fut_rt_stats st;
    fut_rt_stats(p->rt, &st, sizeof st);
    if (st.polls >= p->polls)
        return fut_ready(self, 0);
    fut_waker_wake(fut_cx_waker(cx));
    return FUT_PENDING;
}

static const struct fut_vtable polled_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_polled",
    .poll = polled_poll,
};

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (!bench_mode_is(&a, "idle"))
        bench_usage(a.prog, MODES);
    static const struct fut_allocator alloc = {count_alloc, count_free, NULL};
    BENCH_CHECK(fut_set_allocator(&alloc) == 0);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);

    long bytes0 = live_bytes, rss0 = bench_rss();
    for (long i = 0; i < a.n; i++) {
        fut_sleep s;
        fut_sleep_init(&s, 1e9);
        BENCH_CHECK(FUT_SPAWN(rt, &s, NULL) == 0);
    }
    struct polled p = {.rt = rt, .polls = (uint64_t)a.n};
    fut_init(&p.base, &polled_vt);
    BENCH_CHECK(fut_block_on(rt, &p.base, NULL) == 0);
    long bytes1 = live_bytes, rss1 = bench_rss();

    struct fut_rt_stats st;
    fut_rt_stats(rt, &st, sizeof st);
    BENCH_CHECK(st.tasks_alive == (uint64_t)a.n);
    double alloc_per = (double)(bytes1 - bytes0) / (double)a.n;
    double rss_per = (double)(rss1 - rss0) / (double)a.n;
    printf("%s %s n=%ld m=0 alloc_bytes/task=%.1f rss_bytes/task=%.1f future_bytes=%zu "
           "overhead_bytes/task=%.1f\n",
           a.prog, a.mode, a.n, alloc_per, rss_per, sizeof(fut_sleep),
           alloc_per - (double)sizeof(fut_sleep));
    fflush(stdout);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    BENCH_CHECK(live_bytes == 0);
    BENCH_CHECK(fut_set_allocator(NULL) == 0);
    return 0;
}
