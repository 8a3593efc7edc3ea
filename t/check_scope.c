/* SPDX-License-Identifier: MIT */
/* Structured concurrency (<fut/scope.h>): scopes, propagating
 * cancellation, voluntary cancellation through fut_cx, shielded and
 * budgeted teardown, teardown errors, the orphanage, shutdown. */
#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <math.h>
#include <string.h>

#define rt th_rt

/* A future whose teardown never finishes on its own: its poll_drop waits
 * on a long sleep until escalated. With `hard`, it has a sync drop, which
 * escalation calls instead. It records what its teardown saw. */
struct stubborn {
    fut base;
    fut_sleep wait;
    int waiting;
    int *drop_calls;     /* sync drop */
    int *escalated_seen; /* poll_drop with fut_cx_escalated() */
    int *cancelled_seen; /* poll_drop saw fut_cx_cancelled() (must not) */
    int report;          /* error to report from the teardown */
};

static fut_status stubborn_poll(fut *self, fut_cx *cx)
{
    struct stubborn *s = (struct stubborn *)self;
    if (!s->waiting) {
        fut_sleep_init(&s->wait, 1e9);
        s->waiting = 1;
    }
    return fut_poll(&s->wait.base, cx); /* pending forever */
}

static fut_status stubborn_poll_drop(fut *self, fut_cx *cx)
{
    struct stubborn *s = (struct stubborn *)self;
    if (fut_cx_cancelled(cx) && s->cancelled_seen)
        (*s->cancelled_seen)++;
    if (s->report) {
        fut_cx_report(cx, s->report);
        s->report = 0;
    }
    if (fut_cx_escalated(cx)) {
        if (s->escalated_seen)
            (*s->escalated_seen)++;
        if (s->waiting)
            fut_drop(&s->wait.base);
        s->waiting = 0;
        return FUT_READY;
    }
    if (s->waiting != 2) { /* swap the run wait (if any) for the teardown wait */
        if (s->waiting == 1)
            fut_drop(&s->wait.base);
        fut_sleep_init(&s->wait, 1e9);
        s->waiting = 2;
    }
    fut_status st = fut_poll(&s->wait.base, cx);
    ck_assert_int_eq(st, FUT_PENDING); /* shielded: no -ECANCELED here */
    return FUT_PENDING;
}

static void stubborn_drop(fut *self)
{
    struct stubborn *s = (struct stubborn *)self;
    if (s->drop_calls)
        (*s->drop_calls)++;
    if (s->waiting)
        fut_drop(&s->wait.base);
    s->waiting = 0;
}

static const struct fut_vtable stubborn_soft_vt = {sizeof(struct fut_vtable), "stubborn",
                                                   stubborn_poll, stubborn_poll_drop, NULL};
static const struct fut_vtable stubborn_hard_vt = {
    sizeof(struct fut_vtable), "stubborn_hard", stubborn_poll, stubborn_poll_drop, stubborn_drop};

static void stubborn_init(struct stubborn *s, int hard)
{
    memset(s, 0, sizeof *s);
    fut_init(&s->base, hard ? &stubborn_hard_vt : &stubborn_soft_vt);
}

/* A child that fails after `delay` with `err`. */
static void failing_init(struct th_slow *s, double delay, int err, int *dropped)
{
    th_slow_init(s, delay, err, 1, 0.001, NULL, NULL, dropped);
}

START_TEST(scope_waits_for_all_children)
{
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    int dropped = 0;
    struct th_slow k[3];
    for (int i = 0; i < 3; i++) {
        th_slow_init(&k[i], 0.005 * (i + 1), i, 2, 0.001, NULL, NULL, &dropped);
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k[i], NULL), 0);
    }
    ck_assert_int_eq(th_block(rt, &sc.base), 0);
    ck_assert_int_eq(dropped, 3);
    struct fut_scope_result r;
    fut_scope_result(&sc, &r);
    ck_assert_int_eq(r.alive, 0);
    ck_assert_int_eq(r.errors, 0);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

