/* SPDX-License-Identifier: MIT */
/* The allocation hook: every allocation goes through it, sizes match on
 * free, and a failure at any allocation returns -ENOMEM and leaves
 * everything consistent. */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>

static void *malloc_like(void *ud, size_t size)
{
    (void)ud;
    return malloc(size);
}

static void free_like(void *ud, void *p, size_t size)
{
    (void)ud;
    (void)size;
    free(p);
}

START_TEST(set_allocator_rules)
{
    struct fut_allocator bad = {NULL, NULL, NULL};
    ck_assert_int_eq(fut_set_allocator(&bad), -EINVAL);
    bad.alloc = malloc_like; /* one without the other: refused too */
    ck_assert_int_eq(fut_set_allocator(&bad), -EINVAL);
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    ck_assert_int_gt(th_alloc.live, 0);
    /* Memory is outstanding: switching now would free it with the wrong
     * allocator. */
    ck_assert_int_eq(fut_set_allocator(NULL), -EBUSY);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(th_alloc.live, 0);
    ck_assert_int_eq(th_alloc.live_bytes, 0); /* free saw the sizes alloc was asked */
}
END_TEST

/* The default allocator (malloc and free, called directly) counts its
 * blocks too: a task's block it allocated keeps another allocator from
 * being installed until it is freed; with a custom allocator installed,
 * a task's block is allocated and freed through it, with its size. */
static fut_rt *run_one_task(fut_join *j)
{
    fut_rt *rt;
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    struct th_slow s;
    int dropped = 0;
    th_slow_init(&s, 0, 3, 1, 0, NULL, NULL, &dropped);
    ck_assert_int_eq(FUT_SPAWN(rt, &s, j), 0);
    ssize_t out = 0;
    ck_assert_int_eq(fut_rt_block_on(rt, &j->base, &out), 0);
    ck_assert_int_eq(out, 3);
    ck_assert_int_eq(dropped, 1);
    return rt;
}

START_TEST(default_and_custom_allocators_both_count)
{
    static const struct fut_allocator other = {malloc_like, free_like, NULL};
    th_alloc_uninstall(); /* the default allocator from here */
    fut_join j;
    ck_assert_int_eq(fut_rt_free(run_one_task(&j)), 0);
    /* Only the task's block is left, held by its join handle (which may
     * outlive the runtime). */
    ck_assert_int_eq(fut_set_allocator(&other), -EBUSY);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(fut_set_allocator(&other), 0);
    ck_assert_int_eq(fut_set_allocator(NULL), 0);

    th_alloc_install();
    long total = th_alloc.total;
    fut_rt *rt = run_one_task(&j);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(th_alloc.live, 1); /* the task's block, from the counting allocator */
    ck_assert_int_gt(th_alloc.total, total + 1);
    ck_assert_int_eq(fut_set_allocator(NULL), -EBUSY);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert_int_eq(th_alloc.live, 0);       /* freed through it */
    ck_assert_int_eq(th_alloc.live_bytes, 0); /* with the size it was asked */
}
END_TEST

/* A scenario touching every allocating call; returns 0 or the first
 * -ENOMEM, cleaning up whatever it built. */
static int scenario(void)
{
    fut_rt *rt;
    int err = fut_rt_new(&rt, NULL);
    if (err)
        return err;
    err = fut_rt_set_max_depth(rt, 8);
    int dropped = 0;
    struct th_slow s[3];
    fut_join j[3];
    int spawned = 0;
    for (int i = 0; i < 3 && !err; i++) {
        th_slow_init(&s[i], 0.001, i, 1, 0, NULL, NULL, &dropped);
        err = FUT_SPAWN(rt, &s[i], &j[i]);
        if (!err)
            spawned++;
    }
    for (int i = 0; i < spawned; i++) {
        ssize_t out;
        ck_assert_int_eq(fut_rt_block_on(rt, &j[i].base, &out), 0);
        ck_assert_int_eq(out, i);
        fut_drop(&j[i].base);
    }
    ck_assert_int_eq(dropped, spawned);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    return err;
}

