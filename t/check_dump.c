/* SPDX-License-Identifier: MIT */
/* fut_rt_dump (DESIGN §6b): every live task with its state, every pending
 * teardown with its budget, the nested loops; text that parses, DOT that
 * holds together, no allocation while dumping. */
#define _GNU_SOURCE /* open_memstream */
#include "helpers.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- dumping and parsing ------------------------------------------------------- */

/* The dump as a string (free it). */
static char *dump(fut_rt *rt, unsigned flags)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fut_rt_dump(rt, f, flags), 0);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

/* The value of key in line (up to its end), or NULL when absent. */
static const char *field(const char *line, const char *key, char *val, size_t size)
{
    size_t klen = strlen(key);
    const char *end = strchr(line, '\n');
    if (!end)
        end = line + strlen(line);
    for (const char *p = line; p < end; p++) {
        if ((p == line || p[-1] == ' ') && !strncmp(p, key, klen) && p[klen] == '=') {
            p += klen + 1;
            size_t n = strcspn(p, " \n");
            ck_assert_uint_lt(n, size);
            memcpy(val, p, n);
            val[n] = 0;
            return val;
        }
    }
    return NULL;
}

/* The first line of that kind ("task", "frame", ...) with key=value
 * (key NULL: any), or NULL. */
static const char *find(const char *dump, const char *kind, const char *key, const char *value)
{
    size_t klen = strlen(kind);
    for (const char *l = dump; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char v[128];
        if (strncmp(l, kind, klen) || l[klen] != ' ')
            continue;
        if (!key || (field(l, key, v, sizeof v) && !strcmp(v, value)))
            return l;
    }
    return NULL;
}

static int count(const char *dump, const char *kind, const char *key, const char *value)
{
    int n = 0;
    size_t klen = strlen(kind);
    for (const char *l = dump; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        char v[128];
        if (!strncmp(l, kind, klen) && l[klen] == ' ' &&
            (!key || (field(l, key, v, sizeof v) && !strcmp(v, value))))
            n++;
    }
    return n;
}

static double num(const char *line, const char *key)
{
    char v[64];
    ck_assert_msg(field(line, key, v, sizeof v), "no %s= in: %.200s", key, line);
    return strtod(v, NULL);
}

static const char *str(const char *line, const char *key)
{
    static char v[128];
    ck_assert_msg(field(line, key, v, sizeof v), "no %s= in: %.200s", key, line);
    return v;
}

/* A task's line by its id (a pointer printed with %p). */
static const char *task_line(const char *d, const void *id)
{
    char s[32];
    snprintf(s, sizeof s, "%p", id);
    return find(d, "task", "id", s);
}

static const char *id_of(const char *line)
{
    return str(line, "id");
}

static void cancel_join(fut_rt *rt, fut_join *j)
{
    fut_join_cancel(j);
    th_block(rt, &j->base);
    fut_drop(&j->base);
}

/* --- tests ---------------------------------------------------------------------- */

static void *dump_elsewhere(void *rt)
{
    return (void *)(intptr_t)fut_rt_dump(rt, stderr, 0);
}

START_TEST(bad_input_is_einval)
{
    ck_assert_int_eq(fut_rt_dump(NULL, stderr, 0), -EINVAL);
    ck_assert_int_eq(fut_rt_dump(th_rt, NULL, 0), -EINVAL);
    ck_assert_int_eq(fut_rt_dump(th_rt, stderr, 0x80), -EINVAL);
    pthread_t th;
    void *r;
    ck_assert_int_eq(pthread_create(&th, NULL, dump_elsewhere, th_rt), 0);
    pthread_join(th, &r);
    ck_assert_int_eq((int)(intptr_t)r, -EPERM);
}
END_TEST

START_TEST(stream_error_is_reported)
{
    FILE *f = fopen("/dev/null", "r"); /* writes fail with EBADF */
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fut_rt_dump(th_rt, f, 0), -EBADF);
    ck_assert_int_eq(fut_rt_dump(th_rt, f, FUT_DUMP_DOT), -EBADF);
    fclose(f);
}
END_TEST

