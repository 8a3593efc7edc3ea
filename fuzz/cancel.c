/* SPDX-License-Identifier: MIT */
/* A cancellation fuzzer: the input bytes are decoded into a small program
 * over the public API (spawn tasks of sleeps, fd waits, channels, a
 * semaphore, pool jobs, stream echoes, combinators and scopes around them;
 * cancel, detach, drop synchronously, asynchronously and from inside a
 * poll; run the loop; make pipes readable), run on a fresh runtime, then
 * everything is torn down and the invariants are checked:
 *
 *   - every teardown of the harness's futures ran exactly once;
 *   - the library's allocator balances once the runtime is freed;
 *   - the process has as many fds open as before;
 *   - no diagnostic fired.
 *
 * A violation aborts with a message, which libFuzzer reports as a crash.
 * Built two ways: with libFuzzer (make fuzz), and as a plain replay of the
 * committed corpus under make check (fuzz/replay.c). Each input is bounded
 * to a few tens of milliseconds: op count, sleeps and deadlines are
 * capped. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fut.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS 48
#define MAX_SLOTS 12 /* join handles held at once */
#define MAX_IDS 1024 /* counted futures per input */
#define MAX_HEAP 16  /* futures handed to async drops */
#define NPIPES 3
#define SLEEP_BUDGET 0.015 /* seconds of loop sleeps one input may ask for */

static void die(const char *what, long a, long b)
{
    fprintf(stderr, "fuzz/cancel: invariant violated: %s (%ld, %ld)\n", what, a, b);
    abort();
}

/* --- the input ------------------------------------------------------------ */

struct input {
    const uint8_t *p;
    size_t n;
};

static unsigned take(struct input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

/* --- counting allocator and diagnostics ----------------------------------- */

static long alloc_live; /* atomic: pool workers free too */

static void *count_alloc(void *ud, size_t size)
{
    (void)ud;
    void *p = malloc(size);
    if (p)
        __atomic_add_fetch(&alloc_live, 1, __ATOMIC_RELAXED);
    return p;
}

static void count_free(void *ud, void *p, size_t size)
{
    (void)ud;
    (void)size;
    free(p);
    __atomic_sub_fetch(&alloc_live, 1, __ATOMIC_RELEASE);
}

static void diag_abort(const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "fuzz/cancel: diagnostic: %s\n", msg);
    abort();
}

static int count_fds(void)
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
    return n;
}

/* --- the world of one input ------------------------------------------------ */

static struct {
    fut_rt *rt;
    fut_chan *chan;
    fut_sem sem;
    int pipes[NPIPES][2];
    int next_id;
    unsigned char torn[MAX_IDS]; /* 0 live, 1 torn down */
    double slept;
} W;

static int token; /* what the channel carries; nobody owns it */

static int new_id(void)
{
    if (W.next_id >= MAX_IDS)
        die("too many counted futures", W.next_id, MAX_IDS);
    W.torn[W.next_id] = 0;
    return W.next_id++;
}

static void torn_down(int id)
{
    if (id < 0 || id >= W.next_id)
        die("teardown of an unknown future", id, W.next_id);
    if (W.torn[id])
        die("teardown ran twice", id, W.torn[id]);
    W.torn[id] = 1;
}

/* --- slowf: a future whose teardown takes a few loop turns ------------------ */

/* Pending forever (on a long sleep); its poll_drop takes `turns` yields,
 * and it has no sync drop, so fut_drop() of it runs a nested loop. */
struct slowf {
    fut base;
    int id, turns, turn, sleep_live, yielding;
    fut_sleep sleep;
    fut_yield y;
};

static fut_status slowf_poll(fut *self, fut_cx *cx)
{
    struct slowf *s = (struct slowf *)self;
    if (!s->sleep_live) {
        fut_sleep_init(&s->sleep, 10.0);
        s->sleep_live = 1;
    }
    if (fut_poll(&s->sleep.base, cx) == FUT_READY)
        return fut_ready(self, 0);
    return FUT_PENDING;
}

