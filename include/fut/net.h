/* SPDX-License-Identifier: MIT */
/* libfut: networking. Addresses, listeners, connects, streams whose
 * asynchronous drop is a graceful close, and UDP.
 *
 * Which way to read a socket:
 *   - a connection (TCP or a Unix stream socket): fut_stream, below. It
 *     buffers, has deadlines, and closes gracefully when dropped;
 *   - a datagram socket: fut_udp, below;
 *   - an fd that is not a socket, or a protocol that manages its own
 *     buffers: fut_fd (<fut/fd.h>), readiness and one read or write at a
 *     time;
 *   - kernel-owned buffers (io_uring): <fut/uring.h>.
 *
 * No library socket path raises SIGPIPE: writes to a socket use
 * MSG_NOSIGNAL and report -EPIPE. A stream opened on a pipe writes with
 * write(2), which does raise SIGPIPE when the reader is gone (ignore the
 * signal, or block it, if that can happen).
 *
 * Moving: the structs below are embeddable and may be moved (memcpy'd, or
 * copied into a task by fut_rt_spawn) until their first use registers their
 * fd with the runtime's loop: a stream's first op poll, a listener's first
 * accept poll, a UDP socket's first op poll. Moving one after that is a
 * bug the debug checks report, naming the object.
 *
 * Every function here runs on the runtime's thread. Errors are negative
 * errno values, or the resolver's codes of <fut/pool.h>; fut_strerror()
 * gives a text for each.
 */
#ifndef FUT_NET_H
#define FUT_NET_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fd.h"
#include "pool.h"
#include "rt.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- addresses -------------------------------------------------------------- */

/* A socket address: IPv4, IPv6 or Unix. Public, plain data: may be copied
 * freely. */
typedef struct fut_addr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
        struct sockaddr_un un;
        struct sockaddr_storage ss;
    } u;
    socklen_t len;
} fut_addr;

/* Parses a numeric address:
 *   "127.0.0.1:7000", "[::1]:7000", "[fe80::1%lo]:80" (scope by name or
 *   number), "unix:/path/to/socket", "unix:@abstract-name".
 * Ports are 0 to 65535 (0: the kernel picks one when binding). Returns 0,
 * or
 *   -EINVAL        NULL, or malformed (no port, junk after it, an empty
 *                  host, a host that is not a numeric address: resolve
 *                  names with fut_connect_name() or fut_dns_lookup());
 *   -ERANGE        the port is not in 0..65535;
 *   -ENAMETOOLONG  a Unix path longer than sun_path holds.
 * *a is unchanged on error. */
FUT_API int fut_addr_parse(fut_addr *a, const char *s);

/* Formats a in the syntax fut_addr_parse() reads. Returns the length
 * written (snprintf's rules: output truncated to size), or -EINVAL (NULL,
 * or an unknown family). FUT_ADDR_STRLEN always suffices. */
#define FUT_ADDR_STRLEN 128
FUT_API int fut_addr_format(const fut_addr *a, char *buf, size_t size);

/* The port of an IP address, 0 for a Unix one or NULL. */
FUT_API int fut_addr_port(const fut_addr *a);

/* --- streams ----------------------------------------------------------------
 *
 * A connected byte stream (TCP or Unix) on a registered fd: one persistent
 * watcher, a read buffer, a write buffer, deadlines, and a graceful close
 * as its asynchronous drop. The stream owns its fd.
 *
 * The stream is itself a future (the resource, like a scope): polling it
 * is READY at once with the fd; its drop closes it. Drop it however the
 * owner ends: FUT_BIND_ASYNC in a coroutine, fut_drop_async(), a task's
 * teardown, or fut_drop() from plain code.
 *
 * Graceful close (the stream's poll_drop):
 *   1. flush: what is left in the write buffer is sent;
 *   2. shutdown(SHUT_WR): the peer reads end of file after the last byte;
 *   3. drain: what the peer still sends is read and discarded until its
 *      end of file (its own close);
 *   4. close(2).
 * It waits on I/O in between (the owning task yields), and never
 * allocates. It escalates to an abortive close (SO_LINGER {1, 0} then
 * close: the peer sees a reset, unsent bytes are lost) when the teardown
 * is escalated past its drop budget (<fut/scope.h>), or when the stream's
 * close timeout passes (fut_stream_set_close_timeout(), default
 * FUT_STREAM_CLOSE_TIMEOUT seconds; this bounds a sync fut_drop() too,
 * which has no budget). Abortive closes are counted (stats net_aborts).
 * A write error during the flush is reported with fut_cx_report() (the
 * owner's scope sees it), and the close continues.
 *
 * One reader and one writer may use a stream at the same time, from one
 * task or two: read ops among themselves must not overlap, nor write ops
 * (flush and shutdown count as writes).
 */

