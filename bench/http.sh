#!/bin/sh
# SPDX-License-Identifier: MIT
# B9: hello over HTTP/1.1 keep-alive on 127.0.0.1 (bench/WORKLOADS.md).
# For each server (libev: bench/b_http_ev, the floor; libfut: its HTTP
# example examples/http with -t 1, and libfut-t2 the same with -t 2, when
# built; nginx, when installed):
#
#   1. the server runs under `taskset -c 1`, `wrk -t1 -c100 -dSECS --latency`
#      under `taskset -c 0` against http://127.0.0.1:PORT/; req/s and the
#      p50/p99 latency come from wrk, and the run FAILS when wrk reports a
#      socket error or a non-2xx/3xx answer; the server's CPU (user and
#      sys) per request is its CPU over wrk's requests: libev prints its
#      getrusage() on SIGTERM (`rusage user_us= sys_us=`), examples/http
#      its own after its graceful shutdown (`http: N requests on M
#      connections; cpu user X s, sys Y s`) (their whole life: start-up
#      is negligible), nginx's worker is read from /proc/PID/stat (utime,
#      stime, clock ticks) just before and after wrk; `busy` is that CPU
#      per request times req/s: the server's share of its cpu (below
#      100%, the server was not what limited req/s: on a small VM the
#      wake-ups between the two vCPUs often are). libfut-t2 (two threads,
#      one runtime each on SO_REUSEPORT listeners) is not pinned: it
#      shares both cpus with wrk (taskset -c 0,1), so it shows how far a
#      second thread helps on this machine, not a scaling figure; its busy
#      may exceed 100%;
#   2. user-space instructions per request: the server (not the client)
#      runs under `valgrind --tool=callgrind`, and bench/http_client sends
#      exactly N, then (another server) 2N requests over K keep-alive
#      connections, one in flight on each; (Ir(2N) - Ir(N)) / N, so that
#      start-up, the K accepts and the teardown cancel out. Not for nginx:
#      its master forks the worker that serves, and callgrind would need
#      --trace-children and the worker's file picked out, with nginx's
#      start-up (config parsing, ~100 ms) in both runs; its CPU per
#      request of step 1 is the comparison. Under callgrind the server is
#      ~50x slower, so one epoll_wait serves more requests than at full
#      speed: its share of Ir/req is lower than in step 1.
#
#   bench/http.sh [--smoke] [--secs SECS] [--n N] [--k K] [--no-callgrind] [SERVER...]
#
#   --smoke         SECS = 1, N = 200, K = 4: checks that every server, wrk
#                   and the client work (CI); skipped, exit 0, without wrk.
#   --secs SECS     wrk's duration (default 10).
#   --n N, --k K    step 2's N (default 20000) and K (default 100).
#   --no-callgrind  skip step 2.
#   SERVER          only these: libev, libfut, libfut-t2, nginx.
#
# Writes $BENCH_OUT/http.txt (the table, then each server against libev)
# and http.tsv (server req_per_s p50_us p99_us sock_errors non2xx
# requests cpu_us_per_req user_us_per_req sys_us_per_req ir_per_req); the
# raw output of every run stays in $BENCH_OUT/http/. --smoke:
# http-smoke.*.
#
# Environment: BENCH_BIN, BENCH_SRC, BENCH_OUT as for run.sh; VALGRIND
# (default: valgrind); WRK (default: wrk); NGINX (default: nginx);
# BENCH_HTTP_LIBFUT (libfut's server, default: examples/http of the build
# tree, run as `PROG 127.0.0.1:PORT -t 1` (or -t 2); it prints `http:
# listening on ...` when ready and its request count and CPU on SIGTERM,
# then exits 0; a libtool wrapper is run through ./libtool
# --mode=execute under valgrind);
# HTTP_PORT (first port tried, default 23000 + a few thousand picked from
# the pid; each run takes the next free one).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=${BENCH_BIN:-$here}
src=${BENCH_SRC:-$here}
out=${BENCH_OUT:-$bin/out}
vg=${VALGRIND:-valgrind}
wrk=${WRK:-wrk}
ngx=${NGINX:-nginx}
top=$(cd "$bin/.." && pwd)
libfut=${BENCH_HTTP_LIBFUT:-$top/examples/http}
smoke=0
secs=10
n=20000
k=100
use_cg=1
only=
while [ $# -gt 0 ]; do
    case "$1" in
    --smoke) smoke=1 ;;
    --secs) shift; secs=$1 ;;
    --secs=*) secs=${1#--secs=} ;;
    --n) shift; n=$1 ;;
    --n=*) n=${1#--n=} ;;
    --k) shift; k=$1 ;;
    --k=*) k=${1#--k=} ;;
    --no-callgrind) use_cg=0 ;;
    -h|--help) sed -n '2,59p' "$0"; exit 0 ;;
    -*) echo "http.sh: unknown option $1" >&2; exit 2 ;;
    *) only="$only $1" ;;
    esac
    shift
