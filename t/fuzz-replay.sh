#!/bin/sh
# SPDX-License-Identifier: MIT
# Replays the cancellation fuzzer's committed corpus (fuzz/corpus) through
# fuzz/replay, the fuzz target built with the tree's compiler: every input
# must run to its end with the invariants holding (a violation aborts).
# Skips when the corpus or the binary is absent. fuzz/crashes is not
# replayed: it holds reproducers of open bugs.
set -u
corpus="${top_srcdir:-.}/fuzz/corpus"
bin="${top_builddir:-.}/fuzz/replay"
echo "1..1"
if [ ! -d "$corpus" ] || [ ! -x "$bin" ]; then
    echo "ok 1 # SKIP no corpus or no fuzz/replay"
    exit 0
fi
n=$(find "$corpus" -type f | wc -l)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if "$bin" -v "$corpus" >"$log" 2>&1; then
    echo "ok 1 - the $n corpus inputs replay with every invariant holding"
else
    echo "not ok 1 - corpus replay failed"
    tail -20 "$log" | sed 's/^/# /'
fi
