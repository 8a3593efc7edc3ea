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
 */
#include <ev.h>

#include "bench.h"

#define MODES "sync pd_ready pd_pending task_pd_ready task_pd_pending"

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

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);

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
