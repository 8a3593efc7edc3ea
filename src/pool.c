/* SPDX-License-Identifier: MIT */
/* The blocking-work pool: workers, a FIFO queue, completions in batches
 * through one async watch, cancellation that waits for the worker to let go
 * (see <fut/pool.h>). File I/O and DNS on top. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* DETACHED: its future let go while it ran (a DNS lookup: see
 * job_detach); the pool releases it once its function returned. */
enum { J_IDLE, J_QUEUED, J_RUNNING, J_DONE, J_CANCELLED, J_DETACHED };

/* A job's state is written by its worker (RUNNING) and by the loop thread
 * (the rest), hence atomic access; transitions out of QUEUED happen under
 * the pool's mutex. */
static inline int job_state(const fut_job *j)
{
    return atomic_load_explicit(fut__atomic_int(&j->state), memory_order_acquire);
}

static inline void set_job_state(fut_job *j, int s)
{
    atomic_store_explicit(fut__atomic_int(&j->state), s, memory_order_release);
}

/* Asks the worker running j to stop (fut_job_cancelled() reads it). */
static inline void ask_cancel(fut_job *j)
{
    atomic_store_explicit(fut__atomic_int(&j->cancel), 1, memory_order_release);
}

static inline bool cancel_asked(const fut_job *j)
{
    return atomic_load_explicit(fut__atomic_int(&j->cancel), memory_order_relaxed);
}

struct worker {
    pthread_t th;
    struct worker *next;
    struct fut__pool *pool;
    fut_job *cur; /* the job it runs, under mu */
    bool exited;  /* left after the pool shrank: to be joined */
    bool orphan;  /* detached by fut__pool_free while inside a detached job */
};

struct fut__pool {
    fut_rt *rt;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fut_job *qhead, *qtail; /* queued jobs, under mu */
    unsigned nworkers, idle, max;
    unsigned nqueued; /* queued jobs no worker took yet */
    bool quit;
    struct worker *workers;
    _Atomic(fut_job *) done; /* completion stack (FUT__STACK_PUSH) */
    fut__watch async;
    struct fut_pool_stats st;
    unsigned orphans;      /* workers left running by fut__pool_free, under mu */
    int start_err;         /* the last failure to start a worker, under mu */
    double start_backoff;  /* seconds to wait after it */
    double start_retry_at; /* CLOCK_MONOTONIC: no new attempt before */
    bool closed;           /* fut__pool_free is done with it, under mu */
};

/* --- workers ------------------------------------------------------------------ */

static void pool_destroy(struct fut__pool *p)
{
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    fut__free(p, sizeof *p);
}

/* An orphan's last steps, once it released its job: the runtime is gone,
 * the last one out frees the pool. */
static void orphan_exit(struct worker *self)
{
    struct fut__pool *p = self->pool;
    pthread_mutex_lock(&p->mu);
    bool last = --p->orphans == 0 && p->closed;
    pthread_mutex_unlock(&p->mu);
    fut__free(self, sizeof *self);
    if (last)
        pool_destroy(p);
}

static void *worker_main(void *arg)
{
    struct worker *self = arg;
    struct fut__pool *p = self->pool;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && !p->qhead && p->nworkers <= p->max) {
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
        }
        if (!p->qhead && (p->quit || p->nworkers > p->max))
            break;
        fut_job *j = p->qhead;
        p->nqueued--;
        p->qhead = j->next;
        if (p->qhead)
            p->qhead->prev = NULL;
        else
            p->qtail = NULL;
        set_job_state(j, J_RUNNING);
        self->cur = j;
        pthread_mutex_unlock(&p->mu);

        j->result = j->fn(j, j->arg);

        pthread_mutex_lock(&p->mu);
        self->cur = NULL;
        if (self->orphan) {
            /* The runtime was freed meanwhile: the job is ours to release
             * (its future let go, see job_detach), and nobody waits. */
            pthread_mutex_unlock(&p->mu);
            j->release(j->result, j->arg);
            orphan_exit(self);
            return NULL;
        }
        /* Hand it to the loop thread; after the push the job is the loop's. */
        if (FUT__STACK_PUSH(&p->done, j, next))
            fut__watch_send(p->rt, &p->async);
    }
    p->nworkers--;
    self->exited = true;
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Under mu: joins the workers that left (they released mu for good before
 * returning, so the join does not wait on us). */