#define FUT_STREAM_RBUF_DEFAULT 16384
#define FUT_STREAM_WBUF_DEFAULT 16384
#define FUT_STREAM_CLOSE_TIMEOUT 10.0

/* Buffers of a stream. Zero fields take the defaults. A buffer given by
 * the caller must stay valid until the stream is dropped; otherwise the
 * stream allocates it (library allocator) at open. */
struct fut_stream_opts {
    size_t rbuf_size; /* default FUT_STREAM_RBUF_DEFAULT */
    void *rbuf;       /* caller memory of rbuf_size bytes, or NULL */
    size_t wbuf_size; /* default FUT_STREAM_WBUF_DEFAULT */
    void *wbuf;       /* caller memory of wbuf_size bytes, or NULL */
};

/* Fields private. */
typedef struct fut_stream {
    fut base;
    fut_fd h; /* the registered fd (h.fd is the socket) */
    fut_rt *rt;
    unsigned flags;
    int err; /* sticky error of the connection */
    int close_state;
    unsigned char *rbuf;
    size_t rcap, rpos, rlen; /* buffered bytes: rbuf[rpos .. rpos+rlen) */
    unsigned char *wbuf;
    size_t wcap, wpos, wlen;   /* unsent bytes: wbuf[wpos .. wpos+wlen) */
    double rto, wto, ito, cto; /* read, write, idle, close timeouts (0: none) */
    double rsince, wsince;     /* when the pending read / write started waiting */
    double active;             /* last progress (idle timeout) */
    double close_at;           /* close deadline */
    double timer_at;           /* when the timer fires (INFINITY: not armed) */
    unsigned timedout;         /* FUT_READABLE / FUT_WRITABLE: a deadline fired */
    fut__timer timer;          /* its deadlines' timer */
} fut_stream;

/* Opens a stream on a connected socket fd (TCP or Unix stream; a pipe or
 * other fd works too, without shutdown). Takes ownership of fd on
 * success: the stream's drop closes it. Sets O_NONBLOCK. Nothing is
 * registered with the loop yet, so the stream may still be moved (copied
 * into a task) until its first op is polled. opts may be NULL.
 *
 * Returns 0, or -EINVAL (rt, s NULL, fd < 0, a caller buffer with size
 * 0), -EBADF (fd not open), -ENOMEM (buffers; fd stays the caller's). */
FUT_API int fut_stream_open(fut_rt *rt, fut_stream *s, int fd, const struct fut_stream_opts *opts);

/* Deadlines, in seconds; 0 (or INFINITY) disables one. O(1), no
 * allocation: call them any time, they apply to the ops pending now and
 * later.
 *   read:  a read op that waits longer than this for data;
 *   write: a write, flush or shutdown op that waits longer than this
 *          for room in the kernel's buffer;
 *   idle:  no byte read or written for this long while an op waits.
 * A deadline that passes completes the waiting op with -ETIMEDOUT; the
 * stream stays usable (nothing was lost, see each op). Returns 0, or
 * -EINVAL (NaN, negative). */
FUT_API int fut_stream_set_timeouts(fut_stream *s, double read, double write, double idle);

