/* SPDX-License-Identifier: MIT */
/* Wakers: clone, wake, drop; wakes from other threads (no wake lost);
 * waking finished and running (frozen) tasks; no allocation on the wake
 * and poll paths; reference counts, including past fut_rt_free(). */
#include "helpers.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* --- local helpers ---------------------------------------------------------- */

static pthread_t start_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fn, arg), 0);
    return t;
}

static void join_thread(pthread_t t)
{
    ck_assert_int_eq(pthread_join(t, NULL), 0);
}

/* Waits for a semaphore at most `seconds`; 0 on success. */
static int sem_wait_for(sem_t *s, double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)seconds;
    int r;
    while ((r = sem_timedwait(s, &ts)) == -1 && errno == EINTR)
        ;
    return r;
}

/* --- wakes from other threads ------------------------------------------------
 *
 * Thread k owns slot k: it takes the waker clone its task published there,
 * then for each round sets the slot's flag, wakes the task, and waits until
 * the task consumed the flag (a semaphore). A lost wake leaves the flag
 * unconsumed: the thread's wait then times out and the task never
 * completes (its watchdog turns that into -ETIMEDOUT). */

#define MAX_THREADS 8
#define WATCHDOG 20.0 /* seconds: only reached when a wake is lost */

struct slot {
    _Atomic(fut_waker *) w; /* published by the task, taken by the thread */
    atomic_int flag;
    sem_t consumed;
    int seen;   /* loop thread only */
    int failed; /* the round that timed out (thread only, read after join) */
};

struct xshared {
    struct slot slot[MAX_THREADS];
    int nthreads, ntasks, rounds;
    double delay; /* before the first wake */
    atomic_int stop;
};

struct xarg {
    struct xshared *sh;
    int k;
};

static void *x_thread(void *p)
{
    struct xarg *a = p;
    struct xshared *sh = a->sh;
    struct slot *sl = &sh->slot[a->k];
    fut_waker *w;
    /* Wait for the task's first poll (bounded). */
    for (int i = 0; !(w = atomic_exchange(&sl->w, NULL)); i++) {
        if (atomic_load(&sh->stop) || i > 20000) {
            sl->failed = -1;
            return NULL;
        }
        th_pause_for(0.001);
    }
    if (sh->delay > 0)
        th_pause_for(sh->delay);
    for (int r = 0; r < sh->rounds; r++) {
        atomic_store(&sl->flag, 1);
        fut_waker_wake(w);
        if (sem_wait_for(&sl->consumed, WATCHDOG) != 0) {
            sl->failed = r + 1;
            break;
        }
    }
    fut_waker_drop(w);
    return NULL;
}

/* A task (or a block_on future) serving the slots k with k % ntasks == m. */
struct xtask {
    fut base;
    struct xshared *sh;
    int m;
    int armed;
    fut_sleep watchdog;
};

static fut_status xtask_poll(fut *self, fut_cx *cx)
{
    struct xtask *t = (struct xtask *)self;
    struct xshared *sh = t->sh;
    if (!t->armed) {
        fut_sleep_init(&t->watchdog, WATCHDOG);
        t->armed = 1;
        for (int k = t->m; k < sh->nthreads; k += sh->ntasks)
            atomic_store(&sh->slot[k].w, fut_waker_clone(fut_cx_waker(cx)));
    }
    /* The watchdog first: the poll it causes must not rescue a lost wake. */
    if (fut_poll(&t->watchdog.base, cx) == FUT_READY)
        return fut_ready(self, -ETIMEDOUT);
    int total = 0, all = 1;
    for (int k = t->m; k < sh->nthreads; k += sh->ntasks) {
        struct slot *sl = &sh->slot[k];
        if (atomic_exchange(&sl->flag, 0)) {
            sl->seen++;
            sem_post(&sl->consumed);
        }
        total += sl->seen;
        if (sl->seen < sh->rounds)
            all = 0;
    }
    if (all)
        return fut_ready(self, total);
    return FUT_PENDING; /* the watchdog's poll arranged the wake */
}

static void xtask_drop(fut *self)
{
    struct xtask *t = (struct xtask *)self;
    if (t->armed)
        ck_assert_int_eq(fut_drop(&t->watchdog.base), 0);
    t->armed = 0;
}

