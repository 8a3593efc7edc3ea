/* SPDX-License-Identifier: MIT */
/* Coroutine macros (<fut/coro.h>): an await drops what it awaited, once,
 * before the body goes on (synchronous and asynchronous teardowns, a
 * PENDING one keeping the coroutine pending while other tasks run);
 * bindings dropped in reverse order at exit; early return, cancellation
 * mid-await and mid-drop, exactly once, nothing leaked; two awaits on one
 * line; a binding limit raised past the library's own. */

/* Raised past the library's default (16): the library must not depend
 * on it (t/coro_small.c lowers it). */
#define FUT_CORO_MAX_BOUND 20

#include "helpers.h"

#include <errno.h>
#include <string.h>

#define rt th_rt

int coro_small_run(fut_rt *r, int drops[3], int *bound);

/* --- a probe: a child future the test drives from outside ---------------- */

static int drop_clock;

struct probe_ctl {
    int open; /* poll is READY with `value` once set */
    int value;
    int hold;      /* poll_drop is PENDING while set */
    int clobber;   /* the teardown writes `out` (the await must restore it) */
    fut_waker *w;  /* poll's */
    fut_waker *dw; /* poll_drop's */
    int polls;
    int drop_calls; /* poll_drop or drop calls */
    int drops;      /* completed teardowns */
    int order;      /* drop_clock when the teardown completed */
};

struct probe {
    fut base;
    struct probe_ctl *ctl;
};

static void keep(fut_waker **slot, fut_cx *cx)
{
    fut_waker *w = fut_cx_waker(cx);
    if (*slot != w) {
        fut_waker_drop(*slot);
        *slot = fut_waker_clone(w);
    }
}

static fut_status probe_poll(fut *self, fut_cx *cx)
{
    struct probe_ctl *c = ((struct probe *)self)->ctl;
    c->polls++;
    if (c->open)
        return fut_ready(self, c->value);
    keep(&c->w, cx);
    return FUT_PENDING;
}

static void probe_release(fut *self)
{
    struct probe_ctl *c = ((struct probe *)self)->ctl;
    fut_waker_drop(c->w);
    c->w = NULL;
    fut_waker_drop(c->dw);
    c->dw = NULL;
    if (c->clobber)
        self->out = -7777;
    c->drops++;
    c->order = ++drop_clock;
}

static fut_status probe_poll_drop(fut *self, fut_cx *cx)
{
    struct probe_ctl *c = ((struct probe *)self)->ctl;
    c->drop_calls++;
    ck_assert_msg(!fut_cx_cancelled(cx), "a teardown sees its task's cancellation");
    if (c->hold) {
        keep(&c->dw, cx);
        return FUT_PENDING;
    }
    probe_release(self);
    return FUT_READY;
}

static void probe_drop(fut *self)
{
    ((struct probe *)self)->ctl->drop_calls++;
    probe_release(self);
}

/* Asynchronous teardown (poll_drop), and synchronous only (drop). */
static const struct fut_vtable probe_vt = {sizeof(struct fut_vtable), "probe", probe_poll,
                                           probe_poll_drop, NULL};
static const struct fut_vtable probe_sync_vt = {sizeof(struct fut_vtable), "probe_sync", probe_poll,
                                                NULL, probe_drop};

static fut *probe_init(struct probe *p, struct probe_ctl *c)
{
    fut_init(&p->base, &probe_vt);
    p->ctl = c;
    return &p->base;
}

static fut *probe_sync_init(struct probe *p, struct probe_ctl *c)
{
    fut_init(&p->base, &probe_sync_vt);
    p->ctl = c;
    return &p->base;
}

static void probe_open(struct probe_ctl *c, int v)
{
    c->open = 1;
    c->value = v;
    if (c->w)
        fut_waker_wake(c->w);
}

static void probe_unhold(struct probe_ctl *c)
{
    c->hold = 0;
    if (c->dw)
        fut_waker_wake(c->dw);
}

/* Runs the loop for a few turns (other tasks make progress). */
static void turns(int n)
{
    for (int i = 0; i < n; i++) {
        fut_yield y;
        th_block(rt, fut_yield_init(&y));
        fut_drop(&y.base);
    }
}