/* Bounds the graceful close (flush, shutdown and drain) to `seconds` from
 * its start; then it closes abortively. INFINITY: only the drop budget
 * bounds it. Returns 0, or -EINVAL. */
FUT_API int fut_stream_set_close_timeout(fut_stream *s, double seconds);

/* Closes at once, abortively (the peer sees a reset; buffered bytes are
 * lost). Ops still pending then complete with -EBADF when polled. The
 * stream must still be dropped (its drop is then READY at once). NULL is
 * a no-op. */
FUT_API void fut_stream_close_hard(fut_stream *s);

/* The fd, or -1 once closed. */
FUT_API int fut_stream_fd(const fut_stream *s);

/* Bytes buffered for reading, not yet handed out. */
FUT_API size_t fut_stream_buffered(const fut_stream *s);

/* Stream ops. One struct serves every op: initialise it with one of the
 * functions below, poll it to READY, then initialise it again for the
 * next message. A READY op holds nothing, so re-initialising it needs no
 * drop in between (the re-arm costs a few stores); an op that is not
 * READY must be dropped first. Fields private. Embeddable.
 *
 * Outputs common to every op: -EBADF (the stream was closed, or the
 * runtime freed), -ETIMEDOUT (a deadline, see above), -ECANCELED (polled
 * under a cancelled context while it had to wait), -ECONNRESET (the peer
 * reset the connection), -EPIPE (writing after the peer closed), and any
 * other errno of recv/send.
 *
 * Dropping an op while it is pending (cancellation) never blocks and
 * never loses a byte:
 *   - a read op consumes nothing until it is READY, except
 *     fut_stream_read_exact(), whose bytes already copied into the
 *     caller's buffer are counted by fut_stream_op_done();
 *   - a write op has handed exactly fut_stream_op_done() bytes to the
 *     kernel or the write buffer: those reach the peer (the graceful close
 *     flushes them), the rest are not sent. */
typedef struct fut_stream_op {
    fut base;
    fut_stream *s;
    unsigned char *buf;
    size_t len, done;
    int kind, delim;
    int waiting;
} fut_stream_op;

/* Reads what is available, at most len bytes (len > 0), waiting for at
 * least one. Output: the byte count, 0 at the peer's end of file. */
FUT_API fut *fut_stream_read(fut_stream_op *op, fut_stream *s, void *buf, size_t len);

/* Reads exactly len bytes. Output: len; -EPIPE when the peer's end of file
 * comes first (the bytes received are in buf, counted by
 * fut_stream_op_done()). */
FUT_API fut *fut_stream_read_exact(fut_stream_op *op, fut_stream *s, void *buf, size_t len);

/* Reads up to and including the first `delim` byte, copying at most max
 * bytes into buf (max <= the read buffer's size). Output: the length
 * copied, delimiter included; at the peer's end of file, what was left
 * without a delimiter (> 0), then 0. -EMSGSIZE when max bytes arrived
 * without a delimiter (nothing consumed: the bytes stay buffered, read
 * them with fut_stream_read()); -EINVAL when max is 0 or exceeds the
 * read buffer. */
FUT_API fut *fut_stream_read_until(fut_stream_op *op, fut_stream *s, void *buf, size_t max,
                                   int delim);

/* Reads what is available into the stream's read buffer, for parsers that
 * work in place (fut_stream_peek(), fut_stream_consume()): waits until at
 * least one byte more than now is buffered. Output: the bytes buffered
 * (> 0); 0 at the peer's end of file (what is buffered stays readable);
 * -EMSGSIZE when the buffer is full (consume, or give up). Dropping it
 * while pending loses nothing. */
FUT_API fut *fut_stream_fill(fut_stream_op *op, fut_stream *s);

/* The bytes buffered for reading, in place: *len of them (0 when none),
 * valid until the next op or fut_stream_consume(). */
FUT_API const unsigned char *fut_stream_peek(const fut_stream *s, size_t *len);

/* Drops n buffered bytes (at most fut_stream_buffered()) from the front. */
FUT_API void fut_stream_consume(fut_stream *s, size_t n);