static void reap_exited(struct fut__pool *p)
{
    for (struct worker **pw = &p->workers; *pw;) {
        struct worker *w = *pw;
        if (!w->exited) {
            pw = &w->next;
            continue;
        }
        *pw = w->next;
        pthread_join(w->th, NULL);
        fut__free(w, sizeof *w);
    }
}

/* Under mu. Workers block every signal: they inherit the mask. */
static int start_worker(struct fut__pool *p)
{
    reap_exited(p);
    struct worker *w = fut__alloc(sizeof *w);
    if (!w)
        return -ENOMEM;
    w->pool = p;
    w->cur = NULL;
    w->exited = false;
    w->orphan = false;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&w->th, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err) {
        fut__free(w, sizeof *w);
        return -err;
    }
    w->next = p->workers;
    p->workers = w;
    p->nworkers++;
    return 0;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Under mu: start_worker, paced. After pthread_create failed the next
 * attempt waits 10 ms, doubling up to 1 s, so that while threads cannot
 * be made every submission does not pay a failing pthread_create;
 * meanwhile the last error is returned at once. (A failed allocation is
 * cheap to retry, and is retried at the next submission.) */
static int start_worker_paced(struct fut__pool *p)
{
    double now = mono_now();
    if (p->start_err && now < p->start_retry_at)
        return p->start_err;
    int err = start_worker(p);
    if (!err) {
        p->start_err = 0;
        p->start_backoff = 0;
        return 0;
    }
    p->st.start_failures++;
    if (err == -ENOMEM)
        return err;
    p->start_backoff = p->start_backoff ? p->start_backoff * 2 : 0.01;
    if (p->start_backoff > 1)
        p->start_backoff = 1;
    p->start_retry_at = now + p->start_backoff;
    p->start_err = err;
    return err;
}

/* --- completions on the loop thread ------------------------------------------------ */

static void deliver(struct fut__pool *p, bool wake)
{
    fut_job *j, *rev = FUT__STACK_TAKE_FIFO(&p->done, next);
    for (j = rev; j; j = rev) {
        rev = j->next;
        p->st.completed++;
        if (job_state(j) == J_DETACHED) { /* nobody waits: it let go of the loop at the detach */
            p->st.released++;
            j->release(j->result, j->arg);
            continue;
        }
        set_job_state(j, J_DONE);
        fut__keepalive(p->rt, -1);
        if (wake && j->waker)
            fut_waker_wake(j->waker);
    }
}

static void pool_async_cb(fut__watch *w, int events)
{
    struct fut__pool *p = fut__watch_data(w);
    p->st.batches++;
    deliver(p, true);
}

static unsigned default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (unsigned)n;
}

static struct fut__pool *pool_get(fut_rt *rt)
{
    if (rt->pool)
        return rt->pool;
    struct fut__pool *p = fut__alloc(sizeof *p);
    if (!p)
        return NULL;
    memset(p, 0, sizeof *p);
    p->rt = rt;
    p->max = rt->pool_max ? rt->pool_max : default_workers();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    /* jobs in flight hold the loop, not the watch */
    fut__watch_async_init(&p->async, pool_async_cb, p, FUT__WATCH_WEAK);
    fut__watch_start(rt, &p->async);
    rt->pool = p;
    return p;
}

/* fut_rt_free, after every task was torn down. A worker still inside a
 * detached job (a lookup stuck in getaddrinfo whose future is gone) is not
 * waited for: it becomes an orphan, detached, which releases its job when
 * the call returns; the last of the orphans and this function frees the
 * pool. Every other worker is joined. */
void fut__pool_free(fut_rt *rt)
{
    struct fut__pool *p = rt->pool;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->cv);
    for (struct worker **pw = &p->workers; *pw;) {
        struct worker *w = *pw;
        if (w->cur && job_state(w->cur) == J_DETACHED) {
            *pw = w->next;
            w->orphan = true;
            p->orphans++;
            pthread_detach(w->th);
            continue;
        }
        pw = &w->next;
    }
    pthread_mutex_unlock(&p->mu);
    while (p->workers) {
        struct worker *w = p->workers;
        p->workers = w->next;
        pthread_join(w->th, NULL);
        fut__free(w, sizeof *w);
    }
    deliver(p, false); /* futures still around (not dropped): see the header */
    fut__watch_stop(rt, &p->async);
    rt->pool = NULL;
    pthread_mutex_lock(&p->mu);
    p->closed = true;
    bool last = p->orphans == 0;
    pthread_mutex_unlock(&p->mu);
    if (last)
        pool_destroy(p);
}

