/* SPDX-License-Identifier: MIT */
/* libfut: file descriptor readiness, on libev's ev_io.
 *
 * A readiness future watches one fd and becomes READY when it is readable
 * or writable. It does not read or write: the caller does, then polls a
 * new (or re-initialised) future when the call would block.
 *
 * A watched fd closed behind the library's back: the kernel removes it
 * from epoll when the last descriptor referring to the open file is
 * closed, and libev reports nothing, so the future would wait forever.
 * Drop the future before closing its fd. Where that cannot be guaranteed
 * (the fd belongs to someone else), give the future a deadline with
 * fut_io_set_timeout(): it then completes with -ETIMEDOUT. A closed fd
 * whose number was reused by another open file is indistinguishable from
 * the new file.
 */
#ifndef FUT_IO_H
#define FUT_IO_H

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FUT_READABLE 0x01
#define FUT_WRITABLE 0x02

/* Output: the readiness seen (FUT_READABLE and/or FUT_WRITABLE, > 0), or
 *   -EBADF      the fd is not open: checked at the first poll, and again
 *               from libfut's prepare watcher right before libev registers
 *               the fd with epoll at the next loop iteration (libev aborts
 *               the process when epoll_ctl reports EBADF), so an fd closed
 *               in between gives -EBADF too. Closing it from another thread,
 *               or from a prepare watcher of yours that runs after
 *               libfut's, remains unsafe. An O_PATH descriptor, which
 *               epoll cannot watch, also gives -EBADF. An epoll fd that
 *               would form a loop (the runtime's own backend fd) makes
 *               libev abort: do not watch those.
 *   -EINVAL     no events asked for, or a negative fd;
 *   -ETIMEDOUT  the deadline set with fut_io_set_timeout() passed first.
 * Cancellable at any point; it has only a sync drop, which never blocks.
 * Embeddable, no allocation. */
typedef struct fut_io {
    fut base;
    int fd;              /* public, read-only */
    int events;          /* private */
    double timeout;      /* private: seconds, < 0 none */
    fut_rt *rt;          /* private */
    fut_waker *waker;    /* private */
    int revents;         /* private */
    unsigned char flags; /* private */
    fut__list unchecked; /* private: awaiting the fd check before libev registers it */
    fut__watcher io;     /* private: the ev_io */
    fut__timer timer;    /* private: the deadline */
} fut_io;

/* Waits for any of `events` (FUT_READABLE | FUT_WRITABLE) on fd. Returns
 * &f->base. */
FUT_API fut *fut_io_init(fut_io *f, int fd, int events);

/* fut_io_init(f, fd, FUT_READABLE) */
FUT_API fut *fut_io_readable_init(fut_io *f, int fd);

/* fut_io_init(f, fd, FUT_WRITABLE) */
FUT_API fut *fut_io_writable_init(fut_io *f, int fd);

/* Gives the wait a deadline, `seconds` from its first poll; call it
 * before the first poll. Returns 0, or -EINVAL (NaN or negative seconds,
 * or the future was already polled). */
FUT_API int fut_io_set_timeout(fut_io *f, double seconds);

#ifdef __cplusplus
}
#endif

#endif