/* fut_stream_read_until(op, s, buf, max, '\n'). */
FUT_API fut *fut_stream_read_line(fut_stream_op *op, fut_stream *s, void *buf, size_t max);

/* Writes all of buf: sends what the kernel takes at once, keeps the rest
 * in the write buffer, and waits only when that is full. Output: len once
 * every byte is in the kernel or the write buffer (see
 * fut_stream_flush()); -EPIPE after fut_stream_shutdown(). Bytes left in
 * the write buffer are sent by the next write, flush, shutdown or read
 * op, and by the graceful close. buf must stay valid until READY or
 * dropped. */
FUT_API fut *fut_stream_write(fut_stream_op *op, fut_stream *s, const void *buf, size_t len);

/* Waits until the write buffer is empty (every byte in the kernel).
 * Output: 0. */
FUT_API fut *fut_stream_flush(fut_stream_op *op, fut_stream *s);

/* Flushes, then shuts writing down (the peer reads end of file); reading
 * goes on. Output: 0. Later writes give -EPIPE. On a non-socket fd the
 * flush only. */
FUT_API fut *fut_stream_shutdown(fut_stream_op *op, fut_stream *s);

/* Bytes the op has transferred so far (see cancellation above). */
FUT_API size_t fut_stream_op_done(const fut_stream_op *op);

/* --- listeners --------------------------------------------------------------- */

#define FUT_LISTEN_REUSEPORT 0x1u /* SO_REUSEPORT: several listeners share the port */
#define FUT_LISTEN_V6ONLY 0x2u    /* "[::]" accepts IPv6 only (default: dual-stack) */
#define FUT_LISTEN_BACKLOG 511

/* A listening socket. It is a future like a stream (READY at once with its
 * fd); its drop (sync, never blocks) closes it and unlinks the socket path
 * it created for a Unix address (not an abstract one). Fields private. */
typedef struct fut_listener {
    fut base;
    fut_fd h;
    fut_rt *rt;
    fut_addr addr; /* the bound address (the kernel's port) */
    unsigned flags;
    int state;
    fut_waker *waker; /* waiting out an fd shortage */
    fut__timer timer; /* its back-off timer */
    double backoff;
    unsigned long backoffs; /* EMFILE/ENFILE back-offs */
    unsigned long accepted;
} fut_listener;

/* Binds and listens, synchronously: SO_REUSEADDR (IP), SO_REUSEPORT with
 * FUT_LISTEN_REUSEPORT, dual-stack for "[::]" unless FUT_LISTEN_V6ONLY,
 * CLOEXEC and NONBLOCK. addr is numeric (fut_addr_parse()); port 0 lets
 * the kernel pick one (fut_listener_addr() tells which). A Unix path that
 * exists is not removed: -EADDRINUSE. backlog <= 0: FUT_LISTEN_BACKLOG.
 * Nothing is registered with the loop before the first accept: the
 * listener may be moved until then.
 *
 * Returns 0, or the errors of fut_addr_parse(), -EINVAL (rt, l NULL), and
 * the errno of socket/bind/listen (-EADDRINUSE, -EACCES, -EMFILE, ...);
 * nothing is left open on error. */
FUT_API int fut_listener_open(fut_rt *rt, fut_listener *l, const char *addr, int backlog,
                              unsigned flags);
FUT_API int fut_listener_open_addr(fut_rt *rt, fut_listener *l, const fut_addr *addr, int backlog,
                                   unsigned flags);

/* The bound address. */
FUT_API const fut_addr *fut_listener_addr(const fut_listener *l);

/* The listener's fd, -1 once closed. */
FUT_API int fut_listener_fd(const fut_listener *l);

/* How often accepting backed off because the process or system was out
 * of fds (EMFILE, ENFILE, ENOBUFS, ENOMEM). */
FUT_API unsigned long fut_listener_backoffs(const fut_listener *l);

