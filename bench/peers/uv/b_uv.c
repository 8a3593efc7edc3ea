/* SPDX-License-Identifier: MIT */
/* The libuv peer of the libfut benchmarks: every workload of
 * bench/WORKLOADS.md written with plain libuv idioms, one binary.
 *
 *     b_uv WORKLOAD MODE N [M]
 *     b_uv echo-server PORT
 *
 * prints `b_uv.<workload> <mode> n=<N> m=<M> ns/op=<float>` (mem:
 * `bytes/task=` and `rss/task=` instead) and exits 1 when the work was not
 * done right, 2 on a malformed command line. The modes that only libfut
 * and libev have (timer early|mid|late, which probe libev's timer heap, and
 * drop's poll_drop paths) and any unknown workload or mode exit 3 with
 * "unsupported" on stderr, which the runner shows as '-'.
 *
 * libuv has no tasks, futures or wakers: what it has are handles (a
 * registered unit the loop calls back) and requests. The mapping used all
 * through this file:
 *
 *   task                 a handle whose callback does the task's work; a
 *                        task that can run now is an active uv_idle_t
 *                        (idle handles run once per loop iteration and make
 *                        the loop poll without blocking: libuv's "run this
 *                        soon"); a parked task is a handle waiting for its
 *                        event (a timer, fd readiness) or an initialised
 *                        handle that nobody starts.
 *   wake                 uv_idle_start() of the other unit's idle handle: it
 *                        runs at the next loop iteration. libuv has no
 *                        same-thread "queue this callback" cheaper than an
 *                        idle handle (uv_async is the cross-thread path: an
 *                        eventfd write per wake), and it never calls a
 *                        callback twice in one iteration, so every wake
 *                        costs one loop iteration (a uv__io_poll with a
 *                        zero timeout, one epoll_wait). That is libuv's
 *                        real cost of deferring work and is what we
 *                        measure; calling the other unit's function
 *                        directly would not be a wake at all.
 *   task teardown        uv_close() and its close callback: libuv's
 *                        asynchronous destructor. A handle's memory may be
 *                        reused only once its close callback ran (at the
 *                        end of the loop iteration).
 *   join                 a callback: whoever waits for a unit's end is
 *                        called back by it, with UV_ECANCELED when the unit
 *                        was cancelled (libuv's convention, cf. uv_cancel).
 *
 * Timing is CLOCK_MONOTONIC around the measured section only (bench.h);
 * uv_loop_init / uv_loop_close and the setup of each workload stay
 * outside. The comment at the top of each workload says what it does and
 * why it is the honest equivalent of the libfut program.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <uv.h>

#include "../../bench.h"

#define PROG "b_uv"
#define WORKLOADS \
    "spawn all|batch N [M]; wake hop N [M] | wake select|select_hand N [K]; " \
    "yield one N | yield many N [M]; timer fifo|lifo N [M] | timer spread N M | " \
    "timer fire|timeout_ready|timeout_hand N; fdhop pipe N; drop timer|io|join N; " \
    "mem idle|timer|socket N; echo-server PORT"
#define BATCH 256
/* 1e9 s, the contract's "never": libuv timeouts are uint64_t milliseconds. */
#define FAR_MS ((uint64_t)1000000000 * 1000)

struct args {
    const char *workload, *mode;
    long n, m;
};

static uv_loop_t loop;

static __attribute__((noreturn)) void usage(void)
{
    fprintf(stderr, "usage: " PROG " WORKLOAD MODE N [M]\n  " WORKLOADS "\n");
    exit(2);
}

static __attribute__((noreturn)) void unsupported(const struct args *a, const char *why)
{
    fprintf(stderr, PROG " %s %s: unsupported: %s\n", a->workload, a->mode, why);
    exit(3);
}

/* A workload or mode this program does not know: the contract's exit 3
 * (the runner shows '-'), after the usage. */
static __attribute__((noreturn)) void unknown(const struct args *a)
{
    fprintf(stderr, "usage: " PROG " WORKLOAD MODE N [M]\n  " WORKLOADS "\n");
    unsupported(a, "no such workload or mode here");
}

/* N and M: 1e6 as well as 1000000. */
static long parse_num(const char *s)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || *end || d < 0 || d > 1e12)
        usage();
    return (long)d;
}

static int mode_is(const struct args *a, const char *m)
{
    return strcmp(a->mode, m) == 0;
}

static void report(const struct args *a, double seconds, double ops)
{
    printf(PROG ".%s %s n=%ld m=%ld ns/op=%.2f\n", a->workload, a->mode, a->n, a->m,
           seconds * 1e9 / ops);
    fflush(stdout);
}

/* A libuv call that must succeed. */
#define UV_OK(call) \
    do { \
        int uv_ok_r_ = (call); \
        if (uv_ok_r_ < 0) { \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, uv_strerror(uv_ok_r_)); \
            exit(1); \
        } \
    } while (0)

static void never_timer_cb(uv_timer_t *t)
{
    (void)t;
    fprintf(stderr, PROG ": a far timer fired\n");
    abort();
}

/* Runs the loop until nothing is left to do: the handles' close callbacks
 * included. */