START_TEST(empty_runtime)
{
    char *d = dump(th_rt, 0);
    const char *rt = find(d, "rt", NULL, NULL);
    ck_assert_ptr_nonnull(rt);
    ck_assert(rt == d); /* the counters come first */
    ck_assert_int_eq(num(rt, "tasks_alive"), 0);
    ck_assert_int_eq(num(rt, "nested_depth"), 0);
    const char *end = find(d, "end", NULL, NULL);
    ck_assert_ptr_nonnull(end);
    ck_assert_int_eq(num(end, "tasks"), 0);
    ck_assert_int_eq(num(end, "teardowns"), 0);
    ck_assert_int_eq(num(end, "frames"), 0);
    ck_assert_str_eq(end + strlen(end) - 1, "\n");
    free(d);
}
END_TEST

/* One parked on a sleep, one spawned and not yet polled, one in a scope. */
START_TEST(parked_queued_and_scoped)
{
    struct th_slow a, b, c;
    th_slow_init(&a, -1, 0, 0, 0, NULL, NULL, NULL);
    th_slow_init(&b, -1, 0, 0, 0, NULL, NULL, NULL);
    th_slow_init(&c, -1, 0, 0, 0, NULL, NULL, NULL);
    fut_join ja, jb, jc;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &ja), 0);
    th_run_for(th_rt, 0.02);
    fut_scope s;
    fut_scope_init(&s, th_rt, 0);
    ck_assert_int_eq(fut_scope_spawn(&s, &c.base, sizeof c, &jc), 0);
    th_run_for(th_rt, 0.001);
    th_pause_for(0.05); /* plain code: the loop's clock does not move */
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &jb), 0);

    char *d = dump(th_rt, 0);
    ck_assert_int_eq(count(d, "task", NULL, NULL), 3);
    ck_assert_int_eq(num(find(d, "end", NULL, NULL), "tasks"), 3);
    ck_assert_int_eq(num(find(d, "rt", NULL, NULL), "tasks_alive"), 3);

    const char *la = task_line(d, ja.task), *lb = task_line(d, jb.task);
    const char *lc = task_line(d, jc.task);
    ck_assert_ptr_nonnull(la);
    ck_assert_ptr_nonnull(lb);
    ck_assert_ptr_nonnull(lc);
    ck_assert_str_eq(str(la, "state"), "parked");
    ck_assert_str_eq(str(la, "phase"), "run");
    ck_assert_str_eq(str(la, "name"), "th_slow");
    ck_assert_str_eq(str(la, "scope"), "none");
    ck_assert_str_eq(str(la, "awaits"), "unknown");
    ck_assert_double_ge(num(la, "age"), 0.06);
    ck_assert_double_lt(num(la, "age"), 5);
    ck_assert_str_eq(str(lb, "state"), "queued");
    ck_assert_double_lt(num(lb, "age"), 0.04);
    ck_assert_str_eq(str(lc, "state"), "parked");
    char sp[32];
    snprintf(sp, sizeof sp, "%p", (void *)&s);
    ck_assert_str_eq(str(lc, "scope"), sp);
    ck_assert_int_eq(count(d, "teardown", NULL, NULL), 0);
    free(d);

    /* Cancelled, not yet polled since. */
    fut_join_cancel(&ja);
    d = dump(th_rt, 0);
    ck_assert_str_eq(str(task_line(d, ja.task), "phase"), "cancelled");
    ck_assert_str_eq(str(task_line(d, ja.task), "state"), "queued");
    free(d);

    cancel_join(th_rt, &ja);
    cancel_join(th_rt, &jb);
    fut_drop(&jc.base);
    fut_drop(&s.base);
    d = dump(th_rt, 0);
    ck_assert_int_eq(count(d, "task", NULL, NULL), 0);
    free(d);
}
END_TEST

/* A teardown whose poll_drop takes a while: listed with its budget, then
 * escalated past it. */
