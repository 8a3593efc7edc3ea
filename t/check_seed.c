/* SPDX-License-Identifier: MIT */
/* Seeded scheduling (fut_rt_set_seed, FUT_SEED): the order ready tasks
 * are polled in is a reproducible permutation, FIFO with seed 0, and
 * nothing else changes. */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTASKS 8
#define NSTEPS 4
#define LOGLEN (NTASKS * NSTEPS)

/* Logs its id at each poll, waking itself (a frozen wake: it is re-queued
 * when the poll returns) until it was polled `steps` times. */
struct stepper {
    fut base;
    int id, steps;
    char *log;
    int *pos;
};

static fut_status stepper_poll(fut *self, fut_cx *cx)
{
    struct stepper *s = (struct stepper *)self;
    if (*s->pos < LOGLEN)
        s->log[(*s->pos)++] = (char)('a' + s->id);
    if (--s->steps == 0)
        return fut_ready(self, s->id);
    fut_waker_wake(fut_cx_waker(cx));
    return FUT_PENDING;
}

static const struct fut_vtable stepper_vt = {sizeof(struct fut_vtable), "stepper", stepper_poll,
                                             NULL, NULL};

/* Runs NTASKS steppers on rt and returns the order of their polls in log
 * (LOGLEN letters); asserts each completed with its id. */
static void run_order(fut_rt *rt, char log[LOGLEN + 1])
{
    int pos = 0;
    memset(log, 0, LOGLEN + 1);
    fut_join j[NTASKS];
    for (int i = 0; i < NTASKS; i++) {
        struct stepper s;
        fut_init(&s.base, &stepper_vt);
        s.id = i;
        s.steps = NSTEPS;
        s.log = log;
        s.pos = &pos;
        ck_assert_int_eq(FUT_SPAWN(rt, &s, &j[i]), 0);
    }
    for (int i = 0; i < NTASKS; i++) {
        ck_assert_int_eq(th_block(rt, &j[i].base), i);
        fut_drop(&j[i].base);
    }
    ck_assert_int_eq(pos, LOGLEN);
    int count[NTASKS] = {0};
    for (int i = 0; i < LOGLEN; i++)
        count[log[i] - 'a']++;
    for (int i = 0; i < NTASKS; i++)
        ck_assert_int_eq(count[i], NSTEPS);
}

static void order_with_seed(uint64_t seed, char log[LOGLEN + 1])
{
    fut_rt *rt = th_new_rt();
    ck_assert_int_eq(fut_rt_set_seed(rt, seed), 0);
    run_order(rt, log);
    ck_assert_int_eq(fut_rt_free(rt), 0);
}

START_TEST(seed_zero_is_fifo)
{
    char log[LOGLEN + 1];
    /* explicit: FUT_SEED may be set for the whole run */
    order_with_seed(0, log);
    ck_assert_str_eq(log, "abcdefghabcdefghabcdefghabcdefgh");
}
END_TEST

START_TEST(same_seed_same_order)
{
    char a[LOGLEN + 1], b[LOGLEN + 1];
    order_with_seed(42, a);
    order_with_seed(42, b);
    ck_assert_str_eq(a, b);
    ck_assert_str_ne(a, "abcdefghabcdefghabcdefghabcdefgh");
}
END_TEST

START_TEST(different_seeds_different_orders)
{
    enum { NSEEDS = 6 };
    char log[NSEEDS][LOGLEN + 1];
    for (int i = 0; i < NSEEDS; i++)
        order_with_seed((uint64_t)i + 1, log[i]);
    for (int i = 0; i < NSEEDS; i++)
        for (int k = i + 1; k < NSEEDS; k++)
            ck_assert_msg(strcmp(log[i], log[k]) != 0, "seeds %d and %d: %s", i + 1, k + 1, log[i]);
}
END_TEST

/* Setting the seed again restarts its sequence: the order depends on the
 * seed and the wakes, not on what the runtime did before. */
START_TEST(reseeding_restarts_the_sequence)
{
    char a[LOGLEN + 1], b[LOGLEN + 1];
    fut_rt *rt = th_rt;
    ck_assert_int_eq(fut_rt_set_seed(rt, 9), 0);
    run_order(rt, a);
    ck_assert_int_eq(fut_rt_set_seed(rt, 9), 0);
    run_order(rt, b);
    ck_assert_str_eq(a, b);
    ck_assert_int_eq(fut_rt_set_seed(rt, 0), 0);
    run_order(rt, b);
    ck_assert_str_eq(b, "abcdefghabcdefghabcdefghabcdefgh");
}
END_TEST

