/* SPDX-License-Identifier: MIT */
/* Coordination primitives (<fut/sync.h>): semaphore, notify, mutex.
 * Basic semantics, FIFO order, hand-over of a grant by a dropped waiter,
 * cancellation, bad input, and randomized drop schedules checked step by
 * step against a reference model. */
#include "config.h"

#include "helpers.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define rt th_rt

/* --- running test code inside one poll --------------------------------------
 * The steps below poll and drop futures by hand with the context of one
 * fut_rt_block_on: cheap enough for the randomized schedules, and exact
 * (nothing runs between two steps). */
typedef void (*inpoll_fn)(fut_cx *cx, void *ud);

struct inpoll {
    fut base;
    inpoll_fn fn;
    void *ud;
};

static fut_status inpoll_poll(fut *self, fut_cx *cx)
{
    struct inpoll *p = (struct inpoll *)self;
    p->fn(cx, p->ud);
    return fut_ready(self, 0);
}

static const struct fut_vtable inpoll_vt = {
    .size = sizeof(struct fut_vtable), .name = "inpoll", .poll = inpoll_poll};

static void in_poll(inpoll_fn fn, void *ud)
{
    struct inpoll p = {.fn = fn, .ud = ud};
    fut_init(&p.base, &inpoll_vt);
    ck_assert_int_eq(th_block(rt, &p.base), 0);
}

/* Check's ck_assert_* writes to a pipe at every call: the hot loops of
 * the randomized tests use these, which only call Check on a failure. */
#define Q_CMP(a, op, b) \
    do { \
        long long a_ = (long long)(a), b_ = (long long)(b); \
        if (!(a_ op b_)) \
            ck_abort_msg("%s:%d: %s " #op " %s: %lld vs %lld", __FILE__, __LINE__, #a, #b, a_, \
                         b_); \
    } while (0)
#define Q_EQ(a, b) Q_CMP(a, ==, b)

/* Polls f: -1000 when PENDING, else its output. */
#define PENDING_ (-1000)
static ssize_t poll1(fut *f, fut_cx *cx)
{
    return fut_poll(f, cx) == FUT_READY ? fut_out(f) : PENDING_;
}

static void drop1(fut *f, fut_cx *cx)
{
    /* These futures never wait to be torn down. */
    Q_EQ(fut_poll_drop(f, cx), FUT_READY);
}

/* --- semaphore: basics ---------------------------------------------------- */

static void sem_basic_body(fut_cx *cx, void *ud)
{
    (void)ud;
    fut_sem s;
    fut_sem_acquire_op a, b, c;
    ck_assert_int_eq(fut_sem_init(&s, 3), 0);
    ck_assert_uint_eq(fut_sem_capacity(&s), 3);
    ck_assert_int_eq(poll1(fut_sem_acquire(&a, &s, 2), cx), 0);
    ck_assert_uint_eq(fut_sem_available(&s), 1);
    ck_assert_int_eq(poll1(fut_sem_acquire(&b, &s, 2), cx), PENDING_);
    /* One is available, but b waits first: no barging. */
    ck_assert_int_eq(fut_sem_try_acquire(&s, 1), -EAGAIN);
    ck_assert_int_eq(poll1(fut_sem_acquire(&c, &s, 1), cx), PENDING_);
    ck_assert_int_eq(poll1(&b.base, cx), PENDING_);
    /* Dropping the guard gives its permits back: b then c. */
    drop1(&a.base, cx);
    ck_assert_uint_eq(fut_sem_available(&s), 0);
    ck_assert_int_eq(poll1(&b.base, cx), 0);
    ck_assert_int_eq(poll1(&c.base, cx), 0);
    /* forget: b's two permits become loose, released by hand. */
    ck_assert_uint_eq(fut_sem_forget(&b), 2);
    ck_assert_uint_eq(fut_sem_forget(&b), 0);
    drop1(&b.base, cx);
    ck_assert_uint_eq(fut_sem_available(&s), 0);
    ck_assert_int_eq(fut_sem_release(&s, 3), -EINVAL);
    ck_assert_int_eq(fut_sem_release(&s, 2), 0);
    ck_assert_uint_eq(fut_sem_available(&s), 2);
    drop1(&c.base, cx);
    ck_assert_uint_eq(fut_sem_available(&s), 3);
    /* try_acquire's permits are loose too. */
    ck_assert_int_eq(fut_sem_try_acquire(&s, 3), 0);
    ck_assert_int_eq(fut_sem_try_acquire(&s, 1), -EAGAIN);
    ck_assert_int_eq(fut_sem_release(&s, 3), 0);
    /* add grows the capacity and grants. */
    ck_assert_int_eq(poll1(fut_sem_acquire(&a, &s, 3), cx), 0);
    ck_assert_int_eq(poll1(fut_sem_acquire(&b, &s, 4), cx), -EINVAL);
    drop1(&b.base, cx);
    ck_assert_int_eq(fut_sem_add(&s, 1), 0);
    ck_assert_int_eq(poll1(fut_sem_acquire(&b, &s, 4), cx), PENDING_);
    drop1(&a.base, cx);
    ck_assert_int_eq(poll1(&b.base, cx), 0);
    drop1(&b.base, cx);
    ck_assert_uint_eq(fut_sem_available(&s), 4);
    ck_assert_uint_eq(fut_sem_capacity(&s), 4);
}

START_TEST(sem_basic)
{
    in_poll(sem_basic_body, NULL);
}
END_TEST

/* A big request at the head blocks the small ones behind it; grants go
 * in queue order, and a dropped head lets the next ones through. */
