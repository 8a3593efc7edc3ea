/* SPDX-License-Identifier: MIT */
/* The motivating case: a read into a buffer the future owns, from a slow
 * source, raced against a timeout.
 *
 * The read runs on a pool worker (a blocking read(2) in chunks, checking
 * its cancel flag between them). The timeout wins after 50 ms; the read's
 * teardown asks the worker to stop and stays PENDING until the worker has
 * let go of the buffer, while a ticker task keeps printing. Only then does
 * the timeout report -ETIMEDOUT and the buffer get freed. The program ends
 * clean (run it under valgrind or ASan: nothing is written after free).
 *
 * Part 2 does the same with io_uring, where the kernel holds the buffer:
 * the teardown submits IORING_OP_ASYNC_CANCEL and waits for the read's own
 * completion.
 */
#include <errno.h>
#include <ev.h>
#include <fut.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double t0;

#define say(...) \
    do { \
        printf("%7.1f ms  ", (ev_time() - t0) * 1e3); \
        printf(__VA_ARGS__); \
        putchar('\n'); \
    } while (0)

/* The slow source: a thread writing 4 bytes every 20 ms into a pipe. */
static int src[2];

static void *slow_source(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        usleep(20000);
        if (write(src[1], "data", 4) != 4)
            break;
    }
    close(src[1]);
    return NULL;
}

/* The read: a future that owns its buffer and lends it to a pool job. */
struct slow_read {
    fut base;
    fut_job job; /* runs read_job on a worker */
    char *buf;   /* owned: freed at teardown, after the worker let go */
    size_t len, got;
    int said;
};

static ssize_t read_job(fut_job *job, void *arg)
{
    struct slow_read *r = arg;
    while (r->got < r->len) {
        struct pollfd p = {src[0], POLLIN, 0};
        /* A chunk in flight is finished even after a cancel: the buffer
         * is in use until the poll times out and the flag is seen. */
        if (poll(&p, 1, 25) == 0) {
            if (fut_job_cancelled(job)) {
                say("worker: saw the cancel, letting go of the buffer");
                return -ECANCELED;
            }
            continue;
        }
        ssize_t n = read(src[0], r->buf + r->got, r->len - r->got);
        if (n <= 0)
            break;
        r->got += (size_t)n;
        say("worker: read %zd bytes into the future's buffer (%zu/%zu)%s", n, r->got, r->len,
            fut_job_cancelled(job) ? ", after the cancel" : "");
    }
    return (ssize_t)r->got;
}

static fut_status slow_read_poll(fut *self, fut_cx *cx)
{
    struct slow_read *r = (struct slow_read *)self;
    if (fut_poll(&r->job.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    return fut_ready(self, fut_out(&r->job.base));
}

static fut_status slow_read_poll_drop(fut *self, fut_cx *cx)
{
    struct slow_read *r = (struct slow_read *)self;
    if (!r->said) {
        say("read: teardown: waiting for the worker to let go of the buffer");
        r->said = 1;
    }
    if (fut_poll_drop(&r->job.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    free(r->buf);
    r->buf = NULL;
    say("read: buffer freed (%zu bytes had arrived)", r->got);
    return FUT_READY;
}

static const struct fut_vtable slow_read_vt = {sizeof(struct fut_vtable), "slow_read",
                                               slow_read_poll, slow_read_poll_drop, NULL};

/* The same shape with io_uring: the kernel owns the buffer while the read
 * is in flight. */
struct uring_read {
    fut base;
    fut_uring_op op;
    char *buf;
    size_t len;
    int said;
};

static fut_status uring_read_poll(fut *self, fut_cx *cx)
{
    struct uring_read *r = (struct uring_read *)self;
    if (fut_poll(&r->op.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    return fut_ready(self, fut_out(&r->op.base));
}

static fut_status uring_read_poll_drop(fut *self, fut_cx *cx)
{
    struct uring_read *r = (struct uring_read *)self;
    if (!r->said) {
        say("read: teardown: cancelling, waiting until the kernel releases the buffer");
        r->said = 1;
    }
    if (fut_poll_drop(&r->op.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    free(r->buf);
    r->buf = NULL;
    say("read: the kernel let go; buffer freed");
    return FUT_READY;
}

static const struct fut_vtable uring_read_vt = {sizeof(struct fut_vtable), "uring_read",
                                                uring_read_poll, uring_read_poll_drop, NULL};

/* A ticker, as a coroutine. */
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

int main(void)
{
    fut_rt *rt;
    if (fut_rt_new(&rt, NULL) != 0 || pipe(src) != 0)
        return 1;
    t0 = ev_time();
    pthread_t th;
    pthread_create(&th, NULL, slow_source, NULL);

    struct ticker tk = {0};
    FUT_CORO_INIT(&tk, ticker);
    fut_join jt;
    FUT_SPAWN(rt, &tk, &jt);

    static struct slow_read r;
    fut_init(&r.base, &slow_read_vt);
    r.len = 64;
    r.buf = malloc(r.len);
    fut_job_init(&r.job, read_job, &r, NULL);

    say("main: Part 1: reading from a slow source, with a 50 ms timeout (pool)");
    fut_timeout t;
    ssize_t out;
    fut_rt_block_on(rt, fut_timeout_init(&t, &r.base, 0.05, 0), &out);
    say("main: timeout reported %s, after the read's teardown", fut_strerror((int)out));
    fut_drop(&t.base);

    /* Part 2: the kernel holds the buffer (io_uring): the read's teardown
     * submits IORING_OP_ASYNC_CANCEL and waits for the read's own
     * completion before the buffer may go. Without a usable ring (old
     * kernel, FUT_NO_URING=1) the same API falls back to readiness I/O. */
    int quiet[2];
    if (pipe(quiet) != 0)
        return 1;
    static struct uring_read ur;
    fut_init(&ur.base, &uring_read_vt);
    ur.len = 64;
    ur.buf = malloc(ur.len);
    fut_uring_read(&ur.op, quiet[0], ur.buf, ur.len, -1);
    say("main: Part 2: reading a pipe nobody writes to, with a 30 ms timeout (%s)",
        fut_rt_uring_active(rt) ? "io_uring" : "io_uring unavailable: fallback");
    fut_rt_block_on(rt, fut_timeout_init(&t, &ur.base, 0.03, 0), &out);
    say("main: timeout reported %s, after the kernel let go", fut_strerror((int)out));
    fut_drop(&t.base);
    close(quiet[0]);
    close(quiet[1]);

    fut_join_cancel(&jt);
    fut_rt_block_on(rt, &jt.base, NULL);
    fut_drop(&jt.base);
    fut_rt_free(rt);
    pthread_join(th, NULL);
    close(src[0]);
    say("main: done, clean");
    return 0;
}
