/* SPDX-License-Identifier: MIT */
/* Channels (<fut/chan.h>): the oneshot (value, pointer released when the
 * receiver goes, sender dropped, cross-thread send) and the bounded MPMC
 * channel (send and receive, back-pressure, rendezvous, close, release of
 * queued items, try_ variants, FIFO waiters, reservations handed on by
 * dropped ops, a randomized cancellation run with a printed seed, sends
 * from 8 threads to receivers on two runtimes), and bad input. */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* --- local helpers -------------------------------------------------------- */

static int released;

static void release_item(void *item, void *ud)
{
    (void)item;
    (*(int *)ud)++;
}

static void release_ptr(void *p)
{
    (void)p;
    released++;
}

#define ITEM(n) ((void *)(uintptr_t)(n))
#define NUM(p) ((long)(uintptr_t)(p))

/* A task that runs one op to completion and records its output. */
struct op_task {
    fut base;
    fut *op;
    ssize_t *out;
    int *order; /* where to append *seq (may be NULL) */
    int *seq;
    int me;
};

static fut_status op_task_poll(fut *self, fut_cx *cx)
{
    struct op_task *t = (struct op_task *)self;
    if (fut_poll(t->op, cx) == FUT_PENDING)
        return FUT_PENDING;
    *t->out = fut_out(t->op);
    if (t->order)
        t->order[(*t->seq)++] = t->me;
    return fut_ready(self, 0);
}

/* The op lives outside the task; the task drops it (its item and
 * fut_chan_send_delivered() stay readable). */
static void op_task_drop(fut *self)
{
    ck_assert_int_eq(fut_drop(((struct op_task *)self)->op), 0);
}

static const struct fut_vtable op_task_vt = {.size = sizeof(struct fut_vtable),
                                             .name = "t_op_task",
                                             .poll = op_task_poll,
                                             .drop = op_task_drop};

static void spawn_op(fut_rt *rt, fut *op, ssize_t *out, fut_join *j, int *order, int *seq, int me)
{
    struct op_task t = {.op = op, .out = out, .order = order, .seq = seq, .me = me};
    fut_init(&t.base, &op_task_vt);
    *out = 1; /* not done */
    ck_assert_int_eq(FUT_SPAWN(rt, &t, j), 0);
}

/* --- oneshot ----------------------------------------------------------------- */

START_TEST(oneshot_value)
{
    fut_rt *rt = th_rt;
    fut_oneshot *o;
    ck_assert_int_eq(fut_oneshot_new(&o), 0);
    fut_oneshot_recv_op r;
    ssize_t out;
    ck_assert_int_eq(th_poll_once(rt, fut_oneshot_recv(&r, o), &out), FUT_PENDING);
    int x = 0;
    ck_assert_int_eq(fut_oneshot_send(o, 42, &x, release_ptr), 0);
    ck_assert_int_eq(th_block(rt, &r.base), 42);
    ck_assert_int_eq(fut_oneshot_recv_sent(&r), 1);
    ck_assert_ptr_eq(fut_oneshot_recv_take(&r), &x);
    ck_assert_ptr_null(fut_oneshot_recv_take(&r));
    released = 0;
    ck_assert_int_eq(fut_drop(&r.base), 0);
    ck_assert_int_eq(released, 0); /* taken: the caller's */
}
END_TEST

START_TEST(oneshot_sender_dropped)
{
    fut_rt *rt = th_rt;
    fut_oneshot *o;
    ck_assert_int_eq(fut_oneshot_new(&o), 0);
    fut_oneshot_recv_op r;
    ck_assert_int_eq(th_poll_once(rt, fut_oneshot_recv(&r, o), NULL), FUT_PENDING);
    fut_oneshot_sender_drop(o);
    ck_assert_int_eq(th_block(rt, &r.base), -EPIPE);
    ck_assert_int_eq(fut_oneshot_recv_sent(&r), 0);
    ck_assert_ptr_null(fut_oneshot_recv_take(&r));
    ck_assert_int_eq(fut_drop(&r.base), 0);
    /* Sender dropped before the receive exists. */
    ck_assert_int_eq(fut_oneshot_new(&o), 0);
    fut_oneshot_sender_drop(o);
    ck_assert_int_eq(th_block(rt, fut_oneshot_recv(&r, o)), -EPIPE);
    ck_assert_int_eq(fut_drop(&r.base), 0);
}
END_TEST