FUT_API int fut_rt_set_pool_size(fut_rt *rt, unsigned workers)
{
    if (!rt || workers < 1 || workers > 1024)
        return -EINVAL;
    rt->pool_max = workers;
    struct fut__pool *p = rt->pool;
    if (p) {
        pthread_mutex_lock(&p->mu);
        p->max = workers;
        pthread_cond_broadcast(&p->cv); /* idle workers past the limit leave */
        pthread_mutex_unlock(&p->mu);
    }
    return 0;
}

FUT_API int fut_rt_pool_stats(fut_rt *rt, struct fut_pool_stats *st, size_t size)
{
    if (!rt || !st)
        return -EINVAL;
    struct fut_pool_stats s = {0};
    struct fut__pool *p = rt->pool;
    if (p) {
        pthread_mutex_lock(&p->mu);
        s = p->st;
        s.workers = p->nworkers;
        pthread_mutex_unlock(&p->mu);
    }
    memcpy(st, &s, size < sizeof s ? size : sizeof s);
    return 0;
}

/* --- the job future ------------------------------------------------------------------------ */

FUT_API int fut_job_cancelled(const fut_job *job)
{
    return atomic_load_explicit(fut__atomic_int(&job->cancel), memory_order_acquire);
}

/* Under mu: unlinks a queued job. */
static void unqueue(struct fut__pool *p, fut_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        p->qhead = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        p->qtail = j->prev;
    j->next = j->prev = NULL;
}

static int submit(fut_job *j, fut_cx *cx)
{
    fut_rt *rt = fut_cx_rt(cx);
    struct fut__pool *p = pool_get(rt);
    if (!p)
        return -ENOMEM;
    j->rt = rt;
    pthread_mutex_lock(&p->mu);
    /* An idle worker may already be signalled for an earlier job: start
     * one whenever the queued jobs outnumber the idle workers. */
    if (p->nqueued + 1 > p->idle && p->nworkers < p->max) {
        int err = start_worker_paced(p);
        if (err && p->nworkers == 0) {
            pthread_mutex_unlock(&p->mu);
            return err;
        }
    }
    p->nqueued++;
    j->next = NULL;
    j->prev = p->qtail;
    if (p->qtail)
        p->qtail->next = j;
    else
        p->qhead = j;
    p->qtail = j;
    set_job_state(j, J_QUEUED);
    p->st.submitted++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fut__keepalive(rt, 1);
    return 0;
}

/* Cancels a queued job (READY: it will never run) or flags a running one
 * (returns false: wait for its completion). */
static bool cancel(fut_job *j)
{
    struct fut__pool *p = j->rt->pool;
    pthread_mutex_lock(&p->mu);
    bool queued = job_state(j) == J_QUEUED;
    if (queued) {
        unqueue(p, j);
        p->nqueued--;
        set_job_state(j, J_CANCELLED);
        p->st.cancelled_queued++;
    } else if (job_state(j) == J_RUNNING && !cancel_asked(j)) {
        ask_cancel(j);
        p->st.cancelled_running++;
    }
    pthread_mutex_unlock(&p->mu);
    if (queued)
        fut__keepalive(j->rt, -1);
    return queued;
}

/* The future of a submitted job lets go of it without waiting for its
 * worker (fut_dns only: the job lives in memory the future does not own,
 * and writes nowhere else). Loop thread. Returns true when the job was
 * running: it is the pool's now, `release` frees it once its function
 * returned (on the loop thread, or on the worker when the runtime was
 * freed meanwhile). false: nobody else holds it (never submitted, removed
 * from the queue, or completed with its result not taken): the caller
 * frees it. */
static bool job_detach(fut_job *j, fut_job_release release)
{
    int s = job_state(j);
    bool running = false;
    if (s == J_QUEUED || s == J_RUNNING) {
        struct fut__pool *p = j->rt->pool;
        pthread_mutex_lock(&p->mu);
        if (job_state(j) == J_QUEUED) {
            unqueue(p, j);
            p->nqueued--;
            set_job_state(j, J_CANCELLED);
            p->st.cancelled_queued++;
        } else {
            if (!cancel_asked(j))
                p->st.cancelled_running++;
            j->release = release;
            ask_cancel(j);
            set_job_state(j, J_DETACHED);
            running = true;
        }
        pthread_mutex_unlock(&p->mu);
        fut__keepalive(j->rt, -1); /* a detached job does not hold the loop */
    }
    fut_waker_drop(j->waker);
    j->waker = NULL;
    return running;
}

