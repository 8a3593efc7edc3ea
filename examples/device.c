/* SPDX-License-Identifier: MIT */
/* A future that owns a buffer a device is still writing into.
 *
 * The "device" is a libev timer that writes one chunk into the caller's
 * buffer every 20 ms, like a DMA engine. Asking it to stop is not
 * instant: a write already in flight still lands, and the device
 * confirms the cancellation 45 ms later. Until then the buffer must stay
 * alive. That is what poll_drop expresses: the read future's teardown
 * asks the device to stop and stays PENDING until it confirms.
 *
 * Part 1 races the read against a 50 ms timeout (fut_timeout) inside a
 * task; the timeout wins, and async-drops the read: that task waits for
 * the device while a ticker task (a coroutine) keeps ticking; the timeout
 * reports -ETIMEDOUT only once the device let go of the buffer.
 * Part 2 drops the same kind of future from plain C code: fut_drop()
 * blocks through a nested loop, and the ticker still ticks meanwhile.
 */
#include <errno.h>
#include <ev.h>
#include <fut.h>
#include <stdio.h>
#include <string.h>

static double t0;
static fut_rt *rt;

#define say(...) \
    do { \
        printf("%7.1f ms  ", (ev_time() - t0) * 1e3); \
        printf(__VA_ARGS__); \
        putchar('\n'); \
    } while (0)

/* --- the device: writes chunks into a buffer it was lent ---------------- */

#define CHUNK 8

struct device {
    ev_timer tick;    /* writes a chunk every 20 ms */
    ev_timer confirm; /* cancellation confirmed 45 ms after the request */
    char *buf;        /* lent by the read future */
    size_t len, pos;
    int stopping, stopped;
    fut_waker *waker; /* woken on completion and on confirmation */
};

static void device_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct device *d = w->data;
    (void)revents;
    memset(d->buf + d->pos, 'x', CHUNK); /* the write that needs the buffer alive */
    d->pos += CHUNK;
    say("device: wrote %d bytes (%zu/%zu)%s", CHUNK, d->pos, d->len,
        d->stopping ? ", in flight when the cancel came" : "");
    if (d->stopping || d->pos == d->len) {
        ev_timer_stop(loop, w);
        if (d->pos == d->len && !d->stopping)
            fut_waker_wake(d->waker);
    }
}

static void device_confirm(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct device *d = w->data;
    (void)loop;
    (void)revents;
    d->stopped = 1;
    say("device: cancellation confirmed, buffer handed back");
    fut_waker_wake(d->waker);
}

/* --- the read future: owns the buffer ------------------------------------- */

struct dev_read {
    fut base;
    struct device dev;
    int started;
    char buf[48]; /* owned by this future; lent to the device while it runs */
};

static fut_status read_poll(fut *self, fut_cx *cx)
{
    struct dev_read *r = (struct dev_read *)self;
    struct device *d = &r->dev;
    if (!r->started) {
        d->buf = r->buf;
        d->len = sizeof r->buf;
        ev_timer_init(&d->tick, device_tick, 0.02, 0.02);
        d->tick.data = d;
        ev_timer_start(fut_rt_loop(fut_cx_rt(cx)), &d->tick);
        r->started = 1;
    }
    if (d->pos == d->len)
        return fut_ready(self, (ssize_t)d->pos);
    fut_waker_drop(d->waker);
    d->waker = fut_waker_clone(fut_cx_waker(cx));
    return FUT_PENDING;
}

/* The asynchronous destructor: ask the device to stop, wait until it lets
 * go of the buffer. Never allocates; everything it needs is in here. */
static fut_status read_poll_drop(fut *self, fut_cx *cx)
{
    struct dev_read *r = (struct dev_read *)self;
    struct device *d = &r->dev;
    struct ev_loop *loop = fut_rt_loop(fut_cx_rt(cx));
    if (r->started && d->pos < d->len && !d->stopped) {
        if (!d->stopping) {
            say("read: teardown asks the device to stop; the buffer stays alive");
            d->stopping = 1;
            ev_timer_init(&d->confirm, device_confirm, 0.045, 0.);
            d->confirm.data = d;
            ev_timer_start(loop, &d->confirm);
        }
        fut_waker_drop(d->waker);
        d->waker = fut_waker_clone(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    ev_timer_stop(loop, &d->tick);
    fut_waker_drop(d->waker);
    d->waker = NULL;
    say("read: torn down, buffer free (%zu bytes were written)", d->pos);
    return FUT_READY;
}

static const struct fut_vtable read_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "dev_read",
    .poll = read_poll,
    .poll_drop = read_poll_drop,
    /* no sync drop: fut_drop() runs poll_drop under a nested loop */
};

static void read_init(struct dev_read *r)
{
    memset(r, 0, sizeof *r);
    fut_init(&r->base, &read_vt);
}

/* --- a ticker task, written as a coroutine -------------------------------- */

struct ticker {
    fut base;
    fut_coro co;
    fut_sleep s;
    int n;
};

static fut_status ticker_body(struct ticker *t, fut_cx *cx)
{
    FUT_BEGIN(&t->co);
    for (;;) {
        FUT_AWAIT(cx, fut_sleep_init(&t->s, 0.02));
        say("ticker: tick %d", ++t->n);
    }
    FUT_END();
}
FUT_CORO_DEFINE(ticker, ticker_body);

/* --- start a read, let it run a while, leave it in flight --------------------- */

struct kick {
    fut base;
    fut_coro co;
    fut *target;
    fut_sleep s;
};

static fut_status kick_body(struct kick *k, fut_cx *cx)
{
    FUT_BEGIN(&k->co);
    (void)fut_poll(k->target, cx); /* started: the device writes into its buffer */
    FUT_AWAIT(cx, fut_sleep_init(&k->s, 0.05));
    FUT_END();
}
FUT_CORO_DEFINE(kick, kick_body);

int main(void)
{
    int err = fut_rt_new(&rt, NULL);
    if (err) {
        fprintf(stderr, "fut_rt_new: %s\n", fut_strerror(err));
        return 1;
    }
    t0 = ev_time();

    struct ticker tk = {0};
    FUT_CORO_INIT(&tk, ticker);
    fut_join ticker;
    FUT_SPAWN(rt, &tk, &ticker);

    puts("Part 1: a read raced against a 50 ms timeout (fut_timeout), in a task");
    struct dev_read rd;
    read_init(&rd);
    fut_timeout t;
    fut_timeout_init(&t, &rd.base, 0.05, 0);
    fut_join j;
    FUT_SPAWN(rt, &t, &j); /* the task owns copies of both: rd is the timeout's child */
    ssize_t out;
    fut_rt_block_on(rt, &j.base, &out);
    say("main: timeout finished: %s", out < 0 ? fut_strerror((int)out) : "read completed");
    fut_drop(&j.base);

    puts("\nPart 2: the same read started, then dropped from plain C code");
    struct dev_read rd2;
    read_init(&rd2);
    struct kick k;
    FUT_CORO_INIT(&k, kick);
    k.target = &rd2.base;
    fut_rt_block_on(rt, &k.base, NULL);
    fut_drop(&k.base);
    say("main: the read is in flight; fut_drop(read) from sync code");
    double before = ev_time();
    fut_drop(&rd2.base); /* blocks through a nested loop; the ticker ticks */
    say("main: fut_drop returned after %.1f ms", (ev_time() - before) * 1e3);

    fut_join_cancel(&ticker);
    fut_rt_block_on(rt, &ticker.base, NULL);
    fut_drop(&ticker.base);
    fut_rt_free(rt);
    return 0;
}