done
if [ $smoke = 1 ]; then
    secs=1
    n=200
    k=4
fi
conns=100

if ! command -v "$wrk" >/dev/null 2>&1; then
    if [ $smoke = 1 ]; then
        echo "http.sh: wrk not found (Debian: apt-get install wrk): B9 smoke skipped" >&2
        exit 0
    fi
    echo "http.sh: wrk not found (Debian: apt-get install wrk)" >&2
    exit 1
fi
for t in taskset pgrep; do
    command -v $t >/dev/null 2>&1 || { echo "http.sh: $t not found (Debian: util-linux, procps)" >&2; exit 1; }
done
client=$bin/http_client
[ -x "$client" ] || { echo "http.sh: $client is not built: run 'make bench-http-build'" >&2; exit 1; }
if [ $use_cg = 1 ] && ! command -v "$vg" >/dev/null 2>&1; then
    echo "http.sh: valgrind not found: no instructions per request" >&2
    use_cg=0
fi
ncpu=$(nproc 2>/dev/null || echo 1)
if [ "$ncpu" -lt 2 ]; then
    echo "http.sh: fewer than 2 cpus: server and wrk share cpu 0" >&2
    scpu=0
else
    scpu=1
fi

# A libtool wrapper (examples/ are not linked -no-install) is run through
# libtool under valgrind, so that valgrind sees the real program.
is_wrapper() { head -c 4096 "$1" 2>/dev/null | grep -q 'libtool'; }

# The server command of a runtime, empty when absent (PORT: for the
# command line).
server_of() { # server [port]
    case $1 in
    libev) [ -x "$bin/b_http_ev" ] && echo "$bin/b_http_ev ${2:-PORT}" ;;
    libfut) [ -x "$libfut" ] && echo "$libfut 127.0.0.1:${2:-PORT} -t 1" ;;
    libfut-t2) [ -x "$libfut" ] && echo "$libfut 127.0.0.1:${2:-PORT} -t 2" ;;
    nginx) command -v "$ngx" >/dev/null 2>&1 && echo "$ngx" ;;
    esac
    return 0
}

# The cpus a server runs on: libfut-t2 on both (shared with wrk).
cpus_of() { # server
    case $1 in libfut-t2) if [ "$ncpu" -ge 2 ]; then echo 0,1; else echo 0; fi ;; *) echo $scpu ;; esac
}

# The line a server prints once it listens.
ready_re='^\(ready\|http: listening on\)'

servers=
for r in libev libfut libfut-t2 nginx; do
    if [ -n "$only" ]; then
        case " $only " in *" $r "*) ;; *) continue ;; esac
    fi
    if [ -z "$(server_of $r)" ]; then
        case $r in
        libfut|libfut-t2) echo "http.sh: libfut's HTTP server $libfut is not built (set BENCH_HTTP_LIBFUT): $r skipped" >&2 ;;
        nginx) echo "http.sh: nginx not installed (Debian: nginx-light): skipped" >&2 ;;
        *) echo "http.sh: $bin/b_http_ev is not built: run 'make bench-http-build'" >&2 ;;
        esac
        continue
    fi
    servers="$servers $r"
done
[ -n "$servers" ] || { echo "http.sh: no server to run" >&2; exit 1; }

raw=$out/http
mkdir -p "$raw"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-http.XXXXXX")
# A server left running by an interrupted run is stopped on the way out.
live=
trap '[ -z "$live" ] || kill -TERM $live 2>/dev/null || true; sleep 0.2; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
port=${HTTP_PORT:-$((23000 + ($$ % 1000) * 8))}
failures=0

# The next port from $port + 1 on which nothing listens on 127.0.0.1.
next_port() {
    i=0
    while :; do
        port=$((port + 1))
        [ $port -le 65000 ] || port=20001
        if command -v ss >/dev/null 2>&1; then
            ss -Htln "sport = :$port" 2>/dev/null | grep -q . || return 0
        else
            nc -z 127.0.0.1 $port 2>/dev/null || return 0
        fi
        i=$((i + 1))
        [ $i -lt 1000 ] || { echo "http.sh: no free port" >&2; exit 1; }
    done
}

