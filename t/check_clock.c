/* SPDX-License-Identifier: MIT */
/* The runtime's timers and its manual clock (fut_rt_set_clock,
 * fut_rt_advance): firing order, ties in arming order, cancel and re-arm,
 * partial advances, the auto clock, a timeout and a drop budget firing at
 * exactly the advanced time, bad input. */
#include "helpers.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

/* --- local helpers ---------------------------------------------------------- */

/* What fired, in order, and when. */
struct log {
    int n;
    int id[1024];
    double at[1024];
};

static void log_add(struct log *l, int id, double at)
{
    ck_assert_int_lt(l->n, 1024);
    l->id[l->n] = id;
    l->at[l->n] = at;
    l->n++;
}

/* A task body: sleeps `d` seconds `times` times in a row (or until the
 * absolute time `until` when it is not NaN), logging its id and the
 * runtime's time at each wake. */
struct sleeper {
    fut base;
    fut_sleep s;
    double d, until;
    int id, armed, times;
    fut_rt *rt;
    struct log *log;
};

static fut_status sleeper_poll(fut *self, fut_cx *cx)
{
    struct sleeper *t = (struct sleeper *)self;
    for (;;) {
        if (!t->armed) {
            if (isnan(t->until))
                fut_sleep_init(&t->s, t->d);
            else
                fut_sleep_until_init(&t->s, t->until);
            t->armed = 1;
        }
        if (fut_poll(&t->s.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        ck_assert_int_eq(fut_out(&t->s.base), 0);
        ck_assert_int_eq(fut_drop(&t->s.base), 0);
        t->armed = 0;
        log_add(t->log, t->id, fut_rt_now(t->rt));
        if (--t->times == 0)
            return fut_ready(self, t->id);
    }
}

static void sleeper_drop(fut *self)
{
    struct sleeper *t = (struct sleeper *)self;
    if (t->armed)
        ck_assert_int_eq(fut_drop(&t->s.base), 0);
    t->armed = 0;
}

static const struct fut_vtable sleeper_vt = {.size = sizeof(struct fut_vtable),
                                             .name = "sleeper",
                                             .poll = sleeper_poll,
                                             .drop = sleeper_drop};

static void sleeper_init(struct sleeper *t, fut_rt *rt, double d, int id, struct log *log)
{
    memset(t, 0, sizeof *t);
    fut_init(&t->base, &sleeper_vt);
    t->rt = rt;
    t->d = d;
    t->until = NAN;
    t->id = id;
    t->times = 1;
    t->log = log;
}

static void spawn_sleeper(fut_rt *rt, double d, int id, struct log *log, fut_join *j)
{
    struct sleeper t;
    sleeper_init(&t, rt, d, id, log);
    ck_assert_int_eq(FUT_SPAWN(rt, &t, j), 0);
}

/* The fixture's runtime on the manual clock, ready tasks polled in FIFO
 * order whatever FUT_SEED says (the tests pin the order in which sleeps are
 * armed). */
static fut_rt *manual_rt(int mode)
{
    fut_rt *rt = th_rt;
    ck_assert_int_eq(fut_rt_set_seed(rt, 0), 0);
    ck_assert_int_eq(fut_rt_set_clock(rt, mode), 0);
    ck_assert_int_eq(fut_rt_clock(rt), mode);
    return rt;
}

/* No deadline is left armed: switching to the real clock is refused
 * while one is. */
static void assert_nothing_armed(fut_rt *rt)
{
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_REAL), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
}

/* A future that never completes on its own and whose teardown waits
 * until it is escalated, noting the runtime's time then. */
struct stubborn {
    fut base;
    fut_waker *w;
    double *escalated_at;
};

static fut_status stubborn_poll(fut *self, fut_cx *cx)
{
    struct stubborn *s = (struct stubborn *)self;
    if (!s->w)
        s->w = fut_waker_clone(fut_cx_waker(cx));
    return FUT_PENDING;
}

static fut_status stubborn_poll_drop(fut *self, fut_cx *cx)
{
    struct stubborn *s = (struct stubborn *)self;
    fut_waker_drop(s->w);
    s->w = NULL;
    if (fut_cx_escalated(cx)) {
        *s->escalated_at = fut_rt_now(fut_cx_rt(cx));
        return FUT_READY;
    }
    s->w = fut_waker_clone(fut_cx_waker(cx));
    return FUT_PENDING;
}

static const struct fut_vtable stubborn_vt = {.size = sizeof(struct fut_vtable),
                                              .name = "stubborn",
                                              .poll = stubborn_poll,
                                              .poll_drop = stubborn_poll_drop};

/* --- order ------------------------------------------------------------------ */

/* Timers fire in deadline order, each at exactly its deadline, and
 * fut_rt_advance() returns with the time at now + seconds. */
START_TEST(fires_in_deadline_order)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    struct log log = {0};
    const double ds[] = {3.0, 1.0, 2.5, 0.5, 2.0};
    fut_join j[5];
    for (int i = 0; i < 5; i++)
        spawn_sleeper(rt, ds[i], i, &log, &j[i]);
    double t0 = fut_rt_now(rt);
    ck_assert_int_eq(fut_rt_advance(rt, 10.0), 0);
    ck_assert(fut_rt_now(rt) == t0 + 10.0);
    const int want[] = {3, 1, 4, 2, 0};
    ck_assert_int_eq(log.n, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(log.id[i], want[i]);
        ck_assert_msg(log.at[i] == t0 + ds[want[i]], "sleep %d woke at +%.9f, not +%.9f", want[i],
                      log.at[i] - t0, ds[want[i]]);
    }
    for (int i = 0; i < 5; i++) {
        ck_assert(fut_join_finished(&j[i]));
        ck_assert_int_eq(th_block(rt, &j[i].base), i);
        fut_drop(&j[i].base);
    }
    assert_nothing_armed(rt);
}
END_TEST

