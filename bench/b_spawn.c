/* SPDX-License-Identifier: MIT */
/* B1, libfut: spawn + join of empty tasks.
 *
 * The task's future is READY at its first poll (output 7) and has no
 * teardown: the cost measured is the runtime's own per task: allocation,
 * run queue, one poll, the drop glue, finishing, waking the joiner, the
 * join handle's poll and drop, the free.
 *
 * Modes:
 *   all    spawn N tasks (each with a join handle), then fut_rt_block_on a
 *          future that joins them all in order, then drop the N handles.
 *          The working set grows with N (N tasks alive at once). M > 1
 *          repeats that M times in the process (warm: N = 1e3 alone is
 *          over in microseconds, cold).
 *   batch  the same in rounds of 256 tasks: the steady-state cost with a
 *          working set that stays in cache.
 * ns/op is per task (N * M tasks with M rounds). Twin: b_spawn_ev.c.
 */
#include <fut.h>

#include "bench.h"

#define MODES "all batch"
#define BATCH 256

struct ready_fut {
    fut base;
};

static fut_status ready_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    return fut_ready(self, 7);
}

static const struct fut_vtable ready_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_ready",
    .poll = ready_poll,
};

/* Joins j[0..n-1] in order: one poll per handle once its task is done, so
 * the joiner is woken about once per drain of the run queue. */
struct join_all {
    fut base;
    fut_join *j;
    long n, i, bad;
};

static fut_status join_all_poll(fut *self, fut_cx *cx)
{
    struct join_all *ja = (struct join_all *)self;
    while (ja->i < ja->n) {
        fut *h = &ja->j[ja->i].base;
        if (fut_poll(h, cx) == FUT_PENDING)
            return FUT_PENDING;
        if (fut_out(h) != 7)
            ja->bad++;
        ja->i++;
    }
    return fut_ready(self, 0);
}

static const struct fut_vtable join_all_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_join_all",
    .poll = join_all_poll,
};

/* Spawns n, joins them, drops the handles. */
static void round_trip(fut_rt *rt, fut_join *j, long n)
{
    for (long i = 0; i < n; i++) {
        struct ready_fut r;
        fut_init(&r.base, &ready_vt);
        BENCH_CHECK(FUT_SPAWN(rt, &r, &j[i]) == 0);
    }
    struct join_all ja = {.j = j, .n = n};
    fut_init(&ja.base, &join_all_vt);
    ssize_t out = -1;
    BENCH_CHECK(fut_rt_block_on(rt, &ja.base, &out) == 0 && out == 0);
    BENCH_CHECK(ja.bad == 0 && ja.i == n);
    fut_drop(&ja.base);
    for (long i = 0; i < n; i++)
        fut_drop(&j[i].base);
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    /* The libev twin's former, registered-watcher variant: libev only. */
    if (bench_mode_is(&a, "idle_all") || bench_mode_is(&a, "idle_batch"))
        bench_unsupported(&a);
    int batch = bench_mode_is(&a, "batch");
    if (!batch && !bench_mode_is(&a, "all"))
        bench_usage(a.prog, MODES);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    long cap = batch ? BATCH : a.n;
    fut_join *j = calloc((size_t)cap, sizeof *j);
    BENCH_CHECK(j);

    long rounds = batch ? 1 : bench_rounds(&a);

    double t0 = bench_now();
    if (batch) {
        for (long done = 0; done < a.n; done += BATCH)
            round_trip(rt, j, a.n - done < BATCH ? a.n - done : BATCH);
    } else {
        for (long r = 0; r < rounds; r++)
            round_trip(rt, j, a.n);
    }
    double t1 = bench_now();

    struct fut_rt_stats st;
    fut_rt_stats(rt, &st, sizeof st);
    BENCH_CHECK(st.tasks_spawned == (uint64_t)(a.n * rounds) && st.tasks_alive == 0);
    bench_report_ops(&a, t1 - t0, (double)a.n * (double)rounds);
    free(j);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    return 0;
}
