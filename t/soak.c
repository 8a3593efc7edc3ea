/* SPDX-License-Identifier: MIT */
/* Soak: many tasks alive at once, and many fds with random readiness and
 * random cancellation for a while, checking that nothing is lost, nothing
 * leaks and the memory stays flat.
 *
 *   t/soak [SECONDS [SEED]]     (SECONDS default 30)
 *
 * Part 1 spawns SOAK_TASKS tasks (default 1e6) that each park on a
 * notification, checks they are all alive, wakes half and cancels half,
 * and accounts for every join handle's result.
 *
 * Part 2 makes 5,000 socketpairs (1e4 fds). A reader task per pair reads
 * one end, through a registered fd (fut_fd_read) or a stream
 * (fut_stream_read), until it has read a random budget; a driver writes
 * random bytes to random pairs, cancels random readers and respawns every
 * reader that finished, for SECONDS split into 10 rounds. At the end every
 * byte written was read by a reader or is still buffered (in the socket, or
 * in the stream's read buffer), RSS after round 10 stays within 10% + 4 MiB
 * of round 1, the library's allocator balances and the fds are back to
 * where they started.
 *
 * Not in the default TESTS (it takes time): `make soak`, and .ci/run runs
 * it under ASan. Prints a line per check that fails, a summary per part,
 * then "soak: N passed, N failed"; exits non-zero on any failure. */
#include <fut.h>

#include <dirent.h>
#include <malloc.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SOAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_ASAN 1
#endif
#endif
#ifndef SOAK_ASAN
#define SOAK_ASAN 0
#endif

#if SOAK_ASAN
void __sanitizer_purge_allocator(void);
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

static int passed, failed;

/* Gives the heap freed so far back to the system, so that part 2's RSS
 * shows its own memory, not what part 1 left in the allocator. */
