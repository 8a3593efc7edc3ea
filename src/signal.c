/* SPDX-License-Identifier: MIT */
/* Signal waits (see <fut/signal.h>): a process-wide registry of installed
 * handlers, one hub per runtime that the handler notifies with
 * ev_async_send(), and the waiters each hub wakes from its loop.
 *
 * Who touches what:
 *   gens[], hubs, in_handler, hub->mask, hub->next   atomics: the handler
 *                                                    reads or bumps them
 *   nwait[], olds[], the hubs list's links            under reg_lock
 *   hub->cnt[], hub->seen[], hub->waiters            the hub's loop thread
 */
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define NSIGS 65 /* signals 1 .. 64: bit n - 1 of a uint64_t */

_Static_assert(NSIG <= NSIGS, "signal numbers must fit a 64-bit set");
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "the handler needs lock-free counters");
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "the handler needs lock-free pointers");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the handler needs lock-free ints");

/* One per runtime that ever waited for a signal; freed by fut_rt_free. */
struct fut__sighub {
    ev_async async; /* sent by the handler */
    struct ev_loop *loop;
    struct fut__sighub *_Atomic next; /* the hubs list */
    _Atomic uint64_t mask;            /* signals some waiter here waits for */
    unsigned cnt[NSIGS];              /* waiters here per signal */
    unsigned long seen[NSIGS];        /* gens[] last dispatched here */
    fut__list waiters;                /* armed fut_signal, by link */
};

/* Deliveries per signal since the process started: the only state the
 * handler writes. */
static atomic_ulong gens[NSIGS];
static struct fut__sighub *_Atomic hubs;
/* Handlers running right now, in any thread: a hub is freed only after
 * it is unlinked and this was seen at 0. */
static atomic_uint in_handler;
/* The process that installed the handlers (a forked child is another). */
static atomic_int owner;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned nwait[NSIGS];        /* hubs waiting per signal */
static struct sigaction olds[NSIGS]; /* the dispositions we replaced */

static uint64_t bit(int sig)
{
    return (uint64_t)1 << (sig - 1);
}

/* The lowest signal in a non-empty set. */
static int first(uint64_t set)
{
    return __builtin_ctzll(set) + 1;
}

/* In a forked child: give the signal to the disposition we replaced, as if
 * we had never installed ours (only async-signal-safe calls). */
static void forward_to_old(int sig, siginfo_t *info, void *uc)
{
    const struct sigaction *old = &olds[sig];
    sigaction(sig, old, NULL);
    if (old->sa_flags & SA_SIGINFO) {
        old->sa_sigaction(sig, info, uc);
    } else if (old->sa_handler == SIG_DFL) {
        /* Blocked while we run: the default action happens on return. */
        (void)raise(sig); /* it cannot fail for a valid signal */
    } else if (old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
    }
}

static void on_signal(int sig, siginfo_t *info, void *uc)
{
    int saved = errno;
    if (fut__unlikely(getpid() != atomic_load(&owner))) {
        forward_to_old(sig, info, uc);
        errno = saved;
        return;
    }
    atomic_fetch_add(&in_handler, 1);
    atomic_fetch_add(&gens[sig], 1);
    for (struct fut__sighub *h = atomic_load(&hubs); h; h = atomic_load(&h->next))
        if (atomic_load(&h->mask) & bit(sig))
            ev_async_send(h->loop, &h->async); /* async-signal-safe, says libev */
    atomic_fetch_sub(&in_handler, 1);
    errno = saved;
}

/* --- the registry (under reg_lock) ------------------------------------------------ */

static int reg_add(int sig)
{
    if (nwait[sig]++ > 0)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    atomic_store(&owner, (int)getpid());
    if (sigaction(sig, &sa, &olds[sig]) == -1) {
        nwait[sig]--;
        return -errno;
    }
    return 0;
}

static void reg_del(int sig)
{
    if (--nwait[sig] == 0)
        sigaction(sig, &olds[sig], NULL);
}

/* --- hubs -------------------------------------------------------------------------- */

/* Marks the waiters whose signals were delivered since the last dispatch
 * and wakes them. Loop thread. */
static void dispatch(struct fut__sighub *h)
{
    uint64_t m = atomic_load(&h->mask), fired = 0;
    for (uint64_t rest = m; rest; rest &= rest - 1) {
        int sig = first(rest);
        unsigned long g = atomic_load(&gens[sig]);
        if (g != h->seen[sig]) {
            h->seen[sig] = g;
            fired |= bit(sig);
        }
    }
    if (!fired)
        return;
    fut__list *pos, *tmp;
    fut__list_each_safe(pos, tmp, &h->waiters) {
        fut_signal *s = fut__container_of(pos, fut_signal, link);
        if (!s->got && (s->set & fired)) {
            s->got = first(s->set & fired);
            if (s->waker)
                fut_waker_wake(s->waker);
        }
    }
}

static void hub_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    dispatch(w->data);
}

static struct fut__sighub *hub_get(fut_rt *rt)
{
    if (rt->sig)
        return rt->sig;
    struct fut__sighub *h = fut__alloc(sizeof *h);
    if (!h)
        return NULL;
    memset(h, 0, sizeof *h);
    h->loop = rt->loop;
    fut__list_init(&h->waiters);
    ev_async_init(&h->async, hub_cb);
    h->async.data = h;
    ev_async_start(rt->loop, &h->async);
    ev_unref(rt->loop); /* waiting tasks keep the loop alive, not the hub */
    pthread_mutex_lock(&reg_lock);
    atomic_store(&h->next, atomic_load(&hubs));
    atomic_store(&hubs, h);
    pthread_mutex_unlock(&reg_lock);
    rt->sig = h;
    return h;
}

