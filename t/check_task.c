/* SPDX-License-Identifier: MIT */
/* Tasks and join handles (DESIGN §4): spawn, join, detach, cancel. */
#include "helpers.h"

#include <stdint.h>

#include <errno.h>
#include <string.h>

/* READY at once with its value; logs its id when polled. */
struct val {
    fut base;
    int v;
    char *log;
    int *pos;
};

static fut_status val_poll(fut *self, fut_cx *cx)
{
    struct val *v = (struct val *)self;
    (void)cx;
    if (v->log)
        v->log[(*v->pos)++] = (char)('0' + v->v);
    return fut_ready(self, v->v);
}

static const struct fut_vtable val_vt = {sizeof(struct fut_vtable), "val", val_poll, NULL, NULL};

static void val_init(struct val *v, int x, char *log, int *pos)
{
    fut_init(&v->base, &val_vt);
    v->v = x;
    v->log = log;
    v->pos = pos;
}

START_TEST(spawn_join_returns_output)
{
    struct val v;
    val_init(&v, 7, NULL, NULL);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &v, &j), 0);
    ck_assert(!fut_join_finished(&j));
    ssize_t out = 0;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, &out), 0);
    ck_assert_int_eq(out, 7);
    ck_assert(fut_join_finished(&j));
    ck_assert_int_eq(fut_drop(&j.base), 0);
    struct fut_rt_stats st;
    ck_assert_int_eq(fut_rt_stats(th_rt, &st, sizeof st), 0);
    ck_assert_uint_eq(st.tasks_spawned, 1);
    ck_assert_uint_eq(st.tasks_alive, 0);
    ck_assert_uint_ge(st.polls, 1);
}
END_TEST

START_TEST(spawn_bad_input)
{
    struct val v;
    val_init(&v, 1, NULL, NULL);
    fut_join j;
    ck_assert_int_eq(fut_rt_spawn(NULL, &v.base, sizeof v, &j), -EINVAL);
    ck_assert_int_eq(fut_rt_spawn(th_rt, NULL, sizeof v, &j), -EINVAL);
    ck_assert_int_eq(fut_rt_spawn(th_rt, &v.base, sizeof(fut) - 1, &j), -EINVAL);
    ck_assert_int_eq(fut_join_cancel(NULL), -EINVAL);
    ck_assert_int_eq(fut_join_finished(NULL), 0);
    ck_assert_int_eq(fut_rt_stats(NULL, NULL, 0), -EINVAL);
    struct fut_rt_stats st;
    ck_assert_int_eq(fut_rt_stats(NULL, &st, sizeof st), -EINVAL);
    ck_assert_int_eq(fut_rt_stats(th_rt, NULL, sizeof st), -EINVAL);
#if SIZE_MAX > UINT32_MAX
    ck_assert_int_eq(fut_rt_spawn(th_rt, &v.base, (size_t)UINT32_MAX + 1, &j), -EINVAL);
#endif
}
END_TEST

START_TEST(tasks_run_in_spawn_order)
{
    char log[8] = {0};
    int pos = 0;
    /* FIFO is the documented order with seeding off (fut_rt_set_seed in
     * <fut/rt.h>), which is what this pins: FUT_SEED may be set. */
    ck_assert_int_eq(fut_rt_set_seed(th_rt, 0), 0);
    struct val v[5];
    fut_join j[5];
    for (int i = 0; i < 5; i++) {
        val_init(&v[i], i, log, &pos);
        ck_assert_int_eq(FUT_SPAWN(th_rt, &v[i], &j[i]), 0);
    }
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(fut_rt_block_on(th_rt, &j[i].base, NULL), 0);
        fut_drop(&j[i].base);
    }
    ck_assert_str_eq(log, "01234");
}
END_TEST

START_TEST(detached_task_runs)
{
    int ticks = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.001, 3, &ticks);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &tk, NULL), 0);
    /* nobody joins it; the loop runs it while plain code sleeps on the
     * runtime (up to 2 s: valgrind on a loaded machine is slow) */
    for (int i = 0; i < 200 && ticks < 3; i++) {
        fut_sleep s;
        ck_assert_int_eq(fut_rt_block_on(th_rt, fut_sleep_init(&s, 0.01), NULL), 0);
        fut_drop(&s.base);
    }
    ck_assert_int_eq(ticks, 3);
    struct fut_rt_stats st;
    fut_rt_stats(th_rt, &st, sizeof st);
    ck_assert_uint_eq(st.tasks_alive, 0);
}
END_TEST

