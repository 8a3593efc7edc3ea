/* SPDX-License-Identifier: MIT */
/* io_uring reads against readiness reads on a pipe: two tasks ping-pong
 * one byte over two pipes (as B5), with each side's read and write done
 *
 *   b_uring uring N       as io_uring operations (fut_uring_read/write)
 *   b_uring fd N          as readiness I/O on registered fds (fut_fd)
 *
 * Prints `b_uring <mode> n=N m=0 ns/op=<ns per hop>` (a hop: one byte one
 * way). With FUT_NO_URING=1, "uring" measures the fallback.
 */
#include <errno.h>
#include <fut.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int use_uring;
static long hops;

struct side {
    fut base;
    fut_coro co;
    int in, out;        /* fds */
    fut_fd *fin, *fout; /* registered, for the readiness mode */
    int first;          /* writes first */
    long i;
    char c;
    fut_uring_op op;
    fut_fd_op io;
};

static fut *read_op(struct side *s)
{
    return use_uring ? fut_uring_read(&s->op, s->in, &s->c, 1, -1)
                     : fut_fd_read(&s->io, s->fin, &s->c, 1);
}

static fut *write_op(struct side *s)
{
    return use_uring ? fut_uring_write(&s->op, s->out, "x", 1, -1)
                     : fut_fd_write(&s->io, s->fout, "x", 1);
}

static fut *cur(struct side *s)
{
    return use_uring ? &s->op.base : &s->io.base;
}

static fut_status side_body(struct side *s, fut_cx *cx)
{
    FUT_BEGIN(&s->co);
    for (s->i = 0; s->i < hops / 2; s->i++) {
        if (s->first) {
            FUT_AWAIT(cx, write_op(s));
            if (fut_out(cur(s)) != 1)
                FUT_RETURN(-EIO);
        }
        FUT_AWAIT(cx, read_op(s));
        if (fut_out(cur(s)) != 1)
            FUT_RETURN(-EIO);
        if (!s->first) {
            FUT_AWAIT(cx, write_op(s));
            if (fut_out(cur(s)) != 1)
                FUT_RETURN(-EIO);
        }
    }
    FUT_RETURN(s->i);
    FUT_END();
}
FUT_CORO_DEFINE(side, side_body);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "uring") && strcmp(argv[1], "fd"))) {
        fprintf(stderr, "usage: %s uring|fd N\n", argv[0]);
        return 2;
    }
    use_uring = !strcmp(argv[1], "uring");
    hops = (long)strtod(argv[2], NULL) & ~1L;
    if (hops < 2)
        return 2;
    int p1[2], p2[2];
    if (pipe(p1) || pipe(p2))
        return 1;
    fut_rt *rt;
    if (fut_rt_new(&rt, NULL))
        return 1;
    fut_fd f[4];
    int fds[4] = {p1[0], p1[1], p2[0], p2[1]};
    for (int i = 0; i < 4; i++)
        if (fut_fd_open(rt, &f[i], fds[i]))
            return 1;
    struct side a = {0}, b = {0};
    FUT_CORO_INIT(&a, side);
    FUT_CORO_INIT(&b, side);
    a.first = 1;
    a.out = p1[1], a.fout = &f[1], a.in = p2[0], a.fin = &f[2];
    b.in = p1[0], b.fin = &f[0], b.out = p2[1], b.fout = &f[3];
    fut_join ja, jb;
    FUT_SPAWN(rt, &a, &ja);
    FUT_SPAWN(rt, &b, &jb);
    ssize_t oa = 0, ob = 0;
    double t0 = now();
    fut_rt_block_on(rt, &ja.base, &oa);
    fut_rt_block_on(rt, &jb.base, &ob);
    double t1 = now();
    int active = fut_rt_uring_active(rt);
    fut_drop(&ja.base);
    fut_drop(&jb.base);
    for (int i = 0; i < 4; i++)
        fut_fd_close(&f[i]);
    fut_rt_free(rt);
    if (oa != hops / 2 || ob != hops / 2) {
        fprintf(stderr, "b_uring: %zd/%zd of %ld rounds\n", oa, ob, hops / 2);
        return 1;
    }
    printf("b_uring %s n=%ld m=0 ns/op=%.1f ring=%d\n", argv[1], hops, (t1 - t0) * 1e9 / hops,
           use_uring && active);
    return 0;
}