/* --- one await: what the body sees right after it ------------------------ */

/* What the body saw right after its await (outside the struct, which a
 * spawn copies). */
struct seen {
    int after;   /* the body went past the await */
    int drops;   /* ctl->drops then */
    ssize_t out; /* fut_out(child) then */
};

struct one {
    fut base;
    fut_coro co;
    struct probe p;
    struct probe_ctl *ctl;
    struct seen *seen;
    int sync; /* await the synchronous-drop probe */
};

static fut_status one_body(struct one *s, fut_cx *cx)
{
    FUT_BEGIN(&s->co);
    FUT_AWAIT(cx, s->sync ? probe_sync_init(&s->p, s->ctl) : probe_init(&s->p, s->ctl));
    s->seen->after = 1;
    s->seen->drops = s->ctl->drops;
    s->seen->out = fut_out(&s->p.base);
    FUT_RETURN(fut_out(&s->p.base) + 1);
    FUT_END();
}
FUT_CORO_DEFINE(one, one_body);

static void one_init(struct one *s, struct probe_ctl *c, struct seen *seen, int sync)
{
    memset(s, 0, sizeof *s);
    memset(seen, 0, sizeof *seen);
    FUT_CORO_INIT(s, one);
    s->ctl = c;
    s->seen = seen;
    s->sync = sync;
}

/* The awaited child's teardown runs once, before the body goes on, with
 * poll_drop (asynchronous) or drop (synchronous), and the coroutine's own
 * teardown does not run it again. Its output stays readable although the
 * teardown overwrote `out`. */
START_TEST(await_drops_child_once_before_going_on)
{
    for (int sync = 0; sync <= 1; sync++) {
        struct probe_ctl c = {.open = 1, .value = 41, .clobber = 1};
        struct one s;
        struct seen seen;
        one_init(&s, &c, &seen, sync);
        ck_assert_int_eq(th_block(rt, &s.base), 42);
        ck_assert_int_eq(seen.after, 1);
        ck_assert_int_eq(seen.drops, 1);
        ck_assert_int_eq(seen.out, 41);
        ck_assert_int_eq(fut_out(&s.p.base), 41);
        ck_assert_int_eq(c.drops, 1);
        ck_assert_int_eq(fut_drop(&s.base), 0);
        ck_assert_int_eq(c.drops, 1);
        ck_assert_int_eq(c.drop_calls, 1);
        ck_assert_int_eq(c.polls, 1);
    }
}
END_TEST

/* A teardown that is PENDING keeps the coroutine pending, not the
 * runtime: another task runs to completion meanwhile; the body goes on
 * only once the teardown finished; the output survives the PENDING
 * steps too. */
START_TEST(pending_drop_keeps_coroutine_pending)
{
    struct probe_ctl c = {.open = 1, .value = 9, .hold = 1, .clobber = 1};
    struct one s;
    struct seen seen;
    one_init(&s, &c, &seen, 0);
    fut_join h;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &h), 0);
    int ticks = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.001, 3, &ticks);
    ck_assert_int_eq(th_block(rt, &tk.base), 3); /* the other task ran */
    fut_drop(&tk.base);
    ck_assert_int_eq(ticks, 3);
    ck_assert_int_eq(c.polls, 1);
    ck_assert_int_ge(c.drop_calls, 1);
    ck_assert_int_eq(c.drops, 0);
    ck_assert_int_eq(seen.after, 0); /* still in the await */
    probe_unhold(&c);
    ck_assert_int_eq(th_block(rt, &h.base), 10);
    fut_drop(&h.base);
    ck_assert_int_eq(seen.after, 1);
    ck_assert_int_eq(seen.drops, 1);
    ck_assert_int_eq(seen.out, 9);
    ck_assert_int_eq(c.drops, 1);
    ck_assert_int_eq(c.polls, 1);
}
END_TEST

/* Cancelled while the awaited child's teardown is PENDING: the
 * coroutine's teardown finishes that same teardown (not a second one),
 * and the body never goes on. */
