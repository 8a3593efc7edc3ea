/* SPDX-License-Identifier: MIT */
/* Nested loops and frozen tasks.
 *
 * A nested loop polls its future, drains the run queue (re-entrantly: an
 * outer drain resumes where this one leaves off) and runs one libev
 * iteration, until its future is READY. The tasks whose poll is on the
 * call stack are RUNNING: wakes aimed at them only set NOTIFIED, and their
 * own poll re-queues them when it returns (task.c), so they are never
 * polled re-entrantly.
 *
 * Frames are polled like tasks: an inner loop also polls the futures of
 * outer frames that were woken and are not on the stack, so an outer
 * future that finishes first is seen finishing; its loop returns as soon
 * as control unwinds back to it, and the wait is counted in the stats.
 */
#include "internal.h"

#include <errno.h>

int fut__frames_new(fut_rt *rt, unsigned n)
{
    struct fut__frames *fs = fut__alloc(sizeof *fs + n * sizeof fs->v[0]);
    if (!fs)
        return -ENOMEM;
    atomic_init(&fs->refs, 1);
    fs->n = n;
    for (unsigned i = 0; i <= n; i++) {
        struct fut__frame *fr = i < n ? &fs->v[i] : &fs->probe;
        if (i < n)
            fut__state_init_frame(&fr->w.state);
        else
            fut__state_init_probe(&fr->w.state);
        atomic_init(&fr->w.refs, 0);
        fr->w.rt = rt;
        fr->w.next = NULL;
        fr->block = fs;
        fr->f = NULL;
        fr->drop = fr->probe = fr->probe_owed = fr->running = fr->done = fr->blocked = false;
    }
    if (rt->frames) /* its wakers may still be held */
        fut__frames_retire(rt->frames);
    rt->frames = fs;
    return 0;
}

/* The runtime lets go of a block: later wakes of its wakers (clones may
 * outlive it) are ignored. */
void fut__frames_retire(struct fut__frames *fs)
{
    for (unsigned i = 0; i < fs->n; i++)
        fut__state_retire(&fs->v[i].w.state);
    fut__state_retire(&fs->probe.w.state);
    fut__frames_release(fs);
}

void fut__frames_release(struct fut__frames *fs)
{
    if (atomic_fetch_sub_explicit(&fs->refs, 1, memory_order_acq_rel) == 1)
        fut__free(fs, sizeof *fs + fs->n * sizeof fs->v[0]);
}

FUT_API int fut_rt_set_max_depth(fut_rt *rt, unsigned depth)
{
    if (!rt || depth < 1 || depth > 4096)
        return -EINVAL;
    if (rt->frame_depth > 0 || (rt->ctx_flags & FUT__CX_PROBE))
        return -EBUSY;
    if (depth == rt->frames->n)
        return 0;
    return fut__frames_new(rt, depth);
}

/* Polls a frame's future once. */
static void poll_frame_now(fut_rt *rt, struct fut__frame *fr)
{
    fut_cx cx;
    fut__cx_init(&cx, rt, &fr->w);
    cx.task = fr->owner;
    cx.flags = fr->cxflags;
    struct fut_task *outer_task = rt->ctx_task;
    unsigned outer_flags = rt->ctx_flags;
    rt->ctx_task = fr->owner;
    /* Not PROBE: a loop started inside this poll is not started inside a
     * first poll_drop of fut_drop (probe_fanout relies on it). */
    rt->ctx_flags = fr->cxflags & ~FUT__CX_PROBE;
    fr->running = true;
    fut_status st = fr->drop ? fut_poll_drop(fr->f, &cx) : fut_poll(fr->f, &cx);
    fr->running = false;
    rt->ctx_task = outer_task;
    rt->ctx_flags = outer_flags;
    if (st == FUT_READY)
        fr->done = true;
}

/* Polls one frame's future if it was woken and is not on the stack. */
static void poll_frame(fut_rt *rt, struct fut__frame *fr, bool inner)
{
    if (fr->done || fr->running || !fut__state_take_notified(&fr->w.state))
        return;
    poll_frame_now(rt, fr);
    if (fr->done && !inner) {
        fr->blocked = true;
        fr->done_at = fut__wall_clock();
    }
}

/* A frame that was woken and can be polled now: the loop must not block.
 * (frame_woken is only a hint for the drain: an inner loop clears it even
 * when the woken frame was on the stack and could not be polled.) */
