/* SPDX-License-Identifier: MIT */
/* fut_signal (<fut/signal.h>): waits that see raise() and kill(), sets of
 * signals, the ctrl_c shorthand, arming at the first poll, two runtimes on
 * two threads, the previous disposition restored by the last waiter, drops
 * at every point, bad input, cancellation, a process kept alive.
 *
 * Every test starts with a harmless handler of its own ("prev") on the
 * signals it uses, so that a bug cannot kill the test runner; the fixture
 * ends each test by checking that prev is back on all of them. */
#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const int used[] = {SIGUSR1, SIGUSR2, SIGINT, SIGTERM, SIGHUP};
#define NUSED (sizeof used / sizeof used[0])

static volatile sig_atomic_t prev_hits[NSIG];

static void prev_handler(int sig)
{
    prev_hits[sig]++;
}

/* A distinctive disposition: SA_NODEFER and no SA_RESTART, so that a
 * restore that loses the flags is noticed. */
static void install_prev(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = prev_handler;
    sa.sa_flags = SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(sig, &sa, NULL), 0);
}

/* 1 while sig has the disposition install_prev() gave it. */
static int prev_in_place(int sig)
{
    struct sigaction cur;
    ck_assert_int_eq(sigaction(sig, NULL, &cur), 0);
    return !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == prev_handler &&
           (cur.sa_flags & (SA_NODEFER | SA_RESTART)) == SA_NODEFER;
}

static void sig_setup(void)
{
    th_setup();
    for (size_t i = 0; i < NUSED; i++) {
        install_prev(used[i]);
        prev_hits[used[i]] = 0;
    }
}