kv() { # key file: the value of key=value in the file's last line that has it
    sed -n "s|.*[[:space:]]$1=\([^[:space:]]*\).*|\1|p; s|^$1=\([^[:space:]]*\).*|\1|p" "$2" | tail -n 1
}

# Waits until the server printed `ready` or `http: listening on` (1 when
# it died or took > 30 s: valgrind starts slowly).
wait_ready() { # pid file
    i=0
    while ! grep -q "$ready_re" "$2" 2>/dev/null; do
        kill -0 "$1" 2>/dev/null || return 1
        i=$((i + 1))
        [ $i -le 600 ] || return 1
        sleep 0.05
    done
}

# Waits until something accepts connections on 127.0.0.1:port (nginx
# prints nothing); 1 when the process died or 10 s passed.
wait_listen() { # pid port
    i=0
    while ! ss -Htln "sport = :$2" 2>/dev/null | grep -q .; do
        kill -0 "$1" 2>/dev/null || return 1
        i=$((i + 1))
        [ $i -le 200 ] || return 1
        sleep 0.05
    done
}

# SIGTERM, then waits up to 30 s for the process to end, else SIGKILL;
# returns its exit status.
stop() { # pid
    kill -TERM "$1" 2>/dev/null || true
    i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 600 ]; then
            echo "http.sh: server $1 did not exit on SIGTERM: killed" >&2
            kill -KILL "$1" 2>/dev/null || true
            break
        fi
        sleep 0.05
    done
    rc=0
    wait "$1" || rc=$?
    return $rc
}

# wrk's latency with its unit (us, ms, s) in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) printf "%.1f\n", v + 0
        else if (v ~ /ms$/) printf "%.1f\n", (v + 0) * 1e3
        else if (v ~ /s$/) printf "%.1f\n", (v + 0) * 1e6
        else print "-" }'
}

# Parses $f.wrk into the variables rps p50 p99 reqs serr non2xx; 1 when
# wrk's output lacks its summary.
parse_wrk() { # file
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$1")
    reqs=$(awk '/ requests in / { print $1 }' "$1")
    [ -n "$rps" ] && [ -n "$reqs" ] || return 1
    p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$1")")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$1")")
    serr=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$1")
    serr=${serr:-0}
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$1")
    non2xx=${non2xx:-0}
}

# utime + stime of a process, in clock ticks.
ticks() { # pid
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13, $12, $13 }'
}

nginx_conf() { # dir port
    d=$1
    mkdir -p "$d/logs" "$d/tmp"
    temps="client_body_temp_path $d/tmp/body; proxy_temp_path $d/tmp/proxy;"
    for m in fastcgi uwsgi scgi; do
        "$ngx" -V 2>&1 | grep -q -- "--without-http_${m}_module" || temps="$temps ${m}_temp_path $d/tmp/$m;"
    done
    cat >"$d/nginx.conf" <<EOF
# B9 (bench/http.sh): one worker, hello on 127.0.0.1:$2, no logs.
daemon off;
master_process on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    default_type text/plain;
    $temps
    server {
        listen 127.0.0.1:$2;
        location / { return 200 "hello"; }
    }
}
EOF
}

