/* SPDX-License-Identifier: MIT */
/* Child processes: exit statuses, signals, the graceful kill of the drop
 * (SIGTERM, grace, SIGKILL), reaping on every path (READY, async and sync
 * drop, cancellation, escalation, fut_rt_free), pipes as streams, spawn
 * errors, cwd, envp, /dev/null, fd hygiene, the polling fallback. Every
 * test ends by checking that the test process has no child left (no
 * zombie, nothing running) and no fd more than it started with. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#include <sys/resource.h>
#include <sys/syscall.h>

#include <math.h>

static int fds_at_start;

/* 1 when this process has a child, running or zombie. */
static int has_children(void)
{
    return !(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
}

static void setup(void)
{
    fds_at_start = th_open_fds();
    th_rt_setup();
}

static void teardown(void)
{
    th_rt_teardown();
    ck_assert_msg(!has_children(), "a child was left behind");
    ck_assert_int_eq(th_open_fds(), fds_at_start);
}

/* Spawns argv (argv[0] is the file) with stdio modes in0/out/err. */
static int spawn(fut_rt *rt, fut_process *p, char *const *argv, int sin, int sout, int serr)
{
    struct fut_process_opts o = {.file = argv[0], .argv = argv, .stdio = {sin, sout, serr}};
    return fut_process_spawn(rt, p, &o);
}

#define SH(...) ((char *const[]){"/bin/sh", "-c", __VA_ARGS__, NULL})

/* Reads what fd gives within `secs` until EOF or `len - 1` bytes, with
 * poll(2) (the fd is non-blocking); NUL-terminates. */
static size_t slurp(int fd, char *buf, size_t len, double secs)
{
    size_t n = 0;
    double end = th_mono() + secs;
    while (n + 1 < len && th_mono() < end) {
        struct pollfd pf = {fd, POLLIN, 0};
        poll(&pf, 1, 100);
        ssize_t r = read(fd, buf + n, len - 1 - n);
        if (r == 0)
            break;
        if (r > 0)
            n += (size_t)r;
    }
    buf[n] = 0;
    return n;
}

/* Reads one line from the child (it says it is ready). */
static void await_line(int fd, const char *want)
{
    char buf[64];
    size_t n = 0;
    double end = th_mono() + 5;
    while (n < strlen(want) && th_mono() < end) {
        struct pollfd pf = {fd, POLLIN, 0};
        poll(&pf, 1, 100);
        ssize_t r = read(fd, buf + n, strlen(want) - n);
        if (r > 0)
            n += (size_t)r;
    }
    buf[n] = 0;
    ck_assert_str_eq(buf, want);
}

/* --- exit statuses ------------------------------------------------------------- */

START_TEST(exit_status_is_the_output)
{
    long allocs = th_alloc.total;
    fut_process p;
    ck_assert_int_eq(spawn(th_rt, &p, SH("exit 7"), 0, 0, 0), 0);
    ck_assert_int_gt(p.pid, 0);
    ck_assert_int_eq(th_block(th_rt, &p.base), 7);
    ck_assert_int_eq(fut_process_kill(&p, SIGTERM), -ESRCH); /* reaped */
    ck_assert_int_eq(fut_drop(&p.base), 0);

    char *const t[] = {"true", NULL}; /* a bare name: PATH */
    ck_assert_int_eq(spawn(th_rt, &p, t, 0, 0, 0), 0);
    ck_assert_int_eq(th_block(th_rt, &p.base), 0);
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert_int_eq(th_alloc.total, allocs); /* no allocation */
}
END_TEST

START_TEST(killed_by_a_signal_is_minus_signo)
{
    int sigs[] = {SIGTERM, SIGKILL, SIGINT};
    for (int i = 0; i < 3; i++) {
        fut_process p;
        ck_assert_int_eq(spawn(th_rt, &p, SH("exec sleep 30"), 0, 0, 0), 0);
        ck_assert_int_eq(fut_process_kill(&p, 0), 0);
        ck_assert_int_eq(fut_process_kill(&p, sigs[i]), 0);
        ck_assert_int_eq(th_block(th_rt, &p.base), -sigs[i]);
        ck_assert_int_eq(fut_drop(&p.base), 0);
    }
}
END_TEST

START_TEST(polling_fallback_without_pidfd)
{
    fut_process p;
    struct fut_process_opts o = {
        .file = "/bin/sh", .argv = SH("exit 3"), .flags = FUT_PROCESS_NO_PIDFD};
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), 0);
    ck_assert_int_eq(th_block(th_rt, &p.base), 3);
    ck_assert_int_eq(fut_drop(&p.base), 0);

    o.argv = SH("exec sleep 30");
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), 0);
    double t0 = th_mono();
    ck_assert_int_eq(fut_drop(&p.base), 0); /* SIGTERM, seen by polling */
    ck_assert_double_lt(th_mono() - t0, 1.0);
}
END_TEST