static void drain(void)
{
    uv_run(&loop, UV_RUN_DEFAULT);
}

/* ------------------------------------------------------------------------
 * B1 spawn all|batch: N units of work scheduled, each run once, each
 * result collected.
 *
 * A unit (a "task") is a malloc'd uv_idle_t carrying a result slot:
 * "spawn" = malloc + uv_idle_init (the handle joins the loop's handle
 * queue) + uv_idle_start (it will run at the next iteration, like a task
 * on the run queue); "run" = the loop calls every active idle handle in
 * one pass; the callback does the work (stores 7 in the caller's slot, the
 * join's output) and uv_close()s its handle; the close callback frees it
 * (libuv does not allow freeing a handle before that: this is its
 * teardown, libfut's task free). "Join all" = uv_run() returns once no
 * handle is active or closing, then every slot is checked. As in the
 * libev twin, ev_idle becomes uv_idle: the cheapest handle that is both
 * registered with the loop and invoked by it (a 0 ms uv_timer adds a heap
 * insert and removal that a spawn does not do). M > 1 repeats the whole M
 * times (warm; ns/op over N * M), as libfut does.
 * ---------------------------------------------------------------------- */

struct unit {
    uv_idle_t h;
    long *result;
};

static void unit_closed(uv_handle_t *h)
{
    free(h);
}

static void unit_cb(uv_idle_t *h)
{
    struct unit *u = (struct unit *)h;
    *u->result = 7;
    uv_close((uv_handle_t *)h, unit_closed);
}

static void spawn_round(long *res, long n)
{
    for (long i = 0; i < n; i++) {
        struct unit *u = malloc(sizeof *u);
        BENCH_CHECK(u);
        UV_OK(uv_idle_init(&loop, &u->h));
        u->result = &res[i];
        res[i] = 0;
        UV_OK(uv_idle_start(&u->h, unit_cb));
    }
    drain();
    for (long i = 0; i < n; i++)
        BENCH_CHECK(res[i] == 7);
}

static void w_spawn(struct args *a)
{
    int batch = mode_is(a, "batch");
    if (!batch && !mode_is(a, "all"))
        unknown(a);
    long cap = batch ? BATCH : a->n, rounds = a->m > 0 ? a->m : 1;
    long *res = calloc((size_t)cap, sizeof *res);
    BENCH_CHECK(res);
    double t0 = bench_now();
    for (long r = 0; r < rounds; r++) {
        if (batch) {
            for (long done = 0; done < a->n; done += BATCH)
                spawn_round(res, a->n - done < BATCH ? a->n - done : BATCH);
        } else {
            spawn_round(res, a->n);
        }
    }
    double t1 = bench_now();
    report(a, t1 - t0, (double)a->n * (double)rounds);
    free(res);
}

/* ------------------------------------------------------------------------
 * B2 wake hop: two units hand a token back and forth, N hops.
 *
 * Each side is a uv_idle_t; a hop = the side holding the token stops its
 * own idle handle and starts the other's (the wake), which runs at the
 * next loop iteration. libfut's hop is a waker wake (a push on the run
 * queue) and a task poll; libuv's only same-thread deferral is a handle
 * that the next iteration runs (see the top of the file), so a hop costs
 * libuv one loop iteration. Calling the other side directly would not be a
 * wake (and would recurse N deep). M > 1 makes it N * M hops.
 *
 * B2 wake select|select_hand K (K = M, default 8): one unit waits on any
 * of K children, another wakes one child per round, round robin; the
 * waiter learns the winner's index.
 *
 * libuv has no select: waiting on K things is K handles whose callbacks
 * all lead to the waiter, each knowing its index (the select's result).
 * The children are K uv_idle_t, initialised, not started (pending, each
 * on its own "waker": its uv_idle_start). The waker unit (an idle handle)
 * starts child r % K; the child's callback is the select returning its
 * index: it checks the index, stops itself and wakes the waker unit for
 * the next round (the waker must not run ahead: in libfut the waker task
 * waits for the select to have consumed the round, too). "Re-arming" the
 * select costs libuv nothing: the other K - 1 handles simply stay as they
 * are; that K does not matter here is the honest result. A round is two
 * wakes, so two loop iterations. select (fresh children each round, as
 * fut_select) and select_hand (children kept, only the winner re-armed)
 * are the same program here: libuv's handles are always "kept".
 * ---------------------------------------------------------------------- */

struct side {
    uv_idle_t h;
    struct side *peer;
};

static long hops, nhops;

static void side_cb(uv_idle_t *h)
{
    struct side *s = (struct side *)h;
    uv_idle_stop(h);
    if (hops >= nhops)
        return;
    hops++;
    UV_OK(uv_idle_start(&s->peer->h, side_cb));
}

static uv_idle_t sel_waker, *sel_child;
static long sel_round, sel_rounds, sel_k, *sel_wins;

static void sel_waker_cb(uv_idle_t *h);

static void sel_child_cb(uv_idle_t *h)
{
    long idx = (long)(h - sel_child); /* the select's output */
    uv_idle_stop(h);
    BENCH_CHECK(idx == sel_round % sel_k);
    sel_wins[idx]++;
    if (++sel_round < sel_rounds)
        UV_OK(uv_idle_start(&sel_waker, sel_waker_cb));
}

