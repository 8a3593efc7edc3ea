/* SPDX-License-Identifier: MIT */
/* Select over K children: the cost per extra child, inline and with branch
 * tasks, and the teardown path of a select loser.
 *
 *   b_select inline|tasks K N     N rounds of fut_select over K children:
 *                                 child (round % K) is READY at its first
 *                                 poll, the others would wait forever and
 *                                 their poll_drop is READY at once.
 *   b_select loser 2 N            N rounds of a select of two: the winner
 *                                 is READY at once, the loser's poll_drop
 *                                 is PENDING once (it wakes itself) then
 *                                 READY: the async teardown path.
 *
 * Prints `b_select <mode> n=N m=K ns/op=<ns per round>`. The cost per
 * extra child is (ns(K=8) - ns(K=2)) / 6; bench/callgrind.sh gives the
 * same in instructions. Rounds run inside one coroutine task, so the
 * measured section is the rounds only.
 */
#include <errno.h>
#include <fut.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXK 64

/* A child: READY at once when `ready`, else pending forever (keeps the
 * waker). Its teardown is READY at once, or PENDING once with `slow`. */
struct child {
    fut base;
    int ready, slow, dropping;
    fut_waker *w;
};

static fut_status child_poll(fut *self, fut_cx *cx)
{
    struct child *c = (struct child *)self;
    if (c->ready)
        return fut_ready(self, 1);
    if (!c->w)
        c->w = fut_waker_clone(fut_cx_waker(cx));
    return FUT_PENDING;
}

static fut_status child_poll_drop(fut *self, fut_cx *cx)
{
    struct child *c = (struct child *)self;
    if (c->slow && !c->dropping) {
        c->dropping = 1;
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    fut_waker_drop(c->w);
    c->w = NULL;
    return FUT_READY;
}

static const struct fut_vtable child_vt = {sizeof(struct fut_vtable), "child", child_poll,
                                           child_poll_drop, NULL};

struct driver {
    fut base;
    fut_coro co;
    long n, round;
    size_t k;
    unsigned flags;
    int slow_loser;
    struct child kids[MAXK];
    fut *ptrs[MAXK];
    fut_join joins[MAXK];
    fut_select sel;
    long wins;
};

static fut_status driver_body(struct driver *d, fut_cx *cx)
{
    FUT_BEGIN(&d->co);
    for (d->round = 0; d->round < d->n; d->round++) {
        for (size_t i = 0; i < d->k; i++) {
            fut_init(&d->kids[i].base, &child_vt);
            d->kids[i].ready = (size_t)(d->round % (long)d->k) == i;
            d->kids[i].slow = d->slow_loser && !d->kids[i].ready;
            d->kids[i].dropping = 0;
            d->kids[i].w = NULL;
            d->ptrs[i] = &d->kids[i].base;
        }
        FUT_AWAIT(cx, fut_select_init(&d->sel, d->ptrs, d->k, d->flags, d->joins));
        /* The await dropped the select, the winner with it: an async
         * drop, no loop needed. */
        if (fut_out(&d->sel.base) == d->round % (long)d->k)
            d->wins++;
    }
    FUT_RETURN(d->wins);
    FUT_END();
}
FUT_CORO_DEFINE(driver, driver_body);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s inline|tasks|loser K N\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    long k = (long)strtod(argv[2], NULL), n = (long)strtod(argv[3], NULL);
    if (k < 1 || k > MAXK || n < 1)
        return 2;
    static struct driver d;
    memset(&d, 0, sizeof d);
    d.k = (size_t)k;
    d.n = n;
    if (!strcmp(mode, "tasks"))
        d.flags = FUT_BRANCH_TASKS;
    else if (!strcmp(mode, "loser"))
        d.slow_loser = 1;
    else if (strcmp(mode, "inline")) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    fut_rt *rt;
    if (fut_rt_new(&rt, NULL))
        return 1;
    FUT_CORO_INIT(&d, driver);
    ssize_t wins = 0;
    double t0 = now();
    fut_rt_block_on(rt, &d.base, &wins);
    double t1 = now();
    fut_drop(&d.base);
    fut_rt_free(rt);
    if (wins != n) {
        fprintf(stderr, "b_select: %zd of %ld rounds won by the expected child\n", wins, n);
        return 1;
    }
    printf("b_select %s n=%ld m=%ld ns/op=%.1f\n", mode, n, k, (t1 - t0) * 1e9 / (double)n);
    return 0;
}