START_TEST(every_allocation_failing_in_turn)
{
    ck_assert_int_eq(scenario(), 0);
    long n = th_alloc.total;
    ck_assert_int_ge(n, 5); /* rt, frames, frames again, 3 tasks */
    for (long k = 1; k <= n; k++) {
        th_alloc.total = 0;
        th_alloc.fail_at = k;
        th_alloc.failed = 0;
        int err = scenario();
        ck_assert_int_eq(th_alloc.failed, 1);
        ck_assert_msg(err == -ENOMEM, "allocation %ld failing gave %d", k, err);
        ck_assert_msg(th_alloc.live == 0, "allocation %ld failing leaked %ld blocks", k,
                      th_alloc.live);
    }
    th_alloc.fail_at = 0;
}
END_TEST

/* A failed spawn leaves the future with the caller, and the runtime works. */
START_TEST(failed_spawn_is_clean)
{
    fut_rt *rt = th_rt;
    th_alloc.fail_at = th_alloc.total + 1;
    int dropped = 0;
    struct th_slow s;
    th_slow_init(&s, 0.001, 3, 1, 0, NULL, NULL, &dropped);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(rt, &s, &j), -ENOMEM);
    th_alloc.fail_at = 0;
    struct fut_rt_stats st;
    fut_rt_stats(rt, &st, sizeof st);
    ck_assert_uint_eq(st.tasks_alive, 0);
    ck_assert_uint_eq(st.tasks_spawned, 0);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(rt, &s.base, &out), 0); /* still the caller's */
    ck_assert_int_eq(out, 3);
    fut_drop(&s.base);
    ck_assert_int_eq(dropped, 1);
}
END_TEST

/* A failed depth change keeps the old limit. */
START_TEST(failed_depth_change_keeps_limit)
{
    fut_rt *rt = th_rt;
    ck_assert_int_eq(fut_rt_set_max_depth(rt, 2), 0);
    th_alloc.fail_at = th_alloc.total + 1;
    ck_assert_int_eq(fut_rt_set_max_depth(rt, 10), -ENOMEM);
    th_alloc.fail_at = 0;
    fut_sleep s;
    ck_assert_int_eq(fut_rt_block_on(rt, fut_sleep_init(&s, 0.001), NULL), 0);
    fut_drop(&s.base);
}
END_TEST

/* Steady state allocates nothing: joining, sleeping and dropping after the
 * spawns. */
START_TEST(no_allocation_after_spawn)
{
    fut_rt *rt = th_rt;
    int ticks = 0;
    struct th_ticker tk[4];
    fut_join j[4];
    for (int i = 0; i < 4; i++) {
        th_ticker_init(&tk[i], 0.001, 5, &ticks);
        ck_assert_int_eq(FUT_SPAWN(rt, &tk[i], &j[i]), 0);
    }
    long before = th_alloc.total;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(fut_rt_block_on(rt, &j[i].base, NULL), 0);
        fut_drop(&j[i].base);
    }
    int dropped = 0;
    struct th_slow s;
    th_slow_init(&s, -1, 0, 3, 0.001, NULL, NULL, &dropped);
    ck_assert_int_eq(fut_drop(&s.base), 0); /* a nested loop, no allocation */
    ck_assert_int_eq(ticks, 20);
    ck_assert_int_eq(th_alloc.total, before);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = th_tcase(s, "alloc", 20);
    tcase_add_test(tc, set_allocator_rules);
    tcase_add_test(tc, default_and_custom_allocators_both_count);
    tcase_add_test(tc, every_allocation_failing_in_turn);
    /* On the fixture's runtime. */
    tc = th_rt_tcase(s, "rt", 20);
    tcase_add_test(tc, failed_spawn_is_clean);
    tcase_add_test(tc, failed_depth_change_keeps_limit);
    tcase_add_test(tc, no_allocation_after_spawn);
    return th_run(s);
}
