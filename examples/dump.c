/* SPDX-License-Identifier: MIT */
/* fut_rt_dump() on a runtime with a task in each state: one parked on a
 * sleep, one whose teardown is slow, one frozen under the nested loop its
 * poll runs. A fourth task dumps to stderr once at start and again on
 * each SIGUSR1; Ctrl-C (or SIGTERM) ends it all.
 *
 *     ./examples/dump            then: kill -USR1 <pid>
 *     ./examples/dump -once      dump once and exit
 */
#include <fut.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* "sleeper": parked on a sleep of an hour. */
struct sleeper {
    fut base;
    fut_sleep s;
    int armed;
};

static fut_status sleeper_poll(fut *self, fut_cx *cx)
{
    struct sleeper *z = (struct sleeper *)self;
    if (!z->armed)
        fut_sleep_init(&z->s, 3600), z->armed = 1;
    if (fut_poll(&z->s.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    return fut_ready(self, 0);
}

static void sleeper_drop(fut *self)
{
    struct sleeper *z = (struct sleeper *)self;
    if (z->armed)
        fut_drop(&z->s.base);
}

static const struct fut_vtable sleeper_vt = {.size = sizeof(struct fut_vtable),
                                             .name = "sleeper",
                                             .poll = sleeper_poll,
                                             .drop = sleeper_drop};

/* "slow_close": cancelled at once; its teardown takes 30 s (say, a
 * protocol goodbye), or ends at once when escalated past its budget. */
struct slow_close {
    fut base;
    fut_sleep s;
    int armed;
};

static fut_status slow_close_poll(fut *self, fut_cx *cx)
{
    (void)self, (void)cx;
    return FUT_PENDING; /* cancelled before it gets here */
}

static fut_status slow_close_poll_drop(fut *self, fut_cx *cx)
{
    struct slow_close *c = (struct slow_close *)self;
    if (!c->armed)
        fut_sleep_init(&c->s, 30), c->armed = 1;
    if (!fut_cx_escalated(cx) && fut_poll(&c->s.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    fut_drop(&c->s.base);
    return FUT_READY;
}

static const struct fut_vtable slow_close_vt = {.size = sizeof(struct fut_vtable),
                                                .name = "slow_close",
                                                .poll = slow_close_poll,
                                                .poll_drop = slow_close_poll_drop};

/* "quit": READY once the dumper said so. */
static int quitting;
static fut_waker *quit_waker;

static fut_status quit_poll(fut *self, fut_cx *cx)
{
    if (quitting)
        return fut_ready(self, 0);
    fut_waker_drop(quit_waker);
    quit_waker = fut_waker_clone(fut_cx_waker(cx));
    return FUT_PENDING;
}

static const struct fut_vtable quit_vt = {
    .size = sizeof(struct fut_vtable), .name = "quit", .poll = quit_poll};

static void quit(void)
{
    quitting = 1;
    if (quit_waker) {
        fut_waker_wake(quit_waker);
        fut_waker_drop(quit_waker);
        quit_waker = NULL;
    }
}

/* "nester": its poll blocks in a nested loop until quit: frozen. */
static fut_status nester_poll(fut *self, fut_cx *cx)
{
    fut q;
    fut_init(&q, &quit_vt);
    fut_rt_nested_loop(fut_cx_rt(cx), &q, NULL);
    fut_drop(&q);
    return fut_ready(self, 0);
}

static const struct fut_vtable nester_vt = {
    .size = sizeof(struct fut_vtable), .name = "nester", .poll = nester_poll};

/* "dumper": dumps at its first poll (spawned last, it runs after the
 * others took their states), then at each SIGUSR1, until SIGINT/SIGTERM. */
struct dumper {
    fut base;
    fut_signal sig;
    int armed, started, once;
};

static fut_status dumper_poll(fut *self, fut_cx *cx)
{
    struct dumper *d = (struct dumper *)self;
    fut_rt *rt = fut_cx_rt(cx);
    if (!d->started) {
        d->started = 1;
        fut_rt_dump(rt, stderr, 0);
        if (d->once) {
            quit();
            return fut_ready(self, 0);
        }
    }
    for (;;) {
        if (!d->armed) {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGUSR1);
            sigaddset(&set, SIGINT);
            sigaddset(&set, SIGTERM);
            fut_signal_init(&d->sig, &set);
            d->armed = 1;
        }
        if (fut_poll(&d->sig.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        int signo = (int)fut_out(&d->sig.base);
        fut_drop(&d->sig.base);
        d->armed = 0;
        if (signo != SIGUSR1) {
            quit();
            return fut_ready(self, 0);
        }
        fprintf(stderr, "--- SIGUSR1\n");
        fut_rt_dump(rt, stderr, 0);
    }
}

static void dumper_drop(fut *self)
{
    struct dumper *d = (struct dumper *)self;
    if (d->armed)
        fut_drop(&d->sig.base);
}

static const struct fut_vtable dumper_vt = {
    .size = sizeof(struct fut_vtable), .name = "dumper", .poll = dumper_poll, .drop = dumper_drop};

int main(int argc, char **argv)
{
    fut_rt *rt;
    if (fut_rt_new(&rt, NULL))
        return 1;
    signal(SIGUSR1, SIG_IGN); /* between two waits: ignored, not fatal */
    fut_rt_set_drop_budget(rt, 60);

    struct sleeper z = {0};
    struct slow_close c = {0};
    fut n;
    struct dumper d = {.once = argc > 1 && !strcmp(argv[1], "-once")};
    fut_init(&z.base, &sleeper_vt);
    fut_init(&c.base, &slow_close_vt);
    fut_init(&n, &nester_vt);
    fut_init(&d.base, &dumper_vt);
    fut_join jc, jd;
    FUT_SPAWN(rt, &z, NULL);
    FUT_SPAWN(rt, &c, &jc);
    fut_join_cancel(&jc); /* its teardown starts at its first poll */
    fut_drop(&jc.base);
    fut_rt_spawn(rt, &n, sizeof n, NULL);
    FUT_SPAWN(rt, &d, &jd);
    fprintf(stderr, "dump: pid %d; kill -USR1 %d to dump, Ctrl-C to stop\n", (int)getpid(),
            (int)getpid());
    fut_rt_block_on(rt, &jd.base, NULL);
    fut_drop(&jd.base);
    /* The teardown still pending is escalated by the shutdown's budget. */
    fut_shutdown sd;
    fut_rt_block_on(rt, fut_rt_shutdown(&sd, rt, 0.1), NULL);
    fut_drop(&sd.base);
    return fut_rt_free(rt) ? 1 : 0;
}