START_TEST(teardown_with_budget_then_escalated)
{
    ck_assert_int_eq(fut_rt_set_drop_budget(th_rt, 5.0), 0);
    struct th_slow a;
    int dropped = 0;
    th_slow_init(&a, -1, 0, 15, 0.02, NULL, NULL, &dropped);
    fut_join ja;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &ja), 0);
    th_run_for(th_rt, 0.005);
    fut_join_cancel(&ja);
    th_run_for(th_rt, 0.05);

    char *d = dump(th_rt, 0);
    const char *t = task_line(d, ja.task);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(str(t, "phase"), "teardown");
    ck_assert_str_eq(str(t, "awaits"), "poll_drop");
    ck_assert_int_eq(count(d, "teardown", NULL, NULL), 1);
    const char *td = find(d, "teardown", "id", id_of(t));
    ck_assert_ptr_nonnull(td);
    ck_assert_str_eq(str(td, "name"), "th_slow");
    double age = num(td, "age"), left = num(td, "budget_left");
    ck_assert_double_ge(age, 0.04);
    ck_assert_double_lt(age, 2);
    ck_assert_double_gt(left, 3);
    ck_assert_double_le(left, 5.0 - 0.04);
    ck_assert_double_lt(age, num(t, "age")); /* torn down after spawned */
    const char *rt = find(d, "rt", NULL, NULL);
    ck_assert_int_eq(num(rt, "tearing_down"), 1);
    ck_assert_int_eq(num(rt, "async_drops"), 1);
    ck_assert_int_eq(num(find(d, "end", NULL, NULL), "teardowns"), 1);
    free(d);

    /* A second one under a tiny budget: escalated, and still pending
     * (th_slow has no sync drop, its poll_drop keeps being polled). */
    ck_assert_int_eq(fut_rt_set_drop_budget(th_rt, 0.01), 0);
    struct th_slow b;
    th_slow_init(&b, -1, 0, 5, 0.02, NULL, NULL, &dropped);
    fut_join jb;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &jb), 0);
    th_run_for(th_rt, 0.005);
    fut_join_cancel(&jb);
    th_run_for(th_rt, 0.04);
    d = dump(th_rt, 0);
    ck_assert_int_eq(count(d, "teardown", NULL, NULL), 2);
    ck_assert_str_eq(str(find(d, "teardown", "id", id_of(task_line(d, jb.task))), "budget_left"),
                     "escalated");
    ck_assert_str_ne(str(find(d, "teardown", "id", id_of(task_line(d, ja.task))), "budget_left"),
                     "escalated");
    ck_assert_int_eq(num(find(d, "rt", NULL, NULL), "escalations"), 1);
    free(d);

    th_block(th_rt, &jb.base);
    fut_drop(&jb.base);
    th_block(th_rt, &ja.base);
    fut_drop(&ja.base);
    ck_assert_int_eq(dropped, 2);
}
END_TEST

/* An adopted future is an orphan task in teardown. */
START_TEST(orphan_is_listed)
{
    struct th_slow o;
    int dropped = 0;
    th_slow_init(&o, -1, 0, 3, 0.02, NULL, NULL, &dropped);
    ck_assert_int_eq(fut_rt_adopt(th_rt, &o.base, NULL, NULL), 0);
    th_run_for(th_rt, 0.005);
    char *d = dump(th_rt, 0);
    const char *t = find(d, "task", "phase", "orphan");
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(str(t, "name"), "fut_orphan");
    ck_assert_ptr_nonnull(find(d, "teardown", "id", id_of(t)));
    ck_assert_int_eq(num(find(d, "rt", NULL, NULL), "orphans_alive"), 1);
    free(d);
    while (!dropped)
        th_run_for(th_rt, 0.01);
}
END_TEST

/* Dumps taken from inside polls while a nested loop runs. */
static char *inner_dump;
static unsigned inner_flags;

static int nesting; /* a nested loop (the nester's, or a drop's) is running */

/* Dumps once the nester is inside its nested loop (yielding until then:
 * under a scheduling seed the dumper may be polled first). */
static fut_status dumper_fn(struct th_fn *f, fut_cx *cx)
{
    if (!nesting) {
        fut_waker_wake(fut_cx_waker(cx));
        return FUT_PENDING;
    }
    inner_dump = dump(fut_cx_rt(cx), inner_flags);
    return fut_ready(&f->base, 0);
}

