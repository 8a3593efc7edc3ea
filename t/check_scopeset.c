/* SPDX-License-Identifier: MIT */
/* Scopes as task sets and server policy (<fut/scope.h>): fut_scope_next
 * and kept children, the error handler and FUT_SCOPE_KEEP_GOING. */
#include "helpers.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define rt th_rt

/* What the jobs of one test saw. */
struct tally {
    fut_scope *scope;
    int running; /* started, not torn down */
    int max_running;
    unsigned max_alive; /* the scope's alive count, seen by starting jobs */
    int completed;      /* ran to their end (not cancelled) */
    int torn_down;
};

/* A child: waits `delay` seconds, then is READY with `value`. */
struct job {
    fut base;
    fut_sleep sleep;
    int armed;
    double delay;
    int value;
    struct tally *t;
};

static fut_status job_poll(fut *self, fut_cx *cx)
{
    struct job *j = (struct job *)self;
    if (!j->armed) {
        j->armed = 1;
        fut_sleep_init(&j->sleep, j->delay);
        if (++j->t->running > j->t->max_running)
            j->t->max_running = j->t->running;
        if (j->t->scope) {
            struct fut_scope_result r;
            fut_scope_result(j->t->scope, &r);
            if (r.alive > j->t->max_alive)
                j->t->max_alive = r.alive;
        }
    }
    if (fut_poll(&j->sleep.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    j->t->completed++;
    return fut_ready(self, j->value);
}

static void job_drop(fut *self)
{
    struct job *j = (struct job *)self;
    if (j->armed) {
        fut_drop(&j->sleep.base);
        j->t->running--;
    }
    j->t->torn_down++;
}

static const struct fut_vtable job_vt = {sizeof(struct fut_vtable), "job", job_poll, NULL,
                                         job_drop};

static struct job job_make(double delay, int value, struct tally *t)
{
    struct job j;
    memset(&j, 0, sizeof j);
    fut_init(&j.base, &job_vt);
    j.delay = delay;
    j.value = value;
    j.t = t;
    return j;
}

static void pause_loop(double seconds)
{
    fut_sleep w;
    th_block(rt, fut_sleep_init(&w, seconds));
    fut_drop(&w.base);
}

/* Runs the loop until *v reaches want (5 s at most): a timer that fired
 * may end a pause before the task it woke ran. */
static void run_until(const int *v, int want)
{
    for (double t0 = th_mono(); *v < want && th_mono() - t0 < 5;)
        pause_loop(0.001);
    ck_assert_int_eq(*v, want);
}

/* --- supervisor -------------------------------------------------------- */

struct errlog {
    int calls;
    int first;
    int eio, epipe;
    unsigned errors_seen_max; /* fut_scope_result() from the handler */
    int cancelled_seen;
};

static void log_error(fut_scope *s, int err, void *ud)
{
    struct errlog *l = ud;
    if (!l->calls++)
        l->first = err;
    if (err == -EIO)
        l->eio++;
    if (err == -EPIPE)
        l->epipe++;
    struct fut_scope_result r;
    fut_scope_result(s, &r);
    if (r.errors > l->errors_seen_max)
        l->errors_seen_max = r.errors;
    ck_assert_uint_eq(r.errors, (unsigned)l->calls); /* counted before the call */
}

/* 1,000 children, every tenth fails: the others run to their end, the
 * handler sees each failure once, the first error and count are right. */
START_TEST(supervisor_keeps_going)
{
    struct tally t = {0};
    struct errlog l = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, FUT_SCOPE_KEEP_GOING);
    t.scope = &sc;
    ck_assert_int_eq(fut_scope_set_error_handler(&sc, log_error, &l), 0);
    for (int i = 0; i < 1000; i++) {
        /* Failures come first (shorter waits, the first one shortest by
         * far: the 1000 first polls span several drains, in an order a
         * seed may permute), while every success is still running. */
        struct job j = i % 10 == 9
                           ? job_make(i == 9 ? 0.002 : 0.012 + 1e-5 * i, i == 9 ? -EIO : -EPIPE, &t)
                           : job_make(0.04, i, &t);
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &j, NULL), 0);
    }
    ck_assert_int_eq(th_block(rt, &sc.base), -EIO);
    ck_assert_int_eq(l.calls, 100);
    ck_assert_int_eq(l.first, -EIO);
    ck_assert_int_eq(l.eio, 1);
    ck_assert_int_eq(l.epipe, 99);
    ck_assert_int_eq(t.completed, 1000); /* nobody was cancelled */
    ck_assert_int_eq(t.torn_down, 1000);
    ck_assert_int_eq(t.max_running, 1000);
    struct fut_scope_result r;
    fut_scope_result(&sc, &r);
    ck_assert_int_eq(r.first_error, -EIO);
    ck_assert_uint_eq(r.errors, 100);
    ck_assert_uint_eq(r.alive, 0);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