START_TEST(first_error_cancels_siblings)
{
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    int dropped = 0, sib_polls = 0;
    struct th_slow bad, sib[2];
    failing_init(&bad, 0.005, -EIO, &dropped);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &bad, NULL), 0);
    for (int i = 0; i < 2; i++) {
        th_slow_init(&sib[i], -1, 0, 3, 0.002, &sib_polls, NULL, &dropped);
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &sib[i], NULL), 0);
    }
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, &sc.base), -EIO);
    ck_assert(th_mono() - t0 < 5);
    ck_assert_int_eq(dropped, 3); /* the siblings were torn down */
    struct fut_scope_result r;
    fut_scope_result(&sc, &r);
    ck_assert_int_eq(r.first_error, -EIO);
    ck_assert_int_eq(r.errors, 1); /* the siblings' -ECANCELED is not an error */
    ck_assert_int_eq(fut_scope_spawn(&sc, &bad.base, sizeof bad, NULL), -ECANCELED);
    fut_drop(&sc.base);
}
END_TEST

START_TEST(keep_going_collects_errors)
{
    fut_scope sc;
    fut_scope_init(&sc, rt, FUT_SCOPE_KEEP_GOING);
    int dropped = 0;
    struct th_slow a, b, ok;
    failing_init(&a, 0.002, -EIO, &dropped);
    failing_init(&b, 0.004, -EPIPE, &dropped);
    th_slow_init(&ok, 0.02, 1, 1, 0.001, NULL, NULL, &dropped);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &a, NULL), 0);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &b, NULL), 0);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &ok, NULL), 0);
    ck_assert_int_eq(th_block(rt, &sc.base), -EIO);
    struct fut_scope_result r;
    fut_scope_result(&sc, &r);
    ck_assert_int_eq(r.errors, 2);
    ck_assert_int_eq(dropped, 3);
    fut_drop(&sc.base);
}
END_TEST

/* Dropping a scope cancels its children and waits for their async
 * drops; through the children, nested scopes go too. */
struct nester {
    fut base;
    fut_scope inner;
    struct th_slow grand[2];
    int *dropped;
    int started;
};

static fut_status nester_poll(fut *self, fut_cx *cx)
{
    struct nester *n = (struct nester *)self;
    if (!n->started) {
        fut_scope_init(&n->inner, fut_cx_rt(cx), 0);
        for (int i = 0; i < 2; i++) {
            th_slow_init(&n->grand[i], -1, 0, 2, 0.002, NULL, NULL, n->dropped);
            /* the task copies the grandchild: its th_slow counters are shared */
            ck_assert_int_eq(FUT_SCOPE_SPAWN(&n->inner, &n->grand[i], NULL), 0);
        }
        n->started = 1;
    }
    return fut_poll(&n->inner.base, cx);
}

static fut_status nester_poll_drop(fut *self, fut_cx *cx)
{
    struct nester *n = (struct nester *)self;
    if (!n->started)
        return FUT_READY;
    if (fut_poll_drop(&n->inner.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    (*n->dropped)++;
    return FUT_READY;
}

static const struct fut_vtable nester_vt = {sizeof(struct fut_vtable), "nester", nester_poll,
                                            nester_poll_drop, NULL};

START_TEST(cancel_propagates_through_nested_scopes)
{
    int dropped = 0;
    fut_scope outer;
    fut_scope_init(&outer, rt, 0);
    struct nester n[2];
    for (int i = 0; i < 2; i++) {
        memset(&n[i], 0, sizeof n[i]);
        fut_init(&n[i].base, &nester_vt);
        n[i].dropped = &dropped;
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&outer, &n[i], NULL), 0);
    }
    /* Let the grandchildren start, then drop the outer scope from sync
     * code: everything below is torn down before fut_drop returns. */
    ck_assert_int_eq(th_poll_once(rt, &outer.base, NULL), FUT_PENDING);
    fut_sleep s;
    th_block(rt, fut_sleep_init(&s, 0.01));
    fut_drop(&s.base);
    ck_assert_int_eq(dropped, 0);
    struct fut_rt_stats st = th_stats(rt);
    ck_assert_uint_eq(st.tasks_alive, 6);
    ck_assert_int_eq(fut_drop(&outer.base), 0);
    ck_assert_int_eq(dropped, 6); /* 4 grandchildren + 2 nesters */
    st = th_stats(rt);
    ck_assert_uint_eq(st.tasks_alive, 0);
}
END_TEST

/* Cancelling a scope cancels its own children and nobody else's: not a
 * sibling scope's, not the runtime's plain tasks. Children that finished
 * before (out of spawn order) have left its list of live children. */