static void sel_waker_cb(uv_idle_t *h)
{
    uv_idle_stop(h);
    UV_OK(uv_idle_start(&sel_child[sel_round % sel_k], sel_child_cb));
}

static void w_wake(struct args *a)
{
    if (mode_is(a, "hop")) {
        struct side s[2];
        for (int i = 0; i < 2; i++) {
            UV_OK(uv_idle_init(&loop, &s[i].h));
            s[i].peer = &s[!i];
        }
        nhops = a->n * (a->m > 0 ? a->m : 1);
        double t0 = bench_now();
        UV_OK(uv_idle_start(&s[0].h, side_cb));
        drain();
        double t1 = bench_now();
        BENCH_CHECK(hops == nhops);
        report(a, t1 - t0, (double)nhops);
        for (int i = 0; i < 2; i++)
            uv_close((uv_handle_t *)&s[i].h, NULL);
        drain();
    } else if (mode_is(a, "select") || mode_is(a, "select_hand")) {
        if (a->m < 1)
            a->m = 8;
        sel_k = a->m;
        sel_rounds = a->n;
        sel_child = calloc((size_t)sel_k, sizeof *sel_child);
        sel_wins = calloc((size_t)sel_k, sizeof *sel_wins);
        BENCH_CHECK(sel_child && sel_wins);
        for (long i = 0; i < sel_k; i++)
            UV_OK(uv_idle_init(&loop, &sel_child[i]));
        UV_OK(uv_idle_init(&loop, &sel_waker));
        double t0 = bench_now();
        UV_OK(uv_idle_start(&sel_waker, sel_waker_cb));
        drain();
        double t1 = bench_now();
        BENCH_CHECK(sel_round == a->n);
        for (long i = 0; i < sel_k; i++)
            BENCH_CHECK(sel_wins[i] == a->n / sel_k + (i < a->n % sel_k));
        report(a, t1 - t0, (double)a->n);
        for (long i = 0; i < sel_k; i++)
            uv_close((uv_handle_t *)&sel_child[i], NULL);
        uv_close((uv_handle_t *)&sel_waker, NULL);
        drain();
        free(sel_child);
        free(sel_wins);
    } else {
        unknown(a);
    }
}

/* ------------------------------------------------------------------------
 * B3 yield one|many: a unit gives the loop back N times.
 *
 * A task that yields returns to the scheduler and is run again after the
 * others had their turn; in libuv that is an idle handle's callback
 * returning (the loop goes round: timers, I/O poll, check, close) and
 * being called again at the next iteration. One yield = one callback
 * invocation; the handle stops itself after N. many: M such handles (M
 * default 100), all called once per iteration: op = one callback, ns/op
 * over N * M.
 * ---------------------------------------------------------------------- */

struct yielder {
    uv_idle_t h;
    long left;
};

static long yields;

static void yield_cb(uv_idle_t *h)
{
    struct yielder *y = (struct yielder *)h;
    yields++;
    if (--y->left == 0)
        uv_idle_stop(h);
}

static void w_yield(struct args *a)
{
    long tasks;
    if (mode_is(a, "one"))
        tasks = 1;
    else if (mode_is(a, "many"))
        tasks = a->m ? a->m : (a->m = 100);
    else
        unknown(a);
    struct yielder *y = calloc((size_t)tasks, sizeof *y);
    BENCH_CHECK(y);
    for (long i = 0; i < tasks; i++) {
        UV_OK(uv_idle_init(&loop, &y[i].h));
        y[i].left = a->n;
    }
    double t0 = bench_now();
    for (long i = 0; i < tasks; i++)
        UV_OK(uv_idle_start(&y[i].h, yield_cb));
    drain();
    double t1 = bench_now();
    BENCH_CHECK(yields == a->n * tasks);
    for (long i = 0; i < tasks; i++)
        BENCH_CHECK(y[i].left == 0);
    report(a, t1 - t0, (double)a->n * (double)tasks);
    for (long i = 0; i < tasks; i++)
        uv_close((uv_handle_t *)&y[i].h, NULL);
    drain();
    free(y);
}