START_TEST(cancel_mid_drop_finishes_the_same_drop)
{
    struct probe_ctl c = {.open = 1, .value = 3, .hold = 1};
    struct one s;
    struct seen seen;
    one_init(&s, &c, &seen, 0);
    fut_join h;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &h), 0);
    turns(3);
    ck_assert_int_ge(c.drop_calls, 1);
    ck_assert_int_eq(c.drops, 0);
    ck_assert_int_eq(fut_join_cancel(&h), 0);
    turns(3);
    ck_assert_int_eq(c.drops, 0); /* still held */
    int calls = c.drop_calls;
    probe_unhold(&c);
    ck_assert_int_eq(th_block(rt, &h.base), -ECANCELED);
    fut_drop(&h.base);
    ck_assert_int_eq(c.drops, 1);
    ck_assert_int_eq(c.drop_calls, calls + 1);
    ck_assert_int_eq(seen.after, 0); /* the body never went on */
}
END_TEST

/* Cancelled mid-await (the child PENDING): the child is dropped once,
 * by the coroutine's teardown. */
START_TEST(cancel_mid_await_drops_child_once)
{
    struct probe_ctl c = {0};
    struct one s;
    struct seen seen;
    one_init(&s, &c, &seen, 0);
    fut_join h;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &h), 0);
    turns(2);
    ck_assert_int_eq(c.polls, 1);
    ck_assert_int_eq(fut_join_cancel(&h), 0);
    ck_assert_int_eq(th_block(rt, &h.base), -ECANCELED);
    fut_drop(&h.base);
    ck_assert_int_eq(c.drops, 1);
    ck_assert_int_eq(c.drop_calls, 1);
    ck_assert_int_eq(seen.after, 0);
}
END_TEST

/* A coroutine that cancels its own task and then awaits: the await's
 * drop is a teardown, shielded from the cancellation (the probe's
 * poll_drop asserts it does not see it). */
struct selfcancel {
    fut base;
    fut_coro co;
    fut_join *self;
    struct probe p;
    struct probe_ctl *ctl;
};

static fut_status selfcancel_body(struct selfcancel *s, fut_cx *cx)
{
    FUT_BEGIN(&s->co);
    fut_join_cancel(s->self);
    ck_assert(fut_cx_cancelled(cx));
    FUT_AWAIT(cx, probe_init(&s->p, s->ctl));
    ck_assert_int_eq(s->ctl->drops, 1);
    FUT_RETURN(fut_out(&s->p.base));
    FUT_END();
}
FUT_CORO_DEFINE(selfcancel, selfcancel_body);

START_TEST(await_drop_shielded_from_cancellation)
{
    struct probe_ctl c = {.open = 1, .value = 6};
    struct selfcancel s;
    memset(&s, 0, sizeof s);
    FUT_CORO_INIT(&s, selfcancel);
    fut_join h;
    s.self = &h;
    s.ctl = &c;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &h), 0);
    ssize_t out = th_block(rt, &h.base);
    fut_drop(&h.base);
    ck_assert_msg(out == 6 || out == -ECANCELED, "out %zd", out);
    ck_assert_int_eq(c.drops, 1);
    ck_assert_int_eq(c.drop_calls, 1);
}
END_TEST

/* --- several awaits, bindings, early exits -------------------------------- */

/* Three awaits; before each, a bound resource; the awaited probes are
 * not bound. An error from a probe ends the coroutine early. */
#define POINTS 3

struct job {
    fut base;
    fut_coro co;
    struct probe res[POINTS];  /* bound */
    struct probe wait[POINTS]; /* awaited */
    struct probe_ctl *res_ctl, *wait_ctl;
    int i;
    int sum;
};

static fut_status job_body(struct job *j, fut_cx *cx)
{
    FUT_BEGIN(&j->co);
    for (j->i = 0; j->i < POINTS; j->i++) {
        j->res_ctl[j->i].open = 1;
        FUT_BIND_ASYNC(probe_init(&j->res[j->i], &j->res_ctl[j->i]));
        FUT_AWAIT(cx, probe_init(&j->wait[j->i], &j->wait_ctl[j->i]));
        ck_assert_int_eq(j->wait_ctl[j->i].drops, 1);
        if (fut_out(&j->wait[j->i].base) < 0)
            FUT_RETURN(fut_out(&j->wait[j->i].base));
        j->sum += (int)fut_out(&j->wait[j->i].base);
    }
    FUT_RETURN(j->sum);
    FUT_END();
}
FUT_CORO_DEFINE(job, job_body);