static void sig_teardown(void)
{
    for (size_t i = 0; i < NUSED; i++)
        ck_assert_msg(prev_in_place(used[i]), "signal %d: the previous disposition is not back",
                      used[i]);
    th_teardown();
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static fut *wait_for(fut_signal *s, int a, int b)
{
    sigset_t set;
    sigemptyset(&set);
    if (a)
        sigaddset(&set, a);
    if (b)
        sigaddset(&set, b);
    return fut_signal_init(s, &set);
}

/* Polls s once: arms it; it must be PENDING. */
static void arm(fut_rt *rt, fut_signal *s)
{
    ck_assert_int_eq(th_poll_once(rt, &s->base, NULL), FUT_PENDING);
}

/* --- receiving ---------------------------------------------------------------- */

/* raise() between the first poll and the next, with the loop not running:
 * the signal is kept, goes to the wait and not to the previous handler,
 * and the runtime gives back every fd and block. */
START_TEST(raise_after_arming_completes_the_wait)
{
    int fds = open_fds();
    fut_rt *rt = th_new_rt();
    fut_signal s;
    ck_assert_ptr_eq(wait_for(&s, SIGUSR1, 0), &s.base);
    arm(rt, &s);
    ck_assert(!prev_in_place(SIGUSR1)); /* ours now */
    ck_assert_int_eq(raise(SIGUSR1), 0);
    th_pause_for(0.02);
    ck_assert_int_eq(th_block(rt, &s.base), SIGUSR1);
    ck_assert_int_eq(prev_hits[SIGUSR1], 0);
    ck_assert(prev_in_place(SIGUSR1)); /* READY gave it back already */
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_loop_busy(rt), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(open_fds(), fds);
}
END_TEST

struct killer {
    double after;
    int sig;
};

static void *kill_later(void *arg)
{
    struct killer *k = arg;
    th_pause_for(k->after);
    kill(getpid(), k->sig);
    return NULL;
}

/* kill() from another thread while the loop sleeps in epoll_wait, the
 * wait being a task's future: the handler (on whichever thread) wakes the
 * loop. */
START_TEST(kill_wakes_a_blocked_loop)
{
    fut_rt *rt = th_new_rt();
    fut_signal s;
    wait_for(&s, SIGUSR2, 0);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &j), 0);
    struct killer k = {0.05, SIGUSR2};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, kill_later, &k), 0);
    double t0 = th_mono();
    ck_assert_int_eq(th_block(rt, &j.base), SIGUSR2);
    ck_assert_double_lt(th_mono() - t0, 5.0);
    pthread_join(th, NULL);
    ck_assert_int_eq(prev_hits[SIGUSR2], 0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* A set of two: whichever comes; both at once report the lower one. */
START_TEST(set_of_two_signals)
{
    fut_rt *rt = th_new_rt();
    fut_signal s;
    wait_for(&s, SIGUSR1, SIGUSR2);
    arm(rt, &s);
    ck_assert(!prev_in_place(SIGUSR1) && !prev_in_place(SIGUSR2));
    raise(SIGUSR2);
    ck_assert_int_eq(th_block(rt, &s.base), SIGUSR2);
    fut_drop(&s.base);

    wait_for(&s, SIGUSR1, SIGUSR2);
    arm(rt, &s);
    raise(SIGUSR1);
    ck_assert_int_eq(th_block(rt, &s.base), SIGUSR1);
    fut_drop(&s.base);

    wait_for(&s, SIGUSR1, SIGUSR2);
    arm(rt, &s);
    raise(SIGUSR2);
    raise(SIGUSR1);
    ck_assert_int_eq(th_block(rt, &s.base), SIGUSR1 < SIGUSR2 ? SIGUSR1 : SIGUSR2);
    fut_drop(&s.base);
    ck_assert_int_eq(prev_hits[SIGUSR1] + prev_hits[SIGUSR2], 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

START_TEST(ctrl_c_is_sigint_or_sigterm)
{
    fut_rt *rt = th_new_rt();
    fut_signal s;
    ck_assert_ptr_eq(fut_signal_ctrl_c_init(&s), &s.base);
    arm(rt, &s);
    ck_assert(!prev_in_place(SIGINT) && !prev_in_place(SIGTERM));
    ck_assert(prev_in_place(SIGUSR1));
    ck_assert_int_eq(kill(getpid(), SIGTERM), 0);
    ck_assert_int_eq(th_block(rt, &s.base), SIGTERM);
    fut_drop(&s.base);

    fut_signal_ctrl_c_init(&s);
    arm(rt, &s);
    raise(SIGINT);
    ck_assert_int_eq(th_block(rt, &s.base), SIGINT);
    fut_drop(&s.base);
    ck_assert_int_eq(prev_hits[SIGINT] + prev_hits[SIGTERM], 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* Armed at the first poll, not at init: a signal in between goes to the
 * disposition in force (prev) and does not complete the wait. */
START_TEST(signal_before_first_poll_is_not_seen)
{
    fut_rt *rt = th_new_rt();
    fut_signal s;
    wait_for(&s, SIGUSR1, 0);
    ck_assert(prev_in_place(SIGUSR1)); /* init installs nothing */
    raise(SIGUSR1);
    ck_assert_int_eq(prev_hits[SIGUSR1], 1);
    arm(rt, &s);
    ck_assert_int_eq(th_loop_busy(rt), 0); /* nothing pending for it */
    ck_assert_int_eq(th_poll_once(rt, &s.base, NULL), FUT_PENDING);
    raise(SIGUSR1);
    ck_assert_int_eq(th_block(rt, &s.base), SIGUSR1);
    ck_assert_int_eq(prev_hits[SIGUSR1], 1);
    fut_drop(&s.base);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* --- several runtimes and waiters ------------------------------------------------ */

/* Runs on its own thread: a runtime of its own, a wait for SIGUSR2 armed,
 * then fut_rt_block_on until it completes. The counting allocator is not
 * thread-safe: what allocates (the runtime, the first wait, the free) runs
 * under `lock`. */
struct waiter_thread {
    pthread_mutex_t *lock;
    atomic_int *armed;
    ssize_t out;
    int err;
};

/* Polls its child; the first poll, which arms it, under the lock, then
 * counted in *armed. */
struct arming {
    fut base;
    fut *child;
    pthread_mutex_t *lock;
    atomic_int *armed;
    int polls;
};

static fut_status arming_poll(fut *self, fut_cx *cx)
{
    struct arming *a = (struct arming *)self;
    if (a->polls == 0)
        pthread_mutex_lock(a->lock);
    fut_status st = fut_poll(a->child, cx);
    if (a->polls++ == 0) {
        pthread_mutex_unlock(a->lock);
        atomic_fetch_add(a->armed, 1);
    }
    return st == FUT_READY ? fut_ready(self, fut_out(a->child)) : FUT_PENDING;
}

static const struct fut_vtable arming_vt = {
    .size = sizeof(struct fut_vtable), .name = "arming", .poll = arming_poll};

static void *waiter_main(void *arg)
{
    struct waiter_thread *w = arg;
    fut_rt *rt = NULL;
    fut_signal s;
    struct arming a = {.lock = w->lock, .armed = w->armed};
    fut_init(&a.base, &arming_vt);
    a.child = wait_for(&s, SIGUSR2, 0);
    pthread_mutex_lock(w->lock);
    w->err = fut_rt_new(&rt, NULL);
    pthread_mutex_unlock(w->lock);
    if (w->err) {
        atomic_fetch_add(w->armed, 1);
        return NULL;
    }
    w->err = fut_rt_block_on(rt, &a.base, &w->out);
    pthread_mutex_lock(w->lock);
    fut_drop(&s.base);
    int err = fut_rt_free(rt);
    if (!w->err)
        w->err = err;
    pthread_mutex_unlock(w->lock);
    return NULL;
}

/* One kill(), two runtimes on two threads waiting for it: both see it
 * (neither loop is libev's default loop). */
START_TEST(two_runtimes_on_two_threads_both_see_one_kill)
{
    int fds = open_fds();
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    atomic_int armed = 0;
    struct waiter_thread w[2] = {{&lock, &armed, -1, 0}, {&lock, &armed, -1, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, waiter_main, &w[i]), 0);
    double t0 = th_mono();
    while (atomic_load(&armed) < 2 && th_mono() - t0 < 5)
        th_pause_for(0.001);
    ck_assert_int_eq(atomic_load(&armed), 2);
    ck_assert_int_eq(kill(getpid(), SIGUSR2), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].err, 0);
        ck_assert_int_eq(w[i].out, SIGUSR2);
    }
    ck_assert_int_eq(prev_hits[SIGUSR2], 0);
    ck_assert_int_eq(open_fds(), fds);
}
END_TEST

/* Three waiters, two runtimes on this thread: dropping one leaves the
 * handler in place for the others, one raise() completes both of them,
 * and the previous disposition (flags included) is back only when the last
 * one is gone. */
START_TEST(last_waiter_restores_the_disposition)
{
    fut_rt *rt1 = th_new_rt(), *rt2 = th_new_rt();
    fut_signal a, b, c;
    wait_for(&a, SIGUSR1, 0);
    wait_for(&b, SIGUSR1, SIGHUP);
    wait_for(&c, SIGUSR1, 0);
    arm(rt1, &a);
    arm(rt1, &b);
    arm(rt2, &c);
    ck_assert_int_eq(fut_drop(&a.base), 0);
    ck_assert(!prev_in_place(SIGUSR1));
    raise(SIGUSR1);
    ck_assert_int_eq(prev_hits[SIGUSR1], 0);
    ck_assert_int_eq(th_block(rt2, &c.base), SIGUSR1);
    ck_assert_int_eq(fut_drop(&c.base), 0);
    ck_assert(!prev_in_place(SIGUSR1)); /* b still waits */
    ck_assert(!prev_in_place(SIGHUP));
    ck_assert_int_eq(th_block(rt1, &b.base), SIGUSR1);
    ck_assert(prev_in_place(SIGUSR1));
    ck_assert(prev_in_place(SIGHUP));
    ck_assert_int_eq(fut_drop(&b.base), 0);
    raise(SIGUSR1);
    ck_assert_int_eq(prev_hits[SIGUSR1], 1);
    ck_assert_int_eq(fut_rt_free(rt1), 0);
    ck_assert_int_eq(fut_rt_free(rt2), 0);
}
END_TEST

/* --- dropping ------------------------------------------------------------------------ */

START_TEST(drop_at_every_point)
{
    fut_rt *rt = th_new_rt();
    fut_signal s;

    /* Before the first poll: nothing was registered or allocated. */
    long total = th_alloc.total;
    wait_for(&s, SIGUSR1, 0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_alloc.total, total);
    ck_assert(prev_in_place(SIGUSR1));

    /* Pending: unregistered at once; the next signal goes to prev. */
    wait_for(&s, SIGUSR1, 0);
    arm(rt, &s);
    ck_assert(!prev_in_place(SIGUSR1));
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert(prev_in_place(SIGUSR1));
    raise(SIGUSR1);
    ck_assert_int_eq(prev_hits[SIGUSR1], 1);
    ck_assert_int_eq(th_loop_busy(rt), 0);

    /* Completed by a signal the loop dispatched, never polled again: the
     * signal is lost with it, and a later wait does not see it. */
    wait_for(&s, SIGUSR1, 0);
    arm(rt, &s);
    raise(SIGUSR1);
    th_loop_busy(rt); /* the loop runs the dispatch */
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert(prev_in_place(SIGUSR1));
    wait_for(&s, SIGUSR1, 0);
    arm(rt, &s);
    ck_assert_int_eq(th_poll_once(rt, &s.base, NULL), FUT_PENDING);
    ck_assert_int_eq(fut_drop(&s.base), 0);

    /* A task holding the wait, cancelled while pending. */
    wait_for(&s, SIGUSR1, 0);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &j), 0);
    fut_yield y;
    th_block(rt, fut_yield_init(&y));
    fut_drop(&y.base);
    ck_assert(!prev_in_place(SIGUSR1));
    fut_join_cancel(&j);
    ck_assert_int_eq(th_block(rt, &j.base), -ECANCELED);
    fut_drop(&j.base);
    ck_assert(prev_in_place(SIGUSR1));

    ck_assert_int_eq(prev_hits[SIGUSR1], 1);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* --- bad input and cancellation ----------------------------------------------------- */

START_TEST(refused_sets_are_einval)
{
    fut_rt *rt = th_new_rt();
    long total = th_alloc.total;
    fut_signal s;
    ssize_t out = 0;
    sigset_t set;

    sigemptyset(&set);
    ck_assert_int_eq(th_poll_once(rt, fut_signal_init(&s, &set), &out), FUT_READY);
    ck_assert_int_eq(out, -EINVAL);
    fut_drop(&s.base);

    ck_assert_int_eq(th_poll_once(rt, fut_signal_init(&s, NULL), &out), FUT_READY);
    ck_assert_int_eq(out, -EINVAL);
    fut_drop(&s.base);

    const int bad[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* Refused whole: SIGUSR1 beside it is not installed either. */
        out = 0;
        ck_assert_int_eq(th_poll_once(rt, wait_for(&s, SIGUSR1, bad[i]), &out), FUT_READY);
        ck_assert_msg(out == -EINVAL, "signal %d: %zd", bad[i], out);
        ck_assert(prev_in_place(SIGUSR1));
        fut_drop(&s.base);
    }
    ck_assert_int_eq(th_alloc.total, total); /* no runtime signal state */
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* A task blocked in a nested loop on a wait is cancelled: the wait
 * completes with -ECANCELED and unregisters; a wait first polled under the
 * cancelled context completes so at once. */
struct blocker {
    ssize_t first, second;
};

static fut_status blocker_fn(struct th_fn *f, fut_cx *cx)
{
    struct blocker *b = f->ud;
    fut_signal s;
    ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), wait_for(&s, SIGUSR1, 0), &b->first), 0);
    fut_drop(&s.base);
    ck_assert(fut_cx_cancelled(cx));
    ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), wait_for(&s, SIGUSR2, 0), &b->second), 0);
    fut_drop(&s.base);
    return fut_ready(&f->base, b->second);
}

