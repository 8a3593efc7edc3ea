/* SPDX-License-Identifier: MIT */
/* "Happy eyeballs" on real sockets: fut_connect_addrs() races two
 * loopback servers, a slow one first and a fast one 100 ms later; the
 * first to connect wins. The slow server's accept queue is full, so the
 * kernel drops our SYN and that attempt would hang for seconds: the race
 * does not wait for it. The loser's socket is closed before the connect
 * is READY, so the trace shows it closed before "connected" is printed.
 * Then the winner says hello to a task that echoes one line, and dropping
 * the stream closes it gracefully (flush, FIN, wait for the server's FIN).
 *
 *     ./examples/eyeballs
 */
#include <errno.h>
#include <ev.h>
#include <fut.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static double t0;

#define say(...) \
    do { \
        printf("%7.1f ms  ", (ev_time() - t0) * 1e3); \
        printf(__VA_ARGS__); \
        putchar('\n'); \
        fflush(stdout); \
    } while (0)

static const char *names[2] = {"slow", "fast"};

static void trace(void *ud, enum fut_connect_event ev, int i, const fut_addr *a, int err)
{
    (void)ud;
    char s[FUT_ADDR_STRLEN] = "";
    fut_addr_format(a, s, sizeof s);
    switch (ev) {
    case FUT_CONNECT_START:
        say("attempt %d (%s, %s): started", i, names[i], s);
        break;
    case FUT_CONNECT_FAILED:
        say("attempt %d (%s, %s): failed: %s", i, names[i], s, fut_strerror(err));
        break;
    case FUT_CONNECT_WON:
        say("attempt %d (%s, %s): won", i, names[i], s);
        break;
    case FUT_CONNECT_CLOSED:
        say("attempt %d (%s, %s): lost, socket closed", i, names[i], s);
        break;
    default:
        break;
    }
}

/* A listener nobody accepts on, whose accept queue is full: a connect to
 * it hangs in SYN-SENT. listen(fd, 0) leaves room for one connection; we
 * keep connecting until one does not complete within 50 ms. Returns the
 * listening fd; fills[] gets the stuck clients. */
static int slow_server(fut_addr *a, int fills[], int *nfills)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(a, 0, sizeof *a);
    a->u.in.sin_family = AF_INET;
    a->u.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->len = sizeof a->u.in;
    if (l < 0 || bind(l, &a->u.sa, a->len) || listen(l, 0) || getsockname(l, &a->u.sa, &a->len))
        return -errno;
    for (*nfills = 0; *nfills < 8;) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c < 0)
            return -errno;
        fills[(*nfills)++] = c;
        if (connect(c, &a->u.sa, a->len) && errno != EINPROGRESS)
            return -errno;
        struct pollfd p = {.fd = c, .events = POLLOUT};
        if (poll(&p, 1, 50) == 0)
            return l; /* this SYN was dropped: the queue is full */
    }
    return -EAGAIN;
}

/* Accepts one connection on the fast listener and echoes one line. */
struct server {
    fut base;
    fut_coro co;
    fut_listener *l;
    fut_accept acc;
    fut_stream s; /* bound: its graceful close is this task's teardown */
    fut_stream_op op;
    char line[256];
};

static fut_status server_body(struct server *sv, fut_cx *cx)
{
    FUT_BEGIN(&sv->co);
    FUT_AWAIT(cx, fut_accept_init(&sv->acc, sv->l, &sv->s, NULL));
    if (fut_out(&sv->acc.base) < 0)
        FUT_RETURN(fut_out(&sv->acc.base));
    FUT_BIND_ASYNC(&sv->s.base);
    FUT_AWAIT(cx, fut_stream_read_line(&sv->op, &sv->s, sv->line, sizeof sv->line));
    if (fut_out(&sv->op.base) <= 0)
        FUT_RETURN(fut_out(&sv->op.base));
    say("server: got \"%.*s\", echoing it", (int)strcspn(sv->line, "\n"), sv->line);
    FUT_AWAIT(cx, fut_stream_write(&sv->op, &sv->s, sv->line, (size_t)fut_out(&sv->op.base)));
    FUT_RETURN(fut_out(&sv->op.base));
    FUT_END();
}
FUT_CORO_DEFINE(server, server_body);

/* The client's side: the stream is bound, so dropping this coroutine is
 * the graceful close. */
struct hello {
    fut base;
    fut_coro co;
    fut_stream s;
    fut_stream_op op;
    char line[256];
};

static fut_status hello_body(struct hello *h, fut_cx *cx)
{
    FUT_BEGIN(&h->co);
    FUT_BIND_ASYNC(&h->s.base);
    FUT_AWAIT(cx, fut_stream_write(&h->op, &h->s, "hello\n", 6));
    if (fut_out(&h->op.base) < 0)
        FUT_RETURN(fut_out(&h->op.base));
    FUT_AWAIT(cx, fut_stream_read_line(&h->op, &h->s, h->line, sizeof h->line));
    if (fut_out(&h->op.base) <= 0)
        FUT_RETURN(fut_out(&h->op.base) ? fut_out(&h->op.base) : -EPIPE);
    say("client: reply \"%.*s\"", (int)strcspn(h->line, "\n"), h->line);
    FUT_END();
}
FUT_CORO_DEFINE(hello, hello_body);

static int fail(const char *what, int err)
{
    fprintf(stderr, "eyeballs: %s: %s\n", what, fut_strerror(err));
    return 1;
}

int main(void)
{
    fut_rt *rt;
    int err = fut_rt_new(&rt, NULL);
    if (err)
        return fail("runtime", err);
    t0 = ev_time();

    fut_addr addrs[2];
    int fills[8], nfills = 0;
    int slow = slow_server(&addrs[0], fills, &nfills);
    if (slow < 0)
        return fail("slow server", slow);
    fut_listener fast;
    if ((err = fut_listener_open(rt, &fast, "127.0.0.1:0", 0, 0)))
        return fail("fast server", err);
    addrs[1] = *fut_listener_addr(&fast);
    say("slow server: accept queue full after %d connects", nfills);

    struct server sv = {.l = &fast};
    fut_join sj;
    FUT_CORO_INIT(&sv, server);
    if ((err = FUT_SPAWN(rt, &sv, &sj))) /* &sv: the size is the whole struct's */
        return fail("spawn", err);

    static struct hello h; /* the winner's stream goes straight in here */
    fut_connect c;
    fut_connect_addrs(&c, addrs, 2, &h.s, NULL);
    fut_connect_set_attempt_delay(&c, 0.100);
    fut_connect_set_trace(&c, trace, NULL);
    say("race: slow first, fast after an attempt delay of 100 ms");
    ssize_t fd;
    fut_rt_block_on(rt, &c.base, &fd);
    fut_drop(&c.base);
    if (fd < 0)
        return fail("connect", (int)fd);
    say("race: connected to the fast server (fd %zd); the loser was already closed", fd);

    ssize_t r;
    fut_rt_block_on(rt, FUT_CORO_INIT(&h, hello), &r);
    say("client: dropping the stream (graceful close)");
    fut_drop(&h.base);
    fut_rt_block_on(rt, &sj.base, NULL);
    fut_drop(&sj.base);
    struct fut_rt_stats st;
    fut_rt_stats(rt, &st, sizeof st);
    say("closed: %llu gracefully, %llu aborted", (unsigned long long)st.net_closes,
        (unsigned long long)st.net_aborts);

    fut_drop(&fast.base);
    for (int i = 0; i < nfills; i++)
        close(fills[i]);
    close(slow);
    fut_rt_free(rt);
    return r < 0 ? fail("hello", (int)r) : 0;
}
