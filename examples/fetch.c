/* SPDX-License-Identifier: MIT */
/* An HTTP/1.1 client with one deadline for everything: the name lookup,
 * the happy-eyeballs connect, the request and the whole response. The
 * fetch is one coroutine run under fut_timeout: when the deadline passes,
 * whatever it is waiting on (the resolver, the connect attempts, a read)
 * is cancelled, and the stream closes through its asynchronous drop.
 *
 *     ./examples/fetch [-v] [-T SECONDS] http://HOST[:PORT][/PATH]
 *
 * The body goes to stdout; the status line, timing and errors to stderr
 * (-v: the connect attempts too). Exit 0 on a 2xx status, 1 on any other
 * status or error, 2 on bad usage or a bad URL. http:// only; a chunked
 * body is decoded.
 */
#include <errno.h>
#include <fut.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* After the deadline, or once the response is read, the server has no
 * reason to keep us waiting for its FIN: a silent one gets a reset. */
#define CLOSE_GRACE 0.1

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct fetch {
    fut base;
    fut_coro co;
    const char *target; /* "host:port" for fut_connect_name() */
    int verbose;
    fut_connect conn;
    fut_stream s; /* bound once connected: closed however we end */
    fut_stream_op op;
    const char *why; /* what was wrong with the response (then -EPROTO) */
    int status, chunked;
    long long left; /* body bytes still to read; -1: until end of file */
    unsigned long long body;
    double t0, t_conn, t_head;
    size_t reqlen;
    char req[2048];
    char line[8192]; /* one line of the head (the stream's buffer is 16 KiB) */
    char buf[16384];
};

static void trace(void *ud, enum fut_connect_event ev, int i, const fut_addr *a, int err)
{
    struct fetch *f = ud;
    char s[FUT_ADDR_STRLEN] = "";
    if (a)
        fut_addr_format(a, s, sizeof s);
    static const char *what[] = {"resolved", "started", "failed", "won", "lost, closed"};
    fprintf(stderr, "fetch: %7.1f ms  ", (now() - f->t0) * 1e3);
    if (ev == FUT_CONNECT_RESOLVED)
        fprintf(stderr, "resolved: %d address%s\n", i, i == 1 ? "" : "es");
    else
        fprintf(stderr, "attempt %d %s %s%s%s\n", i, s, what[ev], err ? ": " : "",
                err ? fut_strerror(err) : "");
}

/* The line in f->line (n bytes, '\n' included), without its CR LF. */
static char *chomp(struct fetch *f, ssize_t n)
{
    while (n > 0 && (f->line[n - 1] == '\n' || f->line[n - 1] == '\r'))
        n--;
    f->line[n] = 0;
    return f->line;
}

/* A response we cannot read. */
static int bad(struct fetch *f, const char *why)
{
    f->why = why;
    return -EPROTO;
}

/* Reads one line of the head into f->line. */
#define READ_LINE(f, cx) \
    do { \
        FUT_AWAIT(cx, fut_stream_read_line(&(f)->op, &(f)->s, (f)->line, sizeof(f)->line - 1)); \
        ssize_t n_ = fut_out(&(f)->op.base); \
        if (n_ == -EMSGSIZE) \
            FUT_RETURN(bad(f, "line too long")); \
        if (n_ < 0) \
            FUT_RETURN(n_); \
        if (n_ == 0 || (f)->line[n_ - 1] != '\n') \
            FUT_RETURN(bad(f, "connection closed in the middle of the head")); \
        chomp(f, n_); \
    } while (0)

/* Copies up to f->left bytes of body (all of it until end of file when
 * f->left is -1) to stdout. */