START_TEST(cancel_reaches_own_children_only)
{
    fut_scope a, b;
    fut_scope_init(&a, rt, FUT_SCOPE_KEEP_GOING);
    fut_scope_init(&b, rt, 0);
    int dropped = 0, polls = 0;
    struct th_slow quick[2], slow_a[3], slow_b[2], plain;
    fut_join jq[2], ja[3], jb[2], jp;
    /* Two quick children of a finish first, out of spawn order. */
    for (int i = 0; i < 2; i++) {
        th_slow_init(&quick[i], 0.002 * (2 - i), 10 + i, 0, 0, NULL, NULL, &dropped);
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&a, &quick[i], &jq[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        th_slow_init(&slow_a[i], 30, 0, 1, 0.001, &polls, NULL, &dropped);
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&a, &slow_a[i], &ja[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        th_slow_init(&slow_b[i], 0.02, 20 + i, 0, 0, NULL, NULL, &dropped);
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&b, &slow_b[i], &jb[i]), 0);
    }
    th_slow_init(&plain, 0.02, 30, 0, 0, NULL, NULL, &dropped);
    ck_assert_int_eq(FUT_SPAWN(rt, &plain, &jp), 0);
    ck_assert_int_eq(th_block(rt, &jq[0].base), 10);
    ck_assert_int_eq(th_block(rt, &jq[1].base), 11);
    fut_scope_cancel(&a);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(th_block(rt, &ja[i].base), -ECANCELED);
    ck_assert_int_eq(th_block(rt, &a.base), -ECANCELED);
    /* b's children and the plain task ran to completion. */
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(th_block(rt, &jb[i].base), 20 + i);
    ck_assert_int_eq(th_block(rt, &jp.base), 30);
    ck_assert_int_eq(th_block(rt, &b.base), 0);
    ck_assert_int_eq(dropped, 8);
    for (int i = 0; i < 2; i++) {
        fut_drop(&jq[i].base);
        fut_drop(&jb[i].base);
    }
    for (int i = 0; i < 3; i++)
        fut_drop(&ja[i].base);
    fut_drop(&jp.base);
    fut_drop(&a.base);
    fut_drop(&b.base);
}
END_TEST

START_TEST(scope_timeout)
{
    /* The auto clock: the deadline fires at once, at exactly +0.02 (the
     * child's teardown then takes two 2 ms turns). */
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_AUTO), 0);
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(fut_scope_set_timeout(&sc, 0.02), 0);
    ck_assert_int_eq(fut_scope_set_timeout(&sc, NAN), -EINVAL);
    int dropped = 0;
    struct th_slow k;
    th_slow_init(&k, -1, 0, 2, 0.002, NULL, NULL, &dropped);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k, NULL), 0);
    double t0 = fut_rt_now(rt);
    ck_assert_int_eq(th_block(rt, &sc.base), -ETIMEDOUT);
    ck_assert_msg(fut_rt_now(rt) == t0 + 0.02 + 0.002 + 0.002, "done at +%.9f",
                  fut_rt_now(rt) - t0);
    ck_assert_int_eq(dropped, 1);
    fut_drop(&sc.base);
}
END_TEST

/* Cancelling a scope while its children are mid-teardown: they finish
 * their teardown once, and the scope completes. */
START_TEST(cancel_during_teardown)
{
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    int dropped = 0, steps = 0;
    struct th_slow k[2];
    for (int i = 0; i < 2; i++) {
        th_slow_init(&k[i], -1, 0, 4, 0.003, NULL, &steps, &dropped);
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k[i], NULL), 0);
    }
    ck_assert_int_eq(th_poll_once(rt, &sc.base, NULL), FUT_PENDING);
    fut_scope_cancel(&sc);
    fut_sleep s;
    th_block(rt, fut_sleep_init(&s, 0.004)); /* mid-teardown now */
    fut_drop(&s.base);
    ck_assert_int_lt(dropped, 2);
    fut_scope_cancel(&sc); /* again */
    ck_assert_int_eq(th_block(rt, &sc.base), -ECANCELED);
    ck_assert_int_eq(dropped, 2);
    ck_assert_int_eq(steps, 10); /* 5 steps each, none repeated */
    fut_drop(&sc.base);
}
END_TEST

/* The drop budget: a teardown still pending past it is escalated: the
 * sync drop runs exactly once, or poll_drop sees fut_cx_escalated(). */
