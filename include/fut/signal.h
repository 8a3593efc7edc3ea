/* SPDX-License-Identifier: MIT */
/* libfut: waiting for POSIX signals.
 *
 * A fut_signal is a future that completes when the process receives one
 * of a set of signals. It works on any runtime, on any libev loop (not
 * only libev's default loop, to which ev_signal is limited), and on
 * several runtimes at once: every armed waiter of every runtime sees
 * each signal of its set (a broadcast, not a queue).
 *
 * How it works: the first waiter for a signal installs a process-wide
 * handler with sigaction() (SA_SIGINFO | SA_RESTART, empty sa_mask),
 * saving the disposition it replaces; the last waiter for it to go away
 * restores that disposition. The handler only does async-signal-safe
 * things: it bumps a per-signal counter and calls ev_async_send() on each
 * runtime that has a waiter for the signal; that runtime's loop then
 * wakes its waiters. While a waiter for a signal exists, that signal does
 * not kill the process nor run the previous handler.
 *
 * When it is armed: at the first poll, not at init (like Tokio's
 * ctrl_c()). The wait completes with the first signal of its set received
 * after its first poll began; a signal received between that poll and a
 * later one is never lost. A signal received while no waiter for it is
 * armed is not kept for later waiters: it gets the disposition in force
 * then (the previous one, unless another waiter is armed).
 *
 * Coalescing: like the kernel's own pending signals, several deliveries
 * of a signal before the loop runs count as one; a waiter reports one
 * signal of its set (the lowest-numbered one when several arrived in
 * the same loop iteration).
 *
 * Handling a signal repeatedly: between a READY wait and the first poll
 * of the next one there may be no waiter, and then the previous
 * disposition (by default: terminate) applies. Either keep another waiter
 * for the signal armed meanwhile (a task that waits for it for the
 * program's life), or install your own disposition first, for instance
 * signal(SIGHUP, SIG_IGN): it is what is saved and restored.
 *
 * Signal masks: the library never changes a thread's signal mask (the
 * workers of the runtime's pool, <fut/pool.h>, block every signal, so they
 * never run the handler). A signal sent to the process is handled by any
 * thread that does not block it, whether or not that thread runs a
 * runtime. A signal blocked in every thread (or raise()d by a thread that
 * blocks it) stays pending in the kernel and completes the waits only
 * once some thread unblocks it, if a waiter is still armed then.
 *
 * Conflicts: the handler owns the disposition of the signals waited for.
 * Do not change it with sigaction()/signal() while a waiter is armed, and
 * do not use libev's ev_signal (or ev_child, which installs SIGCHLD) for
 * the same signal on any loop: whichever installed its handler last would
 * get the signals, and the restore at the last waiter's drop would undo
 * the other's. Using both on different signals is fine.
 *
 * fork(): a child process must not wait for signals (its runtimes are
 * the parent's copies anyway). The handlers it inherits notice that they
 * run in another process and give the signal to the disposition saved
 * when they were installed, as if the library had not installed them.
 * exec() resets caught signals to their default action, as always.
 *
 * Threads: a fut_signal is polled and dropped on the thread of the
 * runtime that polls it, like every future. Waiters of different
 * runtimes on different threads are independent.
 */
#ifndef FUT_SIGNAL_H
#define FUT_SIGNAL_H

#include <signal.h>
#include <stdint.h>
/* POSIX has <sys/select.h> define sigset_t whatever the feature macros:
 * <signal.h> alone hides it from strict C11. */
#include <sys/select.h>

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A wait for one of a set of signals. Output: the number of the signal
 * received (> 0), or
 *   -EINVAL     the set was NULL or empty, or held a signal the library
 *               cannot wait for: SIGKILL, SIGSTOP, the fault signals
 *               SIGSEGV, SIGBUS, SIGFPE, SIGILL (returning from their
 *               handler would repeat the fault), or the signals the C
 *               library reserves for itself (32 to SIGRTMIN - 1);
 *   -ECANCELED  polled under a cancelled context (fut_cx_cancelled());
 *   -ENOMEM     the runtime's first wait could not allocate its state;
 *   or the error of a failing sigaction().
 * It is READY at once, without arming, on these errors.
 *
 * Cancellation safety: dropping it (any time: before its first poll,
 * while pending, after READY) only unregisters it; it has a sync drop
 * only, which never blocks. A signal that completed it but was not yet
 * reported by a poll is lost with it. When it was the last waiter for a
 * signal in the process, the drop restores the disposition saved when the
 * first one was armed.
 *
 * Embeddable, no allocation per wait (each runtime allocates a small
 * block at its first wait, freed by fut_rt_free()). It must not move
 * after its first poll. All fields are private. */
typedef struct fut_signal {
    fut base;
    uint64_t set;     /* private: bit n - 1 stands for signal n */
    int err;          /* private: the set was refused */
    int got;          /* private: the signal that completed it, 0 while none */
    int armed;        /* private */
    fut_rt *rt;       /* private: the runtime it is armed on */
    fut_waker *waker; /* private */
    fut__list link;   /* private: the runtime's waiters */
} fut_signal;

/* Initialises s to wait for any signal in *set (copied: the set may be
 * reused at once) and returns &s->base. Nothing is registered before the
 * first poll; a set the library refuses, or set == NULL, makes the first
 * poll READY with -EINVAL. s must not be NULL. Any thread (it touches
 * only s). */
FUT_API fut *fut_signal_init(fut_signal *s, const sigset_t *set);

/* fut_signal_init() for SIGINT and SIGTERM: an interactive interrupt
 * (Ctrl-C) or a polite termination request (kill, systemd, docker stop).
 * Returns &s->base. */
FUT_API fut *fut_signal_ctrl_c_init(fut_signal *s);

#ifdef __cplusplus
}
#endif

#endif