/* Equal deadlines fire in the order they were armed, not in the order of
 * their durations or of where they sit in the heap: B is armed 1 s after
 * A with 1 s less to go; C and D are absolute, armed later still. */
START_TEST(ties_fire_in_arming_order)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    struct log log = {0};
    double t0 = fut_rt_now(rt);
    fut_join j[6];
    spawn_sleeper(rt, 2.0, 0, &log, &j[0]);
    ck_assert_int_eq(fut_rt_advance(rt, 0.5), 0); /* armed at +0 */
    spawn_sleeper(rt, 1.5, 1, &log, &j[1]);
    ck_assert_int_eq(fut_rt_advance(rt, 0.5), 0); /* armed at +0.5 */
    struct sleeper c;
    sleeper_init(&c, rt, 0, 2, &log);
    c.until = t0 + 2.0;
    ck_assert_int_eq(FUT_SPAWN(rt, &c, &j[2]), 0);
    spawn_sleeper(rt, 1.0, 3, &log, &j[3]);
    /* Earlier ones armed last must still go first. */
    spawn_sleeper(rt, 0.75, 4, &log, &j[4]);
    spawn_sleeper(rt, 0.75, 5, &log, &j[5]);
    ck_assert_int_eq(fut_rt_advance(rt, 0), 0); /* arms them, fires nothing */
    ck_assert_int_eq(log.n, 0);
    ck_assert_int_eq(fut_rt_advance(rt, 1.0), 0);
    const int want[] = {4, 5, 0, 1, 2, 3};
    ck_assert_int_eq(log.n, 6);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(log.id[i], want[i]);
        ck_assert(log.at[i] == t0 + (i < 2 ? 1.75 : 2.0));
    }
    for (int i = 0; i < 6; i++)
        fut_drop(&j[i].base);
    assert_nothing_armed(rt);
}
END_TEST

/* Advancing by parts: nothing fires before its deadline, each fires at
 * the advance that reaches it, at exactly its deadline. */
