#!/bin/sh
# SPDX-License-Identifier: MIT
# docs/tutorial.md cannot rot: its code blocks are the programs. A fenced
# block whose info string has file=NAME is appended to NAME (several
# blocks of one file are concatenated in order); one with output=NAME is
# the expected standard output of the program NAME (NAME.c). Each
# program is compiled against the in-tree headers and library with
# -Werror -Wall -Wextra, run under timeout(1), and its output compared;
# standard error must stay empty and the exit status be 0. A program
# whose name ends in -server is run with an address and exercised by
# real clients (nc, socat; loopback only), then stopped with SIGINT.
# FUT_SEED is unset: the outputs shown are those of the default FIFO
# scheduling order.
set -u
unset FUT_SEED
top_srcdir=${top_srcdir:-${srcdir:-.}}
top_builddir=${top_builddir:-.}
doc="$top_srcdir/docs/tutorial.md"
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() {
    n=$((n + 1))
    echo "not ok $n - $1"
    shift
    for f in "$@"; do [ -s "$f" ] && sed 's/^/# /' "$f"; done
    return 0
}
have() { command -v "$1" >/dev/null 2>&1; }

if [ ! -r "$doc" ]; then
    echo "1..1"
    echo "not ok 1 - $doc is readable"
    exit 0
fi

# Extract. Names are relative and may not climb out of the directory.
mkdir "$tmp/src"
awk -v dir="$tmp/src" '
    function bad(msg) { print "tutorial.md:" NR ": " msg > "/dev/stderr"; err = 1 }
    !inblk && /^```/ {
        inblk = 1; target = ""
        if (match($0, /(file|output)=[^ ]+/)) {
            kv = substr($0, RSTART, RLENGTH)
            eq = index(kv, "=")
            kind = substr(kv, 1, eq - 1); name = substr(kv, eq + 1)
            if (name ~ /^\// || name ~ /(^|\/)\.\.(\/|$)/) { bad("bad name " name); next }
            target = dir "/" name (kind == "output" ? ".expected" : "")
            d = target; sub(/\/[^\/]*$/, "", d)
            system("mkdir -p \"" d "\"")
            if (kind == "output" && seen[target]++) bad("two outputs for " name)
            printf "" >> target
        }
        next
    }
    inblk && /^```[ \t]*$/ { inblk = 0; if (target != "") close(target); next }
    inblk && target != "" { print >> target }
    END { if (inblk) bad("unclosed code block"); exit err }
' "$doc" 2>"$tmp/extract.err"
extract_rc=$?

progs=$(cd "$tmp/src" && find . -name '*.c' | sed 's|^\./||' | sort)
progs=$(echo $progs)
outs=$(cd "$tmp/src" && find . -name '*.expected' | sed 's|^\./||; s|\.expected$||' | sort)
outs=$(echo $outs)
nprogs=$(echo $progs | wc -w)
nservers=$(for p in $progs; do case $p in *-server.c) echo "$p" ;; esac; done | wc -w)
# extraction, then per program: compile, run; per server: 4 more checks
echo "1..$((1 + 2 * nprogs + 4 * nservers))"

missing=""
for p in $progs; do
    case " $outs " in *" ${p%.c} "*) ;; *) missing="$missing ${p%.c}" ;; esac
done
orphans=""
for o in $outs; do
    [ -f "$tmp/src/$o.c" ] || orphans="$orphans $o"
done
if [ $extract_rc -eq 0 ] && [ "$nprogs" -ge 7 ] && [ -z "$missing" ] && [ -z "$orphans" ]; then
    ok "extracted $nprogs programs from docs/tutorial.md, each with its expected output"
else
    echo "# programs: $progs" >"$tmp/why"
    [ -n "$missing" ] && echo "# no output block for:$missing" >>"$tmp/why"
    [ -n "$orphans" ] && echo "# output block without a program:$orphans" >>"$tmp/why"
    notok "extracted the programs of docs/tutorial.md (at least 7, each with its output)" \
        "$tmp/extract.err" "$tmp/why"
fi

cc=${CC:-cc}
lt="$top_builddir/libtool"
la="$top_builddir/libfut.la"