static const struct fut_vtable xtask_vt = {
    .size = sizeof(struct fut_vtable), .name = "xtask", .poll = xtask_poll, .drop = xtask_drop};

static void xtask_init(struct xtask *t, struct xshared *sh, int m)
{
    memset(t, 0, sizeof *t);
    fut_init(&t->base, &xtask_vt);
    t->sh = sh;
    t->m = m;
}

static void xshared_init(struct xshared *sh, int nthreads, int ntasks, int rounds, double delay)
{
    memset(sh, 0, sizeof *sh);
    sh->nthreads = nthreads;
    sh->ntasks = ntasks;
    sh->rounds = rounds;
    sh->delay = delay;
    for (int k = 0; k < nthreads; k++)
        ck_assert_int_eq(sem_init(&sh->slot[k].consumed, 0, 0), 0);
}

static void xshared_finish(struct xshared *sh, pthread_t *th)
{
    atomic_store(&sh->stop, 1);
    for (int k = 0; k < sh->nthreads; k++) {
        join_thread(th[k]);
        fut_waker_drop(atomic_exchange(&sh->slot[k].w, NULL)); /* never taken */
        sem_destroy(&sh->slot[k].consumed);
    }
}

/* nthreads threads wake ntasks tasks `rounds` times each. */
static void cross_thread_case(int nthreads, int ntasks, int rounds, double delay)
{
    fut_rt *rt = th_new_rt();
    struct xshared sh;
    xshared_init(&sh, nthreads, ntasks, rounds, delay);
    fut_join j[MAX_THREADS];
    for (int m = 0; m < ntasks; m++) {
        struct xtask t;
        xtask_init(&t, &sh, m);
        ck_assert_int_eq(FUT_SPAWN(rt, &t, &j[m]), 0);
    }
    long total = th_alloc.total;
    pthread_t th[MAX_THREADS];
    struct xarg args[MAX_THREADS];
    for (int k = 0; k < nthreads; k++) {
        args[k] = (struct xarg){&sh, k};
        th[k] = start_thread(x_thread, &args[k]);
    }
    ssize_t got[MAX_THREADS];
    for (int m = 0; m < ntasks; m++)
        got[m] = th_block(rt, &j[m].base);
    xshared_finish(&sh, th);

    for (int m = 0; m < ntasks; m++) {
        int mine = 0;
        for (int k = m; k < nthreads; k += ntasks)
            mine++;
        ck_assert_msg(got[m] == (ssize_t)mine * rounds,
                      "task %d: %zd (expected %d): a wake was lost", m, got[m], mine * rounds);
    }
    for (int k = 0; k < nthreads; k++) {
        ck_assert_msg(sh.slot[k].failed == 0, "thread %d: round %d was never consumed", k,
                      sh.slot[k].failed);
        ck_assert_int_eq(sh.slot[k].seen, rounds);
    }
    struct fut_rt_stats st = th_stats(rt);
    ck_assert_int_gt(st.remote_wakes, 0);
    ck_assert_int_le(st.remote_wakes, (uint64_t)nthreads * rounds);
    ck_assert_int_eq(st.tasks_alive, 0);
    ck_assert_int_eq(th_alloc.total, total); /* wakes and polls allocated nothing */
    for (int m = 0; m < ntasks; m++)
        ck_assert_int_eq(fut_drop(&j[m].base), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}

START_TEST(wake_from_thread)
{
    cross_thread_case(1, 1, 1, 0.02);
}
END_TEST

START_TEST(wake_from_thread_rounds)
{
    cross_thread_case(1, 1, 1000, 0);
}
END_TEST

START_TEST(many_threads_many_tasks)
{
    cross_thread_case(8, 8, 1000, 0);
}
END_TEST

START_TEST(many_threads_one_task)
{
    cross_thread_case(8, 1, 1000, 0);
}
END_TEST

START_TEST(many_threads_three_tasks)
{
    cross_thread_case(8, 3, 500, 0);
}
END_TEST

/* The same through a future driven directly by fut_rt_block_on(): its waker
 * is the loop frame's, not a task's. */
START_TEST(wake_frame_from_thread)
{
    fut_rt *rt = th_rt;
    struct xshared sh;
    xshared_init(&sh, 2, 1, 500, 0);
    struct xtask t;
    xtask_init(&t, &sh, 0);
    pthread_t th[2];
    struct xarg args[2] = {{&sh, 0}, {&sh, 1}};
    th[0] = start_thread(x_thread, &args[0]);
    th[1] = start_thread(x_thread, &args[1]);
    ssize_t got = th_block(rt, &t.base);
    xshared_finish(&sh, th);
    ck_assert_msg(got == 1000, "got %zd: a wake was lost", got);
    ck_assert_int_eq(sh.slot[0].failed, 0);
    ck_assert_int_eq(sh.slot[1].failed, 0);
    ck_assert_int_eq(fut_drop(&t.base), 0);
}
END_TEST

/* --- waking finished tasks ------------------------------------------------------ */

/* A task body that keeps `n` clones of its waker in out[] and is READY. */
struct keeper {
    fut base;
    fut_waker **out;
    int n;
    int *polls;
};

static fut_status keeper_poll(fut *self, fut_cx *cx)
{
    struct keeper *k = (struct keeper *)self;
    (*k->polls)++;
    fut_waker *w = fut_cx_waker(cx);
    for (int i = 0; i < k->n; i++) {
        k->out[i] = fut_waker_clone(w);
        ck_assert_ptr_eq(k->out[i], w);
    }
    return fut_ready(self, 7);
}

static const struct fut_vtable keeper_vt = {
    .size = sizeof(struct fut_vtable), .name = "keeper", .poll = keeper_poll};

static void keeper_init(struct keeper *k, fut_waker **out, int n, int *polls)
{
    memset(k, 0, sizeof *k);
    fut_init(&k->base, &keeper_vt);
    k->out = out;
    k->n = n;
    k->polls = polls;
}

struct wake_n_arg {
    fut_waker *w;
    int n;
    int drop; /* drop w at the end */
};

static void *wake_n_thread(void *p)
{
    struct wake_n_arg *a = p;
    for (int i = 0; i < a->n; i++)
        fut_waker_wake(a->w);
    if (a->drop)
        fut_waker_drop(a->w);
    return NULL;
}

START_TEST(wake_finished_task)
{
    fut_rt *rt = th_rt;
    fut_waker *c[1] = {NULL};
    int polls = 0;
    struct keeper k;
    keeper_init(&k, c, 1, &polls);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &k, &j), 0);
    ck_assert_int_eq(th_block(rt, &j.base), 7);
    ck_assert_int_eq(polls, 1);
    struct fut_rt_stats st1 = th_stats(rt);

    /* On the loop's thread, outside and inside the loop. */
    fut_waker_wake(c[0]);
    fut_waker_wake(c[0]);
    th_turn(rt);
    /* From another thread, many times. */
    struct wake_n_arg a = {c[0], 1000, 0};
    join_thread(start_thread(wake_n_thread, &a));
    th_turn(rt);
    struct fut_rt_stats st2 = th_stats(rt);
    ck_assert_int_eq(polls, 1);
    ck_assert_int_eq(st2.polls, st1.polls);
    ck_assert_int_eq(st2.wakes, st1.wakes);
    ck_assert_int_eq(st2.remote_wakes, st1.remote_wakes);
    ck_assert_int_eq(st2.frozen_wakes, st1.frozen_wakes);

    /* The clone keeps the task's memory; its drop frees it. */
    long live = th_alloc.live;
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(th_alloc.live, live);
    fut_waker_wake(c[0]);
    fut_waker_drop(c[0]);
    ck_assert_int_eq(th_alloc.live, live - 1);
    fut_waker_drop(NULL); /* no-op */
}
END_TEST

