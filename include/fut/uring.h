/* SPDX-License-Identifier: MIT */
/* libfut: I/O through io_uring, with buffers the kernel owns while an
 * operation is in flight.
 *
 * Each runtime has at most one ring, set up at its first operation (or
 * at the first fut_rt_uring_active() call). The ring's completions reach
 * the runtime's own libev loop through an eventfd registered with the
 * ring and watched by an ev_io: the epoll reactor stays the one loop,
 * and io_uring operations mix freely with every other future. Submission
 * queue entries prepared while tasks are polled are submitted in one
 * batch (one io_uring_enter) before the loop next blocks.
 *
 * The operations are futures on one embeddable struct, fut_uring_op:
 * read, write (files, pipes, any fd), recv, send and accept (sockets),
 * and a timeout. Output: what the syscall would return (a byte count, the
 * accepted fd, 0 for an expired timeout), or a negative errno. Polled
 * under a cancelled context (see fut_cx_cancelled()) an operation not yet
 * submitted completes with -ECANCELED; one in flight is cancelled as by a
 * drop, and its output is whatever its completion says: -ECANCELED, or
 * the data if it completed anyway.
 *
 * Buffers, and the address and length of an accept: they belong to the
 * caller, who must keep them valid until the future is READY or its drop
 * completed (poll_drop READY, or fut_drop() returned) -- the same rule as
 * fut_file_pread() in <fut/pool.h>. Until then the kernel may still write
 * into them; afterwards it never does.
 *
 * Cancelling (dropping) an operation in flight submits
 * IORING_OP_ASYNC_CANCEL for it, and the teardown stays PENDING until the
 * operation's own completion arrives: cancelled, or completed anyway (the
 * race is inherent: data that was read then is lost to the caller, a
 * socket that was accepted is closed). The sync drop (fut_drop()) blocks
 * until then through a nested loop (the other tasks keep running). A
 * drop escalated past its budget still waits for the completion: the
 * kernel is the one holding the buffer. Cancellation is prompt except for
 * work the kernel already started on a worker thread (a regular file's
 * read); that finishes first.
 *
 * The fallback. When the ring cannot be set up -- libfut built without
 * liburing (configure --without-liburing), a kernel without io_uring or
 * without the operations used here (Linux < 5.6), io_uring disabled
 * (seccomp, the kernel.io_uring_disabled sysctl, a sandbox or a tool that
 * does not support it), or FUT_NO_URING set to anything but "" or "0" in
 * the environment when the ring would be set up -- the same futures run
 * on the rest of the library, with the same outputs, buffer rule and
 * cancellation guarantees:
 *   - read and write on a regular file or a block device: a job on the
 *     runtime's thread pool (fut_job, <fut/pool.h>) doing pread/pwrite,
 *     or read/write at the current position for offset -1; cancelling a
 *     job that already runs waits for it, like fut_file_pread();
 *   - read and write on anything else (pipes, sockets, terminals,
 *     character devices), recv, send and accept: readiness (fut_io,
 *     <fut/io.h>) and the syscall. A descriptor without O_NONBLOCK is not
 *     changed: reads and writes use preadv2/pwritev2 with RWF_NOWAIT, recv
 *     and send MSG_DONTWAIT; where the kernel lacks RWF_NOWAIT, and for
 *     accept on a blocking socket, the call is made only once the fd
 *     polled ready (a write then writes at most PIPE_BUF bytes), so
 *     another reader or acceptor of the same open file could still make
 *     it block: give such fds O_NONBLOCK;
 *   - timeout: fut_sleep (<fut/time.h>); always this one under a manual
 *     clock (fut_rt_set_clock()), which the kernel's timeout would not
 *     follow.
 * fut_rt_uring_active() tells which one a runtime uses.
 *
 * Freeing the runtime: fut_rt_free() tears every task down first, so no
 * operation of a task can still be in flight when the ring is closed.
 * An operation polled from plain code (fut_rt_block_on()) and never dropped
 * is cancelled and waited for by fut_rt_free(); it then completes with
 * its completion's result and may still be dropped (not polled) later, on
 * a thread that has a runtime (fut_drop() needs one for any future with
 * an asynchronous teardown: -ENXIO otherwise).
 */
