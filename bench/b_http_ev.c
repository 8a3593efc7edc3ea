/* SPDX-License-Identifier: MIT */
/* B9, raw libev floor: an HTTP/1.1 "hello" server on 127.0.0.1.
 *
 *     b_http_ev PORT
 *
 * The contract of bench/WORKLOADS.md, B9 (as for B6's echo servers):
 * prints `ready` once listening, answers, and on SIGTERM prints `rusage
 * user_us=<int> sys_us=<int>` (its getrusage(RUSAGE_SELF)) and exits 0.
 * One thread, one epoll loop.
 *
 * What it answers: `GET /` with
 *
 *     HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello
 *
 * and keeps the connection open (HTTP/1.1 keep-alive; an HTTP/1.0 request
 * is answered and closed unless it asks for keep-alive). Another target
 * or method gets 404; a request line that is not `METHOD SP TARGET SP
 * HTTP/1.x` gets 400, a head (request line and headers) over 8 KiB gets
 * 431, and both close the connection after the answer, as does a request
 * with `Connection: close` (answered with `Connection: close`). A body
 * announced by Content-Length is read and dropped; Transfer-Encoding is
 * not supported (501, then close). A close is a shutdown(SHUT_WR) and a
 * close(2), without nginx's lingering: bytes the client sent after the
 * request that closes may make the kernel answer them with a reset.
 *
 * The equivalent chosen, the cheapest idiomatic path on libev: an ev_io on
 * the listening socket accepts until EAGAIN (accept4, non-blocking); each
 * connection is a malloc'd struct with a read watcher started once and
 * left started, and a write watcher used only when the kernel does not
 * take a whole answer at once (then reading stops until it drained). One
 * read(2) per readiness into a 16 KiB buffer; every complete request in it
 * is answered (pipelining), the answers are gathered in an output buffer
 * and go out with one write(2) per batch. Steady state per request (one
 * in flight): one read, one write, a share of epoll_wait, no epoll_ctl.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4, memmem */
#endif
#include <arpa/inet.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "bench.h"

#define INSZ 16384    /* read buffer */
#define HEAD_MAX 8192 /* request line + headers, "\r\n\r\n" included */