# Step 1 for one server: leaves $f.wrk and $f.server (and for nginx
# $f.ticks); sets rps p50 p99 reqs serr non2xx cpu_us user_us sys_us.
run_wrk() { # server
    srv=$1
    next_port
    f=$raw/$srv.main
    rm -f "$f".*
    cpu_us=- user_us=- sys_us=-
    if [ "$srv" = nginx ]; then
        d=$tmp/nginx.$port
        nginx_conf "$d" "$port"
        taskset -c $scpu "$ngx" -p "$d" -e "$d/logs/error.log" -c "$d/nginx.conf" \
            >"$f.server" 2>"$f.err" &
        spid=$!
        live=$spid
        if ! wait_listen $spid "$port"; then
            echo "http.sh: FAILED: nginx did not start (see $f.err, $d/logs/error.log)" >&2
            cp "$d/logs/error.log" "$f.nginx-error.log" 2>/dev/null || true
            stop $spid || true
            live=
            return 1
        fi
        wpid=$(pgrep -P $spid | head -n 1)
        [ -n "$wpid" ] || { echo "http.sh: FAILED: no nginx worker" >&2; stop $spid || true; live=; return 1; }
        t0=$(ticks "$wpid")
    else
        # shellcheck disable=SC2046
        taskset -c "$(cpus_of "$srv")" $(server_of "$srv" "$port") >"$f.server" 2>"$f.err" &
        spid=$!
        live=$spid
        if ! wait_ready $spid "$f.server"; then
            echo "http.sh: FAILED: $srv server did not get ready (see $f.err)" >&2
            stop $spid || true
            live=
            return 1
        fi
    fi
    wrc=0
    taskset -c 0 "$wrk" -t1 -c$conns -d"${secs}s" --latency "http://127.0.0.1:$port/" >"$f.wrk" 2>&1 || wrc=$?
    if [ "$srv" = nginx ]; then
        t1=$(ticks "$wpid")
        echo "before $t0 after $t1" >"$f.ticks"
        cp "$d/logs/error.log" "$f.nginx-error.log" 2>/dev/null || true
    fi
    src_rc=0
    stop $spid || src_rc=$?
    live=
    if [ $wrc != 0 ] || ! parse_wrk "$f.wrk"; then
        echo "http.sh: FAILED ($wrc): wrk against $srv (see $f.wrk)" >&2
        return 1
    fi
    if [ "$srv" = nginx ]; then
        hz=$(getconf CLK_TCK)
        # shellcheck disable=SC2086
        set -- $t0 $t1
        cpu_us=$(awk -v a="$1" -v b="$4" -v hz="$hz" -v r="$reqs" 'BEGIN { printf "%.3f", (b - a) * 1e6 / hz / r }')
        user_us=$(awk -v a="$2" -v b="$5" -v hz="$hz" -v r="$reqs" 'BEGIN { printf "%.3f", (b - a) * 1e6 / hz / r }')
        sys_us=$(awk -v a="$3" -v b="$6" -v hz="$hz" -v r="$reqs" 'BEGIN { printf "%.3f", (b - a) * 1e6 / hz / r }')
    else
        if grep -q '^http: [0-9]* requests' "$f.server"; then
            # examples/http: "http: N requests on M connections; cpu user X s, sys Y s"
            u=$(sed -n 's/^http: .*cpu user \([0-9.]*\) s, sys \([0-9.]*\) s.*/\1/p' "$f.server" | tail -n 1)
            s=$(sed -n 's/^http: .*cpu user \([0-9.]*\) s, sys \([0-9.]*\) s.*/\2/p' "$f.server" | tail -n 1)
            u=$(awk -v v="$u" 'BEGIN { printf "%.0f", v * 1e6 }')
            s=$(awk -v v="$s" 'BEGIN { printf "%.0f", v * 1e6 }')
        elif grep -q '^rusage ' "$f.server"; then
            u=$(kv user_us "$f.server")
            s=$(kv sys_us "$f.server")
        else
            u=
        fi
        if [ $src_rc != 0 ] || [ -z "$u" ]; then
            echo "http.sh: FAILED ($src_rc): $srv server did not exit cleanly on SIGTERM (see $f.server, $f.err)" >&2
            return 1
        fi
        cpu_us=$(awk -v u="$u" -v s="$s" -v r="$reqs" 'BEGIN { printf "%.3f", (u + s) / r }')
        user_us=$(awk -v u="$u" -v r="$reqs" 'BEGIN { printf "%.3f", u / r }')
        sys_us=$(awk -v s="$s" -v r="$reqs" 'BEGIN { printf "%.3f", s / r }')
    fi
    if [ "$serr" != 0 ] || [ "$non2xx" != 0 ]; then
        echo "http.sh: FAILED: wrk against $srv: $serr socket errors, $non2xx non-2xx/3xx answers (see $f.wrk)" >&2
        return 1
    fi
    return 0
}

