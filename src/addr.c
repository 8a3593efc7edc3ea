/* SPDX-License-Identifier: MIT */
/* Socket addresses: parsing and formatting (<fut/net.h>). */
#include "internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, in_port_t *port)
{
    if (!*s)
        return -EINVAL;
    unsigned long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        if (v <= 65535)
            v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v > 65535)
        return -ERANGE;
    *port = htons((in_port_t)v);
    return 0;
}

static int parse_unix(fut_addr *a, const char *path)
{
    size_t n = strlen(path);
    fut_addr t;
    memset(&t, 0, sizeof t);
    t.u.un.sun_family = AF_UNIX;
    if (n == 0 || (path[0] == '@' && n == 1))
        return -EINVAL;
    if (path[0] == '@') { /* abstract: a leading NUL, no terminator */
        if (n > sizeof t.u.un.sun_path)
            return -ENAMETOOLONG;
        memcpy(t.u.un.sun_path + 1, path + 1, n - 1);
        t.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        if (n >= sizeof t.u.un.sun_path)
            return -ENAMETOOLONG;
        memcpy(t.u.un.sun_path, path, n + 1);
        t.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    *a = t;
    return 0;
}

/* Splits "host:port" or "[host]:port" into its parts; host is copied into
 * buf. Returns 0, -EINVAL. */
int fut__addr_split(const char *s, char *buf, size_t size, const char **port, int *bracketed)
{
    const char *host = s, *end;
    *bracketed = s[0] == '[';
    if (*bracketed) {
        host = s + 1;
        end = strchr(host, ']');
        if (!end || end[1] != ':')
            return -EINVAL;
        *port = end + 2;
    } else {
        end = strrchr(s, ':');
        if (!end || memchr(s, ':', (size_t)(end - s)))
            return -EINVAL; /* no port, or an IPv6 address without brackets */
        *port = end + 1;
    }
    size_t n = (size_t)(end - host);
    if (n == 0 || n >= size)
        return -EINVAL;
    memcpy(buf, host, n);
    buf[n] = '\0';
    return 0;
}

FUT_API int fut_addr_parse(fut_addr *a, const char *s)
{
    if (!a || !s)
        return -EINVAL;
    if (!strncmp(s, "unix:", 5))
        return parse_unix(a, s + 5);
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    const char *port;
    int br;
    int err = fut__addr_split(s, host, sizeof host, &port, &br);
    if (err)
        return err;
    fut_addr t;
    memset(&t, 0, sizeof t);
    in_port_t p;
    if ((err = parse_port(port, &p)))
        return err;
    if (!br && inet_pton(AF_INET, host, &t.u.in.sin_addr) == 1) {
        t.u.in.sin_family = AF_INET;
        t.u.in.sin_port = p;
        t.len = sizeof t.u.in;
    } else if (br) {
        char *scope = strchr(host, '%');
        if (scope)
            *scope++ = '\0';
        if (inet_pton(AF_INET6, host, &t.u.in6.sin6_addr) != 1)
            return -EINVAL;
        if (scope) {
            char *e;
            unsigned long id = strtoul(scope, &e, 10);
            if (!*scope || *e)
                id = if_nametoindex(scope);
            if (!id)
                return -EINVAL;
            t.u.in6.sin6_scope_id = (uint32_t)id;
        }
        t.u.in6.sin6_family = AF_INET6;
        t.u.in6.sin6_port = p;
        t.len = sizeof t.u.in6;
    } else {
        return -EINVAL;
    }
    *a = t;
    return 0;
}

FUT_API int fut_addr_format(const fut_addr *a, char *buf, size_t size)
{
    if (!a || (!buf && size))
        return -EINVAL;
    char host[INET6_ADDRSTRLEN];
    switch (a->u.sa.sa_family) {
    case AF_INET:
        inet_ntop(AF_INET, &a->u.in.sin_addr, host, sizeof host);
        return snprintf(buf, size, "%s:%u", host, ntohs(a->u.in.sin_port));
    case AF_INET6:
        inet_ntop(AF_INET6, &a->u.in6.sin6_addr, host, sizeof host);
        if (a->u.in6.sin6_scope_id)
            return snprintf(buf, size, "[%s%%%u]:%u", host, a->u.in6.sin6_scope_id,
                            ntohs(a->u.in6.sin6_port));
        return snprintf(buf, size, "[%s]:%u", host, ntohs(a->u.in6.sin6_port));
    case AF_UNIX: {
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t n = a->len > off ? a->len - off : 0;
        const char *p = a->u.un.sun_path;
        if (n && p[0] == '\0') /* abstract */
            return snprintf(buf, size, "unix:@%.*s", (int)(n - 1), p + 1);
        return snprintf(buf, size, "unix:%.*s", (int)strnlen(p, n), p);
    }
    }
    return -EINVAL;
}

FUT_API int fut_addr_port(const fut_addr *a)
{
    if (!a)
        return 0;
    if (a->u.sa.sa_family == AF_INET)
        return ntohs(a->u.in.sin_port);
    if (a->u.sa.sa_family == AF_INET6)
        return ntohs(a->u.in6.sin6_port);
    return 0;
}