static fut_status slowf_poll_drop(fut *self, fut_cx *cx)
{
    struct slowf *s = (struct slowf *)self;
    if (s->sleep_live) {
        if (fut_drop(&s->sleep.base) != 0)
            die("slowf: sleep drop failed", 0, 0);
        s->sleep_live = 0;
    }
    while (s->turn < s->turns && !fut_cx_escalated(cx)) {
        if (!s->yielding) {
            fut_yield_init(&s->y);
            s->yielding = 1;
        }
        if (fut_poll(&s->y.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        s->yielding = 0;
        s->turn++;
    }
    torn_down(s->id);
    return FUT_READY;
}

static const struct fut_vtable slowf_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fuzz_slowf",
    .poll = slowf_poll,
    .poll_drop = slowf_poll_drop,
};

static void slowf_init(struct slowf *s, int turns)
{
    memset(s, 0, sizeof *s);
    fut_init(&s->base, &slowf_vt);
    s->id = new_id();
    s->turns = turns;
}

/* --- leaf: one library future, counted -------------------------------------- */

enum leaf_kind {
    L_SLEEP,
    L_PIPE,
    L_CHAN_SEND,
    L_CHAN_RECV,
    L_SEM,
    L_JOB,
    L_STREAM,
    L_NEST,
    L_YIELD,
    NLEAF
};

struct echo {
    fut_stream a, b;
    fut_stream_op op;
    int step, open, op_live, a_done, b_done;
    size_t got;
    unsigned char buf[8];
};

/* A counted wrapper around one library future. Library futures are
 * initialised at creation (they may be moved until their first poll: the
 * leaf is copied into tasks), except the stream echo, which opens its
 * socketpair at its first poll. Its teardown drops the inner future, then
 * takes `turns` yields; it has no sync drop. */
struct leaf {
    fut base;
    int id, kind, turns;
    int phase;      /* 0 running, 1 inner dropped, 2 torn down */
    int inner_live; /* the inner future needs a drop */
    int turn, yielding;
    fut_yield y;
    union {
        fut_sleep sleep;
        fut_io io;
        fut_chan_send_op send;
        fut_chan_recv_op recv;
        fut_sem_acquire_op acq;
        fut_job job;
        struct echo echo;
        struct slowf nest;
        fut_yield yield;
    } u;
    int nest_rc;
};

static ssize_t job_fn(fut_job *job, void *arg)
{
    long usec = (long)(intptr_t)arg;
    for (long i = 0; i < usec && !fut_job_cancelled(job); i += 50) {
        struct timespec ts = {0, 50 * 1000};
        nanosleep(&ts, NULL);
    }
    return 7;
}

static fut_status echo_poll(struct leaf *l, fut_cx *cx)
{
    struct echo *e = &l->u.echo;
    static const char ping[] = "ping";
    for (;;) {
        if (e->step == 0) {
            int sv[2];
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
                return fut_ready(&l->base, -errno);
            struct fut_stream_opts o = {.rbuf_size = 64, .wbuf_size = 64};
            int rc = fut_stream_open(fut_cx_rt(cx), &e->a, sv[0], &o);
            if (rc != 0) {
                close(sv[0]);
                close(sv[1]);
                return fut_ready(&l->base, rc);
            }
            rc = fut_stream_open(fut_cx_rt(cx), &e->b, sv[1], &o);
            if (rc != 0) {
                close(sv[1]);
                e->b_done = 1;
                e->open = 1;
                return fut_ready(&l->base, rc);
            }
            fut_stream_set_close_timeout(&e->a, 0.02);
            fut_stream_set_close_timeout(&e->b, 0.02);
            e->open = 1;
            e->step = 1;
        }
        if (!e->op_live) {
            switch (e->step) {
            case 1:
                fut_stream_write(&e->op, &e->a, ping, 4);
                break;
            case 2:
                fut_stream_read(&e->op, &e->b, e->buf, sizeof e->buf);
                break;
            case 3:
                fut_stream_write(&e->op, &e->b, e->buf, e->got);
                break;
            case 4:
                fut_stream_read(&e->op, &e->a, e->buf, sizeof e->buf);
                break;
            default:
                die("echo: bad step", e->step, 0);
            }
            e->op_live = 1;
        }
        if (fut_poll(&e->op.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        ssize_t r = fut_out(&e->op.base);
        if (fut_drop(&e->op.base) != 0)
            die("echo: op drop failed", 0, 0);
        e->op_live = 0;
        if (r <= 0 || e->step == 4)
            return fut_ready(&l->base, r);
        if (e->step == 2)
            e->got = (size_t)r;
        e->step++;
    }
}

static fut_status echo_poll_drop(struct leaf *l, fut_cx *cx)
{
    struct echo *e = &l->u.echo;
    if (e->op_live) {
        if (fut_poll_drop(&e->op.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        e->op_live = 0;
    }
    if (!e->open)
        return FUT_READY;
    /* Both ends at once: each one's graceful close waits for the other's
     * end of file. */
    if (!e->a_done && fut_poll_drop(&e->a.base, cx) == FUT_READY)
        e->a_done = 1;
    if (!e->b_done && fut_poll_drop(&e->b.base, cx) == FUT_READY)
        e->b_done = 1;
    return e->a_done && e->b_done ? FUT_READY : FUT_PENDING;
}

static fut *leaf_inner(struct leaf *l)
{
    switch (l->kind) {
    case L_SLEEP:
        return &l->u.sleep.base;
    case L_PIPE:
        return &l->u.io.base;
    case L_CHAN_SEND:
        return &l->u.send.base;
    case L_CHAN_RECV:
        return &l->u.recv.base;
    case L_SEM:
        return &l->u.acq.base;
    case L_JOB:
        return &l->u.job.base;
    case L_NEST:
        return &l->u.nest.base;
    case L_YIELD:
        return &l->u.yield.base;
    default:
        return NULL;
    }
}

static fut_status leaf_poll(fut *self, fut_cx *cx)
{
    struct leaf *l = (struct leaf *)self;
    if (l->phase != 0)
        die("leaf polled after its teardown started", l->id, l->phase);
    if (l->kind == L_STREAM)
        return echo_poll(l, cx);
    fut *in = leaf_inner(l);
    if (fut_poll(in, cx) == FUT_PENDING) {
        if (l->kind != L_NEST)
            return FUT_PENDING;
        /* The nested drop: a sync drop of a pending future from inside
         * this poll, which runs a nested loop. */
        l->nest_rc = fut_drop(in);
        if (l->nest_rc == 0)
            l->inner_live = 0;
        else if (l->nest_rc != -ELOOP)
            die("nested fut_drop failed", l->nest_rc, 0);
        return fut_ready(self, l->nest_rc);
    }
    return fut_ready(self, fut_out(in));
}

static fut_status leaf_poll_drop(fut *self, fut_cx *cx)
{
    struct leaf *l = (struct leaf *)self;
    if (l->phase == 2)
        die("leaf torn down twice", l->id, 0);
    if (l->phase == 0) {
        if (l->kind == L_STREAM) {
            if (echo_poll_drop(l, cx) == FUT_PENDING)
                return FUT_PENDING;
        } else if (l->inner_live) {
            if (fut_poll_drop(leaf_inner(l), cx) == FUT_PENDING)
                return FUT_PENDING;
            l->inner_live = 0;
        }
        l->phase = 1;
    }
    while (l->turn < l->turns && !fut_cx_escalated(cx)) {
        if (!l->yielding) {
            fut_yield_init(&l->y);
            l->yielding = 1;
        }
        if (fut_poll(&l->y.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        l->yielding = 0;
        l->turn++;
    }
    l->phase = 2;
    torn_down(l->id);
    return FUT_READY;
}

static const struct fut_vtable leaf_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fuzz_leaf",
    .poll = leaf_poll,
    .poll_drop = leaf_poll_drop,
};

static void leaf_init(struct leaf *l, struct input *in)
{
    unsigned k = take(in), p = take(in);
    memset(l, 0, sizeof *l);
    fut_init(&l->base, &leaf_vt);
    l->id = new_id();
    l->kind = (int)(k % NLEAF);
    l->turns = (int)(k / NLEAF) % 3;
    l->inner_live = 1;
    switch (l->kind) {
    case L_SLEEP:
        fut_sleep_init(&l->u.sleep, (double)(p % 4) / 1000.0);
        break;
    case L_PIPE:
        fut_io_readable_init(&l->u.io, W.pipes[p % NPIPES][0]);
        break;
    case L_CHAN_SEND:
        fut_chan_send(&l->u.send, W.chan, &token);
        break;
    case L_CHAN_RECV:
        fut_chan_recv(&l->u.recv, W.chan);
        break;
    case L_SEM:
        fut_sem_acquire(&l->u.acq, &W.sem, 1 + p % 2);
        break;
    case L_JOB:
        fut_job_init(&l->u.job, job_fn, (void *)(intptr_t)(p % 4 * 100), NULL);
        break;
    case L_STREAM:
        l->inner_live = 0;
        break;
    case L_NEST:
        slowf_init(&l->u.nest, 1 + (int)(p % 3));
        break;
    case L_YIELD:
        fut_yield_init(&l->u.yield);
        break;
    }
}

/* --- node: a task body: a leaf, or a combinator or scope over leaves ------- */

enum node_kind { N_LEAF, N_SELECT, N_ALL, N_TIMEOUT, N_SCOPE, NNODE };

#define NODE_KIDS 3

struct node {
    fut base;
    int id, kind, nkids;
    unsigned flags;
    double secs;
    int started, comb_live;
    int owned[NODE_KIDS]; /* kids[i] is this node's to drop */
    struct leaf kids[NODE_KIDS];
    fut *kidp[NODE_KIDS];
    fut_join joins[NODE_KIDS];
    union {
        fut_select sel;
        fut_all all;
        fut_timeout to;
        fut_scope sc;
    } c;
};

static fut *node_comb(struct node *n)
{
    switch (n->kind) {
    case N_SELECT:
        return &n->c.sel.base;
    case N_ALL:
        return &n->c.all.base;
    case N_TIMEOUT:
        return &n->c.to.base;
    case N_SCOPE:
        return &n->c.sc.base;
    default:
        return &n->kids[0].base;
    }
}

/* The first poll, in the node's final memory: the combinator takes its
 * children by pointer from here on. */
static void node_start(struct node *n, fut_cx *cx)
{
    n->started = 1;
    n->comb_live = 1;
    for (int i = 0; i < n->nkids; i++)
        n->kidp[i] = &n->kids[i].base;
    fut_join *joins = n->flags & FUT_BRANCH_TASKS ? n->joins : NULL;
    switch (n->kind) {
    case N_LEAF:
        n->owned[0] = 0;
        break;
    case N_SELECT:
        fut_select_init(&n->c.sel, n->kidp, (size_t)n->nkids, n->flags, joins);
        break;
    case N_ALL:
        fut_all_init(&n->c.all, n->kidp, (size_t)n->nkids, n->flags, joins);
        break;
    case N_TIMEOUT:
        fut_timeout_init(&n->c.to, n->kidp[0], n->secs, n->flags);
        break;
    case N_SCOPE:
        fut_scope_init(&n->c.sc, fut_cx_rt(cx), n->flags & 1 ? FUT_SCOPE_KEEP_GOING : 0);
        if (n->flags & 2)
            fut_scope_set_timeout(&n->c.sc, n->secs);
        for (int i = 0; i < n->nkids; i++)
            if (FUT_SCOPE_SPAWN(&n->c.sc, &n->kids[i], NULL) == 0)
                n->owned[i] = 0; /* the task's copy is the live one */
        return;
    }
    if (n->kind != N_LEAF && n->kind != N_SCOPE)
        for (int i = 0; i < n->nkids; i++)
            n->owned[i] = 0;
}

static fut_status node_poll(fut *self, fut_cx *cx)
{
    struct node *n = (struct node *)self;
    if (!n->started)
        node_start(n, cx);
    fut *c = node_comb(n);
    if (fut_poll(c, cx) == FUT_PENDING)
        return FUT_PENDING;
    return fut_ready(self, fut_out(c));
}

static fut_status node_poll_drop(fut *self, fut_cx *cx)
{
    struct node *n = (struct node *)self;
    int pending = 0;
    if (n->comb_live) {
        if (fut_poll_drop(node_comb(n), cx) == FUT_PENDING)
            return FUT_PENDING;
        n->comb_live = 0;
    }
    for (int i = 0; i < n->nkids; i++) {
        if (!n->owned[i])
            continue;
        if (fut_poll_drop(&n->kids[i].base, cx) == FUT_READY)
            n->owned[i] = 0;
        else
            pending = 1;
    }
    if (pending)
        return FUT_PENDING;
    torn_down(n->id);
    return FUT_READY;
}

static const struct fut_vtable node_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fuzz_node",
    .poll = node_poll,
    .poll_drop = node_poll_drop,
};

static void node_init(struct node *n, struct input *in)
{
    unsigned k = take(in), p = take(in);
    memset(n, 0, sizeof *n);
    fut_init(&n->base, &node_vt);
    n->id = new_id();
    n->kind = (int)(k % NNODE);
    n->flags = (k / NNODE) & 3;
    n->secs = (double)(p % 4) / 1000.0;
    switch (n->kind) {
    case N_LEAF:
    case N_TIMEOUT:
        n->nkids = 1;
        break;
    case N_SELECT:
        n->nkids = 2;
        break;
    default:
        n->nkids = 2 + (int)(p / 4 % 2);
        break;
    }
    if (n->kind == N_SELECT || n->kind == N_ALL || n->kind == N_TIMEOUT)
        n->flags &= FUT_BRANCH_TASKS;
    for (int i = 0; i < n->nkids; i++) {
        leaf_init(&n->kids[i], in);
        n->owned[i] = 1;
    }
}

/* --- poll once from plain code ---------------------------------------------- */

struct once {
    fut base;
    fut *child;
};

static fut_status once_poll(fut *self, fut_cx *cx)
{
    struct once *o = (struct once *)self;
    fut_status st = fut_poll(o->child, cx);
    return fut_ready(self, st);
}

static const struct fut_vtable once_vt = {
    .size = sizeof(struct fut_vtable), .name = "fuzz_once", .poll = once_poll};

/* --- the program ------------------------------------------------------------ */

enum op {
    OP_SPAWN,
    OP_SPAWN_DETACHED,
    OP_CANCEL,
    OP_DETACH,
    OP_SYNC_DROP,
    OP_ASYNC_DROP,
    OP_RUN,
    OP_WRITE,
    OP_JOIN_FINISHED,
    OP_CHAN_TRY,
    NOPS
};

struct world_local {
    fut_join joins[MAX_SLOTS];
    int used[MAX_SLOTS];
    struct node *heap[MAX_HEAP];
    int nheap;
};

static int free_slot(struct world_local *L)
{
    for (int i = 0; i < MAX_SLOTS; i++)
        if (!L->used[i])
            return i;
    return -1;
}

static int pick_slot(struct world_local *L, unsigned b)
{
    int live = 0;
    for (int i = 0; i < MAX_SLOTS; i++)
        live += L->used[i];
    if (!live)
        return -1;
    int k = (int)(b % (unsigned)live);
    for (int i = 0; i < MAX_SLOTS; i++)
        if (L->used[i] && k-- == 0)
            return i;
    return -1;
}

static void spawn_node(struct world_local *L, struct input *in, int detached)
{
    struct node n;
    node_init(&n, in);
    int slot = detached ? -1 : free_slot(L);
    int rc = FUT_SPAWN(W.rt, &n, slot >= 0 ? &L->joins[slot] : NULL);
    if (rc != 0) {
        /* still ours: never polled, so it may be dropped right here */
        if (fut_drop(&n.base) != 0)
            die("drop of an unspawned node failed", rc, 0);
        return;
    }
    if (slot >= 0)
        L->used[slot] = 1;
}

/* A node polled once from plain code, in memory that stays put. */
static struct node *polled_node(struct input *in)
{
    struct node *n = malloc(sizeof *n);
    if (!n)
        die("out of memory", 0, 0);
    node_init(n, in);
    struct once o = {.child = &n->base};
    fut_init(&o.base, &once_vt);
    if (fut_rt_block_on(W.rt, &o.base, NULL) != 0)
        die("block_on(once) failed", 0, 0);
    return n;
}

static void run_loop(struct input *in)
{
    unsigned p = take(in);
    if (p % 2 == 0 || W.slept >= SLEEP_BUDGET) {
        fut_yield y;
        fut_yield_init(&y);
        if (fut_rt_block_on(W.rt, &y.base, NULL) != 0)
            die("block_on(yield) failed", 0, 0);
        fut_drop(&y.base);
    } else {
        double s = (double)(p / 2 % 3) / 1000.0;
        W.slept += s;
        fut_sleep sl;
        fut_sleep_init(&sl, s);
        if (fut_rt_block_on(W.rt, &sl.base, NULL) != 0)
            die("block_on(sleep) failed", 0, 0);
        fut_drop(&sl.base);
    }
}

static void run_op(struct world_local *L, struct input *in)
{
    unsigned op = take(in) % NOPS;
    int s;
    switch (op) {
    case OP_SPAWN:
    case OP_SPAWN_DETACHED:
        spawn_node(L, in, op == OP_SPAWN_DETACHED);
        break;
    case OP_CANCEL:
        if ((s = pick_slot(L, take(in))) >= 0 && fut_join_cancel(&L->joins[s]) != 0)
            die("fut_join_cancel failed", s, 0);
        break;
    case OP_DETACH:
        if ((s = pick_slot(L, take(in))) >= 0) {
            if (fut_drop(&L->joins[s].base) != 0)
                die("drop of a join handle failed", s, 0);
            L->used[s] = 0;
        }
        break;
    case OP_SYNC_DROP: {
        struct node *n = polled_node(in);
        int rc = fut_drop(&n->base);
        if (rc != 0)
            die("sync fut_drop from plain code failed", rc, 0);
        free(n);
        break;
    }
    case OP_ASYNC_DROP: {
        if (L->nheap == MAX_HEAP)
            break;
        struct node *n = polled_node(in);
        L->heap[L->nheap++] = n;
        fut_dropper d;
        fut *df = fut_drop_async(&d, &n->base);
        (void)df;
        int slot = take(in) % 2 ? free_slot(L) : -1;
        int rc = FUT_SPAWN(W.rt, &d, slot >= 0 ? &L->joins[slot] : NULL);
        if (rc != 0)
            die("spawn of a dropper failed", rc, 0);
        if (slot >= 0)
            L->used[slot] = 1;
        break;
    }
    case OP_RUN:
        run_loop(in);
        break;
    case OP_WRITE: {
        unsigned p = take(in);
        int *pp = W.pipes[p % NPIPES];
        char c = 'x';
        if (p & 0x80) {
            char buf[64];
            while (read(pp[0], buf, sizeof buf) > 0)
                ;
        } else if (write(pp[1], &c, 1) != 1) {
            die("pipe write failed", errno, 0);
        }
        break;
    }
    case OP_JOIN_FINISHED:
        if ((s = pick_slot(L, take(in))) >= 0 && fut_join_finished(&L->joins[s])) {
            ssize_t out;
            if (fut_rt_block_on(W.rt, &L->joins[s].base, &out) != 0)
                die("block_on(join) failed", s, 0);
            fut_drop(&L->joins[s].base);
            L->used[s] = 0;
        }
        break;
    case OP_CHAN_TRY: {
        unsigned p = take(in);
        void *item;
        if (p & 1)
            fut_chan_try_send(W.chan, &token);
        else
            fut_chan_try_recv(W.chan, &item);
        break;
    }
    }
}

static void world_open(unsigned setup)
{
    memset(&W, 0, sizeof W);
    if (fut_rt_new(&W.rt, NULL) != 0)
        die("fut_rt_new failed", 0, 0);
    fut_rt_set_drop_budget(W.rt, 0.05);
    fut_rt_set_pool_size(W.rt, 1 + setup % 2);
    if (fut_chan_new(&W.chan, setup / 2 % 3, NULL, NULL) != 0)
        die("fut_chan_new failed", 0, 0);
    if (fut_sem_init(&W.sem, 1 + setup / 6 % 2) != 0)
        die("fut_sem_init failed", 0, 0);
    for (int i = 0; i < NPIPES; i++)
        if (pipe2(W.pipes[i], O_NONBLOCK | O_CLOEXEC) != 0)
            die("pipe2 failed", errno, 0);
}

static void world_close(struct world_local *L)
{
    /* Join what is held: cancel, wait for the teardown, drop the handle. */
    for (int i = 0; i < MAX_SLOTS; i++) {
        if (!L->used[i])
            continue;
        fut_join_cancel(&L->joins[i]);
        ssize_t out;
        if (fut_rt_block_on(W.rt, &L->joins[i].base, &out) != 0)
            die("final block_on(join) failed", i, 0);
        fut_drop(&L->joins[i].base);
        L->used[i] = 0;
    }
    /* Then the detached tasks: a shutdown cancels and waits for them. */
    fut_shutdown sd;
    if (fut_rt_block_on(W.rt, fut_rt_shutdown(&sd, W.rt, 0.05), NULL) != 0)
        die("block_on(shutdown) failed", 0, 0);
    fut_drop(&sd.base);
    struct fut_rt_stats st;
    fut_rt_stats(W.rt, &st, sizeof st);
    if (st.tasks_alive != 0)
        die("tasks alive after the shutdown", (long)st.tasks_alive, 0);
    for (int i = 0; i < L->nheap; i++)
        free(L->heap[i]);
    if (fut_chan_free(W.chan) != 0)
        die("fut_chan_free failed", 0, 0);
    for (int i = 0; i < NPIPES; i++) {
        close(W.pipes[i][0]);
        close(W.pipes[i][1]);
    }
    if (fut_rt_free(W.rt) != 0)
        die("fut_rt_free failed", 0, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int inited;
    if (!inited) {
        static const struct fut_allocator a = {count_alloc, count_free, NULL};
        if (fut_set_allocator(&a) != 0)
            die("fut_set_allocator failed", 0, 0);
        fut_set_diag_handler(diag_abort, NULL);
        inited = 1;
    }
    struct input in = {data, size};
    int fds = count_fds();
    world_open(take(&in));
    struct world_local L;
    memset(&L, 0, sizeof L);
    for (int i = 0; i < MAX_OPS && in.n > 0; i++)
        run_op(&L, &in);
    world_close(&L);

    for (int i = 0; i < W.next_id; i++)
        if (!W.torn[i])
            die("a future was never torn down", i, W.next_id);
    long live = __atomic_load_n(&alloc_live, __ATOMIC_ACQUIRE);
    if (live != 0)
        die("library allocations outstanding after fut_rt_free", live, 0);
    int now = count_fds();
    if (now != fds)
        die("fd count changed", fds, now);
    if (getenv("FUZZ_CANCEL_VERBOSE"))
        fprintf(stderr, "fuzz/cancel: %zu bytes, %d counted futures torn down\n", size, W.next_id);
    return 0;
}
