#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions per operation, by marginal differencing under callgrind: each
# program runs at N and at 2N, and (Ir(2N) - Ir(N)) / N is what one more
# operation costs; process start-up, runtime creation, the background
# timers and the teardown cancel out. Instruction counts do not depend on
# the machine's load or caches: this is the stable figure (the time per op
# of bench/run.sh is the real one, but noisy). Cache effects (a large M in
# B4) show only in run.sh. Every runtime that is built is measured: libfut,
# libev (the floor), and the libuv and Tokio peers.
#
# What does not cancel out: work done per op outside the timed section.
# The drop timer|io|join rows spawn and park their N tasks first, so their
# Ir/op is spawn + park + cancel; timer fire is spawn + arm + fire; fifo and
# lifo include touching their array. Compare those rows across runtimes
# (each does the same setup), not against the ns/op of run.sh.
#
#   bench/callgrind.sh [--quick] [--profile] [FILTER...]
#
#   --quick    smaller N and fewer rows (--smoke: the same).
#   --profile  after each row, where the marginal instructions of the libfut
#              program go: Ir/op per function (self cost, the same
#              differencing applied function by function), the top 25.
#   FILTER     only the rows whose id contains one of these words.
#
# Writes the table to $BENCH_OUT/callgrind.txt and callgrind.tsv, and
# checks the targets of issue 13 at the end (B8.mem.idle: b_mem idle's
# bytes per task, run without valgrind).
#
# Environment: BENCH_BIN (directory of the built programs, default: this
# script's), BENCH_SRC, BENCH_UV, BENCH_TOKIO (as for run.sh),
# BENCH_RUNTIMES (which columns to measure, default "libfut libev uv
# tokio"; the others show '-'), VALGRIND
# (default: valgrind), BENCH_OUT (where the raw profiles are kept, default:
# $BENCH_BIN/out). Inspect one with e.g.
#   callgrind_annotate --inclusive=yes bench/out/cg.libfut.spawn.batch.51200.-.out
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${BENCH_BIN:-$here}
src=${BENCH_SRC:-$here}
vg=${VALGRIND:-valgrind}
out=${BENCH_OUT:-$bin/out}
quick=0
profile=0
filters=
while [ $# -gt 0 ]; do
    case "$1" in
    --quick|--smoke) quick=1 ;;
    --profile) profile=1 ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    -*) echo "callgrind.sh: unknown option $1" >&2; exit 2 ;;
    *) filters="$filters $1" ;;
    esac
    shift
done
if ! command -v "$vg" >/dev/null 2>&1; then
    echo "callgrind.sh: valgrind not found (configure found: '${VALGRIND:-}')" >&2
    exit 1
fi
mkdir -p "$out"

peer() {
    if [ -x "$bin/$1" ]; then echo "$bin/$1"; elif [ -x "$src/$1" ]; then echo "$src/$1"; fi
}
uv=${BENCH_UV:-$(peer peers/uv/b_uv)}
tokio=${BENCH_TOKIO:-$(peer peers/tokio/target/release/b_tokio)}
[ -n "$uv" ] && [ -x "$uv" ] || { echo "callgrind.sh: libuv peer not built: shown as -" >&2; uv=; }
[ -n "$tokio" ] && [ -x "$tokio" ] || { echo "callgrind.sh: Tokio peer not built: shown as -" >&2; tokio=; }

# id, workload, mode, N, M ('-': none). The ops are done N and 2N times.
# B10 coordination (rows below): Tokio's twins are b_tokio sync|chan|process;
# libfut's counterparts are `b_sync sem|notify`, `b_chan stream|pingpong`
# and `b_process spawn` (not here yet: their column shows '-' until built).
# Batch sizes (spawn batch: 256) divide N.
if [ $quick = 1 ]; then
    rows="
B1.spawn.all         spawn all             5120  -
B1.spawn.all         spawn all             10240 -
B1.spawn.batch       spawn batch           5120  -
B1.spawn.idle_all    spawn idle_all        5120  -
B2.wake.hop          wake  hop             20000 -
B2.wake.select       wake  select          5000  8
B2.wake.select_hand  wake  select_hand     5000  8
B3.yield.one         yield one             20000 -
B3.yield.many        yield many            200   100
B4.timer.fifo        timer fifo            5000  -
B4.timer.timeout     timer timeout_ready   20000 -
B4.timer.timeout_hand timer timeout_hand   20000 -
B4.timer.mid         timer mid             5000  1000
B4.timer.spread      timer spread          5000  1000
B5.fdhop.pipe        fdhop pipe            5000  -
B7.drop.sync         drop  sync            20000 -
B7.drop.pd_ready     drop  pd_ready        20000 -
B7.drop.pd_pending   drop  pd_pending      20000 -
B7.drop.task_ready   drop  task_pd_ready   5120  -
B7.drop.timer        drop  timer           5000  -
B7.drop.join         drop  join            5000  -
B7.drop.scope_cancel drop  scope_cancel    5000  100
B7.drop.scope_cancel drop  scope_cancel    5000  10000
B10.sync.sem         sync  sem             20000 -
B10.sync.notify      sync  notify          20000 -
B10.chan.stream      chan  stream          20000 -
B10.chan.pingpong    chan  pingpong        20000 -
B10.process.spawn    process spawn         50    -
"
else
    rows="
