/* SPDX-License-Identifier: MIT */
/* A TCP (or Unix socket) echo server: a task per connection in a scope,
 * a 5 s idle timeout, and a clean stop on Ctrl-C or SIGTERM: stop
 * accepting, then every connection closes gracefully (flush, FIN, wait
 * for the client's FIN), within 1.5 s.
 *
 *     ./examples/echo [ADDR]        default 127.0.0.1:7000
 */
#include <errno.h>
#include <fut.h>
#include <stdio.h>

struct conn { /* one task per connection */
    fut base;
    fut_coro co;
    fut_stream s; /* bound: closed gracefully however the task ends */
    fut_stream_op op;
    char buf[16384];
};

static fut_status conn_body(struct conn *c, fut_cx *cx)
{
    FUT_BEGIN(&c->co);
    FUT_BIND_ASYNC(&c->s.base);
    fut_stream_set_timeouts(&c->s, 0, 0, 5.0);
    for (;;) {
        FUT_AWAIT(cx, fut_stream_read(&c->op, &c->s, c->buf, sizeof c->buf));
        if (fut_out(&c->op.base) <= 0)
            break; /* end of file, idle, or an error: close */
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
        if (fut_out(&sv->acc.base) < 0)
            FUT_RETURN(fut_out(&sv->acc.base));
        FUT_CORO_INIT(&sv->c, conn);
        int err = FUT_SCOPE_SPAWN(sv->conns, &sv->c, NULL);
        if (err < 0) {
            fut_drop(&sv->c.s.base); /* not spawned: close it */
            if (err != -ENOMEM)      /* the scope stopped taking connections */
                FUT_RETURN(err);
        }
    }
    FUT_END();
}
FUT_CORO_DEFINE(server, server_body);

static void conn_failed(fut_scope *s, int err, void *ud)
{
    (void)s;
    (void)ud;
    fprintf(stderr, "echo: a connection failed: %s\n", fut_strerror(err));
}

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:7000";
    fut_rt *rt;
    fut_listener l;
    int err = fut_rt_new(&rt, NULL);
    if (!err && (err = fut_listener_open(rt, &l, addr, 0, 0)))
        fut_rt_free(rt);
    if (err) {
        fprintf(stderr, "echo: %s: %s\n", addr, fut_strerror(err));
        return 1;
    }
    fut_scope conns; /* one connection's error stops no other */
    fut_scope_init(&conns, rt, FUT_SCOPE_KEEP_GOING);
    fut_scope_set_budget(&conns, 1.5);
    fut_scope_set_error_handler(&conns, conn_failed, NULL);
    struct server sv = {.l = &l, .conns = &conns};
    fut_signal sig;
    fut *race[2] = {FUT_CORO_INIT(&sv, server), fut_signal_ctrl_c_init(&sig)};
    fut_select sel;
    fprintf(stderr, "echo: listening on %s\n", addr);
    ssize_t won;
    fut_rt_block_on(rt, fut_select_init(&sel, race, 2, 0, NULL), &won);
    fut_drop(&sel.base); /* the accept loop is gone */
    fut_drop(&l.base);   /* and the listener closed: new clients are refused */
    struct fut_rt_stats st;
    fut_rt_stats(rt, &st, sizeof st);
    fprintf(stderr, "echo: %s, closing %llu connections\n", won == 1 ? "signal" : "error",
            (unsigned long long)st.tasks_alive);
    fut_drop(&conns.base); /* cancels them: each closes gracefully */
    fut_rt_stats(rt, &st, sizeof st);
    fprintf(stderr, "echo: done, %llu closed gracefully, %llu aborted\n",
            (unsigned long long)st.net_closes, (unsigned long long)st.net_aborts);
    fut_rt_free(rt);
    return won == 1 ? 0 : 1;
}
