/* SPDX-License-Identifier: MIT */
/* B2, libfut: wake-ups between tasks.
 *
 * Modes:
 *   hop     two tasks share a token. The one holding it passes it over:
 *           wakes the other (fut_waker_wake on the waker it cloned at its
 *           first poll) and returns PENDING; the other is polled from the
 *           run queue, and so on. One hop = one wake + one task poll that
 *           returns PENDING. After N hops both return READY. ns/op is per
 *           hop. M > 1 makes it N * M hops (the same stream, longer).
 *   select  N rounds of a select over K = M children (default 8), with
 *           libfut's combinator: each round a fut_select over K fresh
 *           children, awaited from the selecting task. Each child is a
 *           future pending on its own notify cell (a flag and a waker slot:
 *           the child keeps the polling task's waker there and gives it
 *           back when dropped). A driver task sets child r % K's flag and
 *           wakes it, then waits; the select returns r % K (its losers are
 *           dropped, as fut_select does, and the winner with the select),
 *           the task checks the index, wakes the driver and builds the next
 *           round's select: the shape of Tokio's select! in a loop. One
 *           round = two wakes, two task polls, K child polls to arm, up to
 *           K to find the winner, K child drops. ns/op is per round.
 *   select_hand  the same rounds with a hand-made select that keeps its
 *           children: it polls them in order until one is READY and
 *           returns its index; only the winner is replaced by a fresh child
 *           (K/2 + 1 child polls per round on average, one re-armed): the
 *           cheapest select shape, for comparison.
 * Twin: b_wake_ev.c.
 */
#include <fut.h>

#include "bench.h"

#define MODES "hop select select_hand"

struct court {
    long hops, n;
    int token;       /* whose turn: 0 or 1 */
    fut_waker *w[2]; /* each side's waker, cloned at its first poll */
    long spurious;   /* polls without the token (should stay 0 past the start) */
};

struct player {
    fut base;
    struct court *c;
    int me;
};

static fut_status player_poll(fut *self, fut_cx *cx)
{
    struct player *p = (struct player *)self;
    struct court *c = p->c;
    int me = p->me;
    if (!c->w[me])
        c->w[me] = fut_waker_clone(fut_cx_waker(cx));
    if (c->hops >= c->n) {
        if (c->w[!me])
            fut_waker_wake(c->w[!me]); /* let the other one finish too */
        return fut_ready(self, 0);
    }
    if (c->token == me) {
        c->token = !me;
        c->hops++;
        if (c->w[!me])
            fut_waker_wake(c->w[!me]);
    } else {
        c->spurious++;
    }
    /* Our waker is held by the court: the wake is arranged. */
    (void)fut_cx_waker(cx);
    return FUT_PENDING;
}

static void player_drop(fut *self)
{
    struct player *p = (struct player *)self;
    fut_waker_drop(p->c->w[p->me]);
    p->c->w[p->me] = NULL;
}

static const struct fut_vtable player_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_player",
    .poll = player_poll,
    .drop = player_drop,
};

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
    .size = sizeof(struct fut_vtable),
    .name = "bench_both",
    .poll = both_poll,
};

static void hop(const struct bench_args *a)
{
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    long hops = a->n * bench_rounds(a);
    struct court c = {.n = hops};
    fut_join j[2];

    double t0 = bench_now();
    for (int i = 0; i < 2; i++) {
        struct player p = {.c = &c, .me = i};
        fut_init(&p.base, &player_vt);
        BENCH_CHECK(FUT_SPAWN(rt, &p, &j[i]) == 0);
    }
    struct both b = {.j = j};
    fut_init(&b.base, &both_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &b.base, NULL) == 0);
    double t1 = bench_now();

    BENCH_CHECK(c.hops == hops && c.spurious <= 1);
    BENCH_CHECK(fut_join_finished(&j[0]) && fut_join_finished(&j[1]));
    fut_drop(&b.base);
    fut_drop(&j[0].base);
    fut_drop(&j[1].base);
    bench_report_ops(a, t1 - t0, (double)hops);
    BENCH_CHECK(fut_rt_free(rt) == 0);
}

