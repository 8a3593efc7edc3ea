#!/bin/sh
# SPDX-License-Identifier: MIT
# Publishes the latest benchmark results: copies bench/out/results.txt and
# .tsv (from `make bench`), callgrind.txt and syscalls.txt (when there) and
# the echo helper's echo.tsv (when there) to bench/results/, and draws
# with gnuplot (Debian: gnuplot-nox)
#
#   bench/results/scaling.svg, .png  ns/op against N (log-log) for libfut,
#                                    libev, libuv and Tokio: spawn all,
#                                    wake hop; timer insert + cancel with
#                                    spread deadlines against armed timers
#   bench/results/echo.svg, .png     B6 echo server user CPU per message
#                                    (only when an echo.tsv exists)
#
#   bench/plot.sh [--no-copy]
#
#   --no-copy  plot what bench/results/ already holds.
#
# Without gnuplot it copies the tables, says so and exits 0.
# Environment: BENCH_BIN, BENCH_SRC, BENCH_OUT as for run.sh.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${BENCH_BIN:-$here}
src=${BENCH_SRC:-$here}
out=${BENCH_OUT:-$bin/out}
res=$src/results
copy=1
while [ $# -gt 0 ]; do
    case "$1" in
    --no-copy) copy=0 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "plot.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$res"

if [ $copy = 1 ]; then
    if [ ! -f "$out/results.tsv" ]; then
        echo "plot.sh: no $out/results.tsv: run 'make bench' first" >&2
        exit 1
    fi
    for f in results.txt results.tsv callgrind.txt syscalls.txt echo.tsv echo.txt; do
        [ -f "$out/$f" ] && cp "$out/$f" "$res/$f"
    done
    echo "plot.sh: copied the tables to $res"
fi
[ -f "$res/results.tsv" ] || { echo "plot.sh: no $res/results.tsv" >&2; exit 1; }

if ! command -v gnuplot >/dev/null 2>&1; then
    echo "plot.sh: gnuplot not found (Debian: apt-get install gnuplot-nox): no plots drawn"
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One data file per scaling workload: X libfut libev libuv tokio, where X
# is the tsv column given (4: N ops; 5: M, the armed timers of the spread
# rows, whose N is fixed).
for spec in B1.spawn.all:spawn:4 B2.wake.hop:hop:4 B4.timer.spread:spread:5; do
    id=${spec%%:*} rest=${spec#*:}
    name=${rest%%:*} xcol=${rest#*:}
    awk -F '\t' -v id="$id" -v x="$xcol" '$1 == id && $6 == "ns/op" {
        for (c = 7; c <= 10; c++) if ($c !~ /^[0-9.e+-]+$/ || $c == "-") $c = "-"
        print $x, $7, $8, $9, $10 }' "$res/results.tsv" | sort -g >"$tmp/scaling-$name.dat"
    [ -s "$tmp/scaling-$name.dat" ] || echo "- - - - -" >"$tmp/scaling-$name.dat"
done

# The echo chart: one cluster per (size, K), one bar per runtime. echo.tsv
# (bench/echo.sh): runtime size K msgs_per_s p50_us p99_us
# user_us_per_msg syscalls_per_msg, one line each; a header line, if any,
# is skipped.
echo=0
if [ -f "$res/echo.tsv" ]; then
    awk -F '[\t ]+' '
        $2 !~ /^[0-9]+$/ || $3 !~ /^[0-9]+$/ { next }
        {
            r = tolower($1)
            if (r ~ /fut/) c = 1; else if (r ~ /uv/) c = 3; else if (r ~ /tokio/) c = 4; else if (r ~ /ev/) c = 2; else next
            key = $2 "B/K=" $3
            if (!(key in seen)) { seen[key] = 1; order[++n] = key; sz[key] = $2; k[key] = $3 }
            v[key, c] = $7
        }
        END {
            for (i = 1; i <= n; i++) {
                key = order[i]; line = key
                for (c = 1; c <= 4; c++) line = line " " ((key, c) in v ? v[key, c] : "-")
                print line
            }
        }' "$res/echo.tsv" >"$tmp/echo.dat"
    [ -s "$tmp/echo.dat" ] && echo=1
fi

stamp=$(sed -n 's/^# libfut benchmarks: //p' "$res/results.txt" 2>/dev/null | head -n 1)
cpu=$(sed -n 's/^# kernel: .*; cpu: //p' "$res/results.txt" 2>/dev/null | head -n 1)
[ -z "$cpu" ] || stamp="$stamp, $cpu"
echostamp=$(sed -n 's/^# B6 TCP echo on [^:]*: //p' "$res/echo.txt" 2>/dev/null | head -n 1)
if [ -n "$echostamp" ]; then
    [ -z "$cpu" ] || echostamp="$echostamp, $cpu"
else
    echostamp=$stamp
fi
gnuplot -e "dat='$tmp'; outdir='$res'; stamp='$stamp'; echo=$echo; echodat='$tmp/echo.dat'; echostamp='$echostamp'" \
    "$here/plot.gp"
echo "plot.sh: wrote $res/scaling.svg and .png"
if [ $echo = 1 ]; then
    echo "plot.sh: wrote $res/echo.svg and .png"
else
    echo "plot.sh: no echo results ($res/echo.tsv, from bench/echo.sh): no echo chart"
fi
