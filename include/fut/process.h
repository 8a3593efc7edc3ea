/* SPDX-License-Identifier: MIT */
/* libfut: child processes.
 *
 * A fut_process is a running child and a future at once: polling it
 * waits for the child to exit; its asynchronous drop ends the child
 * gracefully (SIGTERM, a grace period, SIGKILL) and reaps it. No zombie is
 * left behind on any path: READY, drop (async or sync), cancellation,
 * escalation, fut_rt_free().
 *
 * How it works:
 *   - spawning: posix_spawnp(3) (glibc's clone(CLONE_VM | CLONE_VFORK):
 *     no fork of the threaded parent, and exec errors come back
 *     synchronously from the spawn call);
 *   - exit detection: a pidfd (pidfd_open(2), Linux 5.3) watched by an
 *     ev_io on the runtime's own loop, any loop: no SIGCHLD handler is
 *     installed and the process-wide SIGCHLD disposition is not touched;
 *   - without pidfds (older kernels, seccomp filters, or
 *     FUT_PROCESS_NO_PIDFD): a timer polls waitid(WNOHANG) every 1 ms at
 *     first, backing off to every 50 ms. It works on any loop too, at the
 *     price of up to 50 ms of latency per exit and a few wake-ups per
 *     second per waiting process. (libev's ev_child was not used: it only
 *     works on the default loop and reaps every child of the process.)
 *   - reaping: waitid(P_PIDFD) (P_PID without a pidfd), as soon as the
 *     exit is seen: the child never stays a zombie longer than one loop
 *     iteration after its exit is noticed.
 *
 * Who else reaps: if something else in the process reaps the child first
 * (libev's default loop does, for every child, once anything uses it:
 * ev_default_loop() installs a SIGCHLD watcher that calls waitpid(-1);
 * also a SIGCHLD disposition of SIG_IGN, or a waitpid(-1) of the
 * program's own), the exit is still noticed but its status is lost: the
 * wait completes with -ECHILD.
 *
 * Threads: every function runs on the runtime's thread; the child inherits
 * nothing of the other threads.
 */
#ifndef FUT_PROCESS_H
#define FUT_PROCESS_H

#include <sys/types.h>

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a standard stream of the child is connected to. */
enum fut_process_stdio {
    FUT_PROCESS_INHERIT = 0, /* the parent's own fd 0, 1 or 2 */
    FUT_PROCESS_DEVNULL = 1, /* /dev/null, opened for reading (stdin) or writing */
    FUT_PROCESS_PIPE = 2     /* a pipe; the parent's end: fut_process_take_fd() */
};

/* fut_process_opts.flags */
#define FUT_PROCESS_NO_PIDFD 0x1u /* watch the exit with the polling fallback */

/* What to run. Everything is copied or used before fut_process_spawn()
 * returns: the strings and arrays may be freed at once. */
struct fut_process_opts {
    /* The program. With a '/' it is used as is (relative to cwd when cwd
     * is set: glibc changes directory first); without one it is looked up
     * in the PATH of the parent's environment (posix_spawnp), whatever
     * envp says. Required. */
    const char *file;
    /* The argument vector, NULL-terminated; argv[0] is what the child sees
     * as its name. NULL: { file, NULL }. */
    char *const *argv;
    /* The environment, NULL-terminated "NAME=value" strings. NULL: the
     * parent's environ at the time of the call. */
    char *const *envp;
    /* The child's working directory. NULL: the parent's. */
    const char *cwd;
    /* stdin, stdout, stderr: enum fut_process_stdio values. */
    int stdio[3];
    unsigned flags; /* FUT_PROCESS_* */
};

/* The default grace period between SIGTERM and SIGKILL, in seconds. */
#define FUT_PROCESS_GRACE 5.0