/* --- spawn errors and options ---------------------------------------------------- */

START_TEST(missing_program_fails_the_spawn)
{
    fut_process p;
    if (th_under_valgrind()) {
        /* Valgrind runs glibc's clone(CLONE_VM | CLONE_VFORK) as a fork:
         * the child's exec error never reaches the parent's memory, so
         * posix_spawn() succeeds and the child exits 127. */
        fprintf(stderr,
                "# skipped under valgrind: exec errors are not reported by posix_spawn there\n");
        return;
    }
    char *const a[] = {"/nonexistent/prog", NULL};
    ck_assert_int_eq(spawn(th_rt, &p, a, FUT_PROCESS_PIPE, FUT_PROCESS_PIPE, 0), -ENOENT);
    char *const b[] = {"no-such-program-fut", NULL};
    ck_assert_int_eq(spawn(th_rt, &p, b, 0, 0, 0), -ENOENT);
    struct fut_process_opts o = {.file = "/bin/sh", .cwd = "/nonexistent-dir"};
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), -ENOENT);
    o.cwd = NULL;
    o.stdio[1] = 7;
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), -EINVAL);
    o.stdio[1] = 0;
    o.file = NULL;
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), -EINVAL);
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, NULL), -EINVAL);
}
END_TEST

START_TEST(cwd_envp_and_devnull)
{
    fut_process p;
    char buf[256];
    struct fut_process_opts o = {.file = "/bin/sh",
                                 .argv = SH("pwd"),
                                 .cwd = "/",
                                 .stdio = {FUT_PROCESS_DEVNULL, FUT_PROCESS_PIPE, 0}};
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), 0);
    int out = fut_process_take_fd(&p, 1);
    ck_assert_int_ge(out, 0);
    ck_assert_int_eq(fut_process_take_fd(&p, 1), -EBADF);
    ck_assert_int_eq(fut_process_take_fd(&p, 0), -EBADF);
    ck_assert_int_eq(fut_process_take_fd(&p, 3), -EINVAL);
    slurp(out, buf, sizeof buf, 5);
    close(out);
    ck_assert_str_eq(buf, "/\n");
    ck_assert_int_eq(th_block(th_rt, &p.base), 0);
    fut_drop(&p.base);

    char *const env[] = {"FOO=bar baz", NULL};
    o.argv = SH("echo \"$FOO\" \"${HOME-unset}\"");
    o.envp = env;
    o.cwd = NULL;
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), 0);
    out = fut_process_take_fd(&p, 1);
    slurp(out, buf, sizeof buf, 5);
    close(out);
    ck_assert_str_eq(buf, "bar baz unset\n");
    ck_assert_int_eq(th_block(th_rt, &p.base), 0);
    fut_drop(&p.base);

    /* stdin from /dev/null: cat sees end of file at once. */
    o.envp = NULL;
    o.argv = SH("cat; echo done");
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), 0);
    ck_assert_int_eq(th_block(th_rt, &p.base), 0);
    slurp(p.fds[1], buf, sizeof buf, 5); /* untaken: the drop closes it */
    ck_assert_str_eq(buf, "done\n");
    fut_drop(&p.base);

    /* stdout and stderr to /dev/null */
    o.argv = SH("echo out; echo err >&2; test -c /proc/self/fd/1");
    o.stdio[1] = o.stdio[2] = FUT_PROCESS_DEVNULL;
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), 0);
    ck_assert_int_eq(th_block(th_rt, &p.base), 0);
    fut_drop(&p.base);
}
END_TEST

