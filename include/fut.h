/* SPDX-License-Identifier: MIT */
/* libfut: futures with asynchronous destructors, on libev.
 *
 * The umbrella header. The API lives in:
 *   <fut/future.h>  the future protocol, drop glue, wakers, allocator
 *   <fut/rt.h>      runtime, tasks, join handles, nested loops, stats
 *   <fut/time.h>    sleep and deadlines
 *   <fut/io.h>      fd readiness, one-shot
 *   <fut/fd.h>      registered fds: cached readiness, read and write
 *   <fut/scope.h>   scopes, drop budgets, the orphanage, shutdown
 *   <fut/combine.h> all, select, timeout
 *   <fut/coro.h>    coroutine macros: futures written top to bottom
 *   <fut/pool.h>    blocking work on a thread pool; file I/O and DNS
 *   <fut/uring.h>   io_uring operations (falling back to the pool and readiness)
 *   <fut/net.h>     addresses, listeners, connect, streams with a graceful close, UDP
 *   <fut/signal.h>  waiting for POSIX signals, on any runtime
 *   <fut/process.h> child processes: spawn, wait, a graceful kill as the drop
 *   <fut/sync.h>    semaphore, notify, mutex: fair, cancellation-safe
 *   <fut/chan.h>    oneshot and bounded MPMC channels, across threads
 *   <fut/version.h> the headers' version: FUT_VERSION_STRING, _NUMBER, _AT_LEAST
 *
 * Errors are negative errno values throughout; fut_strerror() explains
 * them. See docs/DESIGN.md in the source tree for the architecture.
 */
#ifndef FUT_H
#define FUT_H

#include "fut/future.h"
#include "fut/rt.h"
#include "fut/time.h"
#include "fut/io.h"
#include "fut/fd.h"
#include "fut/scope.h"
#include "fut/combine.h"
#include "fut/coro.h"
#include "fut/pool.h"
#include "fut/uring.h"
#include "fut/net.h"
#include "fut/signal.h"
#include "fut/process.h"
#include "fut/sync.h"
#include "fut/chan.h"
#include "fut/version.h"

#endif