/* Accepts one connection. With `into`, the connection is opened as a
 * stream there (fut_stream_open() with opts, which may be NULL); without,
 * the caller owns the fd. Output: the new fd (>= 0, CLOEXEC and
 * NONBLOCK), or -EBADF (listener closed), -ECANCELED, -ENOMEM (the
 * stream's buffers; the connection is closed), or another errno of
 * accept4. ECONNABORTED and EINTR are retried. When the process is out of
 * fds (EMFILE, ENFILE) the accept does not spin: it stops watching the
 * listener and retries from a timer (10 ms, doubling to 1 s), and
 * resumes once fds are free; each back-off is counted
 * (fut_listener_backoffs(), stats net_accept_backoffs).
 *
 * Dropping it while pending loses nothing: a connection not yet accepted
 * stays in the kernel's queue for the next accept. Sync drop, never
 * blocks. One accept at a time per listener. Fields private. */
typedef struct fut_accept {
    fut base;
    fut_listener *l;
    fut_stream *into;
    struct fut_stream_opts opts;
    int has_opts;
    fut_addr peer;
} fut_accept;

FUT_API fut *fut_accept_init(fut_accept *a, fut_listener *l, fut_stream *into,
                             const struct fut_stream_opts *opts);

/* The peer's address once READY. */
FUT_API const fut_addr *fut_accept_peer(const fut_accept *a);

/* --- connect ------------------------------------------------------------------ */

#define FUT_CONNECT_MAX_ADDRS 16
#define FUT_CONNECT_ATTEMPT_DELAY 0.250 /* RFC 8305's recommended value */

/* What a connect attempt went through, for fut_connect_set_trace(). */
enum fut_connect_event {
    FUT_CONNECT_RESOLVED, /* the name resolved; i == address count */
    FUT_CONNECT_START,    /* attempt i started */
    FUT_CONNECT_FAILED,   /* attempt i failed (err) */
    FUT_CONNECT_WON,      /* attempt i connected first */
    FUT_CONNECT_CLOSED    /* attempt i lost, and its socket is closed */
};
typedef void (*fut_connect_trace_fn)(void *ud, enum fut_connect_event ev, int i,
                                     const fut_addr *addr, int err);

/* Connects to one address, or races several (happy eyeballs, RFC 8305):
 * families interleaved (IPv6 first), a new attempt started every attempt
 * delay or as soon as the previous one failed, the first to connect wins.
 * The losers' sockets are closed before the connect is READY. Output: the
 * connected fd (>= 0), opened as a stream in `into` when given (then the
 * stream owns it), else the caller's. Errors:
 *   -ECONNREFUSED  every address refused (the last attempt's error is the
 *                  output when they failed differently);
 *   -ETIMEDOUT     the deadline (fut_connect_set_timeout()) passed;
 *   -ENETUNREACH, -EHOSTUNREACH, -EADDRNOTAVAIL  as connect(2) says;
 *   the resolver's codes (FUT_EAI_* of <fut/pool.h>) for names;
 *   -EINVAL, -ECANCELED, -ENOMEM.
 * Dropping it while pending closes every attempt's socket and cancels a
 * lookup in flight (without waiting for the resolver); nothing is
 * connected afterwards. Sync drop, never blocks. Fields private. */
typedef struct fut_connect {
    fut base;
    fut_rt *rt;
    fut_stream *into;
    struct fut_stream_opts opts;
    int has_opts;
    int state;
    int err;
    fut_addr addrs[FUT_CONNECT_MAX_ADDRS];
    int fds[FUT_CONNECT_MAX_ADDRS];
    unsigned naddrs, next, live;
    unsigned fired; /* attempts whose socket became writable */
    int sleeping;   /* the attempt delay's sleep is live */
    double delay, timeout;
    const char *name;
    fut_connect_trace_fn trace;
    void *trace_ud;
    fut_waker *waker;
    fut_sleep deadline;
    fut_sleep attempt;
    fut_dns dns;
    char host[256];
    char port[8];
    fut__watcher ios[FUT_CONNECT_MAX_ADDRS]; /* one ev_io per attempt */
} fut_connect;

