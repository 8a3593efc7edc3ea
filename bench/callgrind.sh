#!/bin/sh
# Instructions per operation, by marginal differencing under callgrind: each
# program runs at N and at 2N, and (Ir(2N) - Ir(N)) / N is what one more
# operation costs; process start-up, runtime creation, the background
# timers and the teardown cancel out. Instruction counts do not depend on
# the machine's load or caches: this is the stable figure (the time per op
# of bench/run.sh is the real one, but noisy). Cache effects (a large M in
# B4) show only in run.sh.
#
#   bench/callgrind.sh [--quick] [--profile] [FILTER...]
#
#   --quick    smaller N and fewer B4 backgrounds.
#   --profile  after each row, where the marginal instructions of the libfut
#              program go: Ir/op per function (self cost, the same
#              differencing applied function by function), the top 25.
#   FILTER     only the rows whose workload name contains one of these words.
#
# Environment: BENCH_BIN (directory of the built programs, default: this
# script's), VALGRIND (default: valgrind), BENCH_OUT (where the raw
# profiles are kept, default: $BENCH_BIN/out). Inspect one with e.g.
#   callgrind_annotate --inclusive=yes bench/out/b_spawn.batch.51200.0.out
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${BENCH_BIN:-$here}
vg=${VALGRIND:-valgrind}
out=${BENCH_OUT:-$bin/out}
quick=0
profile=0
filters=
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --smoke) quick=1 ;;
    --profile) profile=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
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

# name, program (the twin is <program>_ev), mode, N, M. The ops are done
# N and 2N times. Batch sizes (b_spawn batch: 256) divide N.
if [ $quick = 1 ]; then
    rows="
B1.spawn.all         b_spawn all             5120  0
B1.spawn.batch       b_spawn batch           5120  0
B2.wake.hop          b_wake  hop             20000 0
B4.timer.early       b_timer early           5000  1000
B4.timer.mid         b_timer mid             5000  1000
B4.timer.mid         b_timer mid             5000  100000
B4.timer.late        b_timer late            5000  1000
B7.drop.sync         b_drop  sync            20000 0
B7.drop.pd_ready     b_drop  pd_ready        20000 0
B7.drop.pd_pending   b_drop  pd_pending      20000 0
B7.drop.task_ready   b_drop  task_pd_ready   5120  0
B7.drop.task_pending b_drop  task_pd_pending 5120  0
"
else
    rows="
B1.spawn.all         b_spawn all             25600  0
B1.spawn.batch       b_spawn batch           25600  0
B2.wake.hop          b_wake  hop             200000 0
B4.timer.early       b_timer early           20000  1000
B4.timer.early       b_timer early           20000  10000
B4.timer.early       b_timer early           20000  100000
B4.timer.early       b_timer early           20000  1000000
B4.timer.mid         b_timer mid             20000  1000
B4.timer.mid         b_timer mid             20000  10000
B4.timer.mid         b_timer mid             20000  100000
B4.timer.mid         b_timer mid             20000  1000000
B4.timer.late        b_timer late            20000  1000
B4.timer.late        b_timer late            20000  10000
B4.timer.late        b_timer late            20000  100000
B4.timer.late        b_timer late            20000  1000000
B7.drop.sync         b_drop  sync            100000 0
B7.drop.pd_ready     b_drop  pd_ready        100000 0
B7.drop.pd_pending   b_drop  pd_pending      100000 0
B7.drop.task_ready   b_drop  task_pd_ready   25600  0
B7.drop.task_pending b_drop  task_pd_pending 25600  0
"
fi

selected() {
    [ -z "$filters" ] && return 0
    for f in $filters; do
        case "$1" in *"$f"*) return 0 ;; esac
    done
    return 1
}

# Total Ir of one run (its profile is kept in $out).
ir_total() {
    f="$out/$1.$2.$3.$4.out"
    "$vg" --tool=callgrind --callgrind-out-file="$f" "$bin/$1" "$2" "$3" "$4" \
        >"$f.stdout" 2>"$f.stderr" || {
        echo "callgrind.sh: FAILED: $1 $2 $3 $4 (see $f.stderr)" >&2
        exit 1
    }
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$f" | head -n 1
}

# Marginal Ir per op of one program: Ir(2N) - Ir(N), over N.
marginal() {
    n2=$(awk -v n="$3" 'BEGIN { printf "%d", 2 * n }')
    a=$(ir_total "$1" "$2" "$3" "$4")
    b=$(ir_total "$1" "$2" "$n2" "$4")
    awk -v a="$a" -v b="$b" -v n="$3" 'BEGIN { printf "%.1f", (b - a) / n }'
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

# Per-function marginal Ir/op between the N and 2N profiles of a program.
profile_of() {
    n2=$(awk -v n="$3" 'BEGIN { printf "%d", 2 * n }')
    functions "$out/$1.$2.$3.$4.out" >"$out/fn.a"
    functions "$out/$1.$2.$n2.$4.out" >"$out/fn.b"
    awk -F '\t' -v n="$3" '
        FNR == NR { a[$2] += $1; next }
        { b[$2] += $1 }
        END {
            for (k in b) { d = (b[k] - a[k]) / n; if (d >= 0.5 || d <= -0.5) printf "%10.1f  %s\n", d, k }
            for (k in a) if (!(k in b) && a[k] / n >= 0.5) printf "%10.1f  %s\n", -a[k] / n, k
        }' "$out/fn.a" "$out/fn.b" | sort -rn | head -n 25 | sed 's/^/    /'
    rm -f "$out/fn.a" "$out/fn.b"
}

echo "# libfut instructions per op (callgrind, marginal: (Ir(2N) - Ir(N)) / N)"
echo "# git: $(cd "$here" && git describe --always --dirty 2>/dev/null || echo '?'), $($vg --version)"
echo
printf '%-22s %8s %8s %12s %12s %8s\n' workload N M "libfut Ir/op" "libev Ir/op" ratio
printf '%-22s %8s %8s %12s %12s %8s\n' ---------------------- -------- -------- ------------ ------------ --------

results=$out/results.txt
: >"$results"
echo "$rows" | while read -r name prog mode n m; do
    [ -n "$name" ] || continue
    selected "$name" || continue
    fi=$(marginal "$prog" "$mode" "$n" "$m")
    ei=$(marginal "${prog}_ev" "$mode" "$n" "$m")
    ratio=$(awk -v a="$fi" -v b="$ei" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    printf '%-22s %8s %8s %12s %12s %8s\n' "$name" "$n" "$m" "$fi" "$ei" "$ratio"
    echo "$name $m $fi $ei" >>"$results"
    if [ $profile = 1 ]; then
        echo "    -- $prog $mode: Ir/op by function (self)"
        profile_of "$prog" "$mode" "$n" "$m"
    fi
done

# The difference the drop target is stated in: a READY-at-once poll_drop
# through fut_drop() against the plain sync drop.
sync=$(awk '$1 == "B7.drop.sync" { print $3 }' "$results")
pdr=$(awk '$1 == "B7.drop.pd_ready" { print $3 }' "$results")
if [ -n "$sync" ] && [ -n "$pdr" ]; then
    echo
    awk -v s="$sync" -v p="$pdr" \
        'BEGIN { printf "pd_ready over sync drop: %.1f Ir (%.1f - %.1f)\n", p - s, p, s }'
fi
