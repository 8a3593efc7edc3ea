/* SPDX-License-Identifier: MIT */
/* B7, libfut: the drop paths, N futures each.
 *
 * Modes:
 *   sync             a future with only a `drop` slot, fut_drop(): the
 *                    synchronous path (one indirect call).
 *   pd_ready         only `poll_drop`, READY at its first call, fut_drop()
 *                    from plain C: the synchronous fallback, which polls
 *                    poll_drop on the probe waker of the thread's runtime
 *                    (no frame is claimed, no loop iteration is needed).
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
 * get the drop alone. ns/op is per future.
 *
 * Cancellation of parked tasks (N tasks spawned and polled once before
 * the clock starts; measured: fut_join_cancel of each, and awaiting the
 * join handles until each completed with -ECANCELED, the teardown done):
 *   timer            each task is a fut_sleep of 1e9 s: the teardown stops
 *                    its ev_timer.
 *   io               each task is a fut_io (readable) on its own fd of
 *                    a pipe nobody writes (dup'd: N descriptors of one
 *                    pipe): the teardown stops its ev_io (no syscall:
 *                    libev drops the kernel's interest lazily).
 *   join             each victim task is pending forever (it keeps its
 *                    waker); a second task per victim awaits the victim's
 *                    join handle. The victim is cancelled, its teardown
 *                    wakes the awaiting task, which observes -ECANCELED
 *                    and finishes; main awaits those. Two task polls and
 *                    two task completions per op.
 * ns/op is per cancel. Twin: b_drop_ev.c.
 *
 * Cancelling a scope among unrelated tasks (issue 13: its cost must not
 * grow with them):
 *   scope_cancel     M (default 100) tasks pending forever are spawned and
 *                    parked first, outside any scope. Measured: N rounds
 *                    of a scope with one child pending forever: spawn the
 *                    child, let it park, fut_scope_cancel, await the scope
 *                    (READY once the child's teardown is done), drop it.
 *                    Flat in M when a scope keeps its own children. ns/op
 *                    is per round. libfut only (the twin exits 3).
 */
#include <errno.h>

#include <fut.h>

#include "bench.h"

#define MODES "sync pd_ready pd_pending task_pd_ready task_pd_pending timer io join scope_cancel"

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
    ssize_t expect;
};

static fut_status join_all_poll(fut *self, fut_cx *cx)
{
    struct join_all *ja = (struct join_all *)self;
    while (ja->i < ja->n) {
        fut *h = &ja->j[ja->i].base;
        if (fut_poll(h, cx) == FUT_PENDING)
            return FUT_PENDING;
        if (fut_out(h) != ja->expect)
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
    struct join_all ja = {.j = j, .n = n, .expect = 7};
    fut_init(&ja.base, &join_all_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &ja.base, NULL) == 0);
    BENCH_CHECK(ja.bad == 0 && ja.i == n);
    for (long i = 0; i < n; i++)
        fut_drop(&j[i].base);
    free(j);
}

/* --- cancellation of parked tasks ---------------------------------------------- */

/* READY once the runtime made `polls` task polls. */
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

/* Runs the loop until every task spawned so far was polled once. */
static void park_all(fut_rt *rt)
{
    struct fut_rt_stats st;
    fut_rt_stats(rt, &st, sizeof st);
    struct polled p = {.rt = rt, .polls = st.tasks_spawned};
    fut_init(&p.base, &polled_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &p.base, NULL) == 0);
    fut_drop(&p.base);
}

/* Pending forever; keeps its task's waker like a future waiting on
 * something would. */
struct forever {
    fut base;
    fut_waker *w;
};

static fut_status forever_poll(fut *self, fut_cx *cx)
{
    struct forever *f = (struct forever *)self;
    if (!f->w)
        f->w = fut_waker_clone(fut_cx_waker(cx));
    (void)fut_cx_waker(cx);
    return FUT_PENDING;
}

static void forever_drop(fut *self)
{
    struct forever *f = (struct forever *)self;
    fut_waker_drop(f->w);
    f->w = NULL;
    released++;
}

static const struct fut_vtable forever_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_forever",
    .poll = forever_poll,
    .drop = forever_drop,
};

/* Awaits a victim's join handle (moved in before the first poll); tells
 * the canceller where the handle ended up. */
struct awaiter {
    fut base;
    fut_join **where;
    fut_join victim;
};

static fut_status awaiter_poll(fut *self, fut_cx *cx)
{
    struct awaiter *w = (struct awaiter *)self;
    if (w->where) {
        *w->where = &w->victim;
        w->where = NULL;
    }
    if (fut_poll(&w->victim.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    if (fut_out(&w->victim.base) == -ECANCELED)
        released++;
    return fut_ready(self, fut_out(&w->victim.base));
}

static void awaiter_drop(fut *self)
{
    fut_drop(&((struct awaiter *)self)->victim.base);
}

static const struct fut_vtable awaiter_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_join_awaiter",
    .poll = awaiter_poll,
    .drop = awaiter_drop,
};

/* Cancels every victim, then awaits the join handles in `j` (each
 * completing with -ECANCELED). Returns the seconds it took. */
static double cancel_all(fut_rt *rt, fut_join **victims, fut_join *j, long n)
{
    double t0 = bench_now();
    for (long i = 0; i < n; i++)
        BENCH_CHECK(fut_join_cancel(victims[i]) == 0);
    struct join_all ja = {.j = j, .n = n, .expect = -ECANCELED};
    fut_init(&ja.base, &join_all_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &ja.base, NULL) == 0);
    double t1 = bench_now();
    BENCH_CHECK(ja.bad == 0 && ja.i == n);
    fut_drop(&ja.base);
    return t1 - t0;
}

