/* SPDX-License-Identifier: MIT */
/* An HTTP/1.1 server that says hello: GET / answers "hello", keep-alive
 * and pipelining included (every request already received is answered
 * in one write). Honest and minimal: 400 on a malformed request (and on
 * request bodies, which it does not read), 431 on a head over 8 KiB, 404
 * and 405 for other paths and methods, a 5 s idle timeout. Ctrl-C or
 * SIGTERM stops accepting and closes every connection gracefully.
 * SIGUSR1 dumps each runtime's tasks to stderr (fut_rt_dump) and serves on.
 *
 *     ./examples/http [ADDR] [-t THREADS]      default 127.0.0.1:8080, 1
 *
 * With -t N, N runtimes on N threads each accept on their own listener,
 * bound with SO_REUSEPORT to the same address (the kernel spreads the
 * connections).
 */
#define _GNU_SOURCE /* memmem */
#include <fut.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_HEAD 8192

#define RESPONSE(status, extra, body) \
    "HTTP/1.1 " status "\r\nContent-Type: text/plain\r\n" extra "Content-Length: " body
static const char OK[] = RESPONSE("200 OK", "", "5\r\n\r\nhello");
static const char NOT_FOUND[] = RESPONSE("404 Not Found", "", "10\r\n\r\nnot found\n");
static const char NOT_ALLOWED[] = RESPONSE("405 Method Not Allowed", "Allow: GET\r\n",
                                           "12\r\n\r\nnot allowed\n");
static const char BAD[] = RESPONSE("400 Bad Request", "Connection: close\r\n",
                                   "12\r\n\r\nbad request\n");
static const char TOO_BIG[] = RESPONSE("431 Request Header Fields Too Large",
                                       "Connection: close\r\n", "18\r\n\r\nheader too large\n");

static const char *addr = "127.0.0.1:8080";
static int nthreads = 1;
static atomic_ulong requests, connections; /* summed from each runtime's count at exit */

struct counts { /* one runtime's: no atomics on the hot path */
    unsigned long requests, connections;
};

/* Looks at the bytes received for one complete request head. Returns its
 * length with the response to send (and *close when the connection ends
 * after it), 0 when the head is not complete yet. */
static size_t parse(const char *p, size_t len, const char **resp, int *close)
{
    const char *end = memmem(p, len < MAX_HEAD ? len : MAX_HEAD, "\r\n\r\n", 4);
    if (!end) {
        if (len < MAX_HEAD)
            return 0;
        *resp = TOO_BIG, *close = 1;
        return len;
    }
    size_t head = (size_t)(end - p) + 4;
    const char *eol = memchr(p, '\r', head), *sp1 = memchr(p, ' ', (size_t)(eol - p));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    *resp = BAD, *close = 1;
    if (!sp2 || sp1 == p || eol - sp2 != 9 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
        (sp2[8] != '0' && sp2[8] != '1'))
        return head;
    for (const char *m = p; m < sp1; m++)
        if (*m < 'A' || *m > 'Z')
            return head;
    *close = sp2[8] == '0'; /* HTTP/1.0: one request */
    for (const char *h = eol + 2, *nl; h < end; h = nl + 2) {
        nl = memchr(h, '\r', (size_t)(end - h) + 1); /* the last one is at end */
        const char *colon = memchr(h, ':', (size_t)(nl - h)), *v = colon + 1;
        if (!colon || colon == h || nl[1] != '\n')
            return head; /* not a header line */
        size_t name = (size_t)(colon - h);
        while (*v == ' ' || *v == '\t')
            v++;
        if (name == 10 && !strncasecmp(h, "connection", 10))
            *close = !strncasecmp(v, "close", 5)         ? 1
                     : !strncasecmp(v, "keep-alive", 10) ? 0
                                                         : *close;
        if ((name == 14 && !strncasecmp(h, "content-length", 14) && *v != '0') ||
            (name == 17 && !strncasecmp(h, "transfer-encoding", 17)))
            return *close = 1, head; /* a body: not for us */
    }
    if (sp1 - p != 3 || memcmp(p, "GET", 3))
        *resp = NOT_ALLOWED;
    else
        *resp = sp2 - sp1 == 2 && sp1[1] == '/' ? OK : NOT_FOUND;
    return head;
}

struct conn {
    fut base;
    fut_coro co;
    struct counts *n;
    fut_stream s;
    fut_stream_op op;
    int close;
    size_t outlen;
    char out[4096];
};

