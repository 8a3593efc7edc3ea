#!/bin/sh
# SPDX-License-Identifier: MIT
# libfut's instructions per op at two commits, side by side: this build
# (the working tree, HEAD with any uncommitted change) and an earlier
# commit (default HEAD~1), built in a temporary git worktree with the same
# configure options. Both are measured by this checkout's callgrind.sh
# (same rows, same N), libfut's column only; a row whose mode the earlier
# commit does not have shows '-'. Each row prints both figures and the
# change in %; a row more than 2% worse is flagged WORSE, and the script
# then exits 1 (after printing everything).
#
#   bench/callgrind-compare.sh [--base COMMIT] [--quick] [--keep] [FILTER...]
#
#   --base COMMIT  what to compare with (default HEAD~1; any git revision)
#   --quick        callgrind.sh --quick (smaller N, fewer rows)
#   --keep         keep the temporary worktree (its path is printed)
#   FILTER         only the rows whose id contains one of these words
#
# Writes $BENCH_OUT/compare.txt and compare.tsv. Environment: as for
# callgrind.sh (BENCH_BIN, BENCH_SRC, BENCH_OUT, VALGRIND), MAKE (default
# make), BENCH_TOLERANCE (default 2: the % past which a row is WORSE).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${BENCH_BIN:-$here}
src=${BENCH_SRC:-$here}
out=${BENCH_OUT:-$bin/out}
base=HEAD~1
quick=
keep=0
filters=
while [ $# -gt 0 ]; do
    case "$1" in
    --base) shift; base=$1 ;;
    --base=*) base=${1#--base=} ;;
    --quick|--smoke) quick=--quick ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    -*) echo "callgrind-compare.sh: unknown option $1" >&2; exit 2 ;;
    *) filters="$filters $1" ;;
    esac
    shift
done
tol=${BENCH_TOLERANCE:-2}
top=$(cd "$src/.." && pwd)
build=$(cd "$bin/.." && pwd)
rev=$(git -C "$top" rev-parse --verify --quiet "$base^{commit}") ||
    { echo "callgrind-compare.sh: no such commit: $base" >&2; exit 2; }
short=$(git -C "$top" rev-parse --short "$rev")
head_desc=$(git -C "$top" describe --always --dirty 2>/dev/null || echo HEAD)
mkdir -p "$out/compare"

# The earlier commit, built in-tree in a temporary worktree, configured as
# this build was.
wt=$(mktemp -d "${TMPDIR:-/tmp}/libfut-compare.XXXXXX")
cleanup() {
    if [ $keep = 1 ]; then
        echo "callgrind-compare.sh: kept $wt" >&2
    else
        git -C "$top" worktree remove --force "$wt" 2>/dev/null || rm -rf "$wt"
        git -C "$top" worktree prune 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rmdir "$wt"
git -C "$top" worktree add --detach --quiet "$wt" "$rev"
opts=$("$build/config.status" --config 2>/dev/null || true)
log=$out/compare/build.log
echo "callgrind-compare.sh: building $short in $wt (configure $opts; log: $log)" >&2
(
    cd "$wt"
    autoreconf -fi
    eval "./configure $opts"
    # Only what callgrind.sh runs: the library and the bench programs.
    ${MAKE:-make} -j2 libfut.la
    ${MAKE:-make} -j2 bench-build
) >"$log" 2>&1 || { echo "callgrind-compare.sh: building $short failed (see $log)" >&2; exit 1; }

run_table() { # bin-dir out-dir
    # shellcheck disable=SC2086
    BENCH_BIN=$1 BENCH_SRC=$src BENCH_OUT=$2 BENCH_RUNTIMES=libfut \
        "${SHELL:-/bin/sh}" "$src/callgrind.sh" $quick $filters >"$2.log" 2>&1 || true
    [ -f "$2/callgrind.tsv" ] || { echo "callgrind-compare.sh: no table in $2 (see $2.log)" >&2; exit 1; }
}
echo "callgrind-compare.sh: measuring $short" >&2
run_table "$wt/bench" "$out/compare/base"
echo "callgrind-compare.sh: measuring $head_desc" >&2
run_table "$bin" "$out/compare/head"

res_txt=$out/compare.txt
res_tsv=$out/compare.tsv
{
echo "# libfut instructions per op (callgrind, marginal), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# base: $short ($(git -C "$top" log -1 --format=%s "$rev" | cut -c1-60)); head: $head_desc"
echo "# configure: ${opts:-(defaults)}; rows more than ${tol}% worse are flagged WORSE"
echo
printf '%-21s %-14s %7s %7s %10s %10s %8s\n' workload mode N M base head change
printf '%-21s %-14s %7s %7s %10s %10s %8s\n' --------------------- -------------- ------- ------- \
    ---------- ---------- --------
} >"$res_txt"
printf 'id\tmode\tn\tm\tbase\thead\tchange_pct\tflag\n' >"$res_tsv"
awk -F '\t' -v tol="$tol" -v tsv="$res_tsv" '
    FNR == 1 { file++; next }
    file == 1 { b[$1 SUBSEP $4 SUBSEP $5] = $7; next }
    {
        k = $1 SUBSEP $4 SUBSEP $5
        bv = (k in b && b[k] != "FAIL") ? b[k] : "-"; hv = $7 # FAIL: no such mode there
        num = bv ~ /^[0-9.]+$/ && hv ~ /^[0-9.]+$/ && bv + 0 > 0
        ch = num ? sprintf("%+.1f%%", (hv - bv) * 100 / bv) : "-"
        flag = num && (hv - bv) * 100 / bv > tol ? "WORSE" : ""
        if (flag != "") worse++
        printf "%-21s %-14s %7s %7s %10s %10s %8s %s\n", $1, $3, $4, $5, bv, hv, ch, flag
        printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", $1, $3, $4, $5, bv, hv,
            num ? sprintf("%.2f", (hv - bv) * 100 / bv) : "-", flag >> tsv
    }
    END {
        printf "\n%d row(s) more than %s%% worse\n", worse, tol
        exit worse > 0
    }' "$out/compare/base/callgrind.tsv" "$out/compare/head/callgrind.tsv" >>"$res_txt" || st=$?
cat "$res_txt"
exit "${st:-0}"