#define READ_BODY(f, cx) \
    while ((f)->left) { \
        FUT_AWAIT(cx, fut_stream_read(&(f)->op, &(f)->s, (f)->buf, \
                                      (f)->left > 0 && (f)->left < (long long)sizeof(f)->buf \
                                          ? (size_t)(f)->left \
                                          : sizeof(f)->buf)); \
        ssize_t n_ = fut_out(&(f)->op.base); \
        if (n_ < 0) \
            FUT_RETURN(n_); \
        if (n_ == 0 && (f)->left > 0) \
            FUT_RETURN(bad(f, "connection closed in the middle of the body")); \
        if (n_ == 0) \
            break; \
        fwrite((f)->buf, 1, (size_t)n_, stdout); \
        (f)->body += (unsigned long long)n_; \
        if ((f)->left > 0) \
            (f)->left -= n_; \
    }

static fut_status fetch_body(struct fetch *f, fut_cx *cx)
{
    FUT_BEGIN(&f->co);
    fut_connect_name(&f->conn, f->target, &f->s, NULL);
    if (f->verbose)
        fut_connect_set_trace(&f->conn, trace, f);
    FUT_AWAIT(cx, &f->conn.base); /* then dropped: its timers and lookup go */
    if (fut_out(&f->conn.base) < 0)
        FUT_RETURN(fut_out(&f->conn.base));
    FUT_BIND_ASYNC(&f->s.base);
    fut_stream_set_close_timeout(&f->s, CLOSE_GRACE);
    f->t_conn = now();

    FUT_AWAIT(cx, fut_stream_write(&f->op, &f->s, f->req, f->reqlen));
    if (fut_out(&f->op.base) < 0)
        FUT_RETURN(fut_out(&f->op.base));

    /* "HTTP/1.1 200 OK" */
    READ_LINE(f, cx);
    f->t_head = now();
    {
        char *end;
        if (strlen(f->line) < 12 || strncmp(f->line, "HTTP/1.", 7) || f->line[8] != ' ' ||
            (f->status = (int)strtol(f->line + 9, &end, 10)) < 100 || f->status > 999 ||
            end != f->line + 12)
            FUT_RETURN(bad(f, "not an HTTP/1.x status line"));
    }
    fprintf(stderr, "fetch: %s\n", f->line);

    /* Headers: only the two that say where the body ends matter here. */
    f->left = -1;
    for (;;) {
        READ_LINE(f, cx);
        if (!f->line[0])
            break;
        char *v = strchr(f->line, ':');
        if (!v)
            FUT_RETURN(bad(f, "malformed header line"));
        *v++ = 0;
        v += strspn(v, " \t");
        if (!strcasecmp(f->line, "content-length")) {
            char *end;
            f->left = strtoll(v, &end, 10);
            if (end == v || *end || f->left < 0)
                FUT_RETURN(bad(f, "bad Content-Length"));
        } else if (!strcasecmp(f->line, "transfer-encoding")) {
            if (strcasecmp(v, "chunked"))
                FUT_RETURN(bad(f, "unsupported Transfer-Encoding"));
            f->chunked = 1;
        }
    }
    if (f->status == 204 || f->status == 304 || f->status < 200)
        FUT_RETURN(f->status); /* no body, whatever the headers say */

    if (!f->chunked) {
        READ_BODY(f, cx);
        FUT_RETURN(f->status);
    }
    /* Chunked: "SIZE[;ext]" CR LF, SIZE bytes, CR LF; size 0 ends it,
     * then trailers up to an empty line. */
    for (;;) {
        READ_LINE(f, cx);
        {
            char *end;
            f->left = strtoll(f->line, &end, 16);
            if (end == f->line || (*end && *end != ';' && *end != ' ') || f->left < 0)
                FUT_RETURN(bad(f, "bad chunk size"));
        }
        if (!f->left)
            break;
        READ_BODY(f, cx);
        READ_LINE(f, cx);
        if (f->line[0])
            FUT_RETURN(bad(f, "chunk longer than its size"));
    }
    do
        READ_LINE(f, cx);
    while (f->line[0]);
    FUT_RETURN(f->status);
    FUT_END();
}
FUT_CORO_DEFINE(fetch, fetch_body);

static int usage(const char *why)
{
    fprintf(stderr, "fetch: %s\nusage: fetch [-v] [-T SECONDS] http://HOST[:PORT][/PATH]\n", why);
    return 2;
}