/* --- select ------------------------------------------------------------------ */

/* A notify cell: set by the driver, consumed by the child waiting on it. */
struct notify {
    int set;
    fut_waker *w; /* the waiting child's task, owned by the child */
};

/* Pending until its cell is set; output: its index. */
struct child {
    fut base;
    struct notify *cell;
    long idx;
};

static fut_status child_poll(fut *self, fut_cx *cx)
{
    struct child *c = (struct child *)self;
    struct notify *n = c->cell;
    if (n->set) {
        n->set = 0;
        return fut_ready(self, c->idx);
    }
    fut_waker *w = fut_cx_waker(cx);
    if (n->w != w) {
        fut_waker_drop(n->w);
        n->w = fut_waker_clone(w);
    }
    return FUT_PENDING;
}

static void child_drop(fut *self)
{
    struct child *c = (struct child *)self;
    fut_waker_drop(c->cell->w);
    c->cell->w = NULL;
}

static const struct fut_vtable child_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_select_child",
    .poll = child_poll,
    .drop = child_drop,
};

static void child_init(struct child *c, struct notify *cell, long idx)
{
    fut_init(&c->base, &child_vt);
    c->cell = cell;
    c->idx = idx;
}

/* The hand-made select: polls the K children in order until one is READY,
 * returns its index. The winner is done: the owner re-arms it before the
 * next poll. */
struct select_fut {
    fut base;
    struct child *c;
    long k;
};

static fut_status select_poll(fut *self, fut_cx *cx)
{
    struct select_fut *s = (struct select_fut *)self;
    for (long i = 0; i < s->k; i++)
        if (fut_poll(&s->c[i].base, cx) == FUT_READY)
            return fut_ready(self, fut_out(&s->c[i].base));
    return FUT_PENDING;
}

static const struct fut_vtable select_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_select",
    .poll = select_poll,
};

struct arena {
    long n, k;
    struct notify *cells;
    long sent, won;    /* rounds started by the driver, rounds the select won */
    long wrong;        /* select returned another index than the one set */
    fut_waker *driver; /* the driver's waker */
};

/* The selecting task: select, check, re-arm, tell the driver. */
struct selector {
    fut base;
    struct arena *ar;
    struct child *c;
    fut **kids; /* library mode: &c[i].base, the fut_select's children */
    int hand;   /* the hand-made select instead of fut_select */
    int armed;  /* library mode: the select of this round is initialised */
    struct select_fut s;
    fut_select ls;
};

/* Library mode: a fresh round, K fresh children and a fut_select. */
static void arm_round(struct selector *t)
{
    for (long i = 0; i < t->ar->k; i++)
        child_init(&t->c[i], &t->ar->cells[i], i);
    fut_select_init(&t->ls, t->kids, (size_t)t->ar->k, 0, NULL);
    t->armed = 1;
}

