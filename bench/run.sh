#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every benchmark workload of bench/WORKLOADS.md on each runtime
# alternately (libfut, libev, libuv, Tokio, libfut, libev, ...), REPS
# times, and prints the medians side by side with the ratios libfut/libev
# (libev is the floor) and libfut/Tokio. Numbers from one run on one
# machine only mean something next to each other: compare ratios, not
# absolute ns; instructions (callgrind.sh) and syscalls (syscalls.sh) per op
# are the stable figures.
#
#   bench/run.sh [--smoke] [--reps K] [FILTER...]
#
#   --smoke    every workload at tiny N, one repetition, on every runtime
#              that is built: a few seconds; checks that every program runs
#              and does its work (each exits non-zero when a result is
#              wrong). Used by CI.
#   --reps K   repetitions per program (default 5; 1 with --smoke).
#   FILTER     only the rows whose id (B1.spawn.all, ...) contains one of
#              these words.
#
# A runtime whose program is not built is skipped with one message and
# shows '-'; so does a program exiting 3 (the mode is unsupported there).
# Any other failure shows FAIL and makes the script exit 1 at the end.
#
# Writes the table to $BENCH_OUT/results.txt and, machine-readable, to
# $BENCH_OUT/results.tsv (what bench/plot.sh reads); --smoke writes
# smoke.txt / smoke.tsv instead. The raw output of every run is appended to
# $BENCH_OUT/runs.log.
#
# Environment: BENCH_BIN, the directory of the built C programs (default:
# this script's); BENCH_SRC, the bench source directory (default: this
# script's); BENCH_OUT (default: $BENCH_BIN/out); BENCH_UV and BENCH_TOKIO,
# the peers' binaries (default: peers/uv/b_uv and
# peers/tokio/target/release/b_tokio under BENCH_BIN, else BENCH_SRC).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${BENCH_BIN:-$here}
src=${BENCH_SRC:-$here}
out=${BENCH_OUT:-$bin/out}
smoke=0
reps=
filters=
while [ $# -gt 0 ]; do
    case "$1" in
    --smoke) smoke=1 ;;
    --reps) shift; reps=$1 ;;
    --reps=*) reps=${1#--reps=} ;;
    -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) filters="$filters $1" ;;
    esac
    shift
done
[ -n "$reps" ] || { [ $smoke = 1 ] && reps=1 || reps=5; }
mkdir -p "$out"

peer() { # relative path under bench/
    if [ -x "$bin/$1" ]; then echo "$bin/$1"; elif [ -x "$src/$1" ]; then echo "$src/$1"; fi
}
uv=${BENCH_UV:-$(peer peers/uv/b_uv)}
tokio=${BENCH_TOKIO:-$(peer peers/tokio/target/release/b_tokio)}
[ -n "$uv" ] && [ -x "$uv" ] || { echo "run.sh: libuv peer not built (make bench-peers): shown as -" >&2; uv=; }
[ -n "$tokio" ] && [ -x "$tokio" ] ||
    { echo "run.sh: Tokio peer not built (make bench-peers): shown as -" >&2; tokio=; }

for w in spawn wake yield timer drop mem; do
    for q in "b_$w" "b_${w}_ev"; do
        if [ ! -x "$bin/$q" ]; then
            echo "run.sh: $bin/$q is not built: run 'make bench-build' (or 'make bench')" >&2
            exit 1
        fi
    done
done
[ -x "$bin/b_sync" ] || { echo "run.sh: $bin/b_sync is not built: run 'make bench-build'" >&2; exit 1; }
# B5 (fd ping-pong) is built with the echo benchmarks; optional here.
fdhop=0
if [ -x "$bin/b_fdhop" ] && [ -x "$bin/b_fdhop_ev" ]; then
    fdhop=1
else
    echo "run.sh: b_fdhop not built: B5 skipped" >&2
fi

