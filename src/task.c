/* SPDX-License-Identifier: MIT */
/* Tasks, wakers, join handles and the run queue. */
#include "internal.h"

#include <errno.h>
#include <string.h>

/* --- wakers ------------------------------------------------------------------ */

FUT_API fut_waker *fut_waker_clone(fut_waker *w)
{
    if (!fut__is_frame(w))
        atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&((struct fut__frame *)w)->block->refs, 1, memory_order_relaxed);
    return w;
}

static void task_free(struct fut_task *t)
{
    fut__free(t, fut__task_alloc_size(t->size, fut__task_scoped(t)));
}

/* fut__task_release(), inline for this file's hot paths. */
static inline void task_release(struct fut_task *t)
{
    if (atomic_fetch_sub_explicit(&t->w.refs, 1, memory_order_acq_rel) == 1)
        task_free(t);
}

void fut__task_release(struct fut_task *t)
{
    task_release(t);
}

FUT_API void fut_waker_drop(fut_waker *w)
{
    if (!w)
        return;
    if (!fut__is_frame(w))
        fut__task_release((struct fut_task *)w);
    else
        fut__frames_release(((struct fut__frame *)w)->block);
}

static void remote_push(fut_rt *rt, fut_waker *w)
{
    if (FUT__STACK_PUSH(&rt->remote, w, next))
        fut__watch_send(rt, &rt->async);
}

static inline void enqueue_tail(fut_rt *rt, fut_waker *w)
{
    w->next = NULL;
    if (rt->tail)
        rt->tail->next = w;
    else
        rt->head = w;
    rt->tail = w;
}

/* Seeded scheduling: one xorshift64* step, whose top bit puts the waker
 * at the head or at the tail of the queue. Every waker still reaches the
 * queue exactly once per wake, so frozen tasks, nested loops and the
 * drain budget work as with FIFO; only the order changes, reproducibly
 * for a seed (as far as the wakes themselves are: cross-thread wakes and
 * I/O readiness are not). A task woken during its own poll (a yield) is
 * not seeded: it goes behind every task ready then, as fut_yield()
 * promises, and cannot hog the drain. */
static void __attribute__((noinline)) enqueue_seeded(fut_rt *rt, fut_waker *w)
{
    uint64_t x = rt->sched_rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rt->sched_rng = x;
    if (((x * UINT64_C(0x2545F4914F6CDD1D)) >> 63) && rt->head) {
        w->next = rt->head;
        rt->head = w;
        return;
    }
    enqueue_tail(rt, w);
}

static void enqueue(fut_rt *rt, fut_waker *w)
{
    if (fut__unlikely(rt->sched_rng)) {
        enqueue_seeded(rt, w);
        return;
    }
    enqueue_tail(rt, w);
}

static void frame_woken_here(fut_rt *rt, fut_waker *w)
{
    /* A stale wake (the frame's loop has returned; a clone outlived it)
     * only leaves NOTIFIED set: a spurious poll at the slot's next use.
     * The probe's NOTIFIED waits for a nested loop to hand it on to its
     * frames (nested.c): with none running, there is nothing to unblock. */
    struct fut__frame *fr = (struct fut__frame *)w;
    if (fr->block != rt->frames)
        return;
    if (fut__unlikely(fr == &fr->block->probe)) {
        if (!rt->frame_depth)
            return;
    } else if ((unsigned)(fr - fr->block->v) >= rt->frame_depth) {
        return;
    }
    /* The nested loop may be about to block in the loop: the idle watcher
     * makes that iteration poll without waiting. */
    rt->frame_woken = true;
    fut__watch_start(rt, &rt->idle);
}

