/* SPDX-License-Identifier: MIT */
/* B4, libfut: timer insert + cancel with M armed timers in the background.
 *
 * Inside one task's poll, N times: fut_sleep_init, fut_poll it once (it
 * arms its timer and clones the task's waker), fut_drop it (cancels the
 * timer, drops the waker). The background: M fut_sleeps armed beforehand
 * by another task, with timeouts uniform in [1000 s, 2000 s) (a fixed
 * seed: every run has the same heap). They share the runtime's timer heap
 * with the sleeps, which is all the background is there for (the twin's
 * background is M ev_timers in libev's heap).
 *
 * Modes (where the new timer lands in the heap):
 *   early  1 s: before every background timer, it climbs to the root of
 *          the heap (log4 M levels), the worst case;
 *   mid    uniform in [1000 s, 2000 s) like the background, a new draw
 *          each iteration: a random position in the heap (an O(1) climb
 *          on average, but the heap nodes it touches are scattered over
 *          the whole heap: cache misses grow with M);
 *   late   1e6 s: after every background timer (the usual fixed timeout
 *          pattern: the newest deadline is the latest), no climb.
 *   spread the background and the new timers alike uniform in
 *          [1 s, 1001 s) (issue 13's headline timer rows: deadlines spread
 *          at random, so neither heap gets ties for free).
 * ns/op is per insert+cancel.
 *
 * Modes without a background (M is their rounds, see below):
 *   fifo   N sleeps of 1e9 s armed (each fut_sleep polled once from one
 *          task), then dropped in arming order; ns/op is per
 *          insert+cancel. M > 1 repeats it M times (warm, for small N).
 *   lifo   the same, dropped in reverse order.
 *   fire   N tasks, each a sleep of (i % 64) ms (spawned, the sleep
 *          armed at the task's first poll), run until every one fired
 *          and its task finished; ns/op is per timer (the spawn, arming,
 *          firing, wake and task completion; the wall time includes the
 *          63 ms the last bucket waits).
 *   timeout_ready  N times: a timeout of 1 s around a future that is READY
 *          at once, awaited from a task: fut_timeout_init, one poll (the
 *          inner future wins at once: the deadline's fut_sleep is never
 *          armed, only dropped), and the timeout's asynchronous drop
 *          (fut_poll_drop, READY at once), as an awaiting task does.
 *   timeout_hand  the same with a hand-made timeout, the cheapest shape:
 *          `struct timeout` below keeps the deadline as a fut_sleep beside
 *          the child, polls the child first and the sleep (arming it) only
 *          when the child is PENDING, and has a plain synchronous drop.
 * Twin: b_timer_ev.c.
 */
#include <errno.h>

#include <ev.h>
#include <fut.h>

#include "bench.h"

#define MODES "early mid late spread fifo lifo fire timeout_ready timeout_hand"

struct driver {
    fut base;
    long n;
    double lo, span; /* timeouts uniform in [lo, lo + span) */
    uint64_t seed;
};

static fut_status driver_poll(fut *self, fut_cx *cx)
{
    struct driver *d = (struct driver *)self;
    for (long i = 0; i < d->n; i++) {
        fut_sleep s;
        fut_sleep_init(&s, d->lo + d->span * bench_rand01(&d->seed));
        BENCH_CHECK(fut_poll(&s.base, cx) == FUT_PENDING);
        BENCH_CHECK(fut_drop(&s.base) == 0);
    }
    return fut_ready(self, 0);
}

static const struct fut_vtable driver_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_timer_driver",
    .poll = driver_poll,
};

/* Arms the background: m sleeps of lo + span * U[0, 1), each polled once. */
struct bg_armer {
    fut base;
    fut_sleep *s;
    long m;
    double lo, span;
};

static fut_status bg_armer_poll(fut *self, fut_cx *cx)
{
    struct bg_armer *b = (struct bg_armer *)self;
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (long i = 0; i < b->m; i++) {
        fut_sleep_init(&b->s[i], b->lo + b->span * bench_rand01(&seed));
        BENCH_CHECK(fut_poll(&b->s[i].base, cx) == FUT_PENDING);
    }
    return fut_ready(self, 0);
}

static const struct fut_vtable bg_armer_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_timer_background",
    .poll = bg_armer_poll,
};

/* --- fifo, lifo --------------------------------------------------------------- */

struct armer {
    fut base;
    fut_sleep *s;
    long n, rounds;
    int lifo;
};

