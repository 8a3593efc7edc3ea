#!/bin/sh
# SPDX-License-Identifier: MIT
# Misuse of the coroutine macros is a compile error, and correct use
# compiles cleanly (the control cases, so the test can fail).
set -u
inc="${top_srcdir:-.}/include"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
# check expect(ok|fail) name body [prelude]: body is the coroutine's; the
# prelude goes before #include <fut.h>.
check() {
    n=$((n + 1))
    cat >"$tmp/t.c" <<SRC
${4:-}
#include <fut.h>
struct c { fut base; fut_coro co; fut_yield y, y2; int other; };
static fut_status body(struct c *s, fut_cx *cx)
{
    (void)cx;
$3
}
FUT_CORO_DEFINE(c, body);
int main(void) { struct c s; return FUT_CORO_INIT(&s, c) == 0; }
SRC
    if ${CC:-cc} -std=gnu11 -Wall -Wextra -Werror -I"$inc" -I"${top_builddir:-.}/include" -c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
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
echo "1..19"
check ok "correct use compiles" '    FUT_BEGIN(&s->co);
    FUT_BIND_ASYNC(&s->y2.base);
    FUT_AWAIT(cx, fut_yield_init(&s->y));
    FUT_RETURN(1);
    FUT_END();'
check ok "two awaits on one line compile" '    FUT_BEGIN(&s->co);
    FUT_AWAIT(cx, fut_yield_init(&s->y)); FUT_AWAIT(cx, fut_yield_init(&s->y));
    FUT_END();'
check ok "two awaits in one macro compile" '#define TWICE FUT_AWAIT(cx, fut_yield_init(&s->y)); FUT_AWAIT(cx, fut_yield_init(&s->y2))
    FUT_BEGIN(&s->co);
    TWICE;
    FUT_END();'
check fail "FUT_AWAIT outside FUT_BEGIN" '    FUT_AWAIT(cx, fut_yield_init(&s->y));
    return FUT_PENDING;'
check fail "FUT_RETURN outside FUT_BEGIN" '    FUT_RETURN(1);'
check fail "FUT_BIND_ASYNC outside FUT_BEGIN" '    FUT_BIND_ASYNC(&s->y.base);
    return FUT_PENDING;'
check fail "FUT_BEGIN without FUT_END" '    FUT_BEGIN(&s->co);
    FUT_RETURN(1);'
check fail "FUT_END without FUT_BEGIN" '    FUT_END();'
check fail "FUT_BEGIN argument of the wrong type" '    FUT_BEGIN(&s->other);
    FUT_END();'
check fail "old form: FUT_AWAIT(co, cx, child)" '    FUT_BEGIN(&s->co);
    FUT_AWAIT(&s->co, cx, fut_yield_init(&s->y));
    FUT_END();'
check fail "old form: FUT_RETURN(co, v)" '    FUT_BEGIN(&s->co);
    FUT_RETURN(&s->co, 1);
    FUT_END();'
check fail "old form: FUT_BIND_ASYNC(co, child)" '    FUT_BEGIN(&s->co);
    FUT_BIND_ASYNC(&s->co, &s->y.base);
    FUT_END();'
check fail "old form: FUT_END(co)" '    FUT_BEGIN(&s->co);
    FUT_END(&s->co);'
check ok "FUT_CORO_MAX_BOUND defined before the header" '    _Static_assert(sizeof s->co.bound / sizeof s->co.bound[0] == 40, "40");
    FUT_BEGIN(&s->co);
    FUT_END();' '#define FUT_CORO_MAX_BOUND 40'
check ok "FUT_CORO_MAX_BOUND is 16 by default" '    _Static_assert(FUT_CORO_MAX_BOUND == 16, "16");
    FUT_BEGIN(&s->co);
    FUT_END();'
check fail "FUT_CORO_MAX_BOUND of 0" '    FUT_BEGIN(&s->co);
    FUT_END();' '#define FUT_CORO_MAX_BOUND 0'
check fail "FUT_CORO_MAX_BOUND redefined after the header" '#define FUT_CORO_MAX_BOUND 40
    FUT_BEGIN(&s->co);
    FUT_END();'
check ok "FUT_SPAWN of the caller's struct compiles" '    fut_rt *rt = 0;
    (void)FUT_SPAWN(rt, s, 0);
    return FUT_PENDING;'
check fail "FUT_SPAWN of a bare fut pointer (it would copy the base alone)" '    fut_rt *rt = 0;
    (void)FUT_SPAWN(rt, FUT_CORO_INIT(s, c), 0);
    return FUT_PENDING;'
