#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual (man/*.3, man/libfut.7):
#   1. mandoc -Tlint -Wwarning finds nothing in any page;
#   2. Makefile.am installs every page in man/, and no other;
#   3. every exported function, every public function-like FUT_ macro and
#      every public static inline function is in the NAME section of
#      exactly one page;
#   4. every name in a NAME section is one of those (no page for a
#      function that does not exist);
#   5. every cross-reference to a libfut page (Xr fut_* 3, Xr libfut 7)
#      names an installed page or link, and no link name is also a page;
#   6. every EXAMPLES block that starts with #include compiles, warnings
#      as errors, against the headers of the tree;
#   7. installed into a temporary directory the way make install does it
#      (the pages, then man/links.sh), every link name opens its page:
#      man -M DIR -w fut_drop_async finds a file with fut_drop(3)'s text;
#      uninstalling removes every link.
set -u
top=$(cd "${top_srcdir:-.}" && pwd)
build=$(cd "${top_builddir:-.}" && pwd)
lib="$build/.libs/libfut.so"
links="$top/man/links.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

pages=$(ls "$top"/man/*.3 "$top"/man/*.7)
echo "1..7"

# --- 1. lint -------------------------------------------------------------
if command -v mandoc >/dev/null 2>&1; then
    # mandoc.db lookups of Xr targets are STYLE messages, below -Wwarning.
    if out=$(mandoc -Tlint -Wwarning $pages 2>&1); then
        echo "ok 1 - mandoc -Tlint -Wwarning is clean on $(echo "$pages" | wc -w) pages"
    else
        echo "not ok 1 - mandoc -Tlint -Wwarning is clean"
        echo "$out" | sed 's/^/# /'
    fi
else
    echo "ok 1 # SKIP mandoc not installed (Debian: apt-get install mandoc)"
fi

# --- 2. Makefile.am lists every page ---------------------------------------
listed=$(sed -n '/^dist_man[37]_MANS *=/,/[^\\]$/p' "$top/Makefile.am" |
    tr ' \t\\' '\n\n\n' | grep '^man/.*\.[37]$' | sort)
present=$(cd "$top" && ls man/*.3 man/*.7 | sort)
if [ "$listed" = "$present" ]; then
    echo "ok 2 - Makefile.am installs every page of man/"
else
    echo "not ok 2 - Makefile.am installs every page of man/"
    printf '%s\n' $listed >"$tmp/listed"
    printf '%s\n' $present >"$tmp/present"
    comm -13 "$tmp/listed" "$tmp/present" | grep . | sed 's/^/# not in dist_man*_MANS: /'
    comm -23 "$tmp/listed" "$tmp/present" | grep . | sed 's/^/# listed, no such file: /'
fi

# --- 3, 4. names ------------------------------------------------------------
# name page, for every .Nm of every NAME section
for p in $pages; do
    awk -v page="$(basename "$p")" '/^\.Sh / { in_name = ($2 == "NAME"); next }
        in_name && /^\.Nm / { print $2, page }' "$p"
done | sort >"$tmp/named"
cut -d' ' -f1 "$tmp/named" | grep -v '^libfut$' | sort >"$tmp/names"
# What the public headers offer besides exported symbols: function-like
# FUT_ macros and static inline functions (FUT__/fut__ are private).
# (<fut/version.h> is generated: its .h.in in the source tree, the header
# in the build tree.)
cat "$top"/include/fut.h "$top"/include/fut/*.h $(ls "$top"/include/fut/*.h.in "$build"/include/fut/*.h 2>/dev/null) |
    sed -n 's/^#define \(FUT_[A-Z0-9][A-Z0-9_]*\)(.*/\1/p; s/^static inline [^(]*[ *]\(fut_[a-z0-9][a-z0-9_]*\)(.*/\1/p' |
    grep -v '^FUT__\|^fut__' | sort -u >"$tmp/header-names"
if [ -f "$lib" ]; then
    # (With a version script the names read fut_x@@LIBFUT_0.2.)
    nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep '^fut_[^_]' |
        sort -u >"$tmp/exported"
    sort -u "$tmp/exported" "$tmp/header-names" >"$tmp/public"
    missing=$(comm -23 "$tmp/public" "$tmp/names")
    dups=$(uniq -d "$tmp/names")
    if [ -z "$missing" ] && [ -z "$dups" ]; then
        echo "ok 3 - each of $(wc -l <"$tmp/exported") exported functions and $(wc -l <"$tmp/header-names") header macros and inlines is named by exactly one page"
    else
        echo "not ok 3 - each public function is named by exactly one page"
        [ -z "$missing" ] || echo "$missing" | sed 's/^/# no page: /'
        for d in $dups; do
            echo "# on several pages: $d ($(grep "^$d " "$tmp/named" | cut -d' ' -f2 | tr '\n' ' '))"
        done
    fi
    unknown=$(comm -13 "$tmp/public" "$tmp/names" | sort -u)
    if [ -z "$unknown" ]; then
        echo "ok 4 - every name in a NAME section exists"
    else
        echo "not ok 4 - every name in a NAME section exists"
        echo "$unknown" | sed 's/^/# neither exported nor in a header: /'
    fi
else
    echo "not ok 3 - $lib exists (build the library first)"
    echo "ok 4 # SKIP no library"
fi

# --- 5. cross-references ----------------------------------------------------
sh "$links" names $pages >"$tmp/links"
{ cut -d' ' -f1 "$tmp/links"; for p in $pages; do basename "$p"; done; } | sort -u >"$tmp/installed"
grep -h '^\.Xr \(fut_\|FUT_\|libfut \)' $pages |
    awk '{ print $2 "." $3 }' | sort -u >"$tmp/xrefs"
dangling=$(comm -23 "$tmp/xrefs" "$tmp/installed")
cut -d' ' -f1 "$tmp/links" | sort >"$tmp/linknames"
clash=$(for p in $pages; do basename "$p"; done | sort | comm -12 - "$tmp/linknames")
if [ -z "$dangling" ] && [ -z "$clash" ]; then
    echo "ok 5 - every cross-reference resolves ($(wc -l <"$tmp/xrefs") targets)"
else
    echo "not ok 5 - every cross-reference resolves"
    [ -z "$dangling" ] || echo "$dangling" | sed 's/^/# no such page or link: /'
    [ -z "$clash" ] || echo "$clash" | sed 's/^/# a link name that is also a page: /'
fi

# --- 6. examples compile --------------------------------------------------------
cc=${CC:-cc}
if command -v "${cc%% *}" >/dev/null 2>&1; then
    nblocks=0
    bad=
    for p in $pages; do
        # Each literal block of EXAMPLES that starts with #include, with
        # mdoc's escapes undone (\e is a backslash, \& a zero-width space).
        awk -v dir="$tmp" -v base="$(basename "$p")" '
            /^\.Sh / { in_ex = ($2 == "EXAMPLES"); next }
            in_ex && /^\.Bd -literal/ { blk = 1; n++; first = 1; next }
            blk && /^\.Ed/ { blk = 0; if (file) close(file); file = ""; next }
            blk {
                if (first) { first = 0; if ($0 !~ /^#include/) { blk = 0; next }
                             file = dir "/" base "-" n ".c" }
                line = $0; gsub(/\\e/, "\\", line); gsub(/\\&/, "", line)
                print line > file
            }' "$p"
    done
    for c in "$tmp"/*.c; do
        [ -f "$c" ] || continue
        nblocks=$((nblocks + 1))
        if ! $cc -std=gnu11 -Wall -Wextra -Werror -I"$top/include" -I"$build/include" -c -o "$tmp/ex.o" "$c" \
            >"$tmp/cc.out" 2>&1; then
            bad="$bad $(basename "$c" .c)"
            grep -m 3 'error' "$tmp/cc.out" | sed "s|^|# |"
        fi
    done
    if [ -z "$bad" ]; then
        echo "ok 6 - the $nblocks examples compile with $cc -Wall -Wextra -Werror"
    else
        echo "not ok 6 - the examples compile:$bad"
    fi
else
    echo "ok 6 # SKIP no C compiler ($cc)"
fi

# --- 7. install, link names, uninstall ----------------------------------------------
dest="$tmp/share/man"
mkdir -p "$dest/man3" "$dest/man7"
for p in $pages; do
    case $p in
    *.3) cp "$p" "$dest/man3/" ;;
    *.7) cp "$p" "$dest/man7/" ;;
    esac
done
man3=$(ls "$top"/man/*.3)
err=
if ! sh "$links" install "$dest/man3" $man3; then
    err="links.sh install failed"
else
    # Every link opens the text of its page.
    while read -r link page; do
        cmp -s "$dest/man3/$link" "$top/man/$page" || err="$err $link"
    done <"$tmp/links"
    if [ -z "$err" ] && command -v man >/dev/null 2>&1; then
        found=$(MANPATH= man -M "$dest" -w fut_drop_async 2>&1)
        # man-db prints the link's target, other man(1)s the link itself.
        case $found in
        "$dest"/man3/*) cmp -s "$found" "$top/man/fut_drop.3" || err="man -w: $found is not fut_drop(3)" ;;
        *) err="man -M $dest -w fut_drop_async: $found" ;;
        esac
    fi
    if [ -z "$err" ]; then
        sh "$links" uninstall "$dest/man3" $man3
        (cd "$top/man" && ls *.3) | sort >"$tmp/p3"
        left=$(cd "$dest/man3" && ls | sort | comm -23 - "$tmp/p3")
        [ -z "$left" ] || err="left after uninstall: $(echo $left | cut -c1-300)"
    fi
fi
if [ -z "$err" ]; then
    echo "ok 7 - installed, the $(wc -l <"$tmp/links") link names open their pages (man -w fut_drop_async), and uninstall removes them"
else
    echo "not ok 7 - installed link names open their pages"
    echo "# $err"
fi
exit 0