B1.spawn.all         spawn all             10240  -
B1.spawn.all         spawn all             25600  -
B1.spawn.batch       spawn batch           25600  -
B1.spawn.idle_all    spawn idle_all        25600  -
B2.wake.hop          wake  hop             200000 -
B2.wake.select       wake  select          50000  8
B2.wake.select       wake  select          10000  64
B2.wake.select_hand  wake  select_hand     50000  8
B2.wake.select_hand  wake  select_hand     10000  64
B3.yield.one         yield one             200000 -
B3.yield.many        yield many            2000   100
B4.timer.fifo        timer fifo            20000  -
B4.timer.lifo        timer lifo            20000  -
B4.timer.fire        timer fire            20000  -
B4.timer.timeout     timer timeout_ready   100000 -
B4.timer.timeout_hand timer timeout_hand   100000 -
B4.timer.early       timer early           20000  1000
B4.timer.early       timer early           20000  1000000
B4.timer.mid         timer mid             20000  1000
B4.timer.mid         timer mid             20000  1000000
B4.timer.late        timer late            20000  1000
B4.timer.late        timer late            20000  1000000
B4.timer.spread      timer spread          20000  1000
B4.timer.spread      timer spread          20000  10000
B4.timer.spread      timer spread          20000  1000000
B5.fdhop.pipe        fdhop pipe            20000  -
B7.drop.sync         drop  sync            100000 -
B7.drop.pd_ready     drop  pd_ready        100000 -
B7.drop.pd_pending   drop  pd_pending      100000 -
B7.drop.task_ready   drop  task_pd_ready   25600  -
B7.drop.task_pending drop  task_pd_pending 25600  -
B7.drop.timer        drop  timer           20000  -
B7.drop.io           drop  io              4000   -
B7.drop.join         drop  join            20000  -
B7.drop.scope_cancel drop  scope_cancel    20000  100
B7.drop.scope_cancel drop  scope_cancel    20000  10000
B7.drop.scope_cancel drop  scope_cancel    20000  1000000
B10.sync.sem         sync  sem             200000 -
B10.sync.notify      sync  notify          200000 -
B10.chan.stream      chan  stream          200000 -
B10.chan.pingpong    chan  pingpong        100000 -
B10.process.spawn    process spawn         200    -
"
fi

selected() {
    [ -z "$filters" ] && return 0
    for f in $filters; do
        case "$1" in *"$f"*) return 0 ;; esac
    done
    return 1
}

# The command of a runtime's program, or nothing when it is not built (or
# not among BENCH_RUNTIMES).
cmd_of() { # runtime workload
    case " ${BENCH_RUNTIMES:-libfut libev uv tokio} " in *" $1 "*) ;; *) return 0 ;; esac
    case $1 in
    libfut) [ -x "$bin/b_$2" ] && echo "$bin/b_$2" ;;
    libev) [ -x "$bin/b_$2_ev" ] && echo "$bin/b_$2_ev" ;;
    uv) [ -n "$uv" ] && echo "$uv $2" ;;
    tokio) [ -n "$tokio" ] && echo "$tokio $2" ;;
    esac
    return 0
}

# Total Ir of one run (its profile is kept in $out): a number, '-' (no
# program, or exit 3: unsupported) or FAIL.
ir_total() { # runtime workload mode n m
    c=$(cmd_of "$1" "$2")
    [ -n "$c" ] || { echo -; return; }
    # Modes of libfut's own (variants outside WORKLOADS.md): no peer has them.
    case $1.$3 in uv.*_hand|tokio.*_hand|uv.idle_*|tokio.idle_*|uv.scope_*|tokio.scope_*) echo -; return ;; esac
    f="$out/cg.$1.$2.$3.$4.$5.out"
    margs="$5"
    [ "$5" = - ] && margs=
    st=0
    # shellcheck disable=SC2086
    "$vg" --tool=callgrind --callgrind-out-file="$f" $c "$3" "$4" $margs \
        </dev/null >"$f.stdout" 2>"$f.stderr" || st=$?
    if [ $st = 3 ]; then echo -; return; fi
    if [ $st != 0 ]; then
        echo "callgrind.sh: FAILED ($st): $c $3 $4 $margs (see $f.stderr)" >&2
        echo FAIL
        return
    fi
    # Tokio's worker threads (if any) write one file each: sum them all.
    total=0
    for g in "$f" "$f".*; do
        case $g in *.stdout|*.stderr) continue ;; esac
        [ -f "$g" ] || continue
        v=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$g" | head -n 1)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