/* A thread hammers a task with wakes while the task runs, finishes, and
 * after it finished; then the thread drops its clone. */
struct hammer_shared {
    _Atomic(fut_waker *) w;
    atomic_int go;
    atomic_int thread_done;
    int polls;
};

static void *hammer_thread(void *p)
{
    struct hammer_shared *h = p;
    fut_waker *w;
    for (int i = 0; !(w = atomic_load(&h->w)); i++) {
        if (i > 20000)
            return NULL;
        th_pause_for(0.001);
    }
    for (int i = 0; i < 200000 && !atomic_load(&h->go); i++)
        fut_waker_wake(w);
    for (int i = 0; i < 20000; i++) /* the task is finishing or finished */
        fut_waker_wake(w);
    atomic_store(&h->thread_done, 1);
    fut_waker_wake(w);
    fut_waker_drop(w);
    return NULL;
}

static fut_status hammered_poll(struct th_fn *f, fut_cx *cx)
{
    struct hammer_shared *h = f->ud;
    h->polls++;
    if (f->step == 0)
        atomic_store(&h->w, fut_waker_clone(fut_cx_waker(cx)));
    if (h->polls >= 50 || atomic_load(&h->thread_done)) {
        atomic_store(&h->go, 1);
        return fut_ready(&f->base, h->polls);
    }
    fut_cx_waker(cx);
    return FUT_PENDING;
}