START_TEST(only_the_std_fds_reach_the_child)
{
    int leak = open("/dev/null", O_RDONLY); /* not close-on-exec */
    ck_assert_int_ge(leak, 3);
    fut_process p;
    /* The shell's own fds, before it opens anything: count the entries
     * (the glob's directory fd is one of them). */
    ck_assert_int_eq(
        spawn(th_rt, &p, SH("ls /proc/self/fd | wc -l"), 0, FUT_PROCESS_PIPE, FUT_PROCESS_PIPE), 0);
    char buf[64];
    slurp(p.fds[1], buf, sizeof buf, 5);
    ck_assert_int_eq(th_block(th_rt, &p.base), 0);
    /* ls sees 0, 1, 2 and the directory it reads */
    ck_assert_int_eq(atoi(buf), 4);
    fut_drop(&p.base);
    close(leak);
}
END_TEST

/* --- the drop ----------------------------------------------------------------------- */

START_TEST(child_that_exits_on_sigterm_is_reaped_at_once)
{
    fut_process p;
    ck_assert_int_eq(spawn(th_rt, &p, SH("exec sleep 30"), 0, FUT_PROCESS_PIPE, 0), 0);
    double t0 = th_mono();
    ck_assert_int_eq(fut_drop(&p.base), 0); /* sync drop: a nested loop */
    ck_assert_double_lt(th_mono() - t0, 1.0);
    ck_assert(!has_children());
}
END_TEST

START_TEST(child_ignoring_sigterm_is_killed_after_the_grace)
{
    fut_process p;
    ck_assert_int_eq(
        spawn(th_rt, &p, SH("trap '' TERM; echo ready; exec sleep 30"), 0, FUT_PROCESS_PIPE, 0), 0);
    ck_assert_int_eq(fut_process_set_grace(&p, 0.2), 0);
    ck_assert_int_eq(fut_process_set_grace(&p, -1), -EINVAL);
    await_line(p.fds[1], "ready\n");
    ssize_t st = 0;
    ck_assert_int_eq(th_poll_once(th_rt, &p.base, &st), FUT_PENDING);
    /* The auto clock: the grace ends at exactly +0.2 as soon as the loop
     * has nothing else to do (the child ignores SIGTERM). */
    ck_assert_int_eq(fut_rt_set_clock(th_rt, FUT_CLOCK_AUTO), 0);
    double t0 = fut_rt_now(th_rt), m0 = th_mono();
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert_msg(fut_rt_now(th_rt) == t0 + 0.2, "killed at +%.9f", fut_rt_now(th_rt) - t0);
    ck_assert_double_lt(th_mono() - m0, 2.0);
    ck_assert(!has_children());
}
END_TEST

START_TEST(grace_zero_kills_at_once)
{
    fut_process p;
    ck_assert_int_eq(
        spawn(th_rt, &p, SH("trap '' TERM; echo ready; exec sleep 30"), 0, FUT_PROCESS_PIPE, 0), 0);
    await_line(p.fds[1], "ready\n");
    fut_process_set_grace(&p, 0);
    double t0 = th_mono();
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert_double_lt(th_mono() - t0, 1.0);
}
END_TEST

START_TEST(many_spawn_drop_cycles_leave_nothing)
{
    int n = th_under_valgrind() ? 40 : 1000;
    int fds = th_open_fds();
    for (int i = 0; i < n; i++) {
        fut_process p;
        if (i % 2) {
            ck_assert_int_eq(
                spawn(th_rt, &p, (char *const[]){"/bin/true", NULL}, 0, FUT_PROCESS_PIPE, 0), 0);
            if (i % 4 == 1)
                ck_assert_int_eq(th_block(th_rt, &p.base), 0);
        } else {
            ck_assert_int_eq(spawn(th_rt, &p, (char *const[]){"/bin/sleep", "30", NULL},
                                   FUT_PROCESS_PIPE, FUT_PROCESS_PIPE, FUT_PROCESS_PIPE),
                             0);
        }
        ck_assert_int_eq(fut_drop(&p.base), 0);
    }
    ck_assert(!has_children());
    ck_assert_int_eq(th_open_fds(), fds);
}
END_TEST