START_TEST(advance_by_parts)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    struct log log = {0};
    double t0 = fut_rt_now(rt);
    fut_join ja, jb;
    spawn_sleeper(rt, 1.0, 1, &log, &ja);
    spawn_sleeper(rt, 1.125, 2, &log, &jb);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fut_rt_advance(rt, 0.25), 0);
        ck_assert_int_eq(log.n, 0);
        ck_assert(!fut_join_finished(&ja));
    }
    ck_assert(fut_rt_now(rt) == t0 + 0.75);
    /* Real time passing does not move the manual clock. */
    th_pause_for(0.02);
    fut_yield y;
    th_block(rt, fut_yield_init(&y));
    fut_drop(&y.base);
    ck_assert(fut_rt_now(rt) == t0 + 0.75);
    ck_assert_int_eq(log.n, 0);
    ck_assert_int_eq(fut_rt_advance(rt, 0.25), 0);
    ck_assert_int_eq(log.n, 1);
    ck_assert_int_eq(log.id[0], 1);
    ck_assert(log.at[0] == t0 + 1.0);
    ck_assert(fut_join_finished(&ja));
    ck_assert(!fut_join_finished(&jb));
    ck_assert_int_eq(fut_rt_advance(rt, 0.0625), 0);
    ck_assert_int_eq(log.n, 1);
    ck_assert_int_eq(fut_rt_advance(rt, 0.0625), 0);
    ck_assert_int_eq(log.n, 2);
    ck_assert(log.at[1] == t0 + 1.125);
    fut_drop(&ja.base);
    fut_drop(&jb.base);
    assert_nothing_armed(rt);
}
END_TEST

/* A task woken by a deadline runs before the clock moves on: the sleep it
 * arms then counts from that deadline and fires in the same advance. */
START_TEST(advance_runs_woken_tasks_in_between)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    struct log log = {0};
    double t0 = fut_rt_now(rt);
    struct sleeper t;
    sleeper_init(&t, rt, 1.0, 7, &log);
    t.times = 3;
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &t, &j), 0);
    struct sleeper u;
    sleeper_init(&u, rt, 2.5, 8, &log);
    fut_join ju;
    ck_assert_int_eq(FUT_SPAWN(rt, &u, &ju), 0);
    ck_assert_int_eq(fut_rt_advance(rt, 2.75), 0);
    ck_assert_int_eq(log.n, 3);
    ck_assert_int_eq(log.id[0], 7);
    ck_assert(log.at[0] == t0 + 1.0);
    ck_assert_int_eq(log.id[1], 7);
    ck_assert(log.at[1] == t0 + 2.0);
    ck_assert_int_eq(log.id[2], 8);
    ck_assert(log.at[2] == t0 + 2.5);
    ck_assert(fut_rt_now(rt) == t0 + 2.75);
    ck_assert(!fut_join_finished(&j));
    ck_assert_int_eq(fut_rt_advance(rt, 0.25), 0);
    ck_assert_int_eq(log.n, 4);
    ck_assert(log.at[3] == t0 + 3.0);
    ck_assert(fut_join_finished(&j));
    fut_drop(&j.base);
    fut_drop(&ju.base);
    assert_nothing_armed(rt);
}
END_TEST

/* --- cancel and re-arm -------------------------------------------------------- */

/* A cancelled sleep never fires; its neighbours still do, in order. */
START_TEST(cancelled_timer_never_fires)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    struct log log = {0};
    fut_join j[4];
    for (int i = 0; i < 4; i++)
        spawn_sleeper(rt, 1.0 + i, i, &log, &j[i]);
    ck_assert_int_eq(fut_rt_advance(rt, 0), 0);
    ck_assert_int_eq(fut_join_cancel(&j[0]), 0); /* the earliest: the heap's root */
    ck_assert_int_eq(fut_join_cancel(&j[2]), 0); /* one inside */
    ck_assert_int_eq(fut_rt_advance(rt, 10.0), 0);
    ck_assert_int_eq(log.n, 2);
    ck_assert_int_eq(log.id[0], 1);
    ck_assert_int_eq(log.id[1], 3);
    ck_assert_int_eq(th_block(rt, &j[0].base), -ECANCELED);
    ck_assert_int_eq(th_block(rt, &j[2].base), -ECANCELED);
    for (int i = 0; i < 4; i++)
        fut_drop(&j[i].base);
    assert_nothing_armed(rt);
}
END_TEST

/* The same sleep struct, dropped and armed again for a shorter time, fires
 * at its new deadline only; the runtime's sleeps re-armed in place. */
