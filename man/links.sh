#!/bin/sh
# SPDX-License-Identifier: MIT
# The link names of the manual: every name in the NAME section of a page
# (its .Nm lines) other than the page's own gets a symbolic link to the
# page, so that `man fut_drop_async` opens fut_drop(3).
#
#   links.sh names PAGE...            print "name page" for each link
#   links.sh install DIR PAGE...      create the links in DIR (man3, man7)
#   links.sh uninstall DIR PAGE...    remove them from DIR
#
# PAGE is a path to a page in the source tree (man/fut_drop.3); DIR the
# installed section directory ($(DESTDIR)$(man3dir)). Used by Makefile.am's
# install-data-hook and uninstall-hook, and by t/man.sh.
set -eu

# The names in the NAME section of page $1, one a line.
names() {
    awk '/^\.Sh / { in_name = ($2 == "NAME"); next }
         in_name && /^\.Nm / { print $2 }' "$1"
}

# "link page" for each link of the pages given.
links() {
    for page in "$@"; do
        base=$(basename "$page")
        sect=${base##*.}
        for n in $(names "$page"); do
            [ "$n.$sect" = "$base" ] || echo "$n.$sect $base"
        done
    done
}

mode=${1:-}
[ $# -ge 1 ] && shift
case $mode in
names)
    links "$@"
    ;;
install | uninstall)
    [ $# -ge 1 ] || { echo "usage: $0 $mode DIR PAGE..." >&2; exit 2; }
    dir=$1
    shift
    links "$@" | while read -r link page; do
        rm -f "$dir/$link"
        if [ "$mode" = install ]; then
            (cd "$dir" && ln -s "$page" "$link")
        fi
    done
    ;;
*)
    echo "usage: $0 names|install|uninstall [DIR] PAGE..." >&2
    exit 2
    ;;
esac