static fut_status selector_poll(fut *self, fut_cx *cx)
{
    struct selector *t = (struct selector *)self;
    struct arena *ar = t->ar;
    for (;;) {
        long w;
        if (t->hand) {
            if (fut_poll(&t->s.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            w = fut_out(&t->s.base);
            /* Re-arm: the winner is replaced by a fresh child, the select
             * made ready to be polled again. */
            BENCH_CHECK(w >= 0 && w < ar->k && fut_drop(&t->c[w].base) == 0);
            child_init(&t->c[w], &ar->cells[w], w);
            fut_init(&t->s.base, &select_vt);
        } else {
            if (!t->armed)
                arm_round(t);
            if (fut_poll(&t->ls.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            w = fut_out(&t->ls.base);
            /* The losers are gone; the winner goes with the select (its
             * children drop synchronously: READY at once). */
            BENCH_CHECK(fut_poll_drop(&t->ls.base, cx) == FUT_READY);
            t->armed = 0;
        }
        if (w != ar->won % ar->k)
            ar->wrong++;
        ar->won++;
        if (ar->driver)
            fut_waker_wake(ar->driver);
        if (ar->won == ar->n)
            return fut_ready(self, 0);
    }
}

static void selector_drop(fut *self)
{
    struct selector *t = (struct selector *)self;
    if (t->hand) {
        for (long i = 0; i < t->ar->k; i++)
            BENCH_CHECK(fut_drop(&t->c[i].base) == 0);
        fut_drop(&t->s.base);
    } else if (t->armed) {
        BENCH_CHECK(fut_drop(&t->ls.base) == 0);
    }
}

static const struct fut_vtable selector_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_selector",
    .poll = selector_poll,
    .drop = selector_drop,
};

/* The driver task: starts a round once the previous one was won. */
struct driver {
    fut base;
    struct arena *ar;
};

static fut_status driver_poll(fut *self, fut_cx *cx)
{
    struct arena *ar = ((struct driver *)self)->ar;
    if (!ar->driver)
        ar->driver = fut_waker_clone(fut_cx_waker(cx));
    if (ar->sent == ar->won) {
        if (ar->sent == ar->n)
            return fut_ready(self, 0);
        struct notify *cell = &ar->cells[ar->sent % ar->k];
        cell->set = 1;
        ar->sent++;
        if (cell->w)
            fut_waker_wake(cell->w);
    }
    (void)fut_cx_waker(cx); /* the arena holds our waker */
    return FUT_PENDING;
}

static void driver_drop(fut *self)
{
    struct arena *ar = ((struct driver *)self)->ar;
    fut_waker_drop(ar->driver);
    ar->driver = NULL;
}

static const struct fut_vtable driver_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_select_driver",
    .poll = driver_poll,
    .drop = driver_drop,
};

static void select_rounds(const struct bench_args *a, int hand)
{
    long k = a->m > 0 ? a->m : 8;
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    struct arena ar = {.n = a->n, .k = k};
    ar.cells = calloc((size_t)k, sizeof *ar.cells);
    struct child *c = calloc((size_t)k, sizeof *c);
    fut **kids = calloc((size_t)k, sizeof *kids);
    BENCH_CHECK(ar.cells && c && kids);
    for (long i = 0; i < k; i++) {
        child_init(&c[i], &ar.cells[i], i);
        kids[i] = &c[i].base;
    }
    struct selector sel = {.ar = &ar, .c = c, .kids = kids, .hand = hand};
    fut_init(&sel.base, &selector_vt);
    sel.s.c = c;
    sel.s.k = k;
    fut_init(&sel.s.base, &select_vt);
    struct driver drv = {.ar = &ar};
    fut_init(&drv.base, &driver_vt);
    fut_join j[2];

    double t0 = bench_now();
    /* The selector first: its select has armed every child before the
     * driver's first poll. */
    BENCH_CHECK(FUT_SPAWN(rt, &sel, &j[0]) == 0);
    BENCH_CHECK(FUT_SPAWN(rt, &drv, &j[1]) == 0);
    struct both b = {.j = j};
    fut_init(&b.base, &both_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &b.base, NULL) == 0);
    double t1 = bench_now();

    BENCH_CHECK(ar.won == a->n && ar.sent == a->n && ar.wrong == 0);
    fut_drop(&b.base);
    fut_drop(&j[0].base);
    fut_drop(&j[1].base);
    bench_report(a, t1 - t0);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    for (long i = 0; i < k; i++)
        BENCH_CHECK(ar.cells[i].w == NULL);
    free(kids);
    free(c);
    free(ar.cells);
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (bench_mode_is(&a, "hop"))
        hop(&a);
    else if (bench_mode_is(&a, "select"))
        select_rounds(&a, 0);
    else if (bench_mode_is(&a, "select_hand"))
        select_rounds(&a, 1);
    else
        bench_usage(a.prog, MODES);
    return 0;
}
