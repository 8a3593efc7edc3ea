/* SPDX-License-Identifier: MIT */
/* Intrusive circular doubly-linked list, after Linux's list.h. */
#ifndef FUT_LIST_H
#define FUT_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* struct fut__list is defined in <fut/future.h>: public futures embed it. */
#include "fut/future.h"

/* clang-format would take `(ptr) - x` for a cast of `-x`. */
/* clang-format off */
#define fut__container_of(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
/* clang-format on */

static inline void fut__list_init(fut__list *l)
{
    l->prev = l->next = l;
}

static inline bool fut__list_empty(const fut__list *l)
{
    return l->next == l;
}

static inline void fut__list_add_tail(fut__list *l, fut__list *n)
{
    n->prev = l->prev;
    n->next = l;
    l->prev->next = n;
    l->prev = n;
}

static inline void fut__list_del(fut__list *n)
{
    n->prev->next = n->next;
    /* A linked node is never its own successor; the analyzer, not knowing
     * that, walks scope_detach's loop into a node it unlinked itself.
     * NOLINTNEXTLINE(clang-analyzer-core.NullDereference) */
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

/* Survives removal of the current node while walking. */
#define fut__list_each_safe(pos, tmp, head) \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); \
         (pos) = (tmp), (tmp) = (pos)->next)

#endif