/* A task that spawns its child into its own memory at its first poll and
 * awaits the exit; its teardown drops the process. */
struct waiter {
    fut base;
    fut_process p;
    const char *cmd;
    double grace;
    int spawned;
    int *pid;
};

static fut_status waiter_poll(fut *self, fut_cx *cx)
{
    struct waiter *w = (struct waiter *)self;
    if (!w->spawned) {
        int err = spawn(fut_cx_rt(cx), &w->p, SH((char *)w->cmd), 0, FUT_PROCESS_PIPE, 0);
        if (err)
            return fut_ready(self, err);
        fut_process_set_grace(&w->p, w->grace);
        w->spawned = 1;
        *w->pid = w->p.pid;
    }
    fut_status st = fut_poll(&w->p.base, cx);
    return st == FUT_READY ? fut_ready(self, fut_out(&w->p.base)) : FUT_PENDING;
}

static fut_status waiter_poll_drop(fut *self, fut_cx *cx)
{
    struct waiter *w = (struct waiter *)self;
    return w->spawned ? fut_poll_drop(&w->p.base, cx) : FUT_READY;
}

static const struct fut_vtable waiter_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "waiter",
    .poll = waiter_poll,
    .poll_drop = waiter_poll_drop,
};

static void waiter_init(struct waiter *w, const char *cmd, double grace, int *pid)
{
    memset(w, 0, sizeof *w);
    fut_init(&w->base, &waiter_vt);
    w->cmd = cmd;
    w->grace = grace;
    w->pid = pid;
}

START_TEST(cancelling_a_task_awaiting_the_exit_ends_the_child)
{
    struct waiter w;
    int pid = 0;
    waiter_init(&w, "exec sleep 30", 5, &pid);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &w, &j), 0);
    fut_sleep s;
    th_block(th_rt, fut_sleep_init(&s, 0.05));
    ck_assert_int_gt(pid, 0);
    ck_assert_int_eq(kill(pid, 0), 0);
    double t0 = th_mono();
    ck_assert_int_eq(fut_join_cancel(&j), 0);
    ck_assert_int_eq(th_block(th_rt, &j.base), -ECANCELED);
    ck_assert_double_lt(th_mono() - t0, 1.0);
    ck_assert_int_eq(fut_drop(&j.base), 0);
    ck_assert(!has_children());
    ck_assert_int_eq(kill(pid, 0), -1);
}
END_TEST

START_TEST(escalation_jumps_to_sigkill)
{
    /* A grace far past the budget: the shutdown's escalation kills. */
    ck_assert_int_eq(fut_rt_set_drop_budget(th_rt, 0.2), 0);
    struct waiter w;
    int pid = 0;
    waiter_init(&w, "trap '' TERM; exec sleep 30", 30, &pid);
    fut_join j;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &w, &j), 0);
    fut_sleep s;
    th_block(th_rt, fut_sleep_init(&s, 0.1)); /* the trap is set by then */
    ck_assert_int_gt(pid, 0);
    double t0 = th_mono();
    fut_join_cancel(&j);
    ck_assert_int_eq(th_block(th_rt, &j.base), -ECANCELED);
    double el = th_mono() - t0;
    ck_assert_double_lt(el, 2.0);
    fut_drop(&j.base);
    ck_assert(!has_children());
}
END_TEST

START_TEST(rt_free_with_a_running_child_leaves_no_zombie)
{
    fut_rt *rt = th_new_rt();
    fut_process p, q;
    ck_assert_int_eq(spawn(rt, &p, SH("trap '' TERM; exec sleep 30"), 0, FUT_PROCESS_PIPE, 0), 0);
    ck_assert_int_eq(spawn(rt, &q, SH("exec sleep 30"), 0, 0, 0), 0);
    ck_assert_int_eq(th_poll_once(rt, &p.base, NULL), FUT_PENDING); /* watched */
    double t0 = th_mono();
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_double_lt(th_mono() - t0, 1.0);
    ck_assert(!has_children());
    ck_assert_int_eq(fut_process_kill(&p, SIGTERM), -ESRCH);
    ck_assert_int_eq(fut_drop(&p.base), 0); /* a no-op now */
    ck_assert_int_eq(fut_drop(&q.base), 0);
}
END_TEST

