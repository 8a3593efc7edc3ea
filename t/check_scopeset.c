/* Scopes as task sets and server policy (<fut/scope.h>): the error
 * handler and FUT_SCOPE_KEEP_GOING. */
#include "helpers.h"

#include <errno.h>
#include <string.h>

#define rt th_rt

/* What the jobs of one test saw. */
struct tally {
    fut_scope *scope;
    int running;   /* started, not torn down */
    int max_running;
    unsigned max_alive; /* the scope's alive count, seen by starting jobs */
    int completed; /* ran to their end (not cancelled) */
    int torn_down;
};

/* A child: waits `delay` seconds, then is READY with `value`. */
struct job {
    fut base;
    fut_sleep sleep;
    int armed;
    double delay;
    int value;
    struct tally *t;
};

static fut_status job_poll(fut *self, fut_cx *cx)
{
    struct job *j = (struct job *)self;
    if (!j->armed) {
        j->armed = 1;
        fut_sleep_init(&j->sleep, j->delay);
        if (++j->t->running > j->t->max_running)
            j->t->max_running = j->t->running;
        if (j->t->scope) {
            struct fut_scope_result r;
            fut_scope_result(j->t->scope, &r);
            if (r.alive > j->t->max_alive)
                j->t->max_alive = r.alive;
        }
    }
    if (fut_poll(&j->sleep.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    j->t->completed++;
    return fut_ready(self, j->value);
}

static void job_drop(fut *self)
{
    struct job *j = (struct job *)self;
    if (j->armed) {
        fut_drop(&j->sleep.base);
        j->t->running--;
    }
    j->t->torn_down++;
}

static const struct fut_vtable job_vt = {sizeof(struct fut_vtable), "job", job_poll, NULL,
                                         job_drop};

static struct job job_make(double delay, int value, struct tally *t)
{
    struct job j;
    memset(&j, 0, sizeof j);
    fut_init(&j.base, &job_vt);
    j.delay = delay;
    j.value = value;
    j.t = t;
    return j;
}

/* --- supervisor -------------------------------------------------------- */

struct errlog {
    int calls;
    int first;
    int eio, epipe;
    unsigned errors_seen_max; /* fut_scope_result() from the handler */
    int cancelled_seen;
};

static void log_error(fut_scope *s, int err, void *ud)
{
    struct errlog *l = ud;
    if (!l->calls++)
        l->first = err;
    if (err == -EIO)
        l->eio++;
    if (err == -EPIPE)
        l->epipe++;
    struct fut_scope_result r;
    fut_scope_result(s, &r);
    if (r.errors > l->errors_seen_max)
        l->errors_seen_max = r.errors;
    ck_assert_uint_eq(r.errors, (unsigned)l->calls); /* counted before the call */
}

/* 1,000 children, every tenth fails: the others run to their end, the
 * handler sees each failure once, the first error and count are right. */
START_TEST(supervisor_keeps_going)
{
    struct tally t = {0};
    struct errlog l = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, FUT_SCOPE_KEEP_GOING);
    t.scope = &sc;
    ck_assert_int_eq(fut_scope_set_error_handler(&sc, log_error, &l), 0);
    for (int i = 0; i < 1000; i++) {
        /* Failures come first (shorter waits, the first one shortest),
         * while every success is still running. */
        struct job j = i % 10 == 9 ? job_make(0.002 + 1e-5 * i, i == 9 ? -EIO : -EPIPE, &t)
                                   : job_make(0.03, i, &t);
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &j, NULL), 0);
    }
    ck_assert_int_eq(th_block(rt, &sc.base), -EIO);
    ck_assert_int_eq(l.calls, 100);
    ck_assert_int_eq(l.first, -EIO);
    ck_assert_int_eq(l.eio, 1);
    ck_assert_int_eq(l.epipe, 99);
    ck_assert_int_eq(t.completed, 1000); /* nobody was cancelled */
    ck_assert_int_eq(t.torn_down, 1000);
    ck_assert_int_eq(t.max_running, 1000);
    struct fut_scope_result r;
    fut_scope_result(&sc, &r);
    ck_assert_int_eq(r.first_error, -EIO);
    ck_assert_uint_eq(r.errors, 100);
    ck_assert_uint_eq(r.alive, 0);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

/* The default policy: the handler sees the first error, then the
 * siblings are cancelled (their -ECANCELED is no error), and a spawn
 * tells the caller the scope stopped. */
START_TEST(first_error_policy_reports_and_refuses)
{
    struct tally t = {0};
    struct errlog l = {0};
    fut_scope sc;
    fut_scope_init(&sc, rt, 0);
    ck_assert_int_eq(fut_scope_set_error_handler(&sc, log_error, &l), 0);
    struct job bad = job_make(0.002, -EIO, &t), slow = job_make(30, 0, &t);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &bad, NULL), 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &slow, NULL), 0);
    ck_assert_int_eq(th_block(rt, &sc.base), -EIO);
    ck_assert_int_eq(l.calls, 1);
    ck_assert_int_eq(l.first, -EIO);
    ck_assert_int_eq(t.torn_down, 11);
    ck_assert_int_eq(FUT_SCOPE_SPAWN(&sc, &slow, NULL), -ECANCELED);
    ck_assert_int_eq(fut_scope_set_error_handler(NULL, log_error, NULL), -EINVAL);
    ck_assert_int_eq(fut_drop(&sc.base), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scopeset");
    TCase *tc = tcase_create("scopeset");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, supervisor_keeps_going);
    tcase_add_test(tc, first_error_policy_reports_and_refuses);
    suite_add_tcase(s, tc);
    return th_run(s);
}
