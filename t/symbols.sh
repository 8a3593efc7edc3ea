#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library exports fut_* names and nothing else, and (where the
# linker took src/libfut.sym) every one of them under a LIBFUT_ version
# node, each node of the script defined in the library.
set -u
lib="${top_builddir:-.}/.libs/libfut.so"
map="${top_srcdir:-.}/src/libfut.sym"
echo "1..4"
if [ ! -f "$lib" ]; then
    echo "not ok 1 - $lib exists"
    echo "ok 2 # SKIP no library"; echo "ok 3 # SKIP no library"; echo "ok 4 # SKIP no library"
    exit 0
fi
echo "ok 1 - $lib exists"
bad=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^fut_[^_]' | grep -v '^_\(init\|fini\|edata\|end\|_bss_start\)$' |
    grep -v '^LIBFUT_[0-9.]*$' || true)
if [ -z "$bad" ]; then
    echo "ok 2 - only fut_ symbols exported"
else
    echo "not ok 2 - only fut_ symbols exported"
    echo "$bad" | sed 's/^/# unexpected: /'
fi
if [ "${LD_VERSION_SCRIPT:-yes}" = no ]; then
    echo "ok 3 # SKIP the linker takes no version script (configure)"
    echo "ok 4 # SKIP the linker takes no version script (configure)"
    exit 0
fi
if ! command -v objdump >/dev/null 2>&1 || ! command -v readelf >/dev/null 2>&1; then
    echo "ok 3 # SKIP no objdump or readelf (binutils)"
    echo "ok 4 # SKIP no objdump or readelf (binutils)"
    exit 0
fi
# objdump -T: address, flags, section, size, version, name; a version in
# parentheses is hidden, "Base" or none is unversioned.
dyn=$(objdump -T "$lib" | awk '$NF ~ /^fut_/ && $0 !~ /\*UND\*/ {print $(NF-1), $NF}')
n=$(printf '%s\n' "$dyn" | grep -c . || true)
unversioned=$(printf '%s\n' "$dyn" | grep -v '^LIBFUT_[0-9][0-9.]* ' || true)
if [ "$n" -gt 0 ] && [ -z "$unversioned" ]; then
    echo "ok 3 - all $n exported fut_ symbols carry a LIBFUT_ version node"
else
    echo "not ok 3 - all exported fut_ symbols carry a LIBFUT_ version node ($n found)"
    printf '%s\n' "$unversioned" | sed 's/^/# not versioned: /'
fi
defined=$(readelf -V "$lib" | sed -n '/Version definition section/,/Version needs section/p' |
    sed -n 's/.*Name: \(LIBFUT_[0-9.]*\).*/\1/p' | sort -u)
nodes=$(sed -n 's/^\(LIBFUT_[0-9.]*\)[ {].*/\1/p' "$map" | sort -u)
if [ -n "$nodes" ] && [ "$defined" = "$nodes" ]; then
    echo "ok 4 - the library defines the version nodes of src/libfut.sym:" $nodes
else
    echo "not ok 4 - the library defines the version nodes of src/libfut.sym"
    echo "# in src/libfut.sym:" $nodes
    echo "# in the library:" $defined
fi
