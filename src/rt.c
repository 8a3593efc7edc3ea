/* SPDX-License-Identifier: MIT */
/* The runtime: loop ownership, the watchers that drive the run queue,
 * shutdown and stats. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

__thread fut_rt *fut__current __attribute__((tls_model("initial-exec")));
/* The first live runtime created on this thread: the fallback current
 * runtime for sync drops made outside any loop. */
__thread fut_rt *fut__thread_default __attribute__((tls_model("initial-exec")));
/* Every live runtime created on this thread, newest first. */
static __thread fut_rt *thread_rts;
static _Atomic unsigned next_id;

fut_rt *fut__rt_by_id(unsigned id)
{
    for (fut_rt *rt = thread_rts; rt; rt = rt->thread_next)
        if (rt->id == id)
            return rt;
    return NULL;
}

/* A forked child has only the forking thread, with copies of the parent's
 * runtimes it must not use: it starts with none. */
static void forget_after_fork(void)
{
    fut__current = NULL;
    fut__thread_default = NULL;
    thread_rts = NULL;
}

static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_after_fork);
}

/* Tasks per drain before the loop polls for I/O again: fairness between a
 * task that keeps waking itself and the fds and timers. */
#define DRAIN_BUDGET 128

bool fut__on_thread(const fut_rt *rt)
{
    return pthread_equal(rt->thread, pthread_self());
}

static void prepare_cb(fut__watch *w, int events)
{
    fut_rt *rt = fut__watch_data(w);
    fut_rt *prev = fut__enter(rt);
    fut__drain(rt);
    /* libev registers new io watchers right after the prepare watchers:
     * the last moment to catch a closed fd before libev aborts on it. */
    if (!fut__list_empty(&rt->io_unchecked) || !fut__list_empty(&rt->fd_unchecked))
        fut__check_fds(rt);
    if (fut__unlikely(rt->clock != FUT_CLOCK_REAL))
        fut__timers_prepare(rt);
    fut__leave(rt, prev);
}

static void idle_cb(fut__watch *w, int events)
{
    /* There to keep ev_run from blocking; the prepare watcher drains. It
     * runs only when nothing else happened in this iteration: the auto
     * clock's cue to jump. */
    fut_rt *rt = fut__watch_data(w);
    if (fut__unlikely(rt->auto_jump)) {
        fut_rt *prev = fut__enter(rt);
        fut__timers_idle(rt);
        fut__leave(rt, prev);
    }
}

static void async_cb(fut__watch *w, int events)
{
    fut__take_remote(fut__watch_data(w));
}

/* splitmix64: spreads small seeds (1, 2, 3) over the whole state, which
 * xorshift needs non-zero. */
static uint64_t seed_state(uint64_t seed)
{
    uint64_t z = seed + UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    return z ? z : UINT64_C(0x9E3779B97F4A7C15);
}

FUT_API int fut_rt_set_seed(fut_rt *rt, uint64_t seed)
{
    if (!rt)
        return -EINVAL;
    rt->sched_rng = seed ? seed_state(seed) : 0;
    return 0;
}

/* FUT_SEED: a non-zero integer (any base strtoull accepts) seeds every
 * new runtime; anything else leaves scheduling FIFO. */
static uint64_t env_seed(void)
{
    const char *s = getenv("FUT_SEED");
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || *s == '-')
        return 0;
    return v;
}