START_TEST(oneshot_released_when_receiver_dropped)
{
    fut_rt *rt = th_rt;
    int x = 0;
    released = 0;
    /* Sent, READY, never taken: the op's drop releases it. */
    fut_oneshot *o;
    fut_oneshot_recv_op r;
    ck_assert_int_eq(fut_oneshot_new(&o), 0);
    fut_oneshot_recv(&r, o);
    ck_assert_int_eq(fut_oneshot_send(o, 7, &x, release_ptr), 0);
    ck_assert_int_eq(th_block(rt, &r.base), 7);
    ck_assert_int_eq(fut_drop(&r.base), 0);
    ck_assert_int_eq(released, 1);
    /* Sent while the receive was pending, dropped before its next poll. */
    ck_assert_int_eq(fut_oneshot_new(&o), 0);
    ck_assert_int_eq(th_poll_once(rt, fut_oneshot_recv(&r, o), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_oneshot_send(o, 7, &x, release_ptr), 0);
    ck_assert_int_eq(fut_drop(&r.base), 0);
    ck_assert_int_eq(released, 2);
    /* Receiver end dropped without an op, after the send. */
    ck_assert_int_eq(fut_oneshot_new(&o), 0);
    ck_assert_int_eq(fut_oneshot_send(o, 7, &x, release_ptr), 0);
    fut_oneshot_receiver_drop(o);
    ck_assert_int_eq(released, 3);
    /* Receiver gone first: -EPIPE, the pointer stays the caller's. */
    ck_assert_int_eq(fut_oneshot_new(&o), 0);
    ck_assert_int_eq(th_poll_once(rt, fut_oneshot_recv(&r, o), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_drop(&r.base), 0);
    ck_assert_int_eq(fut_oneshot_send(o, 7, &x, release_ptr), -EPIPE);
    ck_assert_int_eq(released, 3);
    /* Never polled, dropped: nothing sent, nothing released. */
    ck_assert_int_eq(fut_oneshot_new(&o), 0);
    fut_oneshot_recv(&r, o);
    ck_assert_int_eq(fut_drop(&r.base), 0);
    fut_oneshot_sender_drop(o);
    ck_assert_int_eq(released, 3);
}
END_TEST

struct os_thread {
    fut_oneshot *o;
    int x;
};

static void *os_sender(void *p)
{
    struct os_thread *a = p;
    th_pause_for(0.01);
    ck_assert_int_eq(fut_oneshot_send(a->o, 1234, &a->x, release_ptr), 0);
    return NULL;
}

START_TEST(oneshot_cross_thread)
{
    fut_rt *rt = th_rt;
    for (int i = 0; i < 50; i++) {
        struct os_thread a = {0};
        ck_assert_int_eq(fut_oneshot_new(&a.o), 0);
        fut_oneshot_recv_op r;
        fut_oneshot_recv(&r, a.o);
        pthread_t th;
        ck_assert_int_eq(pthread_create(&th, NULL, os_sender, &a), 0);
        ck_assert_int_eq(th_block(rt, &r.base), 1234);
        ck_assert_ptr_eq(fut_oneshot_recv_take(&r), &a.x);
        ck_assert_int_eq(fut_drop(&r.base), 0);
        ck_assert_int_eq(pthread_join(th, NULL), 0);
    }
}
END_TEST

/* --- channel basics ------------------------------------------------------------ */

START_TEST(chan_send_recv)
{
    fut_rt *rt = th_rt;
    fut_chan *c;
    ck_assert_int_eq(fut_chan_new(&c, 4, NULL, NULL), 0);
    ck_assert_uint_eq(fut_chan_capacity(c), 4);
    fut_chan_send_op s;
    fut_chan_recv_op r;
    for (long i = 1; i <= 3; i++) {
        ck_assert_int_eq(th_block(rt, fut_chan_send(&s, c, ITEM(i))), 0);
        ck_assert_int_eq(fut_chan_send_delivered(&s), 1);
        ck_assert_int_eq(fut_drop(&s.base), 0);
    }
    ck_assert_uint_eq(fut_chan_len(c), 3);
    for (long i = 1; i <= 3; i++) {
        ck_assert_int_eq(th_block(rt, fut_chan_recv(&r, c)), 0);
        ck_assert_int_eq(NUM(fut_chan_recv_item(&r)), i);
        ck_assert_int_eq(fut_drop(&r.base), 0);
    }
    /* A receive waiting for a send. */
    ck_assert_int_eq(th_poll_once(rt, fut_chan_recv(&r, c), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(9)), 0);
    ck_assert_int_eq(th_block(rt, &r.base), 0);
    ck_assert_int_eq(NUM(fut_chan_recv_item(&r)), 9);
    ck_assert_int_eq(fut_drop(&r.base), 0);
    ck_assert_int_eq(fut_chan_free(c), 0);
}
END_TEST

START_TEST(chan_backpressure)
{
    fut_rt *rt = th_rt;
    fut_chan *c;
    ck_assert_int_eq(fut_chan_new(&c, 2, NULL, NULL), 0);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(1)), 0);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(2)), 0);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(3)), -EAGAIN);
    fut_chan_send_op s;
    ck_assert_int_eq(th_poll_once(rt, fut_chan_send(&s, c, ITEM(3)), NULL), FUT_PENDING);
    ck_assert_int_eq(th_poll_once(rt, &s.base, NULL), FUT_PENDING);
    ck_assert_uint_eq(fut_chan_len(c), 2);
    void *it;
    ck_assert_int_eq(fut_chan_try_recv(c, &it), 0);
    ck_assert_int_eq(NUM(it), 1);
    /* The freed slot is reserved for the waiting send. */
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(4)), -EAGAIN);
    ssize_t out;
    ck_assert_int_eq(th_poll_once(rt, &s.base, &out), FUT_READY);
    ck_assert_int_eq(out, 0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(fut_chan_try_recv(c, &it), 0);
    ck_assert_int_eq(NUM(it), 2);
    ck_assert_int_eq(fut_chan_try_recv(c, &it), 0);
    ck_assert_int_eq(NUM(it), 3);
    ck_assert_int_eq(fut_chan_try_recv(c, &it), -EAGAIN);
    ck_assert_int_eq(fut_chan_free(c), 0);
}
END_TEST

