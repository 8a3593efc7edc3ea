#!/bin/sh
# SPDX-License-Identifier: MIT
# B6: TCP echo on 127.0.0.1 (bench/WORKLOADS.md). For each runtime whose
# echo server is built, each message SIZE (64, 1024) and each number of
# connections K (1, 50, 500):
#
#   1. the server runs under `taskset -c 1`, bench/echo_client under
#      `taskset -c 0` (K = 1, a latency run: both on cpu 0, since waking
#      an idle vCPU costs tens of microseconds) for SECS seconds after a
#      0.5 s warm-up; msg/s and p50/p99 latency come from the client; on
#      SIGTERM the server prints its getrusage(): user (and sys) CPU per
#      message is that over every message echoed, warm-up included;
#   2. two runs under `strace -c -f` (strace slows the server, so its
#      numbers stay out of step 1) in which the client sends exactly M and
#      2M messages in all: system calls per message is the marginal
#      (calls(2M) - calls(M)) / M, so that start-up, the K accepts and the
#      teardown cancel out, however fast the traced server goes; epoll_ctl
#      and epoll_wait (epoll_wait, epoll_pwait, epoll_pwait2) per message
#      are shown separately. (How many messages one epoll_wait serves
#      depends on the speed: under strace it is more than in step 1.)
#   3. user-space instructions per message: two runs with the server (not
#      the client) under `valgrind --tool=callgrind`, the client sending
#      exactly M and 2M messages: (Ir(2M) - Ir(M)) / M, start-up, accepts
#      and teardown cancelled out as in step 2 (under callgrind the server
#      is ~50x slower, so one epoll_wait serves more messages than in
#      step 1). After the tables, for each libfut runtime at 64 B, K = 50,
#      the marginal instructions per message function by function (self
#      and inclusive, callgrind_annotate), the top 20 of each.
#
#   bench/echo.sh [--smoke] [--secs SECS] [--strace-msgs M] [--no-strace]
#                 [--cg-msgs M] [--no-callgrind] [--sizes 'S...'] [--ks 'K...']
#                 [RUNTIME...]
#
#   --smoke        one tiny run per runtime (K = 10, 64 B, 0.5 s), no
#                  strace: checks that every server and the client work.
#   --secs SECS    measured seconds of step 1 (default 3).
#   --strace-msgs  M of step 2 (default 10000).
#   --no-strace    skip step 2.
#   --cg-msgs      M of step 3 (default 20000).
#   --sizes, --ks  only these message sizes / connection counts (default
#                  '64 1024' and '1 50 500').
#   --no-callgrind skip step 3 (also skipped, with a message, without
#                  valgrind).
#   RUNTIME        only these: libfut (b_echo: one-shot fut_fd ops),
#                  libfut-stream (b_echo_stream: fut_stream), libev,
#                  uv, tokio.
#
# Writes $BENCH_OUT/echo.txt (the table) and echo.tsv (runtime size K
# msgs_per_s p50_us p99_us user_us_per_msg syscalls_per_msg, then
# epoll_ctl_per_msg epoll_wait_per_msg sys_us_per_msg ir_per_msg); the raw output
# of every run stays in $BENCH_OUT/echo/. With --smoke: echo-smoke.*.
#
# Environment: BENCH_BIN (the built programs; default: this directory),
# BENCH_SRC, BENCH_UV, BENCH_TOKIO, BENCH_OUT as for run.sh; STRACE
# (default: strace); VALGRIND (default: valgrind); ECHO_PORT (first port tried, default 21000 + a few
# thousand picked from the pid; each run takes the next one).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${BENCH_BIN:-$here}
src=${BENCH_SRC:-$here}
out=${BENCH_OUT:-$bin/out}
st=${STRACE:-strace}
vg=${VALGRIND:-valgrind}
smoke=0
secs=3
smsgs=10000
use_strace=1
cgmsgs=20000
osizes=
oks=
use_cg=1
only=
while [ $# -gt 0 ]; do
    case "$1" in
    --smoke) smoke=1 ;;
    --secs) shift; secs=$1 ;;
    --secs=*) secs=${1#--secs=} ;;
    --strace-msgs) shift; smsgs=$1 ;;
    --strace-msgs=*) smsgs=${1#--strace-msgs=} ;;
    --no-strace) use_strace=0 ;;
    --cg-msgs) shift; cgmsgs=$1 ;;
    --cg-msgs=*) cgmsgs=${1#--cg-msgs=} ;;
    --no-callgrind) use_cg=0 ;;
    --sizes) shift; osizes=$1 ;;
    --ks) shift; oks=$1 ;;
    -h|--help) sed -n '2,55p' "$0"; exit 0 ;;
    -*) echo "echo.sh: unknown option $1" >&2; exit 2 ;;
    *) only="$only $1" ;;
    esac
    shift
