/* SPDX-License-Identifier: MIT */
/* B7, raw libev twin of b_drop.c: the floor of each drop path.
 *
 * Modes:
 *   sync, pd_ready   an object with a destructor in an ops table, released
 *                    by a (non-inlined) function that calls the slot: the
 *                    floor of any teardown that completes at once is one
 *                    indirect call. Both modes run the same code.
 *   pd_pending       a teardown that must come back once through the loop:
 *                    the first step runs directly and feeds an event to
 *                    the object's own (unstarted) ev_idle watcher, then
 *                    ev_invoke_pending() runs the second step. libfut's
 *                    nested loop does not poll the backend either when the
 *                    frame was woken from the same thread, so neither does
 *                    this.
 *   task_pd_ready    b_spawn_ev's units (malloc'd ev_idle, started, one
 *                    callback, stop, free) whose callback also calls the
 *                    destructor through its ops table.
 *   task_pd_pending  the same, but the teardown needs a second turn: the
 *                    first callback feeds the unit's own watcher again
 *                    (invoked in the same pass), the second finishes.
 *   timer            N malloc'd units, each an ev_timer of 1e9 s, started
 *                    before the clock starts; a cancel stops the timer,
 *                    stores -ECANCELED in the unit's result slot (what the
 *                    join handle would give) and frees the unit. In
 *                    callback style cancelling is synchronous: there is no
 *                    task to come back to.
 *   io               the same with an ev_io on the unit's own descriptor
 *                    (dup'd from one pipe nobody writes), registered with
 *                    epoll before the clock starts.
 *   join             a victim unit (pending forever: it holds nothing) and
 *                    a joiner unit (an unstarted ev_idle) waiting for the
 *                    victim's result. A cancel frees the victim and feeds
 *                    the joiner's watcher with the result; the joiner's
 *                    callback checks -ECANCELED, stores it in its result
 *                    slot and frees itself: one fed callback per cancel,
 *                    the joiner being woken.
 */
#include <errno.h>

#include <ev.h>

#include "bench.h"

#define MODES "sync pd_ready pd_pending task_pd_ready task_pd_pending timer io join scope_cancel"

static long released;

/* --- sync, pd_ready ------------------------------------------------------ */

struct obj;
struct ops {
    void (*drop)(struct obj *);
};
struct obj {
    const struct ops *ops;
    int step;
};

static void obj_release(struct obj *o)
{
    (void)o;
    released++;
}

static const struct ops obj_ops = {obj_release};

static BENCH_NOINLINE void obj_drop(struct obj *o)
{
    if (o->ops->drop)
        o->ops->drop(o);
}

static BENCH_NOINLINE void sync_drops(long n)
{
    for (long i = 0; i < n; i++) {
        struct obj o = {&obj_ops, 0};
        BENCH_KEEP(&o);
        obj_drop(&o);
    }
}

/* --- pd_pending ------------------------------------------------------------- */

struct pobj {
    ev_idle w; /* never started: only fed */
    int step;
};

static void pobj_step(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    struct pobj *o = (struct pobj *)w;
    if (!o->step) {
        o->step = 1;
        ev_feed_event(loop, w, EV_CUSTOM);
        return;
    }
    o->step = 2;
    released++;
}

static BENCH_NOINLINE void pending_drops(struct ev_loop *loop, long n)
{
    for (long i = 0; i < n; i++) {
        struct pobj o;
        ev_idle_init(&o.w, pobj_step);
        o.step = 0;
        pobj_step(loop, &o.w, 0);
        if (o.step != 2)
            ev_invoke_pending(loop);
        BENCH_CHECK(o.step == 2);
    }
}

/* --- task modes ------------------------------------------------------------- */

struct unit {
    ev_idle w;
    struct obj o;
    long *result;
};

static void unit_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    struct unit *u = (struct unit *)w;
    *u->result = 7;
    if (u->o.step == 1) {
        /* Teardown needs a second turn. */
        u->o.step = 2;
        ev_feed_event(loop, w, EV_CUSTOM);
        return;
    }
    obj_drop(&u->o);
    ev_idle_stop(loop, w);
    free(u);
}

static void task_drops(struct ev_loop *loop, long n, int pending)
{
    long *res = calloc((size_t)n, sizeof *res);
    BENCH_CHECK(res);
    for (long i = 0; i < n; i++) {
        struct unit *u = malloc(sizeof *u);
        BENCH_CHECK(u);
        ev_idle_init(&u->w, unit_cb);
        u->o.ops = &obj_ops;
        u->o.step = pending;
        u->result = &res[i];
        ev_idle_start(loop, &u->w);
    }
    ev_run(loop, 0);
    for (long i = 0; i < n; i++)
        BENCH_CHECK(res[i] == 7);
    free(res);
}