START_TEST(chan_rendezvous)
{
    fut_rt *rt = th_rt;
    fut_chan *c;
    ck_assert_int_eq(fut_chan_new(&c, 0, NULL, NULL), 0);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(1)), -EAGAIN);
    void *it;
    ck_assert_int_eq(fut_chan_try_recv(c, &it), -EAGAIN);
    /* The send waits until a receive takes the item. */
    fut_chan_send_op s;
    fut_chan_recv_op r;
    ck_assert_int_eq(th_poll_once(rt, fut_chan_send(&s, c, ITEM(5)), NULL), FUT_PENDING);
    ck_assert_int_eq(th_poll_once(rt, &s.base, NULL), FUT_PENDING);
    ck_assert_int_eq(fut_chan_send_delivered(&s), 0);
    ck_assert_int_eq(th_block(rt, fut_chan_recv(&r, c)), 0);
    ck_assert_int_eq(NUM(fut_chan_recv_item(&r)), 5);
    ck_assert_int_eq(fut_drop(&r.base), 0);
    ck_assert_int_eq(th_block(rt, &s.base), 0);
    ck_assert_int_eq(fut_chan_send_delivered(&s), 1);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    /* Receive first. */
    ck_assert_int_eq(th_poll_once(rt, fut_chan_recv(&r, c), NULL), FUT_PENDING);
    ck_assert_int_eq(th_poll_once(rt, fut_chan_send(&s, c, ITEM(6)), NULL), FUT_PENDING);
    ck_assert_int_eq(th_block(rt, &r.base), 0);
    ck_assert_int_eq(NUM(fut_chan_recv_item(&r)), 6);
    ck_assert_int_eq(fut_drop(&r.base), 0);
    /* Taken, then dropped before its poll: delivered all the same. */
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(fut_chan_send_delivered(&s), 1);
    /* A send dropped while waiting: not delivered, try_recv finds nothing. */
    ck_assert_int_eq(th_poll_once(rt, fut_chan_send(&s, c, ITEM(7)), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(fut_chan_send_delivered(&s), 0);
    ck_assert_int_eq(fut_chan_try_recv(c, &it), -EAGAIN);
    /* try_recv takes from a waiting send. */
    ck_assert_int_eq(th_poll_once(rt, fut_chan_send(&s, c, ITEM(8)), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_chan_try_recv(c, &it), 0);
    ck_assert_int_eq(NUM(it), 8);
    ck_assert_int_eq(th_block(rt, &s.base), 0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(fut_chan_free(c), 0);
}
END_TEST

START_TEST(chan_close)
{
    fut_rt *rt = th_rt;
    fut_chan *c;
    int rel = 0;
    ck_assert_int_eq(fut_chan_new(&c, 2, release_item, &rel), 0);
    /* Pending receive on an empty channel: woken with -EPIPE. */
    fut_chan_recv_op r;
    ssize_t rout;
    fut_join jr;
    spawn_op(rt, fut_chan_recv(&r, c), &rout, &jr, NULL, NULL, 0);
    th_turn(rt);
    ck_assert_int_eq(rout, 1);
    fut_chan_close(c);
    ck_assert_int_eq(th_block(rt, &jr.base), 0);
    ck_assert_int_eq(rout, -EPIPE);
    ck_assert_int_eq(fut_drop(&jr.base), 0);
    ck_assert_int_eq(fut_chan_free(c), 0);

    /* Queued items drain, then -EPIPE; a pending send gets -EPIPE. */
    ck_assert_int_eq(fut_chan_new(&c, 2, release_item, &rel), 0);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(1)), 0);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(2)), 0);
    fut_chan_send_op s;
    ssize_t sout;
    fut_join js;
    spawn_op(rt, fut_chan_send(&s, c, ITEM(3)), &sout, &js, NULL, NULL, 0);
    th_turn(rt);
    ck_assert_int_eq(sout, 1);
    fut_chan_close(c);
    fut_chan_close(c); /* idempotent */
    ck_assert_int_eq(th_block(rt, &js.base), 0);
    ck_assert_int_eq(sout, -EPIPE);
    ck_assert_int_eq(fut_chan_send_delivered(&s), 0);
    ck_assert_int_eq(fut_drop(&js.base), 0);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(4)), -EPIPE);
    ck_assert_int_eq(th_block(rt, fut_chan_send(&s, c, ITEM(4))), -EPIPE);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_block(rt, fut_chan_recv(&r, c)), 0);
    ck_assert_int_eq(NUM(fut_chan_recv_item(&r)), 1);
    ck_assert_int_eq(fut_drop(&r.base), 0);
    void *it;
    ck_assert_int_eq(fut_chan_try_recv(c, &it), 0);
    ck_assert_int_eq(NUM(it), 2);
    ck_assert_int_eq(fut_chan_try_recv(c, &it), -EPIPE);
    ck_assert_int_eq(th_block(rt, fut_chan_recv(&r, c)), -EPIPE);
    ck_assert_int_eq(fut_drop(&r.base), 0);
    ck_assert_int_eq(fut_chan_free(c), 0);
    ck_assert_int_eq(rel, 0);

    /* Rendezvous: a waiting send fails with -EPIPE, its item the caller's. */
    ck_assert_int_eq(fut_chan_new(&c, 0, NULL, NULL), 0);
    ck_assert_int_eq(th_poll_once(rt, fut_chan_send(&s, c, ITEM(1)), NULL), FUT_PENDING);
    fut_chan_close(c);
    ck_assert_int_eq(th_block(rt, &s.base), -EPIPE);
    ck_assert_int_eq(fut_chan_send_delivered(&s), 0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(fut_chan_try_recv(c, &it), -EPIPE);
    ck_assert_int_eq(fut_chan_free(c), 0);
}
END_TEST

START_TEST(chan_release_on_free)
{
    fut_rt *rt = th_rt;
    fut_chan *c;
    int rel = 0;
    long before = th_alloc.live;
    ck_assert_int_eq(fut_chan_new(&c, 5, release_item, &rel), 0);
    ck_assert_int_eq(th_alloc.live, before + 1); /* the channel and its ring: one block */
    void *it;
    for (long i = 1; i <= 5; i++)
        ck_assert_int_eq(fut_chan_try_send(c, ITEM(i)), 0);
    ck_assert_int_eq(fut_chan_try_recv(c, &it), 0);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(6)), 0); /* wraps around */
    /* A waiting op keeps it alive. */
    fut_chan_send_op s;
    ck_assert_int_eq(th_poll_once(rt, fut_chan_send(&s, c, ITEM(7)), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_chan_free(c), -EBUSY);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(fut_chan_free(c), 0);
    ck_assert_int_eq(rel, 5);
    ck_assert_int_eq(th_alloc.live, before);
    ck_assert_int_eq(fut_chan_free(NULL), 0);
}
END_TEST

