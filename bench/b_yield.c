/* SPDX-License-Identifier: MIT */
/* B3, libfut: yielding to the other tasks.
 *
 * A yielder task awaits fut_yield N times, one after the other: fut_yield
 * wakes its own task and returns PENDING, the run queue polls the task
 * again after the others (and, once per 128 queued polls, after the loop
 * looked for I/O and timers: one epoll_wait per 128 yields, see
 * bench/syscalls.sh).
 *
 * Modes:
 *   one   one task yields N times; ns/op is per yield.
 *   many  M tasks (default 100) each yield N times, round robin; ns/op is
 *         per yield (N * M of them).
 * Twin: b_yield_ev.c.
 */
#include <fut.h>

#include "bench.h"

#define MODES "one many"

static long yields;

struct yielder {
    fut base;
    long left;
    fut_yield y;
};

static fut_status yielder_poll(fut *self, fut_cx *cx)
{
    struct yielder *t = (struct yielder *)self;
    for (;;) {
        if (fut_poll(&t->y.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        yields++;
        if (--t->left == 0)
            return fut_ready(self, 0);
        fut_yield_init(&t->y);
    }
}

static const struct fut_vtable yielder_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_yielder",
    .poll = yielder_poll,
};

struct join_all {
    fut base;
    fut_join *j;
    long n, i;
};

static fut_status join_all_poll(fut *self, fut_cx *cx)
{
    struct join_all *ja = (struct join_all *)self;
    for (; ja->i < ja->n; ja->i++)
        if (fut_poll(&ja->j[ja->i].base, cx) == FUT_PENDING)
            return FUT_PENDING;
    return fut_ready(self, 0);
}

static const struct fut_vtable join_all_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_join_all",
    .poll = join_all_poll,
};

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
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    fut_join *j = calloc((size_t)tasks, sizeof *j);
    BENCH_CHECK(j);

    double t0 = bench_now();
    for (long i = 0; i < tasks; i++) {
        struct yielder y = {.left = a.n};
        fut_init(&y.base, &yielder_vt);
        fut_yield_init(&y.y);
        BENCH_CHECK(FUT_SPAWN(rt, &y, &j[i]) == 0);
    }
    struct join_all ja = {.j = j, .n = tasks};
    fut_init(&ja.base, &join_all_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &ja.base, NULL) == 0);
    double t1 = bench_now();

    BENCH_CHECK(yields == a.n * tasks);
    fut_drop(&ja.base);
    for (long i = 0; i < tasks; i++)
        fut_drop(&j[i].base);
    bench_report_ops(&a, t1 - t0, (double)a.n * (double)tasks);
    free(j);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    return 0;
}