static fut_status nester_fn(struct th_fn *f, fut_cx *cx)
{
    fut_sleep s;
    nesting = 1;
    ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), fut_sleep_init(&s, 0.05), NULL), 0);
    nesting = 0;
    fut_drop(&s.base);
    return fut_ready(&f->base, 0);
}

START_TEST(frozen_under_a_nested_loop)
{
    struct th_fn a, b;
    th_fn_init(&a, nester_fn, NULL);
    th_fn_init(&b, dumper_fn, NULL);
    fut_join ja, jb;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &ja), 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &jb), 0);
    inner_flags = 0;
    inner_dump = NULL;
    th_block(th_rt, &ja.base); /* a's nested loop polls b, which dumps */
    th_block(th_rt, &jb.base);
    char *d = inner_dump;
    ck_assert_ptr_nonnull(d);
    const char *la = task_line(d, ja.task), *lb = task_line(d, jb.task);
    ck_assert_str_eq(str(la, "state"), "frozen");
    ck_assert_str_eq(str(la, "awaits"), "fut_sleep");
    ck_assert_str_eq(str(lb, "state"), "running");
    ck_assert_int_eq(count(d, "frame", NULL, NULL), 2);
    ck_assert_int_eq(num(find(d, "end", NULL, NULL), "frames"), 2);
    ck_assert_int_eq(num(find(d, "rt", NULL, NULL), "nested_depth"), 2);
    const char *f1 = find(d, "frame", "depth", "1"), *f2 = find(d, "frame", "depth", "2");
    ck_assert_str_eq(str(f1, "name"), "fut_join");
    ck_assert_str_eq(str(f1, "owner"), "none");
    ck_assert_str_eq(str(f1, "drop"), "0");
    ck_assert_str_eq(str(f2, "name"), "fut_sleep");
    ck_assert_str_eq(str(f2, "owner"), id_of(la));
    ck_assert_str_eq(str(f2, "drop"), "0");
    ck_assert(f1 < f2);
    free(d);
    fut_drop(&ja.base);
    fut_drop(&jb.base);
}
END_TEST

/* A sync drop of a slow teardown runs a drop loop; a task polled in it
 * sees it on the frame stack. */
static struct th_slow *to_drop;

static fut_status dropper_fn(struct th_fn *f, fut_cx *cx)
{
    (void)cx;
    nesting = 1; /* the drop's loop runs the dumper */
    fut_drop(&to_drop->base);
    nesting = 0;
    return fut_ready(&f->base, 0);
}

START_TEST(drop_loop_is_a_frame)
{
    struct th_slow slow;
    int dropped = 0;
    th_slow_init(&slow, -1, 0, 2, 0.02, NULL, NULL, &dropped);
    to_drop = &slow;
    struct th_fn b;
    th_fn_init(&b, dumper_fn, NULL);
    fut_join jb;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &jb), 0);
    inner_flags = 0;
    inner_dump = NULL;
    struct th_fn top;
    th_fn_init(&top, dropper_fn, NULL);
    th_block(th_rt, &top.base); /* b runs inside the drop's loop */
    ck_assert_int_eq(dropped, 1);
    char *d = inner_dump;
    ck_assert_ptr_nonnull(d);
    const char *f2 = find(d, "frame", "depth", "2");
    ck_assert_ptr_nonnull(f2);
    ck_assert_str_eq(str(f2, "name"), "th_slow");
    ck_assert_str_eq(str(f2, "drop"), "1");
    ck_assert_str_eq(str(find(d, "frame", "depth", "1"), "name"), "th_fn");
    free(d);
    th_block(th_rt, &jb.base);
    fut_drop(&jb.base);
}
END_TEST

/* Names are one token whatever the vtable says. */
static const struct fut_vtable odd_vt = {sizeof(struct fut_vtable), "my conn=\"1\"\t\\", NULL, NULL,
                                         NULL};

static fut_status pend(fut *self, fut_cx *cx)
{
    (void)self;
    (void)cx;
    return FUT_PENDING;
}