# run_server BIN NAME: the server scenario. Sets $rc and fills $tmp/NAME.out.
run_server() {
    bin=$1
    sname=$2
    if ! have nc || ! have socat; then
        return 2
    fi
    port=""
    for try in 1 2 3 4 5; do
        port=$((20000 + ($$ * 7 + try * 131) % 30000))
        # timeout(1) passes the SIGINT it gets on to the server; with
        # --foreground only to it, not a second time to its process group
        # (a second SIGINT, once the server stopped waiting for one, would
        # end it at once: that is what it is for)
        timeout --foreground 20 "$bin" "127.0.0.1:$port" >"$tmp/$sname.out" 2>"$tmp/$sname.err" </dev/null &
        spid=$!
        pids="$pids $spid"
        i=0
        while ! grep -q "^listening" "$tmp/$sname.out" 2>/dev/null; do
            kill -0 $spid 2>/dev/null || break
            i=$((i + 1))
            [ $i -gt 100 ] && break
            sleep 0.05
        done
        grep -q "^listening" "$tmp/$sname.out" 2>/dev/null && break
        kill $spid 2>/dev/null
        wait $spid 2>/dev/null
        spid=""
    done
    [ -n "$spid" ] || return 1
    # 1. a client that sends two lines and half-closes (nc -N)
    printf 'hello\nworld\n' | timeout 10 nc -N 127.0.0.1 "$port" >"$tmp/c1" 2>&1
    c1rc=$?
    # 2. a client that sends one line and stays connected until the
    #    server's graceful close ends the session: its stdin is a fifo
    #    kept open, so only the server's FIN makes socat exit
    mkfifo "$tmp/fifo"
    timeout 20 socat - "TCP:127.0.0.1:$port" <"$tmp/fifo" >"$tmp/c2" 2>&1 &
    c2pid=$!
    pids="$pids $c2pid"
    exec 3>"$tmp/fifo"
    printf 'still here\n' >&3
    i=0
    while ! grep -q "STILL HERE" "$tmp/c2" 2>/dev/null && [ $i -lt 100 ]; do
        i=$((i + 1))
        sleep 0.05
    done
    t0=$(date +%s%N)
    kill -INT $spid
    wait $spid
    rc=$?
    wait $c2pid
    c2rc=$?
    exec 3>&-
    t1=$(date +%s%N)
    stop_ms=$(((t1 - t0) / 1000000))
    # the port in the output is this run's: show it as the tutorial's
    sed "s/127\.0\.0\.1:$port\$/127.0.0.1:7000/" "$tmp/$sname.out" >"$tmp/$sname.norm"
    mv "$tmp/$sname.norm" "$tmp/$sname.out"
    return 0
}

for p in $progs; do
    name=${p%.c}
    bin="$tmp/bin/$(echo "$name" | tr / _)"
    mkdir -p "$tmp/bin"
    if $lt --mode=link --tag=CC $cc ${CFLAGS:-} -std=gnu11 -Werror -Wall -Wextra \
        -I"$top_builddir/include" -I"$top_srcdir/include" -o "$bin" "$tmp/src/$p" "$la" \
        >"$tmp/cc.log" 2>&1; then
        ok "$p compiles (-Werror -Wall -Wextra)"
    else
        notok "$p compiles (-Werror -Wall -Wextra)" "$tmp/cc.log"
        n=$((n + 1)); echo "not ok $n - $name runs (not built)"
        case $p in *-server.c) for i in 1 2 3 4; do n=$((n + 1)); echo "not ok $n - $name: not built"; done ;; esac
        continue
    fi
    case $p in
    *-server.c)
        run_server "$bin" "$(basename "$name")"
        src=$?
        base=$(basename "$name")
        if [ $src -eq 2 ]; then
            for i in 1 2 3 4 5; do n=$((n + 1)); echo "ok $n # SKIP $name: nc and socat needed"; done
            continue
        fi
        if [ $src -ne 0 ]; then
            notok "$name starts and listens" "$tmp/$base.out" "$tmp/$base.err"
            for i in 1 2 3 4; do n=$((n + 1)); echo "not ok $n - $name: did not start"; done
            continue
        fi
        printf 'HELLO\nWORLD\n' >"$tmp/want1"
        if [ $c1rc -eq 0 ] && cmp -s "$tmp/want1" "$tmp/c1"; then
            ok "$name: nc -N gets its two lines back, upper-cased, then end of file"
        else
            notok "$name: nc -N gets its two lines back (nc exit $c1rc)" "$tmp/c1"
        fi
        printf 'STILL HERE\n' >"$tmp/want2"
        if cmp -s "$tmp/want2" "$tmp/c2"; then
            ok "$name: a connected socat client got its reply"
        else
            notok "$name: a connected socat client got its reply" "$tmp/c2"
        fi
        if [ $c2rc -eq 0 ] && [ $stop_ms -lt 5000 ]; then
            ok "$name: on SIGINT the open connection was closed (socat saw end of file; ${stop_ms} ms)"
        else
            notok "$name: on SIGINT the open connection was closed (socat exit $c2rc, ${stop_ms} ms)" "$tmp/c2"
        fi
        if [ $rc -eq 0 ] && [ ! -s "$tmp/$base.err" ]; then
            ok "$name: exits 0 after SIGINT, nothing on stderr"
        else
            notok "$name: exits 0 after SIGINT, nothing on stderr (exit $rc)" "$tmp/$base.err"
        fi
        if cmp -s "$tmp/src/$name.expected" "$tmp/$base.out"; then
            ok "$name: prints what the tutorial shows (both connections closed gracefully)"
        else
            diff -u "$tmp/src/$name.expected" "$tmp/$base.out" >"$tmp/diff"
            notok "$name: prints what the tutorial shows" "$tmp/diff"
        fi
        ;;
    *)
        timeout 10 "$bin" >"$tmp/out" 2>"$tmp/err" </dev/null
        rc=$?
        if [ $rc -eq 0 ] && [ ! -s "$tmp/err" ] && cmp -s "$tmp/src/$name.expected" "$tmp/out"; then
            ok "$name runs, exits 0, prints what the tutorial shows"
        else
            diff -u "$tmp/src/$name.expected" "$tmp/out" >"$tmp/diff"
            echo "exit status $rc" >"$tmp/rc"
            notok "$name runs, exits 0, prints what the tutorial shows" "$tmp/rc" "$tmp/diff" "$tmp/err"
        fi
        ;;
    esac
done
exit 0
