/* SPDX-License-Identifier: MIT */
/* UDP sockets (<fut/net.h>): open and bind rules, send and receive on
 * loopback (IPv4 and IPv6), connected sockets, waiting, truncation, ICMP
 * errors, cancellation, a moved socket, a runtime freed under a socket.
 * Every test ends with the process's fd count where it started. */
#include "config.h"

#include "helpers.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static fut_rt *rt;
static int fds_at_start;

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void setup(void)
{
    th_setup();
    fds_at_start = count_fds();
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(count_fds(), fds_at_start);
    th_teardown();
}

static ssize_t block(fut *f)
{
    return th_block(rt, f);
}

static void fmt(const fut_addr *a, char *buf)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_int_gt(fut_addr_format(a, buf, FUT_ADDR_STRLEN), 0);
}

/* 1 when IPv6 loopback works here; otherwise says why the test skips. */
static int have_ipv6(const char *test)
{
    fut_udp u;
    int err = fut_udp_open(rt, &u, "[::1]:0", NULL);
    if (err) {
        fprintf(stderr, "# %s: skipped, no IPv6 loopback here (%s)\n", test, strerror(-err));
        return 0;
    }
    fut_drop(&u.base);
    return 1;
}

/* A task that sleeps, then sends one datagram. */
struct sender {
    fut base;
    fut_udp *u;
    const char *msg;
    fut_addr to;
    double delay;
    int step;
    fut_sleep sl;
    fut_udp_op op;
};

static fut_status sender_poll(fut *self, fut_cx *cx)
{
    struct sender *s = (struct sender *)self;
    if (s->step == 0) {
        fut_sleep_init(&s->sl, s->delay);
        s->step = 1;
    }
    if (s->step == 1) {
        if (fut_poll(&s->sl.base, cx) == FUT_PENDING)
            return FUT_PENDING;
        fut_drop(&s->sl.base);
        fut_udp_send(&s->op, s->u, s->msg, strlen(s->msg), &s->to);
        s->step = 2;
    }
    if (fut_poll(&s->op.base, cx) == FUT_PENDING)
        return FUT_PENDING;
    fut_drop(&s->op.base);
    s->step = 3;
    return fut_ready(self, fut_out(&s->op.base));
}

static void sender_drop(fut *self)
{
    struct sender *s = (struct sender *)self;
    if (s->step == 1)
        fut_drop(&s->sl.base);
    else if (s->step == 2)
        fut_drop(&s->op.base);
}

static const struct fut_vtable sender_vt = {sizeof(struct fut_vtable), "sender", sender_poll, NULL,
                                            sender_drop};

static void spawn_sender(struct sender *s, fut_join *j, fut_udp *from, const fut_udp *to,
                         const char *msg, double delay)
{
    memset(s, 0, sizeof *s);
    fut_init(&s->base, &sender_vt);
    s->u = from;
    s->to = *fut_udp_addr(to);
    s->msg = msg;
    s->delay = delay;
    ck_assert_int_eq(FUT_SPAWN(rt, s, j), 0);
}

static void send_to(fut_udp *from, const fut_udp *to, const char *msg)
{
    fut_udp_op op;
    ck_assert_int_eq(block(fut_udp_send(&op, from, msg, strlen(msg), fut_udp_addr(to))),
                     (ssize_t)strlen(msg));
    fut_drop(&op.base);
}