START_TEST(chan_no_alloc_per_message)
{
    fut_rt *rt = th_rt;
    fut_chan *c;
    ck_assert_int_eq(fut_chan_new(&c, 1, NULL, NULL), 0);
    fut_chan_send_op s;
    fut_chan_recv_op r;
    long total = th_alloc.total;
    for (long i = 0; i < 100; i++) {
        ck_assert_int_eq(th_poll_once(rt, fut_chan_recv(&r, c), NULL), FUT_PENDING);
        ck_assert_int_eq(th_block(rt, fut_chan_send(&s, c, ITEM(i))), 0);
        ck_assert_int_eq(th_block(rt, &r.base), 0);
        ck_assert_int_eq(fut_drop(&s.base), 0);
        ck_assert_int_eq(fut_drop(&r.base), 0);
    }
    ck_assert_int_eq(th_alloc.total, total);
    ck_assert_int_eq(fut_chan_free(c), 0);
}
END_TEST

/* Receives are served in the order they started waiting, sends too. */
START_TEST(chan_fifo_waiters)
{
    fut_rt *rt = th_rt;
    fut_chan *c;
    ck_assert_int_eq(fut_chan_new(&c, 1, NULL, NULL), 0);
    enum { N = 4 };
    fut_chan_recv_op r[N];
    ssize_t out[N];
    fut_join j[N];
    int order[N], seq = 0;
    for (int i = 0; i < N; i++) {
        spawn_op(rt, fut_chan_recv(&r[i], c), &out[i], &j[i], order, &seq, i);
        th_turn(rt); /* each starts waiting before the next */
    }
    for (long i = 0; i < N; i++) {
        ck_assert_int_eq(fut_chan_try_send(c, ITEM(100 + i)), 0);
        th_turn(rt);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(th_block(rt, &j[i].base), 0);
        ck_assert_int_eq(out[i], 0);
        ck_assert_int_eq(NUM(fut_chan_recv_item(&r[i])), 100 + i);
        ck_assert_int_eq(order[i], i);
        ck_assert_int_eq(fut_drop(&j[i].base), 0);
    }
    /* A receive woken for an item keeps it against a newcomer. */
    ck_assert_int_eq(th_poll_once(rt, fut_chan_recv(&r[0], c), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(1)), 0);
    void *it;
    ck_assert_int_eq(fut_chan_try_recv(c, &it), -EAGAIN);
    ck_assert_int_eq(th_poll_once(rt, &r[0].base, NULL), FUT_READY);
    ck_assert_int_eq(fut_drop(&r[0].base), 0);

    /* Sends: one fills the channel, N wait in order. */
    fut_chan_send_op s[N];
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(0)), 0);
    seq = 0;
    for (int i = 0; i < N; i++) {
        spawn_op(rt, fut_chan_send(&s[i], c, ITEM(i + 1)), &out[i], &j[i], order, &seq, i);
        th_turn(rt);
    }
    for (long i = 0; i <= N; i++) {
        ck_assert_int_eq(fut_chan_try_recv(c, &it), 0);
        ck_assert_int_eq(NUM(it), i);
        th_turn(rt);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(th_block(rt, &j[i].base), 0);
        ck_assert_int_eq(out[i], 0);
        ck_assert_int_eq(order[i], i);
        ck_assert_int_eq(fut_drop(&j[i].base), 0);
    }
    ck_assert_int_eq(fut_chan_free(c), 0);
}
END_TEST

/* A receive woken for an item and dropped before its next poll hands the
 * item on to the next waiting receive; a send woken for a slot likewise. */
