#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library exports fut_* names and nothing else.
set -u
lib="${top_builddir:-.}/.libs/libfut.so"
echo "1..2"
if [ ! -f "$lib" ]; then
    echo "not ok 1 - $lib exists"; echo "ok 2 # SKIP no library"; exit 0
fi
echo "ok 1 - $lib exists"
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^fut_[^_]' | grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' || true)
if [ -z "$bad" ]; then
    echo "ok 2 - only fut_ symbols exported"
else
    echo "not ok 2 - only fut_ symbols exported"
    echo "$bad" | sed 's/^/# unexpected: /'
fi
