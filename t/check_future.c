/* SPDX-License-Identifier: MIT */
/* The future protocol (DESIGN §2) and its debug checks: PENDING without a
 * wake, poll after READY, poll after drop, double drop; yield; version and
 * error strings. */
#include "config.h"

#include "helpers.h"

#include <signal.h>
#include <stdlib.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#ifdef NDEBUG
#define FUT_TEST_DEBUG_CHECKS 0
#else
#define FUT_TEST_DEBUG_CHECKS 1
#endif

/* Returns PENDING without asking for the waker: a hang in the making. */
struct lazy {
    fut base;
    int polls;
};

static fut_status lazy_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    if (((struct lazy *)self)->polls++ == 0)
        return FUT_PENDING;
    return fut_ready(self, 1);
}

static const struct fut_vtable lazy_vt = {sizeof(struct fut_vtable), "lazy_fut", lazy_poll, NULL,
                                          NULL};

/* Polls its child twice, once too many. */
struct twice {
    fut base;
    fut *child;
    int mode; /* 0: poll after READY; 1: poll after drop; 2: poll_drop after drop */
};

static fut_status twice_poll(fut *self, fut_cx *cx)
{
    struct twice *t = (struct twice *)self;
    switch (t->mode) {
    case 0:
        ck_assert_int_eq(fut_poll(t->child, cx), FUT_READY);
        ck_assert_int_eq(fut_poll(t->child, cx), FUT_READY);
        return fut_ready(self, t->child->out);
    case 1:
        fut_drop(t->child);
        return fut_ready(self, fut_poll(t->child, cx) == FUT_READY ? t->child->out : 99);
    default:
        ck_assert_int_eq(fut_poll_drop(t->child, cx), FUT_READY);
        ck_assert_int_eq(fut_poll_drop(t->child, cx), FUT_READY);
        return fut_ready(self, 0);
    }
}

static const struct fut_vtable twice_vt = {sizeof(struct fut_vtable), "twice", twice_poll, NULL,
                                           NULL};

/* Counts its polls; READY at once with 3. */
struct once {
    fut base;
    int polls, drops;
};

static fut_status once_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    ((struct once *)self)->polls++;
    return fut_ready(self, 3);
}

static void once_drop(fut *self)
{
    ((struct once *)self)->drops++;
}

static const struct fut_vtable once_vt = {sizeof(struct fut_vtable), "once_fut", once_poll, NULL,
                                          once_drop};

START_TEST(pending_without_wake_is_reported)
{
    if (!fut_debug_checks())
        return;
    struct lazy l = {0};
    fut_init(&l.base, &lazy_vt);
    fut_yield y;
    /* Spawned as a task; the check names the vtable. Our diag catcher
     * swallows it; the task then hangs, so cancel it. */
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &l, &j), 0);
    ck_assert_int_eq(fut_rt_block_on(th_rt, fut_yield_init(&y), NULL), 0);
    ck_assert_int_eq(th_diag_count, 1);
    ck_assert_str_eq(th_diag_last, "lazy_fut returned PENDING without arranging a wake-up");
    th_diag_count = 0;
    fut_join_cancel(&j);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &j.base, NULL), 0);
    fut_drop(&j.base);
}
END_TEST

/* Who arranged the wake-up, for the PENDING check: a child whose poll
 * arranged one and returned READY counts for its parent; a teardown that
 * completed (poll_drop READY) does not; a parent that arranged one before
 * polling a child does not cover the child. */
struct arranger {
    fut base;
    int mode, step;
    fut_waker *w;
    struct lazy lazy;
};

/* READY at once, after keeping the waker in the arranger (poll, or
 * poll_drop). */
struct keeper {
    fut base;
    struct arranger *a;
};

static fut_status keeper_step(fut *self, fut_cx *cx)
{
    struct keeper *k = (struct keeper *)self;
    k->a->w = fut_waker_clone(fut_cx_waker(cx));
    return fut_ready(self, 0);
}

static const struct fut_vtable keeper_vt = {sizeof(struct fut_vtable), "keeper", keeper_step,
                                            keeper_step, NULL};