/* Connects to a parsed address. */
FUT_API fut *fut_connect_init(fut_connect *c, const fut_addr *addr, fut_stream *into,
                              const struct fut_stream_opts *opts);

/* Races up to FUT_CONNECT_MAX_ADDRS addresses, in the order given
 * (interleave the families yourself, or use fut_connect_name()). */
FUT_API fut *fut_connect_addrs(fut_connect *c, const fut_addr *addrs, size_t n, fut_stream *into,
                               const struct fut_stream_opts *opts);

/* Connects to "host:port" (or "[v6]:port", or "unix:..."): a numeric host
 * is connected to directly, a name is resolved on the pool
 * (fut_dns_lookup()) and its addresses raced, families interleaved.
 * `target` is copied. */
FUT_API fut *fut_connect_name(fut_connect *c, const char *target, fut_stream *into,
                              const struct fut_stream_opts *opts);

/* Options, before the first poll. Each returns 0 or -EINVAL (NaN,
 * negative, already polled). The timeout covers the lookup and every
 * attempt (default: none, only the kernel's own SYN timeout bounds an
 * attempt). */
FUT_API int fut_connect_set_timeout(fut_connect *c, double seconds);
FUT_API int fut_connect_set_attempt_delay(fut_connect *c, double seconds);
FUT_API int fut_connect_set_trace(fut_connect *c, fut_connect_trace_fn fn, void *ud);

/* --- UDP ------------------------------------------------------------------------
 *
 * A datagram socket (IPv4 or IPv6) on a registered fd, and one-shot send
 * and receive ops on it. Nothing is buffered by the library: each op is
 * one sendto/recvmsg, tried at once, and waits for readiness only when
 * the kernel says EAGAIN.
 *
 * Several ops may be pending on one socket at once, from one task or
 * several: a send and a receive never disturb each other; two ops of the
 * same direction share the fd's slot and spare (<fut/fd.h>), more than
 * two take turns: they wake each other in rotation while the socket is
 * not ready, a busy loop, so keep it to two.
 *
 * Threads: every function here, and polling or dropping a fut_udp or an
 * op, on the runtime's thread only.
 */

/* A datagram socket. It is a future like a listener: polling it is READY
 * at once with the fd (-EBADF once dropped); its drop (sync, never
 * blocks, hard: nothing is pending in a datagram socket that a graceful
 * close could save) closes the socket. The fd is registered with the
 * runtime's loop at the first op poll: until then the struct may be
 * moved (memcpy'd, copied into a task by fut_rt_spawn), afterwards not (the
 * debug checks report it, and the op completes with -EINVAL). Ops must
 * be polled on the runtime given to fut_udp_open(). When that runtime is
 * freed after the socket's first op, later ops complete with -EBADF; a
 * socket never used before its runtime was freed must not be used at all.
 * Either way the fut_udp must still be dropped (that closes the socket).
 * Fields private. */
typedef struct fut_udp {
    fut base;
    fut_fd h; /* the registered fd (h.fd is the socket) */
    fut_rt *rt;
    fut_addr local; /* the bound address (the kernel's port) */
    unsigned flags;
} fut_udp;

/* Opens a UDP socket (CLOEXEC, NONBLOCK) bound to `bind_addr` and, when
 * `peer` is not NULL, connected to it: then sends may omit the address,
 * only the peer's datagrams are received, and ICMP errors about it (a
 * closed port: -ECONNREFUSED) are reported by the next op. Both are
 * numeric (fut_addr_parse(): "127.0.0.1:53", "[::1]:0"); port 0 in
 * bind_addr lets the kernel pick one (fut_udp_addr() tells which).
 * bind_addr NULL: an ephemeral port on the wildcard address of peer's
 * family. An IPv6 socket keeps the system's IPV6_V6ONLY default (Linux:
 * dual-stack, IPv4 peers then appear as ::ffff:a.b.c.d). No SO_REUSEADDR.
 * Synchronous; nothing is registered with the loop yet.
 *
 * Returns 0, or
 *   -EINVAL   rt or u NULL; bind_addr and peer both NULL; a Unix address;
 *             bind_addr and peer of different families;
 *   the errors of fut_addr_parse() (-EINVAL malformed, -ERANGE port);
 *   the errno of socket/bind/connect (-EADDRINUSE, -EADDRNOTAVAIL,
 *   -EACCES, -EMFILE, -EAFNOSUPPORT without IPv6, ...).
 * On error nothing is left open and *u is not a future (do not drop it). */