static fut_status canceller_fn(struct th_fn *f, fut_cx *cx)
{
    /* The victim may not have run yet (a seeded order): yield until it
     * armed its wait. */
    if (prev_in_place(SIGUSR1) && f->step < 100) {
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    ck_assert(!prev_in_place(SIGUSR1)); /* the victim is armed */
    ck_assert_int_eq(fut_join_cancel(f->ud), 0);
    return fut_ready(&f->base, 0);
}

START_TEST(cancelled_context_is_ecanceled)
{
    fut_rt *rt = th_new_rt();
    struct blocker b = {1, 1};
    struct th_fn victim, killer;
    th_fn_init(&victim, blocker_fn, &b);
    fut_join jv, jk;
    ck_assert_int_eq(FUT_SPAWN(rt, &victim, &jv), 0);
    th_fn_init(&killer, canceller_fn, &jv);
    ck_assert_int_eq(FUT_SPAWN(rt, &killer, &jk), 0);
    ck_assert_int_eq(th_block(rt, &jv.base), -ECANCELED);
    ck_assert_int_eq(b.first, -ECANCELED);
    ck_assert_int_eq(b.second, -ECANCELED);
    fut_drop(&jv.base);
    th_block(rt, &jk.base);
    fut_drop(&jk.base);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* --- the process ------------------------------------------------------------------- */

/* In a child whose SIGTERM has its default action (terminate): while a
 * wait is armed, SIGTERM does not kill it; after the wait, SIG_DFL is back.
 * No Check calls in the child: its exit status says what went wrong. */
static int child_main(void)
{
    signal(SIGTERM, SIG_DFL);
    fut_rt *rt = NULL;
    if (fut_rt_new(&rt, NULL))
        return 2;
    fut_signal s;
    fut_join j;
    wait_for(&s, SIGTERM, 0);
    if (FUT_SPAWN(rt, &s, &j))
        return 3;
    fut_yield y;
    fut_rt_block_on(rt, fut_yield_init(&y), NULL); /* the task armed */
    fut_drop(&y.base);
    kill(getpid(), SIGTERM);
    ssize_t out = 0;
    if (fut_rt_block_on(rt, &j.base, &out) || out != SIGTERM)
        return 4;
    fut_drop(&j.base);
    if (fut_rt_free(rt))
        return 5;
    struct sigaction cur;
    sigaction(SIGTERM, NULL, &cur);
    if ((cur.sa_flags & SA_SIGINFO) || cur.sa_handler != SIG_DFL)
        return 6;
    return 0;
}

START_TEST(armed_wait_keeps_the_process_alive)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(child_main());
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(!WIFSIGNALED(status), "the child died of signal %d", WTERMSIG(status));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child exited with %d",
                  WEXITSTATUS(status));
}
END_TEST

