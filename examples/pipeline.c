/* SPDX-License-Identifier: MIT */
/* A pipeline: a producer feeds a bounded channel; a dispatcher takes each
 * job and, holding one of 4 semaphore permits, hands it to a worker task,
 * so at most 4 work at once; workers send their results to a second
 * channel, which a writer pipes into `sort -n` through its stdin, while a
 * reader prints what sort writes to its stdout.
 *
 * Ctrl-C (SIGINT) or SIGTERM midway tears it all down: every task is
 * cancelled (the producer frees the job it was sending), the jobs still
 * queued are released through the channel's release callback, and sort,
 * still waiting for the end of its input, is sent SIGTERM and reaped by
 * its process's async drop. The program then exits 0.
 *
 *     ./examples/pipeline [JOBS]         default 200 jobs, one every 5 ms
 *
 * (From a terminal, Ctrl-C reaches sort too, which then dies of SIGINT
 * first: it is still reaped. `kill -INT <pid of pipeline>` shows the
 * SIGTERM.)
 */
#include <fut.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKERS 4

struct app {
    fut_chan *jobs, *results;
    fut_sem permits;
    fut_scope tasks;
    fut_stream in, out; /* sort's stdin and stdout */
    int njobs;
    unsigned long released, worked, printed;
};

/* Frees *p when dropped (unless set to NULL first): a job in transit stays
 * owned by whoever holds it, however that one ends. */
struct owned {
    fut base;
    void *p;
};

static fut_status owned_poll(fut *self, fut_cx *cx)
{
    (void)cx;
    return fut_ready(self, 0);
}

static void owned_drop(fut *self)
{
    free(((struct owned *)self)->p);
}

static const struct fut_vtable owned_vt = {sizeof(struct fut_vtable), "owned", owned_poll, NULL,
                                           owned_drop};

/* Gives a loose permit back to the semaphore when dropped. */
struct permit {
    fut base;
    fut_sem *sem;
};

static void permit_drop(fut *self)
{
    fut_sem_release(((struct permit *)self)->sem, 1);
}

static const struct fut_vtable permit_vt = {sizeof(struct fut_vtable), "permit", owned_poll, NULL,
                                            permit_drop};

/* --- the tasks ------------------------------------------------------------------ */

struct producer {
    fut base;
    fut_coro co;
    struct app *a;
    int i;
    struct owned job; /* the job being sent */
    fut_sleep pace;
    fut_chan_send_op send;
};

static fut_status producer_body(struct producer *p, fut_cx *cx)
{
    FUT_BEGIN(&p->co);
    fut_init(&p->job.base, &owned_vt);
    FUT_BIND_ASYNC(&p->job.base);
    for (p->i = 0; p->i < p->a->njobs; p->i++) {
        FUT_AWAIT(cx, fut_sleep_init(&p->pace, 0.005));
        int *job = malloc(sizeof *job);
        if (!job)
            FUT_RETURN(-ENOMEM);
        *job = (p->i * 7919) % 1000; /* some numbers for sort to order */
        p->job.p = job;
        FUT_AWAIT(cx, fut_chan_send(&p->send, p->a->jobs, p->job.p));
        if (fut_out(&p->send.base) < 0)
            FUT_RETURN(fut_out(&p->send.base)); /* still ours: freed */
        p->job.p = NULL;                        /* the channel's now */
    }
    fut_chan_close(p->a->jobs);
    FUT_END();
}
FUT_CORO_DEFINE(producer, producer_body);

struct worker {
    fut base;
    fut_coro co;
    struct app *a;
    struct permit permit;
    struct owned job;
    fut_sleep work;
    fut_chan_send_op send;
};

static fut_status worker_body(struct worker *w, fut_cx *cx)
{
    FUT_BEGIN(&w->co);
    FUT_BIND_ASYNC(&w->permit.base); /* released however we end */
    FUT_BIND_ASYNC(&w->job.base);
    /* the work: 10 to 40 ms of "computation" */
    FUT_AWAIT(cx, fut_sleep_init(&w->work, 0.010 + *(int *)w->job.p % 4 * 0.010));
    w->a->worked++;
    FUT_AWAIT(cx, fut_chan_send(&w->send, w->a->results, w->job.p));
    if (fut_out(&w->send.base) == 0)
        w->job.p = NULL;
    FUT_END();
}
FUT_CORO_DEFINE(worker, worker_body);