/* ------------------------------------------------------------------------
 * B4 timer fifo|lifo: arm N timers (1e9 s), then cancel them all, in
 * arming order (fifo) or in reverse (lifo); M > 1 repeats that M times
 * (warm; ns/op over N * M).
 *
 * libfut arms a fut_sleep (embedded, no allocation) by polling it once
 * and cancels it by dropping it. libuv: N uv_timer_t in one array
 * (allocated and touched before the clock starts, as libfut's; no
 * allocation per timer either), each uv_timer_init (struct init, joins
 * the loop's handle queue) + uv_timer_start (insert in libuv's binary
 * min-heap, at the loop's cached time); cancel = uv_timer_stop (heap
 * removal). The uv_close of each handle, which libuv needs only before
 * the memory is reused, is done after the clock stopped (and between
 * rounds): stopping is the cancellation. Equal deadlines are ordered by
 * start in libuv's heap, so fifo always removes the root (a sift-down of
 * log2 N levels) and lifo the last leaf (O(1)).
 *
 * B4 timer fire: N units, unit i a timer due in (i % 64) ms, run until
 * every one fired and finished. A unit is a malloc'd uv_timer_t
 * (uv_timer_init + uv_timer_start: the spawn and the arming); its
 * callback is the task running when its timer fired: it checks it was not
 * early, counts itself, and uv_close()s its handle, whose close callback
 * frees it (the task finishing). uv_run() returns when all are gone. As
 * libfut's fire (spawn, arm, fire, wake, completion per timer); the wall
 * time includes the ~63 ms wait, as for every runtime.
 *
 * B4 timer timeout_ready|timeout_hand: await an already-complete
 * operation under a 1 s deadline. libuv has no futures and no timeout
 * combinator: a deadline is a uv_timer next to the operation, and an
 * operation that may complete at once is tried synchronously first, as
 * libuv's own uv_try_write / uv_try_send are: only when it would block is
 * the timer armed and the asynchronous form started. Here the operation
 * (called through a function pointer, as an uv_try_* call is an external
 * call) completes at once with its result (7), so the deadline's timer
 * handle, initialised once beforehand (a libuv program keeps one per
 * connection), is never started: the same logic as libfut's and Tokio's
 * timeouts (child first, timer only if it is pending) and the libev twin.
 * Both modes are the same program here.
 * ---------------------------------------------------------------------- */

static long fired;
static uint64_t fire_start;

struct firer {
    uv_timer_t t;
    long i;
};

static void fire_cb(uv_timer_t *t)
{
    struct firer *f = (struct firer *)t;
    BENCH_CHECK(uv_now(t->loop) >= fire_start + (uint64_t)(f->i % 64));
    fired++;
    uv_close((uv_handle_t *)t, unit_closed);
}

/* The operation with a deadline: done at once (7), or -EAGAIN. */
static BENCH_NOINLINE long ready_op(void)
{
    return 7;
}

static long (*volatile try_op)(void) = ready_op;

/* B4 timer spread (issue 13's headline timer rows): M background timers
 * and N new ones, all with deadlines uniform in [1 s, 1001 s), drawn from
 * the same generator and seeds as libfut's and libev's (bench_rand01), in
 * whole milliseconds as libuv keeps them. The background is started before
 * the clock starts and stays armed; each op is one uv_timer_start (a heap
 * insert that sifts up by its deadline, ties broken by start order) and
 * the uv_timer_stop that cancels it (a heap removal), on one handle, as
 * libfut polls and drops one fut_sleep. */
static void timer_spread(struct args *a)
{
    long m = a->m > 0 ? a->m : 0;
    uv_timer_t *bg = calloc((size_t)(m ? m : 1), sizeof *bg);
    BENCH_CHECK(bg);
    uint64_t bseed = 0x9E3779B97F4A7C15ULL, seed = 0x2545F4914F6CDD1DULL;
    for (long i = 0; i < m; i++) {
        UV_OK(uv_timer_init(&loop, &bg[i]));
        UV_OK(uv_timer_start(&bg[i], never_timer_cb,
                             (uint64_t)((1.0 + 1000.0 * bench_rand01(&bseed)) * 1000.0), 0));
    }
    uv_timer_t t;
    UV_OK(uv_timer_init(&loop, &t));
    double t0 = bench_now();
    for (long i = 0; i < a->n; i++) {
        UV_OK(uv_timer_start(&t, never_timer_cb,
                             (uint64_t)((1.0 + 1000.0 * bench_rand01(&seed)) * 1000.0), 0));
        UV_OK(uv_timer_stop(&t));
    }
    double t1 = bench_now();
    report(a, t1 - t0, (double)a->n);
    uv_close((uv_handle_t *)&t, NULL);
    for (long i = 0; i < m; i++)
        uv_close((uv_handle_t *)&bg[i], NULL);
    drain();
    free(bg);
}