/* --- a forked child, failures ---------------------------------------------------- */

static volatile sig_atomic_t info_hits;

static void info_handler(int sig, siginfo_t *info, void *uc)
{
    (void)uc;
    if (sig == SIGUSR2 && info && info->si_signo == SIGUSR2)
        info_hits++;
}

/* A forked child inherits the handler of a waiter armed in the parent:
 * a signal there goes to the disposition the handler replaced, whatever
 * it was (a plain handler, an SA_SIGINFO one, ignore, default). */
START_TEST(forked_child_gives_signals_to_the_old_disposition)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    switch (_i) {
    case 0:
        sa.sa_handler = prev_handler;
        break;
    case 1:
        sa.sa_sigaction = info_handler;
        sa.sa_flags = SA_SIGINFO;
        break;
    case 2:
        sa.sa_handler = SIG_IGN;
        break;
    default:
        sa.sa_handler = SIG_DFL;
    }
    ck_assert_int_eq(sigaction(SIGUSR2, &sa, NULL), 0);
    fut_rt *rt = th_new_rt();
    fut_signal s;
    wait_for(&s, SIGUSR2, 0);
    arm(rt, &s);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        raise(SIGUSR2);
        /* exit, not _exit: a coverage build writes the child's counters */
        exit(_i == 0 ? prev_hits[SIGUSR2] : _i == 1 ? info_hits : 7);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (_i == 3) {
        ck_assert(WIFSIGNALED(status));
        ck_assert_int_eq(WTERMSIG(status), SIGUSR2);
    } else {
        ck_assert(WIFEXITED(status));
        ck_assert_int_eq(WEXITSTATUS(status), _i == 2 ? 7 : 1);
    }
    ck_assert_int_eq(prev_hits[SIGUSR2], 0); /* nothing here in the parent */
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    install_prev(SIGUSR2);
}
END_TEST