done

for t in taskset pgrep; do
    command -v $t >/dev/null 2>&1 || { echo "echo.sh: $t not found (Debian: util-linux, procps)" >&2; exit 1; }
done
client=$bin/echo_client
[ -x "$client" ] || { echo "echo.sh: $client is not built: run 'make bench-echo'" >&2; exit 1; }
if [ $smoke = 1 ]; then
    use_strace=0
    use_cg=0
    secs=0.5
    sizes=64
    ks=10
else
    sizes="64 1024"
    ks="1 50 500"
fi
sizes=${osizes:-$sizes}
ks=${oks:-$ks}
if [ $use_strace = 1 ] && ! command -v "$st" >/dev/null 2>&1; then
    echo "echo.sh: strace not found (Debian: apt-get install strace); use --no-strace" >&2
    exit 1
fi
if [ $use_cg = 1 ] && ! command -v "$vg" >/dev/null 2>&1; then
    echo "echo.sh: valgrind not found: no instructions per message (--no-callgrind)" >&2
    use_cg=0
fi
ncpu=$(nproc 2>/dev/null || echo 1)
if [ "$ncpu" -lt 2 ]; then
    echo "echo.sh: fewer than 2 cpus: server and client share cpu 0" >&2
    scpu=0
else
    scpu=1
fi

peer() {
    if [ -x "$bin/$1" ]; then echo "$bin/$1"; elif [ -x "$src/$1" ]; then echo "$src/$1"; fi
}
uv=${BENCH_UV:-$(peer peers/uv/b_uv)}
tokio=${BENCH_TOKIO:-$(peer peers/tokio/target/release/b_tokio)}

# The server command of a runtime (PORT appended), empty when not built.
server_of() {
    case $1 in
    libfut) [ -x "$bin/b_echo" ] && echo "$bin/b_echo" ;;
    libfut-stream) [ -x "$bin/b_echo_stream" ] && echo "$bin/b_echo_stream" ;;
    libev) [ -x "$bin/b_echo_ev" ] && echo "$bin/b_echo_ev" ;;
    uv) [ -n "$uv" ] && [ -x "$uv" ] && echo "$uv echo-server" ;;
    tokio) [ -n "$tokio" ] && [ -x "$tokio" ] && echo "$tokio echo-server" ;;
    esac
    return 0
}

runtimes=
for r in libfut libfut-stream libev uv tokio; do
    if [ -n "$only" ]; then
        case " $only " in *" $r "*) ;; *) continue ;; esac
    fi
    if [ -z "$(server_of $r)" ]; then
        echo "echo.sh: no $r echo server built: skipped" >&2
        continue
    fi
    runtimes="$runtimes $r"
done
[ -n "$runtimes" ] || { echo "echo.sh: no echo server to run" >&2; exit 1; }

smsgs2=$(awk -v s="$smsgs" 'BEGIN { printf "%d", 2 * s }')
cgmsgs2=$(awk -v s="$cgmsgs" 'BEGIN { printf "%d", 2 * s }')
raw=$out/echo
mkdir -p "$raw"
# A server left running by an interrupted run is stopped on the way out.
live=
trap '[ -z "$live" ] || kill -TERM $live 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
port=${ECHO_PORT:-$((21000 + ($$ % 1000) * 8))}
failures=0

kv() { # key file: the value of key=value in the file's last line that has it
    sed -n "s|.*[[:space:]]$1=\([^[:space:]]*\).*|\1|p; s|^$1=\([^[:space:]]*\).*|\1|p" "$2" | tail -n 1
}

