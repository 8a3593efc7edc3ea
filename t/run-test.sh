#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one test: shell scripts with the shell, test programs directly or,
# with FUT_VALGRIND=1, under valgrind memcheck (Check must not fork there:
# CK_FORK=no is set for it).
case "$1" in
*.sh) exec "${SHELL:-/bin/sh}" "$@" ;;
esac
if [ -n "$FUT_VALGRIND" ]; then
    CK_FORK=no
    export CK_FORK
    exec "${top_builddir:-.}/libtool" --mode=execute valgrind -q --error-exitcode=1 \
        --leak-check=full --show-leak-kinds=definite,indirect,possible \
        --errors-for-leak-kinds=definite,indirect,possible "$@"
fi
exec "$@"