FUT_API void fut_waker_wake(fut_waker *w)
{
    unsigned old = fut__state_notify(&w->state);
    if (old & (FUT__W_NOTIFIED | FUT__W_DONE))
        return;
    fut_rt *rt = w->rt;
    bool here = fut__on_thread(rt);
    if (old & FUT__W_FRAME) {
        if (here)
            frame_woken_here(rt, w);
        else if (fut__state_claim_remote(&w->state)) {
            /* The stack holds the frame block alive: the waker's holder may
             * drop the last reference before the loop thread takes it. */
            atomic_fetch_add_explicit(&((struct fut__frame *)w)->block->refs, 1,
                                      memory_order_relaxed);
            remote_push(rt, w);
        }
        return;
    }
    if (old & FUT__W_RUNNING) {
        /* Frozen: the poll on the stack re-queues it when it returns. */
        if (here)
            rt->st.frozen_wakes++;
        return;
    }
    if (here) {
        rt->st.wakes++;
        enqueue(rt, w);
    } else {
        /* The stack holds its own reference: the waker's owner may drop
         * the last one before the loop thread gets to it. */
        atomic_fetch_add_explicit(&w->refs, 1, memory_order_relaxed);
        remote_push(rt, w);
    }
}

void fut__take_remote(fut_rt *rt)
{
    if (!atomic_load_explicit(&rt->remote, memory_order_relaxed))
        return;
    fut_waker *w, *rev = FUT__STACK_TAKE_FIFO(&rt->remote, next);
    for (w = rev; w; w = rev) {
        rev = w->next; /* before enqueue() reuses the link */
        if (fut__is_frame(w)) {
            struct fut__frames *block = ((struct fut__frame *)w)->block;
            fut__state_release_remote(&w->state);
            frame_woken_here(rt, w);
            fut__frames_release(block);
            continue;
        }
        struct fut_task *t = (struct fut_task *)w;
        rt->st.wakes++;
        rt->st.remote_wakes++;
        unsigned s = fut__state_load(&w->state);
        if (!(s & FUT__W_DONE)) {
            if (s & FUT__W_RUNNING)
                rt->st.frozen_wakes++; /* re-queued when its poll returns */
            else
                enqueue(rt, w);
        }
        fut__task_release(t);
    }
}

/* --- running tasks -------------------------------------------------------------- */

/* The end of a task whose teardown is complete; st: its state before
 * DONE (fut__state_to_done or fut__state_ready_to_done). */
static inline __attribute__((always_inline)) void task_finish(fut_rt *rt, struct fut_task *t,
                                                              unsigned st)
{
    fut__list_del(&t->live);
    if (st & FUT__W_DROPWAIT)
        fut__teardown_done(rt);
    rt->st.tasks_alive--;
    fut__keepalive(rt, -1);
    fut__wake_slot(&t->joiner);
    if (st & FUT__W_SCOPED)
        fut__scope_child_done(fut__task_tail(t)->scope, t, st);
    if (rt->st.tasks_alive == 0) {
        fut__list *pos, *tmp;
        fut__list_each_safe(pos, tmp, &rt->shutdowns)
            fut_waker_wake(fut__container_of(pos, fut_shutdown, link)->waker);
    }
    task_release(t); /* the runtime's reference */
}

/* True when dropping f is nothing but marking it dropped: its vtable has
 * neither poll_drop nor drop (and fut__poll_drop would not report a
 * double drop). The teardown of such a task runs no code, so it can be
 * skipped as a step: nothing could observe the task in it. */
static inline bool nothing_to_tear_down(const fut *f)
{
    if (fut__unlikely(!f->vt) || (f->state & FUT__F_DROPPED))
        return false;
    struct fut__drop_slots ds = fut__drop_slots(f->vt);
    return !ds.poll_drop && !ds.drop;
}

/* The task's teardown: poll_drop, or, escalated past its budget, the sync
 * drop when the future has one. */