/* The default policy: the handler sees the first error, then the
 * siblings are cancelled (their -ECANCELED is no error), and a spawn
 * tells the caller the scope stopped. */
START_TEST(first_error_policy_reports_and_refuses)
{
    struct tally t = {0};
    struct errlog l = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(fut_scope_set_error_handler(&sc, log_error, &l), 0);
    struct job bad = job_make(0.002, -EIO, &t), slow = job_make(30, 0, &t);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &bad, NULL), 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &slow, NULL), 0);
    ck_assert_int_eq(th_block(rt, &sc.base), -EIO);
    ck_assert_int_eq(l.calls, 1);
    ck_assert_int_eq(l.first, -EIO);
    ck_assert_int_eq(t.torn_down, 11);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &slow, NULL), -ECANCELED);
    ck_assert_int_eq(fut_scope_set_error_handler(NULL, log_error, NULL), -EINVAL);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

/* --- bounded concurrency ----------------------------------------------- */

/* A task that spawns `n` jobs through fut_scope_spawn_wait, one at a
 * time, each waiting for room. */
struct producer {
    fut base;
    fut_scope *sc;
    fut_scope_spawn_op op;
    struct job j;
    struct tally *t;
    int n, spawned, waiting, waits_pending;
};

static fut_status producer_poll(fut *self, fut_cx *cx)
{
    struct producer *p = (struct producer *)self;
    while (p->spawned < p->n) {
        if (!p->waiting) {
            p->j = job_make(0.004, p->spawned, p->t);
            FUT_SCOPE_SPAWN_WAIT(&p->op, p->sc, &p->j, NULL, NULL);
            p->waiting = 1;
        }
        if (fut_poll(&p->op.base, cx) == FUT_PENDING) {
            p->waits_pending++;
            return FUT_PENDING;
        }
        p->waiting = 0;
        ssize_t err = fut_out(&p->op.base);
        fut_drop(&p->op.base);
        if (err < 0)
            return fut_ready(self, err);
        p->spawned++;
    }
    return fut_ready(self, p->spawned);
}

static void producer_drop(fut *self)
{
    struct producer *p = (struct producer *)self;
    if (p->waiting)
        fut_drop(&p->op.base);
}

static const struct fut_vtable producer_vt = {sizeof(struct fut_vtable), "producer", producer_poll,
                                              NULL, producer_drop};

