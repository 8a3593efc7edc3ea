/* "Happy eyeballs": connection attempts started 50 ms apart race each
 * other; the first to connect wins. The losers hold half-open connections
 * that must say goodbye before the race returns, so each attempt binds
 * its connection for asynchronous drop: whether the attempt wins, loses
 * or is cancelled mid-connect, the connection's teardown (a goodbye that
 * takes a few milliseconds) runs, and fut_select returns only once every
 * loser's teardown completed.
 *
 * Written with the coroutine macros (<fut/coro.h>); simulated with timers.
 */
#include <errno.h>
#include <ev.h>
#include <fut.h>
#include <stdio.h>
#include <string.h>

static double t0;

#define say(...)                                       \
    do {                                               \
        printf("%7.1f ms  ", (ev_time() - t0) * 1e3);  \
        printf(__VA_ARGS__);                           \
        putchar('\n');                                 \
    } while (0)

/* A connection being set up: tearing it down means saying goodbye to the
 * peer, which takes `goodbye` seconds. Never polled: it is a resource. */
struct conn {
    fut base;
    const char *name;
    double goodbye;
    fut_sleep bye;
    int saying;
};

static fut_status conn_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    return fut_ready(self, 0);
}

static fut_status conn_poll_drop(fut *self, fut_cx *cx)
{
    struct conn *c = (struct conn *)self;
    if (!c->saying) {
        say("%s: closing, sending goodbye", c->name);
        fut_sleep_init(&c->bye, c->goodbye);
        c->saying = 1;
    }
    if (fut_poll(&c->bye.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    fut_drop(&c->bye.base);
    say("%s: goodbye acknowledged, closed", c->name);
    return FUT_READY;
}

static const struct fut_vtable conn_vt = {sizeof(struct fut_vtable), "conn", conn_poll,
                                          conn_poll_drop, NULL};

/* One attempt: wait for its turn, open a connection (bound: it says
 * goodbye at our teardown, however we end), wait until connected. */
struct attempt {
    fut base;
    fut_coro co;
    const char *name;
    double start, connect;
    fut_sleep wait;
    struct conn conn;
};

static fut_status attempt_body(struct attempt *a, fut_cx *cx)
{
    FUT_BEGIN(&a->co);
    FUT_AWAIT(&a->co, cx, fut_sleep_init(&a->wait, a->start));
    fut_drop(&a->wait.base);
    say("%s: connecting", a->name);
    fut_init(&a->conn.base, &conn_vt);
    a->conn.name = a->name;
    FUT_BIND_ASYNC(&a->co, &a->conn.base);
    FUT_AWAIT(&a->co, cx, fut_sleep_init(&a->wait, a->connect));
    fut_drop(&a->wait.base);
    say("%s: connected", a->name);
    FUT_RETURN(&a->co, 0);
    FUT_END(&a->co);
}
FUT_CORO_DEFINE(attempt, attempt_body);

int main(void)
{
    fut_rt *rt;
    if (fut_rt_new(&rt, NULL) != 0)
        return 1;
    t0 = ev_time();

    struct attempt att[3];
    const char *names[3] = {"[2001:db8::1]:443", "192.0.2.1:443", "192.0.2.2:443"};
    double connect[3] = {0.300, 0.080, 0.200}; /* IPv6 is slow today */
    double goodbye[3] = {0.030, 0.010, 0.020};
    fut *kids[3];
    for (int i = 0; i < 3; i++) {
        memset(&att[i], 0, sizeof att[i]);
        kids[i] = FUT_CORO_INIT(&att[i], attempt);
        att[i].name = names[i];
        att[i].start = 0.050 * i;
        att[i].connect = connect[i];
        att[i].conn.goodbye = goodbye[i];
    }
    say("race: 3 attempts, started 50 ms apart");
    fut_select race;
    ssize_t winner;
    fut_block_on(rt, fut_select_init(&race, kids, 3, 0, NULL), &winner);
    if (winner < 0) {
        fprintf(stderr, "race: %s\n", fut_strerror((int)winner));
        return 1;
    }
    say("race: %s won; every loser has said goodbye", names[winner]);
    /* ... use the winner's connection, then close it too: */
    fut_drop(&race.base);
    say("done");
    fut_rt_free(rt);
    return 0;
}