# Waits until the server printed `ready` (1 when it died or took > 10 s).
wait_ready() { # pid file
    i=0
    while ! grep -q '^ready' "$2" 2>/dev/null; do
        kill -0 "$1" 2>/dev/null || return 1
        i=$((i + 1))
        [ $i -le 200 ] || return 1
        sleep 0.05
    done
}

# SIGTERM to the server, then waits up to 10 s for the job (the server,
# or strace) to end, else SIGKILL to both; returns the job's exit status.
stop() { # server_pid job_pid
    kill -TERM "$1" 2>/dev/null || true
    i=0
    while kill -0 "$2" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 200 ]; then
            echo "echo.sh: server $1 did not exit on SIGTERM: killed" >&2
            kill -KILL "$1" 2>/dev/null || true
            sleep 0.5
            kill -KILL "$2" 2>/dev/null || true
            break
        fi
        sleep 0.05
    done
    rc=0
    wait "$2" || rc=$?
    return $rc
}

# One run: server (under strace for the tags strace*, callgrind for cg*,
# plain for main) and client. Leaves $f.server, $f.client (and $f.strace,
# or $f.cg); returns non-zero on a failure.
run() { # runtime size K seconds tag [maxmsgs]
    # The next port on which nothing listens on 127.0.0.1 (other work on
    # the machine may hold some of ours).
    i=0
    while :; do
        port=$((port + 1))
        [ $port -le 65000 ] || port=20001
        if command -v ss >/dev/null 2>&1; then
            ss -Htln "sport = :$port" 2>/dev/null | grep -q . || break
        else
            break
        fi
        i=$((i + 1))
        [ $i -lt 1000 ] || { echo "echo.sh: no free port" >&2; return 1; }
    done
    f=$raw/$1.$2.$3.$5
    cmd=$(server_of "$1")
    if [ "$3" = 1 ]; then ss=0; else ss=$scpu; fi
    rm -f "$f.server" "$f.client" "$f.strace" "$f.err" "$f.pid" "$f.cg"
    case $5 in
    cg*)
        # valgrind runs the program in its own process: $! gets SIGTERM.
        # shellcheck disable=SC2086
        taskset -c $ss "$vg" --tool=callgrind --dump-instr=no --callgrind-out-file="$f.cg" \
            $cmd $port >"$f.server" 2>"$f.err" &
        wpid=$!
        spid=$wpid
        live=$wpid
        ;;
    strace*)
        # The shell writes its pid, which the server inherits through the
        # two execs: the process to send SIGTERM to (strace itself would
        # only detach).
        # shellcheck disable=SC2016,SC2086
        "$st" -f -c -o "$f.strace" sh -c 'echo $$ >"$0"; exec "$@"' "$f.pid" \
            taskset -c $ss $cmd $port >"$f.server" 2>"$f.err" &
        wpid=$!
        live=$wpid
        i=0
        while ! [ -s "$f.pid" ] && [ $i -lt 200 ]; do
            sleep 0.05
            i=$((i + 1))
        done
        spid=$(cat "$f.pid" 2>/dev/null || echo "$wpid")
        live="$spid $wpid"
        ;;
    *)
        # shellcheck disable=SC2086
        taskset -c $ss $cmd $port >"$f.server" 2>"$f.err" &
        wpid=$!
        spid=$wpid
        live=$wpid
        ;;
    esac
    if ! wait_ready $wpid "$f.server"; then
        echo "echo.sh: FAILED: $1 server did not get ready (see $f.err)" >&2
        stop "$spid" "$wpid" || true
        live=
        return 1
    fi
    crc=0
    # shellcheck disable=SC2086
    taskset -c 0 "$client" 127.0.0.1 $port "$3" "$2" "$4" ${6:-} >"$f.client" 2>&1 || crc=$?
    src_rc=0
    stop "$spid" "$wpid" || src_rc=$?
    live=
    if [ $crc != 0 ]; then
        echo "echo.sh: FAILED ($crc): echo_client against $1 size=$2 K=$3 (see $f.client)" >&2
        return 1
    fi
    if [ $src_rc != 0 ] || ! grep -q '^rusage ' "$f.server"; then
        echo "echo.sh: FAILED ($src_rc): $1 server did not exit cleanly on SIGTERM (see $f.server, $f.err)" >&2
        return 1
    fi
    return 0
}