FUT_API int fut_udp_open(fut_rt *rt, fut_udp *u, const char *bind_addr, const char *peer);

/* The bound address (its port is the kernel's choice when 0 was asked);
 * NULL for NULL. Valid until u is dropped. */
FUT_API const fut_addr *fut_udp_addr(const fut_udp *u);

/* A send or a receive. Initialise it with fut_udp_send() or
 * fut_udp_recv(), poll it to READY; a READY op holds nothing and may be
 * initialised again at once. Embeddable, no allocation. Fields private.
 *
 * Output: the byte count (a datagram may be empty: 0 is a datagram, not
 * an end of file), or
 *   -EINVAL        u NULL, buf NULL with len > 0; u moved after its
 *                  first op (reported by the debug checks);
 *   -EBADF         u was dropped, or its runtime freed;
 *   -ECANCELED     polled under a cancelled context while it had to wait
 *                  (nothing was sent or received);
 *   -EDESTADDRREQ  a send without address on an unconnected socket;
 *   -ECONNREFUSED  connected socket: an earlier datagram met a closed
 *                  port (the ICMP error is reported once, by whichever
 *                  op comes first);
 *   -EMSGSIZE      a send larger than a datagram can be;
 *   any other errno of sendto/recvmsg (-ENETUNREACH, -EAFNOSUPPORT, ...).
 *
 * Cancellation: dropping an op while it is pending never blocks and loses
 * nothing. A receive takes a datagram off the queue only when it is READY
 * with it: a pending one dropped leaves every datagram queued for the
 * next receive. A send is one syscall: dropped while pending, its
 * datagram was not sent (it never is half sent). The drop keeps the
 * task's waker in the socket's slot (as a stream does): the task may see
 * one spurious wake, and the socket's drop releases it. */
typedef struct fut_udp_op {
    fut base;
    fut_udp *u;
    void *buf;
    size_t len;
    int send;
    int truncated;
    fut_addr peer; /* send: the destination; recv: the sender */
    int has_peer;
} fut_udp_op;

/* Sends one datagram of len bytes (0 allowed) to `to`, or to the
 * connected peer when `to` is NULL. *to is copied: it need not outlive
 * this call; buf must stay valid until the op is READY or dropped. Waits
 * only while the socket's send buffer is full. MSG_NOSIGNAL. */
FUT_API fut *fut_udp_send(fut_udp_op *op, fut_udp *u, const void *buf, size_t len,
                          const fut_addr *to);

/* Receives one datagram into buf (len 0 with buf NULL: takes the next
 * datagram and discards it). Output: the bytes copied, at most len; a
 * longer datagram's rest is discarded (as recvfrom does) and
 * fut_udp_op_truncated() is then 1. buf must stay valid until the op is
 * READY or dropped. */
FUT_API fut *fut_udp_recv(fut_udp_op *op, fut_udp *u, void *buf, size_t len);

/* A READY receive: the datagram's sender. A send: its destination (NULL
 * when it went to the connected peer). NULL otherwise (also for a NULL
 * op, or a receive that failed). */
FUT_API const fut_addr *fut_udp_op_peer(const fut_udp_op *op);

/* 1 when the datagram a READY receive got did not fit in its buffer; 0
 * otherwise. */
FUT_API int fut_udp_op_truncated(const fut_udp_op *op);

#ifdef __cplusplus
}
#endif

#endif