static fut_status task_teardown(fut_rt *rt, struct fut_task *t, fut *f, fut_cx *cx)
{
    unsigned s = fut__state_load(&t->w.state);
    cx->flags = FUT__CX_SHIELD;
    if (s & FUT__W_ESCALATED) {
        cx->flags |= FUT__CX_ESCALATED;
        ssize_t out = f->out;
        bool hard = fut__drop_hard(f);
        f->out = out;
        if (hard)
            return FUT_READY;
    }
    rt->ctx_flags = cx->flags;
    /* The task's output lives in f->out: a poll_drop may overwrite it
     * (fut_ready() in a teardown), so it is put back. */
    ssize_t out = f->out;
    fut_status st = fut__poll_drop(f, cx);
    f->out = out;
    if (st == FUT_PENDING && !(s & FUT__W_DROPWAIT)) {
        fut__state_set_dropwait(&t->w.state);
        rt->st.async_drops++;
        fut__teardown_wait(rt, t);
    }
    return st;
}

static void run_task(struct fut_task *t)
{
    fut_rt *rt = t->w.rt;
    unsigned s = fut__state_to_running(&t->w.state);
    fut *f = (fut *)(void *)t->fut;
    fut_cx cx;
    fut__cx_init(&cx, rt, &t->w);
    cx.task = t;
    struct fut_task *outer_task = rt->ctx_task;
    unsigned outer_flags = rt->ctx_flags;
    rt->ctx_task = t;
    rt->ctx_flags = 0;
    rt->st.polls++;

    if (!(s & FUT__W_TEARDOWN)) {
        bool done;
        if (s & FUT__W_CANCELLED) {
            f->out = -ECANCELED; /* the task's output: its future never ran */
            done = true;
        } else {
            done = fut__poll(f, &cx) == FUT_READY;
        }
        if (done && nothing_to_tear_down(f)) {
            f->state |= FUT__F_DROPPED;
            rt->ctx_task = outer_task;
            rt->ctx_flags = outer_flags;
            task_finish(rt, t, fut__state_ready_to_done(&t->w.state));
            return;
        }
        if (done) {
            fut__state_start_teardown(&t->w.state);
            s |= FUT__W_TEARDOWN;
            rt->st.tasks_tearing_down++;
        }
    }
    fut_status st = FUT_PENDING;
    if (s & FUT__W_TEARDOWN)
        st = task_teardown(rt, t, f, &cx);
    rt->ctx_task = outer_task;
    rt->ctx_flags = outer_flags;
    if (st == FUT_READY) {
        rt->st.tasks_tearing_down--;
        task_finish(rt, t, fut__state_to_done(&t->w.state));
        return;
    }
    /* Woken while frozen: behind the tasks ready now, seeded or not. */
    if (fut__state_to_idle(&t->w.state))
        enqueue_tail(rt, &t->w);
}

void fut__drain(fut_rt *rt)
{
    fut__take_remote(rt);
    rt->st.drains++;
    unsigned budget = rt->drain_budget;
    fut_waker *w;
    while ((w = rt->head)) {
        if (!budget--)
            break;
        /* A queued task holds the runtime's reference until it is done:
         * fut__take_remote's release of a remote wake's reference never
         * frees a task it queued. NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
        rt->head = w->next;
        if (!rt->head)
            rt->tail = NULL;
        run_task((struct fut_task *)w);
    }
    /* Work left (the budget ran out) or a nested loop to resume: the next
     * iteration must not block. */
    if (rt->head || (rt->frame_woken && rt->frame_depth))
        fut__watch_start(rt, &rt->idle);
    else
        fut__watch_stop(rt, &rt->idle);
}

/* --- spawn and join ----------------------------------------------------------------- */

/* join_poll() while its task runs: out of line, so that the poll of a
 * finished task saves no registers. */
static fut_status __attribute__((noinline)) join_wait(fut *self, struct fut_task *t, fut_cx *cx)
{
    if (fut__cx_cancelled(cx))
        return fut_ready(self, -ECANCELED);
    fut__keep_waker(&t->joiner, cx);
    return FUT_PENDING;
}

static fut_status join_poll(fut *self, fut_cx *cx)
{
    fut_join *j = (fut_join *)self;
    struct fut_task *t = j->task;
    if (!t)
        return fut_ready(self, -EINVAL);
    if (fut__state_is_done(&t->w.state))
        return fut_ready(self, fut__task_result(t));
    return join_wait(self, t, cx);
}

static void join_drop(fut *self)
{
    fut_join *j = (fut_join *)self;
    struct fut_task *t = j->task;
    if (!t)
        return;
    j->task = NULL;
    if (t->joiner) {
        fut_waker_drop(t->joiner);
        t->joiner = NULL;
    }
    task_release(t);
}

static const struct fut_vtable join_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_join",
    .poll = join_poll,
    .drop = join_drop,
};

