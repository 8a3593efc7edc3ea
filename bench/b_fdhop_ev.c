/* SPDX-License-Identifier: MIT */
/* B5, raw libev twin of b_fdhop.c: one byte ping-ponged over two pipes,
 * N hops.
 *
 * The equivalent chosen: one ev_io read watcher per side (A on p2's read
 * end, B on p1's), started once and left started; the callback reads (64
 * bytes asked, 1 got), checks the byte and writes the next one to the
 * other pipe directly (a pipe with one byte in it always takes another: a
 * write never waits, as in b_fdhop where the cached writability lets the
 * write future write at once). A hop is write + epoll_wait + read, the
 * floor for readiness-based I/O: no epoll_ctl in steady state, since the
 * interest never changes.
 *
 * Mode: pipe.
 */
#include <ev.h>
#include <fcntl.h>

#include "bench.h"

#define MODES "pipe"

struct side {
    ev_io r;  /* readability of this side's input */
    int out;  /* write end of the other pipe */
    long hop; /* the hop this side reads next */
};

static long nhops, reads, bad;

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct side *s = (struct side *)w;
    unsigned char buf[64];
    ssize_t n = read(w->fd, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN)
        return;
    BENCH_CHECK(n == 1);
    if (buf[0] != (unsigned char)s->hop)
        bad++;
    reads++;
    s->hop++;
    if (s->hop < nhops) {
        unsigned char b = (unsigned char)s->hop;
        BENCH_CHECK(write(s->out, &b, 1) == 1);
        s->hop++; /* the next hop this side reads */
    }
    if (s->hop >= nhops)
        ev_io_stop(loop, w);
}

static void nonblock(int fd)
{
    BENCH_CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (!bench_mode_is(&a, "pipe"))
        bench_usage(a.prog, MODES);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    int p1[2], p2[2];
    BENCH_CHECK(pipe(p1) == 0 && pipe(p2) == 0);
    for (int i = 0; i < 2; i++) {
        nonblock(p1[i]);
        nonblock(p2[i]);
    }
    nhops = a.n;
    /* A reads p2 (hops 1, 3, ...) and writes p1; B reads p1 (hops 0, 2,
     * ...) and writes p2. */
    struct side sa = {.out = p1[1], .hop = 1}, sb = {.out = p2[1], .hop = 0};
    ev_io_init(&sa.r, read_cb, p2[0], EV_READ);
    ev_io_init(&sb.r, read_cb, p1[0], EV_READ);

    double t0 = bench_now();
    if (sa.hop < nhops)
        ev_io_start(loop, &sa.r);
    ev_io_start(loop, &sb.r);
    unsigned char b0 = 0;
    BENCH_CHECK(write(p1[1], &b0, 1) == 1); /* A's first hop */
    ev_run(loop, 0);
    double t1 = bench_now();

    BENCH_CHECK(reads == a.n && bad == 0);
    bench_report(&a, t1 - t0);
    ev_loop_destroy(loop);
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
    close(p2[1]);
    return 0;
}
