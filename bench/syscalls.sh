#!/bin/sh
# SPDX-License-Identifier: MIT
# System calls per operation, by marginal differencing under strace: each
# program runs at N and at 2N under `strace -c -f` (threads included), and
# (calls(2N) - calls(N)) / N per system call is what one more op costs;
# start-up, loop creation and teardown cancel out. Like instruction
# counts, these do not depend on the machine's load: read them beside
# run.sh's nanoseconds. The rows are the workloads that touch the kernel
# (fds, timers, the loop's polling): B3 shows epoll_wait per yield (how
# often a runtime looks for I/O while tasks keep yielding), B5 epoll_ctl
# per hop (re-registering an fd on every wait costs one each).
#
#   bench/syscalls.sh [--quick] [FILTER...]
#
#   --quick    smaller N (--smoke: the same).
#   FILTER     only the rows whose id contains one of these words.
#
# Columns: all system calls per op, then the main ones (epoll_wait counts
# epoll_wait, epoll_pwait and epoll_pwait2), and the largest other one.
# Writes $BENCH_OUT/syscalls.txt and syscalls.tsv.
#
# Environment: BENCH_BIN, BENCH_SRC, BENCH_UV, BENCH_TOKIO, BENCH_OUT as for
# run.sh; STRACE (default: strace).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${BENCH_BIN:-$here}
src=${BENCH_SRC:-$here}
out=${BENCH_OUT:-$bin/out}
st=${STRACE:-strace}
quick=0
filters=
while [ $# -gt 0 ]; do
    case "$1" in
    --quick|--smoke) quick=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "syscalls.sh: unknown option $1" >&2; exit 2 ;;
    *) filters="$filters $1" ;;
    esac
    shift
done
if ! command -v "$st" >/dev/null 2>&1; then
    echo "syscalls.sh: strace not found (Debian: apt-get install strace)" >&2
    exit 1
fi
mkdir -p "$out"

peer() {
    if [ -x "$bin/$1" ]; then echo "$bin/$1"; elif [ -x "$src/$1" ]; then echo "$src/$1"; fi
}
uv=${BENCH_UV:-$(peer peers/uv/b_uv)}
tokio=${BENCH_TOKIO:-$(peer peers/tokio/target/release/b_tokio)}
[ -n "$uv" ] && [ -x "$uv" ] || { echo "syscalls.sh: libuv peer not built: skipped" >&2; uv=; }
[ -n "$tokio" ] && [ -x "$tokio" ] || { echo "syscalls.sh: Tokio peer not built: skipped" >&2; tokio=; }

# id, workload, mode, N, M ('-': none).
if [ $quick = 1 ]; then
    rows="
B2.wake.hop          wake  hop             2000  -
B3.yield.one         yield one             2000  -
B3.yield.many        yield many            100   100
B4.timer.fifo        timer fifo            2000  -
B4.timer.fire        timer fire            2000  -
B4.timer.timeout     timer timeout_ready   2000  -
B5.fdhop.pipe        fdhop pipe            2000  -
B7.drop.io           drop  io              1000  -
"
else
    rows="
B1.spawn.all         spawn all             20000 -
B2.wake.hop          wake  hop             20000 -
B3.yield.one         yield one             20000 -
B3.yield.many        yield many            1000  100
B4.timer.fifo        timer fifo            20000 -
B4.timer.fire        timer fire            20000 -
B4.timer.timeout     timer timeout_ready   20000 -
B5.fdhop.pipe        fdhop pipe            20000 -
B7.drop.timer        drop  timer           5000  -
B7.drop.io           drop  io              4000  -
B7.drop.join         drop  join            5000  -
"
fi

selected() {
    [ -z "$filters" ] && return 0
    for f in $filters; do
        case "$1" in *"$f"*) return 0 ;; esac
    done
    return 1
}

cmd_of() { # runtime workload
    case $1 in
    libfut) [ -x "$bin/b_$2" ] && echo "$bin/b_$2" ;;
    libev) [ -x "$bin/b_$2_ev" ] && echo "$bin/b_$2_ev" ;;
    uv) [ -n "$uv" ] && echo "$uv $2" ;;
    tokio) [ -n "$tokio" ] && echo "$tokio $2" ;;
    esac
    return 0
}