START_TEST(open_bad_input)
{
    fut_udp u, v;
    ck_assert_int_eq(fut_udp_open(NULL, &u, "127.0.0.1:0", NULL), -EINVAL);
    ck_assert_int_eq(fut_udp_open(rt, NULL, "127.0.0.1:0", NULL), -EINVAL);
    ck_assert_int_eq(fut_udp_open(rt, &u, NULL, NULL), -EINVAL);
    ck_assert_int_eq(fut_udp_open(rt, &u, "127.0.0.1", NULL), -EINVAL); /* no port */
    ck_assert_int_eq(fut_udp_open(rt, &u, "127.0.0.1:x", NULL), -EINVAL);
    ck_assert_int_eq(fut_udp_open(rt, &u, "localhost:53", NULL), -EINVAL); /* not numeric */
    ck_assert_int_eq(fut_udp_open(rt, &u, "127.0.0.1:65536", NULL), -ERANGE);
    ck_assert_int_eq(fut_udp_open(rt, &u, NULL, "127.0.0.1:99999"), -ERANGE);
    ck_assert_int_eq(fut_udp_open(rt, &u, "unix:/tmp/fut-udp-test", NULL), -EINVAL);
    ck_assert_int_eq(fut_udp_open(rt, &u, "unix:@fut-udp-test", NULL), -EINVAL);
    ck_assert_int_eq(fut_udp_open(rt, &u, NULL, "unix:@fut-udp-test"), -EINVAL);
    ck_assert_int_eq(access("/tmp/fut-udp-test", F_OK), -1); /* nothing bound */
    ck_assert_int_eq(fut_udp_open(rt, &u, "127.0.0.1:0", "[::1]:9"), -EINVAL);
    ck_assert_int_eq(fut_udp_open(rt, &u, "[::1]:0", "127.0.0.1:9"), -EINVAL);
    /* The kernel's errors, with nothing left open (the teardown counts). */
    ck_assert_int_eq(fut_udp_open(rt, &u, "127.0.0.1:0", NULL), 0);
    char a[FUT_ADDR_STRLEN];
    fmt(fut_udp_addr(&u), a);
    ck_assert_int_eq(fut_udp_open(rt, &v, a, NULL), -EADDRINUSE);
    fut_drop(&u.base);
}
END_TEST

/* No socket to be had (EMFILE from socket(), seccomp): that error, for a
 * bound socket and for a connected one. */
START_TEST(open_without_a_socket)
{
    const struct th_sysfail rule = {__NR_socket, EMFILE, -1, 0, 0};
    if (th_sysfail(&rule, 1) != 0) {
        fprintf(stderr, "# open_without_a_socket: no seccomp here, skipped\n");
        return;
    }
    fut_udp u;
    ck_assert_int_eq(fut_udp_open(rt, &u, "127.0.0.1:0", NULL), -EMFILE);
    ck_assert_int_eq(fut_udp_open(rt, &u, NULL, "127.0.0.1:9"), -EMFILE);
}
END_TEST

/* Bad op arguments make the op READY with an error at its first poll. */
START_TEST(op_bad_input)
{
    fut_udp u;
    ck_assert_int_eq(fut_udp_open(rt, &u, "127.0.0.1:0", NULL), 0);
    fut_udp_op op;
    char buf[8];
    ck_assert_int_eq(block(fut_udp_recv(&op, NULL, buf, sizeof buf)), -EINVAL);
    fut_drop(&op.base);
    ck_assert_int_eq(block(fut_udp_recv(&op, &u, NULL, 8)), -EINVAL);
    fut_drop(&op.base);
    ck_assert_int_eq(block(fut_udp_send(&op, NULL, "x", 1, fut_udp_addr(&u))), -EINVAL);
    fut_drop(&op.base);
    ck_assert_int_eq(block(fut_udp_send(&op, &u, NULL, 1, fut_udp_addr(&u))), -EINVAL);
    fut_drop(&op.base);
    /* Unconnected, no address. */
    ck_assert_int_eq(block(fut_udp_send(&op, &u, "x", 1, NULL)), -EDESTADDRREQ);
    ck_assert_ptr_null(fut_udp_op_peer(&op));
    fut_drop(&op.base);
    ck_assert_ptr_null(fut_udp_op_peer(NULL));
    ck_assert_int_eq(fut_udp_op_truncated(NULL), 0);
    ck_assert_ptr_null(fut_udp_addr(NULL));
    /* The socket is a future READY with its fd; dropped, its ops see
     * -EBADF. */
    int fd = (int)block(&u.base);
    ck_assert_int_ge(fd, 0);
    fut_drop(&u.base);
    ck_assert_int_eq(block(fut_udp_recv(&op, &u, buf, sizeof buf)), -EBADF);
    fut_drop(&op.base);
}
END_TEST