/* 20 jobs, limit 5: never more than 5 alive, all of them run. */
START_TEST(limit_bounds_concurrency)
{
    struct tally t = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    t.scope = &sc;
    ck_assert_int_eq(fut_scope_set_limit(&sc, 5), 0);
    ck_assert_int_eq(fut_scope_set_limit(NULL, 5), -EINVAL);
    struct producer p;
    memset(&p, 0, sizeof p);
    fut_init(&p.base, &producer_vt);
    p.sc = &sc;
    p.t = &t;
    p.n = 20;
    ck_assert_int_eq(th_block(rt, &p.base), 20);
    ck_assert_int_ge(p.waits_pending, 3); /* it did wait for room */
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert_int_eq(th_block(rt, &sc.base), 0);
    ck_assert_int_eq(t.completed, 20);
    ck_assert_int_eq(t.max_running, 5);
    ck_assert_uint_eq(t.max_alive, 5);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

/* fut_scope_spawn does not wait: -EAGAIN at the limit, and while spawns
 * wait (they go first). A waiting spawn dropped spawns nothing, and the
 * room goes to the next one. Raising the limit lets waiters in. */
START_TEST(limit_try_spawn_and_dropped_wait)
{
    struct tally t = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(fut_scope_set_limit(&sc, 1), 0);
    struct job a = job_make(0.01, 1, &t), b = job_make(0.001, 2, &t), c = job_make(0.001, 3, &t);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &a, NULL), 0);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &b, NULL), -EAGAIN);
    fut_scope_spawn_op wb, wc;
    fut_join jc;
    ck_assert_int_eq(th_poll_once(rt, FUT_SCOPE_SPAWN_WAIT(&wb, &sc, &b, NULL, NULL), NULL),
                     FUT_PENDING);
    ck_assert_int_eq(th_poll_once(rt, FUT_SCOPE_SPAWN_WAIT(&wc, &sc, &c, NULL, &jc), NULL),
                     FUT_PENDING);
    run_until(&t.completed, 1); /* a finished: room for the first waiter, wb */
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &c, NULL), -EAGAIN); /* waiters first */
    ck_assert_int_eq(fut_drop(&wb.base), 0);                   /* b not spawned */
    ck_assert_uint_eq(th_stats(rt).tasks_spawned, 1);
    ck_assert_int_eq(th_block(rt, &wc.base), 0); /* now first, with room */
    ck_assert_int_eq(fut_drop(&wc.base), 0);
    ck_assert_int_eq(th_block(rt, &jc.base), 3);
    ck_assert_int_eq(fut_drop(&jc.base), 0);
    ck_assert_int_eq(th_block(rt, &sc.base), 0);
    ck_assert_int_eq(t.completed, 2);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

START_TEST(limit_raised_lets_waiters_in)
{
    struct tally t = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(fut_scope_set_limit(&sc, 1), 0);
    struct job a = job_make(30, 1, &t), b = job_make(0.001, 2, &t);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &a, NULL), 0);
    fut_scope_spawn_op wb;
    ck_assert_int_eq(th_poll_once(rt, FUT_SCOPE_SPAWN_WAIT(&wb, &sc, &b, NULL, NULL), NULL),
                     FUT_PENDING);
    ck_assert_int_eq(fut_scope_set_limit(&sc, 0), 0);
    ck_assert_int_eq(th_block(rt, &wb.base), 0);
    ck_assert_int_eq(fut_drop(&wb.base), 0);
    run_until(&t.completed, 1);              /* b finished */
    ck_assert_int_eq(fut_drop(&sc.base), 0); /* cancels a */
    ck_assert_int_eq(t.completed, 1);
    ck_assert_int_eq(t.torn_down, 2);
}
END_TEST

/* A waiting spawn learns that the scope stopped taking children. */
START_TEST(spawn_wait_refused)
{
    struct tally t = {0};
    struct job a = job_make(30, 1, &t), b = job_make(0.001, 2, &t);
    fut_scope sc;
    fut_scope_spawn_op w;
    for (int how = 0; how < 3; how++) {
        fut_scope_init(&sc, rt, 0);
        ck_assert_int_eq(fut_scope_set_limit(&sc, 1), 0);
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &a, NULL), 0);
        ck_assert_int_eq(th_poll_once(rt, FUT_SCOPE_SPAWN_WAIT(&w, &sc, &b, NULL, NULL), NULL),
                         FUT_PENDING);
        if (how == 0)
            fut_scope_cancel(&sc);
        else if (how == 1)
            fut_scope_close(&sc);
        else
            ck_assert_int_eq(fut_drop(&sc.base), 0); /* completes: lets w go */
        ck_assert_int_eq(th_block(rt, &w.base), how == 0 ? -ECANCELED : -ESHUTDOWN);
        ck_assert_int_eq(fut_drop(&w.base), 0);
        if (how != 2)
            ck_assert_int_eq(fut_drop(&sc.base), 0);
        /* and one started afterwards, at once */
        ck_assert_int_eq(th_block(rt, FUT_SCOPE_SPAWN_WAIT(&w, &sc, &b, NULL, NULL)), -ESHUTDOWN);
        ck_assert_int_eq(fut_drop(&w.base), 0);
    }
    ck_assert_int_eq(t.completed, 0);
    ck_assert_uint_eq(th_stats(rt).tasks_spawned, 3);
}
END_TEST