/* --- arming ----------------------------------------------------------------------- */

static int arm(fut_signal *s, fut_rt *rt)
{
    struct fut__sighub *h = hub_get(rt);
    if (!h)
        return -ENOMEM;
    uint64_t fresh = 0; /* signals this hub starts waiting for */
    for (uint64_t rest = s->set; rest; rest &= rest - 1)
        if (h->cnt[first(rest)] == 0)
            fresh |= bit(first(rest));
    pthread_mutex_lock(&reg_lock);
    for (uint64_t rest = fresh; rest; rest &= rest - 1) {
        int err = reg_add(first(rest));
        if (err) {
            for (uint64_t done = fresh & ~rest; done; done &= done - 1)
                reg_del(first(done));
            pthread_mutex_unlock(&reg_lock);
            return err;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    /* Deliver what arrived so far to the waiters already here, so that
     * the counts this one starts from are not someone else's news. */
    dispatch(h);
    for (uint64_t rest = s->set; rest; rest &= rest - 1) {
        int sig = first(rest);
        if (h->cnt[sig]++ == 0) {
            /* The mask first: a delivery counted after the load below
             * finds the bit and notifies this hub. */
            atomic_fetch_or(&h->mask, bit(sig));
            h->seen[sig] = atomic_load(&gens[sig]);
        }
    }
    fut__list_add_tail(&h->waiters, &s->link);
    s->rt = rt;
    s->armed = 1;
    return 0;
}

static void disarm(fut_signal *s)
{
    if (s->armed) {
        struct fut__sighub *h = s->rt->sig;
        fut__list_del(&s->link);
        uint64_t gone = 0;
        for (uint64_t rest = s->set; rest; rest &= rest - 1) {
            int sig = first(rest);
            if (--h->cnt[sig] == 0) {
                atomic_fetch_and(&h->mask, ~bit(sig));
                gone |= bit(sig);
            }
        }
        if (gone) {
            pthread_mutex_lock(&reg_lock);
            for (; gone; gone &= gone - 1)
                reg_del(first(gone));
            pthread_mutex_unlock(&reg_lock);
        }
        s->armed = 0;
    }
    fut_waker_drop(s->waker);
    s->waker = NULL;
}

/* fut_rt_free: waiters still armed (polled outside a task and never
 * dropped, a bug of the caller) are disarmed; then the hub goes. */
void fut__signal_free(fut_rt *rt)
{
    struct fut__sighub *h = rt->sig;
    if (!h)
        return;
    fut__list *pos, *tmp;
    fut__list_each_safe(pos, tmp, &h->waiters)
        disarm(fut__container_of(pos, fut_signal, link));
    pthread_mutex_lock(&reg_lock);
    struct fut__sighub *_Atomic *pp = &hubs;
    while (atomic_load(pp) != h)
        pp = &atomic_load(pp)->next;
    atomic_store(pp, atomic_load(&h->next));
    pthread_mutex_unlock(&reg_lock);
    /* A handler that found h before the unlink may still be about to
     * send to it. Handlers never block, so this ends. */
    while (atomic_load(&in_handler) != 0)
        sched_yield();
    ev_ref(rt->loop);
    ev_async_stop(rt->loop, &h->async);
    rt->sig = NULL;
    fut__free(h, sizeof *h);
}

/* --- the future ------------------------------------------------------------------- */

static fut_status signal_poll(fut *self, fut_cx *cx)
{
    fut_signal *s = (fut_signal *)self;
    if (s->got) {
        int sig = s->got;
        disarm(s);
        return fut_ready(self, sig);
    }
    if (s->err)
        return fut_ready(self, s->err);
    if (fut_cx_cancelled(cx)) {
        disarm(s);
        return fut_ready(self, -ECANCELED);
    }
    if (!s->armed) {
        int err = arm(s, fut_cx_rt(cx));
        if (err)
            return fut_ready(self, err);
    }
    fut__keep_waker(&s->waker, cx);
    return FUT_PENDING;
}

static void signal_drop(fut *self)
{
    disarm((fut_signal *)self);
}

static const struct fut_vtable signal_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_signal",
    .poll = signal_poll,
    .drop = signal_drop,
};

/* Signals whose handler must not return normally or cannot be caught, and
 * those the C library keeps for itself (glibc: 32 and 33, below SIGRTMIN). */
static int refused(int sig)
{
    switch (sig) {
    case SIGKILL:
    case SIGSTOP:
    case SIGSEGV:
    case SIGBUS:
    case SIGFPE:
    case SIGILL:
        return 1;
    default:
        return sig > 31 && sig < SIGRTMIN;
    }
}

FUT_API fut *fut_signal_init(fut_signal *s, const sigset_t *set)
{
    fut_init(&s->base, &signal_vt);
    s->set = 0;
    s->err = 0;
    s->got = 0;
    s->armed = 0;
    s->rt = NULL;
    s->waker = NULL;
    fut__list_init(&s->link);
    if (!set) {
        s->err = -EINVAL;
        return &s->base;
    }
    for (int sig = 1; sig < NSIG; sig++) {
        if (sigismember(set, sig) != 1)
            continue;
        if (refused(sig)) {
            s->err = -EINVAL;
            return &s->base;
        }
        s->set |= bit(sig);
    }
    if (!s->set)
        s->err = -EINVAL;
    return &s->base;
}

FUT_API fut *fut_signal_ctrl_c_init(fut_signal *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return fut_signal_init(s, &set);
}