START_TEST(names_are_one_token)
{
    struct fut_vtable vt = odd_vt;
    vt.poll = pend;
    fut f;
    fut_init(&f, &vt);
    fut_join j;
    ck_assert_int_eq(fut_rt_spawn(th_rt, &f, sizeof f, &j), 0);
    char *d = dump(th_rt, 0);
    ck_assert_str_eq(str(task_line(d, j.task), "name"), "my_conn__1___");
    free(d);
    d = dump(th_rt, FUT_DUMP_DOT);
    ck_assert_ptr_nonnull(strstr(d, "label=\"my_conn__1___\\n"));
    free(d);
    cancel_join(th_rt, &j);
}
END_TEST

/* Bytes past ASCII (UTF-8 here) are replaced too: a name stays one
 * printable token. */
START_TEST(names_past_ascii_are_one_token)
{
    struct fut_vtable vt = {sizeof(struct fut_vtable), "caf\xc3\xa9\x7f!", pend, NULL, NULL};
    fut f;
    fut_init(&f, &vt);
    fut_join j;
    ck_assert_int_eq(fut_rt_spawn(th_rt, &f, sizeof f, &j), 0);
    char *d = dump(th_rt, 0);
    ck_assert_str_eq(str(task_line(d, j.task), "name"), "caf___!");
    free(d);
    cancel_join(th_rt, &j);
}
END_TEST

START_TEST(dot_holds_together)
{
    struct th_slow a, b, c;
    th_slow_init(&a, -1, 0, 0, 0, NULL, NULL, NULL);
    th_slow_init(&b, -1, 0, 0, 0, NULL, NULL, NULL);
    th_slow_init(&c, -1, 0, 0, 0, NULL, NULL, NULL);
    fut_join ja;
    fut_scope s;
    fut_scope_init(&s, th_rt, 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &ja), 0);
    ck_assert_int_eq(fut_scope_spawn(&s, &b.base, sizeof b, NULL), 0);
    ck_assert_int_eq(fut_scope_spawn(&s, &c.base, sizeof c, NULL), 0);
    th_run_for(th_rt, 0.005);

    char *d = dump(th_rt, FUT_DUMP_DOT);
    ck_assert(!strncmp(d, "strict digraph fut_rt {\n", 24));
    int depth = 0, max = 0, nodes = 0, scope_edges = 0;
    for (const char *p = d; *p; p++) {
        if (*p == '{' && ++depth > max)
            max = depth;
        if (*p == '}')
            ck_assert_int_ge(--depth, 0);
    }
    ck_assert_int_eq(depth, 0);
    ck_assert_int_eq(max, 1);
    ck_assert_str_eq(d + strlen(d) - 2, "}\n");
    char sp[40];
    snprintf(sp, sizeof sp, "  \"s%p\" -> \"t", (void *)&s);
    for (const char *l = d; *l; l = strchr(l, '\n') + 1) {
        if (!strncmp(l, "  \"t", 4) && strstr(l, "[label=") < strchr(l, '\n') &&
            strstr(l, "[label="))
            nodes++;
        if (!strncmp(l, sp, strlen(sp)))
            scope_edges++;
        ck_assert_ptr_nonnull(strchr(l, '\n'));
    }
    ck_assert_int_eq(nodes, 3);
    ck_assert_int_eq(scope_edges, 2);
    snprintf(sp, sizeof sp, "\"rt\" -> \"t%p\"", (void *)ja.task);
    ck_assert_ptr_nonnull(strstr(d, sp));
    free(d);

    cancel_join(th_rt, &ja);
    fut_drop(&s.base);
}
END_TEST