# The calls of one syscall (or several, |-separated), or of all ("total").
calls() { # strace_file names
    awk -v names="|$2|" '/^------/ { next } NF >= 5 && index(names, "|" $NF "|") { s += $4 }
        END { printf "%d\n", s }' "$1"
}

div() { # a b [format]
    awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN {
        if (a ~ /^[0-9.e+-]+$/ && b ~ /^[0-9.e+-]+$/ && b + 0 != 0) printf f "\n", a / b; else print "-" }'
}
marg() { # long short msgs_long msgs_short
    awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" 'BEGIN {
        if (c - d > 0) printf "%.3f\n", (a - b) / (c - d); else print "-" }'
}

# Total Ir of a callgrind profile.
ir_of() { # file
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$1" | head -n 1
}

# Ir per function of a profile, "Ir<TAB>file:function", self or inclusive.
functions() { # file yes|no
    # (inclusive: callgrind_annotate names a function also by its
    # absolute path: kept once, relative to the source tree)
    ${CALLGRIND_ANNOTATE:-callgrind_annotate} --auto=no --threshold=100 --inclusive="$2" "$1" 2>/dev/null |
    awk -v top="$(cd "$src/.." && pwd)/" '
        /file:function/ { go = 1; next }
        go && /^ *[0-9][0-9,]* / {
            ir = $1; gsub(",", "", ir); line = $0
            sub(/^ *[0-9][0-9,]* +/, "", line)
            sub(/^\( *[0-9.]+%\) +/, "", line)
            sub(/ \[[^]]*\]$/, "", line)
            if (index(line, top) == 1) line = substr(line, length(top) + 1)
            if (seen[line]++) next
            print ir "\t" line
        }'
}

# The marginal Ir per message of each function between the M and 2M
# profiles (self or inclusive), the top 20, with its share of the total.
profile() { # short long msgs_short msgs_long yes|no total_per_msg
    functions "$1" "$5" >"$raw/fn.a"
    functions "$2" "$5" >"$raw/fn.b"
    awk -F '\t' -v n="$(($4 - $3))" -v t="$6" '
        FNR == NR { a[$2] += $1; next }
        { b[$2] += $1 }
        END {
            # (inclusive: the frames that hold every message, main and
            # the loop, left out)
            for (k in b) { d = (b[k] - a[k]) / n
                if (d >= 0.5 && (t <= 0 || d < 0.97 * t)) printf "%10.1f %6.1f%%  %s\n", d, (t > 0 ? 100 * d / t : 0), k }
        }' "$raw/fn.a" "$raw/fn.b" | sort -rn | awk '!seen[$3]++' | head -n 20 | sed 's/^/    /'
    rm -f "$raw/fn.a" "$raw/fn.b"
}

checks=unknown
for h in "$bin/../config.h" "$src/../config.h"; do
    [ -f "$h" ] || continue
    if grep -q '^#define NDEBUG' "$h"; then checks=off; else checks=on; fi
    break
done
if [ $smoke = 1 ]; then res_txt=$out/echo-smoke.txt res_tsv=$out/echo-smoke.tsv; else res_txt=$out/echo.txt res_tsv=$out/echo.tsv; fi
tsv_tmp=$res_tsv.tmp
printf 'runtime\tsize\tK\tmsgs_per_s\tp50_us\tp99_us\tuser_us_per_msg\tsyscalls_per_msg\tepoll_ctl_per_msg\tepoll_wait_per_msg\tsys_us_per_msg\tir_per_msg\n' >"$tsv_tmp"