static void release_result(fut_job *j)
{
    if (!j->taken && j->release) {
        j->release(j->result, j->arg);
        j->rt->pool->st.released++;
    }
    j->taken = 1;
}

static fut_status job_step(fut_job *j, fut_cx *cx)
{
    if (job_state(j) == J_IDLE) {
        if (fut_cx_cancelled(cx))
            return fut_ready(&j->base, -ECANCELED);
        int err = submit(j, cx);
        if (err)
            return fut_ready(&j->base, err);
    }
    if (job_state(j) == J_DONE) {
        fut_waker_drop(j->waker);
        j->waker = NULL;
        if (cancel_asked(j)) {
            release_result(j); /* cancelled while running: the result is unwanted */
            return fut_ready(&j->base, -ECANCELED);
        }
        j->taken = 1;
        return fut_ready(&j->base, j->result);
    }
    if (fut_cx_cancelled(cx) && cancel(j))
        return fut_ready(&j->base, -ECANCELED);
    fut__keep_waker(&j->waker, cx);
    return FUT_PENDING;
}

static fut_status job_step_drop(fut_job *j, fut_cx *cx)
{
    switch (job_state(j)) {
    case J_QUEUED:
    case J_RUNNING:
        if (cancel(j)) /* still queued: it will never run */
            break;
        /* Running: the worker may still write into memory this future
         * owns or was lent: wait until it returned. */
        fut__keep_waker(&j->waker, cx);
        return FUT_PENDING;
    case J_DONE:
        release_result(j);
        break;
    default:
        break;
    }
    fut_waker_drop(j->waker);
    j->waker = NULL;
    return FUT_READY;
}

static fut_status job_poll(fut *self, fut_cx *cx)
{
    return job_step((fut_job *)self, cx);
}

static fut_status job_poll_drop(fut *self, fut_cx *cx)
{
    return job_step_drop((fut_job *)self, cx);
}

static const struct fut_vtable job_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_job",
    .poll = job_poll,
    .poll_drop = job_poll_drop,
};

static fut *job_setup(fut_job *job, const struct fut_vtable *vt, fut_job_fn fn, void *arg,
                      fut_job_release release)
{
    fut_init(&job->base, vt);
    job->fn = fn;
    job->arg = arg;
    job->release = release;
    job->rt = NULL;
    job->waker = NULL;
    job->next = job->prev = NULL;
    job->cancel = 0;
    set_job_state(job, J_IDLE);
    job->taken = 0;
    job->result = 0;
    return &job->base;
}

FUT_API fut *fut_job_init(fut_job *job, fut_job_fn fn, void *arg, fut_job_release release)
{
    return job_setup(job, &job_vt, fn, arg, release);
}

/* --- file I/O ------------------------------------------------------------------------------------ */

static ssize_t do_pread(fut_job *job, void *arg)
{
    fut_file_op *op = arg;
    return fut__neg_errno(pread(op->fd, op->buf, op->len, op->off));
}

static ssize_t do_pwrite(fut_job *job, void *arg)
{
    fut_file_op *op = arg;
    return fut__neg_errno(pwrite(op->fd, op->buf, op->len, op->off));
}

static ssize_t do_open(fut_job *job, void *arg)
{
    fut_file_op *op = arg;
    return fut__neg_errno(open(op->path, op->flags | O_CLOEXEC, op->mode));
}

static void close_unwanted_fd(ssize_t result, void *arg)
{
    if (result >= 0)
        close((int)result);
}

static ssize_t do_close(fut_job *job, void *arg)
{
    return fut__neg_errno(close(((fut_file_op *)arg)->fd));
}

static ssize_t do_fsync(fut_job *job, void *arg)
{
    return fut__neg_errno(fsync(((fut_file_op *)arg)->fd));
}

static ssize_t do_stat(fut_job *job, void *arg)
{
    fut_file_op *op = arg;
    return fut__neg_errno(stat(op->path, op->st));
}

