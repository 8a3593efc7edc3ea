#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's install section, followed as written against an installed
# prefix (make installcheck runs this after make install): app.c is the
# README's, and the private-prefix commands run verbatim but their first
# two lines (prefix=..., then configure, make and make install, which the
# caller did already), with prefix set to where the library went.
#
# usage: readme-install.sh PREFIX LIBDIR README
set -eu
prefix=$1
libdir=$2
readme=$3
if [ "$libdir" != "$prefix/lib" ]; then
    echo "readme-install.sh: SKIPPED: libdir $libdir is not \$prefix/lib, as the README's commands assume"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The fenced block after a marker line, without its fences.
block() { # marker
    awk -v m="$1" 'index($0, m) == 1 { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$readme"
}
block '<!-- README app.c' >"$tmp/app.c"
block '<!-- README install' >"$tmp/install.sh"
if [ ! -s "$tmp/app.c" ] || [ "$(wc -l <"$tmp/install.sh")" -lt 3 ]; then
    echo "readme-install.sh: the README's app.c or install commands were not found after their markers" >&2
    exit 1
fi
echo "readme-install.sh: the README's commands, with prefix=$prefix:"
tail -n +3 "$tmp/install.sh" | sed 's/^/  /'
out=$(cd "$tmp" && prefix=$prefix && export prefix && unset PKG_CONFIG_PATH LD_LIBRARY_PATH &&
      tail -n +3 install.sh | sh -ex)
echo "$out"
version=$(sed -n 's/^#define FUT_VERSION_STRING "\(.*\)"$/\1/p' "$prefix/include/fut/version.h")
case $out in
*"libfut $version (headers $version): slept 100 ms, out = 0"*) echo "readme-install.sh: ok" ;;
*) echo "readme-install.sh: ./app did not print what app.c should (libfut $version)" >&2; exit 1 ;;
esac