#ifndef FUT_URING_H
#define FUT_URING_H

#include <sys/socket.h>
#include <sys/types.h>

#include "future.h"
#include "io.h"
#include "pool.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One io_uring operation. Embeddable, no allocation per operation; the
 * runtime's ring is allocated at the first one. May be moved until its
 * first poll (the kernel gets its address), never after. Fields
 * private. */
typedef struct fut_uring_op {
    fut base;
    unsigned char kind;  /* which operation */
    unsigned char state; /* where it is */
    unsigned char flags;
    unsigned char path; /* ring, pool, readiness, sleep: chosen at the first poll */
    int fd;
    int msg_flags; /* recv, send, accept flags */
    int res;       /* the completion's result */
    void *buf;
    size_t len;
    long long off; /* read/write offset, -1: the current position */
    struct sockaddr *addr;
    socklen_t *addrlen;
    socklen_t addrlen_in; /* *addrlen at submission */
    double seconds;       /* timeout */
    struct {
        long long tv_sec;
        long long tv_nsec;
    } ts; /* the kernel's timespec for IORING_OP_TIMEOUT */
    fut_rt *rt;
    fut_waker *waker;
    void *ring;     /* the runtime's ring while in flight */
    fut__list link; /* the ring's operations in flight */
    union {
        fut_io io;       /* readiness fallback */
        fut_job job;     /* thread-pool fallback */
        fut_sleep sleep; /* timeout fallback */
    } fb;
} fut_uring_op;

/* read(2) at `off`, or at the current position with off == -1 (pipes,
 * sockets and other streams: pass -1). Output: bytes read (0 at end of
 * file) or -errno. len is capped at 0x7ffff000 like read(2). */
FUT_API fut *fut_uring_read(fut_uring_op *op, int fd, void *buf, size_t len, off_t off);

/* write(2) at `off`, or at the current position with off == -1. Output:
 * bytes written (a write may be partial) or -errno. */
FUT_API fut *fut_uring_write(fut_uring_op *op, int fd, const void *buf, size_t len, off_t off);

/* recv(2) on a socket with `flags` (MSG_*). Output: bytes received (0 at
 * the peer's orderly shutdown) or -errno. */
FUT_API fut *fut_uring_recv(fut_uring_op *op, int fd, void *buf, size_t len, int flags);

/* send(2) on a socket with `flags` (MSG_*). MSG_NOSIGNAL is always added:
 * a peer that closed its end gives -EPIPE and never raises SIGPIPE, on
 * the ring and on the fallback alike. Output: bytes sent or -errno. */
FUT_API fut *fut_uring_send(fut_uring_op *op, int fd, const void *buf, size_t len, int flags);

/* accept4(2) on a listening socket; `flags` are accept4's (SOCK_NONBLOCK,
 * SOCK_CLOEXEC). addr and addrlen may be NULL; otherwise both follow the
 * buffer rule above. Output: the new socket (the caller's to close) or
 * -errno. A connection accepted by an operation that was then dropped
 * (cancelled too late) is closed. */
FUT_API fut *fut_uring_accept(fut_uring_op *op, int fd, struct sockaddr *addr, socklen_t *addrlen,
                              int flags);

/* IORING_OP_TIMEOUT: READY with 0 once `seconds` passed from its first
 * poll. Zero or negative: READY at the first poll; NaN: -EINVAL. */
FUT_API fut *fut_uring_timeout(fut_uring_op *op, double seconds);

/* 1 when rt runs its operations on an io_uring ring, 0 when it falls back
 * (see above). Sets the ring up if that was not tried yet; running out of
 * memory or fds for it (ENOMEM, EMFILE, ENFILE) gives 0 and is tried
 * again at the next operation, any other failure makes the fallback
 * permanent. Loop thread only. */
FUT_API int fut_rt_uring_active(fut_rt *rt);

#ifdef __cplusplus
}
#endif

#endif