static void w_timer(struct args *a)
{
    if (mode_is(a, "spread")) {
        timer_spread(a);
        return;
    }
    if (mode_is(a, "early") || mode_is(a, "mid") || mode_is(a, "late"))
        unsupported(a, "early/mid/late probe libev's timer heap: libfut and libev only "
                       "(bench/WORKLOADS.md)");
    int fifo = mode_is(a, "fifo"), lifo = mode_is(a, "lifo");
    if (fifo || lifo) {
        long rounds = a->m > 0 ? a->m : 1;
        uv_timer_t *t = calloc((size_t)a->n, sizeof *t);
        BENCH_CHECK(t);
        memset(t, 1, (size_t)a->n * sizeof *t); /* touched before the clock starts */
        double total = 0;
        for (long r = 0; r < rounds; r++) {
            double t0 = bench_now();
            for (long i = 0; i < a->n; i++) {
                UV_OK(uv_timer_init(&loop, &t[i]));
                UV_OK(uv_timer_start(&t[i], never_timer_cb, FAR_MS, 0));
            }
            for (long k = 0; k < a->n; k++) {
                long i = fifo ? k : a->n - 1 - k;
                BENCH_CHECK(uv_is_active((uv_handle_t *)&t[i]));
                UV_OK(uv_timer_stop(&t[i]));
            }
            double t1 = bench_now();
            total += t1 - t0;
            for (long i = 0; i < a->n; i++)
                uv_close((uv_handle_t *)&t[i], NULL);
            drain();
        }
        report(a, total, (double)a->n * (double)rounds);
        free(t);
    } else if (mode_is(a, "fire")) {
        double t0 = bench_now();
        uv_update_time(&loop);
        fire_start = uv_now(&loop);
        for (long i = 0; i < a->n; i++) {
            struct firer *f = malloc(sizeof *f);
            BENCH_CHECK(f);
            f->i = i;
            UV_OK(uv_timer_init(&loop, &f->t));
            UV_OK(uv_timer_start(&f->t, fire_cb, (uint64_t)(i % 64), 0));
        }
        drain();
        double t1 = bench_now();
        BENCH_CHECK(fired == a->n);
        /* libuv's loop time is whole milliseconds, truncated: a 63 ms
         * timer may fire 62.x ms after the clock started. */
        if (a->n >= 64)
            BENCH_CHECK(t1 - t0 >= 0.062);
        report(a, t1 - t0, (double)a->n);
    } else if (mode_is(a, "timeout_ready") || mode_is(a, "timeout_hand")) {
        uv_timer_t dl;
        UV_OK(uv_timer_init(&loop, &dl));
        long sum = 0;
        double t0 = bench_now();
        for (long i = 0; i < a->n; i++) {
            long r = try_op();
            if (r == -EAGAIN) { /* would block: arm the deadline (never here) */
                UV_OK(uv_timer_start(&dl, never_timer_cb, 1000, 0));
                abort();
            }
            sum += r;
        }
        double t1 = bench_now();
        BENCH_CHECK(!uv_is_active((uv_handle_t *)&dl));
        BENCH_CHECK(sum == 7 * a->n);
        report(a, t1 - t0, (double)a->n);
        uv_close((uv_handle_t *)&dl, NULL);
        drain();
    } else {
        unknown(a);
    }
}

/* ------------------------------------------------------------------------
 * B5 fdhop pipe: two units ping-pong one byte over two pipes (A writes
 * p1, B reads p1 and writes p2, A reads p2), N hops (one byte one way).
 *
 * libuv's idiom for a pipe is a uv_pipe_t stream: uv_pipe_open on each
 * end, uv_read_start on the read ends (the loop waits for readiness, then
 * reads and calls back with the data), and uv_try_write for the one-byte
 * reply (an immediate write(2); it cannot fall short on an empty pipe,
 * checked, so no uv_write request is needed). The same kernel objects
 * (pipes) and the same work per hop as libfut: wait for readability, read
 * the byte (64 bytes asked, 1 got: libuv then stops reading until the
 * next readiness, sparing the EAGAIN read), write the reply. Per hop:
 * write + epoll_wait + read, no epoll_ctl. The bytes carry the hop number
 * (mod 256) and are checked on arrival.
 * ---------------------------------------------------------------------- */

static uv_pipe_t hop_rd[2], hop_wr[2]; /* [0] is A: reads p2, writes p1; [1] is B */
static long fd_hops, fd_nhops;

static void hop_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char b[64];
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(b, sizeof b);
}

static void hop_send(int who, long hop)
{
    static char byte;
    byte = (char)(unsigned char)hop;
    uv_buf_t b = uv_buf_init(&byte, 1);
    BENCH_CHECK(uv_try_write((uv_stream_t *)&hop_wr[who], &b, 1) == 1);
}

static void hop_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    int who = (uv_pipe_t *)s == &hop_rd[1];
    if (nread == 0)
        return; /* EAGAIN */
    BENCH_CHECK(nread == 1 && (unsigned char)buf->base[0] == (unsigned char)fd_hops);
    if (++fd_hops >= fd_nhops) {
        uv_read_stop((uv_stream_t *)&hop_rd[0]);
        uv_read_stop((uv_stream_t *)&hop_rd[1]);
        return;
    }
    hop_send(who, fd_hops);
}

static void w_fdhop(struct args *a)
{
    if (!mode_is(a, "pipe"))
        unknown(a);
    int p1[2], p2[2];
    BENCH_CHECK(pipe2(p1, O_CLOEXEC) == 0 && pipe2(p2, O_CLOEXEC) == 0);
    int fds[2][2] = {{p2[0], p1[1]}, {p1[0], p2[1]}};
    for (int i = 0; i < 2; i++) {
        UV_OK(uv_pipe_init(&loop, &hop_rd[i], 0));
        UV_OK(uv_pipe_open(&hop_rd[i], fds[i][0]));
        UV_OK(uv_pipe_init(&loop, &hop_wr[i], 0));
        UV_OK(uv_pipe_open(&hop_wr[i], fds[i][1]));
        UV_OK(uv_read_start((uv_stream_t *)&hop_rd[i], hop_alloc, hop_read));
    }
    fd_nhops = a->n;
    double t0 = bench_now();
    hop_send(0, 0);
    drain();
    double t1 = bench_now();
    BENCH_CHECK(fd_hops == a->n);
    report(a, t1 - t0, (double)a->n);
    for (int i = 0; i < 2; i++) {
        uv_close((uv_handle_t *)&hop_rd[i], NULL); /* closes the fds */
        uv_close((uv_handle_t *)&hop_wr[i], NULL);
    }
    drain();
}