FUT_API int fut_rt_new(fut_rt **out, struct ev_loop *loop)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    fut_rt *rt = fut__alloc(sizeof *rt);
    if (!rt)
        return -ENOMEM;
    memset(rt, 0, sizeof *rt);
    rt->thread = pthread_self();
    rt->drain_budget = DRAIN_BUDGET;
    rt->now_stale = true;
    rt->drop_budget = FUT_DEFAULT_DROP_BUDGET;
    rt->force_deadline = INFINITY;
    fut_rt_set_seed(rt, env_seed());
    fut__list_init(&rt->teardowns);
    fut__list_init(&rt->shutdowns);
    fut__list_init(&rt->tasks);
    fut__list_init(&rt->io_unchecked);
    fut__list_init(&rt->fd_unchecked);
    fut__list_init(&rt->fds);
    fut__list_init(&rt->procs);
    atomic_init(&rt->remote, NULL);
    int err = fut__frames_new(rt, FUT_DEFAULT_MAX_DEPTH);
    if (err) {
        fut__free(rt, sizeof *rt);
        return err;
    }
    if (!loop) {
        loop = ev_loop_new(EVBACKEND_EPOLL);
        int e = errno;
        /* out of fds or memory: say so (a select() loop is no answer) */
        if (!loop && e != EMFILE && e != ENFILE && e != ENOMEM)
            loop = ev_loop_new(EVFLAG_AUTO);
        if (!loop) {
            fut__frames_release(rt->frames);
            fut__free(rt, sizeof *rt);
            return e == EMFILE || e == ENFILE || e == ENOMEM ? -e : -EIO;
        }
        rt->owns_loop = true;
    }
    /* libev aborts the process when it cannot create what backs ev_async
     * (when the async watch starts below): an eventfd or, where eventfds are
     * unavailable (ENOSYS, EINVAL in a sandbox), a pipe. Make sure one of
     * them can be made. */
    int probe[2] = {eventfd(0, EFD_CLOEXEC), -1};
    if (probe[0] == -1 && pipe2(probe, O_CLOEXEC) == -1) {
        int e = errno;
        if (rt->owns_loop)
            ev_loop_destroy(loop);
        fut__frames_release(rt->frames);
        fut__free(rt, sizeof *rt);
        return -e;
    }
    close(probe[0]);
    if (probe[1] != -1)
        close(probe[1]);
    rt->loop = loop;

    /* Only live tasks and running nested loops keep the loop alive
     * (fut__keepalive): the prepare and async watches are weak. The idle
     * watch runs while work is queued, and then the loop must not stop. */
    fut__watch_prepare_init(&rt->prepare, prepare_cb, rt, FUT__WATCH_WEAK);
    fut__watch_start(rt, &rt->prepare);
    fut__watch_idle_init(&rt->idle, idle_cb, rt, 0);
    fut__timers_init(rt);
    fut__timer_init(&rt->budget, fut__budget_fire);
    fut__watch_async_init(&rt->async, async_cb, rt, FUT__WATCH_WEAK);
    fut__watch_start(rt, &rt->async);

    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_atfork);
    rt->id = atomic_fetch_add(&next_id, 1) + 1;
    if (!rt->id) /* wrapped around */
        rt->id = atomic_fetch_add(&next_id, 1) + 1;
    rt->thread_next = thread_rts;
    thread_rts = rt;
    if (!fut__thread_default)
        fut__thread_default = rt;
    *out = rt;
    return 0;
}

FUT_API int fut_rt_free(fut_rt *rt)
{
    if (!rt)
        return 0;
    /* Inside the runtime (fut_drop's first poll_drop included), or inside
     * any ev_run of its loop (a libev callback of the caller's): freeing
     * now would pull the loop out from under the callback. */
    if (rt->depth > 0 || rt->frame_depth > 0 || (rt->ctx_flags & FUT__CX_PROBE) ||
        !fut__on_thread(rt) || ev_depth(rt->loop) > 0)
        return -EBUSY;
    /* A graceful shutdown: every live task (orphans included) is cancelled
     * and its teardown driven to completion, escalated past the budget.
     * Teardowns may themselves run nested loops. */
    fut_shutdown sd;
    fut_rt_block_on(rt, fut_rt_shutdown(&sd, rt, rt->drop_budget), NULL);
    fut_drop(&sd.base);
    fut__take_remote(rt);
    fut__pool_free(rt);
    fut__uring_free(rt);
    fut__signal_free(rt);
    fut__process_free(rt);
    fut__timer_cancel(rt, &rt->budget);
    fut__timers_free(rt);
    fut__list *pos, *tmp;
    fut__list_each_safe(pos, tmp, &rt->fds)
        fut__fd_close(fut__container_of(pos, fut_fd, open));

    fut__watch_stop(rt, &rt->idle);
    fut__watch_stop(rt, &rt->prepare);
    fut__watch_stop(rt, &rt->async);
    if (rt->owns_loop)
        ev_loop_destroy(rt->loop);

    fut__frames_retire(rt->frames);
    for (fut_rt **p = &thread_rts; *p; p = &(*p)->thread_next) {
        if (*p == rt) {
            *p = rt->thread_next;
            break;
        }
    }
    if (fut__current == rt)
        fut__current = NULL;
    if (fut__thread_default == rt)
        fut__thread_default = NULL;
    fut__free(rt, sizeof *rt);
    return 0;
}

FUT_API struct ev_loop *fut_rt_loop(fut_rt *rt)
{
    return rt ? rt->loop : NULL;
}

FUT_API fut_rt *fut_rt_current(void)
{
    return fut__rt_current();
}

FUT_API double fut_rt_now(fut_rt *rt)
{
    return fut__now(rt);
}

FUT_API int fut_rt_stats(const fut_rt *rt, struct fut_rt_stats *st, size_t size)
{
    if (!rt || !st)
        return -EINVAL;
    struct fut_rt_stats s = rt->st;
    s.nested_depth = rt->frame_depth;
    memcpy(st, &s, size < sizeof s ? size : sizeof s);
    return 0;
}