# Step 2, one run: sets ir_total to the total Ir of the server answering
# `reqs` requests; 1 on a failure (message on stderr).
ir_run() { # server reqs
    next_port
    f=$raw/$1.cg.$2
    rm -f "$f".*
    cmd=$(server_of "$1" "$port")
    pre=
    if is_wrapper "${cmd%% *}" && [ -x "$top/libtool" ]; then
        pre="$top/libtool --mode=execute"
    fi
    # shellcheck disable=SC2086
    taskset -c "$(cpus_of "$1")" $pre "$vg" --tool=callgrind --dump-instr=no --callgrind-out-file="$f.out" \
        $cmd >"$f.server" 2>"$f.err" &
    spid=$!
    live=$spid
    if ! wait_ready $spid "$f.server"; then
        echo "http.sh: FAILED: $1 server under callgrind did not get ready (see $f.err)" >&2
        stop $spid || true
        live=
        return 1
    fi
    crc=0
    taskset -c 0 "$client" 127.0.0.1 "$port" "$k" "$2" >"$f.client" 2>&1 || crc=$?
    src_rc=0
    stop $spid || src_rc=$?
    live=
    if [ $crc != 0 ]; then
        echo "http.sh: FAILED ($crc): http_client against $1 under callgrind (see $f.client)" >&2
        return 1
    fi
    if [ $src_rc != 0 ] || ! [ -f "$f.out" ]; then
        echo "http.sh: FAILED ($src_rc): $1 under callgrind did not exit cleanly (see $f.err)" >&2
        return 1
    fi
    ir_total=0
    for g in "$f.out" "$f.out".*; do
        [ -f "$g" ] || continue
        v=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$g" | head -n 1)
        ir_total=$((ir_total + ${v:-0}))
    done
}

# Step 2 for one server: sets ir to Ir/req, '-' or FAIL.
ir_per_req() { # server
    ir=-
    [ $use_cg = 1 ] && [ "$1" != nginx ] || return 0
    ir=FAIL
    ir_run "$1" "$n" || return 0
    a=$ir_total
    ir_run "$1" "$n2" || return 0
    ir=$(awk -v a="$a" -v b="$ir_total" -v n="$n" 'BEGIN { printf "%.0f\n", (b - a) / n }')
}

n2=$(awk -v n="$n" 'BEGIN { printf "%d", 2 * n }')
checks=unknown
for h in "$top/config.h" "$src/../config.h"; do
    [ -f "$h" ] || continue
    if grep -q '^#define NDEBUG' "$h"; then checks=off; else checks=on; fi
    break
done
if [ $smoke = 1 ]; then res_txt=$out/http-smoke.txt res_tsv=$out/http-smoke.tsv; else res_txt=$out/http.txt res_tsv=$out/http.tsv; fi
tsv_tmp=$res_tsv.tmp
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1)
ngv=-
case " $servers " in *" nginx "*) ngv=$("$ngx" -v 2>&1 | sed 's/^nginx version: //') ;; esac

{
echo "# B9 hello over HTTP/1.1 keep-alive on 127.0.0.1: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# git: $(cd "$src" && git describe --always --dirty 2>/dev/null || echo '?'); libfut protocol checks: $checks"
echo "# kernel: $(uname -r) ($(uname -m)); $ncpu cpus: ${cpu:-?}; server on cpu $scpu, wrk on cpu 0"
echo "# load average before the run: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') (other work on the machine moves req/s and latency; Ir/req does not move)"
echo "# load: $("$wrk" --version 2>&1 | head -n 1 | cut -d' ' -f1-2) -t1 -c$conns -d${secs}s (SECS=$secs); nginx: $ngv"
echo "# cpu_us/req: the server's CPU (user + sys) over wrk's requests (getrusage; nginx: its worker's /proc stat)"
echo "# busy: cpu_us/req x req/s, the server's share of its cpu during the run (below 100%: not what limited req/s)"
if [ $use_cg = 1 ]; then
    echo "# Ir/req: callgrind on the server, (Ir(2N) - Ir(N)) / N with N=$n, 2N=$n2 requests over K=$k connections (bench/http_client); nginx: not measured"
fi
echo
printf '%-9s %10s %8s %8s %6s %6s %10s %8s %8s %8s %6s %8s\n' server req/s p50_us p99_us errors non2xx requests cpu_us user_us sys_us busy Ir/req
} | tee "$res_txt"
printf 'server\treq_per_s\tp50_us\tp99_us\tsock_errors\tnon2xx\trequests\tcpu_us_per_req\tuser_us_per_req\tsys_us_per_req\tir_per_req\n' >"$tsv_tmp"

for r in $servers; do
    if ! run_wrk "$r"; then
        failures=$((failures + 1))
        printf '%-9s %10s\n' "$r" FAIL | tee -a "$res_txt"
        printf '%s\tFAIL\t-\t-\t-\t-\t-\t-\t-\t-\t-\n' "$r" >>"$tsv_tmp"
        continue
    fi
    ir_per_req "$r"
    [ "$ir" != FAIL ] || failures=$((failures + 1))
    # The server's share of one cpu while wrk ran: below 100% it was not
    # what limited req/s.
    busy=$(awk -v c="$cpu_us" -v r="$rps" 'BEGIN { if (c ~ /^[0-9.]+$/) printf "%.0f%%", c * r / 1e4; else print "-" }')
    printf '%-9s %10.0f %8s %8s %6s %6s %10s %8s %8s %8s %6s %8s\n' "$r" "$rps" "$p50" "$p99" "$serr" "$non2xx" \
        "$reqs" "$cpu_us" "$user_us" "$sys_us" "$busy" "$ir" | tee -a "$res_txt"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$rps" "$p50" "$p99" "$serr" "$non2xx" \
        "$reqs" "$cpu_us" "$user_us" "$sys_us" "$ir" >>"$tsv_tmp"
