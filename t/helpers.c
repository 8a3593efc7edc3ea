/* SPDX-License-Identifier: MIT */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct th_alloc_stats th_alloc;

/* Called from any thread (pool workers free too): atomic counters. */
static void *count_alloc(void *ud, size_t size)
{
    (void)ud;
    long n = __atomic_add_fetch(&th_alloc.total, 1, __ATOMIC_RELAXED);
    if (th_alloc.fail_at && n == th_alloc.fail_at) {
        __atomic_add_fetch(&th_alloc.failed, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    void *p = malloc(size);
    if (p) {
        __atomic_add_fetch(&th_alloc.live, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&th_alloc.live_bytes, (long)size, __ATOMIC_RELAXED);
    }
    return p;
}

static void count_free(void *ud, void *p, size_t size)
{
    (void)ud;
    free(p);
    __atomic_sub_fetch(&th_alloc.live_bytes, (long)size, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&th_alloc.live, 1, __ATOMIC_RELEASE);
}

void th_alloc_install(void)
{
    static const struct fut_allocator a = {count_alloc, count_free, NULL};
    memset(&th_alloc, 0, sizeof th_alloc);
    ck_assert_int_eq(fut_set_allocator(&a), 0);
}

void th_alloc_uninstall(void)
{
    long live = __atomic_load_n(&th_alloc.live, __ATOMIC_ACQUIRE);
    ck_assert_msg(live == 0, "%ld blocks (%ld bytes) leaked", live,
                  __atomic_load_n(&th_alloc.live_bytes, __ATOMIC_RELAXED));
    ck_assert_int_eq(fut_set_allocator(NULL), 0);
}

int th_diag_count;
char th_diag_last[256];

static void diag_catch(const char *msg, void *ud)
{
    (void)ud;
    th_diag_count++;
    snprintf(th_diag_last, sizeof th_diag_last, "%s", msg);
}

void th_diag_catch(void)
{
    th_diag_count = 0;
    th_diag_last[0] = 0;
    fut_set_diag_handler(diag_catch, NULL);
}

void th_setup(void)
{
    th_alloc_install();
    th_diag_catch();
}

void th_teardown(void)
{
    ck_assert_msg(th_diag_count == 0, "unexpected diagnostic: %s", th_diag_last);
    th_alloc_uninstall();
    fut_set_diag_handler(NULL, NULL);
}

fut_rt *th_rt;

void th_rt_setup(void)
{
    th_setup();
    ck_assert_int_eq(fut_rt_new(&th_rt, NULL), 0);
}

void th_rt_teardown(void)
{
    ck_assert_int_eq(fut_rt_free(th_rt), 0);
    th_teardown();
}

/* --- runtimes and loops ------------------------------------------------------ */

fut_rt *th_new_rt(void)
{
    fut_rt *rt = NULL;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    ck_assert_ptr_nonnull(rt);
    return rt;
}

ssize_t th_block(fut_rt *rt, fut *f)
{
    ssize_t out = -99999;
    ck_assert_int_eq(fut_rt_block_on(rt, f, &out), 0);
    return out;
}

/* th_poll_once's future: polls its child once and is READY with the
 * child's output when the child was READY; `st` records the child's
 * status. */
struct th_once {
    fut base;
    fut *child;
    int polled;
    fut_status st;
};

static fut_status once_poll(fut *self, fut_cx *cx)
{
    struct th_once *o = (struct th_once *)self;
    o->st = fut_poll(o->child, cx);
    o->polled++;
    return fut_ready(self, o->st == FUT_READY ? o->child->out : 0);
}

static const struct fut_vtable once_vt = {
    .size = sizeof(struct fut_vtable), .name = "th_once", .poll = once_poll};

fut_status th_poll_once(fut_rt *rt, fut *child, ssize_t *out)
{
    struct th_once o = {.child = child};
    fut_init(&o.base, &once_vt);
    ssize_t r = th_block(rt, &o.base);
    ck_assert_int_eq(o.polled, 1);
    if (out)
        *out = r;
    return o.st;
}

int th_loop_busy(fut_rt *rt)
{
    return ev_run(fut_rt_loop(rt), EVRUN_NOWAIT);
}

struct fut_rt_stats th_stats(fut_rt *rt)
{
    struct fut_rt_stats st;
    memset(&st, 0, sizeof st);
    ck_assert_int_eq(fut_rt_stats(rt, &st, sizeof st), 0);
    return st;
}

void th_run_for(fut_rt *rt, double seconds)
{
    fut_sleep s;
    ck_assert_int_eq(th_block(rt, fut_sleep_init(&s, seconds)), 0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
}

void th_turn(fut_rt *rt)
{
    fut_yield y;
    ck_assert_int_eq(th_block(rt, fut_yield_init(&y)), 0);
    ck_assert_int_eq(fut_drop(&y.base), 0);
}

/* --- fds and the environment ------------------------------------------------- */

void th_pipe(int p[2])
{
    ck_assert_int_eq(pipe(p), 0);
}

void th_close_pair(int p[2])
{
    close(p[0]);
    close(p[1]);
}

int th_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the DIR's own */
}

int th_under_valgrind(void)
{
    const char *v = getenv("FUT_VALGRIND");
    return v && *v;
}

/* --- clocks ------------------------------------------------------------------- */

double th_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void th_pause_for(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* --- th_slow ----------------------------------------------------------------- */

static fut_status slow_poll(fut *self, fut_cx *cx)
{
    struct th_slow *s = (struct th_slow *)self;
    ck_assert_msg(!s->in_poll, "th_slow polled re-entrantly");
    if (s->polls)
        (*s->polls)++;
    if (s->run_delay == 0)
        return fut_ready(self, s->value);
    if (!s->sleeping) {
        fut_sleep_init(&s->sleep, s->run_delay < 0 ? 1e9 : s->run_delay);
        s->sleeping = 1;
    }
    s->in_poll = 1;
    fut_status st = fut_poll(&s->sleep.base, cx);
    s->in_poll = 0;
    if (st == FUT_PENDING)
        return FUT_PENDING;
    fut_drop(&s->sleep.base);
    s->sleeping = 0;
    return fut_ready(self, s->value);
}

static fut_status slow_poll_drop(fut *self, fut_cx *cx)
{
    struct th_slow *s = (struct th_slow *)self;
    if (s->drop_steps)
        (*s->drop_steps)++;
    if (s->sleeping) { /* cancel the run wait */
        fut_drop(&s->sleep.base);
        s->sleeping = 0;
    }
    for (;;) {
        if (s->waiting) {
            fut *w = s->turn_delay > 0 ? &s->dsleep.base : &s->yield.base;
            if (fut_poll(w, cx) == FUT_PENDING)
                return FUT_PENDING;
            fut_drop(w);
            s->waiting = 0;
        }
        if (s->turn >= s->turns) {
            if (s->dropped)
                (*s->dropped)++;
            return FUT_READY;
        }
        s->turn++;
        if (s->turn_delay > 0)
            fut_sleep_init(&s->dsleep, s->turn_delay);
        else
            fut_yield_init(&s->yield);
        s->waiting = 1;
    }
}

static const struct fut_vtable slow_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "th_slow",
    .poll = slow_poll,
    .poll_drop = slow_poll_drop,
};

void th_slow_init(struct th_slow *s, double run_delay, int value, int turns, double turn_delay,
                  int *polls, int *drop_steps, int *dropped)
{
    memset(s, 0, sizeof *s);
    fut_init(&s->base, &slow_vt);
    s->run_delay = run_delay;
    s->value = value;
    s->turns = turns;
    s->turn_delay = turn_delay;
    s->polls = polls;
    s->drop_steps = drop_steps;
    s->dropped = dropped;
}

/* --- th_ticker ---------------------------------------------------------------- */

static fut_status ticker_poll(fut *self, fut_cx *cx)
{
    struct th_ticker *t = (struct th_ticker *)self;
    for (;;) {
        if (t->done >= t->n)
            return fut_ready(self, t->n);
        if (!t->armed) {
            fut_sleep_init(&t->sleep, t->period);
            t->armed = 1;
        }
        if (fut_poll(&t->sleep.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        fut_drop(&t->sleep.base);
        t->armed = 0;
        t->done++;
        if (t->counter)
            (*t->counter)++;
    }
}

static void ticker_drop(fut *self)
{
    struct th_ticker *t = (struct th_ticker *)self;
    if (t->armed)
        fut_drop(&t->sleep.base);
    t->armed = 0;
}

static const struct fut_vtable ticker_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "th_ticker",
    .poll = ticker_poll,
    .drop = ticker_drop,
};

void th_ticker_init(struct th_ticker *t, double period, int n, int *counter)
{
    memset(t, 0, sizeof *t);
    fut_init(&t->base, &ticker_vt);
    t->period = period;
    t->n = n;
    t->counter = counter;
}

/* --- th_fn --------------------------------------------------------------------- */

static fut_status fn_poll(fut *self, fut_cx *cx)
{
    struct th_fn *f = (struct th_fn *)self;
    if (f->in_poll)
        f->reentered++;
    f->in_poll++;
    fut_status st = f->fn(f, cx);
    f->in_poll--;
    f->step++;
    return st;
}

static const struct fut_vtable fn_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "th_fn",
    .poll = fn_poll,
};

void th_fn_init(struct th_fn *f, th_fn_cb fn, void *ud)
{
    memset(f, 0, sizeof *f);
    fut_init(&f->base, &fn_vt);
    f->fn = fn;
    f->ud = ud;
}

TCase *th_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, th_setup, th_teardown);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

TCase *th_rt_tcase(Suite *s, const char *name, double timeout)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

int th_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* --- fault injection --------------------------------------------------------- */

#include <endian.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define TH_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define TH_AUDIT_ARCH AUDIT_ARCH_I386
#endif

/* Built with ASan or TSan (gcc defines __SANITIZE_*__, clang has
 * __has_feature). */
static bool th_sanitized(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

int th_sysfail(const struct th_sysfail *rules, size_t n)
{
#ifdef TH_AUDIT_ARCH
    const char *fork = getenv("CK_FORK");
    if ((fork && strcmp(fork, "no") == 0) || th_under_valgrind() || n > 32)
        return -ENOSYS;
    /* The sanitizers' runtimes make threads of their own (LeakSanitizer
     * at exit, with clone): a test that fails clone cannot run under them. */
    for (size_t i = 0; i < n && th_sanitized(); i++) {
        if (rules[i].nr == __NR_clone
#ifdef __NR_clone3
            || rules[i].nr == __NR_clone3
#endif
        )
            return -ENOSYS;
    }
    struct sock_filter prog[4 + 32 * 6 + 1];
    unsigned k = 0;
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                             offsetof(struct seccomp_data, arch));
    prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TH_AUDIT_ARCH, 1, 0);
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                             offsetof(struct seccomp_data, nr));
    for (size_t i = 0; i < n; i++) {
        const struct th_sysfail *r = &rules[i];
        unsigned ret = SECCOMP_RET_ERRNO | ((unsigned)r->err & SECCOMP_RET_DATA);
        if (r->arg < 0) {
            prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)r->nr, 0,
                                                     1);
            prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ret);
            continue;
        }
        /* the low word of args[arg] */
        unsigned off = (unsigned)(offsetof(struct seccomp_data, args) + 8 * (size_t)r->arg +
                                  (BYTE_ORDER == LITTLE_ENDIAN ? 0 : 4));
        prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)r->nr, 0, 4);
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off);
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, (unsigned)r->mask);
        prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)r->val, 0, 1);
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, ret);
        prog[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                 offsetof(struct seccomp_data, nr));
    }
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog fp = {(unsigned short)k, prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp) == -1)
        return -ENOSYS;
    return 0;