/* Splits an http:// URL into the connect target "host:port" and the
 * request. Returns NULL, or why the URL is bad. */
static const char *parse_url(struct fetch *f, const char *url, char *target, size_t size)
{
    if (strncasecmp(url, "http://", 7))
        return strstr(url, "://") ? "only http:// URLs are supported" : "not an http:// URL";
    const char *auth = url + 7, *rest = auth + strcspn(auth, "/?#");
    size_t alen = (size_t)(rest - auth);
    const char *host = auth, *hend, *port = NULL;
    if (memchr(auth, '@', alen))
        return "user names in URLs are not supported";
    if (*auth == '[') { /* [v6]:port */
        hend = memchr(auth, ']', alen);
        if (!hend)
            return "unterminated [IPv6 address]";
        hend++;
        if (hend < rest && *hend != ':')
            return "junk after the [IPv6 address]";
    } else {
        hend = memchr(auth, ':', alen);
        if (!hend)
            hend = rest;
    }
    if (hend < rest)
        port = hend + 1;
    if (hend == host || (*host == '[' && hend - host <= 2))
        return "no host in the URL";
    long p = 80;
    if (port) {
        char *end;
        p = port < rest && *port >= '0' && *port <= '9' ? strtol(port, &end, 10) : -1;
        if (p < 1 || p > 65535 || end != rest)
            return "bad port in the URL";
    }
    if (snprintf(target, size, "%.*s:%ld", (int)(hend - host), host, p) >= (int)size)
        return "host name too long";
    const char *path = *rest == '/' ? rest : "/";
    int plen = *rest == '/' ? (int)strcspn(rest, "#") : 1;
    int n = snprintf(f->req, sizeof f->req,
                     "GET %.*s HTTP/1.1\r\nHost: %.*s\r\nUser-Agent: libfut-fetch\r\n"
                     "Accept: */*\r\nConnection: close\r\n\r\n",
                     plen, path, (int)alen, auth);
    if (n < 0 || n >= (int)sizeof f->req)
        return "URL too long";
    f->reqlen = (size_t)n;
    f->target = target;
    return NULL;
}

int main(int argc, char **argv)
{
    static struct fetch f; /* 40 KiB: not on the stack */
    double deadline = 5.0;
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-T") && i + 1 < argc) {
            char *end;
            deadline = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(deadline > 0 && deadline < 1e6))
                return usage("-T wants a number of seconds > 0");
        } else if (!strcmp(argv[i], "-v")) {
            f.verbose = 1;
        } else if (argv[i][0] == '-' || url) {
            return usage("bad arguments");
        } else {
            url = argv[i];
        }
    }
    if (!url)
        return usage("no URL");
    char target[300];
    const char *why = parse_url(&f, url, target, sizeof target);
    if (why) {
        fprintf(stderr, "fetch: %s: %s\n", url, why);
        return 2;
    }

    fut_rt *rt;
    int err = fut_rt_new(&rt, NULL);
    if (err) {
        fprintf(stderr, "fetch: %s\n", fut_strerror(err));
        return 1;
    }
    f.t0 = now();
    fut_timeout t;
    ssize_t out;
    fut_rt_block_on(rt, fut_timeout_init(&t, FUT_CORO_INIT(&f, fetch), deadline, 0), &out);
    fut_drop(&t.base);
    double t1 = now();
    fflush(stdout);
    if (out == -ETIMEDOUT)
        fprintf(stderr, "fetch: %s: timed out after %g s (deadline %g s)\n", url, t1 - f.t0,
                deadline);
    else if (out < 0)
        fprintf(stderr, "fetch: %s: %s\n", url, f.why ? f.why : fut_strerror((int)out));
    else
        fprintf(stderr, "fetch: %llu bytes; connected %.1f ms, head %.1f ms, total %.1f ms\n",
                f.body, (f.t_conn - f.t0) * 1e3, (f.t_head - f.t0) * 1e3, (t1 - f.t0) * 1e3);
    fut_rt_free(rt);
    return out >= 200 && out < 300 ? 0 : 1;
}