START_TEST(chan_drop_hands_on)
{
    fut_rt *rt = th_rt;
    fut_chan *c;
    ck_assert_int_eq(fut_chan_new(&c, 1, NULL, NULL), 0);
    fut_chan_recv_op a, b;
    ssize_t out;
    fut_join jb;
    ck_assert_int_eq(th_poll_once(rt, fut_chan_recv(&a, c), NULL), FUT_PENDING);
    spawn_op(rt, fut_chan_recv(&b, c), &out, &jb, NULL, NULL, 0);
    th_turn(rt);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(1)), 0); /* wakes a */
    ck_assert_int_eq(fut_drop(&a.base), 0);             /* ... which hands it to b */
    ck_assert_int_eq(th_block(rt, &jb.base), 0);
    ck_assert_int_eq(out, 0);
    ck_assert_int_eq(NUM(fut_chan_recv_item(&b)), 1);
    ck_assert_int_eq(fut_drop(&jb.base), 0);
    /* No receive left: the item stays queued. */
    ck_assert_int_eq(th_poll_once(rt, fut_chan_recv(&a, c), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(2)), 0);
    ck_assert_int_eq(fut_drop(&a.base), 0);
    void *it;
    ck_assert_int_eq(fut_chan_try_recv(c, &it), 0);
    ck_assert_int_eq(NUM(it), 2);

    /* Sends. */
    fut_chan_send_op s, t;
    ck_assert_int_eq(fut_chan_try_send(c, ITEM(3)), 0);
    ck_assert_int_eq(th_poll_once(rt, fut_chan_send(&s, c, ITEM(4)), NULL), FUT_PENDING);
    spawn_op(rt, fut_chan_send(&t, c, ITEM(5)), &out, &jb, NULL, NULL, 0);
    th_turn(rt);
    ck_assert_int_eq(fut_chan_try_recv(c, &it), 0); /* frees a slot for s */
    ck_assert_int_eq(NUM(it), 3);
    ck_assert_int_eq(fut_drop(&s.base), 0); /* ... which hands it to t */
    ck_assert_int_eq(fut_chan_send_delivered(&s), 0);
    ck_assert_int_eq(th_block(rt, &jb.base), 0);
    ck_assert_int_eq(out, 0);
    ck_assert_int_eq(fut_drop(&jb.base), 0);
    ck_assert_int_eq(fut_chan_try_recv(c, &it), 0);
    ck_assert_int_eq(NUM(it), 5);
    ck_assert_int_eq(fut_chan_free(c), 0);

    /* Rendezvous: the send a receive was woken for goes away; the receive
     * keeps waiting (at the front) and gets the next one. */
    ck_assert_int_eq(fut_chan_new(&c, 0, NULL, NULL), 0);
    ck_assert_int_eq(th_poll_once(rt, fut_chan_recv(&a, c), NULL), FUT_PENDING);
    ck_assert_int_eq(th_poll_once(rt, fut_chan_recv(&b, c), NULL), FUT_PENDING);
    ck_assert_int_eq(th_poll_once(rt, fut_chan_send(&s, c, ITEM(6)), NULL), FUT_PENDING);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_poll_once(rt, &a.base, NULL), FUT_PENDING);
    ck_assert_int_eq(th_poll_once(rt, fut_chan_send(&s, c, ITEM(7)), NULL), FUT_PENDING);
    ck_assert_int_eq(th_poll_once(rt, &b.base, NULL), FUT_PENDING); /* reserved for a */
    ck_assert_int_eq(th_poll_once(rt, &a.base, &out), FUT_READY);
    ck_assert_int_eq(NUM(fut_chan_recv_item(&a)), 7);
    ck_assert_int_eq(fut_drop(&a.base), 0);
    ck_assert_int_eq(fut_drop(&b.base), 0);
    ck_assert_int_eq(th_block(rt, &s.base), 0);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(fut_chan_free(c), 0);
}
END_TEST

START_TEST(chan_bad_input)
{
    fut_rt *rt = th_rt;
    fut_chan *c;
    ck_assert_int_eq(fut_chan_new(NULL, 1, NULL, NULL), -EINVAL);
    ck_assert_int_eq(fut_chan_new(&c, SIZE_MAX, NULL, NULL), -EINVAL);
    ck_assert_int_eq(fut_chan_try_send(NULL, NULL), -EINVAL);
    void *it;
    ck_assert_int_eq(fut_chan_try_recv(NULL, &it), -EINVAL);
    ck_assert_int_eq(fut_chan_new(&c, 1, NULL, NULL), 0);
    ck_assert_int_eq(fut_chan_try_recv(c, NULL), -EINVAL);
    fut_chan_send_op s;
    fut_chan_recv_op r;
    ck_assert_int_eq(th_block(rt, fut_chan_send(&s, NULL, NULL)), -EINVAL);
    ck_assert_int_eq(fut_drop(&s.base), 0);
    ck_assert_int_eq(th_block(rt, fut_chan_recv(&r, NULL)), -EINVAL);
    ck_assert_int_eq(fut_drop(&r.base), 0);
    ck_assert_uint_eq(fut_chan_len(NULL), 0);
    ck_assert_uint_eq(fut_chan_capacity(NULL), 0);
    fut_chan_close(NULL);
    ck_assert_int_eq(fut_chan_free(c), 0);
    ck_assert_int_eq(fut_oneshot_new(NULL), -EINVAL);
    ck_assert_int_eq(fut_oneshot_send(NULL, 1, NULL, NULL), -EINVAL);
    fut_oneshot_sender_drop(NULL);
    fut_oneshot_receiver_drop(NULL);
    fut_oneshot_recv_op o;
    ck_assert_int_eq(th_block(rt, fut_oneshot_recv(&o, NULL)), -EINVAL);
    ck_assert_int_eq(fut_drop(&o.base), 0);
}
END_TEST

/* --- randomized cancellation ----------------------------------------------------
 *
 * NSLOT long-lived tasks each hold at most one op (a send of a fresh id or
 * a receive). A driver, with a seeded PRNG, starts ops in free slots,
 * drops live ops at random (pending, woken-but-not-polled, or never
 * polled), sends and receives with try_, closes now and then, and lets
 * the tasks run a random number of turns in between. A slot's task is
 * polled only when something woke it, so a reservation that is not handed
 * on shows up as a stuck state: at quiet points (no task ran during two
 * turns) no receive may wait while an item is there for it, and no send
 * while a slot is free (capacity 0: no send and receive waiting at once).
 * At the end of a schedule the channel is closed and drained: every id
 * sent (READY with 0, or delivered per fut_chan_send_delivered) was
 * received exactly once, and no other. */

#define NSLOT 6
#define MAXID 64

struct rnd;
struct rslot {
    struct rnd *R;
    int role; /* 0 free, 1 send, 2 recv */
    int pending;
    long id;
    fut_waker *w;
    union {
        fut_chan_send_op s;
        fut_chan_recv_op r;
    } op;
};

struct rnd {
    fut_chan *c;
    uint64_t x;
    long polls;
    long nid;
    int sent[MAXID], recvd[MAXID];
    int exit;
    int closed;
    struct rslot slot[NSLOT];
};

static uint64_t rnd_next(struct rnd *R)
{
    /* xorshift64* */
    R->x ^= R->x >> 12;
    R->x ^= R->x << 25;
    R->x ^= R->x >> 27;
    return R->x * 2685821657736338717ull;
}

