/* SPDX-License-Identifier: MIT */
/* B5, libfut: fd readiness hop. Two tasks ping-pong one byte over two
 * pipes, N hops.
 *
 * Task A writes a byte to p1 and reads p2; task B reads p1 and writes p2.
 * One hop = one byte one way: a write, the peer's wake through epoll, its
 * read. Every fd is a registered fut_fd (<fut/fd.h>) opened once; the
 * I/O goes through fut_fd_read()/fut_fd_write(). Reads ask for
 * 64 bytes and get 1: the short read clears the cached readability, so
 * the next read waits without a failing read(2) first. In steady state a
 * hop should cost exactly write + epoll_wait + read, and no epoll_ctl
 * (`bench/echo.sh --fdhop` counts them with strace). Bytes carry the hop
 * number (mod 256) and are checked on arrival. ns/op is per hop. Twin:
 * b_fdhop_ev.c.
 *
 * Mode: pipe.
 */
#include <fut.h>

#include "bench.h"

#define MODES "pipe"

struct court {
    long n;
    long reads; /* bytes received, both sides: n at the end */
    long bad;   /* bytes that arrived out of order */
};

enum { S_START, S_WRITE, S_READ, S_DONE };

/* One side. `first` (A) writes first; B reads first. A handles hops 0, 2,
 * 4, ... as writer and 1, 3, ... as reader; B the other way round. */
struct player {
    fut base;
    struct court *c;
    fut_fd *in, *out;
    int first;
    int state;
    long hop;              /* the hop this side is doing now */
    unsigned char byte;    /* written */
    unsigned char buf[64]; /* read */
    fut_fd_op op;
};

static fut_status player_poll(fut *self, fut_cx *cx)
{
    struct player *p = (struct player *)self;
    struct court *c = p->c;
    for (;;) {
        switch (p->state) {
        case S_START:
            p->hop = 0;
            if (p->first) {
                p->byte = (unsigned char)p->hop;
                fut_fd_write(&p->op, p->out, &p->byte, 1);
                p->state = S_WRITE;
            } else {
                fut_fd_read(&p->op, p->in, p->buf, sizeof p->buf);
                p->state = S_READ;
            }
            break;
        case S_WRITE:
            if (fut_poll(&p->op.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            BENCH_CHECK(fut_out(&p->op.base) == 1);
            fut_drop(&p->op.base);
            p->hop++; /* the peer reads this hop; we read the next one */
            if (p->hop >= c->n) {
                p->state = S_DONE;
                break;
            }
            fut_fd_read(&p->op, p->in, p->buf, sizeof p->buf);
            p->state = S_READ;
            break;
        case S_READ:
            if (fut_poll(&p->op.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            BENCH_CHECK(fut_out(&p->op.base) == 1);
            fut_drop(&p->op.base);
            if (p->buf[0] != (unsigned char)p->hop)
                c->bad++;
            c->reads++;
            p->hop++;
            if (p->hop >= c->n) {
                p->state = S_DONE;
                break;
            }
            p->byte = (unsigned char)p->hop;
            fut_fd_write(&p->op, p->out, &p->byte, 1);
            p->state = S_WRITE;
            break;
        default:
            return fut_ready(self, 0);
        }
    }
}

static void player_drop(fut *self)
{
    struct player *p = (struct player *)self;
    if (p->state == S_READ || p->state == S_WRITE)
        fut_drop(&p->op.base);
}

static const struct fut_vtable player_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "bench_fdhop_player",
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
    if (!bench_mode_is(&a, "pipe"))
        bench_usage(a.prog, MODES);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    int p1[2], p2[2];
    BENCH_CHECK(pipe(p1) == 0 && pipe(p2) == 0);
    /* A writes p1[1], reads p2[0]; B reads p1[0], writes p2[1]. */
    fut_fd a_out, a_in, b_in, b_out;
    BENCH_CHECK(fut_fd_open(rt, &a_out, p1[1]) == 0);
    BENCH_CHECK(fut_fd_open(rt, &a_in, p2[0]) == 0);
    BENCH_CHECK(fut_fd_open(rt, &b_in, p1[0]) == 0);
    BENCH_CHECK(fut_fd_open(rt, &b_out, p2[1]) == 0);
    struct court c = {.n = a.n};
    fut_join j[2];

    double t0 = bench_now();
    for (int i = 0; i < 2; i++) {
        struct player p = {.c = &c,
                           .first = i == 0,
                           .in = i == 0 ? &a_in : &b_in,
                           .out = i == 0 ? &a_out : &b_out,
                           .state = S_START};
        fut_init(&p.base, &player_vt);
        BENCH_CHECK(FUT_SPAWN(rt, &p, &j[i]) == 0);
    }
    struct both b = {.j = j};
    fut_init(&b.base, &both_vt);
    BENCH_CHECK(fut_rt_block_on(rt, &b.base, NULL) == 0);
    double t1 = bench_now();

    BENCH_CHECK(c.reads == a.n && c.bad == 0);
    BENCH_CHECK(fut_out(&j[0].base) == 0 && fut_out(&j[1].base) == 0);
    fut_drop(&b.base);
    fut_drop(&j[0].base);
    fut_drop(&j[1].base);
    bench_report(&a, t1 - t0);
    fut_fd_close(&a_out);
    fut_fd_close(&a_in);
    fut_fd_close(&b_in);
    fut_fd_close(&b_out);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
    close(p2[1]);
    return 0;
}
