#!/bin/sh
# SPDX-License-Identifier: MIT
# Select over K children (inline and with branch tasks; the cost per extra
# child), a select loser's async teardown, the pool (round trip, a window
# of 256 jobs, cancelling a queued and a running job) and io_uring against
# readiness I/O on a pipe, and spawning /bin/true (libfut against a raw
# posix_spawn + waitpid). Medians of 5 (1 with --smoke, at tiny N).
set -eu
bin=${BENCH_BIN:-$(cd "$(dirname "$0")" && pwd)}
reps=5
scale=1
if [ "${1:-}" = --smoke ]; then reps=1; scale=100; fi
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
run() { # label prog args...
    label=$1; shift
    vals=
    i=0
    while [ $i -lt $reps ]; do
        out=$("$@") || { echo "extra.sh: $* failed" >&2; exit 1; }
        vals="$vals $(echo "$out" | sed -n 's/.*ns\/op=\([0-9.]*\).*/\1/p')"
        i=$((i + 1))
    done
    printf '%-34s %10s ns/op\n' "$label" "$(echo $vals | tr ' ' '\n' | median)"
}
n() { echo $(( $1 / scale )); }
echo "# $(date -u +%F) $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), nproc $(nproc)"
for k in 2 8; do
    run "select inline K=$k (per round)" "$bin/b_select" inline $k $(n 200000)
    run "select tasks K=$k (per round)" "$bin/b_select" tasks $k $(n 50000)
done
run "select loser teardown (K=2)" "$bin/b_select" loser 2 $(n 200000)
run "pool round trip" "$bin/b_pool" roundtrip $(n 20000)
run "pool window of 256 (per job)" "$bin/b_pool" window $(n 200000)
run "pool cancel queued" "$bin/b_pool" cancel_queued $(n 100000)
run "pool cancel running" "$bin/b_pool" cancel_running $(n 20000)
run "pipe hop, io_uring" "$bin/b_uring" uring $(n 200000)
run "pipe hop, readiness (fut_fd)" "$bin/b_uring" fd $(n 200000)
run "spawn /bin/true + wait (libfut)" "$bin/b_process" spawn $(n 2000)
run "spawn /bin/true + wait (raw)" "$bin/b_process_raw" spawn $(n 2000)
