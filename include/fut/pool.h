/* SPDX-License-Identifier: MIT */
/* libfut: blocking work on a thread pool, with cancellation that waits
 * for the worker to let go.
 *
 * Each runtime has one pool, started lazily at the first job: up to
 * fut_rt_set_pool_size() workers (default: the number of online CPUs),
 * a FIFO queue, and completions delivered to the loop thread in batches
 * through one ev_async (sends coalesce, nothing is lost). Workers block
 * every signal.
 *
 * Cancelling a job future (dropping it):
 *   - queued: the job is removed from the queue and never runs; the
 *     teardown is READY at once;
 *   - running: the job's cancel flag is set (a job may poll it with
 *     fut_job_cancelled() and return early); the teardown stays PENDING
 *     until the job function returned, so memory the job writes into (a
 *     buffer the future owns or was lent) stays alive until then; the sync
 *     drop (fut_drop) blocks until then, through a nested loop;
 *     (fut_dns is the exception: see below);
 *   - a job that completes after its future was cancelled, or whose
 *     result was never taken (the future dropped after the job finished
 *     but before a poll saw it), has its result released with the job's
 *     release callback: an fd it opened is closed, memory it allocated is
 *     freed.
 *
 * fork(): the child has no workers; jobs in flight at the fork never
 * complete in the child. A child must not use the parent's runtime; it
 * may only exit or exec.
 */
#ifndef FUT_POOL_H
#define FUT_POOL_H

#include <stdint.h>
#include <sys/stat.h>

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

struct addrinfo;
struct fut__dns_req;
typedef struct fut_job fut_job;

/* A job function: runs on a worker thread; returns its result (>= 0 a
 * value, < 0 a negative errno). It may poll fut_job_cancelled(job). */
typedef ssize_t (*fut_job_fn)(fut_job *job, void *arg);

/* Releases the result of a job nobody took (see above); called on the
 * loop thread. May be NULL when the result holds no resource. */
typedef void (*fut_job_release)(ssize_t result, void *arg);

/* The job future. Output: the job function's result; -ENOMEM (or the
 * error of pthread_create, e.g. -EAGAIN) when the pool could not start a
 * worker and none exists; -ECANCELED when it was polled under a cancelled
 * context before the job started. Embeddable;
 * no allocation per job. Fields private. */
struct fut_job {
    fut base;
    fut_job_fn fn;
    void *arg;
    fut_job_release release;
    fut_rt *rt;
    fut_waker *waker;
    struct fut_job *next; /* queue / completion links */
    struct fut_job *prev;
    int cancel; /* set when cancelled while running (atomic access) */
    int state;  /* loop thread's view */
    int taken;  /* the result was handed out by poll */
    ssize_t result;
};

/* Initialises a job future running fn(job, arg) on rt's pool once polled
 * (the first poll submits it). Returns &job->base. */
FUT_API fut *fut_job_init(fut_job *job, fut_job_fn fn, void *arg, fut_job_release release);

/* From the job function, on its worker: 1 once the job's future was
 * cancelled. Any thread. */
FUT_API int fut_job_cancelled(const fut_job *job);

/* The most workers rt's pool may run (1 to 1024); fewer than running now
 * only stops idle ones. Returns 0 or -EINVAL. */
FUT_API int fut_rt_set_pool_size(fut_rt *rt, unsigned workers);

struct fut_pool_stats {
    uint64_t submitted;         /* jobs queued */
    uint64_t completed;         /* jobs whose function returned */
    uint64_t cancelled_queued;  /* removed from the queue, never ran */
    uint64_t cancelled_running; /* cancel flag set while running */
    uint64_t released;          /* results released by the release callback */
    uint64_t batches;           /* completion deliveries (ev_async callbacks) */
    uint64_t workers;           /* workers started now */
    uint64_t start_failures;    /* workers that could not be started (after
                                 * pthread_create failed, the pool waits
                                 * 10 ms, doubling to 1 s, before it tries
                                 * again) */
};

FUT_API int fut_rt_pool_stats(fut_rt *rt, struct fut_pool_stats *st, size_t size);

/* --- file I/O and DNS on the pool -----------------------------------------
 *
 * Each is a job future; cancellable by the rules above. Outputs are the
 * syscall's result or -errno.
 *
 * Buffers: fut_file_pread/pwrite use the caller's buffer, which must stay
 * valid until the future is READY or its drop completed (poll_drop READY,
 * or fut_drop returned): a cancelled read may still be writing into it
 * until then, which is exactly what the teardown waits for.
 * fut_file_pread_owned reads into a buffer the future owns (allocated at
 * the first poll with the library's allocator, freed at teardown after the
 * worker let go): read it with fut_file_buf() once READY.
 */