static void job_init(struct job *j, struct probe_ctl *res, struct probe_ctl *wait)
{
    memset(j, 0, sizeof *j);
    FUT_CORO_INIT(j, job);
    j->res_ctl = res;
    j->wait_ctl = wait;
}

START_TEST(completes_and_drops_bindings_in_reverse)
{
    struct probe_ctl res[POINTS] = {{0}}, wait[POINTS] = {{0}};
    for (int i = 0; i < POINTS; i++) {
        wait[i].open = 1;
        wait[i].value = i + 1;
    }
    struct job j;
    job_init(&j, res, wait);
    ck_assert_int_eq(th_block(rt, &j.base), 1 + 2 + 3);
    for (int i = 0; i < POINTS; i++) {
        ck_assert_int_eq(res[i].drops, 0);  /* at teardown, not before */
        ck_assert_int_eq(wait[i].drops, 1); /* at its await */
    }
    drop_clock = 0;
    ck_assert_int_eq(fut_drop(&j.base), 0);
    for (int i = 0; i < POINTS; i++) {
        ck_assert_int_eq(res[i].drops, 1);
        ck_assert_int_eq(res[i].order, POINTS - i); /* reverse order of binding */
        ck_assert_int_eq(wait[i].drops, 1);
        ck_assert_int_eq(wait[i].drop_calls, 1);
    }
}
END_TEST

/* FUT_RETURN after an await: the awaited children were dropped at their
 * awaits, the bound ones go at teardown, each once. */
START_TEST(early_return_drops_bound_and_awaited_once)
{
    struct probe_ctl res[POINTS] = {{0}}, wait[POINTS] = {{0}};
    wait[0].open = 1;
    wait[0].value = 5;
    wait[1].open = 1;
    wait[1].value = -EIO;
    struct job j;
    job_init(&j, res, wait);
    ck_assert_int_eq(th_block(rt, &j.base), -EIO);
    ck_assert_int_eq(wait[0].drops, 1);
    ck_assert_int_eq(wait[1].drops, 1);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(res[0].drops, 1);
    ck_assert_int_eq(res[1].drops, 1);
    ck_assert_int_eq(res[2].drops, 0); /* never bound */
    ck_assert_int_eq(wait[2].polls, 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(wait[i].drop_calls, 1);
        ck_assert_int_eq(res[i].drop_calls, 1);
    }
}
END_TEST

/* Cancellation at every await point: open the probes one by one, cancel
 * the task at point p; every bound child and the awaited probe are
 * dropped exactly once; nothing leaks (the fixture checks the
 * allocator). */
START_TEST(cancel_at_every_await_point)
{
    for (int p = 0; p <= POINTS; p++) {
        struct probe_ctl res[POINTS] = {{0}}, wait[POINTS] = {{0}};
        struct job j;
        job_init(&j, res, wait);
        fut_join h;
        ck_assert_int_eq(FUT_SPAWN(rt, &j, &h), 0);
        for (int i = 0; i < p; i++) {
            turns(1);
            probe_open(&wait[i], 1);
        }
        turns(1);
        fut_join_cancel(&h);
        ssize_t out = th_block(rt, &h.base);
        fut_drop(&h.base);
        int bound = p < POINTS ? p + 1 : POINTS;
        if (p < POINTS) {
            ck_assert_int_eq(out, -ECANCELED);
            ck_assert_int_eq(wait[p].drops, 1); /* the awaited one, mid-await */
        } else {
            ck_assert_int_eq(out, POINTS); /* it finished first */
        }
        for (int i = 0; i < POINTS; i++)
            ck_assert_msg(res[i].drops == (i < bound), "point %d: resource %d dropped %d times", p,
                          i, res[i].drops);
        for (int i = 0; i < POINTS && i <= p; i++)
            ck_assert_int_eq(wait[i].drop_calls, 1);
    }
}
END_TEST

