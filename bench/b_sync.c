/* SPDX-License-Identifier: MIT */
/* Coordination primitives (<fut/sync.h>), libfut only (no libev twin:
 * libev has nothing to coordinate; the Tokio peer is a separate step).
 *
 * Modes:
 *   sem     uncontended semaphore: one future, polled once by
 *           fut_rt_block_on, loops N times over fut_sem_acquire() of one
 *           permit, a fut_poll that is READY at once, and a
 *           fut_poll_drop of the guard that gives the permit back. One op
 *           = one acquire + one release, through the protocol wrappers
 *           (the way a combinator or a coroutine would do it). M > 1
 *           repeats the N ops M times.
 *   notify  two tasks hand a notification back and forth: each waits on
 *           its own fut_notify, and when woken calls fut_notify_one() on
 *           the other's and waits again. One op = one hop: a
 *           notify_one that completes a queued wait (a wake), one task
 *           poll, a fresh wait queued. Compare with `b_wake hop` (the
 *           same hop with a bare waker). M > 1 makes it N * M hops.
 */
#include <fut.h>

#include "bench.h"

#define MODES "sem notify"

/* --- sem -------------------------------------------------------------------- */

struct sem_loop {
    fut base;
    fut_sem *s;
    long n;
    long granted;
};

static fut_status sem_loop_poll(fut *self, fut_cx *cx)
{
    struct sem_loop *l = (struct sem_loop *)self;
    for (long i = 0; i < l->n; i++) {
        fut_sem_acquire_op op;
        fut_sem_acquire(&op, l->s, 1);
        if (fut_poll(&op.base, cx) == FUT_READY && fut_out(&op.base) == 0)
            l->granted++;
        BENCH_KEEP(&op);
        fut_poll_drop(&op.base, cx); /* the guard: releases the permit */
    }
    return fut_ready(self, 0);
}

static const struct fut_vtable sem_loop_vt = {
    .size = sizeof(struct fut_vtable), .name = "bench_sem_loop", .poll = sem_loop_poll};

static void sem(const struct bench_args *a)
{
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    fut_sem s;
    BENCH_CHECK(fut_sem_init(&s, 4) == 0);
    long ops = a->n * bench_rounds(a);
    struct sem_loop l = {.s = &s, .n = ops};
    fut_init(&l.base, &sem_loop_vt);
    double t0 = bench_now();
    BENCH_CHECK(fut_rt_block_on(rt, &l.base, NULL) == 0);
    double t1 = bench_now();
    BENCH_CHECK(l.granted == ops && fut_sem_available(&s) == 4);
    bench_report_ops(a, t1 - t0, (double)ops);
    BENCH_CHECK(fut_rt_free(rt) == 0);
}

/* --- notify ----------------------------------------------------------------- */

struct hopper {
    fut base;
    fut_notify *mine, *other;
    long *hops, n;
    fut_notify_wait w;
    int live;
};

static fut_status hopper_poll(fut *self, fut_cx *cx)
{
    struct hopper *h = (struct hopper *)self;
    for (;;) {
        if (!h->live) {
            fut_notify_wait_init(&h->w, h->mine);
            h->live = 1;
        }
        if (fut_poll(&h->w.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        h->live = 0; /* READY holds nothing: re-armed without a drop (<fut/sync.h>) */
        if (*h->hops >= h->n) {
            fut_notify_one(h->other); /* let the other one finish too */
            return fut_ready(self, 0);
        }
        ++*h->hops;
        fut_notify_one(h->other);
    }
}

static void hopper_drop(fut *self)
{
    struct hopper *h = (struct hopper *)self;
    if (h->live)
        fut_drop(&h->w.base);
}

static const struct fut_vtable hopper_vt = {.size = sizeof(struct fut_vtable),
                                            .name = "bench_hopper",
                                            .poll = hopper_poll,
                                            .drop = hopper_drop};

struct both {
    fut base;
    fut_join *j;
    int i;
};

static fut_status both_poll(fut *self, fut_cx *cx)
{
    struct both *b = (struct both *)self;
    for (; b->i < 2; b->i++)
        if (fut_poll(&b->j[b->i].base, cx) == FUT_PENDING)
            return FUT_PENDING;
    return fut_ready(self, 0);
}

static const struct fut_vtable both_vt = {
    .size = sizeof(struct fut_vtable), .name = "bench_both", .poll = both_poll};

static void notify(const struct bench_args *a)
{
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    fut_notify n[2];
    fut_notify_init(&n[0]);
    fut_notify_init(&n[1]);
    long hops = 0, want = a->n * bench_rounds(a);
    fut_join j[2];
    fut_notify_one(&n[0]); /* the first one starts */

    double t0 = bench_now();
    for (int i = 0; i < 2; i++) {
        struct hopper h = {.mine = &n[i], .other = &n[!i], .hops = &hops, .n = want};
        fut_init(&h.base, &hopper_vt);
        BENCH_CHECK(FUT_SPAWN(rt, &h, &j[i]) == 0);
    }
    struct both b = {.j = j};
    fut_init(&b.base, &both_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &b.base, NULL) == 0);
    double t1 = bench_now();

    BENCH_CHECK(hops == want);
    fut_drop(&j[0].base);
    fut_drop(&j[1].base);
    bench_report_ops(a, t1 - t0, (double)want);
    BENCH_CHECK(fut_rt_free(rt) == 0);
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (bench_mode_is(&a, "sem"))
        sem(&a);
    else if (bench_mode_is(&a, "notify"))
        notify(&a);
    else
        bench_usage(a.prog, MODES);
    return 0;
}