static fut *file_setup(fut_file_op *op, fut_job_fn fn, fut_job_release release)
{
    op->fd = -1;
    op->flags = op->mode = op->owned = 0;
    op->buf = NULL;
    op->len = 0;
    op->off = 0;
    op->path = NULL;
    op->st = NULL;
    return job_setup(&op->job, &job_vt, fn, op, release);
}

FUT_API fut *fut_file_pread(fut_file_op *op, int fd, void *buf, size_t len, off_t off)
{
    fut *f = file_setup(op, do_pread, NULL);
    op->fd = fd;
    op->buf = buf;
    op->len = len;
    op->off = off;
    return f;
}

FUT_API fut *fut_file_pwrite(fut_file_op *op, int fd, const void *buf, size_t len, off_t off)
{
    fut *f = file_setup(op, do_pwrite, NULL);
    op->fd = fd;
    op->buf = (void *)buf;
    op->len = len;
    op->off = off;
    return f;
}

/* The owned buffer: allocated at the first poll, freed once the worker
 * let go of it. */
static fut_status owned_poll(fut *self, fut_cx *cx)
{
    fut_file_op *op = (fut_file_op *)self;
    if (!op->buf && job_state(&op->job) == J_IDLE) {
        op->buf = fut__alloc(op->len ? op->len : 1);
        if (!op->buf)
            return fut_ready(self, -ENOMEM);
    }
    return job_step(&op->job, cx);
}

static fut_status owned_poll_drop(fut *self, fut_cx *cx)
{
    fut_file_op *op = (fut_file_op *)self;
    if (job_step_drop(&op->job, cx) == FUT_PENDING)
        return FUT_PENDING;
    if (op->buf) {
        fut__free(op->buf, op->len ? op->len : 1);
        op->buf = NULL;
    }
    return FUT_READY;
}

static const struct fut_vtable owned_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_file_pread_owned",
    .poll = owned_poll,
    .poll_drop = owned_poll_drop,
};

FUT_API fut *fut_file_pread_owned(fut_file_op *op, int fd, size_t len, off_t off)
{
    file_setup(op, do_pread, NULL);
    op->job.base.vt = &owned_vt;
    op->owned = 1;
    op->fd = fd;
    op->len = len;
    op->off = off;
    return &op->job.base;
}

FUT_API void *fut_file_buf(fut_file_op *op)
{
    return op->owned && job_state(&op->job) == J_DONE ? op->buf : NULL;
}

FUT_API fut *fut_file_open(fut_file_op *op, const char *path, int flags, int mode)
{
    fut *f = file_setup(op, do_open, close_unwanted_fd);
    op->path = path;
    op->flags = flags;
    op->mode = mode;
    return f;
}

FUT_API fut *fut_file_close(fut_file_op *op, int fd)
{
    fut *f = file_setup(op, do_close, NULL);
    op->fd = fd;
    return f;
}

FUT_API fut *fut_file_fsync(fut_file_op *op, int fd)
{
    fut *f = file_setup(op, do_fsync, NULL);
    op->fd = fd;
    return f;
}

FUT_API fut *fut_file_stat(fut_file_op *op, const char *path, struct stat *st)
{
    fut *f = file_setup(op, do_stat, NULL);
    op->path = path;
    op->st = st;
    return f;
}

/* --- DNS -------------------------------------------------------------------------------------------- */

/* getaddrinfo's failures as the library's codes (<fut/pool.h>). On the
 * worker, right after the call: EAI_SYSTEM's errno is still this
 * thread's. */
static ssize_t eai_error(int r)
{
    switch (r) {
    case EAI_NONAME:
        return -FUT_EAI_NONAME;
    case EAI_AGAIN:
        return -FUT_EAI_AGAIN;
    case EAI_FAIL:
        return -FUT_EAI_FAIL;
#if defined(EAI_NODATA) || defined(EAI_ADDRFAMILY)
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return -FUT_EAI_NODATA;
#endif
    case EAI_FAMILY:
        return -FUT_EAI_FAMILY;
    case EAI_SERVICE:
        return -FUT_EAI_SERVICE;
    case EAI_SOCKTYPE:
        return -FUT_EAI_SOCKTYPE;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return errno > 0 ? -errno : -EIO;
    default:
        return -EIO;
    }
}

/* A lookup's own block, allocated at the first poll: the job the pool
 * runs, copies of the names and the result. The worker touches nothing
 * else, so the future can let go of it while getaddrinfo still runs. */