START_TEST(rearmed_timer_fires_at_its_new_deadline)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    double t0 = fut_rt_now(rt);
    fut_sleep s;
    ssize_t out = -1;
    ck_assert_int_eq(th_poll_once(rt, fut_sleep_init(&s, 5.0), &out), FUT_PENDING);
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_REAL), -EBUSY);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_poll_once(rt, fut_sleep_init(&s, 2.0), &out), FUT_PENDING);
    ck_assert_int_eq(fut_rt_advance(rt, 1.75), 0);
    ck_assert_int_eq(th_poll_once(rt, &s.base, &out), FUT_PENDING);
    ck_assert_int_eq(fut_rt_advance(rt, 0.25), 0);
    ck_assert_int_eq(th_poll_once(rt, &s.base, &out), FUT_READY);
    ck_assert_int_eq(out, 0);
    ck_assert(fut_rt_now(rt) == t0 + 2.0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    /* The first deadline (+5) was cancelled, not left in the heap. */
    assert_nothing_armed(rt);
}
END_TEST

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Many timers with many ties, cancelled at random (roots, leaves, nodes
 * with subtrees) between random partial advances: after each advance,
 * exactly the live ones due have fired, each at its deadline, in
 * (deadline, arming) order. */
START_TEST(random_arm_cancel_advance)
{
    enum { N = 600 };
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    static struct log log;
    memset(&log, 0, sizeof log);
    static fut_join j[N];
    double d[N];
    int cancelled[N] = {0};
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    double t0 = fut_rt_now(rt);
    for (int i = 0; i < N; i++) {
        d[i] = (double)(rng_next(&x) % 64) * 0.25; /* 0 .. 15.75: ties, and some due at once */
        spawn_sleeper(rt, d[i], i, &log, &j[i]);
    }
    ck_assert_int_eq(fut_rt_advance(rt, 0), 0);
    double elapsed = 0;
    while (elapsed < 17.0) {
        for (int k = 0; k < 20; k++) {
            int i = (int)(rng_next(&x) % N);
            if (!fut_join_finished(&j[i]) && !cancelled[i]) {
                ck_assert_int_eq(fut_join_cancel(&j[i]), 0);
                cancelled[i] = 1;
            }
        }
        double step = (double)(rng_next(&x) % 9) * 0.125;
        ck_assert_int_eq(fut_rt_advance(rt, step), 0);
        elapsed += step;
        ck_assert(fut_rt_now(rt) == t0 + elapsed);
        int due = 0;
        for (int i = 0; i < N; i++) {
            int fired = fut_join_finished(&j[i]) && !cancelled[i];
            ck_assert_msg(fired == (!cancelled[i] && d[i] <= elapsed),
                          "timer %d (+%.3f) fired=%d at +%.3f", i, d[i], fired, elapsed);
            due += fired;
        }
        ck_assert_int_eq(log.n, due);
    }
    for (int k = 1; k < log.n; k++) {
        int a = log.id[k - 1], b = log.id[k];
        ck_assert_msg(d[a] < d[b] || (d[a] == d[b] && a < b), "%d (+%.2f) fired before %d (+%.2f)",
                      a, d[a], b, d[b]);
    }
    for (int k = 0; k < log.n; k++)
        ck_assert(log.at[k] == t0 + d[log.id[k]]);
    for (int i = 0; i < N; i++) {
        ck_assert(fut_join_finished(&j[i]));
        fut_drop(&j[i].base);
    }
    assert_nothing_armed(rt);
}
END_TEST

/* --- from inside a task ------------------------------------------------------- */

struct advancer {
    fut base;
    fut_rt *rt;
    fut_join *other;
    int *other_done_inside;
    int *logged_inside;
    struct log *log;
};

static fut_status advancer_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    struct advancer *a = (struct advancer *)self;
    ck_assert_int_eq(fut_rt_advance(a->rt, 5.0), 0);
    *a->other_done_inside = fut_join_finished(a->other);
    *a->logged_inside = a->log->n;
    return fut_ready(self, 0);
}

static const struct fut_vtable advancer_vt = {
    .size = sizeof(struct fut_vtable), .name = "advancer", .poll = advancer_poll};

/* fut_rt_advance() from a task's poll: the other tasks it wakes run
 * re-entrantly before it returns. */
