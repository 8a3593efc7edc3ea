#!/bin/sh
# Runs every benchmark workload: each libfut program and its raw libev twin
# alternately (fut, ev, fut, ev, ...), REPS times, and prints the medians
# side by side with their ratio. Numbers from one run on one machine only
# mean something next to each other: compare ratios, not absolute ns.
#
#   bench/run.sh [--smoke] [--reps K] [FILTER...]
#
#   --smoke    every workload at tiny N, one repetition: a few seconds; checks
#              that every program runs and does its work (each exits non-zero
#              when a result is wrong). Used by CI.
#   --reps K   repetitions per program (default 5; 1 with --smoke).
#   FILTER     only the rows whose workload name contains one of these words.
#
# Environment: BENCH_BIN, the directory of the built programs (default: the
# directory of this script; `make bench` sets it).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${BENCH_BIN:-$here}
smoke=0
reps=
filters=
while [ $# -gt 0 ]; do
    case "$1" in
    --smoke) smoke=1 ;;
    --reps) shift; reps=$1 ;;
    --reps=*) reps=${1#--reps=} ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) filters="$filters $1" ;;
    esac
    shift
done
[ -n "$reps" ] || { [ $smoke = 1 ] && reps=1 || reps=5; }

for p in b_spawn b_wake b_timer b_drop b_mem; do
    for q in "$p" "${p}_ev"; do
        if [ ! -x "$bin/$q" ]; then
            echo "run.sh: $bin/$q is not built: run 'make bench-build' (or 'make bench')" >&2
            exit 1
        fi
    done
done

# The workloads: name, program (the twin is <program>_ev), mode, N, M.
# N is chosen so that one run takes a fraction of a second.
if [ $smoke = 1 ]; then
    rows="
B1.spawn.all         b_spawn all             10000 0
B1.spawn.batch       b_spawn batch           10000 0
B2.wake.hop          b_wake  hop             10000 0
B4.timer.early       b_timer early           10000 1000
B4.timer.mid         b_timer mid             10000 1000
B4.timer.mid         b_timer mid             10000 100000
B4.timer.late        b_timer late            10000 1000
B7.drop.sync         b_drop  sync            10000 0
B7.drop.pd_ready     b_drop  pd_ready        10000 0
B7.drop.pd_pending   b_drop  pd_pending      10000 0
B7.drop.task_ready   b_drop  task_pd_ready   10000 0
B7.drop.task_pending b_drop  task_pd_pending 10000 0
"
    memn=10000
else
    rows="
B1.spawn.all         b_spawn all             1e5   0
B1.spawn.all         b_spawn all             1e6   0
B1.spawn.batch       b_spawn batch           1e6   0
B2.wake.hop          b_wake  hop             1e7   0
B4.timer.early       b_timer early           1e6   1e3
B4.timer.early       b_timer early           1e6   1e4
B4.timer.early       b_timer early           1e6   1e5
B4.timer.early       b_timer early           1e6   1e6
B4.timer.mid         b_timer mid             1e6   1e3
B4.timer.mid         b_timer mid             1e6   1e4
B4.timer.mid         b_timer mid             1e6   1e5
B4.timer.mid         b_timer mid             1e6   1e6
B4.timer.late        b_timer late            1e6   1e3
B4.timer.late        b_timer late            1e6   1e4
B4.timer.late        b_timer late            1e6   1e5
B4.timer.late        b_timer late            1e6   1e6
B7.drop.sync         b_drop  sync            1e7   0
B7.drop.pd_ready     b_drop  pd_ready        1e7   0
B7.drop.pd_pending   b_drop  pd_pending      1e6   0
B7.drop.task_ready   b_drop  task_pd_ready   1e5   0
B7.drop.task_pending b_drop  task_pd_pending 1e5   0
"
    memn=1000000
fi

selected() {
    [ -z "$filters" ] && return 0
    for f in $filters; do
        case "$1" in *"$f"*) return 0 ;; esac
    done
    return 1
}

# The ns/op field of one run. A failing program stops everything.
run_one() {
    out=$("$bin/$1" "$2" "$3" "$4") || { echo "run.sh: FAILED: $1 $2 $3 $4" >&2; exit 1; }
    echo "$out" | sed -n 's/.*ns\/op=\([0-9.]*\).*/\1/p'
}

median() {
    tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

checks=unknown
if [ -f "$bin/../config.h" ]; then
    if grep -q '^#define NDEBUG' "$bin/../config.h"; then checks=off; else checks=on; fi
fi
echo "# libfut benchmarks: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(uname -srm)"
echo "# cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1), $(nproc 2>/dev/null || echo '?') cpus"
echo "# git: $(cd "$here" && git describe --always --dirty 2>/dev/null || echo '?'), protocol checks: $checks"
echo "# medians of $reps runs, each libfut program alternating with its libev twin"
echo
printf '%-22s %8s %8s %12s %12s %8s\n' workload N M "libfut ns/op" "libev ns/op" ratio
printf '%-22s %8s %8s %12s %12s %8s\n' ---------------------- -------- -------- ------------ ------------ --------

echo "$rows" | while read -r name prog mode n m; do
    [ -n "$name" ] || continue
    selected "$name" || continue
    futv=
    evv=
    i=0
    while [ $i -lt "$reps" ]; do
        futv="$futv $(run_one "$prog" "$mode" "$n" "$m")"
        evv="$evv $(run_one "${prog}_ev" "$mode" "$n" "$m")"
        i=$((i + 1))
    done
    fm=$(echo "$futv" | median)
    em=$(echo "$evv" | median)
    ratio=$(awk -v a="$fm" -v b="$em" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    printf '%-22s %8s %8s %12s %12s %8s\n' "$name" "$n" "$m" "$fm" "$em" "$ratio"
done

if selected mem; then
    echo
    printf '%-22s %8s %12s %12s %12s %12s\n' memory N "alloc B/task" "rss B/task" "future B" "overhead B"
    printf '%-22s %8s %12s %12s %12s %12s\n' ---------------------- -------- ------------ ------------ ------------ ------------
    for prog in b_mem b_mem_ev; do
        out=$("$bin/$prog" idle "$memn") || { echo "run.sh: FAILED: $prog idle $memn" >&2; exit 1; }
        field() { echo "$out" | sed -n "s|.* $1=\([0-9.]*\).*|\1|p"; }
        case $prog in b_mem) label=mem.idle.libfut ;; *) label=mem.idle.libev ;; esac
        printf '%-22s %8s %12s %12s %12s %12s\n' "$label" "$memn" "$(field alloc_bytes/task)" \
            "$(field rss_bytes/task)" "$(field future_bytes)" "$(field overhead_bytes/task)"
    done
fi