/* --- pipes as streams ------------------------------------------------------------ */

#define BIG (10u << 20)

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

struct writer {
    fut base;
    fut_stream *s;
    fut_stream_op op;
    unsigned char chunk[65536];
    size_t sent;
    int writing, closing;
};

static fut_status writer_poll(fut *self, fut_cx *cx)
{
    struct writer *w = (struct writer *)self;
    for (;;) {
        if (w->closing)
            return fut_poll_drop(&w->s->base, cx) == FUT_READY ? fut_ready(self, (ssize_t)w->sent)
                                                               : FUT_PENDING;
        if (!w->writing) {
            if (w->sent == BIG) {
                w->closing = 1; /* flush, then close: cat sees end of file */
                continue;
            }
            size_t n = BIG - w->sent < sizeof w->chunk ? BIG - w->sent : sizeof w->chunk;
            for (size_t i = 0; i < n; i++)
                w->chunk[i] = pattern(w->sent + i);
            fut_stream_write(&w->op, w->s, w->chunk, n);
            w->writing = 1;
        }
        if (fut_poll(&w->op.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        w->writing = 0;
        ssize_t r = fut_out(&w->op.base);
        if (r < 0)
            return fut_ready(self, r);
        w->sent += (size_t)r;
    }
}

static const struct fut_vtable writer_vt = {
    .size = sizeof(struct fut_vtable), .name = "writer", .poll = writer_poll};

struct reader {
    fut base;
    fut_stream *s;
    fut_stream_op op;
    unsigned char buf[32768];
    size_t got;
    int reading, bad;
};

static fut_status reader_poll(fut *self, fut_cx *cx)
{
    struct reader *r = (struct reader *)self;
    for (;;) {
        if (!r->reading) {
            fut_stream_read(&r->op, r->s, r->buf, sizeof r->buf);
            r->reading = 1;
        }
        if (fut_poll(&r->op.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        r->reading = 0;
        ssize_t n = fut_out(&r->op.base);
        if (n <= 0)
            return fut_ready(self, n < 0 ? n : (ssize_t)r->got);
        for (ssize_t i = 0; i < n; i++)
            if (r->buf[i] != pattern(r->got + (size_t)i))
                r->bad++;
        r->got += (size_t)n;
    }
}

static const struct fut_vtable reader_vt = {
    .size = sizeof(struct fut_vtable), .name = "reader", .poll = reader_poll};

START_TEST(ten_mib_through_cat_as_streams)
{
    signal(SIGPIPE, SIG_IGN);
    fut_process p;
    ck_assert_int_eq(
        spawn(th_rt, &p, (char *const[]){"cat", NULL}, FUT_PROCESS_PIPE, FUT_PROCESS_PIPE, 0), 0);
    static fut_stream in, out;
    ck_assert_int_eq(fut_stream_open(th_rt, &in, fut_process_take_fd(&p, 0), NULL), 0);
    ck_assert_int_eq(fut_stream_open(th_rt, &out, fut_process_take_fd(&p, 1), NULL), 0);
    static struct writer w;
    static struct reader r;
    memset(&w, 0, sizeof w);
    memset(&r, 0, sizeof r);
    fut_init(&w.base, &writer_vt);
    fut_init(&r.base, &reader_vt);
    w.s = &in;
    r.s = &out;
    fut_join jw, jr;
    ck_assert_int_eq(fut_rt_spawn(th_rt, &w.base, sizeof w, &jw), 0);
    ck_assert_int_eq(fut_rt_spawn(th_rt, &r.base, sizeof r, &jr), 0);
    double t0 = th_mono();
    ck_assert_int_eq(th_block(th_rt, &jw.base), (ssize_t)BIG);
    ck_assert_int_eq(th_block(th_rt, &jr.base), (ssize_t)BIG);
    ck_assert_int_eq(th_block(th_rt, &p.base), 0);
    ck_assert_double_lt(th_mono() - t0, 20.0);
    fut_drop(&jw.base);
    fut_drop(&jr.base);
    ck_assert_int_eq(fut_drop(&out.base), 0);
    ck_assert_int_eq(fut_drop(&p.base), 0);
    signal(SIGPIPE, SIG_DFL);
}
END_TEST

START_TEST(argument_errors_after_the_exit)
{
    fut_process p;
    ck_assert_int_eq(spawn(th_rt, &p, SH("exit 3"), 0, 0, 0), 0);
    ck_assert_int_eq(fut_process_set_grace(&p, NAN), -EINVAL);
    ck_assert_int_eq(fut_process_set_grace(&p, -1), -EINVAL);
    ck_assert_int_eq(fut_process_set_grace(NULL, 1), -EINVAL);
    ck_assert_int_eq(fut_process_set_grace(&p, 0.5), 0);
    ck_assert_int_eq(fut_process_kill(&p, -1), -EINVAL);
    ck_assert_int_eq(fut_process_kill(&p, NSIG), -EINVAL);
    ck_assert_int_eq(fut_process_kill(NULL, SIGTERM), -EINVAL);
    ck_assert_int_eq(th_block(th_rt, &p.base), 3);
    ck_assert_int_eq(fut_process_take_fd(&p, 1), -EBADF); /* not a pipe */
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert_int_eq(fut_process_kill(&p, SIGTERM), -ESRCH);
}
END_TEST

/* No fd left for the pipes: the spawn fails with -EMFILE and leaves no
 * child and no fd behind. */
START_TEST(spawn_without_fds_for_the_pipes)
{
    if (th_under_valgrind()) { /* valgrind keeps fds of its own near the limit */
        fprintf(stderr, "# spawn_without_fds_for_the_pipes: skipped under valgrind\n");
        return;
    }
    fut_process p;
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    int lowest = dup(0);
    close(lowest);
    int fds = th_open_fds();
    for (int room = 0; room < 3; room++) {
        low = old;
        low.rlim_cur = (rlim_t)(lowest + room);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
        int r = spawn(th_rt, &p, SH("exit 0"), FUT_PROCESS_PIPE, FUT_PROCESS_PIPE,
                      FUT_PROCESS_PIPE);
        ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
        ck_assert_msg(r == -EMFILE, "room %d: %d", room, r);
        ck_assert_msg(!has_children(), "room %d: a child", room);
        ck_assert_msg(th_open_fds() == fds, "room %d: %d fds, %d before", room, th_open_fds(), fds);
    }
}
END_TEST

/* --- misuse and rarer paths ---------------------------------------------------- */

/* A fut_process copied elsewhere after the spawn: its poll and its drop
 * report the move; the drop through the copy still ends and reaps the
 * child, synchronously. */
START_TEST(moved_process_is_reported_and_still_reaped)
{
    static fut_process a, b;
    ck_assert_int_eq(spawn(th_rt, &a, SH("exec sleep 30"), 0, 0, 0), 0);
    memcpy(&b, &a, sizeof b);
    ck_assert_int_eq(th_block(th_rt, &b.base), -EINVAL);
    ck_assert_int_eq(th_diag_count, 1);
    ck_assert_ptr_nonnull(strstr(th_diag_last, "moved"));
    double t0 = th_mono();
    ck_assert_int_eq(fut_drop(&b.base), 0);
    ck_assert_double_lt(th_mono() - t0, 2.0);
    ck_assert_int_eq(th_diag_count, 2);
    ck_assert(!has_children());
    th_diag_count = 0;
}
END_TEST

/* Awaited under a cancelled context (from the first poll, or once it
 * waited): -ECANCELED at once, the child still running; the drop then
 * ends it. */
START_TEST(awaited_under_a_cancelled_context)
{
    fut_process p;
    ck_assert_int_eq(spawn(th_rt, &p, SH("exec sleep 30"), 0, 0, 0), 0);
    fut_process_set_grace(&p, 0);
    ck_assert_int_eq(th_run_cancelled(th_rt, &p.base, _i ? 0.05 : 0), -ECANCELED);
    ck_assert_int_eq(kill(p.pid, 0), 0);
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert(!has_children());
}
END_TEST

/* A kernel with pidfds but without waitid(P_PIDFD) (Linux 5.3, EINVAL):
 * the status is read by pid. */
START_TEST(waitid_without_p_pidfd)
{
    static const struct th_sysfail rule = {__NR_waitid, EINVAL, 0, 0xffffffff, 3 /* P_PIDFD */};
    if (th_sysfail(&rule, 1) != 0) {
        fprintf(stderr, "# waitid_without_p_pidfd: no seccomp here, skipped\n");
        return;
    }
    fut_process p;
    ck_assert_int_eq(spawn(th_rt, &p, SH("sleep 0.02; exit 7"), 0, 0, 0), 0);
    ck_assert_int_eq(th_block(th_rt, &p.base), 7);
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert_int_eq(spawn(th_rt, &p, SH("exec sleep 30"), 0, 0, 0), 0);
    ck_assert_int_eq(fut_process_kill(&p, SIGKILL), 0);
    ck_assert_int_eq(th_block(th_rt, &p.base), -SIGKILL);
    ck_assert_int_eq(fut_drop(&p.base), 0);
}
END_TEST

/* Reaped by someone else (a waitpid of the caller's): -ECHILD, as the
 * header says, on the pidfd path and the polling one. */
START_TEST(reaped_by_someone_else_is_echild)
{
    fut_process p;
    struct fut_process_opts o = {
        .file = "/bin/sh", .argv = SH("exit 5"), .flags = _i ? FUT_PROCESS_NO_PIDFD : 0};
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), 0);
    int status;
    ck_assert_int_eq(waitpid(p.pid, &status, 0), p.pid);
    ck_assert_int_eq(WEXITSTATUS(status), 5);
    ck_assert_int_eq(th_block(th_rt, &p.base), -ECHILD);
    ck_assert_int_eq(fut_drop(&p.base), 0);
}
END_TEST

/* With fd 0 closed, the stdin pipe's child end would be fd 0 itself: it
 * is moved above 2 first, and the child reads what was written. */
START_TEST(pipes_with_std_fds_closed)
{
    int saved = dup(0);
    ck_assert_int_ge(saved, 3);
    close(0);
    fut_process p;
    /* the stdout pipe's parent end may take fd 0 then: stdin comes back
     * after the drop */
    ck_assert_int_eq(
        spawn(th_rt, &p, (char *const[]){"cat", NULL}, FUT_PROCESS_PIPE, FUT_PROCESS_PIPE, 0), 0);
    int in = fut_process_take_fd(&p, 0);
    ck_assert_int_ge(in, 3);
    ck_assert_int_eq(write(in, "through", 7), 7);
    close(in);
    char buf[32];
    ck_assert_int_eq(slurp(p.fds[1], buf, sizeof buf, 5), 7);
    ck_assert_str_eq(buf, "through");
    ck_assert_int_eq(th_block(th_rt, &p.base), 0);
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert_int_eq(dup2(saved, 0), 0);
    close(saved);
}
END_TEST

/* Bad arguments are refused before anything is made. */
START_TEST(bad_arguments)
{
    fut_process p;
    struct fut_process_opts o = {.file = "/bin/true"};
    o.flags = 0x100;
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), -EINVAL);
    o.flags = 0;
    o.stdio[1] = FUT_PROCESS_PIPE + 1;
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), -EINVAL);
    o.stdio[1] = FUT_PROCESS_INHERIT - 1;
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), -EINVAL);
    o.stdio[1] = FUT_PROCESS_INHERIT;
    ck_assert_int_eq(fut_process_spawn(NULL, &p, &o), -EINVAL);
    ck_assert_int_eq(fut_process_spawn(th_rt, NULL, &o), -EINVAL);
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, NULL), -EINVAL);
    o.file = NULL;
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), -EINVAL);
    ck_assert(!has_children());
    /* never spawned */
    memset(&p, 0, sizeof p);
    ck_assert_int_eq(fut_process_take_fd(&p, 0), -EBADF);
    ck_assert_int_eq(fut_process_kill(&p, SIGTERM), -EINVAL);
    ck_assert_int_eq(fut_process_take_fd(NULL, 0), -EINVAL);
    /* spawned with a pipe */
    ck_assert_int_eq(spawn(th_rt, &p, SH("exit 0"), 0, FUT_PROCESS_PIPE, 0), 0);
    ck_assert_int_eq(fut_process_take_fd(&p, -1), -EINVAL);
    ck_assert_int_eq(fut_process_take_fd(&p, 3), -EINVAL);
    ck_assert_int_eq(th_block(th_rt, &p.base), 0);
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert_int_eq(fut_process_take_fd(&p, 1), -EBADF); /* its pipe closed with the drop */
}
END_TEST

