/* SPDX-License-Identifier: MIT */
/* Diagnostics, version and error strings. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fut_diag_fn diag_fn;
static void *diag_ud;

FUT_API void fut_set_diag_handler(fut_diag_fn fn, void *ud)
{
    diag_fn = fn;
    diag_ud = ud;
}

void fut__diag(const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap); /* a longer message is cut */
    va_end(ap);
    if (diag_fn) {
        diag_fn(msg, diag_ud);
        return;
    }
    (void)fprintf(stderr, "libfut: %s\n", msg); /* nothing to do if it fails */
    abort();
}

const char *fut__name(const fut *f)
{
    if (!f || !f->vt)
        return "(null)";
    return f->vt->name ? f->vt->name : "(unnamed future)";
}

FUT_API int fut_debug_checks(void)
{
#ifdef NDEBUG
    return 0;
#else
    return 1;
#endif
}

FUT_API const char *fut_version(void)
{
    return PACKAGE_VERSION;
}

FUT_API int fut_version_number(void)
{
    return FUT_VERSION_NUMBER;
}

FUT_API const char *fut_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case -ELOOP:
        return "nested loop depth limit reached";
    case -ENXIO:
        return "no current runtime on this thread";
    case -EALREADY:
        return "future already dropped";
    case -ESHUTDOWN:
        return "shut down (the runtime is being freed, or the scope is closed)";
    case -EPERM:
        return "runtime belongs to another thread";
    case -EBUSY:
        return "resource busy (runtime in use, or memory outstanding)";
    case -ECANCELED:
        return "cancelled";
    case -ETIMEDOUT:
        return "timed out";
    case -FUT_EAI_NONAME:
        return "unknown host (name resolution failed)";
    case -FUT_EAI_AGAIN:
        return "temporary failure in name resolution (try again later)";
    case -FUT_EAI_FAIL:
        return "non-recoverable failure in name resolution";
    case -FUT_EAI_NODATA:
        return "host has no address (of the requested family)";
    case -FUT_EAI_FAMILY:
        return "address family not supported by the resolver";
    case -FUT_EAI_SERVICE:
        return "unknown service (for this socket type)";
    case -FUT_EAI_SOCKTYPE:
        return "socket type not supported by the resolver";
    }
    /* -INT_MIN does not exist: no errno is that large anyway. */
    if (err < 0 && err != INT_MIN) {
#ifdef HAVE_STRERRORDESC_NP
        const char *s = strerrordesc_np(-err);
        if (s)
            return s;
#else
        static _Thread_local char buf[128];
#ifdef STRERROR_R_CHAR_P
        return strerror_r(-err, buf, sizeof buf);
#else
        if (strerror_r(-err, buf, sizeof buf) == 0)
            return buf;
#endif
#endif
    }
    return "unknown error";
}