static fut_status arranger_poll(fut *self, fut_cx *cx)
{
    struct arranger *a = (struct arranger *)self;
    if (a->step++ > 0) {
        fut_waker_drop(a->w);
        a->w = NULL;
        if (a->mode == 2)
            ck_assert_int_eq(fut_poll(&a->lazy.base, cx), FUT_READY);
        return fut_ready(self, a->mode);
    }
    struct keeper k = {.a = a};
    fut_init(&k.base, &keeper_vt);
    if (a->mode == 0) {
        ck_assert_int_eq(fut_poll(&k.base, cx), FUT_READY);
    } else if (a->mode == 1) {
        ck_assert_int_eq(fut_poll_drop(&k.base, cx), FUT_READY);
    } else {
        a->w = fut_waker_clone(fut_cx_waker(cx));
        fut_init(&a->lazy.base, &lazy_vt);
        ck_assert_int_eq(fut_poll(&a->lazy.base, cx), FUT_PENDING);
    }
    fut_waker_wake(a->w);
    return FUT_PENDING;
}

static const struct fut_vtable arranger_vt = {sizeof(struct fut_vtable), "arranger", arranger_poll,
                                              NULL, NULL};

START_TEST(wake_arranged_below_counts_for_the_caller)
{
    if (!fut_debug_checks())
        return;
    static const char *const expect[] = {
        NULL,
        "arranger returned PENDING without arranging a wake-up",
        "lazy_fut returned PENDING without arranging a wake-up",
    };
    for (int mode = 0; mode < 3; mode++) {
        struct arranger a = {.mode = mode};
        fut_init(&a.base, &arranger_vt);
        ssize_t out = -1;
        ck_assert_int_eq(fut_rt_block_on(th_rt, &a.base, &out), 0);
        ck_assert_int_eq(out, mode);
        ck_assert_int_eq(th_diag_count, expect[mode] != NULL);
        if (expect[mode])
            ck_assert_str_eq(th_diag_last, expect[mode]);
        th_diag_count = 0;
        if (mode == 2)
            fut_drop(&a.lazy.base);
        fut_drop(&a.base);
    }
}
END_TEST

START_TEST(poll_after_ready_is_reported)
{
    if (!fut_debug_checks())
        return;
    struct once o = {0};
    fut_init(&o.base, &once_vt);
    struct twice t = {.child = &o.base, .mode = 0};
    fut_init(&t.base, &twice_vt);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &t.base, &out), 0);
    ck_assert_int_eq(o.polls, 1); /* the second poll never reached the slot */
    ck_assert_int_eq(out, -EINVAL);
    ck_assert_int_eq(th_diag_count, 1);
    ck_assert_str_eq(th_diag_last, "once_fut polled after it returned READY");
    th_diag_count = 0;
    fut_drop(&o.base);
}
END_TEST

START_TEST(poll_after_drop_is_reported)
{
    if (!fut_debug_checks())
        return;
    struct once o = {0};
    fut_init(&o.base, &once_vt);
    struct twice t = {.child = &o.base, .mode = 1};
    fut_init(&t.base, &twice_vt);
    ssize_t out;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &t.base, &out), 0);
    ck_assert_int_eq(o.polls, 0);
    ck_assert_int_eq(o.drops, 1);
    ck_assert_int_eq(out, -EINVAL);
    ck_assert_int_eq(th_diag_count, 1);
    ck_assert_str_eq(th_diag_last, "once_fut polled after its drop started");
    th_diag_count = 0;
}
END_TEST

START_TEST(double_async_drop_is_reported)
{
    struct once o = {0};
    fut_init(&o.base, &once_vt);
    struct twice t = {.child = &o.base, .mode = 2};
    fut_init(&t.base, &twice_vt);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &t.base, NULL), 0);
    ck_assert_int_eq(o.drops, 1);
    ck_assert_int_eq(th_diag_count, 1);
    ck_assert_str_eq(th_diag_last, "double drop of once_fut");
    th_diag_count = 0;
}
END_TEST

/* A zero-initialised future (never set up: a failed spawn or init left it
 * so) drops as a no-op, synchronously and asynchronously; a double drop
 * returns -EALREADY once the handler returned. */
