#!/bin/sh
# SPDX-License-Identifier: MIT
# Misuse of the coroutine macros is a compile error, and correct use
# compiles cleanly (the control case, so the test can fail).
set -u
inc="${top_srcdir:-.}/include"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
check() { # expect(ok|fail) name body
    n=$((n + 1))
    cat >"$tmp/t.c" <<SRC
#include <fut.h>
struct c { fut base; fut_coro co; fut_yield y; int other; };
static fut_status body(struct c *s, fut_cx *cx)
{
    (void)cx;
$3
}
FUT_CORO_DEFINE(c, body);
int main(void) { struct c s; return FUT_CORO_INIT(&s, c) == 0; }
SRC
    if ${CC:-cc} -std=gnu11 -Wall -Wextra -Werror -I"$inc" -c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
        got=ok
    else
        got=fail
    fi
    if [ "$got" = "$1" ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2 (expected the compile to $1)"
        sed 's/^/# /' "$tmp/err"
    fi
}
echo "1..7"
check ok "correct use compiles" '    FUT_BEGIN(&s->co);
    FUT_AWAIT(&s->co, cx, fut_yield_init(&s->y));
    FUT_RETURN(&s->co, 1);
    FUT_END(&s->co);'
check fail "FUT_AWAIT outside FUT_BEGIN" '    FUT_AWAIT(&s->co, cx, fut_yield_init(&s->y));
    return FUT_PENDING;'
check fail "FUT_BEGIN without FUT_END" '    FUT_BEGIN(&s->co);
    FUT_RETURN(&s->co, 1);'
check fail "FUT_END without FUT_BEGIN" '    FUT_END(&s->co);'
check fail "coroutine argument of the wrong type" '    FUT_BEGIN(&s->co);
    FUT_RETURN(&s->other, 1);
    FUT_END(&s->co);'
check ok "FUT_SPAWN of the caller's struct compiles" '    fut_rt *rt = 0;
    (void)FUT_SPAWN(rt, s, 0);
    return FUT_PENDING;'
check fail "FUT_SPAWN of a bare fut pointer (it would copy the base alone)" '    fut_rt *rt = 0;
    (void)FUT_SPAWN(rt, FUT_CORO_INIT(s, c), 0);
    return FUT_PENDING;'