START_TEST(wake_race_with_finish)
{
    fut_rt *rt = th_rt;
    struct hammer_shared h;
    memset(&h, 0, sizeof h);
    struct th_fn f;
    th_fn_init(&f, hammered_poll, &h);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &f, &j), 0);
    pthread_t t = start_thread(hammer_thread, &h);
    ssize_t got = th_block(rt, &j.base);
    ck_assert_int_ge(got, 1);
    ck_assert_int_eq(got, h.polls);
    join_thread(t);
    ck_assert_ptr_nonnull(atomic_load(&h.w));
    ck_assert_int_eq(h.polls, got); /* never polled after READY */
    th_turn(rt);
    ck_assert_int_eq(h.polls, got);
    struct fut_rt_stats st = th_stats(rt);
    ck_assert_int_gt(st.remote_wakes, 0);
    ck_assert_int_eq(st.tasks_alive, 0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
}
END_TEST

/* --- frozen tasks -------------------------------------------------------------------- */

/* A task that wakes itself during its poll: the wake is delivered after
 * the poll returned (a second poll), never re-entrantly. */
static fut_status self_waker_poll(struct th_fn *f, fut_cx *cx)
{
    if (f->step == 0) {
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    return fut_ready(&f->base, f->step);
}

START_TEST(self_wake_is_frozen)
{
    fut_rt *rt = th_rt;
    struct th_fn f;
    th_fn_init(&f, self_waker_poll, NULL);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &f, &j), 0);
    struct fut_rt_stats st0 = th_stats(rt);
    ck_assert_int_eq(th_block(rt, &j.base), 1); /* READY at its second poll */
    struct fut_rt_stats st1 = th_stats(rt);
    ck_assert_int_eq(st1.polls - st0.polls, 2);
    ck_assert_int_eq(st1.frozen_wakes - st0.frozen_wakes, 1);
    ck_assert_int_eq(fut_drop(&j.base), 0);
}
END_TEST

/* Task A runs a nested loop inside its poll; task B, polled by that nested
 * loop, wakes A (frozen: A's poll is on the stack) and then releases the
 * nested loop. A must not be polled re-entrantly, and B's wake must give
 * A its second poll once the first returned. With `remote`, another thread
 * does B's part. */
struct nshared {
    fut_waker *a;              /* A's waker (clone) */
    _Atomic(fut_waker *) a_x;  /* the same, for the thread */
    _Atomic(fut_waker *) gate; /* the nested loop's waker (clone) */
    atomic_int released;
    int a_polls, a_reentered, a_in_poll;
    int nested_rc;
    int b_yields;
};

struct gate {
    fut base;
    struct nshared *sh;
};

static fut_status gate_poll(fut *self, fut_cx *cx)
{
    struct gate *g = (struct gate *)self;
    if (atomic_load(&g->sh->released))
        return fut_ready(self, 0);
    if (!atomic_load(&g->sh->gate))
        atomic_store(&g->sh->gate, fut_waker_clone(fut_cx_waker(cx)));
    fut_cx_waker(cx);
    return FUT_PENDING;
}

static const struct fut_vtable gate_vt = {
    .size = sizeof(struct fut_vtable), .name = "gate", .poll = gate_poll};