struct fut__dns_req {
    fut_job job;
    struct addrinfo *res;
    const char *host, *service; /* into name[], or NULL */
    size_t size;
    int family, socktype;
    char name[];
};

static ssize_t do_lookup(fut_job *job, void *arg)
{
    struct fut__dns_req *q = arg;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = q->family;
    hints.ai_socktype = q->socktype;
    int r = getaddrinfo(q->host, q->service, &hints, &q->res);
    return r ? eai_error(r) : 0;
}

static struct fut__dns_req *dns_req_new(const fut_dns *d)
{
    size_t hl = d->host ? strlen(d->host) + 1 : 0;
    size_t sl = d->service ? strlen(d->service) + 1 : 0;
    size_t size = offsetof(struct fut__dns_req, name) + hl + sl;
    struct fut__dns_req *q = fut__alloc(size);
    if (!q)
        return NULL;
    q->res = NULL;
    q->size = size;
    q->family = d->family;
    q->socktype = d->socktype;
    q->host = hl ? memcpy(q->name, d->host, hl) : NULL;
    q->service = sl ? memcpy(q->name + hl, d->service, sl) : NULL;
    job_setup(&q->job, &job_vt, do_lookup, q, NULL);
    return q;
}

static void dns_req_free(struct fut__dns_req *q)
{
    if (q->res)
        freeaddrinfo(q->res);
    fut__free(q, q->size);
}

/* A detached lookup's release, when getaddrinfo returned. */
static void dns_req_release(ssize_t result, void *arg)
{
    dns_req_free(arg);
}

/* The future lets go of its lookup without waiting for getaddrinfo. */
static void dns_let_go(fut_dns *d)
{
    struct fut__dns_req *q = d->req;
    if (!q)
        return;
    d->req = NULL;
    if (!job_detach(&q->job, dns_req_release))
        dns_req_free(q);
}

static fut_status dns_finish(fut_dns *d, ssize_t r)
{
    set_job_state(&d->job, J_DONE);
    return fut_ready(&d->job.base, r);
}

static fut_status dns_poll(fut *self, fut_cx *cx)
{
    fut_dns *d = (fut_dns *)self;
    struct fut__dns_req *q = d->req;
    if (!q) {
        if (fut_cx_cancelled(cx))
            return dns_finish(d, -ECANCELED);
        q = d->req = dns_req_new(d);
        if (!q)
            return dns_finish(d, -ENOMEM);
    } else if (fut_cx_cancelled(cx) && job_state(&q->job) != J_DONE) {
        dns_let_go(d); /* like a drop: getaddrinfo is not waited for */
        return dns_finish(d, -ECANCELED);
    }
    if (job_step(&q->job, cx) == FUT_PENDING)
        return FUT_PENDING;
    ssize_t r = fut_out(&q->job.base);
    d->res = q->res; /* NULL unless it succeeded */
    q->res = NULL;
    d->req = NULL;
    dns_req_free(q);
    return dns_finish(d, r);
}

/* Never waits: a lookup still running is detached (its list is freed when
 * getaddrinfo returns); the list the future holds is freed now. */
static fut_status dns_poll_drop(fut *self, fut_cx *cx)
{
    fut_dns *d = (fut_dns *)self;
    dns_let_go(d);
    if (d->res) {
        freeaddrinfo(d->res);
        d->res = NULL;
    }
    return FUT_READY;
}

static const struct fut_vtable dns_vt = {
    .size = sizeof(struct fut_vtable),
    .name = "fut_dns",
    .poll = dns_poll,
    .poll_drop = dns_poll_drop,
};

FUT_API fut *fut_dns_lookup(fut_dns *d, const char *host, const char *service, int family,
                            int socktype)
{
    d->host = host;
    d->service = service;
    d->family = family;
    d->socktype = socktype;
    d->res = NULL;
    d->req = NULL;
    return job_setup(&d->job, &dns_vt, NULL, NULL, NULL);
}

FUT_API struct addrinfo *fut_dns_result(fut_dns *d)
{
    return job_state(&d->job) == J_DONE ? d->res : NULL;
}

FUT_API struct addrinfo *fut_dns_take(fut_dns *d)
{
    struct addrinfo *r = fut_dns_result(d);
    if (r)
        d->res = NULL;
    return r;
}
