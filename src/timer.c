/* SPDX-License-Identifier: MIT */
/* The runtime's timers and its clock.
 *
 * Every deadline of the library (sleeps, timeouts, scope deadlines, drop
 * budgets, fd and stream deadlines, accept back-off, process grace) is a
 * fut__timer node embedded in its owner, kept in one of the runtime's two
 * pairing heaps, keyed by (deadline, arming order): equal deadlines fire
 * in the order they were armed. One timer watch (the loop's own timer) is
 * armed for the earliest deadline that follows the real clock.
 *
 * Why a pairing heap rather than an array heap: nodes are linked through
 * their own pointers, so arming never allocates and never fails (a
 * teardown arms its budget without allocating, a sleep's poll cannot run
 * out of memory). Insert is one comparison with the root; cancelling a
 * node that has no children (the usual fate of a timeout: armed, then
 * cancelled while later deadlines wait) is an unlink; removing the root
 * merges its children in two passes, O(log n) amortised.
 *
 * Heaps: [FUT__TH_RT] follows the runtime's clock (real, or manual: see
 * fut_rt_set_clock()); [FUT__TH_REAL] always the real one (the exit
 * poller of a child process without a pidfd: a real-world wait, not a
 * deadline of the program's logic). A node's heap is the low bit of its
 * seq.
 *
 * The timer watch is armed lazily: arming an earlier deadline than the one it
 * waits for re-arms it; cancelling does not touch it (unless no timer is
 * left), so a cancelled deadline may cost one early wake-up, after which
 * it is re-armed for the next. */
#include "internal.h"

#include <errno.h>
#include <math.h>