/* --- resume points --------------------------------------------------------- */

struct pair {
    fut base;
    fut_coro co;
    struct probe a, b;
    struct probe_ctl *ca, *cb;
    int mid;
};

static fut_status pair_body(struct pair *s, fut_cx *cx)
{
    FUT_BEGIN(&s->co);
    /* clang-format off */
    FUT_AWAIT(cx, probe_init(&s->a, s->ca)); s->mid++; FUT_AWAIT(cx, probe_init(&s->b, s->cb));
    /* clang-format on */
    FUT_RETURN(fut_out(&s->a.base) * 10 + fut_out(&s->b.base));
    FUT_END();
}
FUT_CORO_DEFINE(pair, pair_body);

/* Two awaits on one line resume each at its own point: the second is not
 * reached before the first completes, the first is not polled again
 * (that would be a diagnostic, which the fixture fails on). */
START_TEST(two_awaits_on_one_line)
{
    struct probe_ctl ca = {0}, cb = {0};
    struct pair s;
    memset(&s, 0, sizeof s);
    FUT_CORO_INIT(&s, pair);
    s.ca = &ca;
    s.cb = &cb;
    fut_join h;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &h), 0);
    turns(2);
    ck_assert_int_eq(ca.polls, 1);
    ck_assert_int_eq(cb.polls, 0);
    probe_open(&ca, 3);
    turns(2);
    ck_assert_int_eq(ca.polls, 2);
    ck_assert_int_eq(ca.drops, 1);
    ck_assert_int_eq(cb.polls, 1);
    probe_open(&cb, 4);
    ck_assert_int_eq(th_block(rt, &h.base), 34);
    fut_drop(&h.base);
    ck_assert_int_eq(ca.polls, 2);
    ck_assert_int_eq(cb.polls, 2);
    ck_assert_int_eq(ca.drops, 1);
    ck_assert_int_eq(cb.drops, 1);
}
END_TEST

/* --- a join handle awaited --------------------------------------------------- */

struct waiter {
    fut base;
    fut_coro co;
    fut_join j;
};

static fut_status waiter_body(struct waiter *w, fut_cx *cx)
{
    FUT_BEGIN(&w->co);
    FUT_AWAIT(cx, &w->j.base);
    FUT_RETURN(fut_out(&w->j.base));
    FUT_END();
}
FUT_CORO_DEFINE(waiter, waiter_body);

/* The await releases the handle's task reference: the task's memory is
 * freed (the fixture's allocator check fails on a leak), and the handle
 * is dropped once (a second drop would be reported). */
START_TEST(awaited_join_handle_released)
{
    int ticks = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.001, 2, &ticks);
    struct waiter w;
    memset(&w, 0, sizeof w);
    FUT_CORO_INIT(&w, waiter);
    ck_assert_int_eq(FUT_SPAWN(rt, &tk, &w.j), 0);
    long live = th_alloc.live;
    ck_assert_int_eq(th_block(rt, &w.base), 2);
    ck_assert_int_lt(th_alloc.live, live); /* the task is gone already */
    ck_assert_int_eq(fut_drop(&w.base), 0);
    ck_assert_int_eq(ticks, 2);
}
END_TEST

/* --- bindings ----------------------------------------------------------------- */

/* A bound child awaited is kept: not dropped at the await, dropped at
 * exit. Binding it again is a no-op (one slot, one drop). */
struct keeper {
    fut base;
    fut_coro co;
    struct probe p;
    struct probe_ctl *ctl;
    int drops_after_await;
};

static fut_status keeper_body(struct keeper *k, fut_cx *cx)
{
    FUT_BEGIN(&k->co);
    FUT_BIND_ASYNC(probe_init(&k->p, k->ctl));
    FUT_BIND_ASYNC(&k->p.base);
    FUT_AWAIT(cx, &k->p.base);
    k->drops_after_await = k->ctl->drops;
    FUT_RETURN(fut_out(&k->p.base));
    FUT_END();
}
FUT_CORO_DEFINE(keeper, keeper_body);