static fut_status armer_poll(fut *self, fut_cx *cx)
{
    struct armer *d = (struct armer *)self;
    for (long r = 0; r < d->rounds; r++) {
        for (long i = 0; i < d->n; i++) {
            fut_sleep_init(&d->s[i], 1e9);
            BENCH_CHECK(fut_poll(&d->s[i].base, cx) == FUT_PENDING);
        }
        if (d->lifo)
            for (long i = d->n; i-- > 0;)
                BENCH_CHECK(fut_drop(&d->s[i].base) == 0);
        else
            for (long i = 0; i < d->n; i++)
                BENCH_CHECK(fut_drop(&d->s[i].base) == 0);
    }
    return fut_ready(self, 0);
}

static const struct fut_vtable armer_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_timer_armer",
    .poll = armer_poll,
};

static void arm_cancel(const struct bench_args *a, int lifo)
{
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    fut_sleep *s = calloc((size_t)a->n, sizeof *s);
    BENCH_CHECK(s);
    memset(s, 1, (size_t)a->n * sizeof *s); /* touched before the clock starts */
    struct armer d = {.s = s, .n = a->n, .rounds = bench_rounds(a), .lifo = lifo};
    fut_init(&d.base, &armer_vt);
    fut_join j;

    double t0 = bench_now();
    BENCH_CHECK(FUT_SPAWN(rt, &d, &j) == 0);
    ssize_t out = -1;
    BENCH_CHECK(fut_rt_block_on(rt, &j.base, &out) == 0 && out == 0);
    double t1 = bench_now();

    fut_drop(&j.base);
    bench_report_ops(a, t1 - t0, (double)a->n * (double)d.rounds);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    free(s);
}

/* --- fire ------------------------------------------------------------------------ */

struct fire_state {
    long left;
    fut_waker *waiter;
};

/* A task: sleeps, then counts itself fired. */
struct firer {
    fut base;
    struct fire_state *st;
    fut_sleep s;
};

static fut_status firer_poll(fut *self, fut_cx *cx)
{
    struct firer *f = (struct firer *)self;
    if (fut_poll(&f->s.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    BENCH_CHECK(fut_out(&f->s.base) == 0);
    if (--f->st->left == 0 && f->st->waiter)
        fut_waker_wake(f->st->waiter);
    return fut_ready(self, 0);
}

static void firer_drop(fut *self)
{
    fut_drop(&((struct firer *)self)->s.base);
}

static const struct fut_vtable firer_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_timer_firer",
    .poll = firer_poll,
    .drop = firer_drop,
};

/* READY once every firer fired. */
struct all_fired {
    fut base;
    struct fire_state *st;
};

static fut_status all_fired_poll(fut *self, fut_cx *cx)
{
    struct fire_state *st = ((struct all_fired *)self)->st;
    if (st->left == 0)
        return fut_ready(self, 0);
    if (!st->waiter)
        st->waiter = fut_waker_clone(fut_cx_waker(cx));
    (void)fut_cx_waker(cx);
    return FUT_PENDING;
}

static const struct fut_vtable all_fired_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_all_fired",
    .poll = all_fired_poll,
};

static void fire(const struct bench_args *a)
{
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    struct fire_state st = {.left = a->n};

    double t0 = bench_now();
    for (long i = 0; i < a->n; i++) {
        struct firer f = {.st = &st};
        fut_init(&f.base, &firer_vt);
        fut_sleep_init(&f.s, (double)(i % 64) * 1e-3);
        BENCH_CHECK(FUT_SPAWN(rt, &f, NULL) == 0);
    }
    struct all_fired w = {.st = &st};
    fut_init(&w.base, &all_fired_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &w.base, NULL) == 0);
    double t1 = bench_now();

    struct fut_rt_stats rs;
    fut_rt_stats(rt, &rs, sizeof rs);
    BENCH_CHECK(st.left == 0 && rs.tasks_alive == 0);
    fut_drop(&w.base);
    fut_waker_drop(st.waiter);
    bench_report(a, t1 - t0);
    BENCH_CHECK(fut_rt_free(rt) == 0);
}

/* --- timeout_ready ----------------------------------------------------------------- */

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

/* The hand-made timeout combinator: the child's output, or -ETIMEDOUT once
 * the deadline passed first. */
struct timeout {
    fut base;
    struct ready_fut child;
    fut_sleep deadline;
};

static fut_status timeout_poll(fut *self, fut_cx *cx)
{
    struct timeout *t = (struct timeout *)self;
    if (fut_poll(&t->child.base, cx) == FUT_READY)
        return fut_ready(self, fut_out(&t->child.base));
    if (fut_poll(&t->deadline.base, cx) == FUT_READY)
        return fut_ready(self, -ETIMEDOUT);
    return FUT_PENDING;
}