START_TEST(dot_shows_the_frame_chain)
{
    struct th_fn a, b;
    th_fn_init(&a, nester_fn, NULL);
    th_fn_init(&b, dumper_fn, NULL);
    fut_join ja, jb;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &ja), 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &jb), 0);
    inner_flags = FUT_DUMP_DOT;
    inner_dump = NULL;
    th_block(th_rt, &ja.base);
    th_block(th_rt, &jb.base);
    char *d = inner_dump, e[64];
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(strstr(d, "  \"f1\" [shape=box"));
    ck_assert_ptr_nonnull(strstr(d, "  \"f1\" -> \"f2\";\n"));
    ck_assert_ptr_null(strstr(d, "\"f3\""));
    snprintf(e, sizeof e, "  \"f2\" -> \"t%p\" [style=dotted];\n", (void *)ja.task);
    ck_assert_ptr_nonnull(strstr(d, e));
    free(d);
    inner_flags = 0;
    fut_drop(&ja.base);
    fut_drop(&jb.base);
}
END_TEST

/* Dumping allocates nothing from the library's allocator. */
START_TEST(no_allocation)
{
    struct th_slow a, b;
    th_slow_init(&a, -1, 0, 0, 0, NULL, NULL, NULL);
    th_slow_init(&b, -1, 0, 5, 0.02, NULL, NULL, NULL);
    fut_join ja, jb;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &a, &ja), 0);
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &jb), 0);
    th_run_for(th_rt, 0.005);
    fut_join_cancel(&jb);
    th_run_for(th_rt, 0.005);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    long total = th_alloc.total, live = th_alloc.live;
    ck_assert_int_eq(fut_rt_dump(th_rt, f, 0), 0);
    ck_assert_int_eq(fut_rt_dump(th_rt, f, FUT_DUMP_DOT), 0);
    ck_assert_int_eq(th_alloc.total, total);
    ck_assert_int_eq(th_alloc.live, live);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(buf, "teardown id="));
    free(buf);
    cancel_join(th_rt, &ja);
    th_block(th_rt, &jb.base);
    fut_drop(&jb.base);
}
END_TEST

/* --- streams that fail part way ------------------------------------------------ */

/* A stream taking `left` bytes, then failing every write with errno `err`
 * (0: a failure that sets no errno). Unbuffered, so a write fails where
 * the dump makes it. */
struct lim {
    char buf[16384];
    size_t len, left;
    int err;
};