typedef struct fut_file_op {
    fut_job job;      /* first */
    int fd;           /* private */
    int flags;        /* private */
    int mode;         /* private */
    int owned;        /* private */
    void *buf;        /* private */
    size_t len;       /* private */
    off_t off;        /* private */
    const char *path; /* private */
    struct stat *st;  /* private */
} fut_file_op;

FUT_API fut *fut_file_pread(fut_file_op *op, int fd, void *buf, size_t len, off_t off);
FUT_API fut *fut_file_pwrite(fut_file_op *op, int fd, const void *buf, size_t len, off_t off);
FUT_API fut *fut_file_pread_owned(fut_file_op *op, int fd, size_t len, off_t off);
/* The owned buffer once READY (NULL before, or for other operations). */
FUT_API void *fut_file_buf(fut_file_op *op);
/* Output: the new fd. If the open completes after the future was
 * cancelled, the fd is closed. path must stay valid until READY or
 * dropped. */
FUT_API fut *fut_file_open(fut_file_op *op, const char *path, int flags, int mode);
FUT_API fut *fut_file_close(fut_file_op *op, int fd);
FUT_API fut *fut_file_fsync(fut_file_op *op, int fd);
/* Fills *st (which must stay valid until READY or dropped). */
FUT_API fut *fut_file_stat(fut_file_op *op, const char *path, struct stat *st);

/* Resolver failures: library error codes, one per getaddrinfo(3)
 * failure, so that an unknown host does not read "No such file or
 * directory". Positive constants outside errno's range, returned negated
 * like an errno (-FUT_EAI_NONAME); fut_strerror() describes each. */
#define FUT_EAI_NONAME 0x10001 /* EAI_NONAME: unknown host (or service) */
#define FUT_EAI_AGAIN 0x10002  /* EAI_AGAIN: temporary failure, try later */
#define FUT_EAI_FAIL 0x10003   /* EAI_FAIL: non-recoverable failure */
#define FUT_EAI_NODATA \
    0x10004                    /* EAI_NODATA, EAI_ADDRFAMILY: no address \
                                  (of the family asked for) */
#define FUT_EAI_FAMILY 0x10005 /* EAI_FAMILY: family not supported */
#define FUT_EAI_SERVICE \
    0x10006                      /* EAI_SERVICE: service unknown for the \
                                    socket type */
#define FUT_EAI_SOCKTYPE 0x10007 /* EAI_SOCKTYPE: socket type not supported */

/* getaddrinfo(3) on the pool. Output: 0 (the list is then in
 * fut_dns_result(), owned by the future and freed at its teardown unless
 * taken with fut_dns_take()), or a negative code: -FUT_EAI_NONAME,
 * -FUT_EAI_AGAIN, -FUT_EAI_FAIL, -FUT_EAI_NODATA, -FUT_EAI_FAMILY,
 * -FUT_EAI_SERVICE, -FUT_EAI_SOCKTYPE (above); -ENOMEM (EAI_MEMORY, or
 * the library's own allocation); the errno of EAI_SYSTEM; -EIO for any
 * other failure. A lookup that completes after being cancelled has its
 * list freed.
 *
 * host and service (either may be NULL, as for getaddrinfo) are copied at
 * the first poll, into one block allocated then with the library's
 * allocator (-ENOMEM if that fails): they need only stay valid until the
 * first poll.
 *
 * Cancelling does not wait for getaddrinfo, which cannot be interrupted
 * and may block for the resolver's whole timeout: a lookup still running
 * when its future is dropped, or polled under a cancelled context
 * (output -ECANCELED), is detached. The teardown is READY at once and
 * never blocks (the sync drop needs no loop), the future's memory may go
 * at once, and the worker writes only into the lookup's own block; when
 * getaddrinfo returns, its list and the block are freed (on the loop
 * thread; counted in fut_rt_pool_stats() as `released`). The worker stays
 * busy until then: lookups that hang can occupy every worker and delay
 * the jobs queued behind them. fut_rt_free() does not wait for such a
 * worker either (see <fut/rt.h>). A lookup still queued is removed and
 * never runs; one that completed is freed with its list. */
typedef struct fut_dns {
    fut_job job;              /* first */
    const char *host;         /* private */
    const char *service;      /* private */
    int family, socktype;     /* private */
    struct addrinfo *res;     /* private */
    struct fut__dns_req *req; /* private: the lookup's own block */
} fut_dns;

FUT_API fut *fut_dns_lookup(fut_dns *d, const char *host, const char *service, int family,
                            int socktype);
FUT_API struct addrinfo *fut_dns_result(fut_dns *d);
/* Takes the list out of the future: free it with freeaddrinfo(). */
FUT_API struct addrinfo *fut_dns_take(fut_dns *d);

#ifdef __cplusplus
}
#endif

#endif
