/* SPDX-License-Identifier: MIT */
/* B6 load client: closed-loop TCP echo load over epoll.
 *
 *     echo_client HOST PORT K SIZE SECONDS [MAXMSGS]
 *
 * Opens K connections to HOST:PORT (a numeric IPv4 address: the harness
 * only ever uses 127.0.0.1), keeps exactly one message of SIZE bytes in
 * flight on each (send, wait for the whole echo, check it, send the next),
 * and after a warm-up of 0.5 s counts for SECONDS the messages whose echo
 * completed, with the latency of each (CLOCK_MONOTONIC from the send to
 * the last byte of the echo). Prints one line
 *
 *     msgs=<int> msg/s=<float> p50_us=<float> p99_us=<float> total_msgs=<int>
 *
 * total_msgs counts every echo completed, warm-up included: the server's
 * CPU time divided by it is its CPU per message. With MAXMSGS, exactly
 * that many messages are sent in all (warm-up included), and the client
 * stops once they are echoed or SECONDS are over, whichever comes first:
 * bench/echo.sh counts system calls per message so, at MAXMSGS N and 2N,
 * whatever the server's speed under strace. Exits 1 when the server
 * closes a connection, stalls (no echo for 10 s) or fails to connect, and
 * 2 when an echo differs from what was sent (each message carries its
 * connection and sequence number, so a byte from another connection or an
 * earlier message is caught).
 *
 * The sockets are non-blocking, registered once with epoll for EPOLLIN
 * (level-triggered); EPOLLOUT is asked for only while a send is partial.
 * Single-threaded: pin it (taskset) away from the server.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "bench.h"

#define WARMUP 0.5
#define STALL 10.0

struct cn {
    int fd;
    int out_pending; /* EPOLLOUT registered: the send is partial */
    size_t sent, rcvd;
    uint64_t seq;
    double t0; /* when the message in flight was sent */
    unsigned char *tx, *rx;
};

static size_t size;
static int ep;