ops_of() { # mode n m
    if [ "$1" = many ]; then
        awk -v n="$2" -v m="$3" 'BEGIN { printf "%d", n * (m == "-" ? 100 : m) }'
    else
        echo "$2"
    fi
}

# Marginal Ir per op of one runtime: (Ir(2N) - Ir(N)) / N; yield many
# does N ops in each of M tasks: / (N * M).
marginal() { # runtime workload mode n m
    n2=$(awk -v n="$4" 'BEGIN { printf "%d", 2 * n }')
    a=$(ir_total "$1" "$2" "$3" "$4" "$5")
    b=$(ir_total "$1" "$2" "$3" "$n2" "$5")
    case "$a $b" in *FAIL*) echo FAIL; return ;; *-*) echo -; return ;; esac
    ops=$(ops_of "$3" "$4" "$5")
    awk -v a="$a" -v b="$b" -v n="$ops" 'BEGIN { printf "%.1f", (b - a) / n }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a + 0 > 0 && b + 0 > 0 && a ~ /^[0-9.e+-]+$/ && b ~ /^[0-9.e+-]+$/) printf "%.2f", a / b; else print "-" }'
}

# Self Ir per function of one profile: "Ir<TAB>file:function".
functions() {
    ${CALLGRIND_ANNOTATE:-callgrind_annotate} --auto=no --threshold=100 "$1" 2>/dev/null | awk '
        /file:function/ { go = 1; next }
        go && /^ *[0-9][0-9,]* / {
            ir = $1; gsub(",", "", ir); line = $0
            sub(/^ *[0-9][0-9,]* +/, "", line)
            sub(/^\( *[0-9.]+%\) +/, "", line)
            sub(/ \[[^]]*\]$/, "", line)
            print ir "\t" line
        }'
}

# Per-function marginal Ir/op between the N and 2N profiles of libfut's program.
profile_of() { # workload mode n m
    n2=$(awk -v n="$3" 'BEGIN { printf "%d", 2 * n }')
    functions "$out/cg.libfut.$1.$2.$3.$4.out" >"$out/fn.a"
    functions "$out/cg.libfut.$1.$2.$n2.$4.out" >"$out/fn.b"
    awk -F '\t' -v n="$(ops_of "$2" "$3" "$4")" '
        FNR == NR { a[$2] += $1; next }
        { b[$2] += $1 }
        END {
            for (k in b) { d = (b[k] - a[k]) / n; if (d >= 0.5 || d <= -0.5) printf "%10.1f  %s\n", d, k }
            for (k in a) if (!(k in b) && a[k] / n >= 0.5) printf "%10.1f  %s\n", -a[k] / n, k
        }' "$out/fn.a" "$out/fn.b" | sort -rn | head -n 25 | sed 's/^/    /'
    rm -f "$out/fn.a" "$out/fn.b"
}

checks=unknown
for h in "$bin/../config.h" "$src/../config.h"; do
    [ -f "$h" ] || continue
    if grep -q '^#define NDEBUG' "$h"; then checks=off; else checks=on; fi
    break
done
res_txt=$out/callgrind.txt
res_tsv=$out/callgrind.tsv
{
echo "# instructions per op (callgrind, marginal: (Ir(2N) - Ir(N)) / N): $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# git: $(cd "$src" && git describe --always --dirty 2>/dev/null || echo '?'); libfut protocol checks: $checks; $($vg --version)"
echo
printf '%-21s %-14s %7s %7s %9s %9s %9s %9s %7s %7s\n' workload mode N M libfut libev libuv tokio fut/ev fut/tokio
printf '%-21s %-14s %7s %7s %9s %9s %9s %9s %7s %7s\n' --------------------- -------------- ------- ------- --------- --------- --------- --------- ------- -------
} | tee "$res_txt"
printf 'id\tworkload\tmode\tn\tm\tmetric\tlibfut\tlibev\tuv\ttokio\n' >"$res_tsv"