/* ------------------------------------------------------------------------
 * B7 drop timer|io|join: cancel N parked units and wait until their
 * teardown completed. op = one cancel.
 *
 * libfut cancels a task and its asynchronous drop runs; libuv's
 * asynchronous teardown is uv_close(): it stops the handle at once (a
 * timer leaves the heap; a poll handle leaves epoll: an epoll_ctl DEL,
 * where libev defers that) and the close callback, at the end of the loop
 * iteration, says the handle is gone (it frees it here). As in libfut, the
 * N units are parked before the clock starts; the measured section is:
 * uv_close of each unit, uv_run until every close callback ran.
 *
 *   timer  a malloc'd uv_timer_t started for 1e9 s.
 *   io     a malloc'd uv_poll_t started for UV_READABLE on its own dup(2)
 *          of the read end of a pipe nobody writes (libuv allows one poll
 *          handle per fd: N descriptors of one pipe, as libfut uses),
 *          registered with epoll (one uv_run NOWAIT) before the clock
 *          starts; the dups are closed after it stopped.
 *   join   the cancelled unit is a malloc'd uv_idle_t initialised and never
 *          started (a task parked on a future that never wakes), and its
 *          joiner a malloc'd struct with a callback: libuv has no join
 *          handles, the one waiting for a unit is called back by it. The
 *          unit's close callback calls the joiner back with UV_ECANCELED;
 *          the joiner checks it, counts it and frees itself (the joining
 *          task finishing). main's "awaiting the joiners" is uv_run
 *          returning once every close callback (and so every joiner) ran.
 * ---------------------------------------------------------------------- */

struct joiner {
    int status; /* 1: waiting */
};

struct dunit {
    union {
        uv_handle_t h;
        uv_timer_t t;
        uv_poll_t p;
        uv_idle_t i;
    } u;
    struct joiner *j;
};

static long dropped, observed;

static void joiner_cb(struct joiner *j, int status)
{
    BENCH_CHECK(j->status == 1 && status == UV_ECANCELED);
    observed++;
    free(j);
}

static void dunit_closed(uv_handle_t *h)
{
    struct dunit *d = (struct dunit *)h;
    dropped++;
    if (d->j)
        joiner_cb(d->j, UV_ECANCELED);
    free(d);
}

static void never_poll_cb(uv_poll_t *p, int status, int events)
{
    (void)p;
    (void)status;
    (void)events;
    fprintf(stderr, PROG ": a pipe nobody writes became readable\n");
    abort();
}

/* Raises the soft limit on open files to the hard one; fails the run when
 * `need` descriptors do not fit. */
static void need_fds(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)need + 64 > rl.rlim_cur) {
        fprintf(stderr, PROG ": %ld descriptors needed, RLIMIT_NOFILE is %lu\n", need,
                (unsigned long)rl.rlim_cur);
        exit(1);
    }
}

static void w_drop(struct args *a)
{
    int timer = mode_is(a, "timer"), io = mode_is(a, "io"), join = mode_is(a, "join");
    if (!timer && !io && !join) {
        if (mode_is(a, "sync") || mode_is(a, "pd_ready") || mode_is(a, "pd_pending") ||
            mode_is(a, "task_ready") || mode_is(a, "task_pending") || mode_is(a, "task_pd_ready") ||
            mode_is(a, "task_pd_pending"))
            unsupported(a, "the poll_drop paths are libfut's own: libfut and libev only "
                           "(bench/WORKLOADS.md)");
        unknown(a);
    }
    int pfd[2] = {-1, -1}, *fds = NULL;
    if (io) {
        need_fds(a->n + 2);
        BENCH_CHECK(pipe2(pfd, O_CLOEXEC) == 0);
        fds = malloc((size_t)a->n * sizeof *fds);
        BENCH_CHECK(fds);
    }
    struct dunit **d = malloc((size_t)a->n * sizeof *d);
    BENCH_CHECK(d);
    for (long i = 0; i < a->n; i++) {
        d[i] = calloc(1, sizeof *d[i]);
        BENCH_CHECK(d[i]);
        if (timer) {
            UV_OK(uv_timer_init(&loop, &d[i]->u.t));
            UV_OK(uv_timer_start(&d[i]->u.t, never_timer_cb, FAR_MS, 0));
        } else if (io) {
            fds[i] = fcntl(pfd[0], F_DUPFD_CLOEXEC, 0);
            BENCH_CHECK(fds[i] >= 0);
            UV_OK(uv_poll_init(&loop, &d[i]->u.p, fds[i]));
            UV_OK(uv_poll_start(&d[i]->u.p, UV_READABLE, never_poll_cb));
        } else {
            UV_OK(uv_idle_init(&loop, &d[i]->u.i));
            d[i]->j = malloc(sizeof *d[i]->j);
            BENCH_CHECK(d[i]->j);
            d[i]->j->status = 1;
        }
    }
    if (io)
        uv_run(&loop, UV_RUN_NOWAIT); /* epoll_ctl ADD: parked for real */

    double t0 = bench_now();
    for (long i = 0; i < a->n; i++)
        uv_close(&d[i]->u.h, dunit_closed);
    drain();
    double t1 = bench_now();

    BENCH_CHECK(dropped == a->n && observed == (join ? a->n : 0));
    report(a, t1 - t0, (double)a->n);
    if (io) {
        for (long i = 0; i < a->n; i++)
            close(fds[i]);
        close(pfd[0]);
        close(pfd[1]);
        free(fds);
    }
    free(d);
}