#else
    (void)rules;
    (void)n;
    return -ENOSYS;
#endif
}

/* --- cancelled contexts ------------------------------------------------------ */

struct th_cbody {
    fut base;
    fut *child;
    fut_join *self;
    double after;
    ssize_t *out;
};

static fut_status cbody_poll(fut *self, fut_cx *cx)
{
    struct th_cbody *b = (struct th_cbody *)self;
    if (b->after <= 0)
        ck_assert_int_eq(fut_join_cancel(b->self), 0);
    ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), b->child, b->out), 0);
    return fut_ready(self, 0);
}

static const struct fut_vtable cbody_vt = {sizeof(struct fut_vtable), "th_cbody", cbody_poll, NULL,
                                           NULL};

struct th_canceller {
    fut base;
    fut_sleep s;
    fut_join *j;
};

static fut_status canceller_poll(fut *self, fut_cx *cx)
{
    struct th_canceller *c = (struct th_canceller *)self;
    if (fut_poll(&c->s.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    fut_drop(&c->s.base);
    fut_join_cancel(c->j);
    return fut_ready(self, 0);
}

static const struct fut_vtable canceller_vt = {sizeof(struct fut_vtable), "th_canceller",
                                               canceller_poll, NULL, NULL};

ssize_t th_run_cancelled(fut_rt *rt, fut *child, double after)
{
    ssize_t out = -99999;
    fut_join j;
    struct th_cbody b = {.child = child, .self = &j, .after = after, .out = &out};
    fut_init(&b.base, &cbody_vt);
    ck_assert_int_eq(FUT_SPAWN(rt, &b, &j), 0);
    if (after > 0) {
        struct th_canceller c = {.j = &j};
        fut_init(&c.base, &canceller_vt);
        fut_sleep_init(&c.s, after);
        ck_assert_int_eq(FUT_SPAWN(rt, &c, NULL), 0);
    }
    ssize_t r = th_block(rt, &j.base);
    ck_assert(r == 0 || r == -ECANCELED);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_ne(out, -99999);
    return out;
}