/* The second signal of a set cannot be installed (sigaction fails): the
 * wait completes with its error and the first one's disposition is put
 * back. No memory for the runtime's hub: -ENOMEM. */
START_TEST(arming_failures_undo_what_was_done)
{
    fut_rt *rt = th_new_rt();
    fut_signal s;
    ssize_t out = 0;
    th_alloc.fail_at = th_alloc.total + 1;
    ck_assert_int_eq(th_poll_once(rt, wait_for(&s, SIGUSR1, 0), &out), FUT_READY);
    th_alloc.fail_at = 0;
    ck_assert_int_eq(out, -ENOMEM);
    ck_assert(prev_in_place(SIGUSR1));
    fut_drop(&s.base);
    const struct th_sysfail rule = {__NR_rt_sigaction, EINVAL, 0, 0xffffffff, SIGWINCH};
    if (th_sysfail(&rule, 1) != 0) {
        fprintf(stderr, "# arming_failures_undo_what_was_done: no seccomp here, skipped\n");
    } else {
        ck_assert_int_eq(th_poll_once(rt, wait_for(&s, SIGUSR1, SIGWINCH), &out), FUT_READY);
        ck_assert_int_eq(out, -EINVAL);
        ck_assert(prev_in_place(SIGUSR1));
        fut_drop(&s.base);
    }
    /* glibc's own signals (32, 33), set behind sigaddset's back */
    sigset_t set;
    sigemptyset(&set);
    ((unsigned long *)(void *)&set)[0] |= 1UL << (32 - 1);
    if (sigismember(&set, 32) == 1) {
        ck_assert_int_eq(th_poll_once(rt, fut_signal_init(&s, &set), &out), FUT_READY);
        ck_assert_int_eq(out, -EINVAL);
        fut_drop(&s.base);
    }
    ck_assert_int_eq(fut_rt_free(rt), 0);
}
END_TEST