START_TEST(advance_from_inside_a_task)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    struct log log = {0};
    double t0 = fut_rt_now(rt);
    fut_join js;
    spawn_sleeper(rt, 2.0, 1, &log, &js);
    ck_assert_int_eq(fut_rt_advance(rt, 0), 0); /* the sleeper arms */
    int other_done_inside = 0, logged_inside = 0;
    struct advancer a = {.rt = rt,
                         .other = &js,
                         .other_done_inside = &other_done_inside,
                         .logged_inside = &logged_inside,
                         .log = &log};
    fut_init(&a.base, &advancer_vt);
    fut_join ja;
    ck_assert_int_eq(FUT_SPAWN(rt, &a, &ja), 0);
    ck_assert_int_eq(th_block(rt, &ja.base), 0);
    /* The sleeper ran, at its deadline, before the advance returned. */
    ck_assert_int_eq(other_done_inside, 1);
    ck_assert_int_eq(logged_inside, 1);
    ck_assert_int_eq(log.n, 1);
    ck_assert(log.at[0] == t0 + 2.0);
    ck_assert(fut_rt_now(rt) == t0 + 5.0);
    fut_drop(&ja.base);
    fut_drop(&js.base);
    assert_nothing_armed(rt);
}
END_TEST

/* --- auto ---------------------------------------------------------------------- */

/* fut_rt_block_on() of an hour's sleep returns at once, an hour later on
 * the runtime's clock. */
START_TEST(auto_block_on_an_hour)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_AUTO);
    double t0 = fut_rt_now(rt), m0 = th_mono();
    fut_sleep s;
    ck_assert_int_eq(th_block(rt, fut_sleep_init(&s, 3600.0)), 0);
    fut_drop(&s.base);
    ck_assert(fut_rt_now(rt) == t0 + 3600.0);
    ck_assert_msg(th_mono() - m0 < 2.0, "took %.3f s of real time", th_mono() - m0);
}
END_TEST

/* Tasks sleeping in the background, joined from plain code: the clock
 * jumps from deadline to deadline, firing them in order, each exactly. */
START_TEST(auto_jumps_deadline_to_deadline)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_AUTO);
    struct log log = {0};
    double t0 = fut_rt_now(rt);
    fut_join j[3];
    spawn_sleeper(rt, 30.0, 0, &log, &j[0]);
    spawn_sleeper(rt, 10.0, 1, &log, &j[1]);
    spawn_sleeper(rt, 20.0, 2, &log, &j[2]);
    ck_assert_int_eq(th_block(rt, &j[0].base), 0);
    ck_assert_int_eq(log.n, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(log.id[i], (i + 1) % 3);
        ck_assert(log.at[i] == t0 + 10.0 * (i + 1));
    }
    ck_assert(fut_rt_now(rt) == t0 + 30.0);
    for (int i = 0; i < 3; i++)
        fut_drop(&j[i].base);
    /* Auto and manual are the same clock: switching keeps it. */
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_MANUAL), 0);
    ck_assert(fut_rt_now(rt) == t0 + 30.0);
    assert_nothing_armed(rt);
}
END_TEST

/* I/O ready when the loop looks wins over a deadline: the auto clock jumps
 * only when nothing else happened. */
START_TEST(auto_does_not_jump_past_ready_io)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_AUTO);
    double t0 = fut_rt_now(rt);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    ck_assert_int_eq(write(p[1], "x", 1), 1);
    fut_io io;
    fut_timeout t;
    fut_timeout_init(&t, fut_io_readable_init(&io, p[0]), 10.0, 0);
    ck_assert_int_eq(th_block(rt, &t.base), FUT_READABLE);
    fut_drop(&t.base);
    ck_assert(fut_rt_now(rt) == t0);
    /* Nothing to read: the deadline fires, at once and exactly. */
    char c;
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    fut_timeout_init(&t, fut_io_readable_init(&io, p[0]), 10.0, 0);
    ck_assert_int_eq(th_block(rt, &t.base), -ETIMEDOUT);
    fut_drop(&t.base);
    ck_assert(fut_rt_now(rt) == t0 + 10.0);
    close(p[0]);
    close(p[1]);
}
END_TEST

/* --- deadlines of the library ------------------------------------------------ */

struct timed {
    fut base;
    fut_timeout t;
    fut_sleep inner;
    int started;
    fut_rt *rt;
    double done_at;
};