failed=0
scope_rows=
while read -r id w mode n m; do
    [ -n "$id" ] || continue
    selected "$id" || continue
    if [ "$w" = fdhop ] && [ ! -x "$bin/b_fdhop" ]; then continue; fi
    fi=$(marginal libfut "$w" "$mode" "$n" "$m")
    ei=$(marginal libev "$w" "$mode" "$n" "$m")
    ui=$(marginal uv "$w" "$mode" "$n" "$m")
    ti=$(marginal tokio "$w" "$mode" "$n" "$m")
    if [ "$w.$mode" = drop.scope_cancel ]; then scope_rows="$scope_rows $m:$fi"; fi
    for v in "$fi" "$ei" "$ui" "$ti"; do [ "$v" != FAIL ] || failed=1; done
    printf '%-21s %-14s %7s %7s %9s %9s %9s %9s %7s %7s\n' "$id" "$mode" "$n" "$m" "$fi" "$ei" "$ui" "$ti" \
        "$(ratio "$fi" "$ei")" "$(ratio "$fi" "$ti")" | tee -a "$res_txt"
    printf '%s\t%s\t%s\t%s\t%s\tIr/op\t%s\t%s\t%s\t%s\n' "$id" "$w" "$mode" "$n" "$m" "$fi" "$ei" "$ui" "$ti" >>"$res_tsv"
    if [ $profile = 1 ] && [ "$fi" != - ] && [ "$fi" != FAIL ]; then
        echo "    -- b_$w $mode: Ir/op by function (self)"
        profile_of "$w" "$mode" "$n" "$m"
    fi
done <<EOF
$rows
EOF

# The targets of issue 13 (instructions per op unless said, protocol checks
# on, the default build): "met" or "MISSED" with the measured figure. A
# row filtered out or not run shows nothing.
get() { awk -F '\t' -v id="$1" -v n="${3:-}" -v m="${4:-}" '$1 == id && $6 == "Ir/op" &&
    (n == "" || $4 == n) && (m == "" || $5 == m) { print $c; exit }' c="$2" "$res_tsv"; }
target() { # label value limit [note]
    [ -n "$2" ] && [ "$2" != - ] && [ "$2" != FAIL ] || return 0
    awk -v l="$1" -v v="$2" -v lim="$3" -v note="${4:-}" 'BEGIN {
        printf "  %-46s %9s  <= %-6s %s%s\n", l, v, lim, v + 0 <= lim + 0 ? "met" : "MISSED",
            note == "" ? "" : "  (" note ")" }'
}
{
echo
echo "targets (issue 13; instructions per op, protocol checks $checks):"
sa=$(get B1.spawn.all 7 10240) sae=$(get B1.spawn.all 8 10240)
target "spawn + join, 1e4 alive (N = 10240)" "$sa" 706 \
    "$(ratio "$sa" "$sae")x the libev floor, $sae"
target "wake hop" "$(get B2.wake.hop 7)" 170
target "select over 8, per round" "$(get B2.wake.select 7 '' 8)" 1000
target "fut_timeout around a READY future" "$(get B4.timer.timeout 7)" 150
for m in 1000:1e3 1000000:1e6; do
    t=$(get B4.timer.spread 7 '' ${m%:*}) te=$(get B4.timer.spread 8 '' ${m%:*})
    [ -z "$t" ] || [ -z "$te" ] || [ "$te" = - ] ||
        target "timer spread, ${m#*:} armed, x the libev twin" "$(ratio "$t" "$te")" 2 \
            "$t against libev's $te"
done
s=$(get B7.drop.sync 7) p=$(get B7.drop.pd_ready 7)
[ -z "$s" ] || [ -z "$p" ] ||
    target "async drop READY at once, over the sync drop" "$(awk -v s="$s" -v p="$p" \
        'BEGIN { printf "%.1f", p - s }')" 25 "$p - $s"
if [ -n "$scope_rows" ]; then
    # Flat: the most unrelated tasks cost at most 2% more than the fewest.
    echo "$scope_rows" | awk '{ lo = ""; hi = ""
        for (i = 1; i <= NF; i++) { split($i, p, ":"); if (p[2] !~ /^[0-9.]+$/) continue
            if (lo == "" || p[1] + 0 < lom) { lo = p[2]; lom = p[1] + 0 }
            if (hi == "" || p[1] + 0 > him) { hi = p[2]; him = p[1] + 0 } }
        if (lo != "" && him > lom)
            printf "  %-46s %9.2f  <= 1.02   %s  (%s at %d others, %s at %d)\n",
                "scope cancel, flat in unrelated tasks (ratio)", hi / lo,
                hi / lo <= 1.02 ? "met" : "MISSED", hi, him, lo, lom }'
fi
if [ -x "$bin/b_mem" ] && selected B8.mem.idle; then
    b=$("$bin/b_mem" idle 10000 | sed -n 's|.* bytes/task=\([0-9.]*\).*|\1|p')
    target "idle task: bytes allocated, 24-byte future" "$b" 96
fi
} | tee -a "$res_txt"

if [ $failed = 1 ]; then
    echo "callgrind.sh: some runs FAILED" >&2
    exit 1
fi