static bool frames_pending(const fut_rt *rt, unsigned top)
{
    if (fut__unlikely(fut__state_is_notified(&rt->frames->probe.w.state)))
        return true; /* probe_fanout hands it on before the frames are polled */
    for (unsigned i = 0; i <= top; i++) {
        const struct fut__frame *fr = &rt->frames->v[i];
        if (!fr->done && !fr->running && fut__state_is_notified(&fr->w.state))
            return true;
    }
    return false;
}

/* Hands a wake of the probe waker on to every frame in use that fut_drop
 * started after a first poll_drop on it (that poll may have kept a clone;
 * the later ones have their frame's waker): a frame that kept none gets a
 * spurious poll. A first poll_drop may also be on the stack, not PENDING
 * yet: this loop runs inside it, and the frame it would use is the one
 * started directly inside it (rt->ctx_flags had PROBE then, so its
 * cxflags have it). That frame is marked, and fut__run_probe_pending
 * starts a marked frame woken. */
static __attribute__((noinline)) void probe_fanout(fut_rt *rt, unsigned top)
{
    struct fut__frames *fs = rt->frames;
    if (!fut__state_take_notified(&fs->probe.w.state))
        return;
    for (unsigned i = 0; i <= top; i++) {
        struct fut__frame *fr = &fs->v[i];
        if (fr->cxflags & FUT__CX_PROBE)
            fr->probe_owed = true;
        if (fr->probe)
            fut__state_notify(&fr->w.state);
    }
}

/* Polls the frames, innermost first, down to the outermost. */
static void poll_frames(fut_rt *rt, unsigned top)
{
    rt->frame_woken = false;
    if (fut__unlikely(fut__state_is_notified(&rt->frames->probe.w.state)))
        probe_fanout(rt, top);
    for (unsigned i = top + 1; i-- > 0;)
        poll_frame(rt, &rt->frames->v[i], i == top);
}

/* The loop proper, once the first poll was PENDING. A wake that came in
 * before (even a stale one from the slot's last use) only costs a
 * spurious poll: NOTIFIED is consumed before the loop ever blocks. */
static __attribute__((noinline)) void frame_loop(fut_rt *rt, struct fut__frame *fr, unsigned top)
{
    if (top > 0)
        rt->st.nested_loops++;
    fut__keepalive(rt, 1);
    for (;;) {
        fut__drain(rt);
        if (fr->done)
            break;
        if (!frames_pending(rt, top)) {
            fut__loop_run_once(rt->loop);
            rt->now_stale = false;
        }
        fut__take_remote(rt);
        poll_frames(rt, top);
        if (fr->done)
            break;
    }
    fut__keepalive(rt, -1);
    if (fr->blocked) {
        rt->st.nested_blocked++;
        rt->st.nested_blocked_seconds += fut__wall_clock() - fr->done_at;
    }
}

/* Started from inside a teardown that the frame below drives? (A loop
 * started inside a poll_drop that a frame polls inherits the shield from
 * rt->ctx_flags already; this covers a task run directly under that poll,
 * by an ev_run of the caller's.) */
static bool parent_is_teardown(const fut_rt *rt, unsigned top)
{
    if (top == 0)
        return false;
    const struct fut__frame *p = &rt->frames->v[top - 1];
    return p->running && p->drop;
}

/* Runs f (or f's teardown) to completion in the frame at the current
 * depth. The first poll comes before any loop iteration, so a future READY
 * at once (most drops) costs one call; `polled` says the caller made that
 * poll already (fut_drop's fast path) and it was PENDING. The caller
 * checked the thread and the depth limit. */
