/* SPDX-License-Identifier: MIT */
/* Coroutine macros (<fut/coro.h>): awaits, bindings dropped in reverse
 * order on completion, early error and cancellation at every await point,
 * exactly once, nothing leaked. */
#include "helpers.h"

#include <errno.h>
#include <string.h>

#define rt th_rt

/* A gate the test opens from outside; records its teardown. */
struct gate_ctl {
    int open;
    fut_waker *w;
    int drops;
    int order; /* when it was dropped, from *clock */
};

static int drop_clock;

struct gate {
    fut base;
    struct gate_ctl *ctl;
};

static fut_status gate_poll(fut *self, fut_cx *cx)
{
    struct gate_ctl *c = ((struct gate *)self)->ctl;
    if (c->open)
        return fut_ready(self, c->open);
    fut_waker *w = fut_cx_waker(cx);
    if (c->w != w) {
        fut_waker_drop(c->w);
        c->w = fut_waker_clone(w);
    }
    return FUT_PENDING;
}

/* Async teardown that takes one loop turn, to make the order visible. */
static fut_status gate_poll_drop(fut *self, fut_cx *cx)
{
    struct gate_ctl *c = ((struct gate *)self)->ctl;
    if (c->w) {
        fut_waker_drop(c->w);
        c->w = NULL;
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    c->drops++;
    c->order = ++drop_clock;
    return FUT_READY;
}

static const struct fut_vtable gate_vt = {sizeof(struct fut_vtable), "gate", gate_poll,
                                          gate_poll_drop, NULL};

static fut *gate_init(struct gate *g, struct gate_ctl *c)
{
    fut_init(&g->base, &gate_vt);
    g->ctl = c;
    return &g->base;
}

static void gate_open(struct gate_ctl *c, int v)
{
    c->open = v;
    if (c->w)
        fut_waker_wake(c->w);
}

/* Three awaits; before each, a bound resource; the awaited gates are not
 * bound. An error from a gate ends the coroutine early. */
#define POINTS 3

struct job {
    fut base;
    fut_coro co;
    struct gate res[POINTS];  /* bound */
    struct gate wait[POINTS]; /* awaited */
    struct gate_ctl *res_ctl, *wait_ctl;
    int i;
    int sum;
};

static fut_status job_body(struct job *j, fut_cx *cx)
{
    FUT_BEGIN(&j->co);
    for (j->i = 0; j->i < POINTS; j->i++) {
        j->res_ctl[j->i].open = 1;
        FUT_BIND_ASYNC(gate_init(&j->res[j->i], &j->res_ctl[j->i]));
        FUT_AWAIT(cx, gate_init(&j->wait[j->i], &j->wait_ctl[j->i]));
        if (fut_out(&j->wait[j->i].base) < 0)
            FUT_RETURN(fut_out(&j->wait[j->i].base));
        j->sum += (int)fut_out(&j->wait[j->i].base);
    }
    FUT_RETURN(j->sum);
    FUT_END();
}
FUT_CORO_DEFINE(job, job_body);

static void job_init(struct job *j, struct gate_ctl *res, struct gate_ctl *wait)
{
    memset(j, 0, sizeof *j);
    FUT_CORO_INIT(j, job);
    j->res_ctl = res;
    j->wait_ctl = wait;
}

START_TEST(completes_and_drops_bindings_in_reverse)
{
    struct gate_ctl res[POINTS] = {{0}}, wait[POINTS] = {{0}};
    for (int i = 0; i < POINTS; i++)
        wait[i].open = i + 1;
    struct job j;
    job_init(&j, res, wait);
    ck_assert_int_eq(th_block(rt, &j.base), 1 + 2 + 3);
    for (int i = 0; i < POINTS; i++)
        ck_assert_int_eq(res[i].drops, 0); /* at teardown, not before */
    drop_clock = 0;
    ck_assert_int_eq(fut_drop(&j.base), 0);
    for (int i = 0; i < POINTS; i++) {
        ck_assert_int_eq(res[i].drops, 1);
        ck_assert_int_eq(res[i].order, POINTS - i); /* reverse order of binding */
        ck_assert_int_eq(wait[i].drops, 1);
    }
}
END_TEST

START_TEST(early_error_drops_bindings)
{
    struct gate_ctl res[POINTS] = {{0}}, wait[POINTS] = {{0}};
    wait[0].open = 5;
    wait[1].open = -EIO;
    struct job j;
    job_init(&j, res, wait);
    ck_assert_int_eq(th_block(rt, &j.base), -EIO);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(res[0].drops, 1);
    ck_assert_int_eq(res[1].drops, 1);
    ck_assert_int_eq(res[2].drops, 0); /* never bound */
    ck_assert_int_eq(wait[1].drops, 1); /* dropped by its await */
}
END_TEST

/* Cancellation at every await point: open the gates one by one, cancel
 * the task at point p; every bound child and the awaited gate are dropped
 * exactly once; nothing leaks (the fixture checks the allocator). */
START_TEST(cancel_at_every_await_point)
{
    for (int p = 0; p <= POINTS; p++) {
        struct gate_ctl res[POINTS] = {{0}}, wait[POINTS] = {{0}};
        struct job j;
        job_init(&j, res, wait);
        fut_join h;
        ck_assert_int_eq(FUT_SPAWN(rt, &j, &h), 0);
        fut_yield y;
        for (int i = 0; i < p; i++) {
            th_block(rt, fut_yield_init(&y));
            fut_drop(&y.base);
            gate_open(&wait[i], 1);
        }
        th_block(rt, fut_yield_init(&y));
        fut_drop(&y.base);
        fut_join_cancel(&h);
        ssize_t out = th_block(rt, &h.base);
        fut_drop(&h.base);
        int bound = p < POINTS ? p + 1 : POINTS;
        if (p < POINTS) {
            ck_assert_int_eq(out, -ECANCELED);
            ck_assert_int_eq(wait[p].drops, 1); /* the awaited one, mid-await */
        } else {
            ck_assert_int_eq(out, POINTS);      /* it finished first */
        }
        for (int i = 0; i < POINTS; i++)
            ck_assert_msg(res[i].drops == (i < bound),
                          "point %d: resource %d dropped %d times", p, i, res[i].drops);
        for (int i = 0; i < p; i++)
            ck_assert_int_eq(wait[i].drops, 1);
    }
}
END_TEST

/* Binding past the limit ends the coroutine with -E2BIG; what was bound
 * is still dropped. */
struct greedy {
    fut base;
    fut_coro co;
    struct gate g[FUT_CORO_MAX_BOUND + 1];
    struct gate_ctl *ctl;
    int i;
};

static fut_status greedy_body(struct greedy *s, fut_cx *cx)
{
    (void)cx;
    FUT_BEGIN(&s->co);
    for (s->i = 0; s->i <= FUT_CORO_MAX_BOUND; s->i++)
        FUT_BIND_ASYNC(gate_init(&s->g[s->i], &s->ctl[s->i]));
    FUT_END();
}
FUT_CORO_DEFINE(greedy, greedy_body);

START_TEST(too_many_bindings)
{
    struct gate_ctl ctl[FUT_CORO_MAX_BOUND + 1] = {{0}};
    struct greedy s;
    memset(&s, 0, sizeof s);
    FUT_CORO_INIT(&s, greedy);
    s.ctl = ctl;
    ck_assert_int_eq(th_block(rt, &s.base), -E2BIG);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    for (int i = 0; i < FUT_CORO_MAX_BOUND; i++)
        ck_assert_int_eq(ctl[i].drops, 1);
    ck_assert_int_eq(ctl[FUT_CORO_MAX_BOUND].drops, 0);
    ck_assert_int_eq(fut_coro_bind(NULL, NULL), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("coro");
    TCase *tc = tcase_create("coro");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, completes_and_drops_bindings_in_reverse);
    tcase_add_test(tc, early_error_drops_bindings);
    tcase_add_test(tc, cancel_at_every_await_point);
    tcase_add_test(tc, too_many_bindings);
    suite_add_tcase(s, tc);
    return th_run(s);
}