/* a sends to b, b sees a's address and answers to it. */
static void round_trip(const char *bind)
{
    fut_udp a, b;
    ck_assert_int_eq(fut_udp_open(rt, &a, bind, NULL), 0);
    ck_assert_int_eq(fut_udp_open(rt, &b, bind, NULL), 0);
    ck_assert_int_ne(fut_addr_port(fut_udp_addr(&a)), 0); /* the kernel's port */
    ck_assert_int_ne(fut_addr_port(fut_udp_addr(&a)), fut_addr_port(fut_udp_addr(&b)));
    send_to(&a, &b, "ping");

    char buf[64], sa[FUT_ADDR_STRLEN], sb[FUT_ADDR_STRLEN];
    fut_udp_op op;
    ck_assert_int_eq(block(fut_udp_recv(&op, &b, buf, sizeof buf)), 4);
    ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
    ck_assert_int_eq(fut_udp_op_truncated(&op), 0);
    fmt(fut_udp_op_peer(&op), sb);
    fmt(fut_udp_addr(&a), sa);
    ck_assert_str_eq(sb, sa);
    fut_addr back = *fut_udp_op_peer(&op);
    fut_drop(&op.base);

    ck_assert_int_eq(block(fut_udp_send(&op, &b, "pong!", 5, &back)), 5);
    fmt(fut_udp_op_peer(&op), sb); /* a send reports its destination */
    ck_assert_str_eq(sb, sa);
    fut_drop(&op.base);
    ck_assert_int_eq(block(fut_udp_recv(&op, &a, buf, sizeof buf)), 5);
    ck_assert_int_eq(memcmp(buf, "pong!", 5), 0);
    fmt(fut_udp_op_peer(&op), sa);
    fmt(fut_udp_addr(&b), sb);
    ck_assert_str_eq(sa, sb);
    fut_drop(&op.base);

    /* An empty datagram is a datagram. */
    send_to(&a, &b, "");
    ck_assert_int_eq(block(fut_udp_recv(&op, &b, buf, sizeof buf)), 0);
    ck_assert_ptr_nonnull(fut_udp_op_peer(&op));
    fut_drop(&op.base);
    fut_drop(&a.base);
    fut_drop(&b.base);
}

START_TEST(round_trip_v4)
{
    round_trip("127.0.0.1:0");
}
END_TEST

START_TEST(round_trip_v6)
{
    if (have_ipv6("round_trip_v6"))
        round_trip("[::1]:0");
}
END_TEST

/* A connected socket sends without an address, and receives only from
 * its peer. */
START_TEST(connected_send_without_address)
{
    fut_udp srv, cli, other;
    ck_assert_int_eq(fut_udp_open(rt, &srv, "127.0.0.1:0", NULL), 0);
    ck_assert_int_eq(fut_udp_open(rt, &other, "127.0.0.1:0", NULL), 0);
    char ss[FUT_ADDR_STRLEN], sc[FUT_ADDR_STRLEN], buf[16];
    fmt(fut_udp_addr(&srv), ss);
    ck_assert_int_eq(fut_udp_open(rt, &cli, NULL, ss), 0); /* ephemeral local port */
    ck_assert_int_ne(fut_addr_port(fut_udp_addr(&cli)), 0);

    fut_udp_op op;
    ck_assert_int_eq(block(fut_udp_send(&op, &cli, "hi", 2, NULL)), 2);
    ck_assert_ptr_null(fut_udp_op_peer(&op));
    fut_drop(&op.base);
    ck_assert_int_eq(block(fut_udp_recv(&op, &srv, buf, sizeof buf)), 2);
    fmt(fut_udp_op_peer(&op), sc);
    fut_drop(&op.base);
    /* Bound to the wildcard, the client's address reads 0.0.0.0:port. */
    ck_assert_int_eq(fut_addr_port(fut_udp_addr(&cli)), atoi(strrchr(sc, ':') + 1));

    send_to(&other, &cli, "stranger"); /* filtered out by the kernel */
    send_to(&srv, &cli, "reply");
    ck_assert_int_eq(block(fut_udp_recv(&op, &cli, buf, sizeof buf)), 5);
    ck_assert_int_eq(memcmp(buf, "reply", 5), 0);
    fmt(fut_udp_op_peer(&op), sc);
    ck_assert_str_eq(sc, ss);
    fut_drop(&op.base);
    fut_drop(&cli.base);
    fut_drop(&srv.base);
    fut_drop(&other.base);
}
END_TEST

