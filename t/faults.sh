#!/bin/sh
# SPDX-License-Identifier: MIT
# The I/O suites under syscall fault injection (t/faults.c, LD_PRELOAD):
# read, write, recv, send, recvmsg, sendmsg, accept4 and epoll_wait on
# non-blocking fds fail with EINTR or EAGAIN, or transfer fewer bytes,
# one call in FAULTS_RATE (8), under a few seeds. Every suite must still
# pass: the library retries, waits for readiness or carries on from a
# short transfer, and a test that reads its own non-blocking fd does too.
#   FAULTS_SEEDS  the seeds (default "1 2 3")
#   FAULTS_SUITES the suites (default below)
set -u
b=${top_builddir:-.}
shim=$b/t/.libs/libfaults.so
suites=${FAULTS_SUITES:-"check_fd check_io check_net check_udp check_chan check_process"}
seeds=${FAULTS_SEEDS:-"1 2 3"}
rate=${FAULTS_RATE:-8}
n=0
total=0
for s in $seeds; do for t in $suites; do total=$((total + 1)); done; done
echo "1..$((total + 1))"
why=
[ -f "$shim" ] || why="$shim not built (no shared libraries)"
[ -n "${FUT_VALGRIND:-}" ] && why="under FUT_VALGRIND (it would only repeat the plain run)"
case "${CFLAGS:-}" in
*-fsanitize*) why="a sanitizer build (its runtime must come first, not a preload)" ;;
esac
if [ -n "$why" ]; then
    echo "ok 1 # SKIP $why"
    i=1
    while [ $i -lt $((total + 1)) ]; do i=$((i + 1)); echo "ok $i # SKIP"; done
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The shim injects at all: non-blocking pipe calls see its faults.
n=$((n + 1))
if ! command -v python3 >/dev/null 2>&1; then
    echo "ok $n # SKIP no python3 for the probe"
else
    FAULTS_RATE=1 FAULTS_LOG=$tmp/probe LD_PRELOAD=$shim python3 -c '
import os
r, w = os.pipe()
os.set_blocking(r, False)
os.set_blocking(w, False)
for i in range(20):
    for f in (lambda: os.write(w, b"xy"), lambda: os.read(r, 2)):
        try: f()
        except OSError: pass' 2>/dev/null
    if awk '$2 > 0 && $5 + $7 + $9 > 0 {ok = 1} END {exit !ok}' "$tmp/probe" 2>/dev/null; then
        echo "ok $n - the shim injects faults:$(awk '$5 + $7 + $9 > 0' "$tmp/probe" | cut -d: -f2- | head -1)"
    else
        echo "not ok $n - the shim injects faults"
        sed 's/^/# /' "$tmp/probe" 2>/dev/null
    fi
fi

for s in $seeds; do
    for t in $suites; do
        n=$((n + 1))
        log=$tmp/$t.$s
        FAULTS_SEED=$s FAULTS_RATE=$rate FAULTS_LOG=$tmp/tally LD_PRELOAD=$shim \
            "$b/t/$t" >"$log" 2>&1
        rc=$?
        if [ $rc -eq 0 ] && ! grep -q '^not ok' "$log"; then
            echo "ok $n - t/$t under faults, FAULTS_SEED=$s FAULTS_RATE=$rate"
        else
            echo "not ok $n - t/$t under faults, FAULTS_SEED=$s FAULTS_RATE=$rate (exit $rc)"
            grep -E '^not ok|^Bail out' "$log" | head -20 | sed 's/^/# /'
        fi
    done
done
awk '{c += $2; e += $5; a += $7; s += $9} END {printf "# faults injected: %d EINTR, %d EAGAIN, %d short, over %d eligible calls\n", e, a, s, c}' \
    "$tmp/tally" 2>/dev/null
exit 0