static unsigned rnd_below(struct rnd *R, unsigned n)
{
    return (unsigned)(rnd_next(R) >> 33) % n;
}

static void slot_finish(struct rslot *sl, ssize_t out)
{
    struct rnd *R = sl->R;
    if (sl->role == 1) {
        ck_assert(out == 0 || out == -EPIPE);
        ck_assert_int_eq(fut_chan_send_delivered(&sl->op.s), out == 0);
        if (out == 0)
            R->sent[sl->id]++;
    } else {
        ck_assert(out == 0 || out == -EPIPE);
        if (out == 0) {
            long id = NUM(fut_chan_recv_item(&sl->op.r)) - 1;
            ck_assert(id >= 0 && id < R->nid);
            R->recvd[id]++;
        }
    }
}

/* Drops the slot's op (whatever its state) and accounts for it. */
static void slot_drop(struct rslot *sl)
{
    if (!sl->role)
        return;
    if (sl->pending) {
        ck_assert_int_eq(fut_drop(sl->role == 1 ? &sl->op.s.base : &sl->op.r.base), 0);
        if (sl->role == 1 && fut_chan_send_delivered(&sl->op.s))
            sl->R->sent[sl->id]++;
    } else {
        ck_assert_int_eq(fut_drop(sl->role == 1 ? &sl->op.s.base : &sl->op.r.base), 0);
    }
    sl->role = 0;
    sl->pending = 0;
}

struct slot_task {
    fut base;
    struct rslot *sl;
};

static fut_status slot_poll(fut *self, fut_cx *cx)
{
    struct rslot *sl = ((struct slot_task *)self)->sl;
    struct rnd *R = sl->R;
    R->polls++;
    if (!sl->w)
        sl->w = fut_waker_clone(fut_cx_waker(cx));
    if (R->exit)
        return fut_ready(self, 0);
    if (sl->role && sl->pending) {
        fut *f = sl->role == 1 ? &sl->op.s.base : &sl->op.r.base;
        if (fut_poll(f, cx) == FUT_READY) {
            sl->pending = 0;
            slot_finish(sl, fut_out(f));
        }
    }
    (void)fut_cx_waker(cx); /* the slot holds our waker */
    return FUT_PENDING;
}

static void slot_task_drop(fut *self)
{
    struct rslot *sl = ((struct slot_task *)self)->sl;
    fut_waker_drop(sl->w);
    sl->w = NULL;
}

static const struct fut_vtable slot_vt = {
    .size = sizeof(struct fut_vtable), .name = "t_slot", .poll = slot_poll, .drop = slot_task_drop};

/* Runs turns until no slot task ran during two in a row. */
static void quiesce(fut_rt *rt, struct rnd *R)
{
    int quiet = 0;
    for (int i = 0; quiet < 2; i++) {
        ck_assert_int_lt(i, 1000);
        long p = R->polls;
        th_turn(rt);
        quiet = R->polls == p ? quiet + 1 : 0;
    }
}

static void check_not_stuck(struct rnd *R)
{
    size_t cap = fut_chan_capacity(R->c), len = fut_chan_len(R->c);
    int recv_wait = 0, send_wait = 0;
    for (int k = 0; k < NSLOT; k++) {
        struct rslot *sl = &R->slot[k];
        if (sl->role == 2 && sl->pending)
            recv_wait++;
        if (sl->role == 1 && sl->pending)
            send_wait++;
    }
    ck_assert_msg(!(recv_wait && len), "a receive waits while %zu items are queued", len);
    ck_assert_msg(!(send_wait && cap && len < cap), "a send waits while a slot is free");
    ck_assert_msg(!(!cap && send_wait && recv_wait), "rendezvous: send and receive both wait");
    ck_assert_msg(!(R->closed && (send_wait || (recv_wait && !len))),
                  "an op waits on a closed channel");
}

static void one_schedule(fut_rt *rt, struct rnd *R)
{
    ck_assert_int_eq(fut_chan_new(&R->c, rnd_below(R, 4), NULL, NULL), 0);
    R->nid = 0;
    R->closed = 0;
    memset(R->sent, 0, sizeof R->sent);
    memset(R->recvd, 0, sizeof R->recvd);
    int steps = 4 + (int)rnd_below(R, 12);
    for (int step = 0; step < steps; step++) {
        unsigned a = rnd_below(R, 100);
        struct rslot *sl = &R->slot[rnd_below(R, NSLOT)];
        if (a < 40) { /* start an op in a free slot */
            if (sl->role)
                continue;
            if (rnd_below(R, 2) && R->nid < MAXID) {
                sl->id = R->nid++;
                fut_chan_send(&sl->op.s, R->c, ITEM(sl->id + 1));
                sl->role = 1;
            } else {
                fut_chan_recv(&sl->op.r, R->c);
                sl->role = 2;
            }
            sl->pending = 1;
            fut_waker_wake(sl->w);
        } else if (a < 65) { /* cancel: drop the op, wherever it is */
            slot_drop(sl);
        } else if (a < 75) {
            if (R->nid < MAXID) {
                long id = R->nid++;
                int r = fut_chan_try_send(R->c, ITEM(id + 1));
                ck_assert(r == 0 || r == -EAGAIN || r == -EPIPE);
                if (r == 0)
                    R->sent[id]++;
            }
        } else if (a < 82) {
            void *it;
            int r = fut_chan_try_recv(R->c, &it);
            ck_assert(r == 0 || r == -EAGAIN || r == -EPIPE);
            if (r == 0)
                R->recvd[NUM(it) - 1]++;
        } else if (a < 84) {
            fut_chan_close(R->c);
            R->closed = 1;
        } else if (a < 92) {
            for (unsigned t = rnd_below(R, 3); t > 0; t--)
                th_turn(rt);
        } else {
            quiesce(rt, R);
            check_not_stuck(R);
        }
    }
    /* Close, let every op finish, drain. */
    quiesce(rt, R);
    check_not_stuck(R);
    fut_chan_close(R->c);
    quiesce(rt, R);
    for (int k = 0; k < NSLOT; k++) {
        ck_assert_int_eq(R->slot[k].pending, 0);
        slot_drop(&R->slot[k]);
    }
    void *it;
    int r;
    while ((r = fut_chan_try_recv(R->c, &it)) == 0)
        R->recvd[NUM(it) - 1]++;
    ck_assert_int_eq(r, -EPIPE);
    for (long id = 0; id < R->nid; id++)
        ck_assert_msg(R->sent[id] <= 1 && R->recvd[id] == R->sent[id],
                      "id %ld: sent %d, received %d", id, R->sent[id], R->recvd[id]);
    ck_assert_int_eq(fut_chan_free(R->c), 0);
    R->c = NULL;
}

