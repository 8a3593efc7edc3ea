/* SPDX-License-Identifier: MIT */
/* Shared helpers of the benchmark programs (libfut ones and their raw
 * libev twins alike): the command line, the clock, the report line.
 *
 * Every program is invoked as
 *
 *     bench/b_<workload>[_ev] MODE N [M]
 *
 * and prints one line
 *
 *     <prog> <mode> n=<N> m=<M> ns/op=<float>
 *
 * (b_mem prints bytes instead, see there). It exits non-zero when the
 * work it did was wrong (a lost result, a task that did not run): the
 * smoke run relies on that. Timings are wall clock (CLOCK_MONOTONIC) of
 * the measured section only; setup and teardown stay outside it.
 */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NOINLINE __attribute__((noinline))
/* Keeps the compiler from proving a value unused or a loop empty. */
#define BENCH_KEEP(x) __asm__ volatile("" : : "g"(x) : "memory")

struct bench_args {
    const char *prog;
    const char *mode;
    long n;
    long m;
};

static inline void bench_usage(const char *prog, const char *modes)
{
    fprintf(stderr, "usage: %s MODE N [M]\n  modes: %s\n", prog, modes);
    exit(2);
}

static inline long bench_parse_long(const char *s, const char *prog, const char *modes)
{
    char *end;
    errno = 0;
    /* Accept 1e6 as well as 1000000. */
    double d = strtod(s, &end);
    if (errno || *end || d < 0 || d > 1e12)
        bench_usage(prog, modes);
    return (long)d;
}

static inline struct bench_args bench_parse(int argc, char **argv, const char *modes, int need_m)
{
    struct bench_args a = {argv[0], NULL, 0, 0};
    const char *slash = strrchr(argv[0], '/');
    if (slash)
        a.prog = slash + 1;
    if (argc < 3 + need_m || argc > 4)
        bench_usage(a.prog, modes);
    a.mode = argv[1];
    a.n = bench_parse_long(argv[2], a.prog, modes);
    if (a.n < 1)
        bench_usage(a.prog, modes);
    if (argc > 3)
        a.m = bench_parse_long(argv[3], a.prog, modes);
    return a;
}

static inline int bench_mode_is(const struct bench_args *a, const char *mode)
{
    return strcmp(a->mode, mode) == 0;
}

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The result line, for `ops` operations done in `seconds`. */
static inline void bench_report_ops(const struct bench_args *a, double seconds, double ops)
{
    printf("%s %s n=%ld m=%ld ns/op=%.2f\n", a->prog, a->mode, a->n, a->m, seconds * 1e9 / ops);
    fflush(stdout);
}

/* The result line when one op is one of the N. */
static inline void bench_report(const struct bench_args *a, double seconds)
{
    bench_report_ops(a, seconds, (double)a->n);
}

/* A mode this program does not implement: WORKLOADS.md's exit status 3. */
static inline void bench_unsupported(const struct bench_args *a)
{
    fprintf(stderr, "%s: %s: unsupported\n", a->prog, a->mode);
    exit(3);
}

/* Rounds of a mode that repeats its N ops in-process to be warm (M, at
 * least 1). */
static inline long bench_rounds(const struct bench_args *a)
{
    return a->m > 0 ? a->m : 1;
}

/* Aborts the run: the benchmark did not do the work it claims. */
#define BENCH_CHECK(cond) \
    do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1); \
        } \
    } while (0)

/* A small deterministic PRNG (xorshift64*): the same background timers on
 * every run, so that callgrind's marginal differencing cancels them out. */
static inline uint64_t bench_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, 1). */
static inline double bench_rand01(uint64_t *s)
{
    return (double)(bench_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Raises the soft limit on open files to the hard one; fails the run when
 * `need` descriptors do not fit. */
static inline void bench_need_fds(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)need + 64 > rl.rlim_cur) {
        fprintf(stderr, "bench: %ld descriptors needed, RLIMIT_NOFILE is %lu\n", need,
                (unsigned long)rl.rlim_cur);
        exit(1);
    }
}

/* Resident set size in bytes, from /proc/self/statm. */
static inline long bench_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

#endif
