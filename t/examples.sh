#!/bin/sh
# SPDX-License-Identifier: MIT
# The examples run: pipeline sorts its jobs, and tears down cleanly on
# SIGINT midway; eyeballs' race closes the loser before it returns, and
# fetch gets a page from examples/http, reports a refused port, gives up
# on a silent server at its -T deadline, and rejects bad URLs; dump shows
# a task in each state, at start and on SIGUSR1, and so does http on
# SIGUSR1 while it serves on. Loopback only; every
# step bounded by timeout(1).
set -u
b="${top_builddir:-.}/examples"
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for f in "$@"; do sed 's/^/# /' "$f"; done; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_for FILE TEXT PID: until TEXT shows in FILE (2 s at most); 1 if PID died.
wait_for() {
    i=0
    while [ $i -lt 40 ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.05
        i=$((i + 1))
    done
    return 1
}

echo "1..15"

# --- eyeballs -------------------------------------------------------------
timeout 10 "$b/eyeballs" >"$tmp/eye" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok "eyeballs exits 0"; else notok "eyeballs exits 0 (got $rc)" "$tmp/eye"; fi
closed=$(grep -n 'lost, socket closed' "$tmp/eye" | head -1 | cut -d: -f1)
conn=$(grep -n 'race: connected' "$tmp/eye" | head -1 | cut -d: -f1)
won=$(grep -n '(fast, .*): won' "$tmp/eye" | head -1 | cut -d: -f1)
if [ -n "$closed" ] && [ -n "$conn" ] && [ -n "$won" ] && [ "$won" -lt "$closed" ] &&
    [ "$closed" -lt "$conn" ]; then
    ok "eyeballs: the fast attempt won, the loser was closed before the race returned"
else
    notok "eyeballs: won < loser closed < connected (lines $won, $closed, $conn)" "$tmp/eye"
fi
if grep -q 'client: reply "hello"' "$tmp/eye" && grep -q 'closed: 2 gracefully, 0 aborted' "$tmp/eye"; then
    ok "eyeballs: hello echoed over the winner, both ends closed gracefully"
else
    notok "eyeballs: hello echoed, both ends closed gracefully" "$tmp/eye"
fi

# --- fetch against examples/http -------------------------------------------
port=$((20000 + $$ % 20000))
hpid=""
for try in 1 2 3 4 5 6 7 8 9 10; do
    port=$((port + 7))
    timeout 60 "$b/http" "127.0.0.1:$port" >"$tmp/http" 2>&1 &
    hpid=$!
    pids="$pids $hpid"
    wait_for "$tmp/http" "listening on" $hpid && break
    kill $hpid 2>/dev/null
    hpid=""
done
if [ -z "$hpid" ]; then
    for t in "fetch from examples/http" "fetch via localhost" "fetch a 404" "http on SIGUSR1" \
        "http exits 0 on SIGTERM"; do
        notok "$t (examples/http did not start)" "$tmp/http"
    done
else
    timeout 10 "$b/fetch" "http://127.0.0.1:$port/" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = hello ] && grep -q '200 OK' "$tmp/err"; then
        ok "fetch from examples/http: body hello, exit 0"
    else
        notok "fetch from examples/http: body hello, exit 0 (got $rc)" "$tmp/out" "$tmp/err"
    fi
    timeout 10 "$b/fetch" -v "http://localhost:$port/" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 0 ] && [ "$(cat "$tmp/out")" = hello ] && grep -q resolved "$tmp/err"; then
        ok "fetch via localhost (a name, resolved): body hello, exit 0"
    else
        notok "fetch via localhost: body hello, exit 0 (got $rc)" "$tmp/out" "$tmp/err"
    fi
    timeout 10 "$b/fetch" "http://127.0.0.1:$port/nope" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 1 ] && grep -q '404 Not Found' "$tmp/err"; then
        ok "fetch a 404: exit 1"
    else
        notok "fetch a 404: exit 1 (got $rc)" "$tmp/out" "$tmp/err"
    fi
    # SIGUSR1: the runtime's dump on stderr, and it serves on; SIGTERM
    # still ends it cleanly.
    spid=$(sed -n 's/^http: listening on .*, pid \([0-9]*\)$/\1/p' "$tmp/http")
    kill -USR1 "${spid:-$hpid}"
    if ! command -v curl >/dev/null 2>&1; then
        skip "curl not found: http on SIGUSR1"
    elif wait_for "$tmp/http" '^end tasks=' $hpid &&
        grep -q '^task .*state=running .*name=dumper' "$tmp/http" &&
        [ "$(timeout 10 curl -s "http://127.0.0.1:$port/")" = hello ] &&
        [ "$(timeout 10 curl -s "http://127.0.0.1:$port/")" = hello ]; then
        ok "http: SIGUSR1 dumps the runtime to stderr, then serves curl on"
    else
        notok "http: SIGUSR1 dumps the runtime to stderr, then serves curl on" "$tmp/http"
    fi
    # Stopped, its port is one where nothing listens. The signal goes to
    # the server itself: timeout(1) would pass it on to its whole process
    # group as well, and a second SIGTERM after the first one's waiter is
    # gone kills the server (as a second Ctrl-C does, on purpose).
    kill "${spid:-$hpid}" 2>/dev/null
    wait $hpid 2>/dev/null
    rc=$?
    if [ $rc -eq 0 ] && grep -q 'requests on' "$tmp/http"; then
        ok "http: exits 0 on SIGTERM"
    else
        notok "http: exits 0 on SIGTERM (got $rc)" "$tmp/http"
    fi
fi

# --- a refused port -----------------------------------------------------------
timeout 10 "$b/fetch" "http://127.0.0.1:$port/" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && grep -qi refused "$tmp/err"; then
    ok "fetch of a refused port: exit 1, says refused"
else
    notok "fetch of a refused port: exit 1, says refused (got $rc)" "$tmp/err"
fi

# --- a silent server: the -T deadline ------------------------------------------
if ! command -v socat >/dev/null 2>&1; then
    skip "socat not found: no silent server for the -T deadline"
else
    spid=""
    for try in 1 2 3 4 5 6 7 8 9 10; do
        port=$((port + 7))
        timeout 30 socat -d -d "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" EXEC:"sleep 3" \
            >"$tmp/socat" 2>&1 &
        spid=$!
        pids="$pids $spid"
        wait_for "$tmp/socat" "listening on" $spid && break
        kill $spid 2>/dev/null
        spid=""
    done
    if [ -z "$spid" ]; then
        notok "fetch -T 0.3 of a silent server (socat did not start)" "$tmp/socat"
    else
        t0=$(ms)
        timeout 10 "$b/fetch" -T 0.3 "http://127.0.0.1:$port/" >"$tmp/out" 2>"$tmp/err"
        rc=$?
        el=$(($(ms) - t0))
        if [ $rc -eq 1 ] && [ $el -lt 1500 ] && grep -q 'timed out' "$tmp/err"; then
            ok "fetch -T 0.3 of a silent server: timed out in $el ms, exit 1"
        else
            notok "fetch -T 0.3 of a silent server: timed out within 1.5 s, exit 1 (got $rc in $el ms)" "$tmp/err"
        fi
        kill $spid 2>/dev/null
    fi
fi

# --- bad URLs ---------------------------------------------------------------------
bad=""
for u in https://127.0.0.1/ 127.0.0.1:80 http:// http:///x http://:80/ http://h:0/ \
    http://h:65536/ http://h:8x/ "http://[::1/"; do
    timeout 5 "$b/fetch" "$u" >"$tmp/out" 2>>"$tmp/bad"
    rc=$?
    [ $rc -eq 2 ] || bad="$bad $u($rc)"
done
if [ -z "$bad" ]; then
    ok "fetch of bad URLs: exit 2"
else
    notok "fetch of bad URLs: exit 2; not for:$bad" "$tmp/bad"
fi

# --- pipeline --------------------------------------------------------------------
timeout 20 "$b/pipeline" 60 >"$tmp/pl.out" 2>"$tmp/pl.err"
rc=$?
if [ $rc -eq 0 ] && [ "$(wc -l <"$tmp/pl.out")" -eq 60 ] && sort -n -c "$tmp/pl.out" 2>/dev/null &&
    grep -q '60 jobs worked, 60 lines sorted, sort exited 0' "$tmp/pl.err"; then
    ok "pipeline: 60 jobs through the workers and sort, in order"
else
    notok "pipeline: 60 jobs sorted (exit $rc)" "$tmp/pl.err"
fi
"$b/pipeline" 400 >"$tmp/pl.out" 2>"$tmp/pl.err" & # not under timeout(1): the SIGINT is for it
ppid=$!
pids="$pids $ppid"
(sleep 20; kill -9 "$ppid") >/dev/null 2>&1 & # a watchdog
wpid=$!
pids="$pids $wpid"
sleep 0.6
kill -INT "$ppid"
wait "$ppid"
rc=$?
kill "$wpid" 2>/dev/null
spid=$(sed -n 's/.*sort is pid \([0-9]*\).*/\1/p' "$tmp/pl.err")
if [ $rc -eq 0 ] && grep -q 'interrupted after' "$tmp/pl.err" &&
    grep -q 'sort terminated and reaped' "$tmp/pl.err" &&
    grep -q '[1-9][0-9]* queued jobs released' "$tmp/pl.err" &&
    [ -n "$spid" ] && ! kill -0 "$spid" 2>/dev/null; then
    ok "pipeline: SIGINT midway: queued jobs released, sort terminated and reaped, exit 0"
else
    notok "pipeline: SIGINT midway (exit $rc, sort pid '$spid')" "$tmp/pl.err"
fi
# --- dump ---------------------------------------------------------------------
timeout 10 "$b/dump" -once 2>"$tmp/dump" >/dev/null
rc=$?
if [ $rc -eq 0 ] && grep -q '^task .*state=parked phase=run .*name=sleeper' "$tmp/dump" &&
    grep -q '^task .*state=frozen .*name=nester .*awaits=quit' "$tmp/dump" &&
    grep -q '^task .*state=running .*name=dumper' "$tmp/dump" &&
    grep -q '^teardown .*name=slow_close .*budget_left=' "$tmp/dump" &&
    grep -q '^frame depth=2 name=quit ' "$tmp/dump" &&
    grep -q '^end tasks=4 teardowns=1 frames=2$' "$tmp/dump"; then
    ok "dump -once: parked, frozen, running, a pending teardown, two loops"
else
    notok "dump -once (exit $rc)" "$tmp/dump"
fi
"$b/dump" 2>"$tmp/dump2" >/dev/null &
dpid=$!
pids="$pids $dpid"
if wait_for "$tmp/dump2" '^end tasks=4' "$dpid"; then
    kill -USR1 "$dpid"
    wait_for "$tmp/dump2" '^--- SIGUSR1' "$dpid"
    sleep 0.1
    kill -INT "$dpid"
fi
wait "$dpid"
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c '^end tasks=4 teardowns=1 frames=2$' "$tmp/dump2")" -eq 2 ]; then
    ok "dump: dumps again on SIGUSR1, exits 0 on SIGINT"
else
    notok "dump: SIGUSR1 then SIGINT (exit $rc)" "$tmp/dump2"
fi
exit 0