static const char resp_200[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello";
static const char resp_200_close[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: "
                                     "text/plain\r\nConnection: close\r\n\r\nhello";
static const char resp_404[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
static const char resp_404_close[] =
    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char resp_400[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
static const char resp_431[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                               "Content-Length: 0\r\nConnection: close\r\n\r\n";
static const char resp_501[] =
    "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

struct conn {
    ev_io r; /* first member: the callbacks cast back */
    ev_io w;
    size_t inlen;            /* bytes in in[] */
    size_t scanned;          /* in[0..scanned) holds no "\r\n\r\n" end yet */
    unsigned long long skip; /* body bytes still to drop */
    int closing;             /* close once out[] is written */
    char *out;               /* answers not yet written: out[outoff..outlen) */
    size_t outoff, outlen, outcap;
    char in[INSZ];
};

static int failed; /* the accept loop hit an error */

static void conn_free(struct ev_loop *loop, struct conn *c)
{
    ev_io_stop(loop, &c->r);
    ev_io_stop(loop, &c->w);
    close(c->r.fd);
    free(c->out);
    free(c);
}

static int out_add(struct conn *c, const char *s, size_t n)
{
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 1024;
        while (cap < c->outlen + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p)
            return -1;
        c->out = p;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, s, n);
    c->outlen += n;
    return 0;
}

#define OUT_ADD(c, lit) out_add((c), (lit), sizeof(lit) - 1)

/* Case-insensitive: does [p, p+n) begin with the lowercase `lit`? */
static int starts_ci(const char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && strncasecmp(p, lit, l) == 0;
}

/* Does the comma-separated header value [v, v+n) hold the token `tok`
 * (lowercase), case-insensitively? */
static int has_token(const char *v, size_t n, const char *tok)
{
    size_t l = strlen(tok);
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == l && strncasecmp(v + s, tok, l) == 0)
            return 1;
    }
    return 0;
}

static int is_tchar(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* The request line h[0..eol) (eol at its '\r', followed by '\n'):
 * METHOD SP TARGET SP HTTP/1.x. 0 and the two spaces when it is one. */
static int request_line(const char *h, const char *eol, const char **sp1p, const char **sp2p)
{
    const char *sp1, *sp2;
    for (sp1 = h; sp1 < eol && is_tchar((unsigned char)*sp1); sp1++)
        ;
    if (sp1 == h || sp1 >= eol || *sp1 != ' ')
        return -1;
    for (sp2 = sp1 + 1; sp2<eol && * sp2> ' ' && *sp2 != 0x7f; sp2++)
        ;
    if (sp2 == sp1 + 1 || sp2 >= eol || *sp2 != ' ')
        return -1;
    if (eol - (sp2 + 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
        (sp2[8] != '0' && sp2[8] != '1') || eol[1] != '\n')
        return -1;
    *sp1p = sp1;
    *sp2p = sp2;
    return 0;
}

/* Answers one request whose head is h[0..len) (len counts the final
 * "\r\n\r\n"): appends the answer to out[], sets c->closing and c->skip.
 * -1 when out of memory. */
static int answer(struct conn *c, const char *h, size_t len)
{
    const char *end = h + len - 2; /* the head's last line ends at end */
    const char *p, *sp1, *sp2, *eol = memchr(h, '\r', len);
    if (request_line(h, eol, &sp1, &sp2) != 0)
        goto bad;
    int http10 = sp2[8] == '0';
    int close_req = http10, te = 0;
    unsigned long long clen = 0;
    int have_clen = 0;

    /* The header lines: NAME ":" VALUE CRLF; folded lines are refused. */
    for (p = eol + 2; p < end; p = eol + 2) {
        eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol || eol[1] != '\n')
            goto bad;
        const char *colon = p;
        while (colon < eol && is_tchar((unsigned char)*colon))
            colon++;
        if (colon == p || colon >= eol || *colon != ':')
            goto bad;
        const char *v = colon + 1;
        size_t nl = (size_t)(colon - p), vl = (size_t)(eol - v);
        if (nl == 10 && starts_ci(p, nl, "connection")) {
            if (has_token(v, vl, "close"))
                close_req = 1;
            else if (http10 && has_token(v, vl, "keep-alive"))
                close_req = 0;
        } else if (nl == 14 && starts_ci(p, nl, "content-length")) {
            while (vl && (*v == ' ' || *v == '\t'))
                v++, vl--;
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (!vl || have_clen)
                goto bad;
            unsigned long long x = 0;
            for (size_t i = 0; i < vl; i++) {
                if (v[i] < '0' || v[i] > '9' || x > (1ULL << 60))
                    goto bad;
                x = x * 10 + (unsigned)(v[i] - '0');
            }
            clen = x;
            have_clen = 1;
        } else if (nl == 17 && starts_ci(p, nl, "transfer-encoding")) {
            te = 1;
        }
    }
    if (te) {
        c->closing = 1;
        return OUT_ADD(c, resp_501);
    }
    c->skip = clen;
    c->closing = close_req;
    if (sp1 - h == 3 && memcmp(h, "GET", 3) == 0 && sp2 - sp1 == 2 && sp1[1] == '/')
        return close_req ? OUT_ADD(c, resp_200_close) : OUT_ADD(c, resp_200);
    return close_req ? OUT_ADD(c, resp_404_close) : OUT_ADD(c, resp_404);
bad:
    c->closing = 1;
    return OUT_ADD(c, resp_400);
}

/* Answers every complete request in in[] (and drops the bodies), stopping
 * at the first one that closes the connection. -1 when out of memory. */
static int parse(struct conn *c)
{
    size_t pos = 0;
    while (!c->closing) {
        if (c->skip) {
            size_t d = c->inlen - pos < c->skip ? c->inlen - pos : (size_t)c->skip;
            pos += d;
            c->skip -= d;
            if (c->skip)
                break;
        }
        /* Empty lines before a request line are ignored (RFC 9112, 2.2). */
        while (pos + 2 <= c->inlen && c->in[pos] == '\r' && c->in[pos + 1] == '\n')
            pos += 2;
        size_t avail = c->inlen - pos;
        if (!avail)
            break;
        /* Resume the search where the last one stopped (3 bytes back:
         * the end may straddle two reads). */
        size_t from = c->scanned > pos + 3 ? c->scanned - 3 : pos;
        char *e = memmem(c->in + from, c->inlen - from, "\r\n\r\n", 4);
        if (!e) {
            c->scanned = c->inlen;
            /* An incomplete head: refused at once when it is too long, or
             * when its request line is complete and wrong. */
            const char *h = c->in + pos, *eol = memchr(h, '\n', avail), *s1, *s2;
            if (avail >= HEAD_MAX) {
                c->closing = 1;
                if (OUT_ADD(c, resp_431) < 0)
                    return -1;
            } else if (eol && (eol == h || request_line(h, eol - 1, &s1, &s2) != 0)) {
                c->closing = 1;
                if (OUT_ADD(c, resp_400) < 0)
                    return -1;
            }
            break;
        }
        size_t hl = (size_t)(e + 4 - (c->in + pos));
        if (hl > HEAD_MAX) {
            c->closing = 1;
            if (OUT_ADD(c, resp_431) < 0)
                return -1;
            break;
        }
        if (answer(c, c->in + pos, hl) < 0)
            return -1;
        pos += hl;
        c->scanned = pos;
    }
    if (c->closing) {
        c->inlen = c->scanned = 0;
        return 0;
    }
    if (pos) {
        memmove(c->in, c->in + pos, c->inlen - pos);
        c->inlen -= pos;
        c->scanned = c->scanned > pos ? c->scanned - pos : 0;
    }
    return 0;
}

/* Writes what is left of out[]; 1 when all of it went, 0 when the kernel
 * is full, -1 on an error. */
static int flush(struct conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = write(c->r.fd, c->out + c->outoff, c->outlen - c->outoff);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->outoff += (size_t)n;
    }
    c->outoff = c->outlen = 0;
    return 1;
}

/* After parse(): writes the batch; closes, or waits for the socket to
 * drain, as needed. */
static void send_batch(struct ev_loop *loop, struct conn *c)
{
    int r = c->outlen ? flush(c) : 1;
    if (r < 0 || (r > 0 && c->closing)) {
        /* The answer went (or cannot go): a half-close lets the client read
         * it before the close. */
        if (r > 0)
            shutdown(c->r.fd, SHUT_WR);
        conn_free(loop, c);
    } else if (r == 0) { /* the rest when the socket drains */
        ev_io_stop(loop, &c->r);
        ev_io_start(loop, &c->w);
    }
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct conn *c = (struct conn *)((char *)w - offsetof(struct conn, w));
    int r = flush(c);
    if (r < 0 || (r > 0 && c->closing)) {
        if (r > 0)
            shutdown(c->r.fd, SHUT_WR);
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
    ssize_t n = read(w->fd, c->in + c->inlen, sizeof c->in - c->inlen);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return;
        conn_free(loop, c);
        return;
    }
    if (n == 0) { /* the client is done (a partial request is dropped) */
        conn_free(loop, c);
        return;
    }
    c->inlen += (size_t)n;
    if (parse(c) < 0) {
        conn_free(loop, c);
        return;
    }
    send_batch(loop, c);
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
                fprintf(stderr, "b_http_ev: accept: %s\n", strerror(errno));
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
        c->inlen = c->scanned = 0;
        c->skip = 0;
        c->closing = 0;
        c->out = NULL;
        c->outoff = c->outlen = c->outcap = 0;
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
        fprintf(stderr, "usage: b_http_ev PORT\n");
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    BENCH_CHECK(fd >= 0);
    int one = 1;
    BENCH_CHECK(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "b_http_ev: bind 127.0.0.1:%ld: %s\n", port, strerror(errno));
        exit(1);
    }
    BENCH_CHECK(listen(fd, 4096) == 0);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: b_http_ev PORT\n");
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
