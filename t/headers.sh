#!/bin/sh
# SPDX-License-Identifier: MIT
# Each public header compiles alone, pedantic C11 and C++.
set -u
hdrs="fut.h fut/future.h fut/rt.h fut/time.h fut/io.h fut/fd.h fut/scope.h fut/combine.h fut/coro.h fut/pool.h fut/uring.h fut/net.h fut/signal.h fut/process.h fut/sync.h fut/chan.h"
inc="${top_srcdir:-.}/include"
n=0
fail=0
total=$(( $(echo $hdrs | wc -w) * 2 ))
echo "1..$total"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for h in $hdrs; do
    printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$h" "$h" >"$tmp/t.c"
    n=$((n + 1))
    if ${CC:-cc} -std=c11 -pedantic-errors -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
        echo "ok $n - $h alone, C11 pedantic"
    else
        echo "not ok $n - $h alone, C11 pedantic"; sed 's/^/# /' "$tmp/err"; fail=1
    fi
    cp "$tmp/t.c" "$tmp/t.cc"
    n=$((n + 1))
    if ${CXX:-c++} -std=c++11 -pedantic-errors -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.cc" -o "$tmp/t.o" 2>"$tmp/err"; then
        echo "ok $n - $h alone, C++"
    else
        echo "not ok $n - $h alone, C++"; sed 's/^/# /' "$tmp/err"; fail=1
    fi
done
exit 0
