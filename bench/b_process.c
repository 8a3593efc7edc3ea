/* SPDX-License-Identifier: MIT */
/* Processes, libfut: spawn /bin/true and wait for its exit, N times.
 *
 * Mode:
 *   spawn  fut_process_spawn() of /bin/true (stdio inherited), then
 *          fut_rt_block_on() of the process (its pidfd's ev_io fires, waitid
 *          reaps), then fut_drop() (READY at once). One op is one child,
 *          spawned, waited for and reaped.
 *
 * Twin: b_process_raw.c, posix_spawn() + a blocking waitpid(): the floor
 * (no loop, no pidfd). What libfut adds per op: pidfd_open, the
 * epoll_ctl and epoll_wait of the ev_io, waitid(P_PIDFD), close of the
 * pidfd, and in the child the file actions (closefrom(3)) and the reset
 * signal mask and SIGPIPE disposition. Both exec the same binary, which
 * dominates.
 */
#include <fut.h>

#include "bench.h"

#define MODES "spawn"

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (!bench_mode_is(&a, "spawn"))
        bench_unsupported(&a);
    fut_rt *rt;
    BENCH_CHECK(fut_rt_new(&rt, NULL) == 0);
    char *const args[] = {"/bin/true", NULL};
    struct fut_process_opts o = {.file = "/bin/true", .argv = args};
    double t0 = bench_now();
    for (long i = 0; i < a.n; i++) {
        fut_process p;
        BENCH_CHECK(fut_process_spawn(rt, &p, &o) == 0);
        ssize_t st = -1;
        BENCH_CHECK(fut_rt_block_on(rt, &p.base, &st) == 0 && st == 0);
        BENCH_CHECK(fut_drop(&p.base) == 0);
    }
    bench_report(&a, bench_now() - t0);
    BENCH_CHECK(fut_rt_free(rt) == 0);
    return 0;
}