static fut_status timed_poll(fut *self, fut_cx *cx)
{
    struct timed *w = (struct timed *)self;
    if (!w->started) {
        fut_timeout_init(&w->t, fut_sleep_init(&w->inner, 100.0), 5.0, 0);
        w->started = 1;
    }
    if (fut_poll(&w->t.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    w->done_at = fut_rt_now(w->rt);
    return fut_ready(self, fut_out(&w->t.base));
}

static fut_status timed_poll_drop(fut *self, fut_cx *cx)
{
    struct timed *w = (struct timed *)self;
    return w->started ? fut_poll_drop(&w->t.base, cx) : FUT_READY;
}

static const struct fut_vtable timed_vt = {.size = sizeof(struct fut_vtable),
                                           .name = "timed",
                                           .poll = timed_poll,
                                           .poll_drop = timed_poll_drop};

/* fut_timeout's deadline fires at exactly the advanced time. */
START_TEST(timeout_fires_exactly)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    double t0 = fut_rt_now(rt);
    struct timed w = {.rt = rt};
    fut_init(&w.base, &timed_vt);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &w, &j), 0);
    ck_assert_int_eq(fut_rt_advance(rt, 4.75), 0);
    ck_assert(!fut_join_finished(&j));
    ck_assert_int_eq(fut_rt_advance(rt, 0.25), 0);
    ck_assert(fut_join_finished(&j));
    ck_assert_int_eq(th_block(rt, &j.base), -ETIMEDOUT);
    fut_drop(&j.base);
    ck_assert(fut_rt_now(rt) == t0 + 5.0);
    /* The inner 100 s sleep went with the timeout. */
    assert_nothing_armed(rt);
}
END_TEST

/* A teardown past its drop budget escalates at exactly the budget's end,
 * counted from when its poll_drop went PENDING. */
START_TEST(drop_budget_escalates_exactly)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    ck_assert_int_eq(fut_rt_set_drop_budget(rt, 2.0), 0);
    double escalated_at = -1;
    struct stubborn s = {.escalated_at = &escalated_at};
    fut_init(&s.base, &stubborn_vt);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &j), 0);
    ck_assert_int_eq(fut_rt_advance(rt, 0.5), 0); /* polled: parked */
    double t0 = fut_rt_now(rt);
    ck_assert_int_eq(fut_join_cancel(&j), 0);
    ck_assert_int_eq(fut_rt_advance(rt, 0), 0); /* poll_drop PENDING: the budget starts */
    ck_assert_uint_eq(th_stats(rt).tasks_tearing_down, 1);
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_REAL), -EBUSY);
    ck_assert_int_eq(fut_rt_advance(rt, 1.75), 0);
    ck_assert(escalated_at < 0);
    ck_assert_uint_eq(th_stats(rt).escalations, 0);
    ck_assert_int_eq(fut_rt_advance(rt, 0.25), 0);
    ck_assert_uint_eq(th_stats(rt).escalations, 1);
    ck_assert_msg(escalated_at == t0 + 2.0, "escalated at +%.9f", escalated_at - t0);
    ck_assert(fut_join_finished(&j));
    ck_assert_int_eq(th_block(rt, &j.base), -ECANCELED);
    fut_drop(&j.base);
    assert_nothing_armed(rt);
}
END_TEST

/* A deadline already reached when it is armed (a zero fd timeout) fires at
 * the loop's next iteration, without an advance. */
START_TEST(zero_timeout_fires_without_advance)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    double t0 = fut_rt_now(rt);
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    fut_io io;
    fut_io_readable_init(&io, p[0]);
    ck_assert_int_eq(fut_io_set_timeout(&io, 0), 0);
    ck_assert_int_eq(th_block(rt, &io.base), -ETIMEDOUT);
    fut_drop(&io.base);
    ck_assert(fut_rt_now(rt) == t0);
    close(p[0]);
    close(p[1]);
    assert_nothing_armed(rt);
}
END_TEST

/* Back on the real clock, time and sleeps are real again. */
START_TEST(back_to_the_real_clock)
{
    fut_rt *rt = manual_rt(FUT_CLOCK_MANUAL);
    ck_assert_int_eq(fut_rt_advance(rt, 1e6), 0);
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_REAL), 0);
    ck_assert_int_eq(fut_rt_clock(rt), FUT_CLOCK_REAL);
    double m0 = th_mono();
    fut_sleep s;
    ck_assert_int_eq(th_block(rt, fut_sleep_init(&s, 0.02)), 0);
    fut_drop(&s.base);
    ck_assert_msg(th_mono() - m0 >= 0.02 - 1e-4, "a real 20 ms sleep took %.4f s", th_mono() - m0);
    ck_assert_int_eq(fut_rt_advance(rt, 1.0), -EINVAL);
}
END_TEST

