/* SPDX-License-Identifier: MIT */
/* B6, libfut through its streams (<fut/net.h>): TCP echo server on
 * 127.0.0.1, written the way a user of the library would.
 *
 *     b_echo_stream PORT
 *
 * Same contract as b_echo (bench/WORKLOADS.md, B6): listens on
 * 127.0.0.1:PORT, prints `ready` once listening, echoes every byte back on
 * every connection, and on SIGTERM prints
 * `rusage user_us=<int> sys_us=<int>` (getrusage(RUSAGE_SELF), taken
 * before the teardown) and exits 0. One thread.
 *
 * A fut_listener; an accept coroutine awaits fut_accept_init() into a
 * fut_stream and spawns each connection as a coroutine task in a
 * FUT_SCOPE_KEEP_GOING scope. A connection binds its stream for the
 * asynchronous drop (the graceful close) and loops fut_stream_read() into
 * a 16 KiB buffer, then fut_stream_write() of what was read; the one
 * fut_stream_op is re-armed for each op without a drop (a READY op holds
 * nothing). No timeouts (b_echo and b_echo_ev have none). SIGTERM (and
 * SIGINT) come through fut_signal_ctrl_c_init(), raced against the accept
 * loop with fut_select: examples/echo.c without its idle timeout.
 *
 * Twins: b_echo.c (libfut on one-shot fut_fd ops) and b_echo_ev.c (raw
 * libev, the floor): in steady state each message is one read(2), one
 * write(2) and a share of epoll_wait, the watcher left registered.
 */
#include <fut.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "bench.h"

#define BUFSZ 16384

struct conn { /* one task per connection */
    fut base;
    fut_coro co;
    fut_stream s; /* bound: closed gracefully however the task ends */
    fut_stream_op op;
    unsigned char buf[BUFSZ];
};

static fut_status conn_body(struct conn *c, fut_cx *cx)
{
    FUT_BEGIN(&c->co);
    FUT_BIND_ASYNC(&c->s.base);
    for (;;) {
        FUT_AWAIT(cx, fut_stream_read(&c->op, &c->s, c->buf, sizeof c->buf));
        if (fut_out(&c->op.base) <= 0)
            break; /* end of file, or an error (a reset): close */
        FUT_AWAIT(cx, fut_stream_write(&c->op, &c->s, c->buf, (size_t)fut_out(&c->op.base)));
        if (fut_out(&c->op.base) < 0)
            break;
    }
    FUT_END();
}
FUT_CORO_DEFINE(conn, conn_body);

struct server { /* accepts until cancelled */
    fut base;
    fut_coro co;
    fut_listener *l;
    fut_scope *conns;
    fut_accept acc;
    struct conn c;
};

static fut_status server_body(struct server *sv, fut_cx *cx)
{
    FUT_BEGIN(&sv->co);
    for (;;) {
        FUT_AWAIT(cx, fut_accept_init(&sv->acc, sv->l, &sv->c.s, NULL));
        if (fut_out(&sv->acc.base) < 0) {
            fprintf(stderr, "b_echo_stream: accept: %s\n",
                    fut_strerror((int)fut_out(&sv->acc.base)));
            FUT_RETURN(fut_out(&sv->acc.base));
        }
        FUT_CORO_INIT(&sv->c, conn);
        if (FUT_SCOPE_SPAWN(sv->conns, &sv->c, NULL) < 0)
            fut_drop(&sv->c.s.base); /* out of memory: close it */
    }
    FUT_END();
}
FUT_CORO_DEFINE(server, server_body);

int main(int argc, char **argv)
{
    char *end = NULL;
    long port = argc == 2 ? strtol(argv[1], &end, 10) : 0;
    if (argc != 2 || *end || port < 1 || port > 65535) {
        fprintf(stderr, "usage: b_echo_stream PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* the library sends with MSG_NOSIGNAL anyway */
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%ld", port);

    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    fut_listener l;
    int err = fut_listener_open(rt, &l, addr, 4096, 0);
    if (err) {
        fprintf(stderr, "b_echo_stream: %s: %s\n", addr, fut_strerror(err));
        return 1;
    }
    fut_scope conns; /* one connection's error stops no other */
    fut_scope_init(&conns, rt, FUT_SCOPE_KEEP_GOING);
    fut_scope_set_budget(&conns, 1.0);
    struct server sv = {.l = &l, .conns = &conns};
    fut_signal sig;
    fut *race[2] = {FUT_CORO_INIT(&sv, server), fut_signal_ctrl_c_init(&sig)};
    fut_select sel;
    fut_select_init(&sel, race, 2, 0, NULL);

    printf("ready\n");
    fflush(stdout);
    ssize_t won = -1;
    BENCH_CHECK(fut_rt_block_on(rt, &sel.base, &won) == 0);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("rusage user_us=%lld sys_us=%lld\n",
           (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
           (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
    fflush(stdout);

    fut_drop(&sel.base);   /* the accept loop is gone */
    fut_drop(&l.base);     /* and the listener closed */
    fut_drop(&conns.base); /* cancels the connections: each closes gracefully */
    BENCH_CHECK(fut_rt_free(rt) == 0);
    return won == 1 ? 0 : 1;
}