# B10 coordination: libfut's b_sync sem|notify is required (above);
# b_chan stream|pingpong and b_process spawn are optional: a runtime
# without the program shows '-'.
# The workloads: id, workload, mode, N, M ('-': none). N is chosen so that
# one run takes a fraction of a second. At N = 1e3 the scaling rows pass
# M = 1000: the N ops are repeated 1000 times in the process (warm).
if [ $smoke = 1 ]; then
    rows="
B1.spawn.all         spawn all             1000  3
B1.spawn.all         spawn all             10000 -
B1.spawn.batch       spawn batch           10000 -
B1.spawn.idle_all    spawn idle_all        10000 -
B2.wake.hop          wake  hop             10000 -
B2.wake.select       wake  select          10000 8
B2.wake.select_hand  wake  select_hand     10000 8
B3.yield.one         yield one             10000 -
B3.yield.many        yield many            1000  10
B4.timer.fifo        timer fifo            10000 -
B4.timer.lifo        timer lifo            10000 -
B4.timer.fire        timer fire            1000  -
B4.timer.timeout     timer timeout_ready   10000 -
B4.timer.timeout_hand timer timeout_hand   10000 -
B4.timer.early       timer early           10000 1000
B4.timer.mid         timer mid             10000 1000
B4.timer.late        timer late            10000 1000
B4.timer.spread      timer spread          10000 1000
B5.fdhop.pipe        fdhop pipe            10000 -
B7.drop.sync         drop  sync            10000 -
B7.drop.pd_ready     drop  pd_ready        10000 -
B7.drop.pd_pending   drop  pd_pending      10000 -
B7.drop.task_ready   drop  task_pd_ready   10000 -
B7.drop.task_pending drop  task_pd_pending 10000 -
B7.drop.timer        drop  timer           1000  -
B7.drop.io           drop  io              1000  -
B7.drop.join         drop  join            1000  -
B7.drop.scope_cancel drop  scope_cancel    1000  100
B10.sync.sem         sync  sem             10000 -
B10.sync.notify      sync  notify          10000 -
B10.chan.stream      chan  stream          10000 -
B10.chan.pingpong    chan  pingpong        10000 -
B10.process.spawn    process spawn         20    -
B8.mem.idle          mem   idle            10000 -
B8.mem.timer         mem   timer           10000 -
B8.mem.socket        mem   socket          1000  -
"
else
    rows="
B1.spawn.all         spawn all             1e3   1000
B1.spawn.all         spawn all             1e4   -
B1.spawn.all         spawn all             1e5   -
B1.spawn.all         spawn all             1e6   -
B1.spawn.batch       spawn batch           1e6   -
B1.spawn.idle_all    spawn idle_all        1e4   -
B2.wake.hop          wake  hop             1e3   1000
B2.wake.hop          wake  hop             1e4   -
B2.wake.hop          wake  hop             1e5   -
B2.wake.hop          wake  hop             1e6   -
B2.wake.select       wake  select          1e6   8
B2.wake.select       wake  select          1e5   64
B2.wake.select_hand  wake  select_hand     1e6   8
B2.wake.select_hand  wake  select_hand     1e5   64
B3.yield.one         yield one             1e6   -
B3.yield.many        yield many            1e4   100
B4.timer.fifo        timer fifo            1e3   1000
B4.timer.fifo        timer fifo            1e4   -
B4.timer.fifo        timer fifo            1e5   -
B4.timer.fifo        timer fifo            1e6   -
B4.timer.lifo        timer lifo            1e6   -
B4.timer.fire        timer fire            1e6   -
B4.timer.timeout     timer timeout_ready   1e6   -
B4.timer.timeout_hand timer timeout_hand   1e6   -
B4.timer.early       timer early           1e6   1e3
B4.timer.early       timer early           1e6   1e6
B4.timer.mid         timer mid             1e6   1e3
B4.timer.mid         timer mid             1e6   1e4
B4.timer.mid         timer mid             1e6   1e5
B4.timer.mid         timer mid             1e6   1e6
B4.timer.late        timer late            1e6   1e3
B4.timer.late        timer late            1e6   1e6
B4.timer.spread      timer spread          1e6   1e3
B4.timer.spread      timer spread          1e6   1e4
B4.timer.spread      timer spread          1e6   1e6
B5.fdhop.pipe        fdhop pipe            1e5   -
B7.drop.sync         drop  sync            1e7   -
B7.drop.pd_ready     drop  pd_ready        1e7   -
B7.drop.pd_pending   drop  pd_pending      1e6   -
B7.drop.task_ready   drop  task_pd_ready   1e5   -
B7.drop.task_pending drop  task_pd_pending 1e5   -
B7.drop.timer        drop  timer           1e5   -
B7.drop.io           drop  io              1e4   -
B7.drop.join         drop  join            1e5   -
B7.drop.scope_cancel drop  scope_cancel    1e5   1e2
B7.drop.scope_cancel drop  scope_cancel    1e5   1e4
B7.drop.scope_cancel drop  scope_cancel    1e5   1e6
B10.sync.sem         sync  sem             1e7   -
B10.sync.notify      sync  notify          1e6   -
B10.chan.stream      chan  stream          1e6   -
B10.chan.pingpong    chan  pingpong        1e6   -
B10.process.spawn    process spawn         1000  -
B8.mem.idle          mem   idle            1e6   -
B8.mem.timer         mem   timer           1e6   -
B8.mem.socket        mem   socket          8000  -
"
fi

