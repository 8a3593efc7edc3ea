/* SPDX-License-Identifier: MIT */
/* Child processes (<fut/process.h>): posix_spawnp, a pidfd watched by an
 * ev_io (or a polling timer without pidfds), and a graceful kill as the
 * asynchronous drop. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

#define P_SPAWNED 0x1
#define P_EXITED 0x2   /* reaped (or lost to another reaper): status is final */
#define P_TERM 0x4     /* the drop sent SIGTERM */
#define P_KILL 0x8     /* the drop sent SIGKILL */
#define P_POLLING 0x10 /* no pidfd: the timer polls waitid */
#define P_BYPID 0x20   /* the kernel has pidfds but no waitid(P_PIDFD) */
#define P_DROPPED 0x40
#define P_GONE 0x80 /* the runtime was freed under it */

/* The fallback's polling interval: from MIN, doubling up to MAX. */
#define POLL_MIN 0.001
#define POLL_MAX 0.05

static ev_io *io_of(fut_process *p)
{
    return (ev_io *)(void *)&p->watch;
}

/* Without a pidfd, the watch storage holds the exit poller's timer. */
static fut__timer *poller_of(fut_process *p)
{
    return (fut__timer *)(void *)&p->watch;
}

/* The runtime's list still links the original: a copy's neighbours point
 * elsewhere. */
static bool moved(fut_process *p)
{
    fut__list *home = p->link.next->prev;
    if (fut__likely(home == &p->link))
        return false;
    fut__diag("fut_process %p was moved after fut_process_spawn() (it was spawned at %p): "
              "spawn it where it will stay",
              (void *)p, (void *)fut__container_of(home, fut_process, link));
    return true;
}

static void watch_stop(fut_process *p)
{
    if (p->flags & P_POLLING)
        fut__timer_cancel(p->rt, poller_of(p));
    else if (ev_is_active(io_of(p)))
        ev_io_stop(p->rt->loop, io_of(p));
}

static void watch_start(fut_process *p)
{
    if (p->flags & P_POLLING) {
        if (!fut__timer_armed(poller_of(p)))
            fut__timer_arm_real(p->rt, poller_of(p), p->every);
    } else if (!ev_is_active(io_of(p))) {
        ev_io_start(p->rt->loop, io_of(p));
    }
}

static void grace_stop(fut_process *p)
{
    fut__timer_cancel(p->rt, &p->timer);
}

static int send_signal(fut_process *p, int sig)
{
    int r = p->pidfd >= 0 ? (int)syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0)
                          : kill(p->pid, sig);
    return r == -1 ? -errno : 0;
}

/* The child is gone: its status is final, nothing needs watching. */
static void exited(fut_process *p, int status)
{
    p->status = status;
    p->flags |= P_EXITED;
    watch_stop(p);
    grace_stop(p);
    if (p->pidfd >= 0) {
        close(p->pidfd);
        p->pidfd = -1;
    }
}

/* Reaps the child if it has exited (waits for it with `block`). Returns
 * true once its status is final. */
static bool reap(fut_process *p, bool block)
{
    siginfo_t si;
    int opts = WEXITED | (block ? 0 : WNOHANG);
    int r;
    for (;;) {
        memset(&si, 0, sizeof si);
        if (p->pidfd >= 0 && !(p->flags & P_BYPID))
            r = waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, opts);
        else
            r = waitid(P_PID, (id_t)p->pid, &si, opts);
        if (r == 0 || errno != EINTR) {
            if (r == -1 && errno == EINVAL && p->pidfd >= 0 && !(p->flags & P_BYPID)) {
                p->flags |= P_BYPID; /* Linux 5.3: pidfd_open but no P_PIDFD */
                continue;
            }
            break;
        }
    }
    if (r == -1) { /* ECHILD: someone else reaped it */
        exited(p, -ECHILD);
        return true;
    }
    if (si.si_pid == 0)
        return false;
    exited(p, si.si_code == CLD_EXITED ? si.si_status : -si.si_status);
    return true;
}

static void wake(fut_process *p)
{
    if (p->waker)
        fut_waker_wake(p->waker);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    fut_process *p = w->data;
    if (reap(p, false))
        wake(p);
}

static void poller_fire(fut_rt *rt, fut__timer *t)
{
    fut_process *p = (fut_process *)(void *)((char *)t - offsetof(fut_process, watch));
    if (reap(p, false)) {
        wake(p);
        return;
    }
    p->every = p->every * 2 < POLL_MAX ? p->every * 2 : POLL_MAX;
    fut__timer_arm_real(rt, t, p->every);
}