{
echo "# B6 TCP echo on 127.0.0.1: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# kernel: $(uname -r) ($(uname -m)); $ncpu cpus; server on cpu $scpu, client on cpu 0 (K = 1: both on cpu 0)"
echo "# git: $(cd "$src" && git describe --always --dirty 2>/dev/null || echo '?'); libfut protocol checks: $checks"
echo "# closed loop, one message in flight per connection; $secs s measured after 0.5 s of warm-up"
if [ $use_strace = 1 ]; then
    echo "# sys/msg: strace -c -f, marginal between runs of $smsgs and $smsgs2 messages (ctl: epoll_ctl, wait: epoll_wait, of which)"
fi
if [ $use_cg = 1 ]; then
    echo "# Ir/msg: callgrind on the server, user-space instructions, marginal between runs of $cgmsgs and $cgmsgs2 messages"
fi
echo "# us/msg: the server's getrusage() over every message it echoed"
echo
printf '%-13s %5s %4s %10s %9s %9s %8s %8s %8s %8s %8s %8s\n' runtime size K msg/s p50_us p99_us user_us sys_us sys/msg ctl/msg wait/msg Ir/msg
} | tee "$res_txt"

for size in $sizes; do
    for k in $ks; do
        for r in $runtimes; do
            if ! run "$r" "$size" "$k" "$secs" main; then
                failures=$((failures + 1))
                printf '%-13s %5s %4s %10s\n' "$r" "$size" "$k" FAIL | tee -a "$res_txt"
                continue
            fi
            f=$raw/$r.$size.$k.main
            mps=$(kv 'msg/s' "$f.client")
            p50=$(kv p50_us "$f.client")
            p99=$(kv p99_us "$f.client")
            total=$(kv total_msgs "$f.client")
            uus=$(div "$(kv user_us "$f.server")" "$total" %.3f)
            sus=$(div "$(kv sys_us "$f.server")" "$total" %.3f)
            spm=- ctl=- wt=-
            if [ $use_strace = 1 ]; then
                if run "$r" "$size" "$k" 300 strace "$smsgs" && run "$r" "$size" "$k" 300 strace2 "$smsgs2"; then
                    a=$raw/$r.$size.$k.strace2 b=$raw/$r.$size.$k.strace
                    ma=$(kv total_msgs "$a.client")
                    mb=$(kv total_msgs "$b.client")
                    spm=$(marg "$(calls "$a.strace" total)" "$(calls "$b.strace" total)" "$ma" "$mb")
                    ctl=$(marg "$(calls "$a.strace" epoll_ctl)" "$(calls "$b.strace" epoll_ctl)" "$ma" "$mb")
                    w='epoll_wait|epoll_pwait|epoll_pwait2'
                    wt=$(marg "$(calls "$a.strace" "$w")" "$(calls "$b.strace" "$w")" "$ma" "$mb")
                else
                    failures=$((failures + 1))
                    spm=FAIL
                fi
            fi
            irm=-
            if [ $use_cg = 1 ]; then
                if run "$r" "$size" "$k" 300 cg "$cgmsgs" && run "$r" "$size" "$k" 300 cg2 "$cgmsgs2"; then
                    a=$raw/$r.$size.$k.cg2 b=$raw/$r.$size.$k.cg
                    irm=$(marg "$(ir_of "$a.cg")" "$(ir_of "$b.cg")" "$(kv total_msgs "$a.client")" \
                        "$(kv total_msgs "$b.client")")
                    irm=$(awk -v v="$irm" 'BEGIN { if (v ~ /^-?[0-9.]+$/) printf "%.0f", v; else print v }')
                else
                    failures=$((failures + 1))
                    irm=FAIL
                fi
            fi
            printf '%-13s %5s %4s %10.0f %9s %9s %8s %8s %8s %8s %8s %8s\n' "$r" "$size" "$k" "$mps" \
                "$p50" "$p99" "$uus" "$sus" "$spm" "$ctl" "$wt" "$irm" | tee -a "$res_txt"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$size" "$k" "$mps" "$p50" "$p99" \
                "$uus" "$spm" "$ctl" "$wt" "$sus" "$irm" >>"$tsv_tmp"
        done
    done
done
mv "$tsv_tmp" "$res_tsv"