selected() {
    [ -z "$filters" ] && return 0
    for f in $filters; do
        case "$1" in *"$f"*) return 0 ;; esac
    done
    return 1
}

log=$out/runs.log
failed=0

# One run of one runtime: prints the value of `field` (ns/op, bytes/task,
# rss/task: a mem run gives two, "bytes rss"), '-' when the runtime lacks
# the program or the mode, FAIL when the run failed.
run_one() { # runtime workload mode n m
    rt=$1 w=$2 mode=$3 n=$4 m=$5
    case $rt in
    libfut) set -- "$bin/b_$w" ;;
    libev) set -- "$bin/b_${w}_ev" ;;
    uv) [ -n "$uv" ] || { echo -; return; }; set -- "$uv" "$w" ;;
    tokio) [ -n "$tokio" ] || { echo -; return; }; set -- "$tokio" "$w" ;;
    esac
    # Modes of libfut's own (variants outside WORKLOADS.md): no peer has them.
    case $rt.$mode in uv.*_hand|tokio.*_hand|uv.idle_*|tokio.idle_*|uv.scope_*|tokio.scope_*) echo -; return ;; esac
    [ -x "$1" ] || { echo -; return; }
    set -- "$@" "$mode" "$n"
    [ "$m" = - ] || set -- "$@" "$m"
    st=0
    res=$("$@" </dev/null 2>"$out/stderr") || st=$?
    { echo "\$ $*"; echo "$res"; cat "$out/stderr"; } >>"$log"
    if [ $st = 3 ]; then
        echo -
        return
    fi
    if [ $st != 0 ]; then
        echo "run.sh: FAILED ($st): $*" >&2
        sed 's/^/    /' "$out/stderr" >&2
        echo FAIL
        return
    fi
    if [ "$w" = mem ]; then
        b=$(echo "$res" | sed -n 's|.* bytes/task=\([-0-9.e+]*\).*|\1|p')
        r=$(echo "$res" | sed -n 's|.* rss/task=\([-0-9.e+]*\).*|\1|p')
        [ -n "$b" ] && [ -n "$r" ] || { echo "run.sh: no bytes/task in: $res" >&2; echo FAIL; return; }
        echo "$b $r"
    else
        v=$(echo "$res" | sed -n 's|.*ns/op=\([-0-9.e+]*\).*|\1|p')
        [ -n "$v" ] || { echo "run.sh: no ns/op in: $res" >&2; echo FAIL; return; }
        echo "$v"
    fi
}