START_TEST(chan_random_cancel)
{
    fut_rt *rt = th_rt;
    static struct rnd R;
    memset(&R, 0, sizeof R);
    const char *env = getenv("FUT_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) * 2654435761u + 1;
    long n = th_under_valgrind() ? 10000 : 100000;
    if (getenv("FUT_SCHEDULES"))
        n = atol(getenv("FUT_SCHEDULES"));
    printf("# chan_random_cancel: seed %llu (FUT_SEED=%llu to replay), %ld schedules\n",
           (unsigned long long)seed, (unsigned long long)seed, n);
    fflush(stdout);
    R.x = seed ? seed : 1;
    fut_join j[NSLOT];
    for (int k = 0; k < NSLOT; k++) {
        R.slot[k].R = &R;
        struct slot_task t = {.sl = &R.slot[k]};
        fut_init(&t.base, &slot_vt);
        ck_assert_int_eq(FUT_SPAWN(rt, &t, &j[k]), 0);
    }
    th_turn(rt);
    for (int k = 0; k < NSLOT; k++)
        ck_assert_ptr_nonnull(R.slot[k].w);
    for (long i = 0; i < n; i++)
        one_schedule(rt, &R);
    R.exit = 1;
    for (int k = 0; k < NSLOT; k++)
        fut_waker_wake(R.slot[k].w);
    for (int k = 0; k < NSLOT; k++) {
        ck_assert_int_eq(th_block(rt, &j[k].base), 0);
        ck_assert_int_eq(fut_drop(&j[k].base), 0);
    }
}
END_TEST

/* --- threads --------------------------------------------------------------------- */

#define NTHREADS 8
#define PER_THREAD 5000
#define NMSG (NTHREADS * PER_THREAD)

struct xchan {
    fut_chan *c;
    atomic_int seen[NMSG];
    atomic_long received;
    atomic_int senders_done;
};

struct xsender {
    struct xchan *x;
    int k;
};

/* Even threads spin on try_send (capacity > 0); odd ones run their own runtime and wait
 * in fut_chan_send (woken from the receiving threads). */
static void *x_send(void *p)
{
    struct xsender *a = p;
    struct xchan *x = a->x;
    fut_rt *rt = NULL;
    if ((a->k & 1) || !fut_chan_capacity(x->c)) /* rendezvous: try_send never succeeds */
        ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    for (long i = 0; i < PER_THREAD; i++) {
        void *item = ITEM((long)a->k * PER_THREAD + i + 1);
        if (rt) {
            fut_chan_send_op s;
            ssize_t out;
            ck_assert_int_eq(fut_rt_block_on(rt, fut_chan_send(&s, x->c, item), &out), 0);
            ck_assert_int_eq(out, 0);
            ck_assert_int_eq(fut_drop(&s.base), 0);
        } else {
            int r;
            while ((r = fut_chan_try_send(x->c, item)) == -EAGAIN)
                sched_yield();
            ck_assert_int_eq(r, 0);
        }
    }
    if (rt)
        ck_assert_int_eq(fut_rt_free(rt), 0);
    if (atomic_fetch_add(&x->senders_done, 1) == NTHREADS - 1)
        fut_chan_close(x->c);
    return NULL;
}

/* A receiving task: takes until -EPIPE, recording every item once. */
struct xrecv {
    fut base;
    struct xchan *x;
    fut_chan_recv_op r;
    int armed;
    long got;
};

static fut_status xrecv_poll(fut *self, fut_cx *cx)
{
    struct xrecv *t = (struct xrecv *)self;
    for (;;) {
        if (!t->armed) {
            fut_chan_recv(&t->r, t->x->c);
            t->armed = 1;
        }
        if (fut_poll(&t->r.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        ssize_t out = fut_out(&t->r.base);
        void *item = fut_chan_recv_item(&t->r);
        ck_assert_int_eq(fut_drop(&t->r.base), 0);
        t->armed = 0;
        if (out == -EPIPE)
            return fut_ready(self, t->got);
        ck_assert_int_eq(out, 0);
        long id = NUM(item) - 1;
        ck_assert(id >= 0 && id < NMSG);
        ck_assert_int_eq(atomic_fetch_add(&t->x->seen[id], 1), 0);
        atomic_fetch_add(&t->x->received, 1);
        t->got++;
    }
}

static void xrecv_drop(fut *self)
{
    struct xrecv *t = (struct xrecv *)self;
    if (t->armed)
        fut_drop(&t->r.base);
}

static const struct fut_vtable xrecv_vt = {
    .size = sizeof(struct fut_vtable), .name = "t_xrecv", .poll = xrecv_poll, .drop = xrecv_drop};

static void *x_recv_thread(void *p)
{
    struct xchan *x = p;
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    struct xrecv t = {.x = x};
    fut_init(&t.base, &xrecv_vt);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(rt, &t.base, &out), 0);
    ck_assert_int_eq(fut_drop(&t.base), 0);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    return NULL;
}

static void cross_thread(size_t cap)
{
    fut_rt *rt = th_rt;
    static struct xchan x;
    memset(&x, 0, sizeof x);
    ck_assert_int_eq(fut_chan_new(&x.c, cap, NULL, NULL), 0);
    /* Receivers: two tasks on this runtime and one on another thread. */
    fut_join j[2];
    for (int i = 0; i < 2; i++) {
        struct xrecv t = {.x = &x};
        fut_init(&t.base, &xrecv_vt);
        ck_assert_int_eq(FUT_SPAWN(rt, &t, &j[i]), 0);
    }
    pthread_t rth, th[NTHREADS];
    ck_assert_int_eq(pthread_create(&rth, NULL, x_recv_thread, &x), 0);
    struct xsender a[NTHREADS];
    for (int k = 0; k < NTHREADS; k++) {
        a[k] = (struct xsender){.x = &x, .k = k};
        ck_assert_int_eq(pthread_create(&th[k], NULL, x_send, &a[k]), 0);
    }
    for (int i = 0; i < 2; i++) {
        ck_assert_int_ge(th_block(rt, &j[i].base), 0);
        ck_assert_int_eq(fut_drop(&j[i].base), 0);
    }
    for (int k = 0; k < NTHREADS; k++)
        ck_assert_int_eq(pthread_join(th[k], NULL), 0);
    ck_assert_int_eq(pthread_join(rth, NULL), 0);
    ck_assert_int_eq(atomic_load(&x.received), NMSG);
    for (long i = 0; i < NMSG; i++)
        ck_assert_int_eq(atomic_load(&x.seen[i]), 1);
    ck_assert_int_eq(fut_chan_free(x.c), 0);
}

START_TEST(chan_cross_thread)
{
    cross_thread(16);
}
END_TEST

START_TEST(chan_cross_thread_rendezvous)
{
    cross_thread(0);
}
END_TEST

/* A READY op holds nothing: a task whose ops completed but were never
 * dropped (what a coroutine does with what it awaited) is freed when it
 * ends; the fixture finds nothing outstanding. */
struct never_drops {
    fut base;
    int step;
    fut_chan *c;
    fut_oneshot *o;
    fut_chan_send_op s;
    fut_chan_recv_op r, r2;
    fut_oneshot_recv_op or ;
};

static fut_status never_drops_poll(fut *self, fut_cx *cx)
{
    struct never_drops *n = (struct never_drops *)self;
    switch (n->step) {
    case 0:
        fut_chan_recv(&n->r, n->c); /* waits: its waker is kept */
        n->step = 1;
        /* fallthrough */
    case 1:
        if (fut_poll(&n->r.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        fut_chan_recv(&n->r2, n->c); /* waits, then sees the close */
        n->step = 2;
        /* fallthrough */
    case 2:
        if (fut_poll(&n->r2.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        fut_oneshot_recv(&n->or, n->o);
        n->step = 3;
        /* fallthrough */
    default:
        if (fut_poll(&n->or.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        return fut_ready(self, fut_out(&n->r2.base));
    }
}

static const struct fut_vtable never_drops_vt = {sizeof(struct fut_vtable), "never_drops",
                                                 never_drops_poll, NULL, NULL};

START_TEST(ready_ops_hold_no_waker)
{
    fut_rt *rt = th_rt;
    struct never_drops n = {0};
    fut_init(&n.base, &never_drops_vt);
    ck_assert_int_eq(fut_chan_new(&n.c, 1, NULL, NULL), 0);
    ck_assert_int_eq(fut_oneshot_new(&n.o), 0);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &n, &j), 0);
    th_turn(rt);
    ck_assert_int_eq(fut_chan_try_send(n.c, ITEM(1)), 0);
    th_turn(rt);
    th_turn(rt);
    fut_chan_close(n.c);
    th_turn(rt);
    th_turn(rt);
    fut_oneshot_send(n.o, 5, NULL, NULL);
    ck_assert_int_eq(th_block(rt, &j.base), -EPIPE);
    fut_drop(&j.base);
    ck_assert_int_eq(fut_chan_free(n.c), 0);
    /* the fixture's fut_rt_free takes the task's memory with it */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("chan");
    TCase *tc = th_rt_tcase(s, "oneshot", 30);
    tcase_add_test(tc, oneshot_value);
    tcase_add_test(tc, oneshot_sender_dropped);
    tcase_add_test(tc, oneshot_released_when_receiver_dropped);
    tcase_add_test(tc, oneshot_cross_thread);
    tc = th_rt_tcase(s, "chan", 30);
    tcase_add_test(tc, chan_send_recv);
    tcase_add_test(tc, ready_ops_hold_no_waker);
    tcase_add_test(tc, chan_backpressure);
    tcase_add_test(tc, chan_rendezvous);
    tcase_add_test(tc, chan_close);
    tcase_add_test(tc, chan_release_on_free);
    tcase_add_test(tc, chan_no_alloc_per_message);
    tcase_add_test(tc, chan_fifo_waiters);
    tcase_add_test(tc, chan_drop_hands_on);
    tcase_add_test(tc, chan_bad_input);
    tc = th_rt_tcase(s, "cancel", 600);
    tcase_add_test(tc, chan_random_cancel);
    tc = th_rt_tcase(s, "threads", 300);
    tcase_add_test(tc, chan_cross_thread);
    tcase_add_test(tc, chan_cross_thread_rendezvous);
    return th_run(s);
}