START_TEST(budget_escalates_teardown)
{
    /* On the auto clock, so the escalation time is exact. */
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_AUTO), 0);
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(fut_scope_set_budget(&sc, 0.02), 0);
    ck_assert_int_eq(fut_scope_set_budget(&sc, -1), -EINVAL);
    int drop_calls = 0, escalated_seen = 0, cancelled_seen = 0;
    struct stubborn hard, soft;
    stubborn_init(&hard, 1);
    stubborn_init(&soft, 0);
    hard.drop_calls = soft.drop_calls = &drop_calls;
    hard.escalated_seen = soft.escalated_seen = &escalated_seen;
    hard.cancelled_seen = soft.cancelled_seen = &cancelled_seen;
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &hard, NULL), 0);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &soft, NULL), 0);
    ck_assert_int_eq(th_poll_once(rt, &sc.base, NULL), FUT_PENDING);
    double t0 = fut_rt_now(rt), m0 = th_mono();
    ck_assert_int_eq(fut_drop(&sc.base), 0); /* cancels, waits, escalates */
    ck_assert_msg(fut_rt_now(rt) == t0 + 0.02, "escalated at +%.9f", fut_rt_now(rt) - t0);
    ck_assert(th_mono() - m0 < 5);
    ck_assert_int_eq(drop_calls, 1);     /* the hard one: its sync drop */
    ck_assert_int_eq(escalated_seen, 1); /* the soft one: escalated poll_drop */
    ck_assert_int_eq(cancelled_seen, 0); /* teardowns are shielded */
    struct fut_scope_result r;
    fut_scope_result(&sc, &r);
    ck_assert_int_eq(r.escalations, 2);
    ck_assert_uint_eq(th_stats(rt).escalations, 2);
}
END_TEST

START_TEST(teardown_error_reaches_scope)
{
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(fut_scope_set_budget(&sc, 0.01), 0);
    int escalated_seen = 0;
    struct stubborn a, b;
    stubborn_init(&a, 0);
    stubborn_init(&b, 0);
    a.report = -EPIPE;
    b.report = -EIO;
    a.escalated_seen = b.escalated_seen = &escalated_seen;
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &a, NULL), 0);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &b, NULL), 0);
    ck_assert_int_eq(th_poll_once(rt, &sc.base, NULL), FUT_PENDING);
    fut_scope_cancel(&sc);
    ck_assert_int_eq(th_block(rt, &sc.base), -ECANCELED);
    struct fut_scope_result r;
    fut_scope_result(&sc, &r);
    ck_assert_int_eq(r.teardown_errors, 2);
    /* the first reported: the two teardowns run in the scheduler's order */
    ck_assert(r.teardown_error == -EPIPE || r.teardown_error == -EIO);
    ck_assert_uint_eq(th_stats(rt).teardown_errors, 2);
    fut_drop(&sc.base);
}
END_TEST

/* Voluntary cancellation: a task whose poll is on the stack (blocked in a
 * nested loop) is cancelled; its waits return -ECANCELED, the poll
 * unwinds through its error path, then the task tears down. */
struct blocker {
    int err, out;
    double took;
    int started;
};

static fut_status blocker_fn(struct th_fn *f, fut_cx *cx)
{
    struct blocker *b = f->ud;
    b->started = 1;
    fut_sleep s;
    double t0 = th_mono();
    ssize_t out = 0;
    b->err = fut_rt_nested_loop(fut_cx_rt(cx), fut_sleep_init(&s, 30), &out);
    b->out = (int)out;
    b->took = th_mono() - t0;
    ck_assert(fut_cx_cancelled(cx));
    fut_drop(&s.base);
    return fut_ready(&f->base, out);
}

struct canceller {
    fut_join *victim;
    const int *started; /* the victim's poll began */
};