# Median of the numbers among the arguments; '-' if any was '-' (the
# runtime lacks it), FAIL if any failed.
median() {
    case " $* " in *" FAIL "*) echo FAIL; return ;; *" - "*) echo -; return ;; esac
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        if (NR % 2) x = v[(NR + 1) / 2]; else x = (v[NR / 2] + v[NR / 2 + 1]) / 2
        if (x >= 100) printf "%.0f\n", x; else if (x >= 10) printf "%.1f\n", x; else printf "%.2f\n", x }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a + 0 > 0 && b + 0 > 0 && a ~ /^[0-9.e+-]+$/ && b ~ /^[0-9.e+-]+$/) printf "%.2f", a / b; else print "-" }'
}

checks=unknown
for h in "$bin/../config.h" "$src/../config.h"; do
    [ -f "$h" ] || continue
    if grep -q '^#define NDEBUG' "$h"; then checks=off; else checks=on; fi
    break
done
built() { [ -n "$1" ] || echo ' (not built)'; }
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
tokio_ver=$(sed -n '/^name = "tokio"$/{n;s/^version = "\(.*\)"/\1/p;}' "$src/peers/tokio/Cargo.lock" 2>/dev/null | head -n 1)
if [ $smoke = 1 ]; then res_txt=$out/smoke.txt res_tsv=$out/smoke.tsv; else res_txt=$out/results.txt res_tsv=$out/results.tsv; fi

{
echo "# libfut benchmarks: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# kernel: $(uname -r) ($(uname -m)); cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1), $(nproc 2>/dev/null || echo '?') cpus"
echo "# git: $(cd "$src" && git describe --always --dirty 2>/dev/null || echo '?'); libfut protocol checks: $checks"
echo "# libev $(ver libev-dev), libuv $(ver libuv1-dev)$(built "$uv"), tokio ${tokio_ver:-?}$(built "$tokio") ($(rustc --version 2>/dev/null | cut -d' ' -f1-2 || echo 'no rustc'))"
echo "# medians of $reps runs, runtimes alternating; ns per op (mem: bytes per task); '-': not built or no such mode"
echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') (wall times are noisy when it is not ~0)"
echo
printf '%-21s %-14s %5s %5s %9s %9s %9s %9s %7s %7s\n' workload mode N M libfut libev libuv tokio fut/ev fut/tokio
printf '%-21s %-14s %5s %5s %9s %9s %9s %9s %7s %7s\n' --------------------- -------------- ----- ----- --------- --------- --------- --------- ------- -------
} | tee "$res_txt"
printf 'id\tworkload\tmode\tn\tm\tmetric\tlibfut\tlibev\tuv\ttokio\n' >"$res_tsv"

short() { # 1e6 stays 1e6, 1000000 becomes 1e6, 8000 stays
    awk -v x="$1" 'BEGIN { if (x == "-" || x ~ /e/) { print x; exit }
        e = 0; v = x + 0; while (v >= 10 && v % 10 == 0) { v /= 10; e++ }
        if (e >= 3) printf "%de%d\n", v, e; else print x }'
}

memrows=
while read -r id w mode n m; do
    [ -n "$id" ] || continue
    selected "$id" || continue
    if [ "$w" = fdhop ] && [ $fdhop = 0 ]; then continue; fi
    if [ "$w" = mem ]; then
        memrows="$memrows$id $w $mode $n $m
"
        continue
    fi
    vf='' ve='' vu='' vt=''
    i=0
    while [ $i -lt "$reps" ]; do
        vf="$vf $(run_one libfut "$w" "$mode" "$n" "$m")"
        ve="$ve $(run_one libev "$w" "$mode" "$n" "$m")"
        vu="$vu $(run_one uv "$w" "$mode" "$n" "$m")"
        vt="$vt $(run_one tokio "$w" "$mode" "$n" "$m")"
        i=$((i + 1))
    done
    # shellcheck disable=SC2086
    mf=$(median $vf) me=$(median $ve) mu=$(median $vu) mt=$(median $vt)
    for v in "$mf" "$me" "$mu" "$mt"; do [ "$v" != FAIL ] || failed=1; done
    printf '%-21s %-14s %5s %5s %9s %9s %9s %9s %7s %7s\n' "$id" "$mode" "$(short "$n")" "$(short "$m")" \
        "$mf" "$me" "$mu" "$mt" "$(ratio "$mf" "$me")" "$(ratio "$mf" "$mt")" | tee -a "$res_txt"
    printf '%s\t%s\t%s\t%s\t%s\tns/op\t%s\t%s\t%s\t%s\n' "$id" "$w" "$mode" \
        "$(awk -v x="$n" 'BEGIN { printf "%d", x }')" "$m" "$mf" "$me" "$mu" "$mt" >>"$res_tsv"