/* --- bad input ------------------------------------------------------------------ */

static void *other_thread(void *arg)
{
    fut_rt *rt = arg;
    static int r[2];
    r[0] = fut_rt_set_clock(rt, FUT_CLOCK_AUTO);
    r[1] = fut_rt_advance(rt, 1.0);
    return r;
}

START_TEST(bad_input)
{
    fut_rt *rt = th_rt;
    ck_assert_int_eq(fut_rt_clock(rt), FUT_CLOCK_REAL);
    ck_assert_int_eq(fut_rt_set_clock(NULL, FUT_CLOCK_MANUAL), -EINVAL);
    ck_assert_int_eq(fut_rt_set_clock(rt, 3), -EINVAL);
    ck_assert_int_eq(fut_rt_set_clock(rt, -1), -EINVAL);
    ck_assert_int_eq(fut_rt_clock(NULL), -EINVAL);
    ck_assert_int_eq(fut_rt_advance(NULL, 1.0), -EINVAL);
    ck_assert_int_eq(fut_rt_advance(rt, 1.0), -EINVAL); /* the real clock */
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_REAL), 0);
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_MANUAL), 0);
    double t0 = fut_rt_now(rt);
    ck_assert_int_eq(fut_rt_advance(rt, NAN), -EINVAL);
    ck_assert_int_eq(fut_rt_advance(rt, -1.0), -EINVAL);
    ck_assert_int_eq(fut_rt_advance(rt, -0.0), 0);
    ck_assert_int_eq(fut_rt_advance(rt, INFINITY), -EINVAL);
    ck_assert(fut_rt_now(rt) == t0);
    pthread_t th;
    void *res;
    ck_assert_int_eq(pthread_create(&th, NULL, other_thread, rt), 0);
    ck_assert_int_eq(pthread_join(th, &res), 0);
    ck_assert_int_eq(((int *)res)[0], -EPERM);
    ck_assert_int_eq(((int *)res)[1], -EPERM);
    ck_assert_int_eq(fut_rt_clock(rt), FUT_CLOCK_MANUAL);
    /* A sleep armed: not back to real, but manual <-> auto is fine. */
    fut_sleep s;
    ck_assert_int_eq(th_poll_once(rt, fut_sleep_init(&s, 1.0), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_REAL), -EBUSY);
    ck_assert_int_eq(fut_rt_clock(rt), FUT_CLOCK_MANUAL);
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_AUTO), 0);
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_MANUAL), 0);
    /* A NaN sleep is still -EINVAL under the manual clock. */
    fut_sleep bad;
    ck_assert_int_eq(th_block(rt, fut_sleep_init(&bad, NAN)), -EINVAL);
    fut_drop(&bad.base);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_REAL), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("clock");
    TCase *tc = th_rt_tcase(s, "order", 30);
    tcase_add_test(tc, fires_in_deadline_order);
    tcase_add_test(tc, ties_fire_in_arming_order);
    tcase_add_test(tc, advance_by_parts);
    tcase_add_test(tc, advance_runs_woken_tasks_in_between);

    tc = th_rt_tcase(s, "cancel", 60);
    tcase_add_test(tc, cancelled_timer_never_fires);
    tcase_add_test(tc, rearmed_timer_fires_at_its_new_deadline);
    tcase_add_test(tc, random_arm_cancel_advance);

    tc = th_rt_tcase(s, "inside", 30);
    tcase_add_test(tc, advance_from_inside_a_task);

    tc = th_rt_tcase(s, "auto", 30);
    tcase_add_test(tc, auto_block_on_an_hour);
    tcase_add_test(tc, auto_jumps_deadline_to_deadline);
    tcase_add_test(tc, auto_does_not_jump_past_ready_io);

    tc = th_rt_tcase(s, "deadlines", 30);
    tcase_add_test(tc, timeout_fires_exactly);
    tcase_add_test(tc, drop_budget_escalates_exactly);
    tcase_add_test(tc, zero_timeout_fires_without_advance);
    tcase_add_test(tc, back_to_the_real_clock);

    tc = th_rt_tcase(s, "input", 30);
    tcase_add_test(tc, bad_input);
    return th_run(s);
}