static ssize_t lim_write(void *cookie, const char *p, size_t n)
{
    struct lim *l = cookie;
    if (n > l->left || l->len + n > sizeof l->buf) {
        errno = l->err;
        return 0; /* fopencookie: 0 is an error */
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
    l->left -= n;
    return (ssize_t)n;
}

static FILE *lim_open(struct lim *l, size_t left, int err, int mode)
{
    l->len = 0;
    l->left = left;
    l->err = err;
    cookie_io_functions_t io = {.write = lim_write};
    FILE *f = fopencookie(l, "w", io);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(setvbuf(f, NULL, mode, mode == _IONBF ? 0 : sizeof l->buf), 0);
    return f;
}

/* Every prefix of the dump, in both formats: a stream failing at any byte
 * stops the dump with its errno (-EIO when it set none), after writing no
 * more than that prefix of the full dump. On the manual clock the dump
 * does not change from one call to the next; it runs in a poll under a
 * nested loop so that every list has two entries or more (two tasks, two
 * teardowns, two loops). */
static struct lim lim;

static fut_status cut_dumps_fn(struct th_fn *f, fut_cx *cx)
{
    fut_rt *rt = fut_cx_rt(cx);
    for (unsigned flags = 0; flags <= FUT_DUMP_DOT; flags += FUT_DUMP_DOT) {
        char *full = dump(rt, flags);
        size_t len = strlen(full);
        ck_assert_uint_lt(len, sizeof lim.buf);
        for (size_t n = 0; n < len; n++) {
            int err = n % 2 ? ENOSPC : 0;
            FILE *s = lim_open(&lim, n, err, _IONBF);
            ck_assert_int_eq(fut_rt_dump(rt, s, flags), err ? -err : -EIO);
            ck_assert_uint_le(lim.len, n);
            ck_assert_msg(!memcmp(lim.buf, full, lim.len), "cut at %zu: not a prefix", n);
            fclose(s);
        }
        FILE *s = lim_open(&lim, len, 0, _IONBF);
        ck_assert_int_eq(fut_rt_dump(rt, s, flags), 0);
        ck_assert_uint_eq(lim.len, len);
        ck_assert(!memcmp(lim.buf, full, len));
        fclose(s);
        free(full);
    }
    return fut_ready(&f->base, 0);
}

static fut_status nest_cut_dumps_fn(struct th_fn *f, fut_cx *cx)
{
    struct th_fn inner;
    th_fn_init(&inner, cut_dumps_fn, NULL);
    ck_assert_int_eq(fut_rt_nested_loop(fut_cx_rt(cx), &inner.base, NULL), 0);
    fut_drop(&inner.base);
    return fut_ready(&f->base, 0);
}

START_TEST(stream_failing_at_any_byte)
{
    ck_assert_int_eq(fut_rt_set_clock(th_rt, FUT_CLOCK_MANUAL), 0);
    struct th_slow a[2], b[2];
    int dropped = 0;
    fut_join ja[2], jb[2];
    for (int i = 0; i < 2; i++) {
        th_slow_init(&a[i], -1, 0, 0, 0, NULL, NULL, NULL);
        th_slow_init(&b[i], -1, 0, 2, 1.0, NULL, NULL, &dropped);
        ck_assert_int_eq(FUT_SPAWN(th_rt, &a[i], &ja[i]), 0);
        ck_assert_int_eq(FUT_SPAWN(th_rt, &b[i], &jb[i]), 0);
    }
    th_turn(th_rt);
    fut_join_cancel(&jb[0]);
    fut_join_cancel(&jb[1]);
    th_turn(th_rt); /* both in teardown, waiting on the stopped clock */
    struct th_fn n;
    th_fn_init(&n, nest_cut_dumps_fn, NULL);
    fut_join jn;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &n, &jn), 0);
    ck_assert_int_eq(th_block(th_rt, &jn.base), 0);
    fut_drop(&jn.base);

    /* Buffered, the writes succeed and the flush at the end fails. */
    FILE *s = lim_open(&lim, 0, EFBIG, _IOFBF);
    ck_assert_int_eq(fut_rt_dump(th_rt, s, 0), -EFBIG);
    ck_assert_uint_eq(lim.len, 0);
    fclose(s);
    s = lim_open(&lim, 0, 0, _IOFBF);
    ck_assert_int_eq(fut_rt_dump(th_rt, s, FUT_DUMP_DOT), -EIO);
    fclose(s);
    /* Line buffered: the first line fails, and the flush again; the first
     * error is the one returned. */
    s = lim_open(&lim, 0, ENOSPC, _IOLBF);
    ck_assert_int_eq(fut_rt_dump(th_rt, s, 0), -ENOSPC);
    ck_assert_uint_eq(lim.len, 0);
    fclose(s);

    for (int i = 0; i < 2; i++) {
        cancel_join(th_rt, &ja[i]);
        fut_join_cancel(&jb[i]);
    }
    while (dropped < 2)
        ck_assert_int_eq(fut_rt_advance(th_rt, 1.0), 0);
    for (int i = 0; i < 2; i++) {
        th_block(th_rt, &jb[i].base);
        fut_drop(&jb[i].base);
    }
}
END_TEST

/* A teardown's budget left: infinite under an infinite budget, then the
 * time to a shutdown's deadline when that comes first; past it, the task
 * is escalated, which DOT draws dashed and bold. */