done <<EOF
$rows
EOF

# Memory: one run each (allocation counts do not vary; the RSS barely).
if [ -n "$memrows" ]; then
    {
    echo
    printf '%-21s %-14s %5s %19s %19s %19s %19s\n' memory mode N "libfut B/task" "libev B/task" \
        "libuv B/task" "tokio B/task"
    printf '%-21s %-14s %5s %19s %19s %19s %19s\n' "" "" "" "alloc / rss" "alloc / rss" "alloc / rss" "alloc / rss"
    printf '%-21s %-14s %5s %19s %19s %19s %19s\n' --------------------- -------------- ----- ------------------- \
        ------------------- ------------------- -------------------
    } | tee -a "$res_txt"
    while read -r id w mode n m; do
        [ -n "$id" ] || continue
        line=$(printf '%-21s %-14s %5s' "$id" "$mode" "$(short "$n")")
        tb='' tr=''
        for rt in libfut libev uv tokio; do
            v=$(run_one $rt "$w" "$mode" "$n" "$m")
            case $v in
            FAIL) failed=1; cell=FAIL b=FAIL r=FAIL ;;
            -) cell=- b=- r=- ;;
            *) b=${v% *} r=${v#* }; cell="$(printf '%.0f / %.0f' "$b" "$r")" ;;
            esac
            line="$line $(printf '%19s' "$cell")"
            tb="$tb	$b" tr="$tr	$r"
        done
        echo "$line" | tee -a "$res_txt"
        nn=$(awk -v x="$n" 'BEGIN { printf "%d", x }')
        printf '%s\t%s\t%s\t%s\t%s\tbytes/task%s\n' "$id" "$w" "$mode" "$nn" "$m" "$tb" >>"$res_tsv"
        printf '%s\t%s\t%s\t%s\t%s\trss/task%s\n' "$id" "$w" "$mode" "$nn" "$m" "$tr" >>"$res_tsv"
    done <<EOF
$memrows
EOF
fi

# Scaling: ns/op at N = 1e6 over ns/op at N = 1e4, per runtime (flat: 1).
if [ $smoke = 0 ]; then
    awk -F '\t' '
        $6 == "ns/op" && ($1 == "B1.spawn.all" || $1 == "B2.wake.hop" || $1 == "B4.timer.fifo") {
            for (c = 7; c <= 10; c++) v[$1, $4, c] = $c; ids[$1] = 1 }
        END {
            n = 0
            for (id in ids) if (v[id, 10000, 7] != "" && v[id, 1000000, 7] != "") n++
            if (!n) exit
            printf "\n%-21s %-14s %11s %9s %9s %9s %9s\n", "scaling", "", "", "libfut", "libev", "libuv", "tokio"
            split("B1.spawn.all B2.wake.hop B4.timer.fifo", order, " ")
            for (k = 1; k <= 3; k++) {
                id = order[k]
                if (!(id in ids)) continue
                printf "%-21s %-14s %11s", id, "", "1e6 / 1e4"
                for (c = 7; c <= 10; c++) {
                    a = v[id, 1000000, c]; b = v[id, 10000, c]
                    if (a + 0 > 0 && b + 0 > 0) printf " %9.2f", a / b; else printf " %9s", "-"
                }
                printf "\n"
            }
        }' "$res_tsv" | tee -a "$res_txt"
fi
rm -f "$out/stderr"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" | tee -a "$res_txt"

if [ $failed = 1 ]; then
    echo "run.sh: some runs FAILED (see above and $log)" >&2
    exit 1
fi
