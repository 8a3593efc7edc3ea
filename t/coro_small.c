/* SPDX-License-Identifier: MIT */
/* Part of t/check_coro: a file whose coroutines bind at most 2 children,
 * linked with one (check_coro.c) that raised the limit to 20, against a
 * library built with 16: each keeps its own capacity. */
#define FUT_CORO_MAX_BOUND 2

#include <fut.h>
#include <string.h>

_Static_assert(sizeof(((fut_coro *)0)->bound) == 2 * sizeof(fut *), "two slots here");

int coro_small_run(fut_rt *r, int drops[3], int *bound);

struct counted {
    fut base;
    int *drops;
};

static void counted_drop(fut *self)
{
    ++*((struct counted *)self)->drops;
}

static fut_status counted_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    return fut_ready(self, 0);
}

static const struct fut_vtable counted_vt = {sizeof(struct fut_vtable), "counted", counted_poll,
                                             NULL, counted_drop};

/* The struct ends right after co, with a guard that must stay untouched:
 * a library writing past the 2 slots would hit it. */
struct small {
    fut base;
    fut_coro co;
    fut *guard;
    struct counted c[3];
    int *drops;
    int i;
};

static fut_status small_body(struct small *s, fut_cx *cx)
{
    (void)cx;
    FUT_BEGIN(&s->co);
    for (s->i = 0; s->i < 3; s->i++) {
        fut_init(&s->c[s->i].base, &counted_vt);
        s->c[s->i].drops = &s->drops[s->i];
        FUT_BIND_ASYNC(&s->c[s->i].base);
    }
    FUT_END();
}
FUT_CORO_DEFINE(small, small_body);

int coro_small_run(fut_rt *r, int drops[3], int *bound)
{
    struct small s;
    memset(&s, 0, sizeof s);
    FUT_CORO_INIT(&s, small);
    s.drops = drops;
    ssize_t out = -1;
    if (fut_rt_block_on(r, &s.base, &out))
        return -1;
    *bound = s.guard ? -1 : (int)s.co.nbound;
    if (fut_drop(&s.base))
        return -1;
    return (int)out;
}