static fut_status task_a_poll(struct th_fn *f, fut_cx *cx)
{
    struct nshared *sh = f->ud;
    if (sh->a_in_poll)
        sh->a_reentered++;
    sh->a_in_poll++;
    sh->a_polls++;
    fut_status st = FUT_PENDING;
    if (f->step == 0) {
        sh->a = fut_waker_clone(fut_cx_waker(cx));
        atomic_store(&sh->a_x, fut_waker_clone(sh->a));
        struct gate g;
        fut_init(&g.base, &gate_vt);
        g.sh = sh;
        sh->nested_rc = fut_rt_nested_loop(fut_cx_rt(cx), &g.base, NULL);
        ck_assert_int_eq(fut_drop(&g.base), 0);
        fut_waker_drop(atomic_exchange(&sh->gate, NULL));
    } else {
        fut_waker_drop(sh->a);
        sh->a = NULL;
        st = fut_ready(&f->base, sh->a_polls);
    }
    sh->a_in_poll--;
    return st;
}

static fut_status task_b_poll(struct th_fn *f, fut_cx *cx)
{
    struct nshared *sh = f->ud;
    /* A may not have run yet (a seeded order): yield until it is in its
     * nested loop. */
    if (!sh->a && f->step < 100) {
        sh->b_yields++; /* each a frozen wake of B's own */
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    ck_assert_ptr_nonnull(sh->a);
    fut_waker_wake(sh->a); /* A is in its poll: frozen */
    atomic_store(&sh->released, 1);
    fut_waker *g = atomic_load(&sh->gate);
    ck_assert_ptr_nonnull(g);
    fut_waker_wake(g);
    return fut_ready(&f->base, 0);
}

START_TEST(wake_during_nested_loop_is_frozen)
{
    fut_rt *rt = th_rt;
    struct nshared sh;
    memset(&sh, 0, sizeof sh);
    struct th_fn a, b;
    th_fn_init(&a, task_a_poll, &sh);
    th_fn_init(&b, task_b_poll, &sh);
    fut_join ja, jb;
    ck_assert_int_eq(FUT_SPAWN(rt, &a, &ja), 0);
    ck_assert_int_eq(FUT_SPAWN(rt, &b, &jb), 0);
    struct fut_rt_stats st0 = th_stats(rt);
    ck_assert_int_eq(th_block(rt, &ja.base), 2);
    ck_assert_int_eq(th_block(rt, &jb.base), 0);
    struct fut_rt_stats st1 = th_stats(rt);
    ck_assert_int_eq(sh.nested_rc, 0);
    ck_assert_int_eq(sh.a_polls, 2);
    ck_assert_int_eq(sh.a_reentered, 0);
    ck_assert_int_eq(st1.frozen_wakes - st0.frozen_wakes, 1 + sh.b_yields);
    ck_assert_int_ge(st1.nested_loops - st0.nested_loops, 1);
    fut_waker_drop(atomic_exchange(&sh.a_x, NULL));
    ck_assert_int_eq(fut_drop(&ja.base), 0);
    ck_assert_int_eq(fut_drop(&jb.base), 0);
}
END_TEST

static void *remote_b_thread(void *p)
{
    struct nshared *sh = p;
    fut_waker *a = NULL, *g = NULL;
    for (int i = 0; !(a = atomic_exchange(&sh->a_x, NULL)); i++) {
        if (i > 20000)
            return NULL;
        th_pause_for(0.001);
    }
    for (int i = 0; !(g = atomic_load(&sh->gate)); i++) {
        if (i > 20000)
            break;
        th_pause_for(0.001);
    }
    th_pause_for(0.01);
    fut_waker_wake(a); /* A is in its nested loop: frozen */
    fut_waker_drop(a);
    atomic_store(&sh->released, 1);
    if (g)
        fut_waker_wake(g);
    return NULL;
}

START_TEST(remote_wake_during_nested_loop_is_kept)
{
    fut_rt *rt = th_rt;
    struct nshared sh;
    memset(&sh, 0, sizeof sh);
    struct th_fn a;
    th_fn_init(&a, task_a_poll, &sh);
    fut_join ja;
    ck_assert_int_eq(FUT_SPAWN(rt, &a, &ja), 0);
    pthread_t t = start_thread(remote_b_thread, &sh);
    ck_assert_int_eq(th_block(rt, &ja.base), 2);
    join_thread(t);
    ck_assert_int_eq(sh.nested_rc, 0);
    ck_assert_int_eq(sh.a_polls, 2);
    ck_assert_int_eq(sh.a_reentered, 0);
    ck_assert_ptr_null(atomic_load(&sh.a_x));
    ck_assert_int_eq(fut_drop(&ja.base), 0);
}
END_TEST

/* --- no allocation on wake and poll ------------------------------------------------------ */

struct pingpong {
    fut_waker *w[2];
    int turn, hops, target;
    int polls[2];
};

struct pp_task {
    fut base;
    struct pingpong *pp;
    int me;
};

static fut_status pp_poll(fut *self, fut_cx *cx)
{
    struct pp_task *t = (struct pp_task *)self;
    struct pingpong *pp = t->pp;
    int me = t->me, other = !me;
    pp->polls[me]++;
    if (!pp->w[me])
        pp->w[me] = fut_waker_clone(fut_cx_waker(cx));
    if (pp->hops < pp->target && pp->turn == me) {
        pp->hops++;
        pp->turn = other;
        if (pp->w[other])
            fut_waker_wake(pp->w[other]);
    }
    if (pp->hops >= pp->target)
        return fut_ready(self, pp->polls[me]);
    fut_cx_waker(cx);
    return FUT_PENDING;
}

static void pp_drop(fut *self)
{
    struct pp_task *t = (struct pp_task *)self;
    fut_waker_drop(t->pp->w[t->me]);
    t->pp->w[t->me] = NULL;
}

static const struct fut_vtable pp_vt = {
    .size = sizeof(struct fut_vtable), .name = "pingpong", .poll = pp_poll, .drop = pp_drop};

START_TEST(no_allocation_on_wake_and_poll)
{
    fut_rt *rt = th_rt;
    struct pingpong pp;
    memset(&pp, 0, sizeof pp);
    pp.target = 10000;
    fut_join j[2];
    for (int me = 0; me < 2; me++) {
        struct pp_task t = {.pp = &pp, .me = me};
        fut_init(&t.base, &pp_vt);
        ck_assert_int_eq(FUT_SPAWN(rt, &t, &j[me]), 0);
    }
    long total = th_alloc.total;
    struct fut_rt_stats st0 = th_stats(rt);
    ssize_t p0 = th_block(rt, &j[0].base);
    ssize_t p1 = th_block(rt, &j[1].base);
    ck_assert_int_eq(th_alloc.total, total);
    ck_assert_int_eq(pp.hops, 10000);
    /* Each hop is one wake and one poll of the other task. */
    ck_assert_int_ge(p0 + p1, 10000);
    ck_assert_int_le(p0 + p1, 10004);
    struct fut_rt_stats st1 = th_stats(rt);
    ck_assert_int_ge(st1.wakes - st0.wakes, 9999);
    ck_assert_ptr_null(pp.w[0]);
    ck_assert_ptr_null(pp.w[1]);
    ck_assert_int_eq(fut_drop(&j[0].base), 0);
    ck_assert_int_eq(fut_drop(&j[1].base), 0);
    ck_assert_int_eq(th_alloc.total, total); /* frees only */
}
END_TEST

/* --- reference counts ------------------------------------------------------------------ */

START_TEST(task_freed_at_last_clone)
{
    fut_rt *rt = th_rt;
    long live0 = th_alloc.live;
    fut_waker *c[3] = {NULL};
    int polls = 0;
    struct keeper k;
    keeper_init(&k, c, 3, &polls);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &k, &j), 0);
    ck_assert_int_eq(th_alloc.live, live0 + 1);
    ck_assert_int_eq(th_block(rt, &j.base), 7);
    ck_assert_int_eq(th_alloc.live, live0 + 1);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(th_alloc.live, live0 + 1);
    /* A clone of a clone is one more reference. */
    fut_waker *c3 = fut_waker_clone(c[0]);
    ck_assert_ptr_eq(c3, c[0]);
    fut_waker_drop(c[0]);
    fut_waker_drop(c[1]);
    fut_waker_drop(c3);
    ck_assert_int_eq(th_alloc.live, live0 + 1);
    fut_waker_drop(c[2]);
    ck_assert_int_eq(th_alloc.live, live0);

    /* Detached: the runtime's reference goes when the task finishes, the
     * clone's at its drop. */
    keeper_init(&k, c, 1, &polls);
    ck_assert_int_eq(FUT_SPAWN(rt, &k, NULL), 0);
    th_turn(rt);
    ck_assert_int_eq(th_stats(rt).tasks_alive, 0);
    ck_assert_int_eq(th_alloc.live, live0 + 1);
    fut_waker_drop(c[0]);
    ck_assert_int_eq(th_alloc.live, live0);
}
END_TEST