/* Nothing queued: the receive waits (PENDING) until another task sends. */
START_TEST(recv_waits_for_datagram)
{
    fut_udp a, b;
    ck_assert_int_eq(fut_udp_open(rt, &a, "127.0.0.1:0", NULL), 0);
    ck_assert_int_eq(fut_udp_open(rt, &b, "127.0.0.1:0", NULL), 0);
    char buf[16];
    fut_udp_op op;
    ck_assert_int_eq(th_poll_once(rt, fut_udp_recv(&op, &b, buf, sizeof buf), NULL), FUT_PENDING);
    struct sender s;
    fut_join j;
    double t0 = th_mono();
    spawn_sender(&s, &j, &a, &b, "late", 0.03);
    ck_assert_int_eq(block(&op.base), 4);
    ck_assert(th_mono() - t0 >= 0.025);
    ck_assert_int_eq(memcmp(buf, "late", 4), 0);
    fut_drop(&op.base);
    ck_assert_int_eq(block(&j.base), 4);
    fut_drop(&j.base);
    fut_drop(&a.base);
    fut_drop(&b.base);
}
END_TEST

/* A datagram longer than the buffer: len bytes, truncated, the rest gone
 * (the next receive gets the next datagram). */
START_TEST(truncation_reported)
{
    fut_udp a, b;
    ck_assert_int_eq(fut_udp_open(rt, &a, "127.0.0.1:0", NULL), 0);
    ck_assert_int_eq(fut_udp_open(rt, &b, "127.0.0.1:0", NULL), 0);
    send_to(&a, &b, "0123456789abcdefghij");
    send_to(&a, &b, "next");
    char buf[64];
    memset(buf, '.', sizeof buf);
    fut_udp_op op;
    ck_assert_int_eq(block(fut_udp_recv(&op, &b, buf, 10)), 10);
    ck_assert_int_eq(fut_udp_op_truncated(&op), 1);
    ck_assert_int_eq(memcmp(buf, "0123456789.", 11), 0);
    fut_drop(&op.base);
    ck_assert_int_eq(block(fut_udp_recv(&op, &b, buf, sizeof buf)), 4);
    ck_assert_int_eq(fut_udp_op_truncated(&op), 0);
    ck_assert_int_eq(memcmp(buf, "next", 4), 0);
    fut_drop(&op.base);
    /* len 0 discards a whole datagram. */
    send_to(&a, &b, "gone");
    send_to(&a, &b, "kept");
    ck_assert_int_eq(block(fut_udp_recv(&op, &b, NULL, 0)), 0);
    ck_assert_int_eq(fut_udp_op_truncated(&op), 1);
    fut_drop(&op.base);
    ck_assert_int_eq(block(fut_udp_recv(&op, &b, buf, sizeof buf)), 4);
    ck_assert_int_eq(memcmp(buf, "kept", 4), 0);
    fut_drop(&op.base);
    fut_drop(&a.base);
    fut_drop(&b.base);
}
END_TEST

/* Connected to a port nobody listens on: the ICMP error reaches the
 * waiting receive as its output. */
START_TEST(connrefused_on_connected_socket)
{
    fut_udp gone, c;
    ck_assert_int_eq(fut_udp_open(rt, &gone, "127.0.0.1:0", NULL), 0);
    char a[FUT_ADDR_STRLEN];
    fmt(fut_udp_addr(&gone), a);
    fut_drop(&gone.base); /* the port is closed now */
    ck_assert_int_eq(fut_udp_open(rt, &c, NULL, a), 0);
    fut_udp_op op;
    ck_assert_int_eq(block(fut_udp_send(&op, &c, "anyone?", 7, NULL)), 7);
    fut_drop(&op.base);
    char buf[16];
    ck_assert_int_eq(block(fut_udp_recv(&op, &c, buf, sizeof buf)), -ECONNREFUSED);
    fut_drop(&op.base);
    fut_drop(&c.base);
}
END_TEST