static fut_status canceller_fn(struct th_fn *f, fut_cx *cx)
{
    struct canceller *c = f->ud;
    /* The victim may not have run yet (a seeded order): yield until it is
     * in its nested loop. */
    if (!*c->started && f->step < 100) {
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    ck_assert_int_eq(fut_join_cancel(c->victim), 0);
    return fut_ready(&f->base, 0);
}

START_TEST(cancellation_reaches_frozen_poll)
{
    struct blocker b = {0};
    struct th_fn victim, killer;
    th_fn_init(&victim, blocker_fn, &b);
    fut_join jv, jk;
    ck_assert_int_eq(FUT_SPAWN(rt, &victim, &jv), 0);
    struct canceller c = {&jv, &b.started};
    th_fn_init(&killer, canceller_fn, &c);
    ck_assert_int_eq(FUT_SPAWN(rt, &killer, &jk), 0);
    ck_assert_int_eq(th_block(rt, &jv.base), -ECANCELED);
    ck_assert_int_eq(b.err, 0);
    ck_assert_int_eq(b.out, -ECANCELED);
    ck_assert(b.took < 5);
    fut_drop(&jv.base);
    th_block(rt, &jk.base);
    fut_drop(&jk.base);
}
END_TEST

/* The orphanage: a future whose owner cannot await its teardown. */
static void orphan_release(fut *f, void *ud)
{
    (void)f;
    (*(int *)ud)++;
}

START_TEST(orphanage_drives_teardown)
{
    int dropped = 0, steps = 0, released = 0;
    struct th_slow s;
    th_slow_init(&s, -1, 0, 3, 0.002, NULL, &steps, &dropped);
    ck_assert_int_eq(fut_rt_adopt(rt, &s.base, orphan_release, &released), 0);
    ck_assert_int_eq(fut_rt_adopt(NULL, &s.base, NULL, NULL), -EINVAL);
    ck_assert_uint_eq(th_stats(rt).orphans_alive, 1);
    fut_sleep w;
    th_block(rt, fut_sleep_init(&w, 0.05));
    fut_drop(&w.base);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(released, 1);
    struct fut_rt_stats st = th_stats(rt);
    ck_assert_uint_eq(st.orphans, 1);
    ck_assert_uint_eq(st.orphans_alive, 0);
}
END_TEST

START_TEST(rt_free_drains_orphanage)
{
    int dropped = 0, released = 0, drop_calls = 0;
    struct th_slow s;
    th_slow_init(&s, -1, 0, 3, 0.002, NULL, NULL, &dropped);
    ck_assert_int_eq(fut_rt_adopt(rt, &s.base, orphan_release, &released), 0);
    /* An orphan that never finishes on its own is escalated at free. */
    struct stubborn st;
    stubborn_init(&st, 1);
    st.drop_calls = &drop_calls;
    ck_assert_int_eq(th_poll_once(rt, &st.base, NULL), FUT_PENDING);
    ck_assert_int_eq(fut_rt_adopt(rt, &st.base, orphan_release, &released), 0);
    ck_assert_int_eq(fut_rt_set_drop_budget(rt, 0.02), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(drop_calls, 1);
    ck_assert_int_eq(released, 2);
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
}
END_TEST

/* Shutdown: cancels everything, escalates past its budget, completes. */
START_TEST(shutdown_with_budget)
{
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_AUTO), 0);
    int drop_calls = 0, escalated_seen = 0, dropped = 0;
    struct stubborn a, b;
    stubborn_init(&a, 1);
    stubborn_init(&b, 0);
    a.drop_calls = &drop_calls;
    b.escalated_seen = &escalated_seen;
    ck_assert_int_eq(FUT_SPAWN(rt, &a, NULL), 0);
    ck_assert_int_eq(FUT_SPAWN(rt, &b, NULL), 0);
    struct th_slow polite;
    th_slow_init(&polite, -1, 0, 2, 0.002, NULL, NULL, &dropped);
    ck_assert_int_eq(FUT_SPAWN(rt, &polite, NULL), 0);
    fut_yield y;
    th_block(rt, fut_yield_init(&y));
    fut_drop(&y.base);
    fut_shutdown sd;
    double t0 = fut_rt_now(rt);
    ck_assert_int_eq(th_block(rt, fut_rt_shutdown(&sd, rt, 0.03)), 0);
    ck_assert_msg(fut_rt_now(rt) == t0 + 0.03, "done at +%.9f", fut_rt_now(rt) - t0);
    fut_drop(&sd.base);
    ck_assert_int_eq(drop_calls, 1);
    ck_assert_int_eq(escalated_seen, 1);
    ck_assert_int_eq(dropped, 1); /* the polite one finished on its own */
    ck_assert_uint_eq(th_stats(rt).tasks_alive, 0);
    ck_assert_uint_eq(th_stats(rt).escalations, 2);
    ck_assert_int_eq(FUT_SPAWN(rt, &polite, NULL), -ESHUTDOWN);
}
END_TEST

START_TEST(budget_bad_input)
{
    ck_assert_int_eq(fut_rt_set_drop_budget(NULL, 1), -EINVAL);
    ck_assert_int_eq(fut_rt_set_drop_budget(rt, NAN), -EINVAL);
    ck_assert_int_eq(fut_rt_set_drop_budget(rt, -1), -EINVAL);
    ck_assert_int_eq(fut_rt_set_drop_budget(rt, INFINITY), 0);
    ck_assert_int_eq(fut_scope_spawn(NULL, NULL, 0, NULL), -EINVAL);
}
END_TEST

/* A scope that takes no more children says so: regression for a spawn
 * into a dropped scope that returned 0 (the task then reported to a
 * scope nobody awaited). */