START_TEST(dropping_join_detaches)
{
    int ticks = 0;
    struct th_ticker tk;
    th_ticker_init(&tk, 0.001, 3, &ticks);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &tk, &j), 0);
    fut_yield y;
    ck_assert_int_eq(fut_rt_block_on(th_rt, fut_yield_init(&y), NULL), 0); /* polled, waiting */
    fut_drop(&y.base);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    fut_sleep s;
    ck_assert_int_eq(fut_rt_block_on(th_rt, fut_sleep_init(&s, 0.05), NULL), 0);
    fut_drop(&s.base);
    ck_assert_int_eq(ticks, 3); /* it kept running */
}
END_TEST

START_TEST(cancel_after_completion_keeps_result)
{
    struct val v;
    val_init(&v, 4, NULL, NULL);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &v, &j), 0);
    fut_yield y;
    ck_assert_int_eq(fut_rt_block_on(th_rt, fut_yield_init(&y), NULL), 0);
    fut_drop(&y.base);
    ck_assert(fut_join_finished(&j));
    ck_assert_int_eq(fut_join_cancel(&j), 0);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, &out), 0);
    ck_assert_int_eq(out, 4);
    fut_drop(&j.base);
}
END_TEST

/* A join handle polled by another task: the waiting task is woken when
 * the joined one finishes. */
struct joiner {
    fut base;
    fut_join *j;
};

static fut_status joiner_poll(fut *self, fut_cx *cx)
{
    struct joiner *jr = (struct joiner *)self;
    if (fut_poll(&jr->j->base, cx) == FUT_PENDING)
        return FUT_PENDING;
    return fut_ready(self, jr->j->base.out + 100);
}

static void joiner_drop(fut *self)
{
    fut_drop(&((struct joiner *)self)->j->base);
}

static const struct fut_vtable joiner_vt = {sizeof(struct fut_vtable), "joiner", joiner_poll, NULL,
                                            joiner_drop};

START_TEST(join_from_another_task)
{
    struct th_slow s;
    th_slow_init(&s, 0.01, 5, 0, 0, NULL, NULL, NULL);
    fut_join inner, outer;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &s, &inner), 0);
    struct joiner jr = {.j = &inner};
    fut_init(&jr.base, &joiner_vt);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &jr, &outer), 0);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &outer.base, &out), 0);
    ck_assert_int_eq(out, 105);
    fut_drop(&outer.base);
}
END_TEST

/* A task that spawns tasks. */
struct spawner {
    fut base;
    int n;
    fut_join j[4];
    int done[4];
    int spawned;
    struct val v[4];
};

static fut_status spawner_poll(fut *self, fut_cx *cx)
{
    struct spawner *sp = (struct spawner *)self;
    if (!sp->spawned) {
        for (int i = 0; i < sp->n; i++) {
            val_init(&sp->v[i], i + 1, NULL, NULL);
            ck_assert_int_eq(FUT_SPAWN(fut_cx_rt(cx), &sp->v[i], &sp->j[i]), 0);
        }
        sp->spawned = 1;
    }
    ssize_t sum = 0;
    int pending = 0;
    for (int i = 0; i < sp->n; i++) {
        if (!sp->done[i] && fut_poll(&sp->j[i].base, cx) == FUT_READY)
            sp->done[i] = 1;
        if (sp->done[i])
            sum += fut_out(&sp->j[i].base);
        else
            pending = 1;
    }
    return pending ? FUT_PENDING : fut_ready(self, sum);
}

static void spawner_drop(fut *self)
{
    struct spawner *sp = (struct spawner *)self;
    if (sp->spawned)
        for (int i = 0; i < sp->n; i++)
            fut_drop(&sp->j[i].base);
}

static const struct fut_vtable spawner_vt = {sizeof(struct fut_vtable), "spawner", spawner_poll,
                                             NULL, spawner_drop};

START_TEST(task_spawns_tasks)
{
    struct spawner sp = {.n = 4};
    fut_init(&sp.base, &spawner_vt);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &sp, &j), 0);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, &out), 0);
    ck_assert_int_eq(out, 10);
    fut_drop(&j.base);
    struct fut_rt_stats st;
    fut_rt_stats(th_rt, &st, sizeof st);
    ck_assert_uint_eq(st.tasks_spawned, 5);
    ck_assert_uint_eq(st.tasks_alive, 0);
}
END_TEST