START_TEST(bound_child_awaited_is_kept_until_exit)
{
    struct probe_ctl c = {.open = 1, .value = 8};
    struct keeper k;
    memset(&k, 0, sizeof k);
    FUT_CORO_INIT(&k, keeper);
    k.ctl = &c;
    ck_assert_int_eq(th_block(rt, &k.base), 8);
    ck_assert_int_eq(k.drops_after_await, 0);
    ck_assert_int_eq(c.drops, 0);
    ck_assert_uint_eq(k.co.nbound, 1);
    ck_assert_int_eq(fut_drop(&k.base), 0);
    ck_assert_int_eq(c.drops, 1);
    ck_assert_int_eq(c.drop_calls, 1);
}
END_TEST

/* The guard pattern of <fut/coro.h>: a semaphore acquire bound, awaited,
 * and dropped by hand each time round a loop; the permit stays held
 * across a later await; the last acquire is released at exit. */
struct guard {
    fut base;
    fut_coro co;
    fut_sem *sem;
    fut_sem_acquire_op acq;
    fut_yield y;
    int i;
    size_t avail_mid;
};

static fut_status guard_body(struct guard *g, fut_cx *cx)
{
    FUT_BEGIN(&g->co);
    for (g->i = 0; g->i < 3; g->i++) {
        FUT_BIND_ASYNC(fut_sem_acquire(&g->acq, g->sem, 1));
        FUT_AWAIT(cx, &g->acq.base);
        FUT_AWAIT(cx, fut_yield_init(&g->y));
        g->avail_mid += fut_sem_available(g->sem); /* 0: still held */
        fut_drop(&g->acq.base);
        ck_assert_uint_eq(fut_sem_available(g->sem), 1);
    }
    FUT_BIND_ASYNC(fut_sem_acquire(&g->acq, g->sem, 1));
    FUT_AWAIT(cx, &g->acq.base);
    FUT_END();
}
FUT_CORO_DEFINE(guard, guard_body);

START_TEST(bound_guard_in_a_loop)
{
    fut_sem sem;
    ck_assert_int_eq(fut_sem_init(&sem, 1), 0);
    struct guard g;
    memset(&g, 0, sizeof g);
    FUT_CORO_INIT(&g, guard);
    g.sem = &sem;
    ck_assert_int_eq(th_block(rt, &g.base), 0);
    ck_assert_uint_eq(g.avail_mid, 0);
    ck_assert_uint_eq(g.co.nbound, 1);
    ck_assert_uint_eq(fut_sem_available(&sem), 0); /* the last one, held */
    ck_assert_int_eq(fut_drop(&g.base), 0);
    ck_assert_uint_eq(fut_sem_available(&sem), 1);
}
END_TEST

/* Re-initialising the awaited child's memory and awaiting it again (the
 * stream-op loop): each incarnation polled and dropped once. */
struct again {
    fut base;
    fut_coro co;
    struct probe p;
    struct probe_ctl *ctl;
    int i, sum;
};

static fut_status again_body(struct again *s, fut_cx *cx)
{
    FUT_BEGIN(&s->co);
    for (s->i = 0; s->i < 4; s->i++) {
        FUT_AWAIT(cx, probe_sync_init(&s->p, s->ctl));
        s->sum += (int)fut_out(&s->p.base);
    }
    FUT_RETURN(s->sum);
    FUT_END();
}
FUT_CORO_DEFINE(again, again_body);

START_TEST(child_reinitialised_and_awaited_again)
{
    struct probe_ctl c = {.open = 1, .value = 5, .clobber = 1};
    struct again s;
    memset(&s, 0, sizeof s);
    FUT_CORO_INIT(&s, again);
    s.ctl = &c;
    ck_assert_int_eq(th_block(rt, &s.base), 20);
    ck_assert_int_eq(c.polls, 4);
    ck_assert_int_eq(c.drops, 4);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(c.drops, 4);
}
END_TEST

/* Binding past the limit (raised to 20 here, past the library's 16) ends
 * the coroutine with -E2BIG; what was bound is still dropped, in reverse
 * order. */
struct greedy {
    fut base;
    fut_coro co;
    struct probe g[FUT_CORO_MAX_BOUND + 1];
    struct probe_ctl *ctl;
    int i;
};