/* A waiter armed outside a task and never dropped when its runtime is
 * freed: disarmed there, the previous disposition back. */
START_TEST(rt_freed_under_an_armed_waiter)
{
    fut_rt *rt = th_new_rt();
    fut_signal s;
    wait_for(&s, SIGUSR1, 0);
    arm(rt, &s);
    ck_assert(!prev_in_place(SIGUSR1));
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert(prev_in_place(SIGUSR1));
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert(prev_in_place(SIGUSR1));
}
END_TEST

static TCase *tcase(Suite *s, const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_add_checked_fixture(tc, sig_setup, sig_teardown);
    tcase_set_timeout(tc, 20);
    suite_add_tcase(s, tc);
    return tc;
}

int main(void)
{
    /* A signal gone astray must not end the runner. */
    for (size_t i = 0; i < NUSED; i++)
        signal(used[i], prev_handler);
    Suite *s = suite_create("signal");
    TCase *tc = tcase(s, "receive");
    tcase_add_test(tc, raise_after_arming_completes_the_wait);
    tcase_add_test(tc, kill_wakes_a_blocked_loop);
    tcase_add_test(tc, set_of_two_signals);
    tcase_add_test(tc, ctrl_c_is_sigint_or_sigterm);
    tcase_add_test(tc, signal_before_first_poll_is_not_seen);
    tc = tcase(s, "waiters");
    tcase_add_test(tc, two_runtimes_on_two_threads_both_see_one_kill);
    tcase_add_test(tc, last_waiter_restores_the_disposition);
    tc = tcase(s, "drop");
    tcase_add_test(tc, drop_at_every_point);
    tcase_add_test(tc, refused_sets_are_einval);
    tcase_add_test(tc, cancelled_context_is_ecanceled);
    tc = tcase(s, "process");
    tcase_add_test(tc, armed_wait_keeps_the_process_alive);
    tcase_add_loop_test(tc, forked_child_gives_signals_to_the_old_disposition, 0, 4);
    tcase_add_test(tc, arming_failures_undo_what_was_done);
    tcase_add_test(tc, rt_freed_under_an_armed_waiter);
    return th_run(s);
}