/* Stats accept a shorter struct from an older caller. */
START_TEST(stats_short_struct)
{
    struct val v;
    val_init(&v, 1, NULL, NULL);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &v, NULL), 0);
    uint64_t first[2] = {99, 99};
    ck_assert_int_eq(fut_rt_stats(th_rt, (struct fut_rt_stats *)(void *)first, sizeof first[0]), 0);
    ck_assert_uint_eq(first[0], 1);  /* tasks_spawned */
    ck_assert_uint_eq(first[1], 99); /* untouched */
}
END_TEST

/* READY with 5; its teardown is PENDING once (it wakes itself), then
 * overwrites its own output, as a poll_drop written with fut_ready() does.
 * The task's output is what its poll returned, whatever the teardown does. */
struct scribbler {
    fut base;
    int step;
};

static fut_status scribbler_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    return fut_ready(self, 5);
}

static fut_status scribbler_poll_drop(fut *self, fut_cx *cx)
{
    struct scribbler *s = (struct scribbler *)self;
    if (s->step++ == 0) {
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    return fut_ready(self, 99);
}

static const struct fut_vtable scribbler_vt = {sizeof(struct fut_vtable), "scribbler",
                                               scribbler_poll, scribbler_poll_drop, NULL};

START_TEST(teardown_does_not_change_the_output)
{
    for (int cancel = 0; cancel < 2; cancel++) {
        struct scribbler s = {.step = 0};
        fut_init(&s.base, &scribbler_vt);
        fut_join j;
        ck_assert_int_eq(FUT_SPAWN(th_rt, &s, &j), 0);
        if (cancel) /* before its first poll: it never runs, its output is -ECANCELED */
            ck_assert_int_eq(fut_join_cancel(&j), 0);
        ssize_t out = 0;
        ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, &out), 0);
        ck_assert_int_eq(out, cancel ? -ECANCELED : 5);
        ck_assert_int_eq(fut_drop(&j.base), 0);
    }
}
END_TEST

/* A task's end runs what its vtable has, and only that: slots past the
 * vtable's size are not there, even when the memory after it holds
 * functions (a future compiled against an older, shorter vtable). */
static fut_status must_not_poll_drop(fut *self, fut_cx *cx)
{
    (void)self;
    (void)cx;
    ck_abort_msg("a slot past the vtable's size was called: poll_drop");
    return FUT_READY;
}

static int short_drops;
static void counted_drop(fut *self)
{
    (void)self;
    short_drops++;
}

static void must_not_drop(fut *self)
{
    (void)self;
    ck_abort_msg("a slot past the vtable's size was called: drop");
}

static const struct fut_vtable no_teardown_vt = {offsetof(struct fut_vtable, poll_drop), "short",
                                                 val_poll, must_not_poll_drop, must_not_drop};
static const struct fut_vtable drop_only_vt = {sizeof(struct fut_vtable), "drop only", val_poll,
                                               NULL, counted_drop};
static const struct fut_vtable short_drop_vt = {offsetof(struct fut_vtable, drop), "short drop",
                                                val_poll, NULL, must_not_drop};

START_TEST(task_end_runs_only_the_slots_its_vtable_has)
{
    const struct fut_vtable *vts[] = {&no_teardown_vt, &drop_only_vt, &short_drop_vt};
    for (int cancel = 0; cancel < 2; cancel++) {
        for (size_t i = 0; i < sizeof vts / sizeof vts[0]; i++) {
            short_drops = 0;
            struct val v;
            val_init(&v, 4, NULL, NULL);
            v.base.vt = vts[i];
            fut_join j;
            ck_assert_int_eq(FUT_SPAWN(th_rt, &v, &j), 0);
            if (cancel)
                ck_assert_int_eq(fut_join_cancel(&j), 0);
            ssize_t out = 0;
            ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, &out), 0);
            ck_assert_int_eq(out, cancel ? -ECANCELED : 4);
            ck_assert(fut_join_finished(&j));
            ck_assert_int_eq(short_drops, vts[i] == &drop_only_vt);
            struct fut_rt_stats st = th_stats(th_rt);
            ck_assert_uint_eq(st.tasks_alive, 0);
            ck_assert_uint_eq(st.tasks_tearing_down, 0);
            ck_assert_int_eq(fut_drop(&j.base), 0);
        }
    }
}
END_TEST

/* A sync drop runs with its task tearing down, not finished yet, and
 * what it writes to the output is not the task's result. */
struct drop_seen {
    fut_join *j;
    fut_rt *rt;
    int drops;
    uint64_t tearing_down; /* tasks_tearing_down, seen by the drop */
    int finished;          /* fut_join_finished(), seen by the drop */
};

