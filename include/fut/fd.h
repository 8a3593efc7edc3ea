/* SPDX-License-Identifier: MIT */
/* libfut: registered file descriptors, for I/O in steady state.
 *
 * fut_io (<fut/io.h>) is one-shot: each wait registers the fd and checks
 * it. A fut_fd registers an fd once, keeps one ev_io for it and caches its
 * readiness between waits, like Tokio's AsyncFd: the caller tries the
 * I/O, and only when it would block does it clear the readiness and wait.
 * Waiting again on the same fd in the same loop iteration costs no
 * epoll_ctl (libev only changes the kernel's interest when the mask
 * changes across an iteration), and the fd is not re-checked.
 *
 * A handle must not move (memcpy, a copy into a task by fut_rt_spawn) once
 * open: libev keeps its address. The debug checks report a moved handle
 * at its next wait, naming it, and the wait completes with -EINVAL.
 *
 * The contract that buys this: the fd stays open, and is not dup2'd over,
 * while the handle is open. Close the handle (fut_fd_close()) before
 * closing the fd. (libev aborts the process if epoll_ctl finds a closed
 * fd; the handle checks the fd at open and once more right before its
 * first registration, not on every wait.)
 *
 * Each direction has a slot and a spare: a second waiter in the same
 * direction takes the slot and parks the first in the spare (both are
 * woken by readiness or close; when one leaves, the other moves up). A
 * third displaces the spare, which is woken to poll again: with more than
 * two waiters per direction they take turns.
 */
#ifndef FUT_FD_H
#define FUT_FD_H

#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fut_fd {
    int fd;                           /* public, read-only */
    int ready;                        /* private: cached readiness (FUT_READABLE|FUT_WRITABLE) */
    int want;                         /* private: events the watcher is started for */
    int flags;                        /* private */
    fut_rt *rt;                       /* private */
    fut_waker *rwaker;                /* private: the task waiting to read */
    fut_waker *wwaker;                /* private: the task waiting to write */
    fut_waker *rspare;                /* private: a second reader, parked */
    fut_waker *wspare;                /* private: a second writer, parked */
    fut__list unchecked;              /* private: awaiting the fd check before registration */
    fut__list open;                   /* private: rt's open handles */
    fut__watcher io;                  /* private: the ev_io */
    void (*closer)(struct fut_fd *h); /* private: called when the runtime closes it */
} fut_fd;

/* Registers fd with rt and sets it non-blocking (O_NONBLOCK). The handle
 * starts out assuming the fd is ready both ways (the first I/O attempt
 * finds out). Does not take ownership: fut_fd_close() does not close(2).
 * The handle must not move while open. Handles still open when the
 * runtime is freed are closed by fut_rt_free() (later fut_fd_close()
 * calls are no-ops); waits on them then complete with -EBADF.
 * Returns 0, or -EINVAL (NULL, negative fd), -EBADF (not open, or an
 * O_PATH descriptor epoll cannot watch), or the error of fcntl(F_SETFL).
 * Loop thread only. */
FUT_API int fut_fd_open(fut_rt *rt, fut_fd *h, int fd);

/* Unregisters the fd; the fd itself stays open. Every future waiting on
 * the handle must have been dropped first. NULL or a closed handle is a
 * no-op. */
FUT_API void fut_fd_close(fut_fd *h);

/* Forgets the cached readiness for `events`: call it when the I/O
 * returned EAGAIN, so that the next wait really waits. */
FUT_API void fut_fd_clear(fut_fd *h, int events);

/* A wait for readiness on a registered fd. Output: the events asked for
 * that are ready (> 0), READY at once when the cache already has them;
 * -EINVAL when no known event was asked. Dropping it (any time) only
 * gives up its waker slot. Embeddable, no allocation. */
typedef struct fut_fd_wait {
    fut base;
    fut_fd *h;        /* private */
    int events;       /* private */
    fut_waker *waker; /* private: what it put in the handle's slots */
} fut_fd_wait;

FUT_API fut *fut_fd_wait_init(fut_fd_wait *w, fut_fd *h, int events);

/* read(2)/write(2) on a registered fd as futures (on a socket the write
 * is send(2) with MSG_NOSIGNAL: a closed peer gives -EPIPE, never
 * SIGPIPE; on a pipe it is write(2), which raises SIGPIPE when the reader
 * is gone, so ignore or block that signal): try the call; when it
 * would block, clear the readiness and wait, then try again. Output: the
 * byte count (0 on end of file for a read; a write may be partial, it
 * writes what the kernel takes at once), or -errno. A read shorter than
 * `len` also clears the cached readability (the kernel buffer was
 * drained), so the next read waits instead of trying and failing with
 * EAGAIN: one syscall per message in steady state. The buffer belongs to
 * the caller and must stay valid until the future is READY or dropped;
 * dropping it never blocks. Embeddable, no allocation. */
typedef struct fut_fd_op {
    fut base;
    fut_fd *h;        /* private */
    void *buf;        /* private */
    size_t len;       /* private */
    int write;        /* private */
    fut_waker *waker; /* private: what it put in the handle's slot */
} fut_fd_op;

FUT_API fut *fut_fd_read(fut_fd_op *op, fut_fd *h, void *buf, size_t len);
FUT_API fut *fut_fd_write(fut_fd_op *op, fut_fd *h, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
