/* SPDX-License-Identifier: MIT */
/* The blocking-work pool: submit-to-completion round trip, cancel of a
 * queued job, cancel of a running job.
 *
 *   b_pool roundtrip N         one job at a time: submit, the worker runs
 *                              an empty function, the completion reaches
 *                              the loop, the future is READY
 *   b_pool window N            256 jobs in flight at once (throughput)
 *   b_pool cancel_queued N     the one worker is busy; a job is queued and
 *                              cancelled (never runs): READY at once
 *   b_pool cancel_running N    a job spins until it sees its cancel flag;
 *                              the drop waits for it (sync drop, nested loop)
 *
 * Prints `b_pool <mode> n=N m=0 ns/op=<ns>`.
 */
#include <errno.h>
#include <fut.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static ssize_t empty(fut_job *job, void *arg)
{
    (void)job;
    return (ssize_t)(intptr_t)arg;
}

static int started;

static ssize_t spin_until_cancelled(fut_job *job, void *arg)
{
    (void)arg;
    __atomic_store_n(&started, 1, __ATOMIC_RELEASE);
    while (!fut_job_cancelled(job))
        ;
    return -ECANCELED;
}

static volatile int release_blocker;

static ssize_t blocker(fut_job *job, void *arg)
{
    (void)job;
    (void)arg;
    __atomic_store_n(&started, 1, __ATOMIC_RELEASE);
    while (!release_blocker)
        ;
    return 0;
}

#define WINDOW 256
struct window {
    fut base;
    fut_job slot[WINDOW];
    int busy[WINDOW];
    long total, submitted, done;
};

static fut_status window_poll(fut *self, fut_cx *cx)
{
    struct window *w = (struct window *)self;
    for (int i = 0; i < WINDOW; i++) {
        if (!w->busy[i]) {
            if (w->submitted == w->total)
                continue;
            fut_job_init(&w->slot[i], empty, (void *)(intptr_t)w->submitted++, NULL);
            w->busy[i] = 1;
        }
        if (fut_poll(&w->slot[i].base, cx) == FUT_READY) {
            w->done++;
            fut_drop(&w->slot[i].base);
            w->busy[i] = 0;
            i--;
        }
    }
    return w->done == w->total ? fut_ready(self, w->done) : FUT_PENDING;
}

static const struct fut_vtable window_vt = {sizeof(struct fut_vtable), "window", window_poll, NULL,
                                            NULL};

/* Polls a future once (to submit a job) from inside the runtime. */
struct once {
    fut base;
    fut *child;
};

static fut_status once_poll(fut *self, fut_cx *cx)
{
    struct once *o = (struct once *)self;
    (void)fut_poll(o->child, cx);
    return fut_ready(self, 0);
}

static const struct fut_vtable once_vt = {sizeof(struct fut_vtable), "once", once_poll, NULL, NULL};

static void poll_once(fut_rt *rt, fut *child)
{
    struct once o = {.child = child};
    fut_init(&o.base, &once_vt);
    fut_rt_block_on(rt, &o.base, NULL);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s roundtrip|window|cancel_queued|cancel_running N\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1];
    long n = (long)strtod(argv[2], NULL);
    if (n < 1)
        return 2;
    fut_rt *rt;
    if (fut_rt_new(&rt, NULL))
        return 1;
    double t0 = 0, t1 = 0;
    long ok = 0;
    if (!strcmp(mode, "roundtrip")) {
        t0 = now();
        for (long i = 0; i < n; i++) {
            fut_job j;
            ssize_t out;
            fut_rt_block_on(rt, fut_job_init(&j, empty, (void *)(intptr_t)i, NULL), &out);
            ok += out == i;
            fut_drop(&j.base);
        }
        t1 = now();
    } else if (!strcmp(mode, "window")) {
        static struct window w;
        fut_init(&w.base, &window_vt);
        w.total = n;
        ssize_t out;
        t0 = now();
        fut_rt_block_on(rt, &w.base, &out);
        t1 = now();
        ok = out;
    } else if (!strcmp(mode, "cancel_queued")) {
        fut_rt_set_pool_size(rt, 1);
        fut_job b;
        fut_job_init(&b, blocker, NULL, NULL);
        poll_once(rt, &b.base);
        while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE))
            ;
        t0 = now();
        for (long i = 0; i < n; i++) {
            fut_job j;
            fut_job_init(&j, empty, NULL, NULL);
            poll_once(rt, &j.base); /* queued behind the blocker */
            ok += fut_drop(&j.base) == 0;
        }
        t1 = now();
        release_blocker = 1;
        fut_rt_block_on(rt, &b.base, NULL);
        fut_drop(&b.base);
    } else if (!strcmp(mode, "cancel_running")) {
        t0 = now();
        for (long i = 0; i < n; i++) {
            fut_job j;
            __atomic_store_n(&started, 0, __ATOMIC_RELAXED);
            fut_job_init(&j, spin_until_cancelled, NULL, NULL);
            poll_once(rt, &j.base);
            while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE))
                ;
            ok += fut_drop(&j.base) == 0;
        }
        t1 = now();
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    fut_rt_free(rt);
    if (ok != n) {
        fprintf(stderr, "b_pool: %ld of %ld operations right\n", ok, n);
        return 1;
    }
    printf("b_pool %s n=%ld m=0 ns/op=%.1f\n", mode, n, (t1 - t0) * 1e9 / (double)n);
    return 0;
}