# Each libfut runtime against libev (and the stream one against b_echo),
# with the targets: b_echo: user CPU <= 1.5x libev's, <= 2.05 system
# calls per message; b_echo_stream (64 B, K = 50): Ir/msg <= 2x libev's,
# <= 2.05 system calls per message, no epoll_ctl in steady state.
case " $runtimes " in *" libev "*)
    for lf in libfut libfut-stream; do
        case " $runtimes " in *" $lf "*) ;; *) continue ;; esac
        {
        echo
        if [ $lf = libfut ]; then
            echo "# libfut (b_echo, fut_fd) / libev (targets: user_us ratio <= 1.5, sys/msg <= 2.05)"
        else
            echo "# libfut-stream (b_echo_stream, fut_stream) / libev, and / libfut (b_echo) (targets at 64 B, K = 50: Ir ratio <= 2, sys/msg <= 2.05, ctl/msg 0)"
        fi
        printf '%5s %4s %8s %8s %8s %8s %8s %8s %10s %10s %10s\n' size K 'msg/s' user_us sys/msg Ir/msg \
            'Ir/fd' 'user/fd' user_ok sys_ok ctl_ok
        awk -F'\t' -v lf="$lf" '
            NR == 1 { next }
            { key = $2 " " $3; v[$1, key, "mps"] = $4; v[$1, key, "u"] = $7; v[$1, key, "s"] = $8
              v[$1, key, "c"] = $9; v[$1, key, "ir"] = $12
              if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
            function r(a, b) { return (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
            END {
                for (i = 1; i <= n; i++) {
                    key = order[i]; split(key, sk, " ")
                    ru = r(v[lf, key, "u"], v["libev", key, "u"])
                    ri = r(v[lf, key, "ir"], v["libev", key, "ir"])
                    s = v[lf, key, "s"]; c = v[lf, key, "c"]
                    sok = s ~ /^[0-9.]+$/ ? (s + 0 <= 2.05 ? "met" : "NOT met") : "-"
                    if (lf == "libfut") {
                        uok = ru == "-" ? "-" : (ru + 0 <= 1.5 ? "met" : "NOT met"); cok = "-"
                        rif = "-"; ruf = "-"
                    } else {
                        uok = ri == "-" ? "-" : (ri + 0 <= 2 ? "met" : "NOT met")
                        cok = c ~ /^[0-9.]+$/ ? (c + 0 < 0.005 ? "met" : "NOT met") : "-"
                        rif = r(v[lf, key, "ir"], v["libfut", key, "ir"]); ruf = r(v[lf, key, "u"], v["libfut", key, "u"])
                    }
                    printf "%5s %4s %8s %8s %8s %8s %8s %8s %10s %10s %10s\n", sk[1], sk[2],
                        r(v[lf, key, "mps"], v["libev", key, "mps"]), ru,
                        r(v[lf, key, "s"], v["libev", key, "s"]), ri, rif, ruf, uok, sok, cok
                }
            }' "$res_tsv"
        if [ $lf = libfut ]; then
            echo "# (user_ok: user_us ratio <= 1.5)"
        else
            echo "# (user_ok: Ir/msg ratio <= 2; Ir/fd, user/fd: against b_echo; ctl_ok: epoll_ctl per message < 0.005)"
        fi
        } | tee -a "$res_txt"
    done
    ;;
esac

# Where the instructions of each libfut server go (64 B, K = 50).
if [ $use_cg = 1 ] && command -v "${CALLGRIND_ANNOTATE:-callgrind_annotate}" >/dev/null 2>&1; then
    for lf in libfut-stream libfut libev; do
        a=$raw/$lf.64.50.cg b=$raw/$lf.64.50.cg2
        [ -f "$a.cg" ] && [ -f "$b.cg" ] || continue
        ma=$(kv total_msgs "$a.client") mb=$(kv total_msgs "$b.client")
        tot=$(marg "$(ir_of "$b.cg")" "$(ir_of "$a.cg")" "$mb" "$ma")
        {
        echo
        echo "# $lf, 64 B, K = 50: marginal Ir/msg by function (total $tot), self"
        profile "$a.cg" "$b.cg" "$ma" "$mb" no "$tot"
        echo "# $lf, 64 B, K = 50: marginal Ir/msg by function, inclusive"
        profile "$a.cg" "$b.cg" "$ma" "$mb" yes "$tot"
        } | tee -a "$res_txt"
    done
fi

echo "# written: $res_txt $res_tsv (raw runs: $raw/)" >&2
if [ $failures != 0 ]; then
    echo "echo.sh: $failures run(s) FAILED" >&2
    exit 1
fi