/* --- fut_scope_next --------------------------------------------------- */

/* Takes the next child from plain code: its output, and its tag in *tag
 * (-1 when the op ended without a child). */
static ssize_t take(fut_scope *sc, long *tag)
{
    fut_scope_next_op op;
    ssize_t out = th_block(rt, fut_scope_next(&op, sc));
    *tag = op.child ? (long)(intptr_t)op.tag : -1;
    ck_assert_int_eq(fut_drop(&op.base), 0);
    return out;
}

/* Children are taken in the order they finished (not spawned), with
 * their outputs and tags, errors included; then -ECHILD. */
START_TEST(next_in_finish_order)
{
    struct tally t = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, FUT_SCOPE_COLLECT | FUT_SCOPE_KEEP_GOING);
    for (long i = 0; i < 5; i++) {
        struct job j = job_make(0.005 * (5 - i), i == 2 ? -EIO : (int)(100 + i), &t);
        ck_assert_int_eq(FUT_SCOPE_SPAWN_TAG(&sc, &j, (void *)(intptr_t)i, NULL), 0);
    }
    long tag;
    for (long i = 4; i >= 0; i--) {
        ssize_t out = take(&sc, &tag);
        ck_assert_int_eq(tag, i);
        ck_assert_int_eq(out, i == 2 ? -EIO : 100 + i);
    }
    ck_assert_int_eq(take(&sc, &tag), -ECHILD);
    ck_assert_int_eq(tag, -1);
    ck_assert_int_eq(th_block(rt, &sc.base), -EIO); /* counted as ever */
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

/* Children that finished before anyone asked are kept, in finish order;
 * the scope completes with children never taken, and its drop releases
 * them (the fixture checks nothing leaks). */
START_TEST(next_takes_kept_children)
{
    struct tally t = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, FUT_SCOPE_COLLECT);
    for (long i = 0; i < 4; i++) {
        struct job j = job_make(0.002 * (4 - i), (int)i, &t);
        ck_assert_int_eq(FUT_SCOPE_SPAWN_TAG(&sc, &j, (void *)(intptr_t)i, NULL), 0);
    }
    ck_assert_int_eq(th_block(rt, &sc.base), 0); /* all finished, none taken */
    ck_assert_int_eq(t.completed, 4);
    long tag;
    ck_assert_int_eq(take(&sc, &tag), 3);
    ck_assert_int_eq(tag, 3);
    ck_assert_int_eq(take(&sc, &tag), 2);
    ck_assert_int_eq(tag, 2);
    ck_assert_int_eq(fut_drop(&sc.base), 0);    /* two never taken */
    ck_assert_int_eq(take(&sc, &tag), -ECHILD); /* dropped (memory still here) */
}
END_TEST