static void give_back_memory(void)
{
#if SOAK_ASAN
    __sanitizer_purge_allocator();
#endif
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static void check(int ok, const char *fmt, ...)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    va_list ap;
    va_start(ap, fmt);
    fputs("soak: FAIL: ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

/* For calls made many times: only a failure counts. */
#define must(ok, ...) ((ok) ? (void)0 : check(0, __VA_ARGS__))

/* --- measurements ---------------------------------------------------------- */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_bytes(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static double mib(long bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static size_t rnd_below(size_t n)
{
    return (size_t)(rnd() % n);
}

/* --- counting allocator (as t/helpers.c) ----------------------------------- */

static long alloc_live, alloc_live_bytes, alloc_total;

static void *count_alloc(void *ud, size_t size)
{
    (void)ud;
    void *p = malloc(size);
    if (p) {
        __atomic_add_fetch(&alloc_total, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&alloc_live, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&alloc_live_bytes, (long)size, __ATOMIC_RELAXED);
    }
    return p;
}

static void count_free(void *ud, void *p, size_t size)
{
    (void)ud;
    free(p);
    __atomic_sub_fetch(&alloc_live_bytes, (long)size, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&alloc_live, 1, __ATOMIC_RELAXED);
}

static const struct fut_allocator counting = {count_alloc, count_free, NULL};

static struct fut_rt_stats stats(fut_rt *rt)
{
    struct fut_rt_stats st;
    memset(&st, 0, sizeof st);
    must(fut_rt_stats(rt, &st, sizeof st) == 0, "fut_rt_stats");
    return st;
}

/* A future run by fut_rt_block_on() that calls fn from each poll until it
 * returns nonzero, waiting `period` seconds (0: a yield) in between. */
struct until {
    fut base;
    int (*fn)(struct until *u, fut_cx *cx);
    double period, deadline;
    fut_sleep sleep;
    fut_yield yield;
    int armed;
    int timed_out;
};

static fut_status until_poll(fut *self, fut_cx *cx)
{
    struct until *u = (struct until *)self;
    for (;;) {
        if (u->armed) {
            fut *w = u->period > 0 ? &u->sleep.base : &u->yield.base;
            if (fut_poll(w, cx) == FUT_PENDING)
                return FUT_PENDING;
            fut_drop(w);
            u->armed = 0;
        }
        if (u->fn(u, cx))
            return fut_ready(self, 0);
        if (u->deadline > 0 && mono() > u->deadline) {
            u->timed_out = 1;
            return fut_ready(self, -ETIMEDOUT);
        }
        if (u->period > 0)
            fut_sleep_init(&u->sleep, u->period);
        else
            fut_yield_init(&u->yield);
        u->armed = 1;
    }
}

static void until_drop(fut *self)
{
    struct until *u = (struct until *)self;
    if (u->armed)
        fut_drop(u->period > 0 ? &u->sleep.base : &u->yield.base);
    u->armed = 0;
}

static const struct fut_vtable until_vt = {.size = sizeof(struct fut_vtable),
                                           .name = "soak_until",
                                           .poll = until_poll,
                                           .drop = until_drop};

/* Runs fn under fut_rt_block_on() until it returns nonzero or `limit`
 * seconds passed; returns 0, or -ETIMEDOUT. */
static int run_until(fut_rt *rt, int (*fn)(struct until *, fut_cx *), double period, double limit)
{
    struct until u;
    memset(&u, 0, sizeof u);
    fut_init(&u.base, &until_vt);
    u.fn = fn;
    u.period = period;
    u.deadline = mono() + limit;
    ssize_t out = -1;
    int r = fut_rt_block_on(rt, &u.base, &out);
    must(r == 0, "fut_rt_block_on: %d", r);
    fut_drop(&u.base);
    return r ? r : (int)out;
}

/* --- part 1: many tasks alive ---------------------------------------------- */

static struct {
    fut_notify cell[2]; /* even ids wait on cell[0] (woken), odd on cell[1] */
    long n;
    long parked, woken, drops, errors;
    fut_join *joins;
    long ok, cancelled, other;
    long long out_sum;
} p1;

struct parker {
    fut base;
    fut_notify_wait w;
    long id;
    int armed, parked;
};

static fut_status parker_poll(fut *self, fut_cx *cx)
{
    struct parker *p = (struct parker *)self;
    if (!p->armed) {
        fut_notify_wait_init(&p->w, &p1.cell[p->id & 1]);
        p->armed = 1;
    }
    if (fut_poll(&p->w.base, cx) == FUT_PENDING) {
        if (!p->parked++)
            p1.parked++;
        return FUT_PENDING;
    }
    p->armed = 0; /* a READY wait holds nothing */
    if (p->w.base.out != 0) {
        p1.errors++;
        return fut_ready(self, p->w.base.out);
    }
    p1.woken++;
    return fut_ready(self, p->id);
}

static void parker_drop(fut *self)
{
    struct parker *p = (struct parker *)self;
    if (p->armed)
        fut_drop(&p->w.base);
    p->armed = 0;
    p1.drops++;
}

static const struct fut_vtable parker_vt = {.size = sizeof(struct fut_vtable),
                                            .name = "soak_parker",
                                            .poll = parker_poll,
                                            .drop = parker_drop};

static int all_parked(struct until *u, fut_cx *cx)
{
    (void)u;
    (void)cx;
    return p1.parked == p1.n;
}

static fut_rt *p1_rt;

static int all_done(struct until *u, fut_cx *cx)
{
    (void)u;
    if (stats(p1_rt).tasks_alive != 0)
        return 0;
    for (long i = 0; i < p1.n; i++) {
        fut_join *j = &p1.joins[i];
        if (!fut_join_finished(j)) {
            p1.other++;
            continue;
        }
        if (fut_poll(&j->base, cx) != FUT_READY) {
            p1.other++;
            continue;
        }
        ssize_t out = j->base.out;
        if (out == -ECANCELED)
            p1.cancelled++;
        else if (out == i && !(i & 1)) {
            p1.ok++;
            p1.out_sum += out;
        } else
            p1.other++;
        fut_drop(&j->base);
    }
    return 1;
}

static void part1(long n)
{
    long rss0 = rss_bytes();
    double t0 = mono();
    check(fut_set_allocator(&counting) == 0, "part 1: fut_set_allocator");
    fut_rt *rt = NULL;
    check(fut_rt_new(&rt, NULL) == 0, "part 1: fut_rt_new");
    if (!rt)
        return;
    p1_rt = rt;
    memset(&p1, 0, sizeof p1);
    fut_notify_init(&p1.cell[0]);
    fut_notify_init(&p1.cell[1]);
    p1.n = n;
    p1.joins = calloc((size_t)n, sizeof *p1.joins);
    if (!p1.joins) {
        check(0, "part 1: calloc of %ld join handles", n);
        fut_rt_free(rt);
        return;
    }

    long spawned = 0;
    for (long i = 0; i < n; i++) {
        struct parker p;
        memset(&p, 0, sizeof p);
        fut_init(&p.base, &parker_vt);
        p.id = i;
        int r = FUT_SPAWN(rt, &p, &p1.joins[i]);
        if (r != 0) {
            check(0, "part 1: spawn %ld: %s", i, fut_strerror(r));
            break;
        }
        spawned++;
    }
    p1.n = spawned;
    double t_spawn = mono() - t0;
    check(run_until(rt, all_parked, 0, 120) == 0, "part 1: tasks parked: %ld of %ld", p1.parked,
          spawned);
    double t_park = mono() - t0;
    struct fut_rt_stats st = stats(rt);
    check(st.tasks_alive == (uint64_t)n, "part 1: tasks_alive %llu, want %ld",
          (unsigned long long)st.tasks_alive, n);
    long rss_peak = rss_bytes();
    long lib_bytes = alloc_live_bytes;

    /* Cancel the odd ones, wake the even ones. */
    for (long i = 1; i < spawned; i += 2)
        must(fut_join_cancel(&p1.joins[i]) == 0, "part 1: fut_join_cancel %ld", i);
    fut_notify_all(&p1.cell[0]);
    check(run_until(rt, all_done, 0.001, 120) == 0, "part 1: every task finished");
    double t_done = mono() - t0;

    long even = (spawned + 1) / 2, odd = spawned / 2;
    long long want_sum = 0;
    for (long i = 0; i < spawned; i += 2)
        want_sum += i;
    st = stats(rt);
    check(st.tasks_alive == 0, "part 1: tasks_alive %llu after the end",
          (unsigned long long)st.tasks_alive);
    check(p1.woken == even && p1.ok == even, "part 1: woken %ld, READY %ld, want %ld", p1.woken,
          p1.ok, even);
    check(p1.out_sum == want_sum, "part 1: sum of outputs %lld, want %lld", p1.out_sum, want_sum);
    check(p1.cancelled == odd, "part 1: cancelled %ld, want %ld", p1.cancelled, odd);
    check(p1.other == 0 && p1.errors == 0, "part 1: %ld unexpected results, %ld errors", p1.other,
          p1.errors);
    check(p1.drops == spawned, "part 1: %ld futures dropped, want %ld", p1.drops, spawned);
    check(fut_rt_free(rt) == 0, "part 1: fut_rt_free");
    check(alloc_live == 0, "part 1: %ld blocks (%ld bytes) of the library left", alloc_live,
          alloc_live_bytes);
    check(fut_set_allocator(NULL) == 0, "part 1: allocator restored");
    free(p1.joins);
    p1.joins = NULL;
    give_back_memory();

    printf("soak: part 1: %ld tasks alive at once (%.1f MiB in the library, %.0f B/task); "
           "spawn %.2f s, all parked %.2f s, %ld woken + %ld cancelled accounted %.2f s; "
           "RSS %.1f MiB -> %.1f MiB peak -> %.1f MiB\n",
           spawned, mib(lib_bytes), spawned ? (double)lib_bytes / (double)spawned : 0.0, t_spawn,
           t_park, p1.ok, p1.cancelled, t_done, mib(rss0), mib(rss_peak), mib(rss_bytes()));
    fflush(stdout);
}

/* --- part 2: fds with random readiness and cancellation -------------------- */

#define PAIRS 5000
#define ROUNDS 10

struct slot {
    int rfd, wfd;
    int stream; /* read through a fut_stream (else a fut_fd) */
    fut_fd h;
    fut_stream s;
    fut_join j;
    int live;               /* a reader is spawned and its join not collected */
    int cancelled;          /* ... and fut_join_cancel() was called on it */
    uint64_t written, wsum; /* bytes the driver wrote, and their sum */
    uint64_t read, rsum;    /* bytes the readers read */
};

static struct {
    struct slot *slots;
    uint64_t spawned, ok, cancelled, other, cancels;
    uint64_t drops, dropped_bytes, ok_bytes;
    uint64_t writes, eagain;
    long errors;
    double round_end;
    int stopping;
} p2;

struct reader {
    fut base;
    struct slot *sl;
    union {
        fut_fd_op io;
        fut_stream_op op;
    } u;
    int armed;
    int slow_drop; /* the teardown yields once before it completes */
    fut_yield yield;
    size_t got, budget;
    unsigned char buf[512];
};

static fut *reader_op(struct reader *r)
{
    return r->sl->stream ? &r->u.op.base : &r->u.io.base;
}

static fut_status reader_poll(fut *self, fut_cx *cx)
{
    struct reader *r = (struct reader *)self;
    struct slot *sl = r->sl;
    for (;;) {
        if (!r->armed) {
            size_t len = 1 + rnd_below(sizeof r->buf);
            if (sl->stream)
                fut_stream_read(&r->u.op, &sl->s, r->buf, len);
            else
                fut_fd_read(&r->u.io, &sl->h, r->buf, len);
            r->armed = 1;
        }
        fut *op = reader_op(r);
        if (fut_poll(op, cx) == FUT_PENDING)
            return FUT_PENDING;
        ssize_t n = op->out;
        fut_drop(op);
        r->armed = 0;
        if (n <= 0) { /* an error, or an end of file nobody sent */
            p2.errors++;
            printf("soak: part 2: a reader's read gave %zd (%s)\n", n,
                   n ? fut_strerror((int)n) : "end of file");
            return fut_ready(self, n ? n : -EPIPE);
        }
        for (ssize_t i = 0; i < n; i++)
            sl->rsum += r->buf[i];
        sl->read += (uint64_t)n;
        r->got += (size_t)n;
        if (r->got >= r->budget)
            return fut_ready(self, (ssize_t)r->got);
    }
}

/* An asynchronous teardown: some readers take a loop turn to finish it,
 * so cancellations overlap with teardowns in progress. */
static fut_status reader_poll_drop(fut *self, fut_cx *cx)
{
    struct reader *r = (struct reader *)self;
    if (r->armed) {
        if (fut_poll_drop(reader_op(r), cx) == FUT_PENDING)
            return FUT_PENDING;
        r->armed = 0;
    }
    if (r->slow_drop == 1) {
        fut_yield_init(&r->yield);
        r->slow_drop = 2;
    }
    if (r->slow_drop == 2) {
        if (fut_poll(&r->yield.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        fut_drop(&r->yield.base);
        r->slow_drop = 0;
    }
    p2.drops++;
    p2.dropped_bytes += r->got;
    return FUT_READY;
}

static const struct fut_vtable reader_vt = {.size = sizeof(struct fut_vtable),
                                            .name = "soak_reader",
                                            .poll = reader_poll,
                                            .poll_drop = reader_poll_drop};

static fut_rt *p2_rt;

static int spawn_reader(struct slot *sl)
{
    struct reader r;
    memset(&r, 0, sizeof r);
    fut_init(&r.base, &reader_vt);
    r.sl = sl;
    r.budget = 1 + rnd_below(8192);
    r.slow_drop = rnd_below(4) == 0;
    int e = FUT_SPAWN(p2_rt, &r, &sl->j);
    if (e) {
        must(0, "part 2: spawn: %s", fut_strerror(e));
        return e;
    }
    sl->live = 1;
    sl->cancelled = 0;
    p2.spawned++;
    return 0;
}

/* Collects a finished reader's result; respawns unless stopping. */
static void collect(struct slot *sl, fut_cx *cx)
{
    if (fut_poll(&sl->j.base, cx) != FUT_READY) {
        p2.other++;
        return;
    }
    ssize_t out = sl->j.base.out;
    if (out == -ECANCELED && sl->cancelled)
        p2.cancelled++;
    else if (out > 0) {
        p2.ok++;
        p2.ok_bytes += (uint64_t)out;
    } else {
        p2.other++;
        printf("soak: part 2: a join gave %zd (%s)\n", out, fut_strerror((int)out));
    }
    fut_drop(&sl->j.base);
    sl->live = 0;
    if (!p2.stopping)
        spawn_reader(sl);
}

static void write_random(struct slot *sl)
{
    unsigned char buf[1024];
    size_t len = 1 + rnd_below(sizeof buf);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t x = rnd();
        memcpy(buf + i, &x, len - i < 8 ? len - i : 8);
    }
    ssize_t n = write(sl->wfd, buf, len);
    p2.writes++;
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            p2.eagain++;
        else
            must(0, "part 2: write: %s", strerror(errno));
        return;
    }
    sl->written += (uint64_t)n;
    for (ssize_t i = 0; i < n; i++)
        sl->wsum += buf[i];
}

static int writes_per_tick = 200, cancels_per_tick = 20;

/* One tick of the driver: collect and respawn the finished readers, write
 * to random pairs, cancel random readers. Returns 1 at the round's end. */
static int drive(struct until *u, fut_cx *cx)
{
    (void)u;
    for (int i = 0; i < PAIRS; i++) {
        struct slot *sl = &p2.slots[i];
        if (sl->live && fut_join_finished(&sl->j))
            collect(sl, cx);
    }
    if (mono() >= p2.round_end)
        return 1;
    for (int i = 0; i < writes_per_tick; i++)
        write_random(&p2.slots[rnd_below(PAIRS)]);
    for (int i = 0; i < cancels_per_tick; i++) {
        struct slot *sl = &p2.slots[rnd_below(PAIRS)];
        if (sl->live && !sl->cancelled) {
            must(fut_join_cancel(&sl->j) == 0, "part 2: fut_join_cancel");
            sl->cancelled = 1;
            p2.cancels++;
        }
    }
    return 0;
}

/* At the end: every reader collected. */
static int drained(struct until *u, fut_cx *cx)
{
    (void)u;
    int left = 0;
    for (int i = 0; i < PAIRS; i++) {
        struct slot *sl = &p2.slots[i];
        if (sl->live && fut_join_finished(&sl->j))
            collect(sl, cx);
        left += sl->live;
    }
    return left == 0;
}

/* Reads what is left for a pair's readers: in the stream's buffer and in
 * the socket. */
static void leftover(struct slot *sl, uint64_t *bytes, uint64_t *sum)
{
    *bytes = *sum = 0;
    if (sl->stream) {
        size_t len = 0;
        const unsigned char *p = fut_stream_peek(&sl->s, &len);
        for (size_t i = 0; i < len; i++)
            *sum += p[i];
        *bytes += len;
        fut_stream_consume(&sl->s, len);
    }
    unsigned char buf[4096];
    for (;;) {
        ssize_t n = read(sl->rfd, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                must(0, "part 2: drain read: %s", strerror(errno));
            break;
        }
        for (ssize_t i = 0; i < n; i++)
            *sum += buf[i];
        *bytes += (uint64_t)n;
    }
}

static void part2(double seconds)
{
    int fds0 = open_fds();
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t need = (rlim_t)(2 * PAIRS + fds0 + 64);
    rlim_t old_soft = rl.rlim_cur;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
            printf("soak: part 2: SKIPPED: RLIMIT_NOFILE hard limit %llu < %llu needed\n",
                   (unsigned long long)rl.rlim_max, (unsigned long long)need);
            return;
        }
        rl.rlim_cur = need;
        check(setrlimit(RLIMIT_NOFILE, &rl) == 0, "part 2: setrlimit: %s", strerror(errno));
    }

    double t0 = mono();
    check(fut_set_allocator(&counting) == 0, "part 2: fut_set_allocator");
    fut_rt *rt = NULL;
    check(fut_rt_new(&rt, NULL) == 0, "part 2: fut_rt_new");
    if (!rt)
        return;
    p2_rt = rt;
    memset(&p2, 0, sizeof p2);
    p2.slots = calloc(PAIRS, sizeof *p2.slots);
    if (!p2.slots) {
        check(0, "part 2: calloc");
        fut_rt_free(rt);
        return;
    }
    struct fut_stream_opts opts = {.rbuf_size = 2048, .wbuf_size = 256};
    int pairs = 0;
    for (; pairs < PAIRS; pairs++) {
        struct slot *sl = &p2.slots[pairs];
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
            check(0, "part 2: socketpair %d: %s", pairs, strerror(errno));
            break;
        }
        sl->rfd = sv[0];
        sl->wfd = sv[1];
        sl->stream = pairs & 1;
        int e = sl->stream ? fut_stream_open(rt, &sl->s, sl->rfd, &opts)
                           : fut_fd_open(rt, &sl->h, sl->rfd);
        if (e) {
            check(0, "part 2: open %d: %s", pairs, fut_strerror(e));
            close(sv[0]);
            close(sv[1]);
            break;
        }
    }
    int fds_open = open_fds();
    for (int i = 0; i < pairs; i++)
        spawn_reader(&p2.slots[i]);

    long rss[ROUNDS], mem[ROUNDS];
    double per_round = seconds / ROUNDS;
    uint64_t bytes_before = 0;
    for (int round = 0; round < ROUNDS && pairs == PAIRS; round++) {
        double rt0 = mono();
        uint64_t spawned0 = p2.spawned, writes0 = p2.writes;
        p2.round_end = rt0 + per_round;
        check(run_until(rt, drive, 0.001, per_round + 60) == 0, "part 2: round %d", round + 1);
        long raw = rss_bytes();
#if SOAK_ASAN
        /* ASan's quarantine keeps freed blocks (up to 256 MiB) before
         * reusing them, which looks like growth: empty it first. Even
         * so, ASan's allocator creeps by a few MiB a round while the
         * memory allocated stays flat (and a build without ASan stays
         * flat to the page): under ASan the flatness is checked on the
         * bytes allocated (the process's, libev's and libfut's), the
         * RSS is reported. */
        __sanitizer_purge_allocator();
        mem[round] = (long)__sanitizer_get_current_allocated_bytes();
#endif
        rss[round] = rss_bytes();
#if !SOAK_ASAN
        mem[round] = rss[round];
#endif
        uint64_t bytes = 0;
        for (int i = 0; i < pairs; i++)
            bytes += p2.slots[i].written;
        char quarantine[64] = "";
        if (SOAK_ASAN)
            snprintf(quarantine, sizeof quarantine,
                     " (%.1f MiB with ASan's quarantine; %.1f MiB allocated)", mib(raw),
                     mib(mem[round]));
        printf("soak: part 2: round %2d: %.2f s, %llu readers spawned, %llu writes "
               "(%.1f MiB), RSS %.1f MiB%s, library %.2f MiB in %ld blocks\n",
               round + 1, mono() - rt0, (unsigned long long)(p2.spawned - spawned0),
               (unsigned long long)(p2.writes - writes0), mib((long)(bytes - bytes_before)),
               mib(rss[round]), quarantine, mib(alloc_live_bytes), alloc_live);
        fflush(stdout);
        bytes_before = bytes;
    }

    /* Stop: cancel every reader, collect every result. */
    p2.stopping = 1;
    for (int i = 0; i < pairs; i++) {
        struct slot *sl = &p2.slots[i];
        if (sl->live && !sl->cancelled) {
            must(fut_join_cancel(&sl->j) == 0, "part 2: fut_join_cancel");
            sl->cancelled = 1;
            p2.cancels++;
        }
    }
    check(run_until(rt, drained, 0.001, 60) == 0, "part 2: every reader collected");
    check(stats(rt).tasks_alive == 0, "part 2: tasks_alive %llu at the end",
          (unsigned long long)stats(rt).tasks_alive);

    /* Every byte written was read or is still there. */
    uint64_t written = 0, read = 0, left = 0, bad = 0;
    for (int i = 0; i < pairs; i++) {
        struct slot *sl = &p2.slots[i];
        uint64_t lb, ls;
        leftover(sl, &lb, &ls);
        written += sl->written;
        read += sl->read;
        left += lb;
        if (sl->written != sl->read + lb || sl->wsum != sl->rsum + ls) {
            if (bad++ < 5)
                printf("soak: part 2: pair %d (%s): written %llu (sum %llu), read %llu "
                       "(sum %llu), left %llu (sum %llu)\n",
                       i, sl->stream ? "stream" : "fd", (unsigned long long)sl->written,
                       (unsigned long long)sl->wsum, (unsigned long long)sl->read,
                       (unsigned long long)sl->rsum, (unsigned long long)lb,
                       (unsigned long long)ls);
        }
    }
    check(bad == 0, "part 2: %llu pairs lost or invented bytes", (unsigned long long)bad);
    check(p2.spawned == p2.ok + p2.cancelled && p2.other == 0,
          "part 2: %llu readers spawned, %llu READY + %llu cancelled, %llu other",
          (unsigned long long)p2.spawned, (unsigned long long)p2.ok,
          (unsigned long long)p2.cancelled, (unsigned long long)p2.other);
    check(p2.drops == p2.spawned, "part 2: %llu readers dropped, %llu spawned",
          (unsigned long long)p2.drops, (unsigned long long)p2.spawned);
    check(p2.dropped_bytes == read && p2.ok_bytes <= read,
          "part 2: readers counted %llu bytes (%llu by READY ones), pairs %llu",
          (unsigned long long)p2.dropped_bytes, (unsigned long long)p2.ok_bytes,
          (unsigned long long)read);
    check(p2.errors == 0, "part 2: %ld read errors", p2.errors);

    /* Close everything: the writers first, so that a stream's graceful
     * close finds the peer's end of file at once. */
    for (int i = 0; i < pairs; i++) {
        struct slot *sl = &p2.slots[i];
        close(sl->wfd);
        if (sl->stream) {
            must(fut_drop(&sl->s.base) == 0, "part 2: stream drop");
        } else {
            fut_fd_close(&sl->h);
            close(sl->rfd);
        }
    }
    struct fut_rt_stats st = stats(rt);
    check(fut_rt_free(rt) == 0, "part 2: fut_rt_free");
    check(alloc_live == 0, "part 2: %ld blocks (%ld bytes) of the library left", alloc_live,
          alloc_live_bytes);
    check(fut_set_allocator(NULL) == 0, "part 2: allocator restored");
    free(p2.slots);
    p2.slots = NULL;
    int fds1 = open_fds();
    check(fds1 == fds0, "part 2: %d fds open at the end, %d at the start", fds1, fds0);
    rl.rlim_cur = old_soft;
    setrlimit(RLIMIT_NOFILE, &rl);

    if (pairs == PAIRS) {
        long limit = (long)((double)mem[0] * 1.10) + 4L * 1024 * 1024;
        check(mem[ROUNDS - 1] <= limit,
              "part 2: %s after round %d %.1f MiB > %.1f MiB (round 1 %.1f MiB * 1.10 + 4)",
              SOAK_ASAN ? "memory allocated" : "RSS", ROUNDS, mib(mem[ROUNDS - 1]), mib(limit),
              mib(mem[0]));
    }
    printf("soak: part 2: %d socketpairs (%d fds open), %.2f s: %llu readers "
           "(%llu READY, %llu cancelled), %llu MiB written = %llu read + %llu B left; "
           "%llu writes (%llu EAGAIN), %llu polls, %llu wakes; %s round 1 %.1f MiB, "
           "round %d %.1f MiB\n",
           pairs, fds_open, mono() - t0, (unsigned long long)p2.spawned, (unsigned long long)p2.ok,
           (unsigned long long)p2.cancelled, (unsigned long long)(written >> 20),
           (unsigned long long)(read >> 20), (unsigned long long)left,
           (unsigned long long)p2.writes, (unsigned long long)p2.eagain,
           (unsigned long long)st.polls, (unsigned long long)st.wakes,
           SOAK_ASAN ? "allocated (ASan)" : "RSS", pairs == PAIRS ? mib(mem[0]) : 0.0, ROUNDS,
           pairs == PAIRS ? mib(mem[ROUNDS - 1]) : 0.0);
    fflush(stdout);
}

static void diag(const char *msg, void *ud)
{
    (void)ud;
    check(0, "diagnostic: %s", msg);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 30;
    if (!(seconds > 0)) {
        fprintf(stderr, "usage: %s [SECONDS [SEED]]\n", argv[0]);
        return 2;
    }
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 0) : (uint64_t)time(NULL);
    if (!rng_state)
        rng_state = 1;
    long tasks = 1000000;
    const char *env = getenv("SOAK_TASKS");
    if (env && atol(env) > 0)
        tasks = atol(env);
    printf("soak: %.0f s, seed %llu, %ld tasks%s\n", seconds, (unsigned long long)rng_state, tasks,
           SOAK_ASAN ? " (ASan build)" : "");
    fflush(stdout);
    fut_set_diag_handler(diag, NULL);

    double t0 = mono();
    part1(tasks);
    part2(seconds);
    fut_set_diag_handler(NULL, NULL);
    printf("soak: %d passed, %d failed (%.1f s)\n", passed, failed, mono() - t0);
    return failed ? 1 : 0;
}