/* Clones outliving the runtime: the task's memory and the loop frames'
 * block stay until the last clone is dropped, waking them is harmless,
 * and the last drop may come from another thread. */
static fut_status frame_keeper_poll(struct th_fn *f, fut_cx *cx)
{
    fut_waker **out = f->ud;
    *out = fut_waker_clone(fut_cx_waker(cx));
    return fut_ready(&f->base, 0);
}

START_TEST(clones_outlive_runtime)
{
    fut_rt *rt = th_new_rt();
    fut_waker *c[2] = {NULL};
    int polls = 0;
    struct keeper k;
    keeper_init(&k, c, 2, &polls);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &k, &j), 0);
    ck_assert_int_eq(th_block(rt, &j.base), 7);
    ck_assert_int_eq(fut_drop(&j.base), 0);

    fut_waker *fc = NULL; /* a clone of fut_rt_block_on's frame waker */
    struct th_fn f;
    th_fn_init(&f, frame_keeper_poll, &fc);
    ck_assert_int_eq(th_block(rt, &f.base), 0);
    ck_assert_ptr_nonnull(fc);
    ck_assert_int_eq(fut_drop(&f.base), 0);

    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(th_alloc.live, 2); /* the task, the frames' block */

    fut_waker_wake(c[0]);
    fut_waker_wake(fc);
    struct wake_n_arg a = {c[0], 100, 0};
    join_thread(start_thread(wake_n_thread, &a));
    a = (struct wake_n_arg){fc, 100, 0};
    join_thread(start_thread(wake_n_thread, &a));
    ck_assert_int_eq(th_alloc.live, 2);

    fut_waker_drop(fc);
    ck_assert_int_eq(th_alloc.live, 1);
    fut_waker_drop(c[0]);
    ck_assert_int_eq(th_alloc.live, 1);
    a = (struct wake_n_arg){c[1], 10, 1}; /* the last drop, on another thread */
    join_thread(start_thread(wake_n_thread, &a));
    ck_assert_int_eq(th_alloc.live, 0);
}
END_TEST