START_TEST(next_on_empty_scope)
{
    fut_scope sc;
    fut_scope_init(&sc, rt, FUT_SCOPE_COLLECT);
    long tag;
    ck_assert_int_eq(take(&sc, &tag), -ECHILD);
    ck_assert_int_eq(tag, -1);
    ck_assert_int_eq(fut_drop(&sc.base), 0);

    fut_scope_init(&sc, rt, 0); /* not a task set */
    ck_assert_int_eq(take(&sc, &tag), -EINVAL);
    ck_assert_int_eq(take(NULL, &tag), -EINVAL);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

/* Dropping a pending next loses nothing: the child that finished while
 * it waited (and woke it) is taken by the next call. */
START_TEST(dropped_next_loses_nothing)
{
    struct tally t = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, FUT_SCOPE_COLLECT);
    struct job a = job_make(0.01, 11, &t), b = job_make(0.5, 22, &t);
    ck_assert_int_eq(FUT_SCOPE_SPAWN_TAG(&sc, &a, (void *)(intptr_t)1, NULL), 0);
    ck_assert_int_eq(FUT_SCOPE_SPAWN_TAG(&sc, &b, (void *)(intptr_t)2, NULL), 0);
    fut_scope_next_op op;
    ck_assert_int_eq(th_poll_once(rt, fut_scope_next(&op, &sc), NULL), FUT_PENDING);
    run_until(&t.completed, 1); /* a finished: op woken, not polled */
    ck_assert_int_eq(fut_drop(&op.base), 0);
    ck_assert_int_eq(th_poll_once(rt, fut_scope_next(&op, &sc), NULL), FUT_READY);
    ck_assert_int_eq(fut_out(&op.base), 11); /* a was kept */
    ck_assert_int_eq(op.child, 1);
    ck_assert_ptr_eq(op.tag, (void *)(intptr_t)1);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    /* Dropped while nothing had finished: b is not lost either. */
    ck_assert_int_eq(th_poll_once(rt, fut_scope_next(&op, &sc), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_drop(&op.base), 0);
    long tag;
    ck_assert_int_eq(take(&sc, &tag), 22);
    ck_assert_int_eq(tag, 2);
    ck_assert_int_eq(take(&sc, &tag), -ECHILD);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

/* A next still pending when the scope's drop completes is let go. */
START_TEST(scope_drop_lets_next_go)
{
    struct tally t = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, FUT_SCOPE_COLLECT);
    struct job a = job_make(30, 0, &t);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &a, NULL), 0);
    fut_scope_next_op op;
    ck_assert_int_eq(th_poll_once(rt, fut_scope_next(&op, &sc), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
    ck_assert_int_eq(t.torn_down, 1);
    ck_assert_int_eq(th_block(rt, &op.base), -ECHILD);
    ck_assert_int_eq(op.child, 0);
    ck_assert_int_eq(fut_drop(&op.base), 0);
}
END_TEST

/* The JoinSet loop inside a task: take every child as it finishes. */
struct drainer {
    fut base;
    fut_scope *sc;
    fut_scope_next_op op;
    int waiting;
    long order[8];
    int n;
};

static fut_status drainer_poll(fut *self, fut_cx *cx)
{
    struct drainer *d = (struct drainer *)self;
    for (;;) {
        if (!d->waiting) {
            fut_scope_next(&d->op, d->sc);
            d->waiting = 1;
        }
        if (fut_poll(&d->op.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        d->waiting = 0;
        ssize_t out = fut_out(&d->op.base);
        int child = d->op.child;
        if (child)
            d->order[d->n++] = (long)(intptr_t)d->op.tag;
        fut_drop(&d->op.base);
        if (!child)
            return fut_ready(self, out == -ECHILD ? d->n : out);
    }
}

static void drainer_drop(fut *self)
{
    struct drainer *d = (struct drainer *)self;
    if (d->waiting)
        fut_drop(&d->op.base);
}

static const struct fut_vtable drainer_vt = {sizeof(struct fut_vtable), "drainer", drainer_poll,
                                             NULL, drainer_drop};

START_TEST(next_loop_in_task)
{
    /* The order is the jobs' deadlines': on the auto clock they hold
     * however late a loaded machine (or a scheduling seed) polls them. */
    ck_assert_int_eq(fut_rt_set_clock(rt, FUT_CLOCK_AUTO), 0);
    struct tally t = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, FUT_SCOPE_COLLECT);
    static const double delay[8] = {0.012, 0.002, 0.010, 0.004, 0.016, 0.006, 0.014, 0.008};
    for (long i = 0; i < 8; i++) {
        struct job j = job_make(delay[i], 0, &t);
        ck_assert_int_eq(FUT_SCOPE_SPAWN_TAG(&sc, &j, (void *)(intptr_t)i, NULL), 0);
    }
    struct drainer d;
    memset(&d, 0, sizeof d);
    fut_init(&d.base, &drainer_vt);
    d.sc = &sc;
    ck_assert_int_eq(th_block(rt, &d.base), 8);
    static const long want[8] = {1, 3, 5, 7, 2, 0, 6, 4};
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(d.order[i], want[i]);
    ck_assert_int_eq(fut_drop(&d.base), 0);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

/* --- the server policy, on real sockets ---------------------------------- */

/* A server connection: reads one byte; 'e' makes it fail with -EPROTO,
 * anything else is answered with 'k'. Its stream closes gracefully. */
struct sconn {
    fut base;
    fut_coro co;
    fut_stream s;
    fut_stream_op op;
    char b;
};

static fut_status sconn_body(struct sconn *c, fut_cx *cx)
{
    FUT_BEGIN(&c->co);
    FUT_BIND_ASYNC(&c->s.base);
    FUT_AWAIT(cx, fut_stream_read_exact(&c->op, &c->s, &c->b, 1));
    if (fut_out(&c->op.base) < 0)
        FUT_RETURN(fut_out(&c->op.base));
    if (c->b == 'e')
        FUT_RETURN(-EPROTO);
    FUT_AWAIT(cx, fut_stream_write(&c->op, &c->s, "k", 1));
    FUT_RETURN(fut_out(&c->op.base) < 0 ? fut_out(&c->op.base) : 0);
    FUT_END();
}
FUT_CORO_DEFINE(sconn, sconn_body);

/* Accepts n connections, each a task in the scope; a spawn refused ends
 * it with that error. */
struct acceptor {
    fut base;
    fut_coro co;
    fut_listener *l;
    fut_scope *conns;
    fut_accept acc;
    struct sconn c;
    int n, accepted;
};

static fut_status acceptor_body(struct acceptor *a, fut_cx *cx)
{
    FUT_BEGIN(&a->co);
    while (a->accepted < a->n) {
        FUT_AWAIT(cx, fut_accept_init(&a->acc, a->l, &a->c.s, NULL));
        if (fut_out(&a->acc.base) < 0)
            FUT_RETURN(fut_out(&a->acc.base));
        FUT_CORO_INIT(&a->c, sconn);
        int err = FUT_SCOPE_SPAWN(a->conns, &a->c, NULL);
        if (err < 0) {
            fut_drop(&a->c.s.base);
            FUT_RETURN(err);
        }
        a->accepted++;
    }
    FUT_RETURN(a->accepted);
    FUT_END();
}
FUT_CORO_DEFINE(acceptor, acceptor_body);

struct replies {
    int ok, eof;
};

/* A client: connects, sends one byte, reads the answer (or end of file). */
struct client {
    fut base;
    fut_coro co;
    const fut_addr *addr;
    fut_connect conn;
    fut_stream s;
    fut_stream_op op;
    char out, in;
    struct replies *r;
};

static fut_status client_body(struct client *c, fut_cx *cx)
{
    FUT_BEGIN(&c->co);
    FUT_AWAIT(cx, fut_connect_init(&c->conn, c->addr, &c->s, NULL));
    if (fut_out(&c->conn.base) < 0)
        FUT_RETURN(fut_out(&c->conn.base));
    FUT_BIND_ASYNC(&c->s.base);
    FUT_AWAIT(cx, fut_stream_write(&c->op, &c->s, &c->out, 1));
    if (fut_out(&c->op.base) < 0)
        FUT_RETURN(fut_out(&c->op.base));
    FUT_AWAIT(cx, fut_stream_read(&c->op, &c->s, &c->in, 1));
    if (fut_out(&c->op.base) == 1 && c->in == 'k')
        c->r->ok++;
    else if (fut_out(&c->op.base) == 0)
        c->r->eof++;
    FUT_RETURN(fut_out(&c->op.base) < 0 ? fut_out(&c->op.base) : 0);
    FUT_END();
}
FUT_CORO_DEFINE(client, client_body);

/* Starts n clients through fut_scope_spawn_wait (the scope's limit bounds
 * the fds in use); every tenth sends 'e'. */
struct clients {
    fut base;
    fut_scope *sc;
    const fut_addr *addr;
    struct replies *r;
    fut_scope_spawn_op op;
    struct client c;
    int n, spawned, waiting;
};

static fut_status clients_poll(fut *self, fut_cx *cx)
{
    struct clients *p = (struct clients *)self;
    while (p->spawned < p->n) {
        if (!p->waiting) {
            memset(&p->c, 0, sizeof p->c);
            p->c.addr = p->addr;
            p->c.out = p->spawned % 10 == 9 ? 'e' : 'x';
            p->c.r = p->r;
            FUT_CORO_INIT(&p->c, client);
            FUT_SCOPE_SPAWN_WAIT(&p->op, p->sc, &p->c, NULL, NULL);
            p->waiting = 1;
        }
        if (fut_poll(&p->op.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        p->waiting = 0;
        ssize_t err = fut_out(&p->op.base);
        fut_drop(&p->op.base);
        if (err < 0)
            return fut_ready(self, err);
        p->spawned++;
    }
    return fut_ready(self, p->spawned);
}

static void clients_drop(fut *self)
{
    struct clients *p = (struct clients *)self;
    if (p->waiting)
        fut_drop(&p->op.base);
}

static const struct fut_vtable clients_vt = {sizeof(struct fut_vtable), "clients", clients_poll,
                                             NULL, clients_drop};

/* 1,000 connections to a listener, every tenth connection's task fails:
 * the server keeps serving the others and logs each failure. */
START_TEST(server_policy_on_sockets)
{
    fut_listener l;
    ck_assert_int_eq(fut_listener_open(rt, &l, "127.0.0.1:0", 0, 0), 0);
    struct errlog log = {0};
    fut_scope conns, cls;
    fut_scope_init(&conns, rt, FUT_SCOPE_KEEP_GOING);
    ck_assert_int_eq(fut_scope_set_error_handler(&conns, log_error, &log), 0);
    fut_scope_init(&cls, rt, FUT_SCOPE_KEEP_GOING);
    ck_assert_int_eq(fut_scope_set_limit(&cls, 50), 0);

    struct acceptor a;
    memset(&a, 0, sizeof a);
    a.l = &l;
    a.conns = &conns;
    a.n = 1000;
    FUT_CORO_INIT(&a, acceptor);
    fut_join ja;
    ck_assert_int_eq(FUT_SPAWN(rt, &a, &ja), 0);

    struct replies r = {0};
    struct clients p;
    memset(&p, 0, sizeof p);
    fut_init(&p.base, &clients_vt);
    p.sc = &cls;
    p.addr = fut_listener_addr(&l);
    p.r = &r;
    p.n = 1000;
    ck_assert_int_eq(th_block(rt, &p.base), 1000);
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert_int_eq(th_block(rt, &cls.base), 0);
    ck_assert_int_eq(th_block(rt, &ja.base), 1000);
    ck_assert_int_eq(fut_drop(&ja.base), 0);
    ck_assert_int_eq(th_block(rt, &conns.base), -EPROTO);
    ck_assert_int_eq(r.ok, 900);
    ck_assert_int_eq(r.eof, 100);
    ck_assert_int_eq(log.calls, 100);
    ck_assert_int_eq(log.first, -EPROTO);
    struct fut_scope_result res;
    fut_scope_result(&conns, &res);
    ck_assert_uint_eq(res.errors, 100);
    ck_assert_int_eq(res.first_error, -EPROTO);
    ck_assert_int_eq(fut_drop(&conns.base), 0);
    ck_assert_int_eq(fut_drop(&cls.base), 0);
    ck_assert_int_eq(fut_drop(&l.base), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scopeset");
    TCase *tc = tcase_create("scopeset");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, supervisor_keeps_going);
    tcase_add_test(tc, first_error_policy_reports_and_refuses);
    tcase_add_test(tc, limit_bounds_concurrency);
    tcase_add_test(tc, limit_try_spawn_and_dropped_wait);
    tcase_add_test(tc, limit_raised_lets_waiters_in);
    tcase_add_test(tc, spawn_wait_refused);
    tcase_add_test(tc, next_in_finish_order);
    tcase_add_test(tc, next_takes_kept_children);
    tcase_add_test(tc, next_on_empty_scope);
    tcase_add_test(tc, dropped_next_loses_nothing);
    tcase_add_test(tc, scope_drop_lets_next_go);
    tcase_add_test(tc, next_loop_in_task);
    tcase_add_test(tc, server_policy_on_sockets);
    suite_add_tcase(s, tc);
    return th_run(s);
}