static void grace_fire(fut_rt *rt, fut__timer *t)
{
    fut_process *p = fut__container_of(t, fut_process, timer);
    if (!(p->flags & P_EXITED) && !(p->flags & P_KILL)) {
        send_signal(p, SIGKILL);
        p->flags |= P_KILL;
    }
}

/* Releases what is left: the watchers, the pidfd, the pipe ends the
 * caller did not take, the runtime's link, the waker. */
static void release(fut_process *p)
{
    if (!(p->flags & P_GONE)) {
        watch_stop(p);
        grace_stop(p);
        fut__list_del(&p->link);
    }
    if (p->pidfd >= 0) {
        close(p->pidfd);
        p->pidfd = -1;
    }
    for (int i = 0; i < 3; i++) {
        if (p->fds[i] >= 0) {
            close(p->fds[i]);
            p->fds[i] = -1;
        }
    }
    fut_waker_drop(p->waker);
    p->waker = NULL;
    p->flags |= P_DROPPED;
}

/* fut_rt_free: processes never dropped are killed and reaped here. */
void fut__process_free(fut_rt *rt)
{
    fut__list *pos, *tmp;
    fut__list_each_safe(pos, tmp, &rt->procs) {
        fut_process *p = fut__container_of(pos, fut_process, link);
        if (!(p->flags & P_EXITED)) {
            send_signal(p, SIGKILL);
            reap(p, true);
        }
        fut_waker *w = p->waker;
        p->waker = NULL;
        release(p);
        p->flags = (p->flags & ~(unsigned)P_DROPPED) | P_GONE;
        if (w) {
            fut_waker_wake(w);
            fut_waker_drop(w);
        }
    }
}

/* --- the future ----------------------------------------------------------------- */

static fut_status process_poll(fut *self, fut_cx *cx)
{
    fut_process *p = (fut_process *)self;
    if (!(p->flags & P_SPAWNED) || (p->flags & P_DROPPED))
        return fut_ready(self, -EINVAL);
    if (p->flags & P_EXITED) {
        fut_waker_drop(p->waker);
        p->waker = NULL;
        return fut_ready(self, p->status);
    }
    if (fut__unlikely(moved(p)))
        return fut_ready(self, -EINVAL);
    if (fut__cx_cancelled(cx)) {
        watch_stop(p);
        fut_waker_drop(p->waker);
        p->waker = NULL;
        return fut_ready(self, -ECANCELED);
    }
    fut__keep_waker(&p->waker, cx);
    watch_start(p);
    return FUT_PENDING;
}

static fut_status process_poll_drop(fut *self, fut_cx *cx)
{
    fut_process *p = (fut_process *)self;
    if (!(p->flags & P_SPAWNED) || (p->flags & (P_DROPPED | P_GONE))) {
        p->flags |= P_DROPPED;
        return FUT_READY;
    }
    if (fut__unlikely(!(p->flags & P_EXITED) && moved(p))) {
        /* libev may know the original's watchers: leave them; end the
         * child the hard way, synchronously, through this copy. */
        fut__list_del(&p->link);
        p->flags |= P_GONE;
        send_signal(p, SIGKILL);
        reap(p, true);
        release(p);
        return FUT_READY;
    }
    if (!(p->flags & P_EXITED) && !reap(p, false)) {
        if (fut_cx_escalated(cx) || p->grace <= 0) {
            if (!(p->flags & P_KILL)) {
                send_signal(p, SIGKILL);
                p->flags |= P_KILL;
                grace_stop(p);
            }
        } else if (!(p->flags & P_TERM)) {
            send_signal(p, SIGTERM);
            p->flags |= P_TERM;
            if (isfinite(p->grace))
                fut__timer_arm(p->rt, &p->timer, fut__fresh_now(p->rt) + p->grace);
        }
        fut__keep_waker(&p->waker, cx);
        watch_start(p);
        return FUT_PENDING;
    }
    release(p);
    return FUT_READY;
}

static const struct fut_vtable process_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_process",
    .poll = process_poll,
    .poll_drop = process_poll_drop,
};

/* --- spawning --------------------------------------------------------------------- */

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++) {
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
    }
}

/* A pipe for std stream i: the parent's end non-blocking, the child's end
 * above 2 (a dup2 onto itself would keep close-on-exec), both
 * close-on-exec. */
static int make_pipe(int i, int *parent, int *child)
{
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) == -1)
        return -errno;
    *parent = i == 0 ? pp[1] : pp[0];
    *child = i == 0 ? pp[0] : pp[1];
    if (*child < 3) {
        int hi = fcntl(*child, F_DUPFD_CLOEXEC, 3);
        if (hi == -1) {
            int err = -errno;
            close(pp[0]);
            close(pp[1]);
            return err;
        }
        close(*child);
        *child = hi;
    }
    int fl = fcntl(*parent, F_GETFL);
    if (fl == -1 || fcntl(*parent, F_SETFL, fl | O_NONBLOCK) == -1) {
        int err = -errno;
        close(pp[0] == *parent ? pp[0] : pp[1]);
        close(*child);
        return err;
    }
    return 0;
}

