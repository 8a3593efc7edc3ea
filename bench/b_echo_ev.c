/* SPDX-License-Identifier: MIT */
/* B6, raw libev twin of b_echo.c: TCP echo server on 127.0.0.1.
 *
 *     b_echo_ev PORT
 *
 * Same CLI and output as b_echo (see bench/WORKLOADS.md, B6): prints
 * `ready`, echoes, and on SIGTERM prints `rusage user_us=<int>
 * sys_us=<int>` and exits 0. One thread, one epoll loop.
 *
 * The equivalent chosen: an ev_io on the listening socket accepts until
 * EAGAIN; each connection is a malloc'd struct with a read watcher,
 * started once and left started, and a write watcher used only when the
 * kernel does not take a whole echo at once. The read callback does one
 * read(2) into the same 16 KiB buffer size as b_echo and writes the bytes
 * straight back: one read, one write and a share of epoll_wait per
 * message, and no epoll_ctl in steady state. The floor a readiness-based
 * server can reach on libev.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "bench.h"

#define BUFSZ 16384

struct conn {
    ev_io r; /* first member: the callbacks cast back */
    ev_io w;
    size_t off, len; /* the part of buf still to write */
    unsigned char buf[BUFSZ];
};

static int failed; /* the accept loop hit an error */

static void conn_free(struct ev_loop *loop, struct conn *c)
{
    ev_io_stop(loop, &c->r);
    ev_io_stop(loop, &c->w);
    close(c->r.fd);
    free(c);
}

/* Writes what is left of buf; 1 when all of it went, 0 when the kernel
 * is full, -1 on an error. */
static int flush(struct conn *c)
{
    while (c->off < c->len) {
        ssize_t n = write(c->r.fd, c->buf + c->off, c->len - c->off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->off += (size_t)n;
    }
    return 1;
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct conn *c = (struct conn *)((char *)w - offsetof(struct conn, w));
    int r = flush(c);
    if (r < 0) {
        conn_free(loop, c);
    } else if (r > 0) {
        ev_io_stop(loop, &c->w);
        ev_io_start(loop, &c->r);
    }
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct conn *c = (struct conn *)w;
    ssize_t n = read(w->fd, c->buf, sizeof c->buf);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        conn_free(loop, c);
        return;
    }
    if (n == 0) {
        conn_free(loop, c);
        return;
    }
    c->off = 0;
    c->len = (size_t)n;
    int r = flush(c);
    if (r < 0) {
        conn_free(loop, c);
    } else if (r == 0) { /* the rest when the socket drains */
        ev_io_stop(loop, &c->r);
        ev_io_start(loop, &c->w);
    }
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    for (;;) {
        int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                fprintf(stderr, "b_echo_ev: accept: %s\n", strerror(errno));
                failed = 1;
                ev_break(loop, EVBREAK_ALL);
            }
            return;
        }
        struct conn *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        ev_io_init(&c->r, read_cb, fd, EV_READ);
        ev_io_init(&c->w, write_cb, fd, EV_WRITE);
        ev_io_start(loop, &c->r);
    }
}

static void sigterm_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)w;
    (void)revents;
    ev_break(loop, EVBREAK_ALL);
}

static int listen_on(const char *port_s)
{
    char *end;
    long port = strtol(port_s, &end, 10);
    if (*end || port < 1 || port > 65535) {
        fprintf(stderr, "usage: b_echo_ev PORT\n");
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    BENCH_CHECK(fd >= 0);
    int one = 1;
    BENCH_CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "b_echo_ev: bind 127.0.0.1:%ld: %s\n", port, strerror(errno));
        exit(1);
    }
    BENCH_CHECK(listen(fd, 4096) == 0);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: b_echo_ev PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int lfd = listen_on(argv[1]);
    struct ev_loop *loop = ev_loop_new(EVBACKEND_EPOLL);
    BENCH_CHECK(loop);
    ev_io lw;
    ev_io_init(&lw, accept_cb, lfd, EV_READ);
    ev_io_start(loop, &lw);
    ev_signal sig;
    ev_signal_init(&sig, sigterm_cb, SIGTERM);
    ev_signal_start(loop, &sig);

    printf("ready\n");
    fflush(stdout);
    ev_run(loop, 0);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("rusage user_us=%lld sys_us=%lld\n",
           (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
           (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
    fflush(stdout);
    /* The connections still open go with the process. */
    ev_io_stop(loop, &lw);
    ev_signal_stop(loop, &sig);
    close(lfd);
    return failed;
}