done
mv "$tsv_tmp" "$res_tsv"

# Every server against the floor, in this run.
case " $servers " in *" libev "*)
    {
    echo
    echo "# server / libev (this run); cpu/ngx: CPU per request against nginx's"
    echo "# targets (libfut, -t 1): Ir/req <= 1.3x libev's; CPU per request below nginx's"
    printf '%-9s %8s %8s %8s %8s %8s %10s %10s\n' server req/s cpu_us user_us Ir/req cpu/ngx Ir_ok cpu_ok
    awk -F'\t' '
        NR == 1 { next }
        { s[++n] = $1; rps[$1] = $2; cpu[$1] = $8; usr[$1] = $9; ir[$1] = $11 }
        function r(a, b) { return (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
        END {
            for (i = 1; i <= n; i++) {
                x = s[i]; if (x == "libev") continue
                ri = r(ir[x], ir["libev"]); rn = r(cpu[x], cpu["nginx"])
                iok = "-"; cok = "-"
                if (x == "libfut") {
                    if (ri != "-") iok = ri + 0 <= 1.3 ? "met" : "NOT met"
                    if (rn != "-") cok = rn + 0 < 1 ? "met" : "NOT met"
                }
                printf "%-9s %8s %8s %8s %8s %8s %10s %10s\n", x, r(rps[x], rps["libev"]), r(cpu[x], cpu["libev"]),
                    r(usr[x], usr["libev"]), ri, x == "nginx" ? "-" : rn, iok, cok
            }
        }' "$res_tsv"
    } | tee -a "$res_txt"
    ;;
esac

# Ir per function of a profile, "Ir<TAB>file:function", self or inclusive.
functions() { # file yes|no
    # (inclusive: callgrind_annotate names a function also by its
    # absolute path: kept once, relative to the source tree)
    ${CALLGRIND_ANNOTATE:-callgrind_annotate} --auto=no --threshold=100 --inclusive="$2" "$1" 2>/dev/null |
    awk -v top="$top/" '
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

# Where the instructions per request go: marginal Ir/req by function
# between the N and 2N callgrind profiles, self and inclusive (without
# the frames every request passes through: main, the loop), top 20.
if [ $use_cg = 1 ] && command -v "${CALLGRIND_ANNOTATE:-callgrind_annotate}" >/dev/null 2>&1; then
    for r in libfut libfut-t2 libev; do
        a=$raw/$r.cg.$n.out b=$raw/$r.cg.$n2.out
        [ -f "$a" ] && [ -f "$b" ] || continue
        tot=$(awk -v a="$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$a" | head -n 1)" \
            -v b="$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$b" | head -n 1)" -v n="$n" \
            'BEGIN { printf "%.1f", (b - a) / n }')
        for incl in no yes; do
            functions "$a" $incl >"$tmp/fn.a"
            functions "$b" $incl >"$tmp/fn.b"
            {
            echo
            if [ $incl = no ]; then what=self; else what=inclusive; fi
            echo "# $r: marginal Ir/req by function (total $tot), $what"
            awk -F '\t' -v n="$n" -v t="$tot" '
                FNR == NR { a[$2] += $1; next }
                { b[$2] += $1 }
                END {
                    for (k in b) { d = (b[k] - a[k]) / n
                        if (d >= 0.5 && (t <= 0 || d < 0.97 * t)) printf "%10.1f %6.1f%%  %s\n", d, (t > 0 ? 100 * d / t : 0), k }
                }' "$tmp/fn.a" "$tmp/fn.b" | sort -rn | awk '!seen[$3]++' | head -n 20 | sed 's/^/    /'
            } | tee -a "$res_txt"
        done
    done
fi

echo "# written: $res_txt $res_tsv (raw runs: $raw/)" >&2
if [ $failures != 0 ]; then
    echo "http.sh: $failures run(s) FAILED" >&2
    exit 1
fi
