/* SPDX-License-Identifier: MIT */
/* B8, libfut: bytes per parked task.
 *
 * Spawns N detached tasks, lets every one be polled once (each parks),
 * then measures:
 *   alloc  the bytes the library asked its allocator for (a counting
 *          allocator installed with fut_set_allocator), per task;
 *   rss    the growth of the resident set (/proc/self/statm) per task:
 *          the allocations plus malloc's headers and rounding, plus
 *          libev's own arrays (the timer heap, the fd table);
 *   future sizeof the task's own future, the part of alloc that is the
 *          caller's; overhead = alloc - future is what the runtime adds.
 * Modes (the task's future):
 *   idle    a future pending forever that keeps nothing (it only tells the
 *           context a wake is arranged, like Tokio's pending()): the
 *           runtime's own cost of a task;
 *   timer   a fut_sleep of 1e9 s (its ev_timer armed);
 *   socket  a fut_io (readable) on its own socket, one end of a socketpair made
 *           before the first measurement (the pairs are not counted; the
 *           kernel's socket and epoll memory is not in the RSS).
 * Twin: b_mem_ev.c.
 */
#include <sys/socket.h>

#include <fut.h>

#include "bench.h"

#define MODES "idle timer socket"

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

struct pending {
    fut base;
};

static fut_status pending_poll(fut *self, fut_cx *cx)
{
    (void)self;
    (void)fut_cx_waker(cx); /* "a wake is arranged": it never comes */
    return FUT_PENDING;
}

static const struct fut_vtable pending_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_pending",
    .poll = pending_poll,
};

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    int mode;
    size_t fsize;
    if (bench_mode_is(&a, "idle"))
        mode = 0, fsize = sizeof(struct pending);
    else if (bench_mode_is(&a, "timer"))
        mode = 1, fsize = sizeof(fut_sleep);
    else if (bench_mode_is(&a, "socket"))
        mode = 2, fsize = sizeof(fut_io);
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
    static const struct fut_allocator alloc = {count_alloc, count_free, NULL};
    BENCH_CHECK(fut_set_allocator(&alloc) == 0);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);

    long bytes0 = live_bytes, rss0 = bench_rss();
    for (long i = 0; i < a.n; i++) {
        if (mode == 0) {
            struct pending p;
            fut_init(&p.base, &pending_vt);
            BENCH_CHECK(FUT_SPAWN(rt, &p, NULL) == 0);
        } else if (mode == 1) {
            fut_sleep s;
            fut_sleep_init(&s, 1e9);
            BENCH_CHECK(FUT_SPAWN(rt, &s, NULL) == 0);
        } else {
            fut_io f;
            fut_io_readable_init(&f, sv[2 * i]);
            BENCH_CHECK(FUT_SPAWN(rt, &f, NULL) == 0);
        }
    }
    struct polled p = {.rt = rt, .polls = (uint64_t)a.n};
    fut_init(&p.base, &polled_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &p.base, NULL) == 0);
    if (mode == 2) {
        /* A full loop iteration (a 1 ms sleep: fut_rt_block_on must let the
         * loop poll): libev hands the new fds to epoll then (and grows its fd table). */
        fut_sleep z;
        fut_sleep_init(&z, 1e-3);
        BENCH_CHECK(fut_rt_block_on(rt, &z.base, NULL) == 0);
        fut_drop(&z.base);
    }
    long bytes1 = live_bytes, rss1 = bench_rss();

    struct fut_rt_stats st;
    fut_rt_stats(rt, &st, sizeof st);
    BENCH_CHECK(st.tasks_alive == (uint64_t)a.n);
    double alloc_per = (double)(bytes1 - bytes0) / (double)a.n;
    double rss_per = (double)(rss1 - rss0) / (double)a.n;
    printf("%s %s n=%ld m=0 bytes/task=%.1f rss/task=%.1f future_bytes=%zu "
           "overhead_bytes/task=%.1f\n",
           a.prog, a.mode, a.n, alloc_per, rss_per, fsize, alloc_per - (double)fsize);
    fflush(stdout);
    fut_drop(&p.base);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    BENCH_CHECK(live_bytes == 0);
    BENCH_CHECK(fut_set_allocator(NULL) == 0);
    if (sv) {
        for (long i = 0; i < 2 * a.n; i++)
            close(sv[i]);
        free(sv);
    }
    return 0;
}