static void sem_fifo_body(fut_cx *cx, void *ud)
{
    (void)ud;
    fut_sem s;
    fut_sem_acquire_op op[4];
    size_t need[4] = {3, 1, 2, 1};
    ck_assert_int_eq(fut_sem_init(&s, 4), 0);
    ck_assert_int_eq(fut_sem_try_acquire(&s, 4), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(poll1(fut_sem_acquire(&op[i], &s, need[i]), cx), PENDING_);
    ck_assert_int_eq(fut_sem_release(&s, 2), 0);
    ck_assert_uint_eq(fut_sem_available(&s), 2); /* the head needs 3 */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(poll1(&op[i].base, cx), PENDING_);
    ck_assert_int_eq(fut_sem_release(&s, 2), 0); /* 4: op0 (3), op1 (1) */
    ck_assert_int_eq(poll1(&op[0].base, cx), 0);
    ck_assert_int_eq(poll1(&op[1].base, cx), 0);
    ck_assert_int_eq(poll1(&op[2].base, cx), PENDING_);
    ck_assert_int_eq(poll1(&op[3].base, cx), PENDING_);
    ck_assert_uint_eq(fut_sem_available(&s), 0);
    drop1(&op[1].base, cx); /* 1 free: op2 (2) is the head and blocks op3 */
    ck_assert_int_eq(poll1(&op[3].base, cx), PENDING_);
    ck_assert_uint_eq(fut_sem_available(&s), 1);
    drop1(&op[2].base, cx); /* the head leaves: op3 fits */
    ck_assert_int_eq(poll1(&op[3].base, cx), 0);
    drop1(&op[0].base, cx);
    drop1(&op[3].base, cx);
    ck_assert_uint_eq(fut_sem_available(&s), 4);
}

START_TEST(sem_fifo)
{
    in_poll(sem_fifo_body, NULL);
}
END_TEST

/* Granted, then dropped before its poll saw it: the permits go on. */
static void sem_handover_body(fut_cx *cx, void *ud)
{
    (void)ud;
    fut_sem s;
    fut_sem_acquire_op a, b, c;
    ck_assert_int_eq(fut_sem_init(&s, 1), 0);
    ck_assert_int_eq(poll1(fut_sem_acquire(&a, &s, 1), cx), 0);
    ck_assert_int_eq(poll1(fut_sem_acquire(&b, &s, 1), cx), PENDING_);
    ck_assert_int_eq(poll1(fut_sem_acquire(&c, &s, 1), cx), PENDING_);
    drop1(&a.base, cx); /* grants b */
    drop1(&b.base, cx); /* unseen: hands it to c */
    ck_assert_int_eq(poll1(&c.base, cx), 0);
    ck_assert_uint_eq(fut_sem_available(&s), 0);
    drop1(&c.base, cx);
    ck_assert_uint_eq(fut_sem_available(&s), 1);
    /* Dropped before its first poll: nothing happens. */
    fut_sem_acquire(&a, &s, 1);
    drop1(&a.base, cx);
    ck_assert_uint_eq(fut_sem_available(&s), 1);
}

START_TEST(sem_handover)
{
    in_poll(sem_handover_body, NULL);
}
END_TEST

static void sem_bad_body(fut_cx *cx, void *ud)
{
    (void)ud;
    fut_sem s;
    fut_sem_acquire_op a;
    ck_assert_int_eq(fut_sem_init(NULL, 1), -EINVAL);
    ck_assert_int_eq(fut_sem_init(&s, FUT_SEM_MAX + 1), -EINVAL);
    ck_assert_int_eq(fut_sem_init(&s, 2), 0);
    ck_assert_int_eq(poll1(fut_sem_acquire(&a, &s, 0), cx), -EINVAL);
    drop1(&a.base, cx);
    ck_assert_int_eq(poll1(fut_sem_acquire(&a, &s, 3), cx), -EINVAL);
    ck_assert_uint_eq(fut_sem_forget(&a), 0);
    drop1(&a.base, cx);
    ck_assert_int_eq(fut_sem_try_acquire(&s, 0), -EINVAL);
    ck_assert_int_eq(fut_sem_try_acquire(&s, 3), -EINVAL);
    ck_assert_int_eq(fut_sem_release(&s, 1), -EINVAL); /* nothing loose */
    ck_assert_int_eq(fut_sem_add(&s, FUT_SEM_MAX), -EINVAL);
    ck_assert_uint_eq(fut_sem_available(&s), 2);
    ck_assert_uint_eq(fut_sem_capacity(&s), 2);
}

START_TEST(sem_bad_input)
{
    in_poll(sem_bad_body, NULL);
}
END_TEST

static void sem_close_body(fut_cx *cx, void *ud)
{
    (void)ud;
    fut_sem s;
    fut_sem_acquire_op a, b;
    ck_assert_int_eq(fut_sem_init(&s, 1), 0);
    ck_assert_int_eq(poll1(fut_sem_acquire(&a, &s, 1), cx), 0);
    ck_assert_int_eq(poll1(fut_sem_acquire(&b, &s, 1), cx), PENDING_);
    fut_sem_close(&s);
    fut_sem_close(&s);
    ck_assert_int_eq(poll1(&b.base, cx), -EPIPE);
    drop1(&b.base, cx);
    ck_assert_int_eq(poll1(fut_sem_acquire(&b, &s, 1), cx), -EPIPE);
    drop1(&b.base, cx);
    ck_assert_int_eq(fut_sem_try_acquire(&s, 1), -EPIPE);
    drop1(&a.base, cx); /* held permits still go back */
    ck_assert_uint_eq(fut_sem_available(&s), 1);
}

START_TEST(sem_close)
{
    in_poll(sem_close_body, NULL);
}
END_TEST

/* --- notify: basics --------------------------------------------------------- */

static void notify_basic_body(fut_cx *cx, void *ud)
{
    (void)ud;
    fut_notify n;
    fut_notify_wait a, b, c;
    fut_notify_init(&n);
    /* notify_one with no waiter is stored (once: they coalesce). */
    fut_notify_one(&n);
    fut_notify_one(&n);
    ck_assert_int_eq(fut_notify_stored(&n), 1);
    ck_assert_int_eq(poll1(fut_notify_wait_init(&a, &n), cx), 0);
    drop1(&a.base, cx);
    ck_assert_int_eq(fut_notify_stored(&n), 0);
    ck_assert_int_eq(poll1(fut_notify_wait_init(&a, &n), cx), PENDING_);
    drop1(&a.base, cx);
    /* notify_one wakes waiters in FIFO order. */
    ck_assert_int_eq(poll1(fut_notify_wait_init(&a, &n), cx), PENDING_);
    ck_assert_int_eq(poll1(fut_notify_wait_init(&b, &n), cx), PENDING_);
    fut_notify_one(&n);
    ck_assert_int_eq(poll1(&b.base, cx), PENDING_);
    ck_assert_int_eq(poll1(&a.base, cx), 0);
    ck_assert_int_eq(fut_notify_stored(&n), 0);
    /* A notification given to a waiter dropped unseen goes on to the next. */
    ck_assert_int_eq(poll1(fut_notify_wait_init(&c, &n), cx), PENDING_);
    fut_notify_one(&n); /* b */
    drop1(&b.base, cx);
    ck_assert_int_eq(poll1(&c.base, cx), 0);
    drop1(&a.base, cx);
    drop1(&c.base, cx);
    /* ... or is stored when there is nobody left. */
    ck_assert_int_eq(poll1(fut_notify_wait_init(&a, &n), cx), PENDING_);
    fut_notify_one(&n);
    drop1(&a.base, cx);
    ck_assert_int_eq(fut_notify_stored(&n), 1);
    ck_assert_int_eq(poll1(fut_notify_wait_init(&a, &n), cx), 0);
    drop1(&a.base, cx);
    /* notify_all wakes every waiter, stores nothing, and counts for the
     * waits initialised before it but polled after. */
    ck_assert_int_eq(poll1(fut_notify_wait_init(&a, &n), cx), PENDING_);
    ck_assert_int_eq(poll1(fut_notify_wait_init(&b, &n), cx), PENDING_);
    fut_notify_wait_init(&c, &n);
    fut_notify_all(&n);
    ck_assert_int_eq(fut_notify_stored(&n), 0);
    ck_assert_int_eq(poll1(&b.base, cx), 0);
    ck_assert_int_eq(poll1(&c.base, cx), 0);
    drop1(&a.base, cx); /* woken by notify_all, unseen: not passed on */
    ck_assert_int_eq(fut_notify_stored(&n), 0);
    drop1(&b.base, cx);
    drop1(&c.base, cx);
    ck_assert_int_eq(poll1(fut_notify_wait_init(&a, &n), cx), PENDING_);
    drop1(&a.base, cx);
    /* A stored permit is not taken by a wait completed by notify_all. */
    fut_notify_wait_init(&a, &n);
    fut_notify_all(&n);
    fut_notify_one(&n);
    ck_assert_int_eq(poll1(&a.base, cx), 0);
    ck_assert_int_eq(fut_notify_stored(&n), 1);
    drop1(&a.base, cx);
}

START_TEST(notify_basic)
{
    in_poll(notify_basic_body, NULL);
}
END_TEST

/* --- mutex: basics ---------------------------------------------------------- */

static void mutex_basic_body(fut_cx *cx, void *ud)
{
    (void)ud;
    fut_mutex m;
    fut_mutex_lock_op a, b, c;
    fut_mutex_init(&m);
    ck_assert_int_eq(fut_mutex_locked(&m), 0);
    ck_assert_int_eq(fut_mutex_unlock(&m), -EPERM);
    ck_assert_int_eq(poll1(fut_mutex_lock(&a, &m), cx), 0);
    ck_assert_int_eq(fut_mutex_locked(&m), 1);
    ck_assert_int_eq(fut_mutex_try_lock(&m), -EBUSY);
    ck_assert_int_eq(fut_mutex_unlock(&m), -EPERM); /* a guard holds it */
    ck_assert_int_eq(poll1(fut_mutex_lock(&b, &m), cx), PENDING_);
    ck_assert_int_eq(poll1(fut_mutex_lock(&c, &m), cx), PENDING_);
    drop1(&a.base, cx); /* to b, FIFO */
    ck_assert_int_eq(poll1(&c.base, cx), PENDING_);
    ck_assert_int_eq(fut_mutex_locked(&m), 1);
    drop1(&b.base, cx); /* unseen: on to c */
    ck_assert_int_eq(poll1(&c.base, cx), 0);
    /* forget: held loose, unlocked by hand. */
    ck_assert_int_eq(fut_mutex_forget(&c), 1);
    ck_assert_int_eq(fut_mutex_forget(&c), 0);
    drop1(&c.base, cx);
    ck_assert_int_eq(fut_mutex_locked(&m), 1);
    ck_assert_int_eq(poll1(fut_mutex_lock(&a, &m), cx), PENDING_);
    ck_assert_int_eq(fut_mutex_unlock(&m), 0);
    ck_assert_int_eq(poll1(&a.base, cx), 0);
    drop1(&a.base, cx);
    ck_assert_int_eq(fut_mutex_locked(&m), 0);
    ck_assert_int_eq(fut_mutex_try_lock(&m), 0);
    ck_assert_int_eq(fut_mutex_unlock(&m), 0);
    ck_assert_int_eq(fut_mutex_locked(&m), 0);
    /* A queued lock dropped leaves no trace. */
    ck_assert_int_eq(fut_mutex_try_lock(&m), 0);
    ck_assert_int_eq(poll1(fut_mutex_lock(&a, &m), cx), PENDING_);
    drop1(&a.base, cx);
    ck_assert_int_eq(fut_mutex_unlock(&m), 0);
    ck_assert_int_eq(fut_mutex_locked(&m), 0);
}

START_TEST(mutex_basic)
{
    in_poll(mutex_basic_body, NULL);
}
END_TEST

/* --- cancellation seen by a poll --------------------------------------------
 * A task cancels itself from its poll (the cancellation is then visible to
 * what it polls next): a wait that would have to wait is -ECANCELED, and
 * one that was queued leaves the queue, letting the one behind it through
 * where the head blocked it. */
struct selfcancel {
    fut base;
    fut_join *self;
    fut_sem *s;
    fut_notify *n;
    fut_mutex *m;
    fut_notify *go; /* the test lets step 1 run */
    fut_notify_wait gow;
    fut_sem_acquire_op a;
    fut_notify_wait w;
    fut_mutex_lock_op l;
    int step;
    ssize_t out[3];
};

static fut_status selfcancel_poll(fut *self, fut_cx *cx)
{
    struct selfcancel *c = (struct selfcancel *)self;
    if (c->step++ == 0) {
        /* Queue all three, then come back. */
        ck_assert_int_eq(poll1(fut_sem_acquire(&c->a, c->s, 2), cx), PENDING_);
        ck_assert_int_eq(poll1(fut_notify_wait_init(&c->w, c->n), cx), PENDING_);
        ck_assert_int_eq(poll1(fut_mutex_lock(&c->l, c->m), cx), PENDING_);
        return poll1(fut_notify_wait_init(&c->gow, c->go), cx) == PENDING_ ? FUT_PENDING
                                                                           : fut_ready(self, -1);
    }
    ck_assert_int_eq(poll1(&c->gow.base, cx), 0);
    ck_assert_int_eq(fut_cx_cancelled(cx), 0);
    ck_assert_int_eq(fut_join_cancel(c->self), 0);
    ck_assert_int_eq(fut_cx_cancelled(cx), 1);
    c->out[0] = poll1(&c->a.base, cx);
    c->out[1] = poll1(&c->w.base, cx);
    c->out[2] = poll1(&c->l.base, cx);
    fut_sem_acquire_op a2;
    fut_notify_wait w2;
    fut_mutex_lock_op l2;
    ck_assert_int_eq(poll1(fut_sem_acquire(&a2, c->s, 2), cx), -ECANCELED);
    ck_assert_int_eq(poll1(fut_notify_wait_init(&w2, c->n), cx), -ECANCELED);
    ck_assert_int_eq(poll1(fut_mutex_lock(&l2, c->m), cx), -ECANCELED);
    drop1(&a2.base, cx);
    drop1(&w2.base, cx);
    drop1(&l2.base, cx);
    return fut_ready(self, 0);
}

static void selfcancel_drop(fut *self)
{
    struct selfcancel *c = (struct selfcancel *)self;
    fut_drop(&c->a.base);
    fut_drop(&c->w.base);
    fut_drop(&c->l.base);
    fut_drop(&c->gow.base);
}

static const struct fut_vtable selfcancel_vt = {.size = sizeof(struct fut_vtable),
                                                .name = "selfcancel",
                                                .poll = selfcancel_poll,
                                                .drop = selfcancel_drop};

static void cancel_check_body(fut_cx *cx, void *ud)
{
    fut_sem_acquire_op *behind = ud;
    ck_assert_int_eq(poll1(&behind->base, cx), 0);
    drop1(&behind->base, cx);
}

START_TEST(cancelled_context)
{
    fut_sem s;
    fut_notify n;
    fut_mutex m;
    ck_assert_int_eq(fut_sem_init(&s, 2), 0);
    ck_assert_int_eq(fut_sem_try_acquire(&s, 1), 0); /* 1 left: the head (2) waits */
    fut_notify_init(&n);
    fut_mutex_init(&m);
    ck_assert_int_eq(fut_mutex_try_lock(&m), 0);
    fut_join j;
    fut_notify go;
    fut_notify_init(&go);
    struct selfcancel c = {.self = &j, .s = &s, .n = &n, .m = &m, .go = &go};
    fut_init(&c.base, &selfcancel_vt);
    ck_assert_int_eq(FUT_SPAWN(rt, &c, &j), 0);
    /* Let the task queue its three waits. */
    th_loop_busy(rt);
    ck_assert_int_eq(fut_mutex_locked(&m), 1);
    /* A request behind the task's: it fits, but the head blocks it. */
    fut_sem_acquire_op behind;
    fut_sem_acquire(&behind, &s, 1);
    ck_assert_int_eq(th_poll_once(rt, &behind.base, NULL), FUT_PENDING);
    fut_notify_one(&go);
    /* The task was cancelled in its own poll, which then completed: the
     * join reports the task's output. */
    ck_assert_int_eq(th_block(rt, &j.base), 0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    in_poll(cancel_check_body, &behind);
    ck_assert_int_eq(fut_sem_release(&s, 1), 0);
    ck_assert_uint_eq(fut_sem_available(&s), 2);
    ck_assert_int_eq(fut_mutex_unlock(&m), 0);
    ck_assert_int_eq(fut_notify_stored(&n), 0);
}
END_TEST

/* --- randomized drop schedules against a reference model ---------------------
 * Each schedule: a fresh primitive, a few slots of futures, and 24 steps
 * of 1 to 3 random actions (start a wait, drop one at random, pending or
 * granted or held, try/release/unlock by hand, notify) followed by a poll
 * of every live future. A small model of the documented semantics runs
 * in lockstep and predicts every poll's result and the counts; a drop
 * right after a grant (before the poll) exercises the hand-over. */
#define SLOTS 6
#define STEPS 24

static uint64_t rng;
static uint64_t rnd(void)
{
    uint64_t x = rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static unsigned rndn(unsigned n)
{
    return (unsigned)((rnd() >> 33) % n);
}

static long schedules(void)
{
    /* 40000 per primitive (120000 in all); fewer under valgrind. */
    return getenv("FUT_VALGRIND") ? 1500 : 40000;
}

static uint64_t seed_from_env(const char *what)
{
    const char *e = getenv("FUT_SYNC_SEED");
    uint64_t seed = e ? strtoull(e, NULL, 0) : 0x5eed0000ULL ^ (uint64_t)th_mono();
    if (!seed)
        seed = 1;
    printf("# %s: seed %#llx (FUT_SYNC_SEED to replay)\n", what, (unsigned long long)seed);
    fflush(stdout);
    return seed;
}

/* A FIFO of slot numbers (the model's queue). */
struct mq {
    int v[SLOTS];
    int len;
};
static void mq_push(struct mq *q, int i)
{
    q->v[q->len++] = i;
}
static int mq_pop(struct mq *q)
{
    int i = q->v[0];
    memmove(q->v, q->v + 1, (size_t)--q->len * sizeof q->v[0]);
    return i;
}
static bool mq_remove(struct mq *q, int i) /* true: it was the head */
{
    for (int k = 0; k < q->len; k++)
        if (q->v[k] == i) {
            memmove(q->v + k, q->v + k + 1, (size_t)(q->len - k - 1) * sizeof q->v[0]);
            q->len--;
            return k == 0;
        }
    ck_abort_msg("slot %d not queued in the model", i);
    return false;
}

/* Slot states, shared by the three simulations. */
enum { S_FREE, S_WAIT, S_GRANTED, S_HELD };

/* ---- semaphore ---- */
struct sem_sim {
    fut_sem s;
    fut_sem_acquire_op op[SLOTS];
    int st[SLOTS];
    size_t n[SLOTS];
    size_t avail, loose, cap; /* the model */
    struct mq q;
    long grants, handovers;
};

static void semm_grant(struct sem_sim *m)
{
    while (m->q.len && m->n[m->q.v[0]] <= m->avail) {
        int i = mq_pop(&m->q);
        m->avail -= m->n[i];
        m->st[i] = S_GRANTED;
    }
}

static void sem_check(struct sem_sim *m)
{
    Q_EQ(fut_sem_available(&m->s), m->avail);
    Q_EQ(fut_sem_capacity(&m->s), m->cap);
    size_t held = 0;
    for (int i = 0; i < SLOTS; i++)
        if (m->st[i] == S_GRANTED || m->st[i] == S_HELD)
            held += m->n[i];
    /* Permits conserved. */
    Q_EQ(m->avail + m->loose + held, m->cap);
    /* Nobody waits who would fit at the head. */
    if (m->q.len)
        Q_CMP(m->n[m->q.v[0]], >, m->avail);
}

static int pick(const int *st, int want_mask)
{
    int c[SLOTS], k = 0;
    for (int i = 0; i < SLOTS; i++)
        if (want_mask & (1 << st[i]))
            c[k++] = i;
    return k ? c[rndn((unsigned)k)] : -1;
}

static void sem_step(struct sem_sim *m, fut_cx *cx)
{
    int i;
    switch (rndn(6)) {
    case 0:
    case 1: /* start an acquire */
        if ((i = pick(m->st, 1 << S_FREE)) < 0)
            break;
        m->n[i] = rndn(50) == 0 ? (rndn(2) ? 0 : m->cap + 1) : 1 + rndn((unsigned)m->cap);
        fut_sem_acquire(&m->op[i], &m->s, m->n[i]);
        ssize_t r = poll1(&m->op[i].base, cx);
        if (m->n[i] == 0 || m->n[i] > m->cap) {
            Q_EQ(r, -EINVAL);
            drop1(&m->op[i].base, cx);
        } else if (!m->q.len && m->n[i] <= m->avail) {
            Q_EQ(r, 0);
            m->avail -= m->n[i];
            m->st[i] = S_HELD;
        } else {
            Q_EQ(r, PENDING_);
            mq_push(&m->q, i);
            m->st[i] = S_WAIT;
        }
        break;
    case 2: /* drop one, whatever its state */
    case 3:
        if ((i = pick(m->st, 1 << S_WAIT | 1 << S_GRANTED | 1 << S_HELD)) < 0)
            break;
        drop1(&m->op[i].base, cx);
        if (m->st[i] == S_WAIT) {
            if (mq_remove(&m->q, i))
                semm_grant(m);
        } else {
            if (m->st[i] == S_GRANTED)
                m->handovers++;
            m->avail += m->n[i];
            semm_grant(m);
        }
        m->st[i] = S_FREE;
        break;
    case 4: { /* try_acquire, or release loose permits */
        size_t k = 1 + rndn((unsigned)m->cap);
        if (rndn(2)) {
            int want = k > m->avail || m->q.len ? -EAGAIN : 0;
            Q_EQ(fut_sem_try_acquire(&m->s, k), want);
            if (!want) {
                m->avail -= k;
                m->loose += k;
            }
        } else {
            int want = k > m->loose ? -EINVAL : 0;
            Q_EQ(fut_sem_release(&m->s, k), want);
            if (!want) {
                m->loose -= k;
                m->avail += k;
                semm_grant(m);
            }
        }
        break;
    }
    default: /* forget a held guard, then drop it */
        if ((i = pick(m->st, 1 << S_HELD)) < 0)
            break;
        Q_EQ(fut_sem_forget(&m->op[i]), m->n[i]);
        drop1(&m->op[i].base, cx);
        m->loose += m->n[i];
        m->st[i] = S_FREE;
        break;
    }
}

static void sem_poll_all(struct sem_sim *m, fut_cx *cx)
{
    for (int i = 0; i < SLOTS; i++) {
        if (m->st[i] != S_WAIT && m->st[i] != S_GRANTED)
            continue;
        ssize_t r = poll1(&m->op[i].base, cx);
        if (m->st[i] == S_GRANTED) {
            Q_EQ(r, 0);
            m->st[i] = S_HELD;
            m->grants++;
        } else {
            Q_EQ(r, PENDING_);
        }
    }
}

static void sem_random_body(fut_cx *cx, void *ud)
{
    long *totals = ud;
    struct sem_sim m;
    for (long e = 0; e < schedules(); e++) {
        memset(&m, 0, sizeof m);
        m.cap = m.avail = 1 + rndn(6);
        Q_EQ(fut_sem_init(&m.s, m.cap), 0);
        for (int step = 0; step < STEPS; step++) {
            for (unsigned k = 1 + rndn(3); k; k--)
                sem_step(&m, cx);
            sem_poll_all(&m, cx);
            sem_check(&m);
        }
        for (int i = 0; i < SLOTS; i++)
            if (m.st[i] != S_FREE)
                drop1(&m.op[i].base, cx);
        Q_EQ(fut_sem_release(&m.s, m.loose), 0);
        Q_EQ(fut_sem_available(&m.s), m.cap); /* conserved */
        totals[0] += m.grants;
        totals[1] += m.handovers;
    }
}

START_TEST(sem_random)
{
    rng = seed_from_env("sem_random");
    long totals[2] = {0, 0};
    in_poll(sem_random_body, totals);
    printf("# sem_random: %ld schedules, %ld grants seen by a poll, %ld granted then dropped\n",
           schedules(), totals[0], totals[1]);
    ck_assert_int_gt(totals[1], 0);
}
END_TEST

/* ---- notify ---- */
struct notify_sim {
    fut_notify n;
    fut_notify_wait w[SLOTS];
    int st[SLOTS];
    int by_one[SLOTS]; /* granted by notify_one (not notify_all) */
    int permit;        /* the model */
    struct mq q;
    long ones, coalesced, consumed, handovers;
};

static void notm_one(struct notify_sim *m)
{
    if (m->q.len) {
        int i = mq_pop(&m->q);
        m->st[i] = S_GRANTED;
        m->by_one[i] = 1;
    } else {
        m->permit = 1;
    }
}

static void notify_drop(struct notify_sim *m, int i, fut_cx *cx)
{
    drop1(&m->w[i].base, cx);
    if (m->st[i] == S_WAIT) {
        mq_remove(&m->q, i);
    } else if (m->by_one[i]) {
        m->handovers++;
        if (!m->q.len && m->permit)
            m->coalesced++;
        notm_one(m);
    }
    m->st[i] = S_FREE;
    m->by_one[i] = 0;
}

static void notify_step(struct notify_sim *m, fut_cx *cx)
{
    int i;
    switch (rndn(6)) {
    case 0:
    case 1: { /* start a wait, polled now or at the end of the step */
        if ((i = pick(m->st, 1 << S_FREE)) < 0)
            break;
        fut_notify_wait_init(&m->w[i], &m->n);
        ssize_t r = poll1(&m->w[i].base, cx);
        if (m->permit) {
            Q_EQ(r, 0);
            m->permit = 0;
            m->consumed++;
            drop1(&m->w[i].base, cx);
        } else {
            Q_EQ(r, PENDING_);
            mq_push(&m->q, i);
            m->st[i] = S_WAIT;
        }
        break;
    }
    case 2: /* drop one */
        if ((i = pick(m->st, 1 << S_WAIT | 1 << S_GRANTED)) < 0)
            break;
        notify_drop(m, i, cx);
        break;
    case 3:
    case 4: /* notify_one */
        m->ones++;
        if (!m->q.len && m->permit)
            m->coalesced++;
        fut_notify_one(&m->n);
        notm_one(m);
        break;
    default: /* notify_all */
        fut_notify_all(&m->n);
        while (m->q.len)
            m->st[mq_pop(&m->q)] = S_GRANTED;
        break;
    }
}

static void notify_poll_all(struct notify_sim *m, fut_cx *cx)
{
    for (int i = 0; i < SLOTS; i++) {
        if (m->st[i] == S_FREE)
            continue;
        ssize_t r = poll1(&m->w[i].base, cx);
        if (m->st[i] == S_GRANTED) {
            Q_EQ(r, 0);
            if (m->by_one[i])
                m->consumed++;
            drop1(&m->w[i].base, cx);
            m->st[i] = S_FREE;
            m->by_one[i] = 0;
        } else {
            Q_EQ(r, PENDING_);
        }
    }
    Q_EQ(fut_notify_stored(&m->n), m->permit);
    if (m->q.len)
        Q_EQ(m->permit, 0);
}

static void notify_random_body(fut_cx *cx, void *ud)
{
    long *totals = ud;
    struct notify_sim m;
    for (long e = 0; e < schedules(); e++) {
        memset(&m, 0, sizeof m);
        fut_notify_init(&m.n);
        for (int step = 0; step < STEPS; step++) {
            for (unsigned k = 1 + rndn(3); k; k--)
                notify_step(&m, cx);
            notify_poll_all(&m, cx);
        }
        /* The queued ones first: a grant dropped then is stored. */
        for (int i = 0; i < SLOTS; i++)
            if (m.st[i] == S_WAIT)
                notify_drop(&m, i, cx);
        for (int i = 0; i < SLOTS; i++)
            if (m.st[i] != S_FREE)
                notify_drop(&m, i, cx);
        Q_EQ(fut_notify_stored(&m.n), m.permit);
        /* No notification lost: each notify_one completed a wait, or is
         * the stored permit, or found one stored already. */
        Q_EQ(m.ones, m.consumed + m.coalesced + fut_notify_stored(&m.n));
        totals[0] += m.ones;
        totals[1] += m.handovers;
    }
}

START_TEST(notify_random)
{
    rng = seed_from_env("notify_random");
    long totals[2] = {0, 0};
    in_poll(notify_random_body, totals);
    printf("# notify_random: %ld schedules, %ld notify_one, %ld passed on by a drop\n", schedules(),
           totals[0], totals[1]);
    ck_assert_int_gt(totals[1], 0);
}
END_TEST

/* ---- mutex ---- */
#define LOOSE (-2)
struct mutex_sim {
    fut_mutex mx;
    fut_mutex_lock_op l[SLOTS];
    int st[SLOTS];
    int owner; /* the model: -1 free, LOOSE, or a slot */
    struct mq q;
    long locks, handovers;
};

static void mutm_hand_over(struct mutex_sim *m)
{
    if (m->q.len) {
        m->owner = mq_pop(&m->q);
        m->st[m->owner] = S_GRANTED;
    } else {
        m->owner = -1;
    }
}

static void mutex_step(struct mutex_sim *m, fut_cx *cx)
{
    int i;
    switch (rndn(6)) {
    case 0:
    case 1: /* start a lock */
        if ((i = pick(m->st, 1 << S_FREE)) < 0)
            break;
        ssize_t r = poll1(fut_mutex_lock(&m->l[i], &m->mx), cx);
        if (m->owner == -1) {
            Q_EQ(r, 0);
            m->owner = i;
            m->st[i] = S_HELD;
        } else {
            Q_EQ(r, PENDING_);
            mq_push(&m->q, i);
            m->st[i] = S_WAIT;
        }
        break;
    case 2:
    case 3: /* drop one */
        if ((i = pick(m->st, 1 << S_WAIT | 1 << S_GRANTED | 1 << S_HELD)) < 0)
            break;
        drop1(&m->l[i].base, cx);
        if (m->st[i] == S_WAIT) {
            mq_remove(&m->q, i);
        } else {
            Q_EQ(m->owner, i);
            if (m->st[i] == S_GRANTED)
                m->handovers++;
            mutm_hand_over(m);
        }
        m->st[i] = S_FREE;
        break;
    case 4: /* try_lock / unlock by hand */
        if (rndn(2)) {
            Q_EQ(fut_mutex_try_lock(&m->mx), m->owner == -1 ? 0 : -EBUSY);
            if (m->owner == -1)
                m->owner = LOOSE;
        } else {
            Q_EQ(fut_mutex_unlock(&m->mx), m->owner == LOOSE ? 0 : -EPERM);
            if (m->owner == LOOSE)
                mutm_hand_over(m);
        }
        break;
    default: /* forget a held guard, then drop it */
        if ((i = pick(m->st, 1 << S_HELD)) < 0)
            break;
        Q_EQ(fut_mutex_forget(&m->l[i]), 1);
        drop1(&m->l[i].base, cx);
        m->owner = LOOSE;
        m->st[i] = S_FREE;
        break;
    }
}

static void mutex_poll_all(struct mutex_sim *m, fut_cx *cx)
{
    int holders = m->owner == LOOSE;
    for (int i = 0; i < SLOTS; i++) {
        if (m->st[i] == S_WAIT || m->st[i] == S_GRANTED) {
            ssize_t r = poll1(&m->l[i].base, cx);
            if (m->st[i] == S_GRANTED) {
                Q_EQ(r, 0);
                m->st[i] = S_HELD;
                m->locks++;
            } else {
                Q_EQ(r, PENDING_);
            }
        }
        holders += m->st[i] == S_HELD;
    }
    /* Never held twice; never free while someone waits. */
    Q_CMP(holders, <=, 1);
    Q_EQ(fut_mutex_locked(&m->mx), m->owner != -1);
    if (m->q.len)
        Q_CMP(m->owner, !=, -1);
}

static void mutex_random_body(fut_cx *cx, void *ud)
{
    long *totals = ud;
    struct mutex_sim m;
    for (long e = 0; e < schedules(); e++) {
        memset(&m, 0, sizeof m);
        m.owner = -1;
        fut_mutex_init(&m.mx);
        for (int step = 0; step < STEPS; step++) {
            for (unsigned k = 1 + rndn(3); k; k--)
                mutex_step(&m, cx);
            mutex_poll_all(&m, cx);
        }
        for (int i = 0; i < SLOTS; i++)
            if (m.st[i] != S_FREE)
                drop1(&m.l[i].base, cx);
        if (m.owner == LOOSE)
            Q_EQ(fut_mutex_unlock(&m.mx), 0);
        Q_EQ(fut_mutex_locked(&m.mx), 0);
        totals[0] += m.locks;
        totals[1] += m.handovers;
    }
}

START_TEST(mutex_random)
{
    rng = seed_from_env("mutex_random");
    long totals[2] = {0, 0};
    in_poll(mutex_random_body, totals);
    printf("# mutex_random: %ld schedules, %ld locks seen by a poll, %ld handed on unseen\n",
           schedules(), totals[0], totals[1]);
    ck_assert_int_gt(totals[1], 0);
}
END_TEST

/* ---- tasks, cancelled at random points ----
 * Workers loop: acquire 1 or 2 permits, lock the mutex, yield inside the
 * critical section, unlock and release (by dropping the guards), wait for
 * a notification. A driver task notifies (one or all) and cancels random
 * workers with fut_join_cancel() at random points, whatever they wait
 * for or hold. At the end every permit is back, the mutex is free, and
 * no two workers were ever inside the critical section together. */
#define WORKERS 12

struct shared {
    fut_sem s;
    fut_notify n;
    fut_mutex m;
    int in_cs;
    long entries, overlaps;
};

struct worker {
    fut base;
    struct shared *sh;
    int iters, st, in_cs;
    size_t n;
    fut_sem_acquire_op a;
    fut_mutex_lock_op l;
    fut_yield y;
    fut_notify_wait w;
    bool live_a, live_l, live_y, live_w;
};

static void worker_leave(struct worker *k)
{
    if (k->in_cs) {
        k->in_cs = 0;
        k->sh->in_cs--;
    }
    if (k->live_w)
        fut_drop(&k->w.base);
    if (k->live_y)
        fut_drop(&k->y.base);
    if (k->live_l)
        fut_drop(&k->l.base);
    if (k->live_a)
        fut_drop(&k->a.base);
    k->live_a = k->live_l = k->live_y = k->live_w = false;
}

static fut_status worker_poll(fut *self, fut_cx *cx)
{
    struct worker *k = (struct worker *)self;
    struct shared *sh = k->sh;
    for (;;) {
        switch (k->st) {
        case 0:
            if (k->iters-- == 0)
                return fut_ready(self, 0);
            fut_sem_acquire(&k->a, &sh->s, k->n);
            k->live_a = true;
            k->st = 1;
            /* fall through */
        case 1:
            if (fut_poll(&k->a.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            Q_EQ(fut_out(&k->a.base), 0);
            fut_mutex_lock(&k->l, &sh->m);
            k->live_l = true;
            k->st = 2;
            /* fall through */
        case 2:
            if (fut_poll(&k->l.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            Q_EQ(fut_out(&k->l.base), 0);
            if (sh->in_cs++)
                sh->overlaps++;
            sh->entries++;
            k->in_cs = 1;
            fut_yield_init(&k->y);
            k->live_y = true;
            k->st = 3;
            /* fall through */
        case 3:
            if (fut_poll(&k->y.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            worker_leave(k); /* unlock, release */
            fut_notify_wait_init(&k->w, &sh->n);
            k->live_w = true;
            k->st = 4;
            /* fall through */
        default:
            if (fut_poll(&k->w.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            fut_drop(&k->w.base);
            k->live_w = false;
            k->st = 0;
        }
    }
}

static void worker_drop(fut *self)
{
    worker_leave((struct worker *)self);
}

static const struct fut_vtable worker_vt = {
    .size = sizeof(struct fut_vtable), .name = "worker", .poll = worker_poll, .drop = worker_drop};

struct driver {
    fut base;
    struct shared *sh;
    fut_join *j;
    fut_yield y;
    bool live_y;
    long cancels;
};

static fut_status driver_poll(fut *self, fut_cx *cx)
{
    struct driver *d = (struct driver *)self;
    for (;;) {
        if (d->live_y) {
            if (fut_poll(&d->y.base, cx) == FUT_PENDING)
                return FUT_PENDING;
            fut_drop(&d->y.base);
            d->live_y = false;
        }
        int done = 0;
        for (int i = 0; i < WORKERS; i++)
            done += fut_join_finished(&d->j[i]);
        if (done == WORKERS)
            return fut_ready(self, 0);
        unsigned r = rndn(16);
        if (r < 6)
            fut_notify_one(&d->sh->n);
        else if (r == 6)
            fut_notify_all(&d->sh->n);
        else if (r < 9) {
            unsigned i = rndn(WORKERS);
            if (!fut_join_finished(&d->j[i])) {
                Q_EQ(fut_join_cancel(&d->j[i]), 0);
                d->cancels++;
            }
        }
        fut_yield_init(&d->y);
        d->live_y = true;
    }
}

static void driver_drop(fut *self)
{
    struct driver *d = (struct driver *)self;
    if (d->live_y)
        fut_drop(&d->y.base);
}

static const struct fut_vtable driver_vt = {
    .size = sizeof(struct fut_vtable), .name = "driver", .poll = driver_poll, .drop = driver_drop};

START_TEST(tasks_random_cancel)
{
    rng = seed_from_env("tasks_random_cancel");
    long rounds = getenv("FUT_VALGRIND") ? 20 : 1000, cancels = 0, entries = 0;
    for (long round = 0; round < rounds; round++) {
        struct shared sh = {.in_cs = 0};
        size_t cap = 1 + rndn(3);
        Q_EQ(fut_sem_init(&sh.s, cap), 0);
        fut_notify_init(&sh.n);
        fut_mutex_init(&sh.m);
        fut_join j[WORKERS];
        for (int i = 0; i < WORKERS; i++) {
            struct worker k = {.sh = &sh, .iters = 1 + (int)rndn(8), .n = 1 + rndn((unsigned)cap)};
            fut_init(&k.base, &worker_vt);
            Q_EQ(FUT_SPAWN(rt, &k, &j[i]), 0);
        }
        struct driver d = {.sh = &sh, .j = j};
        fut_init(&d.base, &driver_vt);
        Q_EQ(th_block(rt, &d.base), 0);
        for (int i = 0; i < WORKERS; i++) {
            Q_EQ(fut_rt_block_on(rt, &j[i].base, NULL), 0);
            Q_EQ(fut_drop(&j[i].base), 0);
        }
        Q_EQ(sh.overlaps, 0);
        Q_EQ(sh.in_cs, 0);
        Q_EQ(fut_sem_available(&sh.s), cap);
        Q_EQ(fut_mutex_locked(&sh.m), 0);
        Q_CMP(fut_notify_stored(&sh.n), <=, 1);
        cancels += d.cancels;
        entries += sh.entries;
    }
    printf("# tasks_random_cancel: %ld rounds of %d tasks, %ld cancels, %ld critical sections\n",
           rounds, WORKERS, cancels, entries);
    ck_assert_int_gt(cancels, 0);
}
END_TEST

Suite *sync_suite(void);
Suite *sync_suite(void)
{
    Suite *s = suite_create("sync");
    /* th_setup()'s counting allocator and leak check, around a runtime. */
    TCase *tc = tcase_create("sync");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tcase_add_test(tc, sem_basic);
    tcase_add_test(tc, sem_fifo);
    tcase_add_test(tc, sem_handover);
    tcase_add_test(tc, sem_bad_input);
    tcase_add_test(tc, sem_close);
    tcase_add_test(tc, notify_basic);
    tcase_add_test(tc, mutex_basic);
    tcase_add_test(tc, cancelled_context);
    tcase_add_test(tc, sem_random);
    tcase_add_test(tc, notify_random);
    tcase_add_test(tc, mutex_random);
    tcase_add_test(tc, tasks_random_cancel);
    return s;
}

int main(void)
{
    return th_run(sync_suite());
}