START_TEST(spawn_into_dropped_scope_fails)
{
    struct th_slow k;
    th_slow_init(&k, 0.001, 0, 1, 0.001, NULL, NULL, NULL);
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(fut_drop(&sc.base), 0); /* empty: not even cancelled */
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k, NULL), -ESHUTDOWN);

    int dropped = 0;
    th_slow_init(&k, -1, 0, 1, 0.001, NULL, NULL, &dropped);
    fut_scope_init(&sc, rt, FUT_SCOPE_KEEP_GOING);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k, NULL), 0);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k, NULL), -ESHUTDOWN);
    ck_assert_uint_eq(th_stats(rt).tasks_alive, 0);
}
END_TEST

START_TEST(spawn_into_cancelled_scope_fails)
{
    struct th_slow k;
    th_slow_init(&k, 0.001, 0, 1, 0.001, NULL, NULL, NULL);
    fut_scope sc;
    fut_scope_init(&sc, rt, FUT_SCOPE_KEEP_GOING);
    fut_scope_cancel(&sc);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k, NULL), -ECANCELED);
    ck_assert_int_eq(th_block(rt, &sc.base), -ECANCELED);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
    ck_assert_uint_eq(th_stats(rt).tasks_spawned, 0);
}
END_TEST

/* fut_scope_close: no new children, the old ones run to their end. */
START_TEST(closed_scope_refuses_keeps_children)
{
    int dropped = 0;
    struct th_slow k;
    th_slow_init(&k, 0.01, 7, 1, 0.001, NULL, NULL, &dropped);
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k, NULL), 0);
    fut_scope_close(&sc);
    fut_scope_close(&sc);
    fut_scope_close(NULL);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k, NULL), -ESHUTDOWN);
    ck_assert_int_eq(th_block(rt, &sc.base), 0);
    ck_assert_int_eq(dropped, 1); /* ran to its end, not cancelled */
    ck_assert_int_eq(fut_drop(&sc.base), 0);
    ck_assert_uint_eq(th_stats(rt).tasks_spawned, 1);
}
END_TEST

/* A completed scope takes no child: nothing would await it. */
START_TEST(completed_scope_refuses)
{
    struct th_slow k;
    th_slow_init(&k, 0.001, 0, 1, 0.001, NULL, NULL, NULL);
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(th_block(rt, &sc.base), 0);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k, NULL), -ESHUTDOWN);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
    ck_assert_str_ne(fut_strerror(-ESHUTDOWN), "unknown error");
}
END_TEST

/* fut_scope_next and fut_scope_spawn_wait polled under a cancelled
 * context while they would wait: -ECANCELED, the scope unchanged. */
START_TEST(next_and_spawn_wait_under_a_cancelled_context)
{
    fut_scope s;
    fut_scope_init(&s, rt, FUT_SCOPE_KEEP_GOING | FUT_SCOPE_COLLECT);
    ck_assert_int_eq(fut_scope_set_limit(&s, 1), 0);
    struct th_ticker t;
    int count = 0;
    th_ticker_init(&t, 0.01, 2, &count);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&s, &t, NULL), 0);
    fut_scope_next_op n;
    fut_scope_next(&n, &s);
    ck_assert_int_eq(th_run_cancelled(rt, &n.base, 0), -ECANCELED);
    fut_drop(&n.base);
    struct th_ticker t2;
    th_ticker_init(&t2, 0.01, 1, &count);
    fut_scope_spawn_op sp;
    fut_scope_spawn_wait(&sp, &s, &t2.base, sizeof t2, NULL, NULL);
    ck_assert_int_eq(th_run_cancelled(rt, &sp.base, 0), -ECANCELED);
    fut_drop(&sp.base);
    ck_assert_int_eq(th_block(rt, &s.base), 0);
    fut_drop(&s.base);
    ck_assert_int_eq(count, 2); /* the first child only */
}
END_TEST

/* An orphan's teardown is under the drop budget, like a task's: one that
 * never finishes on its own is escalated, not left until fut_rt_free. */
START_TEST(orphan_teardown_is_budgeted)
{
    ck_assert_int_eq(fut_rt_set_drop_budget(rt, 0.02), 0);
    int escalated = 0;
    struct stubborn st;
    stubborn_init(&st, 0);
    st.escalated_seen = &escalated;
    ck_assert_int_eq(fut_rt_adopt(rt, &st.base, NULL, NULL), 0);
    fut_sleep w;
    th_block(rt, fut_sleep_init(&w, 0.2));
    fut_drop(&w.base);
    ck_assert_int_eq(escalated, 1);
    struct fut_rt_stats sts = th_stats(rt);
    ck_assert_uint_eq(sts.orphans_alive, 0);
    ck_assert_uint_ge(sts.escalations, 1);
}
END_TEST