/* ------------------------------------------------------------------------
 * B8 mem idle|timer|socket: N parked units, memory per unit.
 *
 * bytes/task is what the units and libuv itself allocated, per unit: the
 * units are malloc'd here (sizeof the handle, counted), and libuv's own
 * allocations go through a counting allocator (uv_replace_allocator,
 * installed before the loop exists): its epoll watcher array for the
 * socket mode, nothing for the others (libuv's timer heap is intrusive).
 * rss/task is the growth of the resident set per unit (malloc headers and
 * rounding included). future_bytes is the unit's own size (the handle:
 * what libuv's user allocates), overhead_bytes/task what libuv adds.
 *
 *   idle    a malloc'd uv_idle_t, initialised, never started: a handle
 *           registered with the loop that nothing will ever run (a task
 *           parked on a future that never wakes).
 *   timer   a malloc'd uv_timer_t started for 1e9 s.
 *   socket  a malloc'd uv_poll_t started for UV_READABLE on one end of its
 *           own socketpair, registered with epoll (one uv_run NOWAIT). The
 *           N socketpairs are created before the first measurement: the
 *           fds and their kernel memory are not the runtime's (and are not
 *           in the RSS anyway). N is bounded by RLIMIT_NOFILE (2 fds per
 *           unit; the soft limit is raised to the hard one).
 * ---------------------------------------------------------------------- */

static long uv_live;
#define HDR 16

static void *count_malloc(size_t size)
{
    char *p = malloc(size + HDR);
    if (!p)
        return NULL;
    *(size_t *)p = size;
    uv_live += (long)size;
    return p + HDR;
}

static void count_free(void *ptr)
{
    if (!ptr)
        return;
    char *p = (char *)ptr - HDR;
    uv_live -= (long)*(size_t *)p;
    free(p);
}

static void *count_realloc(void *ptr, size_t size)
{
    if (!ptr)
        return count_malloc(size);
    char *p = (char *)ptr - HDR;
    size_t old = *(size_t *)p;
    char *q = realloc(p, size + HDR);
    if (!q)
        return NULL;
    *(size_t *)q = size;
    uv_live += (long)size - (long)old;
    return q + HDR;
}

static void *count_calloc(size_t count, size_t size)
{
    if (size && count > (SIZE_MAX - HDR) / size)
        return NULL;
    void *p = count_malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

static void w_mem(struct args *a)
{
    int idle = mode_is(a, "idle"), timer = mode_is(a, "timer"), sock = mode_is(a, "socket");
    if (!idle && !timer && !sock)
        unknown(a);
    size_t unit = idle ? sizeof(uv_idle_t) : timer ? sizeof(uv_timer_t) : sizeof(uv_poll_t);
    /* Bookkeeping of the benchmark, touched before the first measurement. */
    uv_handle_t **h = calloc((size_t)a->n, sizeof *h);
    BENCH_CHECK(h);
    memset(h, 0, (size_t)a->n * sizeof *h);
    int *sv = NULL;
    if (sock) {
        need_fds(2 * a->n);
        sv = malloc((size_t)a->n * 2 * sizeof *sv);
        BENCH_CHECK(sv);
        for (long i = 0; i < a->n; i++)
            BENCH_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                                   &sv[2 * i]) == 0);
    }

    long live0 = uv_live, rss0 = bench_rss();
    for (long i = 0; i < a->n; i++) {
        h[i] = malloc(unit);
        BENCH_CHECK(h[i]);
        if (idle) {
            UV_OK(uv_idle_init(&loop, (uv_idle_t *)h[i]));
        } else if (timer) {
            UV_OK(uv_timer_init(&loop, (uv_timer_t *)h[i]));
            UV_OK(uv_timer_start((uv_timer_t *)h[i], never_timer_cb, FAR_MS, 0));
        } else {
            UV_OK(uv_poll_init(&loop, (uv_poll_t *)h[i], sv[2 * i]));
            UV_OK(uv_poll_start((uv_poll_t *)h[i], UV_READABLE, never_poll_cb));
        }
    }
    if (sock)
        uv_run(&loop, UV_RUN_NOWAIT); /* every poll handle registered with epoll */
    long live1 = uv_live, rss1 = bench_rss();

    double bytes = (double)unit + (double)(live1 - live0) / (double)a->n;
    double rss = (double)(rss1 - rss0) / (double)a->n;
    printf(PROG ".mem %s n=%ld m=0 bytes/task=%.1f rss/task=%.1f future_bytes=%zu "
                "overhead_bytes/task=%.1f\n",
           a->mode, a->n, bytes, rss, unit, bytes - (double)unit);
    fflush(stdout);
    for (long i = 0; i < a->n; i++)
        uv_close(h[i], unit_closed);
    drain();
    if (sock) {
        for (long i = 0; i < 2 * a->n; i++)
            close(sv[i]);
        free(sv);
    }
    free(h);
}

