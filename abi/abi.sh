#!/bin/sh
# SPDX-License-Identifier: MIT
# The ABI check of libfut.so against the committed baseline abi/libfut.abi
# (abigail-tools). Run through make:
#
#   make abi-check     abidw describes the library just built (its exported
#                      functions and the types they reach that the public
#                      headers define), abidiff compares that with the
#                      baseline. Fails on any change but added functions
#                      and variables (those pass, listed) and what
#                      abi/libfut.suppr declares compatible (a member
#                      appended to a struct that grows by contract): a
#                      changed or removed function, a public struct's size
#                      or layout, an enum, a symbol version, the soname.
#   make abi-baseline  regenerates abi/libfut.abi from the library just
#                      built, on purpose: after an intended change, with
#                      -version-info and src/libfut.sym updated to match
#                      (see configure.ac), and committed with them.
#
# The library must carry debug information (the default CFLAGS, -g -O2):
# without it abidw sees symbols but no types. Without abidw or abidiff the
# check is skipped with a message, unless ABI_REQUIRED=1 (CI).
#
# usage: abi.sh check|baseline   (environment: ABIDW, ABIDIFF, top_srcdir,
#                                 top_builddir, ABI_REQUIRED)
set -u
mode=${1:-check}
src=${top_srcdir:-.}
build=${top_builddir:-.}
lib="$build/.libs/libfut.so"
baseline="$src/abi/libfut.abi"
ABIDW=${ABIDW:-abidw}
ABIDIFF=${ABIDIFF:-abidiff}

if ! command -v "$ABIDW" >/dev/null 2>&1 || ! command -v "$ABIDIFF" >/dev/null 2>&1; then
    msg="make abi-$mode: abidw or abidiff not found (Debian: apt-get install abigail-tools)"
    if [ "${ABI_REQUIRED:-0}" = 1 ] || [ "$mode" = baseline ]; then
        echo "$msg" >&2
        exit 1
    fi
    echo "$msg: the ABI check is SKIPPED"
    exit 0
fi
if [ ! -f "$lib" ]; then
    echo "make abi-$mode: $lib not built" >&2
    exit 1
fi
if ! readelf -S "$lib" 2>/dev/null | grep -q '\.debug_info'; then
    echo "make abi-$mode: $lib has no debug information: build it with -g (the default CFLAGS)" >&2
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only what the public headers define counts (--headers-dir with
# --drop-private-types); no paths, line numbers or DT_NEEDED entries, which
# change with the build and not with the ABI; type ids by hash, so that a
# regenerated baseline differs only where the ABI did.
if ! "$ABIDW" --headers-dir "$src/include" --headers-dir "$build/include" \
        --drop-private-types --no-corpus-path --no-comp-dir-path --no-show-locs \
        --no-elf-needed --type-id-style hash --out-file "$tmp/libfut.abi" "$lib"; then
    echo "make abi-$mode: abidw failed on $lib" >&2
    exit 1
fi

if [ "$mode" = baseline ]; then
    if [ -f "$baseline" ]; then
        echo "make abi-baseline: changes from the previous baseline:"
        "$ABIDIFF" "$baseline" "$tmp/libfut.abi" | sed 's/^/  /'
    fi
    cp "$tmp/libfut.abi" "$baseline" || exit 1
    echo "make abi-baseline: wrote $baseline ($(grep -c '<elf-symbol ' "$baseline") symbols); commit it"
    exit 0
fi

if [ ! -f "$baseline" ]; then
    echo "make abi-check: no baseline $baseline (make abi-baseline makes one)" >&2
    exit 1
fi
# Changes the library's contracts make compatible (abi/libfut.suppr).
suppr=
[ -f "$src/abi/libfut.suppr" ] && suppr="--suppressions $src/abi/libfut.suppr"
"$ABIDIFF" $suppr "$baseline" "$tmp/libfut.abi" >"$tmp/report" 2>&1
rc=$?
# abidiff's exit status is a bit mask: 1 error, 2 usage error, 4 the ABI
# changed, 8 the change is incompatible (a removed symbol, ...).
if [ $rc -eq 0 ]; then
    echo "make abi-check: the ABI of $lib matches $baseline${suppr:+ (with abi/libfut.suppr)}"
    exit 0
fi
if [ $((rc & 3)) -ne 0 ]; then
    cat "$tmp/report"
    echo "make abi-check: abidiff failed (exit status $rc)" >&2
    exit 1
fi
if [ $((rc & 8)) -eq 0 ]; then
    # Changed: is it only additions?
    "$ABIDIFF" $suppr --no-added-syms "$baseline" "$tmp/libfut.abi" >/dev/null 2>&1
    if [ $? -eq 0 ]; then
        cat "$tmp/report"
        echo "make abi-check: compatible: only additions to $baseline (listed above);"
        echo "  at release, record them with make abi-baseline (and -version-info age + 1)"
        exit 0
    fi
fi
cat "$tmp/report"
cat >&2 <<MSG
make abi-check: the ABI of $lib differs from $baseline (abidiff exit status $rc).
  An accident: put the interface back.
  On purpose: update -version-info in configure.ac (and src/libfut.sym) by
  its rules, then run make abi-baseline and commit abi/libfut.abi with them.
MSG
exit 1