struct dispatcher {
    fut base;
    fut_coro co;
    struct app *a;
    fut_chan_recv_op recv;
    fut_sem_acquire_op acq;
    struct worker w;
};

static fut_status dispatcher_body(struct dispatcher *d, fut_cx *cx)
{
    FUT_BEGIN(&d->co);
    for (;;) {
        /* Bound, so the await keeps the permit (its drop would give it
         * back) until it is handed to the worker. */
        FUT_BIND_ASYNC(fut_sem_acquire(&d->acq, &d->a->permits, 1));
        FUT_AWAIT(cx, &d->acq.base);
        if (fut_out(&d->acq.base) < 0)
            FUT_RETURN(fut_out(&d->acq.base));
        fut_sem_forget(&d->acq); /* the worker gives it back */
        fut_drop(&d->acq.base);
        FUT_AWAIT(cx, fut_chan_recv(&d->recv, d->a->jobs));
        if (fut_out(&d->recv.base) < 0) { /* closed and drained */
            fut_sem_release(&d->a->permits, 1);
            break;
        }
        memset(&d->w, 0, sizeof d->w);
        FUT_CORO_INIT(&d->w, worker);
        d->w.a = d->a;
        fut_init(&d->w.permit.base, &permit_vt);
        d->w.permit.sem = &d->a->permits;
        fut_init(&d->w.job.base, &owned_vt);
        d->w.job.p = fut_chan_recv_item(&d->recv);
        if (FUT_SCOPE_SPAWN(&d->a->tasks, &d->w, NULL) < 0) {
            fut_drop(&d->w.job.base);
            fut_drop(&d->w.permit.base);
        }
    }
    /* every worker has finished once all permits are back (d->acq is
     * bound: they stay taken until this task ends) */
    FUT_AWAIT(cx, fut_sem_acquire(&d->acq, &d->a->permits, WORKERS));
    fut_chan_close(d->a->results);
    FUT_END();
}
FUT_CORO_DEFINE(dispatcher, dispatcher_body);

struct writer { /* results -> sort's stdin */
    fut base;
    fut_coro co;
    struct app *a;
    fut_chan_recv_op recv;
    fut_stream_op op;
    char line[32];
};

static fut_status writer_body(struct writer *w, fut_cx *cx)
{
    FUT_BEGIN(&w->co);
    for (;;) {
        FUT_AWAIT(cx, fut_chan_recv(&w->recv, w->a->results));
        if (fut_out(&w->recv.base) < 0)
            break;
        int *r = fut_chan_recv_item(&w->recv);
        snprintf(w->line, sizeof w->line, "%d\n", *r);
        free(r);
        FUT_AWAIT(cx, fut_stream_write(&w->op, &w->a->in, w->line, strlen(w->line)));
        if (fut_out(&w->op.base) < 0)
            FUT_RETURN(fut_out(&w->op.base));
    }
    /* sort answers once its input ends: flush, then close the pipe (a
     * pipe has no half-close; the drop in main is then a no-op) */
    FUT_AWAIT(cx, fut_stream_flush(&w->op, &w->a->in));
    fut_stream_close_hard(&w->a->in);
    FUT_END();
}
FUT_CORO_DEFINE(writer, writer_body);

struct reader { /* sort's stdout -> ours */
    fut base;
    fut_coro co;
    struct app *a;
    fut_stream_op op;
    char line[64];
};

static fut_status reader_body(struct reader *r, fut_cx *cx)
{
    FUT_BEGIN(&r->co);
    for (;;) {
        FUT_AWAIT(cx, fut_stream_read_line(&r->op, &r->a->out, r->line, sizeof r->line));
        if (fut_out(&r->op.base) <= 0)
            break;
        r->a->printed++;
        printf("%.*s", (int)fut_out(&r->op.base), r->line);
    }
    FUT_END();
}
FUT_CORO_DEFINE(reader, reader_body);