static inline __attribute__((always_inline)) void frame_run(fut_rt *rt, fut *f, bool drop,
                                                            bool polled, bool probe)
{
    unsigned top = rt->frame_depth;
    struct fut__frame *fr = &rt->frames->v[top];
    fr->f = f;
    fr->drop = drop;
    fr->probe = probe;
    fr->done = fr->blocked = false;
    /* It runs for whatever poll started it: cancellation of that task
     * reaches its waits; a teardown's loop is shielded. */
    fr->owner = rt->ctx_task;
    fr->cxflags = rt->ctx_flags | (drop || parent_is_teardown(rt, top) ? FUT__CX_SHIELD : 0);
    /* Not started inside a first poll_drop: none is on the stack at this
     * depth, and a mark left by one that was READY after all is stale. */
    if (!(fr->cxflags & FUT__CX_PROBE))
        fr->probe_owed = false;
    rt->frame_depth = top + 1;
    if (fut__unlikely(rt->frame_depth > rt->st.nested_depth_max))
        rt->st.nested_depth_max = rt->frame_depth;
    fut_rt *prev = fut__enter(rt);
    if (!polled)
        poll_frame_now(rt, fr);
    if (!fr->done)
        frame_loop(rt, fr, top);
    rt->frame_depth = top;
    fut__leave(rt, prev);
    if (top == 0) /* no loop left to resume: no reason to keep the idle watcher */
        rt->frame_woken = false;
    /* Back to plain code: the clock goes stale from here. */
    if (rt->depth == 0)
        rt->now_stale = true;
}

/* A task whose poll is on the stack was cancelled: the loops above it
 * re-poll their futures, whose waits then see it. */
void fut__wake_frames(fut_rt *rt)
{
    for (unsigned i = 0; i < rt->frame_depth; i++)
        fut_waker_wake(&rt->frames->v[i].w);
}

/* fut_drop's slow path: the teardown's first poll_drop, made by fut_drop
 * on the probe waker, was PENDING. The frame at the current depth drives
 * the rest (fut_drop checked the depth before the call; nested loops
 * inside it restored the depth, and the block could not be replaced
 * meanwhile). A wake of the probe while the call ran is either still
 * pending on the probe (probe_fanout hands it on to this frame) or was
 * handed on already, by a loop run inside the call, which marked this
 * frame: it then starts woken. `arranged`: the count of that poll's cx
 * (the protocol check). -ELOOP: the stack is too low for the loop (the
 * teardown has begun; the caller still owns f). */
int fut__run_probe_pending(fut_rt *rt, fut *f, unsigned arranged)
{
#ifndef NDEBUG
    if (fut__unlikely(!arranged))
        fut__diag("%s: poll_drop returned PENDING without arranging a wake-up", fut__name(f));
#else
    (void)arranged;
#endif
    f->state |= FUT__F_DROPPING;
    if (fut__stack_low())
        return -ELOOP;
    struct fut__frame *fr = &rt->frames->v[rt->frame_depth];
    if (fr->probe_owed) {
        fr->probe_owed = false;
        fut__state_notify(&fr->w.state);
    }
    frame_run(rt, f, true, true, true);
    return 0;
}

/* The stack left below this frame is too small for one more nested
 * loop: a level costs a few hundred bytes of libfut's and libev's frames
 * (more under ASan), plus whatever the futures' own polls take, so keep a
 * margin that covers many levels. The thread's stack bounds are looked up
 * once per thread. */
#ifdef __SANITIZE_ADDRESS__
#define STACK_MARGIN ((size_t)256 * 1024)
#else
#define STACK_MARGIN ((size_t)64 * 1024)
#endif

/* The lowest usable address of this thread's stack; 0: not looked up
 * yet, 1: unknown (no limit). initial-exec, as fut__current: every nested
 * loop reads it. */
__thread uintptr_t fut__stack_floor __attribute__((tls_model("initial-exec")));

bool fut__stack_low_slow(uintptr_t here)
{
    pthread_attr_t a;
    void *addr;
    size_t size;
    fut__stack_floor = 1;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        /* cppcheck-suppress uninitvar ; posix.cfg 2.10 wants getstack's outputs set */
        if (pthread_attr_getstack(&a, &addr, &size) == 0 && size > STACK_MARGIN &&
            here > (uintptr_t)addr)
            fut__stack_floor = (uintptr_t)addr + STACK_MARGIN;
        pthread_attr_destroy(&a);
    }
    return here < fut__stack_floor;
}

FUT_API int fut_rt_nested_loop(fut_rt *rt, fut *f, ssize_t *out)
{
    if (!rt || !f)
        return -EINVAL;
    if (!fut__on_thread(rt))
        return -EPERM;
    if (rt->frame_depth >= rt->frames->n || fut__stack_low())
        return -ELOOP;
    frame_run(rt, f, false, false, false);
    if (out)
        *out = f->out;
    return 0;
}

FUT_API int fut_rt_block_on(fut_rt *rt, fut *f, ssize_t *out)
{
    return fut_rt_nested_loop(rt, f, out);
}