static double cancels(fut_rt *rt, long n, const char *mode)
{
    fut_join *j = calloc((size_t)n, sizeof *j);
    fut_join **victims = calloc((size_t)n, sizeof *victims);
    int *fds = NULL;
    int p[2] = {-1, -1};
    BENCH_CHECK(j && victims);
    if (strcmp(mode, "io") == 0) {
        bench_need_fds(n + 2);
        BENCH_CHECK(pipe(p) == 0);
        fds = calloc((size_t)n, sizeof *fds);
        BENCH_CHECK(fds);
    }
    for (long i = 0; i < n; i++) {
        if (strcmp(mode, "timer") == 0) {
            fut_sleep s;
            fut_sleep_init(&s, 1e9);
            BENCH_CHECK(FUT_SPAWN(rt, &s, &j[i]) == 0);
            victims[i] = &j[i];
        } else if (strcmp(mode, "io") == 0) {
            fds[i] = dup(p[0]);
            BENCH_CHECK(fds[i] >= 0);
            fut_io f;
            fut_io_readable_init(&f, fds[i]);
            BENCH_CHECK(FUT_SPAWN(rt, &f, &j[i]) == 0);
            victims[i] = &j[i];
        } else {
            struct forever f = {.w = NULL};
            fut_init(&f.base, &forever_vt);
            struct awaiter w = {.where = &victims[i]};
            fut_init(&w.base, &awaiter_vt);
            BENCH_CHECK(FUT_SPAWN(rt, &f, &w.victim) == 0);
            BENCH_CHECK(FUT_SPAWN(rt, &w, &j[i]) == 0);
        }
    }
    park_all(rt);
    for (long i = 0; i < n; i++)
        BENCH_CHECK(victims[i] && !fut_join_finished(victims[i]));
    if (fds) {
        /* A full loop iteration (a 1 ms sleep: fut_rt_block_on must let the
         * loop poll): libev hands the new fds to epoll then, before the clock starts. */
        fut_sleep z;
        fut_sleep_init(&z, 1e-3);
        BENCH_CHECK(fut_rt_block_on(rt, &z.base, NULL) == 0);
        fut_drop(&z.base);
    }

    double secs = cancel_all(rt, victims, j, n);

    for (long i = 0; i < n; i++)
        fut_drop(&j[i].base);
    if (fds) {
        for (long i = 0; i < n; i++)
            close(fds[i]);
        close(p[0]);
        close(p[1]);
        free(fds);
    }
    free(victims);
    free(j);
    return secs;
}

/* --- cancelling a scope among unrelated tasks ------------------------------------ */

/* The rounds, from a task: 0 spawn the child, yield (it parks); 1 cancel,
 * await the scope; 2 the scope is READY: drop it, next round. */
struct canceller {
    fut base;
    fut_rt *rt;
    long n, done;
    int step;
    fut_scope sc;
    fut_yield y;
};

static fut_status canceller_poll(fut *self, fut_cx *cx)
{
    struct canceller *c = (struct canceller *)self;
    for (;;) {
        if (c->step == 0) {
            if (c->done == c->n)
                return fut_ready(self, 0);
            fut_scope_init(&c->sc, c->rt, 0);
            struct forever f = {.w = NULL};
            fut_init(&f.base, &forever_vt);
            BENCH_CHECK(FUT_SCOPE_SPAWN(&c->sc, &f, NULL) == 0);
            fut_yield_init(&c->y);
            c->step = 1;
        }
        if (c->step == 1) {
            if (fut_poll(&c->y.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            fut_drop(&c->y.base);
            fut_scope_cancel(&c->sc);
            c->step = 2;
        }
        if (fut_poll(&c->sc.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        BENCH_CHECK(fut_out(&c->sc.base) == -ECANCELED);
        BENCH_CHECK(fut_drop(&c->sc.base) == 0);
        c->done++;
        c->step = 0;
    }
}

static const struct fut_vtable canceller_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_scope_canceller",
    .poll = canceller_poll,
};

static double scope_cancels(fut_rt *rt, long n, long others)
{
    for (long i = 0; i < others; i++) {
        struct forever f = {.w = NULL};
        fut_init(&f.base, &forever_vt);
        BENCH_CHECK(FUT_SPAWN(rt, &f, NULL) == 0);
    }
    park_all(rt);
    struct canceller c = {.rt = rt, .n = n};
    fut_init(&c.base, &canceller_vt);
    fut_join j;
    double t0 = bench_now();
    BENCH_CHECK(FUT_SPAWN(rt, &c, &j) == 0);
    ssize_t out = -1;
    BENCH_CHECK(fut_rt_block_on(rt, &j.base, &out) == 0 && out == 0);
    double t1 = bench_now();
    fut_drop(&j.base);
    BENCH_CHECK(released == n); /* each child's teardown; the others are alive */
    struct fut_rt_stats st;
    fut_rt_stats(rt, &st, sizeof st);
    BENCH_CHECK(st.tasks_alive == (uint64_t)others);
    return t1 - t0;
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);

    if (bench_mode_is(&a, "scope_cancel")) {
        double secs = scope_cancels(rt, a.n, a.m > 0 ? a.m : 100);
        bench_report(&a, secs);
        BENCH_CHECK(fut_rt_free(rt) == 0);
        return 0;
    }
    if (bench_mode_is(&a, "timer") || bench_mode_is(&a, "io") || bench_mode_is(&a, "join")) {
        double secs = cancels(rt, a.n, a.mode);
        /* join: each victim's drop and each awaiter's observation (the
         * other modes: every join handle gave -ECANCELED). */
        BENCH_CHECK(!bench_mode_is(&a, "join") || released == 2 * a.n);
        bench_report(&a, secs);
        BENCH_CHECK(fut_rt_free(rt) == 0);
        return 0;
    }

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