/* fut__spawn(), inlined into fut_rt_spawn() too, where a task with no
 * scope and not in teardown leaves out their branches. */
static inline __attribute__((always_inline)) int spawn(fut_rt *rt, const fut *f, size_t size,
                                                       fut_join *join, struct fut_scope *scope,
                                                       void *tag, bool teardown)
{
    if (!rt || !f || size < sizeof(fut) || size > UINT32_MAX)
        return -EINVAL;
    if (rt->closing)
        return -ESHUTDOWN;
    struct fut_task *t = fut__alloc(fut__task_alloc_size(size, scope != NULL));
    if (!t)
        return -ENOMEM;
    /* A task spawned in teardown (an orphan) only runs its future's
     * poll_drop, under the drop budget. */
    fut__state_init_task(&t->w.state, teardown, scope != NULL);
    if (teardown)
        rt->st.tasks_tearing_down++;
    atomic_init(&t->w.refs, join ? 2 : 1);
    t->w.rt = rt;
    t->joiner = NULL;
    t->size = (uint32_t)size;
    t->torn_after = 0;
    t->spawned = fut__fresh_now(rt);
    _Static_assert(sizeof(fut) >= 16, "the small copy below needs size >= 16");
    if (fut__likely(size <= 32)) {
        /* Most futures: two overlapping 16-byte copies (size >= sizeof(fut),
         * at least 16), inline rather than a call to memcpy. */
        memcpy(t->fut, f, 16);
        memcpy((char *)t->fut + size - 16, (const char *)f + size - 16, 16);
    } else {
        memcpy(t->fut, f, size);
    }
    if (scope) {
        struct fut__task_tail *tail = fut__task_tail(t);
        tail->scope = scope;
        tail->tag = tag;
        tail->terr = 0;
        tail->terrs = 0;
        fut__scope_child_spawned(scope, t);
    }
    fut__list_add_tail(&rt->tasks, &t->live);
    rt->st.tasks_spawned++;
    rt->st.tasks_alive++;
    fut__keepalive(rt, 1);
    enqueue(rt, &t->w);
    if (join) {
        fut_init(&join->base, &join_vt);
        join->task = t;
    }
    return 0;
}

int fut__spawn(fut_rt *rt, const fut *f, size_t size, fut_join *join, struct fut_scope *scope,
               void *tag, bool teardown)
{
    return spawn(rt, f, size, join, scope, tag, teardown);
}

FUT_API int fut_rt_spawn(fut_rt *rt, const fut *f, size_t size, fut_join *join)
{
    return spawn(rt, f, size, join, NULL, NULL, false);
}

void fut__task_cancel(struct fut_task *t)
{
    unsigned s = fut__state_cancel(&t->w.state);
    if (s & (FUT__W_DONE | FUT__W_CANCELLED | FUT__W_TEARDOWN))
        return;
    fut_waker_wake(&t->w);
    /* Its poll is on the stack: the nested loops above it must re-poll
     * their futures, whose waits now see the cancellation and return. */
    if (s & FUT__W_RUNNING)
        fut__wake_frames(t->w.rt);
}

FUT_API int fut_join_cancel(fut_join *join)
{
    if (!join || !join->task)
        return -EINVAL;
    fut__task_cancel(join->task);
    return 0;
}

FUT_API int fut_join_finished(const fut_join *join)
{
    if (!join || !join->task)
        return 0;
    return fut__state_is_done(&join->task->w.state);
}