static inline bool before(const fut__timer *a, const fut__timer *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/* Makes the later of two roots the first child of the earlier; returns
 * the earlier. Leaves the winner's prev and next to the caller. */
static inline fut__timer *meld(fut__timer *a, fut__timer *b)
{
    if (before(b, a)) {
        fut__timer *x = a;
        a = b;
        b = x;
    }
    b->prev = a;
    b->next = a->child;
    if (a->child)
        a->child->prev = b;
    a->child = b;
    return a;
}

/* Melds a non-empty list of siblings into one tree: pairs left to right,
 * then the pairs right to left (the two-pass pairing). */
static fut__timer *merge_pairs(fut__timer *first)
{
    fut__timer *acc = NULL; /* the melded pairs, last first */
    do {
        fut__timer *a = first, *b = a->next;
        if (!b) {
            a->next = acc;
            acc = a;
            break;
        }
        first = b->next;
        fut__timer *m = meld(a, b);
        m->next = acc;
        acc = m;
    } while (first);
    fut__timer *root = acc;
    for (acc = acc->next; acc;) {
        fut__timer *n = acc->next;
        root = meld(root, acc);
        acc = n;
    }
    return root;
}

static inline void set_root(fut_rt *rt, unsigned h, fut__timer *r)
{
    rt->troot[h] = r;
    if (r) {
        r->prev = r;
        r->next = NULL;
    }
}

static inline unsigned heap_of(const fut__timer *t)
{
    return (unsigned)(t->seq & 1);
}

static void pop_root(fut_rt *rt, unsigned h)
{
    fut__timer *r = rt->troot[h];
    set_root(rt, h, r->child ? merge_pairs(r->child) : NULL);
    r->prev = NULL;
}

/* --- the timer watch ----------------------------------------------------------- */

/* The heap follows the real clock now. */
static inline bool heap_real(const fut_rt *rt, unsigned h)
{
    return h == FUT__TH_REAL || rt->clock == FUT_CLOCK_REAL;
}

static __attribute__((noinline)) void watch_arm(fut_rt *rt, double at)
{
    fut__watch_timer_arm(rt, &rt->timer, at - fut__loop_now(rt->loop));
    rt->timer_at = at;
}

static void watch_disarm(fut_rt *rt)
{
    fut__watch_stop(rt, &rt->timer);
    rt->timer_at = INFINITY;
}

/* Arms the timer watch for the earliest real deadline, if it waits for a
 * later one (or none). */
static void watch_arm_next(fut_rt *rt)
{
    double next = INFINITY;
    if (rt->clock == FUT_CLOCK_REAL && rt->troot[FUT__TH_RT])
        next = rt->troot[FUT__TH_RT]->at;
    if (rt->troot[FUT__TH_REAL] && rt->troot[FUT__TH_REAL]->at < next)
        next = rt->troot[FUT__TH_REAL]->at;
    if (next < rt->timer_at)
        watch_arm(rt, next);
}

/* Fires, in order, the timers of heap h due at `now` that were armed
 * before this call: one re-armed by its own callback for a time already
 * past fires at the next round, not in a loop here. */
static void fire_due(fut_rt *rt, unsigned h, double now)
{
    unsigned long long limit = rt->tseq;
    fut__timer *r;
    while ((r = rt->troot[h]) && r->at <= now && (r->seq >> 1) <= limit) {
        pop_root(rt, h);
        r->fire(rt, r);
    }
}

static void timer_cb(fut__watch *w, int events)
{
    fut_rt *rt = fut__watch_data(w);
    /* libev's monotonic clock says the deadline it was armed for has
     * passed, even when the loop's time reads a hair earlier. */
    double now = fut__loop_now(rt->loop);
    if (rt->timer_at > now)
        now = rt->timer_at;
    rt->timer_at = INFINITY;
    if (rt->clock == FUT_CLOCK_REAL)
        fire_due(rt, FUT__TH_RT, now);
    fire_due(rt, FUT__TH_REAL, now);
    watch_arm_next(rt);
}

void fut__timers_init(fut_rt *rt)
{
    rt->troot[0] = rt->troot[1] = NULL;
    rt->tseq = 0;
    rt->timer_at = INFINITY;
    rt->clock = FUT_CLOCK_REAL;
    fut__watch_timer_init(&rt->timer, timer_cb, rt);
}

void fut__timers_free(fut_rt *rt)
{
    fut__watch_stop(rt, &rt->timer);
    rt->timer_at = INFINITY;
}

/* --- nodes ---------------------------------------------------------------------- */

static inline __attribute__((always_inline)) void insert(fut_rt *rt, fut__timer *t, unsigned h,
                                                         double at)
{
    t->at = at;
    t->seq = (++rt->tseq << 1) | h;
    t->child = NULL;
    fut__timer *r = rt->troot[h];
    if (!r) {
        set_root(rt, h, t);
    } else if (before(t, r)) {
        t->child = r;
        r->prev = t;
        r->next = NULL;
        set_root(rt, h, t);
    } else {
        t->prev = r;
        t->next = r->child;
        if (r->child)
            r->child->prev = t;
        r->child = t;
    }
    if (at < rt->timer_at && heap_real(rt, h))
        watch_arm(rt, at);
}

void fut__timer_arm(fut_rt *rt, fut__timer *t, double at)
{
    if (fut__unlikely(fut__timer_armed(t)))
        fut__timer_cancel(rt, t);
    insert(rt, t, FUT__TH_RT, at);
}

void fut__timer_arm_real(fut_rt *rt, fut__timer *t, double after)
{
    if (fut__timer_armed(t))
        fut__timer_cancel(rt, t);
    if (fut__unlikely(rt->now_stale) && rt->clock == FUT_CLOCK_REAL)
        fut__fresh_now(rt);
    else if (rt->clock != FUT_CLOCK_REAL)
        fut__loop_update_now(rt->loop); /* the loop's time is not read otherwise */
    insert(rt, t, FUT__TH_REAL, fut__loop_now(rt->loop) + after);
}

void fut__timer_cancel(fut_rt *rt, fut__timer *t)
{
    if (!fut__timer_armed(t))
        return;
    unsigned h = heap_of(t);
    if (t == rt->troot[h]) {
        pop_root(rt, h);
        /* Nothing left to wait for: the loop must not stay busy (nor wake
         * up) for it. */
        if (!rt->troot[h] && !rt->troot[h ^ 1] && rt->timer_at < INFINITY)
            watch_disarm(rt);
        return;
    }
    /* prev is the parent when t is its first child, else its left sibling */
    if (t->prev->child == t)
        t->prev->child = t->next;
    else
        t->prev->next = t->next;
    if (t->next)
        t->next->prev = t->prev;
    if (t->child) {
        /* Its subtree goes back under the root, which precedes all of it. */
        fut__timer *r = rt->troot[h], *sub = merge_pairs(t->child);
        sub->prev = r;
        sub->next = r->child;
        if (r->child)
            r->child->prev = sub;
        r->child = sub;
    }
    t->prev = NULL;
}

/* --- the manual clock --------------------------------------------------------- */

/* Runs the ready tasks until none is left. */
static void settle(fut_rt *rt)
{
    do
        fut__drain(rt);
    while (rt->head);
}

void fut__timers_prepare(fut_rt *rt)
{
    /* Deadlines already reached on the manual clock (a zero timeout, a
     * budget of 0 s) fire at the next iteration, as real ones do. */
    fut__timer *r = rt->troot[FUT__TH_RT];
    if (r && r->at <= rt->manual_now)
        fire_due(rt, FUT__TH_RT, rt->manual_now);
    r = rt->troot[FUT__TH_RT];
    rt->auto_jump = rt->clock == FUT_CLOCK_AUTO && r && !rt->head &&
                    !(rt->frame_woken && rt->frame_depth);
    /* The idle watcher makes this iteration poll without blocking: with
     * tasks to run, a timer re-armed for a time already reached, or for
     * the auto clock to see whether I/O is ready before it jumps (idle_cb
     * runs only when nothing else was). */
    if (rt->head || rt->auto_jump || (r && r->at <= rt->manual_now))
        fut__watch_start(rt, &rt->idle);
}

void fut__timers_idle(fut_rt *rt)
{
    if (!rt->auto_jump)
        return;
    rt->auto_jump = false;
    fut__timer *r = rt->troot[FUT__TH_RT];
    if (rt->clock != FUT_CLOCK_AUTO || rt->head || !r)
        return;
    if (r->at > rt->manual_now)
        rt->manual_now = r->at;
    fire_due(rt, FUT__TH_RT, rt->manual_now);
}

FUT_API int fut_rt_set_clock(fut_rt *rt, int mode)
{
    if (!rt || (mode != FUT_CLOCK_REAL && mode != FUT_CLOCK_MANUAL && mode != FUT_CLOCK_AUTO))
        return -EINVAL;
    if (!fut__on_thread(rt))
        return -EPERM;
    if (mode == rt->clock)
        return 0;
    /* Between manual and auto the clock is the same; to or from the real
     * one, armed deadlines would change meaning. */
    if ((mode == FUT_CLOCK_REAL || rt->clock == FUT_CLOCK_REAL) && rt->troot[FUT__TH_RT])
        return -EBUSY;
    if (rt->clock == FUT_CLOCK_REAL)
        rt->manual_now = fut__fresh_now(rt);
    rt->clock = mode;
    rt->auto_jump = false;
    return 0;
}

FUT_API int fut_rt_clock(const fut_rt *rt)
{
    return rt ? rt->clock : -EINVAL;
}

FUT_API int fut_rt_advance(fut_rt *rt, double seconds)
{
    if (!rt || !(seconds >= 0) || isinf(seconds))
        return -EINVAL;
    if (!fut__on_thread(rt))
        return -EPERM;
    if (rt->clock == FUT_CLOCK_REAL)
        return -EINVAL;
    double target = rt->manual_now + seconds;
    fut_rt *prev = fut__enter(rt);
    settle(rt);
    for (;;) {
        fut__timer *r = rt->troot[FUT__TH_RT];
        if (!r || r->at > target)
            break;
        if (r->at > rt->manual_now)
            rt->manual_now = r->at;
        fire_due(rt, FUT__TH_RT, rt->manual_now);
        settle(rt);
    }
    if (target > rt->manual_now)
        rt->manual_now = target;
    fut__leave(rt, prev);
    return 0;
}