static fut_status greedy_body(struct greedy *s, fut_cx *cx)
{
    (void)cx;
    FUT_BEGIN(&s->co);
    for (s->i = 0; s->i <= FUT_CORO_MAX_BOUND; s->i++)
        FUT_BIND_ASYNC(probe_init(&s->g[s->i], &s->ctl[s->i]));
    FUT_END();
}
FUT_CORO_DEFINE(greedy, greedy_body);

START_TEST(raised_limit_then_too_many_bindings)
{
    ck_assert_int_eq(FUT_CORO_MAX_BOUND, 20);
    struct probe_ctl ctl[FUT_CORO_MAX_BOUND + 1];
    memset(ctl, 0, sizeof ctl);
    struct greedy s;
    memset(&s, 0, sizeof s);
    FUT_CORO_INIT(&s, greedy);
    ck_assert_uint_eq(s.co.cap, 20);
    s.ctl = ctl;
    ck_assert_int_eq(th_block(rt, &s.base), -E2BIG);
    ck_assert_uint_eq(s.co.nbound, FUT_CORO_MAX_BOUND);
    drop_clock = 0;
    ck_assert_int_eq(fut_drop(&s.base), 0);
    for (int i = 0; i < FUT_CORO_MAX_BOUND; i++) {
        ck_assert_int_eq(ctl[i].drops, 1);
        ck_assert_int_eq(ctl[i].order, FUT_CORO_MAX_BOUND - i);
    }
    ck_assert_int_eq(ctl[FUT_CORO_MAX_BOUND].drops, 0);
}
END_TEST

/* A file that lowers the limit to 2 shares the library: its third
 * binding fails, and nothing past its 2 slots is written. */
START_TEST(lowered_limit_in_another_file)
{
    int drops[3] = {0}, bound = -1;
    ck_assert_int_eq(coro_small_run(rt, drops, &bound), -E2BIG);
    ck_assert_int_eq(bound, 2);
    ck_assert_int_eq(drops[0], 1);
    ck_assert_int_eq(drops[1], 1);
    ck_assert_int_eq(drops[2], 0);
}
END_TEST

START_TEST(bind_bad_input)
{
    fut_coro co;
    fut_coro_init(&co);
    struct probe_ctl c = {0};
    struct probe p;
    probe_init(&p, &c);
    ck_assert_int_eq(fut_coro_bind(NULL, &p.base), -EINVAL);
    ck_assert_int_eq(fut_coro_bind(&co, NULL), -EINVAL);
    ck_assert_int_eq(fut_coro_bind(&co, &p.base), 0);
    ck_assert_int_eq(fut_coro_bind(&co, &p.base), 0);
    ck_assert_uint_eq(co.nbound, 1);
    fut_coro zero;
    memset(&zero, 0, sizeof zero); /* never initialised: no capacity */
    ck_assert_int_eq(fut_coro_bind(&zero, &p.base), -E2BIG);
    fut_drop(&p.base);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("coro");
    TCase *tc = tcase_create("coro");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, await_drops_child_once_before_going_on);
    tcase_add_test(tc, pending_drop_keeps_coroutine_pending);
    tcase_add_test(tc, cancel_mid_drop_finishes_the_same_drop);
    tcase_add_test(tc, cancel_mid_await_drops_child_once);
    tcase_add_test(tc, await_drop_shielded_from_cancellation);
    tcase_add_test(tc, completes_and_drops_bindings_in_reverse);
    tcase_add_test(tc, early_return_drops_bound_and_awaited_once);
    tcase_add_test(tc, cancel_at_every_await_point);
    tcase_add_test(tc, two_awaits_on_one_line);
    tcase_add_test(tc, awaited_join_handle_released);
    tcase_add_test(tc, bound_child_awaited_is_kept_until_exit);
    tcase_add_test(tc, bound_guard_in_a_loop);
    tcase_add_test(tc, child_reinitialised_and_awaited_again);
    tcase_add_test(tc, raised_limit_then_too_many_bindings);
    tcase_add_test(tc, lowered_limit_in_another_file);
    tcase_add_test(tc, bind_bad_input);
    suite_add_tcase(s, tc);
    return th_run(s);
}