/* A receive dropped while pending takes nothing: the datagram sent
 * afterwards goes to the next receive. */
START_TEST(dropped_recv_loses_nothing)
{
    fut_udp a, b;
    ck_assert_int_eq(fut_udp_open(rt, &a, "127.0.0.1:0", NULL), 0);
    ck_assert_int_eq(fut_udp_open(rt, &b, "127.0.0.1:0", NULL), 0);
    char buf[16];
    fut_udp_op op;
    ck_assert_int_eq(th_poll_once(rt, fut_udp_recv(&op, &b, buf, sizeof buf), NULL), FUT_PENDING);
    fut_drop(&op.base);
    send_to(&a, &b, "one");
    /* Let the loop see the datagram (the dropped op's waker is woken). */
    fut_sleep sl;
    block(fut_sleep_init(&sl, 0.01));
    fut_drop(&sl.base);

    /* The same through a task cancelled while its receive waits. */
    fut_udp_op op2;
    fut_join j;
    char buf2[16];
    fut_udp_recv(&op2, &a, buf2, sizeof buf2);
    ck_assert_int_eq(FUT_SPAWN(rt, &op2, &j), 0);
    fut_yield y;
    block(fut_yield_init(&y));
    fut_drop(&y.base);
    ck_assert(!fut_join_finished(&j));
    ck_assert_int_eq(fut_join_cancel(&j), 0);
    ck_assert_int_eq(block(&j.base), -ECANCELED);
    fut_drop(&j.base);
    send_to(&b, &a, "two");

    ck_assert_int_eq(block(fut_udp_recv(&op, &b, buf, sizeof buf)), 3);
    ck_assert_int_eq(memcmp(buf, "one", 3), 0);
    fut_drop(&op.base);
    ck_assert_int_eq(block(fut_udp_recv(&op, &a, buf, sizeof buf)), 3);
    ck_assert_int_eq(memcmp(buf, "two", 3), 0);
    fut_drop(&op.base);
    fut_drop(&a.base);
    fut_drop(&b.base);
}
END_TEST

/* A task blocked in a nested loop on a receive is cancelled: the receive,
 * polled under the cancelled context, completes with -ECANCELED and takes
 * nothing. */
struct blocker {
    fut_udp *u;
    ssize_t out;
    int started;
    fut_join *self;
};

static fut_status blocker_fn(struct th_fn *f, fut_cx *cx)
{
    struct blocker *b = f->ud;
    b->started = 1;
    fut_udp_op op;
    char buf[16];
    ck_assert_int_eq(
        fut_rt_nested_loop(fut_cx_rt(cx), fut_udp_recv(&op, b->u, buf, sizeof buf), &b->out), 0);
    fut_drop(&op.base);
    return fut_ready(&f->base, b->out);
}