/* A frame waker clone keeps its block alive even while the runtime lives
 * on, and a stale wake of it does not disturb a later fut_rt_block_on. */
START_TEST(frame_clone_stale_wake)
{
    fut_rt *rt = th_rt;
    long live0 = th_alloc.live;
    fut_waker *fc = NULL;
    struct th_fn f;
    th_fn_init(&f, frame_keeper_poll, &fc);
    ck_assert_int_eq(th_block(rt, &f.base), 0);
    ck_assert_int_eq(fut_drop(&f.base), 0);
    fut_waker_wake(fc); /* the frame's loop is over */
    int polls = 0;
    fut_waker *c[1] = {NULL};
    struct keeper k;
    keeper_init(&k, c, 1, &polls);
    ck_assert_int_eq(th_block(rt, &k.base), 7);
    ck_assert_int_eq(polls, 1);
    ck_assert_int_eq(fut_drop(&k.base), 0);
    fut_waker_drop(c[0]);
    ck_assert_int_eq(th_alloc.live, live0);
    fut_waker_drop(fc);
    ck_assert_int_eq(th_alloc.live, live0);
}
END_TEST

/* A frame waker woken after its fut_rt_block_on() returned (a stale wake, from
 * this thread or another) is harmless: on a borrowed loop, the caller's
 * ev_run() still returns once there is nothing left to do, rather than
 * spinning on a watcher libfut keeps active for a loop frame that is gone. */
