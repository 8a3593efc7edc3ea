/* SPDX-License-Identifier: MIT */
/* B9 deterministic client: exactly N HTTP/1.1 keep-alive requests.
 *
 *     http_client HOST PORT K N [DEPTH]
 *
 * Opens K connections to HOST:PORT (a numeric IPv4 address: the harness
 * only ever uses 127.0.0.1) and sends `GET / HTTP/1.1` (with a Host
 * header, as wrk does) exactly N times in all: connection i sends N / K
 * requests, one more when i < N % K. Each connection keeps DEPTH requests
 * in flight (default 1: closed loop, send, read the whole answer, send the
 * next); DEPTH > 1 sends DEPTH requests with one write and waits for their
 * DEPTH answers (pipelining). Every answer must be `HTTP/1.1 200` with a
 * Content-Length and a body `hello`. Then it closes the connections and
 * prints one line
 *
 *     reqs=<int> conns=<int> secs=<float> req/s=<float>
 *
 * bench/http.sh runs the server under callgrind against N and 2N requests:
 * the difference is what N more requests cost, start-up, the K accepts and
 * the teardown cancelling out. Exits 1 when a connection fails, is closed
 * by the server or stalls (no answer for 20 s), 2 when an answer is not
 * the expected one. Single-threaded, epoll, level-triggered; EPOLLOUT is
 * asked for only while a send is partial.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "bench.h"

#define STALL 20.0
#define RXSZ 8192

struct cn {
    int fd;
    int out_pending;     /* EPOLLOUT registered */
    long quota;          /* requests this connection still has to send */
    long inflight;       /* sent, not yet answered */
    size_t txoff, txlen; /* the batch being sent */
    size_t rxlen;
    char rx[RXSZ];
};

static int ep;
static char req[128];
static size_t reqlen;
static char *txbuf; /* DEPTH copies of req */
static long depth = 1;

static void usage(void)
{
    fprintf(stderr, "usage: http_client HOST PORT K N [DEPTH]\n");
    exit(2);
}

static double parse_num(const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || *end || !(d >= lo && d <= hi))
        usage();
    return d;
}

static void die(const char *what)
{
    fprintf(stderr, "http_client: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void set_out(struct cn *c, long idx, int on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        die("epoll_ctl");
    c->out_pending = on;
}

/* Sends what is left of the batch. */
static void push(struct cn *c, long idx)
{
    while (c->txoff < c->txlen) {
        ssize_t n = write(c->fd, txbuf + c->txoff, c->txlen - c->txoff);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            die("write");
        }
        c->txoff += (size_t)n;
    }
    if ((c->txoff < c->txlen) != c->out_pending)
        set_out(c, idx, c->txoff < c->txlen);
}

static void send_batch(struct cn *c, long idx)
{
    long b = c->quota < depth ? c->quota : depth;
    c->quota -= b;
    c->inflight = b;
    c->txoff = 0;
    c->txlen = (size_t)b * reqlen;
    push(c, idx);
}

/* Parses one answer at the start of c->rx: its length when complete and
 * right, 0 when incomplete; exits 2 when wrong. */
static size_t one_answer(struct cn *c, long idx)
{
    char *h = c->rx;
    char *e = memmem(h, c->rxlen, "\r\n\r\n", 4);
    if (!e) {
        if (c->rxlen == RXSZ)
            goto bad;
        return 0;
    }
    size_t hl = (size_t)(e + 4 - h);
    if (hl < 13 || memcmp(h, "HTTP/1.1 200 ", 13) != 0)
        goto bad;
    long clen = -1;
    for (char *p = (char *)memchr(h, '\n', hl) + 1; p < e;
         p = (char *)memchr(p, '\n', (size_t)(e + 2 - p)) + 1) {
        if (strncasecmp(p, "content-length:", 15) == 0)
            clen = strtol(p + 15, NULL, 10);
    }
    if (clen != 5)
        goto bad;
    if (c->rxlen < hl + 5)
        return 0;
    if (memcmp(h + hl, "hello", 5) != 0)
        goto bad;
    return hl + 5;
bad:
    fprintf(stderr, "http_client: connection %ld: unexpected answer: %.*s\n", idx,
            (int)(c->rxlen < 200 ? c->rxlen : 200), h);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6)
        usage();
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
        usage();
    long port = (long)parse_num(argv[2], 1, 65535);
    sa.sin_port = htons((uint16_t)port);
    long k = (long)parse_num(argv[3], 1, 100000);
    long n = (long)parse_num(argv[4], 1, 1e12);
    if (argc > 5)
        depth = (long)parse_num(argv[5], 1, 64);
    signal(SIGPIPE, SIG_IGN);
    bench_need_fds(k);

    reqlen = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s:%ld\r\n\r\n", argv[1],
                              port);
    txbuf = malloc((size_t)depth * reqlen);
    BENCH_CHECK(txbuf);
    for (long i = 0; i < depth; i++)
        memcpy(txbuf + (size_t)i * reqlen, req, reqlen);

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    struct cn *cs = calloc((size_t)k, sizeof *cs);
    BENCH_CHECK(cs);
    for (long i = 0; i < k; i++) {
        struct cn *c = &cs[i];
        c->quota = n / k + (i < n % k);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
            die("socket");
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
            die("connect");
        if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) != 0)
            die("fcntl");
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
            die("epoll_ctl");
    }

    long done = 0;
    double start = bench_now(), now = start, last_progress = start;
    for (long i = 0; i < k; i++)
        if (cs[i].quota)
            send_batch(&cs[i], i);

    struct epoll_event evs[256];
    while (done < n) {
        int ne = epoll_wait(ep, evs, 256, 1000);
        if (ne < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        now = bench_now();
        for (int e = 0; e < ne; e++) {
            long idx = (long)evs[e].data.u64;
            struct cn *c = &cs[idx];
            if ((evs[e].events & EPOLLOUT) && c->txoff < c->txlen)
                push(c, idx);
            if (!(evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            ssize_t r = read(c->fd, c->rx + c->rxlen, RXSZ - c->rxlen);
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    continue;
                die("read");
            }
            if (r == 0) {
                fprintf(stderr, "http_client: connection %ld closed by the server\n", idx);
                return 1;
            }
            c->rxlen += (size_t)r;
            size_t used;
            while (c->rxlen && (used = one_answer(c, idx)) > 0) {
                if (c->inflight == 0) {
                    fprintf(stderr, "http_client: connection %ld: an answer nobody asked for\n",
                            idx);
                    return 2;
                }
                memmove(c->rx, c->rx + used, c->rxlen - used);
                c->rxlen -= used;
                c->inflight--;
                done++;
                last_progress = now;
            }
            if (c->inflight == 0 && c->quota > 0)
                send_batch(c, idx);
        }
        if (now - last_progress > STALL) {
            fprintf(stderr, "http_client: no answer for %.0f s (%ld of %ld done)\n", STALL, done,
                    n);
            return 1;
        }
    }
    double secs = now - start;
    printf("reqs=%ld conns=%ld secs=%.3f req/s=%.1f\n", done, k, secs,
           secs > 0 ? (double)done / secs : 0.0);
    fflush(stdout);
    for (long i = 0; i < k; i++)
        close(cs[i].fd);
    free(cs);
    free(txbuf);
    close(ep);
    return 0;
}