static fut_status canceller_fn(struct th_fn *f, fut_cx *cx)
{
    struct blocker *b = f->ud;
    /* The victim may not have run yet (a seeded order): yield until it is
     * in its nested loop. */
    if (!b->started && f->step < 100) {
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    ck_assert_int_eq(fut_join_cancel(b->self), 0);
    return fut_ready(&f->base, 0);
}

START_TEST(recv_under_cancelled_context)
{
    fut_udp a, b;
    ck_assert_int_eq(fut_udp_open(rt, &a, "127.0.0.1:0", NULL), 0);
    ck_assert_int_eq(fut_udp_open(rt, &b, "127.0.0.1:0", NULL), 0);
    struct blocker bl = {.u = &b, .out = 12345};
    struct th_fn victim, killer;
    th_fn_init(&victim, blocker_fn, &bl);
    fut_join jv, jk;
    ck_assert_int_eq(FUT_SPAWN(rt, &victim, &jv), 0);
    bl.self = &jv;
    th_fn_init(&killer, canceller_fn, &bl);
    ck_assert_int_eq(FUT_SPAWN(rt, &killer, &jk), 0);
    ck_assert_int_eq(block(&jv.base), -ECANCELED);
    ck_assert_int_eq(bl.out, -ECANCELED);
    fut_drop(&jv.base);
    block(&jk.base);
    fut_drop(&jk.base);
    send_to(&a, &b, "still");
    char buf[16];
    fut_udp_op op;
    ck_assert_int_eq(block(fut_udp_recv(&op, &b, buf, sizeof buf)), 5);
    fut_drop(&op.base);
    fut_drop(&a.base);
    fut_drop(&b.base);
}
END_TEST

/* Moving is fine before the first op, and diagnosed after it. */
START_TEST(moved_after_first_op_diagnosed)
{
    fut_udp a, b, moved;
    ck_assert_int_eq(fut_udp_open(rt, &a, "127.0.0.1:0", NULL), 0);
    ck_assert_int_eq(fut_udp_open(rt, &moved, "127.0.0.1:0", NULL), 0);
    memcpy(&b, &moved, sizeof b); /* before registration: allowed */
    send_to(&a, &b, "x");
    char buf[4];
    fut_udp_op op;
    ck_assert_int_eq(block(fut_udp_recv(&op, &b, buf, sizeof buf)), 1);
    fut_drop(&op.base);
    ck_assert_int_eq(th_diag_count, 0);

    memcpy(&moved, &b, sizeof moved); /* registered now: a bug */
    send_to(&a, &moved, "y");
    ck_assert_int_eq(block(fut_udp_recv(&op, &moved, buf, sizeof buf)), -EINVAL);
    fut_drop(&op.base);
    ck_assert_int_eq(th_diag_count, 1);
    ck_assert_ptr_nonnull(strstr(th_diag_last, "fut_udp"));
    ck_assert_ptr_nonnull(strstr(th_diag_last, "moved"));
    th_diag_count = 0;
    int fd = moved.h.fd;
    fut_drop(&moved.base); /* diagnosed again; the fd stays open (libev watches it) */
    ck_assert_int_eq(th_diag_count, 1);
    th_diag_count = 0;
    close(fd);
    fut_drop(&a.base);
}
END_TEST

/* The runtime freed while sockets are open (one registered with a
 * receive's waker in its slot, one never used): no crash, nothing leaked;
 * ops then see -EBADF, and the drops close the sockets. */
START_TEST(rt_freed_with_socket_open)
{
    fut_udp a, b;
    ck_assert_int_eq(fut_udp_open(rt, &a, "127.0.0.1:0", NULL), 0);
    ck_assert_int_eq(fut_udp_open(rt, &b, "127.0.0.1:0", NULL), 0);
    char buf[8];
    fut_udp_op op;
    ck_assert_int_eq(th_poll_once(rt, fut_udp_recv(&op, &a, buf, sizeof buf), NULL), FUT_PENDING);
    fut_drop(&op.base);
    ck_assert_int_eq(fut_rt_free(rt), 0);
    ck_assert_int_eq(fut_rt_new(&rt, NULL), 0);
    ck_assert_int_eq(block(fut_udp_recv(&op, &a, buf, sizeof buf)), -EBADF);
    fut_drop(&op.base);
    fut_drop(&a.base);
    fut_drop(&b.base);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("udp");
    TCase *tc = tcase_create("udp");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, open_bad_input);
    tcase_add_test(tc, open_without_a_socket);
    tcase_add_test(tc, op_bad_input);
    tcase_add_test(tc, round_trip_v4);
    tcase_add_test(tc, round_trip_v6);
    tcase_add_test(tc, connected_send_without_address);
    tcase_add_test(tc, recv_waits_for_datagram);
    tcase_add_test(tc, truncation_reported);
    tcase_add_test(tc, connrefused_on_connected_socket);
    tcase_add_test(tc, dropped_recv_loses_nothing);
    tcase_add_test(tc, recv_under_cancelled_context);
    tcase_add_test(tc, moved_after_first_op_diagnosed);
    tcase_add_test(tc, rt_freed_with_socket_open);
    suite_add_tcase(s, tc);
    return th_run(s);
}