START_TEST(budget_left_under_a_shutdown)
{
    ck_assert_int_eq(fut_rt_set_clock(th_rt, FUT_CLOCK_MANUAL), 0);
    ck_assert_int_eq(fut_rt_set_drop_budget(th_rt, INFINITY), 0);
    struct th_slow b;
    int dropped = 0;
    th_slow_init(&b, -1, 0, 3, 1.0, NULL, NULL, &dropped);
    fut_join jb;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &jb), 0);
    th_turn(th_rt);
    fut_join_cancel(&jb);
    th_turn(th_rt);
    char *d = dump(th_rt, 0);
    const char *td = find(d, "teardown", NULL, NULL);
    ck_assert_ptr_nonnull(td);
    ck_assert_str_eq(str(td, "budget_left"), "inf");
    ck_assert_str_eq(str(td, "age"), "0.000000");
    free(d);

    fut_shutdown sd;
    ck_assert_int_eq(th_poll_once(th_rt, fut_rt_shutdown(&sd, th_rt, 2.0), NULL), FUT_PENDING);
    fut_drop(&sd.base);
    ck_assert_int_eq(fut_rt_advance(th_rt, 0.5), 0);
    d = dump(th_rt, 0);
    td = find(d, "teardown", NULL, NULL);
    ck_assert_str_eq(str(td, "budget_left"), "1.500000");
    ck_assert_str_eq(str(td, "age"), "0.500000");
    free(d);
    d = dump(th_rt, FUT_DUMP_DOT);
    ck_assert_ptr_nonnull(strstr(d, " style=dashed color=red];\n"));
    ck_assert_ptr_null(strstr(d, "dashed,bold"));
    free(d);

    ck_assert_int_eq(fut_rt_advance(th_rt, 1.5), 0);
    ck_assert_int_eq(dropped, 0); /* th_slow has no sync drop: still pending */
    d = dump(th_rt, 0);
    ck_assert_str_eq(str(find(d, "teardown", NULL, NULL), "budget_left"), "escalated");
    free(d);
    d = dump(th_rt, FUT_DUMP_DOT);
    ck_assert_ptr_nonnull(strstr(d, " style=\"dashed,bold\" color=red];\n"));
    free(d);
    while (!dropped)
        ck_assert_int_eq(fut_rt_advance(th_rt, 1.0), 0);
    th_block(th_rt, &jb.base);
    fut_drop(&jb.base);
}
END_TEST

/* In DOT, a drop's loop is marked as one. */
START_TEST(dot_marks_a_drop_loop)
{
    struct th_slow slow;
    int dropped = 0;
    th_slow_init(&slow, -1, 0, 2, 0.02, NULL, NULL, &dropped);
    to_drop = &slow;
    struct th_fn b;
    th_fn_init(&b, dumper_fn, NULL);
    fut_join jb;
    ck_assert_int_eq(FUT_SPAWN(th_rt, &b, &jb), 0);
    inner_flags = FUT_DUMP_DOT;
    inner_dump = NULL;
    struct th_fn top;
    th_fn_init(&top, dropper_fn, NULL);
    th_block(th_rt, &top.base);
    ck_assert_int_eq(dropped, 1);
    char *d = inner_dump;
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(strstr(d, "label=\"loop 2\\nth_slow (drop)\"];\n"));
    ck_assert_ptr_nonnull(strstr(d, "label=\"loop 1\\nth_fn\"];\n"));
    free(d);
    inner_flags = 0;
    th_block(th_rt, &jb.base);
    fut_drop(&jb.base);
}
END_TEST

static Suite *dump_suite(void)
{
    Suite *s = suite_create("dump");
    TCase *tc = tcase_create("dump");
    tcase_add_checked_fixture(tc, th_rt_setup, th_rt_teardown);
    tcase_set_timeout(tc, 20);
    suite_add_tcase(s, tc);
    tcase_add_test(tc, bad_input_is_einval);
    tcase_add_test(tc, stream_error_is_reported);
    tcase_add_test(tc, empty_runtime);
    tcase_add_test(tc, parked_queued_and_scoped);
    tcase_add_test(tc, teardown_with_budget_then_escalated);
    tcase_add_test(tc, orphan_is_listed);
    tcase_add_test(tc, frozen_under_a_nested_loop);
    tcase_add_test(tc, drop_loop_is_a_frame);
    tcase_add_test(tc, names_are_one_token);
    tcase_add_test(tc, names_past_ascii_are_one_token);
    tcase_add_test(tc, dot_holds_together);
    tcase_add_test(tc, dot_shows_the_frame_chain);
    tcase_add_test(tc, no_allocation);
    tcase_add_test(tc, stream_failing_at_any_byte);
    tcase_add_test(tc, budget_left_under_a_shutdown);
    tcase_add_test(tc, dot_marks_a_drop_loop);
    return s;
}

int main(void)
{
    return th_run(dump_suite());
}