static int spawn_child(pid_t *pid, const struct fut_process_opts *o, const int *child)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int err = posix_spawn_file_actions_init(&fa);
    if (err)
        return -err;
    err = posix_spawnattr_init(&at);
    if (err) {
        posix_spawn_file_actions_destroy(&fa);
        return -err;
    }
    for (int i = 0; i < 3 && !err; i++) {
        if (o->stdio[i] == FUT_PROCESS_PIPE)
            err = posix_spawn_file_actions_adddup2(&fa, child[i], i);
        else if (o->stdio[i] == FUT_PROCESS_DEVNULL)
            err = posix_spawn_file_actions_addopen(&fa, i, "/dev/null",
                                                   i == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    if (!err && o->cwd)
        err = posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    /* After the dup2s: the pipes' child ends go too. */
    if (!err)
        err = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    sigset_t none, pipe;
    sigemptyset(&none);
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    if (!err)
        err = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (!err)
        err = posix_spawnattr_setsigmask(&at, &none);
    if (!err)
        err = posix_spawnattr_setsigdefault(&at, &pipe);
    if (!err) {
        char *const defargv[] = {(char *)o->file, NULL};
        err = posix_spawnp(pid, o->file, &fa, &at, o->argv ? o->argv : defargv,
                           o->envp ? o->envp : environ);
    }
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return -err;
}

FUT_API int fut_process_spawn(fut_rt *rt, fut_process *p, const struct fut_process_opts *o)
{
    if (!rt || !p || !o || !o->file || (o->flags & ~FUT_PROCESS_NO_PIDFD))
        return -EINVAL;
    for (int i = 0; i < 3; i++)
        if (o->stdio[i] < FUT_PROCESS_INHERIT || o->stdio[i] > FUT_PROCESS_PIPE)
            return -EINVAL;
    int parent[3] = {-1, -1, -1}, child[3] = {-1, -1, -1};
    int err = 0;
    for (int i = 0; i < 3 && !err; i++)
        if (o->stdio[i] == FUT_PROCESS_PIPE)
            err = make_pipe(i, &parent[i], &child[i]);
    pid_t pid = -1;
    if (!err)
        err = spawn_child(&pid, o, child);
    close_all(child, 3);
    if (err) {
        close_all(parent, 3);
        return err;
    }

    fut_init(&p->base, &process_vt);
    p->pid = pid;
    p->flags = P_SPAWNED;
    p->pidfd = -1;
    if (!(o->flags & FUT_PROCESS_NO_PIDFD))
        p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0); /* close-on-exec */
    if (p->pidfd < 0) {
        p->pidfd = -1; /* ENOSYS, EPERM (seccomp), EMFILE: poll instead */
        p->flags |= P_POLLING;
    }
    memcpy(p->fds, parent, sizeof p->fds);
    p->status = 0;
    p->grace = FUT_PROCESS_GRACE;
    p->every = POLL_MIN;
    p->rt = rt;
    p->waker = NULL;
    if (p->flags & P_POLLING) {
        fut__timer_init(poller_of(p), poller_fire);
    } else {
        ev_io_init(io_of(p), io_cb, p->pidfd, EV_READ);
        io_of(p)->data = p;
    }
    fut__timer_init(&p->timer, grace_fire);
    fut__list_add_tail(&rt->procs, &p->link);
    return 0;
}

FUT_API int fut_process_take_fd(fut_process *p, int which)
{
    if (!p || which < 0 || which > 2)
        return -EINVAL;
    if (!(p->flags & P_SPAWNED) || (p->flags & (P_DROPPED | P_GONE)) || p->fds[which] < 0)
        return -EBADF;
    int fd = p->fds[which];
    p->fds[which] = -1;
    return fd;
}

FUT_API int fut_process_kill(fut_process *p, int sig)
{
    if (!p || !(p->flags & P_SPAWNED) || sig < 0 || sig >= NSIG)
        return -EINVAL;
    if (p->flags & (P_EXITED | P_DROPPED | P_GONE))
        return -ESRCH;
    return send_signal(p, sig);
}

FUT_API int fut_process_set_grace(fut_process *p, double seconds)
{
    if (!p || isnan(seconds) || seconds < 0)
        return -EINVAL;
    p->grace = seconds;
    return 0;
}