struct watched {
    fut base;
    struct drop_seen *seen;
};

static fut_status watched_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    return fut_ready(self, 6);
}

static void watched_drop(fut *self)
{
    struct drop_seen *d = ((struct watched *)self)->seen;
    d->drops++;
    d->tearing_down = th_stats(d->rt).tasks_tearing_down;
    d->finished = fut_join_finished(d->j);
    self->out = -EIO;
}

static const struct fut_vtable watched_vt = {sizeof(struct fut_vtable), "watched", watched_poll,
                                             NULL, watched_drop};

START_TEST(sync_drop_sees_its_task_tearing_down)
{
    fut_join j;
    struct drop_seen d = {.j = &j, .rt = th_rt, .finished = -1};
    struct watched w = {.seen = &d};
    fut_init(&w.base, &watched_vt);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &w, &j), 0);
    ssize_t out = 0;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, &out), 0);
    ck_assert_int_eq(out, 6);
    ck_assert_int_eq(d.drops, 1);
    ck_assert_uint_eq(d.tearing_down, 1);
    ck_assert_int_eq(d.finished, 0);
    ck_assert(fut_join_finished(&j));
    ck_assert_uint_eq(th_stats(th_rt).tasks_tearing_down, 0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
}
END_TEST

/* What an idle task costs: the header and the future, one allocation.
 * A future of sizeof(fut) (24 bytes on LP64) makes a 96-byte task there
 * (issue 13's budget); a task in a scope carries the scope's links too. */
struct idle {
    fut base;
};

static fut_status idle_poll(fut *self, fut_cx *cx)
{
    (void)self;
    (void)fut_cx_waker(cx); /* pending until cancelled */
    return FUT_PENDING;
}

static const struct fut_vtable idle_vt = {sizeof(struct fut_vtable), "idle", idle_poll, NULL, NULL};

START_TEST(idle_task_allocation)
{
    long before = th_alloc.live_bytes;
    struct idle i;
    fut_init(&i.base, &idle_vt);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &i, &j), 0);
    long bytes = th_alloc.live_bytes - before;
    if (sizeof(void *) == 8)
        ck_assert_int_eq(bytes, 96);
    ck_assert_int_le(bytes, (long)(4 * sizeof(void *) + 9 * 8 + sizeof i));
    fut_scope sc;
    fut_scope_init(&sc, th_rt, 0);
    fut_join k;
    before = th_alloc.live_bytes;
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &i, &k), 0);
    long scoped = th_alloc.live_bytes - before;
    ck_assert_int_gt(scoped, bytes);
    ck_assert_int_eq(fut_join_cancel(&j), 0);
    fut_scope_cancel(&sc);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, NULL), 0);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &sc.base, NULL), 0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(fut_drop(&k.base), 0);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

/* A join polled under a cancelled context while its task runs:
 * -ECANCELED, the task itself unaffected (a fresh join handle is not
 * given, so the test cancels it through the first). */
START_TEST(join_under_a_cancelled_context)
{
    struct th_ticker t;
    int count = 0;
    th_ticker_init(&t, 0.01, 3, &count);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &t, &j), 0);
    ck_assert_int_eq(th_run_cancelled(th_rt, &j.base, 0), -ECANCELED);
    ck_assert_int_eq(fut_join_finished(&j), 0);
    fut_drop(&j.base); /* detaches: the ticker runs to its end */
    fut_sleep s;
    th_block(th_rt, fut_sleep_init(&s, 0.1));
    fut_drop(&s.base);
    ck_assert_int_eq(count, 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("task");
    TCase *tc = tcase_create("task");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_add_test(tc, spawn_join_returns_output);
    tcase_add_test(tc, join_under_a_cancelled_context);
    tcase_add_test(tc, spawn_bad_input);
    tcase_add_test(tc, tasks_run_in_spawn_order);
    tcase_add_test(tc, detached_task_runs);
    tcase_add_test(tc, dropping_join_detaches);
    tcase_add_test(tc, cancel_after_completion_keeps_result);
    tcase_add_test(tc, join_from_another_task);
    tcase_add_test(tc, task_spawns_tasks);
    tcase_add_test(tc, stats_short_struct);
    tcase_add_test(tc, teardown_does_not_change_the_output);
    tcase_add_test(tc, idle_task_allocation);
    tcase_add_test(tc, task_end_runs_only_the_slots_its_vtable_has);
    tcase_add_test(tc, sync_drop_sees_its_task_tearing_down);
    suite_add_tcase(s, tc);
    return th_run(s);
}
