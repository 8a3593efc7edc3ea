/* SPDX-License-Identifier: MIT */
/* fut_rt_dump(): the live task tree, pending teardowns and nested loops,
 * as text or Graphviz DOT. Reads the runtime's lists in place and writes
 * as it goes: nothing is allocated or copied, so a dump works in the
 * situations it is for (memory short, a teardown stuck). */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* The stream and its first error: every write goes through here so a
 * failing stream stops the dump early with the errno it reported. */
struct out {
    FILE *f;
    int err;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
    if (o->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    errno = 0;
    int n = vfprintf(o->f, fmt, ap);
    va_end(ap);
    if (n < 0)
        o->err = errno ? -errno : -EIO;
}

/* A vtable name as one token: a parser splits fields on blanks and '=',
 * DOT labels end at '"'; '\\' would start a DOT escape. */
static void put_name(struct out *o, const char *name)
{
    for (const char *p = name; *p && !o->err; p++) {
        unsigned char c = (unsigned char)*p;
        bool plain = c > ' ' && c < 0x7f && c != '=' && c != '"' && c != '\\';
        if (putc(plain ? c : '_', o->f) == EOF)
            o->err = errno ? -errno : -EIO;
    }
}

/* A time in seconds, "inf" when infinite. */
static void put_secs(struct out *o, double t)
{
    if (isinf(t))
        put(o, "inf");
    else
        put(o, "%.6f", t);
}

/* --- what a task is doing ------------------------------------------------ */

static unsigned task_state(const struct fut_task *t)
{
    return fut__state_load(&t->w.state);
}

/* The innermost nested loop started by t's poll, or NULL. */
static const struct fut__frame *frame_of(const fut_rt *rt, const struct fut_task *t)
{
    for (unsigned i = rt->frame_depth; i-- > 0;)
        if (rt->frames->v[i].owner == t)
            return &rt->frames->v[i];
    return NULL;
}

static const char *sched_name(const fut_rt *rt, const struct fut_task *t, unsigned s)
{
    if (s & FUT__W_RUNNING)
        return frame_of(rt, t) ? "frozen" : "running";
    return s & FUT__W_NOTIFIED ? "queued" : "parked";
}

static const char *phase_name(const struct fut_task *t, unsigned s)
{
    if (s & FUT__W_TEARDOWN)
        return fut__is_orphan((const fut *)(const void *)t->fut) ? "orphan" : "teardown";
    return s & FUT__W_CANCELLED ? "cancelled" : "run";
}

static const char *task_name(const struct fut_task *t)
{
    return fut__name((const fut *)(const void *)t->fut);
}

/* Seconds until t's teardown escalates (the earlier of its own deadline
 * and a shutdown's): the budget timer's rule. */
static double budget_left(const fut_rt *rt, const struct fut_task *t, double now)
{
    double own = fut__task_tail(t)->deadline;
    double d = own < rt->force_deadline ? own : rt->force_deadline;
    return d - now;
}

static bool escalated(const struct fut_task *t)
{
    return task_state(t) & FUT__W_ESCALATED;
}

/* --- text ------------------------------------------------------------------ */

static void text_task(struct out *o, const fut_rt *rt, const struct fut_task *t, double now)
{
    unsigned s = task_state(t);
    put(o, "task id=%p state=%s phase=%s scope=", (const void *)t, sched_name(rt, t, s),
        phase_name(t, s));
    const fut_scope *scope = fut__task_scope(t);
    if (scope)
        put(o, "%p", (const void *)scope);
    else
        put(o, "none");
    put(o, " name=");
    put_name(o, task_name(t));
    put(o, " age=");
    put_secs(o, now - t->spawned);
    put(o, " awaits=");
    const struct fut__frame *fr = (s & FUT__W_RUNNING) ? frame_of(rt, t) : NULL;
    if (fr)
        put_name(o, fut__name(fr->f));
    else
        put(o, "%s", s & FUT__W_DROPWAIT ? "poll_drop" : "unknown");
    put(o, "\n");
}

static void text_teardown(struct out *o, const fut_rt *rt, const struct fut_task *t, double now)
{
    put(o, "teardown id=%p name=", (const void *)t);
    put_name(o, task_name(t));
    put(o, " age=");
    put_secs(o, now - t->spawned - t->torn_after);
    put(o, " budget_left=");
    if (escalated(t))
        put(o, "escalated");
    else
        put_secs(o, budget_left(rt, t, now));
    put(o, "\n");
}

static void text_frame(struct out *o, unsigned depth, const struct fut__frame *fr)
{
    put(o, "frame depth=%u name=", depth);
    put_name(o, fut__name(fr->f));
    put(o, " drop=%d owner=", fr->drop);
    if (fr->owner)
        put(o, "%p", (const void *)fr->owner);
    else
        put(o, "none");
    put(o, " done=%d\n", fr->done);
}

static void text_stats(struct out *o, const fut_rt *rt, double now)
{
    const struct fut_rt_stats *st = &rt->st;
    put(o,
        "rt id=%p now=%.6f tasks_alive=%llu tasks_spawned=%llu tearing_down=%llu polls=%llu "
        "wakes=%llu remote_wakes=%llu frozen_wakes=%llu async_drops=%llu escalations=%llu "
        "teardown_errors=%llu orphans=%llu orphans_alive=%llu nested_depth=%u "
        "nested_depth_max=%llu nested_loops=%llu\n",
        (const void *)rt, now, (unsigned long long)st->tasks_alive,
        (unsigned long long)st->tasks_spawned, (unsigned long long)st->tasks_tearing_down,
        (unsigned long long)st->polls, (unsigned long long)st->wakes,
        (unsigned long long)st->remote_wakes, (unsigned long long)st->frozen_wakes,
        (unsigned long long)st->async_drops, (unsigned long long)st->escalations,
        (unsigned long long)st->teardown_errors, (unsigned long long)st->orphans,
        (unsigned long long)st->orphans_alive, rt->frame_depth,
        (unsigned long long)st->nested_depth_max, (unsigned long long)st->nested_loops);
}

static void dump_text(struct out *o, const fut_rt *rt, double now)
{
    const fut__list *pos;
    unsigned ntasks = 0, nteardowns = 0;
    text_stats(o, rt, now);
    for (pos = rt->tasks.next; pos != &rt->tasks && !o->err; pos = pos->next, ntasks++)
        text_task(o, rt, fut__container_of(pos, struct fut_task, live), now);
    for (pos = rt->teardowns.next; pos != &rt->teardowns && !o->err; pos = pos->next, ntasks++)
        text_task(o, rt, fut__container_of(pos, struct fut_task, live), now);
    for (pos = rt->teardowns.next; pos != &rt->teardowns && !o->err; pos = pos->next, nteardowns++)
        text_teardown(o, rt, fut__container_of(pos, struct fut_task, live), now);
    for (unsigned i = 0; i < rt->frame_depth; i++)
        text_frame(o, i + 1, &rt->frames->v[i]);
    put(o, "end tasks=%u teardowns=%u frames=%u\n", ntasks, nteardowns, rt->frame_depth);
}

/* --- DOT --------------------------------------------------------------------- */

static void dot_task(struct out *o, const fut_rt *rt, const struct fut_task *t, double now)
{
    unsigned s = task_state(t);
    put(o, "  \"t%p\" [label=\"", (const void *)t);
    put_name(o, task_name(t));
    put(o, "\\n%s %s ", sched_name(rt, t, s), phase_name(t, s));
    put_secs(o, now - t->spawned);
    put(o, "s\"");
    if (s & FUT__W_ESCALATED)
        put(o, " style=\"dashed,bold\" color=red");
    else if (s & FUT__W_TEARDOWN)
        put(o, " style=dashed color=red");
    put(o, "];\n");
    /* A scope's node and rt -> scope edge repeat for each child: a strict
     * digraph merges them. */
    const fut_scope *scope = fut__task_scope(t);
    if (scope)
        put(o,
            "  \"s%p\" [shape=box label=\"scope\"];\n  \"rt\" -> \"s%p\";\n"
            "  \"s%p\" -> \"t%p\";\n",
            (const void *)scope, (const void *)scope, (const void *)scope, (const void *)t);
    else
        put(o, "  \"rt\" -> \"t%p\";\n", (const void *)t);
}

static void dump_dot(struct out *o, const fut_rt *rt, double now)
{
    const struct fut_rt_stats *st = &rt->st;
    put(o, "strict digraph fut_rt {\n  node [shape=ellipse];\n");
    put(o,
        "  \"rt\" [shape=box label=\"rt %p\\nalive %llu, tearing down %llu, "
        "escalations %llu\"];\n",
        (const void *)rt, (unsigned long long)st->tasks_alive,
        (unsigned long long)st->tasks_tearing_down, (unsigned long long)st->escalations);
    const fut__list *pos;
    for (pos = rt->tasks.next; pos != &rt->tasks && !o->err; pos = pos->next)
        dot_task(o, rt, fut__container_of(pos, struct fut_task, live), now);
    for (pos = rt->teardowns.next; pos != &rt->teardowns && !o->err; pos = pos->next)
        dot_task(o, rt, fut__container_of(pos, struct fut_task, live), now);
    for (unsigned i = 0; i < rt->frame_depth && !o->err; i++) {
        const struct fut__frame *fr = &rt->frames->v[i];
        put(o, "  \"f%u\" [shape=box style=filled label=\"loop %u\\n", i + 1, i + 1);
        put_name(o, fut__name(fr->f));
        put(o, "%s\"];\n", fr->drop ? " (drop)" : "");
        if (i > 0)
            put(o, "  \"f%u\" -> \"f%u\";\n", i, i + 1);
        if (fr->owner)
            put(o, "  \"f%u\" -> \"t%p\" [style=dotted];\n", i + 1, (const void *)fr->owner);
    }
    put(o, "}\n");
}

FUT_API int fut_rt_dump(fut_rt *rt, FILE *out, unsigned flags)
{
    if (!rt || !out || (flags & ~FUT_DUMP_DOT))
        return -EINVAL;
    if (!fut__on_thread(rt))
        return -EPERM;
    struct out o = {out, 0};
    /* The clock itself, not the loop's: plain code may have run for a
     * while since the loop last read it (the loop's time and the spawn and
     * deadline stamps are on the same clock); a manual clock's own time. */
    double now = rt->clock == FUT_CLOCK_REAL ? fut__wall_clock() : rt->manual_now;
    if (flags & FUT_DUMP_DOT)
        dump_dot(&o, rt, now);
    else
        dump_text(&o, rt, now);
    errno = 0;
    if (fflush(out) == EOF && !o.err)
        o.err = errno ? -errno : -EIO;
    return o.err;
}
