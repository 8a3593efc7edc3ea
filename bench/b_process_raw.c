/* SPDX-License-Identifier: MIT */
/* Processes, the raw floor: posix_spawn() of /bin/true and a blocking
 * waitpid(), N times. No loop, no pidfd, no file actions: the least a
 * program can do to run a child and collect its status. Twin of
 * b_process.c; same command line, same output line. */
#include <spawn.h>
#include <sys/wait.h>

#include "bench.h"

#define MODES "spawn"

extern char **environ;

int main(int argc, char **argv)
{
    struct bench_args a = bench_parse(argc, argv, MODES, 0);
    if (!bench_mode_is(&a, "spawn"))
        bench_unsupported(&a);
    char *const args[] = {"/bin/true", NULL};
    double t0 = bench_now();
    for (long i = 0; i < a.n; i++) {
        pid_t pid;
        BENCH_CHECK(posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ) == 0);
        int status;
        BENCH_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                    WEXITSTATUS(status) == 0);
    }
    bench_report(&a, bench_now() - t0);
    return 0;
}