/* Two shutdowns pending at once (the second started from a callback
 * inside the first one's loop): both are woken when the last task ends. */
static int inner_done;

static void inner_shutdown_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    fut_shutdown sd2;
    ck_assert_int_eq(fut_rt_block_on(rt, fut_rt_shutdown(&sd2, rt, 1.0), NULL), 0);
    fut_drop(&sd2.base);
    inner_done = 1;
}

START_TEST(two_pending_shutdowns_both_complete)
{
    int dropped = 0;
    struct th_slow slow;
    th_slow_init(&slow, -1, 0, 2, 0.02, NULL, NULL, &dropped);
    ck_assert_int_eq(FUT_SPAWN(rt, &slow, NULL), 0);
    fut_yield y;
    th_block(rt, fut_yield_init(&y));
    fut_drop(&y.base);
    ev_timer t;
    ev_timer_init(&t, inner_shutdown_cb, 0.005, 0.);
    ev_timer_start(fut_rt_loop(rt), &t);
    inner_done = 0;
    fut_shutdown sd1;
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, fut_rt_shutdown(&sd1, rt, 1.0)), 0);
    ck_assert(th_mono() - t0 < 2);
    fut_drop(&sd1.base);
    ck_assert_int_eq(inner_done, 1);
    ck_assert_int_eq(dropped, 1);
}
END_TEST

/* Settings refused: NULL, NaN and negative times, a timeout once the
 * scope's deadline runs; NULL is a no-op for cancel and close. */
START_TEST(scope_settings_bad_input)
{
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(fut_scope_set_timeout(NULL, 1), -EINVAL);
    ck_assert_int_eq(fut_scope_set_timeout(&sc, NAN), -EINVAL);
    ck_assert_int_eq(fut_scope_set_timeout(&sc, -1), -EINVAL);
    ck_assert_int_eq(fut_scope_set_budget(NULL, 1), -EINVAL);
    ck_assert_int_eq(fut_scope_set_budget(&sc, NAN), -EINVAL);
    ck_assert_int_eq(fut_scope_set_budget(&sc, -1), -EINVAL);
    ck_assert_int_eq(fut_scope_set_budget(&sc, 0), 0);
    ck_assert_int_eq(fut_scope_set_timeout(&sc, 10), 0);
    struct th_slow k;
    int dropped = 0;
    th_slow_init(&k, -1, 0, 0, 0, NULL, NULL, &dropped);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k, NULL), 0);
    ck_assert_int_eq(th_poll_once(rt, &sc.base, NULL), FUT_PENDING); /* the deadline runs */
    ck_assert_int_eq(fut_scope_set_timeout(&sc, 1), -EINVAL);
    fut_scope_cancel(NULL);
    fut_scope_close(NULL);
    ck_assert_int_eq(dropped, 0);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
    ck_assert_int_eq(dropped, 1);

    fut_scope_spawn_op op;
    ck_assert_int_eq(th_block(rt, fut_scope_spawn_wait(&op, NULL, &k.base, sizeof k, NULL, NULL)),
                     -EINVAL);
    fut_drop(&op.base);
}
END_TEST

/* A scope with a timeout polled under a cancelled context: its deadline
 * reports the cancellation, which the scope passes on as -ECANCELED (not
 * -ETIMEDOUT), cancelling its children. */
START_TEST(timeout_scope_under_a_cancelled_context)
{
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(fut_scope_set_timeout(&sc, 100), 0);
    struct th_slow k;
    int dropped = 0;
    th_slow_init(&k, -1, 0, 0, 0, NULL, NULL, &dropped);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &k, NULL), 0);
    double t0 = th_mono();
    ck_assert_int_eq(th_run_cancelled(rt, &sc.base, 0), -ECANCELED);
    ck_assert(th_mono() - t0 < 50);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

/* fut_rt_adopt: NULL refused; without memory the future stays the
 * caller's and nothing is counted. */