/* An infinite grace: the drop sends SIGTERM and waits for the exit, with
 * no timer to SIGKILL. */
START_TEST(infinite_grace_waits_for_the_exit)
{
    fut_process p;
    ck_assert_int_eq(spawn(th_rt, &p,
                           SH("trap 'sleep 0.1; exit 0' TERM; echo ready; "
                              "while :; do sleep 0.01; done"),
                           0, FUT_PROCESS_PIPE, 0),
                     0);
    ck_assert_int_eq(fut_process_set_grace(&p, INFINITY), 0);
    await_line(p.fds[1], "ready");
    ck_assert_int_eq(th_poll_once(th_rt, &p.base, NULL), FUT_PENDING);
    double t0 = th_mono();
    ck_assert_int_eq(fut_drop(&p.base), 0);
    ck_assert_double_ge(th_mono() - t0, 0.08);
    ck_assert(!has_children());
}
END_TEST

/* Without a pidfd, a child running longer than the polling interval's
 * cap is still seen exiting. */
START_TEST(polling_a_longer_child)
{
    fut_process p;
    struct fut_process_opts o = {
        .file = "/bin/sh", .argv = SH("sleep 0.2; exit 4"), .flags = FUT_PROCESS_NO_PIDFD};
    ck_assert_int_eq(fut_process_spawn(th_rt, &p, &o), 0);
    double t0 = th_mono();
    ck_assert_int_eq(th_block(th_rt, &p.base), 4);
    double el = th_mono() - t0;
    ck_assert_double_ge(el, 0.19);
    ck_assert_double_lt(el, 2.0);
    ck_assert_int_eq(fut_drop(&p.base), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tcase_create("exit");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tcase_add_test(tc, exit_status_is_the_output);
    tcase_add_test(tc, killed_by_a_signal_is_minus_signo);
    tcase_add_test(tc, polling_fallback_without_pidfd);
    tcase_add_test(tc, missing_program_fails_the_spawn);
    tcase_add_test(tc, cwd_envp_and_devnull);
    tcase_add_test(tc, only_the_std_fds_reach_the_child);
    tcase_add_test(tc, child_that_exits_on_sigterm_is_reaped_at_once);
    tcase_add_test(tc, child_ignoring_sigterm_is_killed_after_the_grace);
    tcase_add_test(tc, grace_zero_kills_at_once);
    tcase_add_test(tc, many_spawn_drop_cycles_leave_nothing);
    tcase_add_test(tc, cancelling_a_task_awaiting_the_exit_ends_the_child);
    tcase_add_test(tc, escalation_jumps_to_sigkill);
    tcase_add_test(tc, rt_free_with_a_running_child_leaves_no_zombie);
    tcase_add_test(tc, ten_mib_through_cat_as_streams);
    tcase_add_test(tc, argument_errors_after_the_exit);
    tcase_add_test(tc, spawn_without_fds_for_the_pipes);
    tcase_add_test(tc, moved_process_is_reported_and_still_reaped);
    tcase_add_loop_test(tc, awaited_under_a_cancelled_context, 0, 2);
    tcase_add_test(tc, waitid_without_p_pidfd);
    tcase_add_loop_test(tc, reaped_by_someone_else_is_echild, 0, 2);
    tcase_add_test(tc, pipes_with_std_fds_closed);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, infinite_grace_waits_for_the_exit);
    tcase_add_test(tc, polling_a_longer_child);
    return th_run(s);
}
