/* B2, libfut: wake ping-pong between two tasks, N hops.
 *
 * Two tasks share a token. The one holding it passes it over: wakes the
 * other (fut_waker_wake on the waker it cloned at its first poll) and
 * returns PENDING; the other is polled from the run queue, and so on. One
 * hop = one wake + one task poll that returns PENDING. After N hops both
 * return READY. ns/op is per hop. Twin: b_wake_ev.c.
 *
 * Mode: hop.
 */
#include <fut.h>

#include "bench.h"

#define MODES "hop"

struct court {
    long hops, n;
    int token;           /* whose turn: 0 or 1 */
    fut_waker *w[2];     /* each side's waker, cloned at its first poll */
    long spurious;       /* polls without the token (should stay 0 past the start) */
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

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (!bench_mode_is(&a, "hop"))
        bench_usage(a.prog, MODES);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    struct court c = {.n = a.n};
    fut_join j[2];

    double t0 = bench_now();
    for (int i = 0; i < 2; i++) {
        struct player p = {.c = &c, .me = i};
        fut_init(&p.base, &player_vt);
        BENCH_CHECK(FUT_SPAWN(rt, &p, &j[i]) == 0);
    }
    struct both b = {.j = j};
    fut_init(&b.base, &both_vt);
    BENCH_CHECK(fut_block_on(rt, &b.base, NULL) == 0);
    double t1 = bench_now();

    BENCH_CHECK(c.hops == a.n && c.spurious <= 1);
    BENCH_CHECK(fut_join_finished(&j[0]) && fut_join_finished(&j[1]));
    fut_drop(&b.base);
    fut_drop(&j[0].base);
    fut_drop(&j[1].base);
    bench_report(&a, t1 - t0);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    return 0;
}