# Runs one program under strace -c; prints "syscall calls" lines, or '-'
# (not built, or unsupported: exit 3) or FAIL.
counts() { # runtime workload mode n m
    c=$(cmd_of "$1" "$2")
    [ -n "$c" ] || { echo -; return; }
    f="$out/st.$1.$2.$3.$4.$5"
    margs="$5"
    [ "$5" = - ] && margs=
    rc=0
    # shellcheck disable=SC2086
    "$st" -c -f -o "$f.txt" $c "$3" "$4" $margs </dev/null >"$f.stdout" 2>"$f.stderr" || rc=$?
    if [ $rc = 3 ]; then echo -; return; fi
    if [ $rc != 0 ]; then
        echo "syscalls.sh: FAILED ($rc): $c $3 $4 $margs (see $f.stderr)" >&2
        echo FAIL
        return
    fi
    # "% time seconds usecs/call calls [errors] syscall": calls is the 4th
    # field, the name the last.
    awk '/^------/ { next } $NF == "total" || $NF == "syscall" { next }
         NF >= 5 { print $NF, $4 }' "$f.txt"
}

ops_of() { # mode n m
    if [ "$1" = many ]; then
        awk -v n="$2" -v m="$3" 'BEGIN { printf "%d", n * (m == "-" ? 100 : m) }'
    else
        echo "$2"
    fi
}

res_txt=$out/syscalls.txt
res_tsv=$out/syscalls.tsv
{
echo "# system calls per op (strace -c -f, marginal: (calls(2N) - calls(N)) / N): $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# git: $(cd "$src" && git describe --always --dirty 2>/dev/null || echo '?'); kernel $(uname -r); $($st -V | head -n 1)"
echo
printf '%-21s %-14s %6s %-7s %8s %10s %9s %8s %8s  %s\n' workload mode N runtime all/op epoll_wait epoll_ctl read write other
printf '%-21s %-14s %6s %-7s %8s %10s %9s %8s %8s  %s\n' --------------------- -------------- ------ ------- -------- ---------- --------- -------- -------- -----
} | tee "$res_txt"
printf 'id\tworkload\tmode\tn\tm\truntime\tall\tepoll_wait\tepoll_ctl\tread\twrite\tother\n' >"$res_tsv"

failed=0
while read -r id w mode n m; do
    [ -n "$id" ] || continue
    selected "$id" || continue
    if [ "$w" = fdhop ] && [ ! -x "$bin/b_fdhop" ]; then continue; fi
    n2=$(awk -v n="$n" 'BEGIN { printf "%d", 2 * n }')
    ops=$(ops_of "$mode" "$n" "$m")
    for rt in libfut libev uv tokio; do
        a=$(counts $rt "$w" "$mode" "$n" "$m")
        b=$(counts $rt "$w" "$mode" "$n2" "$m")
        case "$a$b" in
        *FAIL*) failed=1; line="FAIL" ;;
        -*|*-) continue ;;
        *)
            line=$( { echo "$a" | sed 's/^/a /'; echo "$b" | sed 's/^/b /'; } | awk -v ops="$ops" '
                { v[$1, $2] = $3; names[$2] = 1 }
                END {
                    for (k in names) d[k] = (v["b", k] - v["a", k]) / ops
                    all = 0; for (k in d) all += d[k]
                    ew = d["epoll_wait"] + d["epoll_pwait"] + d["epoll_pwait2"]
                    best = ""; bv = 0
                    for (k in d) if (k !~ /^(epoll_wait|epoll_pwait|epoll_pwait2|epoll_ctl|read|write)$/ && d[k] > bv + 1e-9) { best = k; bv = d[k] }
                    other = best == "" ? "-" : sprintf("%s %.3f", best, bv)
                    printf "%.3f\t%.4f\t%.4f\t%.3f\t%.3f\t%s\n", all, ew, d["epoll_ctl"], d["read"], d["write"], other
                }') ;;
        esac
        if [ "$line" = FAIL ]; then
            printf '%-21s %-14s %6s %-7s %8s\n' "$id" "$mode" "$n" "$rt" FAIL | tee -a "$res_txt"
            continue
        fi
        echo "$line" | awk -F '\t' -v id="$id" -v mode="$mode" -v n="$n" -v rt="$rt" '
            { printf "%-21s %-14s %6s %-7s %8s %10s %9s %8s %8s  %s\n", id, mode, n, rt, $1, $2, $3, $4, $5, $6 }' |
            tee -a "$res_txt"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$w" "$mode" "$n" "$m" "$rt" "$line" >>"$res_tsv"
    done
done <<EOF
$rows
EOF

if [ $failed = 1 ]; then
    echo "syscalls.sh: some runs FAILED" >&2
    exit 1
fi