/* --- main -------------------------------------------------------------------------- */

static void release_job(void *item, void *ud)
{
    free(item);
    ((struct app *)ud)->released++;
}

int main(int argc, char **argv)
{
    struct app a = {.njobs = argc > 1 ? atoi(argv[1]) : 200};
    fut_rt *rt;
    fut_process sort;
    char *sort_argv[] = {"sort", "-n", NULL};
    struct fut_process_opts po = {
        .file = "sort",
        .argv = sort_argv,
        .stdio = {FUT_PROCESS_PIPE, FUT_PROCESS_PIPE, FUT_PROCESS_INHERIT}};
    int err = fut_rt_new(&rt, NULL);
    if (!err)
        err = fut_chan_new(&a.jobs, 8, release_job, &a);
    if (!err)
        err = fut_chan_new(&a.results, 8, release_job, &a);
    if (!err)
        err = fut_process_spawn(rt, &sort, &po);
    if (!err)
        err = fut_stream_open(rt, &a.in, fut_process_take_fd(&sort, 0), NULL);
    if (!err)
        err = fut_stream_open(rt, &a.out, fut_process_take_fd(&sort, 1), NULL);
    if (err) {
        fprintf(stderr, "pipeline: %s\n", fut_strerror(err));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN); /* writing to sort's stdin after it died */
    fut_process_set_grace(&sort, 1.0);
    fut_sem_init(&a.permits, WORKERS);
    fut_scope_init(&a.tasks, rt, 0);
    struct producer p = {.a = &a};
    struct dispatcher d = {.a = &a};
    struct writer w = {.a = &a};
    struct reader r = {.a = &a};
    FUT_CORO_INIT(&p, producer);
    FUT_CORO_INIT(&d, dispatcher);
    FUT_CORO_INIT(&w, writer);
    FUT_CORO_INIT(&r, reader);
    if (FUT_SCOPE_SPAWN(&a.tasks, &p, NULL) || FUT_SCOPE_SPAWN(&a.tasks, &d, NULL) ||
        FUT_SCOPE_SPAWN(&a.tasks, &w, NULL) || FUT_SCOPE_SPAWN(&a.tasks, &r, NULL))
        fprintf(stderr, "pipeline: out of memory\n"); /* the scope cancels the rest */
    fprintf(stderr, "pipeline: %d jobs, %d workers, sort is pid %d\n", a.njobs, WORKERS,
            (int)sort.pid);

    fut_signal sig;
    fut *race[2] = {&a.tasks.base, fut_signal_ctrl_c_init(&sig)};
    fut_select sel;
    ssize_t won;
    fut_rt_block_on(rt, fut_select_init(&sel, race, 2, 0, NULL), &won);
    ssize_t tasks = fut_out(&a.tasks.base);
    fut_drop(&sel.base); /* on a signal: every task cancelled, and waited for */
    if (won == 1 || tasks < 0) {
        fut_drop(&sort.base); /* SIGTERM, reaped */
        fprintf(stderr, "pipeline: %s after %lu of %d jobs; sort terminated and reaped\n",
                won == 1 ? "interrupted" : fut_strerror((int)tasks), a.worked, a.njobs);
    } else {
        ssize_t status;
        fut_rt_block_on(rt, &sort.base, &status);
        fut_drop(&sort.base);
        fprintf(stderr, "pipeline: %lu jobs worked, %lu lines sorted, sort exited %zd\n", a.worked,
                a.printed, status);
    }
    fut_drop(&a.in.base); /* (no-op when the writer closed it already) */
    fut_drop(&a.out.base);
    fut_chan_free(a.jobs); /* releases what is still queued */
    fut_chan_free(a.results);
    fprintf(stderr, "pipeline: %lu queued jobs released\n", a.released);
    fut_rt_free(rt);
    return won == 1 || tasks == 0 ? 0 : 1;
}