/* ------------------------------------------------------------------------
 * B6 echo-server PORT: the libuv echo server.
 *
 * A uv_tcp_t listening on 127.0.0.1:PORT (backlog 4096, as b_echo; libuv
 * accepts until EAGAIN); each accepted connection is a malloc'd uv_tcp_t
 * with its own 16 KiB buffer (b_echo's size; like b_echo, no socket
 * option is set), uv_read_start'ed. Each read is echoed with uv_try_write (a direct
 * write(2), the common case); if the socket takes less, the rest goes out
 * through a uv_write request and reading pauses until it completed (one
 * buffer per connection, back-pressure as in any libuv echo server). EOF
 * or an error closes the connection. SIGTERM (a uv_signal_t) prints the
 * process's getrusage and exits 0. "ready" is printed once listening.
 * ---------------------------------------------------------------------- */

#define ECHO_BUF 16384

struct conn {
    uv_tcp_t tcp;
    uv_write_t wr;
    char buf[ECHO_BUF];
};

static void conn_closed(uv_handle_t *h)
{
    free(h);
}

static void echo_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    *buf = uv_buf_init(((struct conn *)h)->buf, ECHO_BUF);
}

static void echo_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void echo_written(uv_write_t *req, int status)
{
    uv_stream_t *s = req->handle;
    if (status < 0 || uv_read_start(s, echo_alloc, echo_read) < 0)
        uv_close((uv_handle_t *)s, conn_closed);
}

static void echo_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = (struct conn *)s;
    if (nread == 0)
        return;
    if (nread < 0) {
        uv_close((uv_handle_t *)s, conn_closed);
        return;
    }
    uv_buf_t b = uv_buf_init(buf->base, (unsigned)nread);
    int r = uv_try_write(s, &b, 1);
    if (r == nread)
        return;
    if (r < 0 && r != UV_EAGAIN) {
        uv_close((uv_handle_t *)s, conn_closed);
        return;
    }
    if (r > 0)
        b = uv_buf_init(buf->base + r, (unsigned)(nread - r));
    uv_read_stop(s);
    if (uv_write(&c->wr, s, &b, 1, echo_written) < 0)
        uv_close((uv_handle_t *)s, conn_closed);
}

static void echo_conn(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    struct conn *c = malloc(sizeof *c);
    if (!c)
        return;
    UV_OK(uv_tcp_init(&loop, &c->tcp));
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    if (uv_read_start((uv_stream_t *)&c->tcp, echo_alloc, echo_read) < 0)
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void echo_term(uv_signal_t *s, int sig)
{
    (void)s;
    (void)sig;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("rusage user_us=%lld sys_us=%lld\n",
           (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
           (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
    fflush(stdout);
    exit(0);
}

static int echo_server(const char *port_s)
{
    char *end;
    long port = strtol(port_s, &end, 10);
    if (*end || port < 1 || port > 65535)
        usage();
    signal(SIGPIPE, SIG_IGN);
    uv_signal_t term;
    UV_OK(uv_signal_init(&loop, &term));
    UV_OK(uv_signal_start(&term, echo_term, SIGTERM));
    uv_tcp_t server;
    struct sockaddr_in addr;
    UV_OK(uv_ip4_addr("127.0.0.1", (int)port, &addr));
    UV_OK(uv_tcp_init(&loop, &server));
    UV_OK(uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0));
    UV_OK(uv_listen((uv_stream_t *)&server, 4096, echo_conn));
    printf("ready\n");
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
    return 1; /* not reached: only SIGTERM ends it */
}

/* ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "echo-server") == 0) {
        UV_OK(uv_loop_init(&loop));
        return echo_server(argv[2]);
    }
    if (argc < 4 || argc > 5)
        usage();
    struct args a = {argv[1], argv[2], 0, 0};
    a.n = parse_num(argv[3]);
    if (a.n < 1)
        usage();
    if (argc > 4)
        a.m = parse_num(argv[4]);

    if (strcmp(a.workload, "mem") == 0) /* before any other libuv call */
        UV_OK(uv_replace_allocator(count_malloc, count_realloc, count_calloc, count_free));
    UV_OK(uv_loop_init(&loop));

    if (strcmp(a.workload, "spawn") == 0)
        w_spawn(&a);
    else if (strcmp(a.workload, "wake") == 0)
        w_wake(&a);
    else if (strcmp(a.workload, "yield") == 0)
        w_yield(&a);
    else if (strcmp(a.workload, "timer") == 0)
        w_timer(&a);
    else if (strcmp(a.workload, "fdhop") == 0)
        w_fdhop(&a);
    else if (strcmp(a.workload, "drop") == 0)
        w_drop(&a);
    else if (strcmp(a.workload, "mem") == 0)
        w_mem(&a);
    else
        unknown(&a);

    /* Every handle was closed: a leftover one is a bug of this program. */
    BENCH_CHECK(uv_loop_close(&loop) == 0);
    return 0;
}
