/* SPDX-License-Identifier: MIT */
/* An LD_PRELOAD shim that injects syscall faults a correct non-blocking
 * program must handle: EINTR, EAGAIN and short reads and writes.
 *
 *   FAULTS_RATE  one call in N fails (N >= 1); unset or 0: no faults
 *   FAULTS_SEED  seeds the choice (reproducible for one thread's calls)
 *   FAULTS_LOG   a file each process appends its tally to at exit
 *
 * Only calls a non-blocking program can see fail so are touched: the fd
 * must be above 2 and non-blocking (O_NONBLOCK, or MSG_DONTWAIT for the
 * socket calls), which leaves alone the blocking pipes Check keeps for
 * its bookkeeping and anything a test does in blocking mode. Short
 * transfers (at least one byte) only where the kernel makes them: stream
 * sockets and pipes, never datagrams or eventfds. epoll_wait gets EINTR.
 *
 * Interposed: read, write, recv, send, sendto, recvmsg, sendmsg, accept4,
 * epoll_wait (a read of an eventfd is a read). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static unsigned long rate;
static uint64_t seed;
static atomic_uint threads;
static atomic_ulong n_eintr, n_eagain, n_short, n_calls;
static __thread uint64_t rng;

static void __attribute__((constructor)) faults_init(void)
{
    const char *s = getenv("FAULTS_RATE");
    rate = s ? strtoul(s, NULL, 0) : 0;
    s = getenv("FAULTS_SEED");
    seed = s ? strtoull(s, NULL, 0) : 1;
}

static void __attribute__((destructor)) faults_fini(void)
{
    const char *path = getenv("FAULTS_LOG");
    if (!rate || !path)
        return;
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    fprintf(f, "%d: %lu calls eligible, %lu EINTR, %lu EAGAIN, %lu short\n", (int)getpid(),
            atomic_load(&n_calls), atomic_load(&n_eintr), atomic_load(&n_eagain),
            atomic_load(&n_short));
    fclose(f);
}

/* xorshift64*, one stream per thread: the seed and the thread's rank. */
static uint64_t roll(void)
{
    if (!rng) {
        uint64_t z = seed + (uint64_t)(atomic_fetch_add(&threads, 1) + 1) * 0x9E3779B97F4A7C15u;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
        rng = (z ^ (z >> 31)) | 1;
    }
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (rng * 0x2545F4914F6CDD1Du) >> 16;
}

enum kind { K_NONE, K_STREAM, K_DGRAM, K_EVENTFD };

static enum kind classify(int fd, int dontwait)
{
    if (!rate || fd <= 2)
        return K_NONE;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (!(fl & O_NONBLOCK) && !dontwait))
        return K_NONE;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return K_NONE;
    if (S_ISFIFO(st.st_mode))
        return K_STREAM;
    if (S_ISSOCK(st.st_mode)) {
        int type = 0;
        socklen_t len = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
            return K_NONE;
        return type == SOCK_STREAM ? K_STREAM : K_DGRAM;
    }
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n > 0) {
        link[n] = 0;
        if (!strcmp(link, "anon_inode:[eventfd]"))
            return K_EVENTFD;
    }
    return K_NONE;
}

enum fault { F_NONE, F_EINTR, F_EAGAIN, F_SHORT };

/* What this call suffers. may_short: a shorter transfer is possible. */
static enum fault pick(enum kind k, size_t len, int may_short)
{
    if (k == K_NONE)
        return F_NONE;
    atomic_fetch_add(&n_calls, 1);
    if (roll() % rate)
        return F_NONE;
    unsigned c = (unsigned)(roll() % 3);
    if (c == 2 && !(may_short && k == K_STREAM && len > 1))
        c = (unsigned)(roll() % 2);
    switch (c) {
    case 0:
        atomic_fetch_add(&n_eintr, 1);
        return F_EINTR;
    case 1:
        atomic_fetch_add(&n_eagain, 1);
        return F_EAGAIN;
    default:
        atomic_fetch_add(&n_short, 1);
        return F_SHORT;
    }
}

static ssize_t fail(enum fault f)
{
    errno = f == F_EINTR ? EINTR : EAGAIN;
    return -1;
}

/* 1 .. len-1 */
static size_t shorter(size_t len)
{
    return 1 + (size_t)(roll() % (len - 1));
}

static size_t iov_len(const struct msghdr *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->msg_iovlen; i++)
        n += m->msg_iov[i].iov_len;
    return n;
}

