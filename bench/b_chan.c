/* SPDX-License-Identifier: MIT */
/* B10, libfut: messages through a fut_chan between two tasks.
 *
 * Modes:
 *   stream    a producer task sends N items (fut_chan_send) into a channel
 *             of capacity M (default 64), a consumer task receives them
 *             (fut_chan_recv); the producer waits when the ring is full,
 *             the consumer when it is empty. One op = one message: its
 *             send, its receive and their share of the wakes.
 *   pingpong  two tasks and two channels of capacity M (default 1): the
 *             first sends a message and waits for the answer, the second
 *             answers each one. One op = one message (a round trip is
 *             two): every message is a send, a receive and a wake.
 * No twin yet.
 */
#include <fut.h>

#include "bench.h"

#define MODES "stream pingpong"

/* Sends n items to out and, with in set, waits for an answer after each. */
struct peer {
    fut base;
    fut_chan *out, *in;
    long n, i;
    int sending, receiving; /* the op below is initialised */
    fut_chan_send_op s;
    fut_chan_recv_op r;
    int answerer; /* receives first, answers each message */
    long bad;
};

static fut_status peer_poll(fut *self, fut_cx *cx)
{
    struct peer *p = (struct peer *)self;
    while (p->i < p->n) {
        int send_turn = p->answerer ? p->receiving == 2 : !p->receiving;
        if (!p->in)
            send_turn = 1;
        if (send_turn) {
            if (!p->sending) {
                fut_chan_send(&p->s, p->out, (void *)(uintptr_t)(p->i + 1));
                p->sending = 1;
            }
            if (fut_poll(&p->s.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            p->bad += fut_out(&p->s.base) != 0;
            /* READY holds nothing: re-initialised without a drop (<fut/chan.h>) */
            p->sending = 0;
            if (!p->in || p->answerer) {
                p->receiving = 0;
                p->i++;
                continue;
            }
            p->receiving = 0;
        }
        if (!p->receiving) {
            fut_chan_recv(&p->r, p->in);
            p->receiving = 1;
        }
        if (fut_poll(&p->r.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        p->bad += fut_out(&p->r.base) != 0 ||
                  fut_chan_recv_item(&p->r) != (void *)(uintptr_t)(p->i + 1);
        /* (no drop: see above) */
        if (p->answerer) {
            p->receiving = 2; /* answer it */
        } else {
            p->receiving = 0;
            p->i++;
        }
    }
    return fut_ready(self, p->bad);
}

/* Receives n items from in. */
struct sink {
    fut base;
    fut_chan *in;
    long n, i;
    int armed;
    fut_chan_recv_op r;
    long bad;
};

static fut_status sink_poll(fut *self, fut_cx *cx)
{
    struct sink *k = (struct sink *)self;
    while (k->i < k->n) {
        if (!k->armed) {
            fut_chan_recv(&k->r, k->in);
            k->armed = 1;
        }
        if (fut_poll(&k->r.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        k->bad += fut_out(&k->r.base) != 0 ||
                  fut_chan_recv_item(&k->r) != (void *)(uintptr_t)(k->i + 1);
        /* READY holds nothing: re-initialised without a drop */
        k->armed = 0;
        k->i++;
    }
    return fut_ready(self, k->bad);
}

static const struct fut_vtable peer_vt = {
    .size = sizeof(struct fut_vtable), .name = "bench_chan_peer", .poll = peer_poll};
static const struct fut_vtable sink_vt = {
    .size = sizeof(struct fut_vtable), .name = "bench_chan_sink", .poll = sink_poll};

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
    .size = sizeof(struct fut_vtable), .name = "bench_both", .poll = both_poll};

static void run(const struct bench_args *a, int pingpong)
{
    long cap = a->m > 0 ? a->m : (pingpong ? 1 : 64);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    fut_chan *c1, *c2 = NULL;
    BENCH_CHECK(fut_chan_new(&c1, (size_t)cap, NULL, NULL) == 0);
    if (pingpong)
        BENCH_CHECK(fut_chan_new(&c2, (size_t)cap, NULL, NULL) == 0);
    long rounds = pingpong ? a->n / 2 : a->n;
    if (rounds < 1)
        rounds = 1;
    fut_join j[2];
    double t0 = bench_now();
    if (pingpong) {
        struct peer p = {.out = c1, .in = c2, .n = rounds};
        struct peer q = {.out = c2, .in = c1, .n = rounds, .answerer = 1};
        fut_init(&p.base, &peer_vt);
        fut_init(&q.base, &peer_vt);
        BENCH_CHECK(FUT_SPAWN(rt, &p, &j[0]) == 0);
        BENCH_CHECK(FUT_SPAWN(rt, &q, &j[1]) == 0);
    } else {
        struct peer p = {.out = c1, .n = rounds};
        struct sink k = {.in = c1, .n = rounds};
        fut_init(&p.base, &peer_vt);
        fut_init(&k.base, &sink_vt);
        BENCH_CHECK(FUT_SPAWN(rt, &p, &j[0]) == 0);
        BENCH_CHECK(FUT_SPAWN(rt, &k, &j[1]) == 0);
    }
    struct both b = {.j = j};
    fut_init(&b.base, &both_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &b.base, NULL) == 0);
    double t1 = bench_now();
    BENCH_CHECK(fut_join_finished(&j[0]) && fut_join_finished(&j[1]));
    BENCH_CHECK(fut_out(&j[0].base) == 0 && fut_out(&j[1].base) == 0);
    BENCH_CHECK(fut_chan_len(c1) == 0);
    fut_drop(&b.base);
    fut_drop(&j[0].base);
    fut_drop(&j[1].base);
    bench_report_ops(a, t1 - t0, (double)(pingpong ? 2 * rounds : rounds));
    BENCH_CHECK(fut_chan_free(c1) == 0 && fut_chan_free(c2) == 0);
    BENCH_CHECK(fut_rt_free(rt) == 0);
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (bench_mode_is(&a, "stream"))
        run(&a, 0);
    else if (bench_mode_is(&a, "pingpong"))
        run(&a, 1);
    else
        bench_usage(a.prog, MODES);
    return 0;
}