static void timeout_drop(fut *self)
{
    struct timeout *t = (struct timeout *)self;
    fut_drop(&t->child.base);
    fut_drop(&t->deadline.base);
}

static const struct fut_vtable timeout_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_timeout",
    .poll = timeout_poll,
    .drop = timeout_drop,
};

static fut *timeout_init(struct timeout *t, double seconds)
{
    fut_init(&t->base, &timeout_vt);
    fut_init(&t->child.base, &ready_vt);
    fut_sleep_init(&t->deadline, seconds);
    return &t->base;
}

static long timeout_bad;

struct awaiter {
    fut base;
    long n;
    int hand;
};

static fut_status awaiter_poll(fut *self, fut_cx *cx)
{
    struct awaiter *w = (struct awaiter *)self;
    if (w->hand) {
        for (long i = 0; i < w->n; i++) {
            struct timeout t;
            fut *f = timeout_init(&t, 1.0);
            /* READY at its first poll: no await needed past it. */
            if (fut_poll(f, cx) != FUT_READY || fut_out(f) != 7)
                timeout_bad++;
            BENCH_CHECK(fut_drop(f) == 0);
        }
        return fut_ready(self, 0);
    }
    for (long i = 0; i < w->n; i++) {
        struct ready_fut r;
        fut_timeout t;
        fut_init(&r.base, &ready_vt);
        fut *f = fut_timeout_init(&t, &r.base, 1.0, 0);
        if (fut_poll(f, cx) != FUT_READY || fut_out(f) != 7)
            timeout_bad++;
        /* Its teardown is asynchronous; READY at once here. */
        BENCH_CHECK(fut_poll_drop(f, cx) == FUT_READY);
    }
    return fut_ready(self, 0);
}

static const struct fut_vtable awaiter_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_timeout_awaiter",
    .poll = awaiter_poll,
};

static void timeout_ready(const struct bench_args *a, int hand)
{
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    struct awaiter w = {.n = a->n, .hand = hand};
    fut_init(&w.base, &awaiter_vt);
    fut_join j;

    double t0 = bench_now();
    BENCH_CHECK(FUT_SPAWN(rt, &w, &j) == 0);
    BENCH_CHECK(fut_rt_block_on(rt, &j.base, NULL) == 0);
    double t1 = bench_now();

    BENCH_CHECK(fut_join_finished(&j) && timeout_bad == 0);
    fut_drop(&j.base);
    bench_report(a, t1 - t0);
    BENCH_CHECK(fut_rt_free(rt) == 0);
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (bench_mode_is(&a, "fifo") || bench_mode_is(&a, "lifo")) {
        arm_cancel(&a, bench_mode_is(&a, "lifo"));
        return 0;
    }
    if (bench_mode_is(&a, "fire")) {
        fire(&a);
        return 0;
    }
    if (bench_mode_is(&a, "timeout_ready") || bench_mode_is(&a, "timeout_hand")) {
        timeout_ready(&a, bench_mode_is(&a, "timeout_hand"));
        return 0;
    }
    double seconds, span = 0., bg_lo = 1000.0, bg_span = 1000.0;
    if (bench_mode_is(&a, "early"))
        seconds = 1.0;
    else if (bench_mode_is(&a, "mid"))
        seconds = 1000.0, span = 1000.0;
    else if (bench_mode_is(&a, "late"))
        seconds = 1e6;
    else if (bench_mode_is(&a, "spread"))
        seconds = bg_lo = 1.0, span = bg_span = 1000.0;
    else
        bench_usage(a.prog, MODES);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);

    /* The background stays armed after its task finished: its sleeps hold
     * the task's waker (a finished task ignores wakes). */
    fut_sleep *bg = calloc((size_t)(a.m ? a.m : 1), sizeof *bg);
    BENCH_CHECK(bg);
    struct bg_armer b = {.s = bg, .m = a.m, .lo = bg_lo, .span = bg_span};
    fut_init(&b.base, &bg_armer_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &b.base, NULL) == 0);

    struct driver d = {.n = a.n, .lo = seconds, .span = span, .seed = 0x2545F4914F6CDD1DULL};
    fut_init(&d.base, &driver_vt);
    fut_join j;

    double t0 = bench_now();
    BENCH_CHECK(FUT_SPAWN(rt, &d, &j) == 0);
    ssize_t out = -1;
    BENCH_CHECK(fut_rt_block_on(rt, &j.base, &out) == 0 && out == 0);
    double t1 = bench_now();

    fut_drop(&j.base);
    bench_report(&a, t1 - t0);
    for (long i = a.m; i-- > 0;)
        BENCH_CHECK(fut_drop(&bg[i].base) == 0);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    free(bg);
    return 0;
}