static fut_status conn_body(struct conn *c, fut_cx *cx)
{
    FUT_BEGIN(&c->co);
    FUT_BIND_ASYNC(&c->s.base);
    c->n->connections++;
    fut_stream_set_timeouts(&c->s, 0, 0, 5.0);
    while (!c->close) {
        /* Answer every complete request received so far, in one write. */
        c->outlen = 0;
        for (;;) {
            size_t len, n;
            const char *p = (const char *)fut_stream_peek(&c->s, &len), *resp;
            if (!len || !(n = parse(p, len, &resp, &c->close)))
                break;
            size_t rlen = strlen(resp);
            if (c->outlen + rlen > sizeof c->out) {
                c->close = 0; /* answered in the next round */
                break;
            }
            memcpy(c->out + c->outlen, resp, rlen);
            c->outlen += rlen;
            fut_stream_consume(&c->s, n);
            c->n->requests++;
            if (c->close)
                break;
        }
        if (c->outlen) {
            FUT_AWAIT(cx, fut_stream_write(&c->op, &c->s, c->out, c->outlen));
            if (fut_out(&c->op.base) < 0)
                break;
            continue;
        }
        FUT_AWAIT(cx, fut_stream_fill(&c->op, &c->s));
        if (fut_out(&c->op.base) <= 0)
            break; /* the client closed, went idle, or failed */
    }
    FUT_END();
}
FUT_CORO_DEFINE(conn, conn_body);

struct server {
    fut base;
    fut_coro co;
    fut_listener *l;
    fut_scope *conns;
    fut_accept acc;
    struct counts n;
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
        sv->c.n = &sv->n;
        if (FUT_SCOPE_SPAWN(sv->conns, &sv->c, NULL) < 0)
            fut_drop(&sv->c.s.base);
    }
    FUT_END();
}
FUT_CORO_DEFINE(server, server_body);

/* One more task of the connections' scope: on each SIGUSR1, what the
 * runtime is doing, to stderr. Cancelled with the connections. */
struct dumper {
    fut base;
    fut_coro co;
    sigset_t usr1;
    fut_signal sig;
};

static fut_status dumper_body(struct dumper *d, fut_cx *cx)
{
    FUT_BEGIN(&d->co);
    for (;;) {
        FUT_AWAIT(cx, fut_signal_init(&d->sig, &d->usr1));
        fut_rt_dump(fut_cx_rt(cx), stderr, FUT_DUMP_TEXT);
    }
    FUT_END();
}
FUT_CORO_DEFINE(dumper, dumper_body);

/* One runtime: accept until a signal, then close every connection. */
static void *serve(void *arg)
{
    fut_rt *rt;
    fut_listener l;
    int err = fut_rt_new(&rt, NULL);
    if (!err && (err = fut_listener_open(rt, &l, addr, 0, nthreads > 1 ? FUT_LISTEN_REUSEPORT : 0)))
        fut_rt_free(rt);
    if (err) {
        fprintf(stderr, "http: %s: %s\n", addr, fut_strerror(err));
        exit(1);
    }
    fut_scope conns;
    fut_scope_init(&conns, rt, FUT_SCOPE_KEEP_GOING);
    fut_scope_set_budget(&conns, 1.5);
    struct dumper d;
    sigemptyset(&d.usr1);
    sigaddset(&d.usr1, SIGUSR1);
    FUT_CORO_INIT(&d, dumper);
    FUT_SCOPE_SPAWN(&conns, &d, NULL);
    struct server sv = {.l = &l, .conns = &conns};
    fut_signal sig;
    fut *race[2] = {FUT_CORO_INIT(&sv, server), fut_signal_ctrl_c_init(&sig)};
    fut_select sel;
    if (arg == NULL) {
        printf("http: listening on %s with %d thread%s, pid %d\n", addr, nthreads,
               nthreads > 1 ? "s" : "", (int)getpid());
        fflush(stdout);
    }
    ssize_t won;
    fut_rt_block_on(rt, fut_select_init(&sel, race, 2, 0, NULL), &won);
    fut_drop(&sel.base);
    fut_drop(&l.base);
    fut_drop(&conns.base); /* each connection closes gracefully */
    fut_rt_free(rt);
    atomic_fetch_add(&requests, sv.n.requests);
    atomic_fetch_add(&connections, sv.n.connections);
    return (void *)(intptr_t)(won == 1 ? 0 : 1);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc)
            nthreads = atoi(argv[++i]);
        else if (argv[i][0] != '-')
            addr = argv[i];
        else
            nthreads = 0;
    }
    if (nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "usage: http [ADDR] [-t THREADS (1-64)]\n");
        return 2;
    }
    signal(SIGUSR1, SIG_IGN); /* between two waits: ignored, not fatal */
    pthread_t th[64];
    for (int i = 1; i < nthreads; i++)
        pthread_create(&th[i], NULL, serve, (void *)1);
    long status = (long)serve(NULL);
    for (int i = 1; i < nthreads; i++) {
        void *r;
        pthread_join(th[i], &r);
        status |= (long)r;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("http: %lu requests on %lu connections; cpu user %.3f s, sys %.3f s\n",
           (unsigned long)atomic_load(&requests), (unsigned long)atomic_load(&connections),
           ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    return (int)status;
}
