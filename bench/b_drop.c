/* B7, libfut: the drop paths, N futures each.
 *
 * Modes:
 *   sync             a future with only a `drop` slot, fut_drop(): the
 *                    synchronous path (one indirect call).
 *   pd_ready         only `poll_drop`, READY at its first call, fut_drop()
 *                    from plain C: the synchronous fallback, which polls
 *                    poll_drop in a frame of the thread's runtime (no loop
 *                    iteration is needed).
 *   pd_pending       only `poll_drop`, PENDING once (it wakes itself) then
 *                    READY, fut_drop() from plain C: a nested loop that
 *                    drains the run queue and polls the frame again.
 *   task_pd_ready    N tasks (spawn + join, as b_spawn all) whose future is
 *                    READY at once and has a poll_drop READY at once: the
 *                    asynchronous teardown in the task, immediate.
 *   task_pd_pending  the same with the poll_drop PENDING once (it wakes
 *                    itself) then READY: the task is queued and polled once
 *                    more to finish its teardown.
 * The task modes include the spawn and join: subtract b_spawn's "all" to
 * get the drop alone. ns/op is per future. Twin: b_drop_ev.c.
 */
#include <fut.h>

#include "bench.h"

#define MODES "sync pd_ready pd_pending task_pd_ready task_pd_pending"

static long released;

struct dfut {
    fut base;
    int step;
};

static void d_drop(fut *self)
{
    (void)self;
    released++;
}

static fut_status d_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    return fut_ready(self, 7);
}

static fut_status d_pd_ready(fut *self, fut_cx *cx)
{
    (void)self;
    (void)cx;
    released++;
    return FUT_READY;
}

static fut_status d_pd_pending(fut *self, fut_cx *cx)
{
    struct dfut *d = (struct dfut *)self;
    if (!d->step) {
        d->step = 1;
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    released++;
    return FUT_READY;
}

static const struct fut_vtable sync_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_sync_drop",
    .poll = d_poll,
    .drop = d_drop,
};

static const struct fut_vtable pd_ready_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_pd_ready",
    .poll = d_poll,
    .poll_drop = d_pd_ready,
};

static const struct fut_vtable pd_pending_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_pd_pending",
    .poll = d_poll,
    .poll_drop = d_pd_pending,
};

static BENCH_NOINLINE void sync_drops(long n, const struct fut_vtable *vt)
{
    for (long i = 0; i < n; i++) {
        struct dfut d = {.step = 0};
        fut_init(&d.base, vt);
        BENCH_CHECK(fut_drop(&d.base) == 0);
    }
}

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

static void task_drops(fut_rt *rt, long n, const struct fut_vtable *vt)
{
    fut_join *j = calloc((size_t)n, sizeof *j);
    BENCH_CHECK(j);
    for (long i = 0; i < n; i++) {
        struct dfut d = {.step = 0};
        fut_init(&d.base, vt);
        BENCH_CHECK(FUT_SPAWN(rt, &d, &j[i]) == 0);
    }
    struct join_all ja = {.j = j, .n = n};
    fut_init(&ja.base, &join_all_vt);
    BENCH_CHECK(fut_block_on(rt, &ja.base, NULL) == 0);
    BENCH_CHECK(ja.bad == 0 && ja.i == n);
    for (long i = 0; i < n; i++)
        fut_drop(&j[i].base);
    free(j);
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);

    double t0 = bench_now();
    if (bench_mode_is(&a, "sync"))
        sync_drops(a.n, &sync_vt);
    else if (bench_mode_is(&a, "pd_ready"))
        sync_drops(a.n, &pd_ready_vt);
    else if (bench_mode_is(&a, "pd_pending"))
        sync_drops(a.n, &pd_pending_vt);
    else if (bench_mode_is(&a, "task_pd_ready"))
        task_drops(rt, a.n, &pd_ready_vt);
    else if (bench_mode_is(&a, "task_pd_pending"))
        task_drops(rt, a.n, &pd_pending_vt);
    else
        bench_usage(a.prog, MODES);
    double t1 = bench_now();

    BENCH_CHECK(released == a.n);
    bench_report(&a, t1 - t0);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    return 0;
}