START_TEST(stale_frame_wake_lets_borrowed_loop_return)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    ck_assert_ptr_nonnull(loop);
    fut_rt *rt = NULL;
    ck_assert_int_eq(fut_rt_new(&rt, loop), 0);
    fut_waker *fc = NULL;
    struct th_fn f;
    th_fn_init(&f, frame_keeper_poll, &fc);
    ck_assert_int_eq(th_block(rt, &f.base), 0);
    ck_assert_int_eq(fut_drop(&f.base), 0);
    ck_assert_int_eq(ev_run(loop, EVRUN_NOWAIT), 0); /* nothing to do */

    fut_waker_wake(fc); /* stale, on the loop's thread */
    int busy = 1;
    for (int i = 0; i < 5 && busy; i++)
        busy = ev_run(loop, EVRUN_NOWAIT);
    ck_assert_msg(!busy, "ev_run(loop) would spin forever after a stale frame wake");

    struct wake_n_arg a = {fc, 1, 0}; /* stale, from another thread */
    join_thread(start_thread(wake_n_thread, &a));
    busy = 1;
    for (int i = 0; i < 5 && busy; i++)
        busy = ev_run(loop, EVRUN_NOWAIT);
    ck_assert_msg(!busy, "ev_run(loop) would spin forever after a remote stale frame wake");

    /* The runtime still works on the borrowed loop. */
    int polls = 0;
    fut_waker *c[1] = {NULL};
    struct keeper k;
    keeper_init(&k, c, 1, &polls);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &k, &j), 0);
    ev_run(loop, 0);
    ck_assert_int_eq(fut_join_finished(&j), 1);
    ck_assert_int_eq(th_block(rt, &j.base), 7);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    fut_waker_drop(c[0]);
    fut_waker_drop(fc);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ev_loop_destroy(loop);
}
END_TEST

/* A frame waker woken from another thread after its loop returned, the
 * waker's last clone dropped, then the frame block replaced: the remote
 * stack must hold the block alive (ASan/valgrind catch the use after free). */
static fut_waker *kept;

static fut_status grab_poll(fut *self, fut_cx *cx)
{
    kept = fut_waker_clone(fut_cx_waker(cx));
    return fut_ready(self, 0);
}

static const struct fut_vtable grab_vt = {sizeof(struct fut_vtable), "grab", grab_poll, NULL, NULL};

static void *remote_wake_and_drop(void *arg)
{
    fut_waker_wake(kept);
    fut_waker_drop(kept);
    return NULL;
}

START_TEST(remote_frame_wake_keeps_block_alive)
{
    fut_rt *rt = th_rt;
    fut g;
    fut_init(&g, &grab_vt);
    ck_assert_int_eq(th_block(rt, &g), 0);
    fut_drop(&g);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, remote_wake_and_drop, NULL), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(fut_rt_set_max_depth(rt, 32), 0); /* replaces the block */
    fut_yield y;
    th_block(rt, fut_yield_init(&y)); /* takes the remote stack */
    fut_drop(&y.base);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wake");
    TCase *tc = th_rt_tcase(s, "threads", 120);
    tcase_add_test(tc, wake_from_thread);
    tcase_add_test(tc, wake_from_thread_rounds);
    tcase_add_test(tc, many_threads_many_tasks);
    tcase_add_test(tc, many_threads_one_task);
    tcase_add_test(tc, many_threads_three_tasks);
    tcase_add_test(tc, wake_frame_from_thread);

    tc = th_rt_tcase(s, "finished", 60);
    tcase_add_test(tc, wake_finished_task);
    tcase_add_test(tc, wake_race_with_finish);

    tc = th_rt_tcase(s, "frozen", 60);
    tcase_add_test(tc, self_wake_is_frozen);
    tcase_add_test(tc, wake_during_nested_loop_is_frozen);
    tcase_add_test(tc, remote_wake_during_nested_loop_is_kept);

    tc = th_rt_tcase(s, "refs", 60);
    tcase_add_test(tc, no_allocation_on_wake_and_poll);
    tcase_add_test(tc, task_freed_at_last_clone);
    tcase_add_test(tc, frame_clone_stale_wake);
    tcase_add_test(tc, remote_frame_wake_keeps_block_alive);

    /* Runtimes of their own: what outlives fut_rt_free, a borrowed loop. */
    tc = th_tcase(s, "outlive", 60);
    tcase_add_test(tc, clones_outlive_runtime);
    tcase_add_test(tc, stale_frame_wake_lets_borrowed_loop_return);
    return th_run(s);
}