/* --- cancellation ---------------------------------------------------------------- */

struct tunit {
    ev_timer w;
    long *result;
};

struct iounit {
    ev_io w;
    long *result;
};

struct victim {
    struct joiner *joiner;
};

struct joiner {
    ev_idle w; /* never started: fed with the victim's result */
    long got;
    long *result;
};

static void never_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    abort();
}

static void never_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    abort();
}

static void joiner_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)loop;
    (void)revents;
    struct joiner *j = (struct joiner *)w;
    if (j->got == -ECANCELED)
        released++;
    *j->result = j->got;
    free(j);
}

static BENCH_NOINLINE void cancel_victim(struct ev_loop *loop, struct victim *v)
{
    struct joiner *j = v->joiner;
    free(v);
    released++;
    j->got = -ECANCELED;
    ev_feed_event(loop, &j->w, EV_CUSTOM);
}

static double cancels(struct ev_loop *loop, long n, const char *mode)
{
    long *res = calloc((size_t)n, sizeof *res);
    void **units = calloc((size_t)n, sizeof *units);
    int p[2] = {-1, -1};
    int *fds = NULL;
    BENCH_CHECK(res && units);
    int timer = strcmp(mode, "timer") == 0, io = strcmp(mode, "io") == 0;
    if (io) {
        bench_need_fds(n + 2);
        BENCH_CHECK(pipe(p) == 0);
        fds = calloc((size_t)n, sizeof *fds);
        BENCH_CHECK(fds);
    }
    for (long i = 0; i < n; i++) {
        if (timer) {
            struct tunit *u = malloc(sizeof *u);
            BENCH_CHECK(u);
            ev_timer_init(&u->w, never_timer_cb, 1e9, 0.);
            u->result = &res[i];
            ev_timer_start(loop, &u->w);
            units[i] = u;
        } else if (io) {
            struct iounit *u = malloc(sizeof *u);
            BENCH_CHECK(u);
            fds[i] = dup(p[0]);
            BENCH_CHECK(fds[i] >= 0);
            ev_io_init(&u->w, never_io_cb, fds[i], EV_READ);
            u->result = &res[i];
            ev_io_start(loop, &u->w);
            units[i] = u;
        } else {
            struct victim *v = malloc(sizeof *v);
            struct joiner *j = malloc(sizeof *j);
            BENCH_CHECK(v && j);
            ev_idle_init(&j->w, joiner_cb);
            j->got = 0;
            j->result = &res[i];
            v->joiner = j;
            units[i] = v;
        }
    }
    /* Registers the fds with epoll (libev does it at the next iteration). */
    ev_run(loop, EVRUN_NOWAIT);

    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        if (timer) {
            struct tunit *u = units[i];
            ev_timer_stop(loop, &u->w);
            *u->result = -ECANCELED;
            free(u);
        } else if (io) {
            struct iounit *u = units[i];
            ev_io_stop(loop, &u->w);
            *u->result = -ECANCELED;
            free(u);
        } else {
            cancel_victim(loop, units[i]);
        }
    }
    ev_invoke_pending(loop);
    double t1 = bench_now();

    for (long i = 0; i < n; i++)
        BENCH_CHECK(res[i] == -ECANCELED);
    if (fds) {
        for (long i = 0; i < n; i++)
            close(fds[i]);
        close(p[0]);
        close(p[1]);
        free(fds);
    }
    free(units);
    free(res);
    return t1 - t0;
}

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    /* libfut's scopes: libev has no group of watchers to cancel. */
    if (bench_mode_is(&a, "scope_cancel"))
        bench_unsupported(&a);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    if (bench_mode_is(&a, "timer") || bench_mode_is(&a, "io") || bench_mode_is(&a, "join")) {
        double secs = cancels(loop, a.n, a.mode);
        BENCH_CHECK(released == (bench_mode_is(&a, "join") ? 2 * a.n : 0));
        bench_report(&a, secs);
        ev_loop_destroy(loop);
        return 0;
    }

    double t0 = bench_now();
    if (bench_mode_is(&a, "sync") || bench_mode_is(&a, "pd_ready"))
        sync_drops(a.n);
    else if (bench_mode_is(&a, "pd_pending"))
        pending_drops(loop, a.n);
    else if (bench_mode_is(&a, "task_pd_ready"))
        task_drops(loop, a.n, 0);
    else if (bench_mode_is(&a, "task_pd_pending"))
        task_drops(loop, a.n, 1);
    else
        bench_usage(a.prog, MODES);
    double t1 = bench_now();

    BENCH_CHECK(released == a.n);
    bench_report(&a, t1 - t0);
    ev_loop_destroy(loop);
    return 0;
}