START_TEST(env_seeds_new_runtimes)
{
    char want[LOGLEN + 1], got[LOGLEN + 1];
    /* put back at the end (CK_FORK=no runs every test in this process) */
    const char *orig = getenv("FUT_SEED");
    char saved[64] = "";
    if (orig)
        snprintf(saved, sizeof saved, "%s", orig);
    order_with_seed(7, want);
    ck_assert_int_eq(setenv("FUT_SEED", "7", 1), 0);
    fut_rt *rt = th_new_rt();
    run_order(rt, got);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_str_eq(got, want);

    ck_assert_int_eq(setenv("FUT_SEED", "0x7", 1), 0);
    rt = th_new_rt();
    run_order(rt, got);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_str_eq(got, want);

    /* 0, empty or not a number: FIFO */
    const char *off[] = {"0", "", "seven", "7x", "-7"};
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        ck_assert_int_eq(setenv("FUT_SEED", off[i], 1), 0);
        rt = th_new_rt();
        run_order(rt, got);
        ck_assert_int_eq(fut_rt_free(rt), 0);
        ck_assert_msg(strcmp(got, "abcdefghabcdefghabcdefghabcdefgh") == 0, "FUT_SEED=\"%s\": %s",
                      off[i], got);
    }
    if (orig)
        setenv("FUT_SEED", saved, 1);
    else
        unsetenv("FUT_SEED");
}
END_TEST

START_TEST(set_seed_bad_input)
{
    ck_assert_int_eq(fut_rt_set_seed(NULL, 1), -EINVAL);
}
END_TEST

/* A task that yields forever next to one that waits for a timer: the
 * drain budget still lets the loop poll for the timer under a seed. */
struct spinner {
    fut base;
    int *spins;
};

static fut_status spinner_poll(fut *self, fut_cx *cx)
{
    struct spinner *s = (struct spinner *)self;
    ++*s->spins;
    fut_waker_wake(fut_cx_waker(cx));
    return FUT_PENDING;
}

static const struct fut_vtable spinner_vt = {sizeof(struct fut_vtable), "spinner", spinner_poll,
                                             NULL, NULL};

START_TEST(fairness_budget_holds_under_seed)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        fut_rt *rt = th_new_rt();
        ck_assert_int_eq(fut_rt_set_seed(rt, seed), 0);
        int spins = 0;
        struct spinner sp[3];
        fut_join js[3];
        for (int i = 0; i < 3; i++) {
            fut_init(&sp[i].base, &spinner_vt);
            sp[i].spins = &spins;
            ck_assert_int_eq(FUT_SPAWN(rt, &sp[i], &js[i]), 0);
        }
        fut_sleep sl;
        fut_sleep_init(&sl, 0.01);
        fut_join jt;
        ck_assert_int_eq(FUT_SPAWN(rt, &sl, &jt), 0);
        ck_assert_int_eq(th_block(rt, &jt.base), 0);
        ck_assert_int_gt(spins, 0);
        fut_drop(&jt.base);
        for (int i = 0; i < 3; i++) {
            fut_join_cancel(&js[i]);
            ck_assert_int_eq(th_block(rt, &js[i].base), -ECANCELED);
            fut_drop(&js[i].base);
        }
        ck_assert_int_eq(fut_rt_free(rt), 0);
    }
}
END_TEST

/* A task running a nested loop on a yield while the steppers run: the
 * other tasks keep being polled inside it, and everything completes. */
struct nester {
    fut base;
    int rounds;
};

static fut_status nester_poll(fut *self, fut_cx *cx)
{
    struct nester *n = (struct nester *)self;
    for (int i = 0; i < n->rounds; i++) {
        fut_yield y;
        ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), fut_yield_init(&y), NULL), 0);
        fut_drop(&y.base);
    }
    return fut_ready(self, n->rounds);
}

static const struct fut_vtable nester_vt = {sizeof(struct fut_vtable), "nester", nester_poll, NULL,
                                            NULL};

START_TEST(nested_loops_under_seed)
{
    for (uint64_t seed = 1; seed <= 4; seed++) {
        fut_rt *rt = th_new_rt();
        ck_assert_int_eq(fut_rt_set_seed(rt, seed), 0);
        struct nester n;
        fut_init(&n.base, &nester_vt);
        n.rounds = 5;
        fut_join jn;
        ck_assert_int_eq(FUT_SPAWN(rt, &n, &jn), 0);
        char log[LOGLEN + 1];
        run_order(rt, log);
        ck_assert_int_eq(th_block(rt, &jn.base), 5);
        fut_drop(&jn.base);
        ck_assert_int_eq(fut_rt_free(rt), 0);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("seed");
    TCase *tc = th_rt_tcase(s, "seed", 10);
    tcase_add_test(tc, seed_zero_is_fifo);
    tcase_add_test(tc, same_seed_same_order);
    tcase_add_test(tc, different_seeds_different_orders);
    tcase_add_test(tc, reseeding_restarts_the_sequence);
    tcase_add_test(tc, env_seeds_new_runtimes);
    tcase_add_test(tc, set_seed_bad_input);
    tcase_add_test(tc, fairness_budget_holds_under_seed);
    tcase_add_test(tc, nested_loops_under_seed);
    return th_run(s);
}
