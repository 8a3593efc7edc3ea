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
    for (unsigned i = 0; i < n; i++) {
        struct fut__frame *fr = &fs->v[i];
        atomic_init(&fr->w.state, 0);
        atomic_init(&fr->w.refs, 0);
        fr->w.kind = FUT__KIND_FRAME;
        fr->w.rt = rt;
        fr->w.next = fr->w.remote_next = NULL;
        fr->block = fs;
        fr->f = NULL;
        fr->drop = fr->done = fr->blocked = false;
    }
    if (rt->frames) {
        /* Retire the old block: its wakers may still be held. */
        for (unsigned i = 0; i < rt->frames->n; i++)
            atomic_fetch_or(&rt->frames->v[i].w.state, FUT__W_DONE);
        fut__frames_release(rt->frames);
    }
    rt->frames = fs;
    return 0;
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
    if (rt->frame_depth > 0)
        return -EBUSY;
    if (depth == rt->frames->n)
        return 0;
    return fut__frames_new(rt, depth);
}

/* Polls one frame's future if it was woken and is not on the stack. */
static void poll_frame(fut_rt *rt, struct fut__frame *fr, bool inner)
{
    unsigned s = atomic_load_explicit(&fr->w.state, memory_order_acquire);
    if (fr->done || !(s & FUT__W_NOTIFIED) || (s & FUT__W_RUNNING))
        return;
    atomic_fetch_add_explicit(&fr->w.state, FUT__W_RUNNING - FUT__W_NOTIFIED,
                              memory_order_acq_rel);
    fut_cx cx;
    fut__cx_init(&cx, rt, &fr->w);
    fut_status st = fr->drop ? fut_poll_drop(fr->f, &cx) : fut_poll(fr->f, &cx);
    atomic_fetch_and_explicit(&fr->w.state, ~FUT__W_RUNNING, memory_order_acq_rel);
    if (st == FUT_READY) {
        fr->done = true;
        if (!inner) {
            fr->blocked = true;
            fr->done_at = ev_time();
        }
    }
}

/* A frame that was woken and can be polled now: the loop must not block.
 * (frame_woken is only a hint for the drain: an inner loop clears it even
 * when the woken frame was on the stack and could not be polled.) */
static bool frames_pending(const fut_rt *rt, unsigned top)
{
    for (unsigned i = 0; i <= top; i++) {
        const struct fut__frame *fr = &rt->frames->v[i];
        unsigned s = atomic_load_explicit(&fr->w.state, memory_order_acquire);
        if (!fr->done && (s & FUT__W_NOTIFIED) && !(s & FUT__W_RUNNING))
            return true;
    }
    return false;
}

/* Polls the frames, innermost first, down to the outermost. */
static void poll_frames(fut_rt *rt, unsigned top)
{
    rt->frame_woken = false;
    for (unsigned i = top + 1; i-- > 0;)
        poll_frame(rt, &rt->frames->v[i], i == top);
}

int fut__run_frame(fut_rt *rt, fut *f, bool drop, ssize_t *out)
{
    if (!fut__on_thread(rt))
        return -EPERM;
    unsigned top = rt->frame_depth;
    if (top >= rt->frames->n)
        return -ELOOP;
    /* Entered from plain code, the loop's clock is as old as its last
     * iteration: a deadline armed by the first poll must count from now. */
    if (rt->depth == 0)
        ev_now_update(rt->loop);
    struct fut__frame *fr = &rt->frames->v[top];
    fr->f = f;
    fr->drop = drop;
    fr->done = fr->blocked = false;
    rt->frame_depth = top + 1;
    fut_rt *prev = fut__enter(rt);
    if (rt->frame_depth > rt->st.nested_depth_max)
        rt->st.nested_depth_max = rt->frame_depth;
    if (top > 0)
        rt->st.nested_loops++;

    /* The first poll needs no loop: a future that is READY at once (most
     * drops) costs one call. A stale wake from the slot's last use would
     * only cause a spurious poll. */
    atomic_fetch_or_explicit(&fr->w.state, FUT__W_NOTIFIED, memory_order_relaxed);
    poll_frame(rt, fr, true);
    if (!fr->done) {
        fut__keepalive(rt, 1);
        for (;;) {
            fut__drain(rt);
            if (fr->done)
                break;
            if (!frames_pending(rt, top))
                ev_run(rt->loop, EVRUN_ONCE);
            fut__take_remote(rt);
            poll_frames(rt, top);
            if (fr->done)
                break;
        }
        fut__keepalive(rt, -1);
    }
    if (fr->blocked) {
        rt->st.nested_blocked++;
        rt->st.nested_blocked_seconds += ev_time() - fr->done_at;
    }
    fr->f = NULL;
    rt->frame_depth = top;
    fut__leave(rt, prev);
    if (out)
        *out = drop ? 0 : f->out;
    return 0;
}

FUT_API int fut_nested_loop(fut_rt *rt, fut *f, ssize_t *out)
{
    if (!rt || !f)
        return -EINVAL;
    return fut__run_frame(rt, f, false, out);
}

FUT_API int fut_block_on(fut_rt *rt, fut *f, ssize_t *out)
{
    return fut_nested_loop(rt, f, out);
}