/* The iovecs of m cut to want bytes, in iov (room for m's count). */
static void iov_cut(const struct msghdr *m, struct msghdr *cut, struct iovec *iov, size_t want)
{
    *cut = *m;
    cut->msg_iov = iov;
    size_t i = 0;
    for (; i < m->msg_iovlen && want; i++) {
        iov[i] = m->msg_iov[i];
        if (iov[i].iov_len > want)
            iov[i].iov_len = want;
        want -= iov[i].iov_len;
    }
    cut->msg_iovlen = i;
}

#define REAL(name, ret, ...) \
    static ret (*real_##name)(__VA_ARGS__); \
    static ret (*get_##name(void))(__VA_ARGS__) \
    { \
        if (!real_##name) \
            *(void **)&real_##name = dlsym(RTLD_NEXT, #name); \
        return real_##name; \
    }

REAL(read, ssize_t, int, void *, size_t)
REAL(write, ssize_t, int, const void *, size_t)
REAL(recv, ssize_t, int, void *, size_t, int)
REAL(send, ssize_t, int, const void *, size_t, int)
REAL(sendto, ssize_t, int, const void *, size_t, int, const struct sockaddr *, socklen_t)
REAL(recvmsg, ssize_t, int, struct msghdr *, int)
REAL(sendmsg, ssize_t, int, const struct msghdr *, int)
REAL(accept4, int, int, struct sockaddr *, socklen_t *, int)
REAL(epoll_wait, int, int, struct epoll_event *, int, int)

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
    enum fault f = pick(classify(fd, 0), len, 1);
    if (f == F_EINTR || f == F_EAGAIN)
        return fail(f);
    return get_read()(fd, buf, f == F_SHORT ? shorter(len) : len);
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
    enum kind k = classify(fd, 0);
    /* An eventfd write is a wake-up nobody retries (libev's): never fails. */
    enum fault f = k == K_EVENTFD ? F_NONE : pick(k, len, 1);
    if (f == F_EINTR || f == F_EAGAIN)
        return fail(f);
    return get_write()(fd, buf, f == F_SHORT ? shorter(len) : len);
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    enum fault f = pick(classify(fd, flags & MSG_DONTWAIT), len, !(flags & MSG_PEEK));
    if (f == F_EINTR || f == F_EAGAIN)
        return fail(f);
    return get_recv()(fd, buf, f == F_SHORT ? shorter(len) : len, flags);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    enum fault f = pick(classify(fd, flags & MSG_DONTWAIT), len, 1);
    if (f == F_EINTR || f == F_EAGAIN)
        return fail(f);
    return get_send()(fd, buf, f == F_SHORT ? shorter(len) : len, flags);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
                      socklen_t tolen)
{
    enum fault f = pick(classify(fd, flags & MSG_DONTWAIT), len, 1);
    if (f == F_EINTR || f == F_EAGAIN)
        return fail(f);
    return get_sendto()(fd, buf, f == F_SHORT ? shorter(len) : len, flags, to, tolen);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
    size_t len = iov_len(m);
    enum fault f = pick(classify(fd, flags & MSG_DONTWAIT), len, !(flags & MSG_PEEK));
    if (f == F_EINTR || f == F_EAGAIN)
        return fail(f);
    if (f != F_SHORT || m->msg_iovlen > 64)
        return get_recvmsg()(fd, m, flags);
    struct iovec iov[64];
    struct msghdr cut;
    iov_cut(m, &cut, iov, shorter(len));
    ssize_t n = get_recvmsg()(fd, &cut, flags);
    m->msg_namelen = cut.msg_namelen;
    m->msg_controllen = cut.msg_controllen;
    m->msg_flags = cut.msg_flags;
    return n;
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    size_t len = iov_len(m);
    enum fault f = pick(classify(fd, flags & MSG_DONTWAIT), len, 1);
    if (f == F_EINTR || f == F_EAGAIN)
        return fail(f);
    if (f != F_SHORT || m->msg_iovlen > 64)
        return get_sendmsg()(fd, m, flags);
    struct iovec iov[64];
    struct msghdr cut;
    iov_cut(m, &cut, iov, shorter(len));
    return get_sendmsg()(fd, &cut, flags);
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
    enum fault f = pick(classify(fd, 0), 0, 0);
    if (f == F_EINTR || f == F_EAGAIN)
        return (int)fail(f);
    return get_accept4()(fd, addr, alen, flags);
}

EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
    if (rate && epfd > 2) {
        atomic_fetch_add(&n_calls, 1);
        if (roll() % rate == 0) {
            atomic_fetch_add(&n_eintr, 1);
            errno = EINTR;
            return -1;
        }
    }
    return get_epoll_wait()(epfd, ev, max, timeout);
}