START_TEST(zero_initialised_drop_is_a_no_op)
{
    fut z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(fut_drop(&z), 0);
    fut_dropper d;
    ck_assert_int_eq(th_block(th_rt, fut_drop_async(&d, &z)), 0);
    fut_drop(&d.base);
    ck_assert_int_eq(th_diag_count, 0);
    struct once o = {0};
    fut_init(&o.base, &once_vt);
    ck_assert_int_eq(fut_drop(&o.base), 0);
    ck_assert_int_eq(fut_drop(&o.base), -EALREADY);
    ck_assert_int_eq(th_diag_count, 1);
    th_diag_count = 0;
}
END_TEST

/* The default handler aborts the process with a message (run forked). */
START_TEST(default_handler_aborts)
{
    fut_set_diag_handler(NULL, NULL);
    struct once o = {0};
    fut_init(&o.base, &once_vt);
    fut_drop(&o.base);
    fut_drop(&o.base); /* aborts */
}
END_TEST

START_TEST(output_and_ready)
{
    struct once o = {0};
    fut_init(&o.base, &once_vt);
    ck_assert_int_eq(fut_out(&o.base), 0);
    ssize_t out = 0;
    ck_assert_int_eq(fut_rt_block_on(th_rt, &o.base, &out), 0);
    ck_assert_int_eq(out, 3);
    ck_assert_int_eq(fut_out(&o.base), 3);
    fut_drop(&o.base);
    ck_assert_int_eq(fut_rt_block_on(NULL, &o.base, NULL), -EINVAL);
    ck_assert_int_eq(fut_rt_block_on(th_rt, NULL, NULL), -EINVAL);
}
END_TEST

/* Yield lets the other ready tasks run: two yielding tasks interleave. */
struct yielder {
    fut base;
    fut_yield y;
    int n, i, armed;
    char id;
    char *log;
    int *pos;
};

static fut_status yielder_poll(fut *self, fut_cx *cx)
{
    struct yielder *y = (struct yielder *)self;
    for (;;) {
        if (y->i == y->n)
            return fut_ready(self, y->n);
        if (!y->armed) {
            y->log[(*y->pos)++] = y->id;
            fut_yield_init(&y->y);
            y->armed = 1;
        }
        if (fut_poll(&y->y.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        fut_drop(&y->y.base);
        y->armed = 0;
        y->i++;
    }
}

static const struct fut_vtable yielder_vt = {sizeof(struct fut_vtable), "yielder", yielder_poll,
                                             NULL, NULL};

START_TEST(yield_interleaves_tasks)
{
    char log[16] = {0};
    int pos = 0;
    struct yielder a = {.n = 3, .id = 'a', .log = log, .pos = &pos};
    struct yielder b = {.n = 3, .id = 'b', .log = log, .pos = &pos};
    fut_init(&a.base, &yielder_vt);
    fut_init(&b.base, &yielder_vt);
    fut_join ja, jb;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &ja), 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &jb), 0);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &ja.base, NULL), 0);
    ck_assert_int_eq(fut_rt_block_on(th_rt, &jb.base, NULL), 0);
    /* Each yield lets the other run: they alternate. Which one starts is
     * the scheduler's choice (spawn order with seeding off). */
    ck_assert_msg(!strcmp(log, "ababab") || !strcmp(log, "bababa"), "log == \"%s\"", log);
    fut_drop(&ja.base);
    fut_drop(&jb.base);
}
END_TEST

START_TEST(version_and_strerror)
{
    ck_assert_str_eq(fut_version(), PACKAGE_VERSION);
    ck_assert_str_eq(fut_strerror(0), "success");
    ck_assert_str_eq(fut_strerror(-ENXIO), "no current runtime on this thread");
    ck_assert_str_eq(fut_strerror(-ENOENT), "No such file or directory");
    ck_assert_str_eq(fut_strerror(-100000), "unknown error");
    ck_assert_str_eq(fut_strerror(5), "unknown error");
    /* Negating INT_MIN overflows: UBSan builds abort if it is attempted. */
    ck_assert_str_eq(fut_strerror(INT_MIN), "unknown error");
    ck_assert_str_eq(fut_strerror(INT_MIN + 1), "unknown error");
    ck_assert_str_eq(fut_strerror(INT_MAX), "unknown error");
}
END_TEST

/* Every code of the library's own has its own text, distinct from the
 * others and from the fallback. */