START_TEST(adopt_bad_input_and_no_memory)
{
    ck_assert_int_eq(fut_rt_adopt(rt, NULL, NULL, NULL), -EINVAL);
    struct th_slow s;
    int dropped = 0;
    th_slow_init(&s, -1, 0, 0, 0, NULL, NULL, &dropped);
    th_alloc.fail_at = th_alloc.total + 1;
    ck_assert_int_eq(fut_rt_adopt(rt, &s.base, NULL, NULL), -ENOMEM);
    th_alloc.fail_at = 0;
    struct fut_rt_stats st = th_stats(rt);
    ck_assert_uint_eq(st.orphans, 0);
    ck_assert_uint_eq(st.orphans_alive, 0);
    ck_assert_uint_eq(st.tasks_alive, 0);
    ck_assert_int_eq(dropped, 0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(dropped, 1);
}
END_TEST

/* A shutdown dropped before its first poll does nothing; one polled again
 * while it waits stays registered once and completes. */
START_TEST(shutdown_dropped_unpolled_or_polled_twice)
{
    fut_shutdown sd;
    fut_rt_shutdown(&sd, rt, 1.0);
    ck_assert_int_eq(fut_drop(&sd.base), 0);
    int dropped = 0;
    struct th_slow k;
    th_slow_init(&k, -1, 0, 2, 0.001, NULL, NULL, &dropped);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &k, &j), 0); /* not closing */
    th_turn(rt);
    fut_rt_shutdown(&sd, rt, 1.0);
    ck_assert_int_eq(th_poll_once(rt, &sd.base, NULL), FUT_PENDING);
    ck_assert_int_eq(th_poll_once(rt, &sd.base, NULL), FUT_PENDING);
    ck_assert_int_eq(th_block(rt, &sd.base), 0);
    ck_assert_int_eq(fut_drop(&sd.base), 0);
    ck_assert_int_eq(dropped, 1);
    ck_assert_int_eq(th_block(rt, &j.base), -ECANCELED);
    fut_drop(&j.base);
}
END_TEST

/* A shutdown's budget NaN or negative counts as 0: a teardown that never
 * ends on its own is escalated at once, the clock unmoved. */
START_TEST(shutdown_budget_nan_or_negative_is_zero)
{
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_AUTO), 0);
    int escalated = 0;
    struct stubborn a;
    stubborn_init(&a, 0);
    a.escalated_seen = &escalated;
    ck_assert_int_eq(FUT_SPAWN(rt, &a, NULL), 0);
    th_turn(rt);
    double t0 = fut_rt_now(rt);
    fut_shutdown sd;
    ck_assert_int_eq(th_block(rt, fut_rt_shutdown(&sd, rt, _i ? -1.0 : NAN)), 0);
    fut_drop(&sd.base);
    ck_assert_int_eq(escalated, 1);
    ck_assert(fut_rt_now(rt) == t0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scope");
    TCase *tc = tcase_create("scope");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, scope_waits_for_all_children);
    tcase_add_test(tc, next_and_spawn_wait_under_a_cancelled_context);
    tcase_add_test(tc, first_error_cancels_siblings);
    tcase_add_test(tc, keep_going_collects_errors);
    tcase_add_test(tc, cancel_propagates_through_nested_scopes);
    tcase_add_test(tc, scope_timeout);
    tcase_add_test(tc, cancel_during_teardown);
    tcase_add_test(tc, budget_escalates_teardown);
    tcase_add_test(tc, teardown_error_reaches_scope);
    tcase_add_test(tc, cancellation_reaches_frozen_poll);
    tcase_add_test(tc, orphanage_drives_teardown);
    tcase_add_test(tc, rt_free_drains_orphanage);
    tcase_add_test(tc, orphan_teardown_is_budgeted);
    tcase_add_test(tc, shutdown_with_budget);
    tcase_add_test(tc, two_pending_shutdowns_both_complete);
    tcase_add_test(tc, budget_bad_input);
    tcase_add_test(tc, spawn_into_dropped_scope_fails);
    tcase_add_test(tc, spawn_into_cancelled_scope_fails);
    tcase_add_test(tc, closed_scope_refuses_keeps_children);
    tcase_add_test(tc, completed_scope_refuses);
    tcase_add_test(tc, scope_settings_bad_input);
    tcase_add_test(tc, timeout_scope_under_a_cancelled_context);
    tcase_add_test(tc, adopt_bad_input_and_no_memory);
    tcase_add_test(tc, shutdown_dropped_unpolled_or_polled_twice);
    tcase_add_loop_test(tc, shutdown_budget_nan_or_negative_is_zero, 0, 2);
    tcase_add_test(tc, cancel_reaches_own_children_only);
    suite_add_tcase(s, tc);
    return th_run(s);
}