static void usage(void)
{
    fprintf(stderr, "usage: echo_client HOST PORT K SIZE SECONDS [MAXMSGS]\n");
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
    fprintf(stderr, "echo_client: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The message: byte i of connection c is a function of (c, i), the first
 * 8 bytes (fewer when SIZE < 8) hold the sequence number. */
static void fill(struct cn *c, long idx)
{
    for (size_t i = 0; i < size; i++)
        c->tx[i] = (unsigned char)(idx * 131 + i * 7 + 1);
}

static void stamp(struct cn *c)
{
    uint64_t s = c->seq;
    for (size_t i = 0; i < size && i < 8; i++, s >>= 8)
        c->tx[i] = (unsigned char)s;
}

static void set_out(struct cn *c, long idx, int on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
        die("epoll_ctl");
    c->out_pending = on;
}

/* Sends what is left of the message in flight. */
static void push(struct cn *c, long idx)
{
    while (c->sent < size) {
        ssize_t n = write(c->fd, c->tx + c->sent, size - c->sent);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            die("write");
        }
        c->sent += (size_t)n;
    }
    if ((c->sent < size) != c->out_pending)
        set_out(c, idx, c->sent < size);
}

static void send_next(struct cn *c, long idx, double now)
{
    c->seq++;
    stamp(c);
    c->sent = c->rcvd = 0;
    c->t0 = now;
    push(c, idx);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const uint32_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i] / 1e3;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7)
        usage();
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
        usage();
    sa.sin_port = htons((uint16_t)parse_num(argv[2], 1, 65535));
    long k = (long)parse_num(argv[3], 1, 100000);
    size = (size_t)parse_num(argv[4], 1, 1 << 20);
    double seconds = parse_num(argv[5], 0.01, 1e6);
    long maxmsgs = argc > 6 ? (long)parse_num(argv[6], 1, 1e12) : -1;
    signal(SIGPIPE, SIG_IGN);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
        rl.rlim_cur < (rlim_t)k + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    struct cn *cs = calloc((size_t)k, sizeof *cs);
    BENCH_CHECK(cs);
    for (long i = 0; i < k; i++) {
        struct cn *c = &cs[i];
        c->tx = malloc(size);
        c->rx = malloc(size);
        BENCH_CHECK(c->tx && c->rx);
        fill(c, i);
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

    /* Latencies in ns of the counted messages; grows as needed. */
    size_t nlat = 0, caplat = 1 << 20;
    uint32_t *lat = malloc(caplat * sizeof *lat);
    BENCH_CHECK(lat);
    long total = 0, started = 0; /* echoes completed, messages sent */

    double start = bench_now();
    double warm_end = start + WARMUP, t_end = warm_end + seconds;
    double last_progress = start;
    for (long i = 0; i < k && (maxmsgs < 0 || started < maxmsgs); i++, started++)
        send_next(&cs[i], i, start);

    struct epoll_event evs[256];
    double now = start;
    while (now < t_end && (maxmsgs < 0 || total < maxmsgs)) {
        int timeout = (int)((t_end - now) * 1e3) + 1;
        if (timeout > 100)
            timeout = 100;
        int ne = epoll_wait(ep, evs, 256, timeout);
        if (ne < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        now = bench_now();
        for (int e = 0; e < ne; e++) {
            long idx = (long)evs[e].data.u64;
            struct cn *c = &cs[idx];
            if ((evs[e].events & EPOLLOUT) && c->sent < size)
                push(c, idx);
            if (!(evs[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                continue;
            if (c->rcvd >= c->sent && c->sent < size) /* nothing sent yet to read back */
                continue;
            /* Never ask for more than is owed: a byte too many stays in the
             * socket and shows up as a mismatch in the next echo. */
            ssize_t n = read(c->fd, c->rx + c->rcvd, size - c->rcvd);
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    continue;
                die("read");
            }
            if (n == 0) {
                fprintf(stderr, "echo_client: connection %ld closed by the server\n", idx);
                return 1;
            }
            c->rcvd += (size_t)n;
            if (c->rcvd < size)
                continue;
            if (memcmp(c->rx, c->tx, size) != 0) {
                fprintf(stderr,
                        "echo_client: connection %ld: echo %llu differs from what was sent\n", idx,
                        (unsigned long long)c->seq);
                return 2;
            }
            total++;
            last_progress = now;
            if (now >= warm_end && now < t_end) {
                if (nlat == caplat) {
                    caplat *= 2;
                    lat = realloc(lat, caplat * sizeof *lat);
                    BENCH_CHECK(lat);
                }
                double d = (now - c->t0) * 1e9;
                lat[nlat++] = d > 4e9 ? 4000000000u : (uint32_t)d;
            }
            if (now < t_end && (maxmsgs < 0 || started < maxmsgs)) {
                send_next(c, idx, now);
                started++;
            }
        }
        if (now - last_progress > STALL) {
            fprintf(stderr, "echo_client: no echo for %.0f s\n", STALL);
            return 1;
        }
    }

    /* The measured window: cut short when MAXMSGS ran out first. */
    double window = (now < t_end ? now : t_end) - warm_end;
    qsort(lat, nlat, sizeof *lat, cmp_u32);
    printf("msgs=%zu msg/s=%.1f p50_us=%.2f p99_us=%.2f total_msgs=%ld\n", nlat,
           window > 0 ? (double)nlat / window : 0.0, pct_us(lat, nlat, 0.50),
           pct_us(lat, nlat, 0.99), total);
    fflush(stdout);
    for (long i = 0; i < k; i++) {
        close(cs[i].fd);
        free(cs[i].tx);
        free(cs[i].rx);
    }
    free(cs);
    free(lat);
    close(ep);
    return (maxmsgs > 0 ? total > 0 : nlat > 0) ? 0 : 1;
}