START_TEST(strerror_names_every_library_code)
{
    static const int codes[] = {0,
                                -ELOOP,
                                -ENXIO,
                                -EALREADY,
                                -ESHUTDOWN,
                                -EPERM,
                                -EBUSY,
                                -ECANCELED,
                                -ETIMEDOUT,
                                -FUT_EAI_NONAME,
                                -FUT_EAI_AGAIN,
                                -FUT_EAI_FAIL,
                                -FUT_EAI_NODATA,
                                -FUT_EAI_FAMILY,
                                -FUT_EAI_SERVICE,
                                -FUT_EAI_SOCKTYPE};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *m = fut_strerror(codes[i]);
        ck_assert_ptr_nonnull(m);
        ck_assert_str_ne(m, "unknown error");
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(m, fut_strerror(codes[j])) != 0, "%d and %d share \"%s\"",
                          codes[i], codes[j], m);
    }
    ck_assert_str_eq(fut_strerror(-ETIMEDOUT), "timed out");
    ck_assert_str_eq(fut_strerror(-ECANCELED), "cancelled");
    ck_assert_ptr_nonnull(strstr(fut_strerror(-FUT_EAI_NONAME), "unknown host"));
    /* the resolver's codes are not errnos: positive ones are not errors */
    ck_assert_str_eq(fut_strerror(FUT_EAI_NONAME), "unknown error");
    ck_assert_int_eq(fut_debug_checks(), FUT_TEST_DEBUG_CHECKS);
}
END_TEST

/* A diagnostic about a future whose vtable has no name still names it. */
static const struct fut_vtable nameless_vt = {sizeof(struct fut_vtable), NULL, once_poll, NULL,
                                              NULL};

START_TEST(diagnostic_names_an_unnamed_future)
{
    struct once o = {0};
    fut_init(&o.base, &nameless_vt);
    ck_assert_int_eq(fut_drop(&o.base), 0);
    ck_assert_int_eq(fut_drop(&o.base), -EALREADY);
    ck_assert_int_eq(th_diag_count, 1);
    ck_assert_msg(strstr(th_diag_last, "double drop of (unnamed future)") != NULL, "%s",
                  th_diag_last);
    th_diag_count = 0;
}
END_TEST

/* The NULL rule (docs/DESIGN.md, Naming): every function that releases or
 * closes something accepts NULL, so cleanup paths can run unconditionally. */
START_TEST(null_release_functions)
{
    ck_assert_int_eq(fut_drop(NULL), 0);
    ck_assert_int_eq(fut_rt_free(NULL), 0);
    fut_waker_drop(NULL);
    fut_fd_close(NULL);
    fut_stream_close_hard(NULL);
    fut_scope_close(NULL);
    fut_chan_close(NULL);
    ck_assert_int_eq(fut_chan_free(NULL), 0);
    fut_oneshot_sender_drop(NULL);
    fut_oneshot_receiver_drop(NULL);
    fut_sem_close(NULL);
    ck_assert_uint_eq(fut_sem_forget(NULL), 0);
    ck_assert_int_eq(fut_mutex_forget(NULL), 0);
    fut zeroed = {0};
    ck_assert_int_eq(fut_drop(&zeroed), 0);
    ck_assert_int_eq(th_diag_count, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("future");
    TCase *tc = tcase_create("protocol");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_add_test(tc, pending_without_wake_is_reported);
    tcase_add_test(tc, wake_arranged_below_counts_for_the_caller);
    tcase_add_test(tc, poll_after_ready_is_reported);
    tcase_add_test(tc, poll_after_drop_is_reported);
    tcase_add_test(tc, double_async_drop_is_reported);
    tcase_add_test(tc, zero_initialised_drop_is_a_no_op);
    tcase_add_test(tc, output_and_ready);
    tcase_add_test(tc, yield_interleaves_tasks);
    tcase_add_test(tc, version_and_strerror);
    tcase_add_test(tc, strerror_names_every_library_code);
    tcase_add_test(tc, diagnostic_names_an_unnamed_future);
    tcase_add_test(tc, null_release_functions);
    suite_add_tcase(s, tc);
    /* Needs a fork to observe the abort: skipped with CK_FORK=no. */
    const char *fork = getenv("CK_FORK");
    if (!fork || strcmp(fork, "no") != 0) {
        TCase *ab = tcase_create("abort");
        tcase_add_test_raise_signal(ab, default_handler_aborts, SIGABRT);
        suite_add_tcase(s, ab);
    }
    return th_run(s);
}