/* A child process. Embeddable (no allocation); it must not move after
 * fut_process_spawn() (the runtime keeps its address, to reap the child
 * when the runtime is freed): spawn it where it will stay, for instance
 * into a task's own future at that future's first poll. The debug checks
 * report a moved process at its next poll or drop.
 *
 * Polling it waits for the exit. Output:
 *   0..255      the exit status (exit(3), return from main);
 *   < 0         -signo when a signal killed it (-SIGTERM, -SIGKILL, ...);
 *   -ECHILD     something else reaped it (see above): the status is lost;
 *   -ECANCELED  polled under a cancelled context (the child keeps running
 *               until the process is dropped);
 *   -EINVAL     the spawn failed or never happened, or the process moved.
 * After READY the child has been reaped: its pid may be reused.
 *
 * Cancellation contract (dropping it, with fut_poll_drop(), a task's
 * teardown, or fut_drop()):
 *   - before the exit: the child is asked to terminate, SIGTERM, then
 *     killed with SIGKILL after the grace period (fut_process_set_grace(),
 *     default FUT_PROCESS_GRACE) or at once when the teardown is escalated
 *     past its drop budget (<fut/scope.h>); the drop stays PENDING until
 *     the child exited and was reaped. What the child did so far stays
 *     done; its exit status is not reported anywhere. A sync fut_drop()
 *     waits so too, under a nested loop (at most grace + the time SIGKILL
 *     takes).
 *   - after the exit (reaped or not yet): READY at once, reaping it if
 *     needed.
 *   - always: the pidfd and the parent's pipe ends not taken with
 *     fut_process_take_fd() are closed; the ones taken are the caller's
 *     (a stream opened on one closes it when the stream is dropped).
 * Dropping a process never leaves a zombie, and never signals a process
 * that is not this child (the pidfd, or the unreaped pid, pins it).
 *
 * fut_rt_free() with a process still open: the shutdown first drops the
 * tasks (a process owned by a task ends as above, escalated past the
 * runtime's drop budget); a process left outside any task (never dropped,
 * a bug of the caller) is then killed with SIGKILL and reaped
 * synchronously (fut_rt_free() blocks until the kernel finished it), and
 * its pidfd and untaken pipe ends closed. Its later drop is a no-op, a
 * later poll READY with -SIGKILL (or the status if it had exited).
 *
 * Fields: pid is public, read-only; the rest is private. */
typedef struct fut_process {
    fut base;
    pid_t pid;          /* public, read-only: the child's pid */
    int pidfd;          /* private: -1 without one */
    int fds[3];         /* private: the parent's pipe ends, -1 when none or taken */
    unsigned flags;     /* private */
    int status;         /* private: the output once reaped */
    double grace;       /* private */
    double every;       /* private: the fallback's current polling interval */
    fut_rt *rt;         /* private */
    fut_waker *waker;   /* private */
    fut__list link;     /* private: the runtime's processes */
    fut__watcher watch; /* private: the pidfd's ev_io, or the fallback's poller */
    fut__timer timer;   /* private: the grace period */
} fut_process;

/* Starts o->file as a child of this process and initialises p to stand
 * for it. The child gets:
 *   - the three standard fds as o->stdio says, and no other fd: every
 *     other descriptor of the parent is closed in the child before exec,
 *     close-on-exec or not;
 *   - an empty signal mask and SIGPIPE at its default action (the parent
 *     may ignore it); other signals ignored in the parent stay ignored
 *     (POSIX), caught ones are reset to default by exec.
 * The parent's pipe ends are close-on-exec and non-blocking, ready for
 * fut_stream_open() or fut_fd_open() once taken (fut_process_take_fd()).
 *
 * Returns 0, or a negative errno and nothing is left behind (no child, no
 * fd, p not initialised):
 *   -EINVAL   rt, p, o or o->file NULL, or a bad stdio value or flag;
 *   -ENOENT   no such program (or no such cwd); -EACCES, -ENOEXEC,
 *             -ENOTDIR, ... : the errno of the exec (or chdir) in the
 *             child, reported by the spawn call itself: a program that
 *             cannot run never shows up as exit status 127;
 *   -EMFILE, -ENFILE, -EAGAIN, -ENOMEM: the pipes or the clone failed.
 * Loop thread only. Never allocates. */
FUT_API int fut_process_spawn(fut_rt *rt, fut_process *p, const struct fut_process_opts *o);

/* Hands the parent's end of the child's stdin (0), stdout (1) or stderr
 * (2) pipe to the caller, who owns it from then on (the process's drop no
 * longer closes it). Returns the fd (close-on-exec, O_NONBLOCK): write to
 * fd 0's, read from fd 1's and 2's; or -EINVAL (p NULL, which not 0..2),
 * -EBADF (no pipe there, or taken already). */
FUT_API int fut_process_take_fd(fut_process *p, int which);

/* Sends signal sig (0: only check) to the child, through its pidfd when it
 * has one. Returns 0, -ESRCH once the child was reaped (READY, or
 * dropped), -EINVAL (p NULL or never spawned, bad sig), or the errno of
 * pidfd_send_signal(2) / kill(2). */
FUT_API int fut_process_kill(fut_process *p, int sig);

/* Sets the time between SIGTERM and SIGKILL when the process is dropped
 * before its exit: 0 sends SIGKILL at once, INFINITY waits for the exit
 * after SIGTERM for as long as the drop budget allows. Applies to a drop
 * that has not sent SIGTERM yet. Returns 0, or -EINVAL (p NULL, NaN,
 * negative). */
FUT_API int fut_process_set_grace(fut_process *p, double seconds);

#ifdef __cplusplus
}
#endif

#endif
