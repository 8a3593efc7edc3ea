# SPDX-License-Identifier: MIT
# B9 (HTTP/1.1 keep-alive "hello") programs; included from bench/bench.mk,
# whose variables (bench_cflags, bench_env) it uses. Its `+=` must come
# after bench.mk's first `=` of EXTRA_PROGRAMS and CLEANFILES.
#
#   make bench-http          B9: bench/http.sh (wrk, callgrind; about a minute)
#   make bench-http-smoke    B9: one tiny run per server (a few seconds)
#   make bench-http-build    only build them
#
# bench/http.sh also runs libfut's HTTP server (examples/http, or
# BENCH_HTTP_LIBFUT) when it is built, and nginx when it is installed.

HTTP_PROGS = bench/b_http_ev bench/http_client
EXTRA_PROGRAMS += $(HTTP_PROGS)

bench_b_http_ev_SOURCES = bench/b_http_ev.c bench/bench.h
bench_b_http_ev_CFLAGS = $(bench_cflags)
bench_b_http_ev_LDADD = $(EV_LIBS)

bench_http_client_SOURCES = bench/http_client.c bench/bench.h
bench_http_client_CFLAGS = $(bench_cflags)

EXTRA_DIST += bench/http.mk bench/http.sh
CLEANFILES += $(HTTP_PROGS)

bench-http-build: $(HTTP_PROGS)

bench-http: $(HTTP_PROGS)
	$(bench_env) $(SHELL) $(srcdir)/bench/http.sh $(BENCH_ARGS)

bench-http-smoke: $(HTTP_PROGS)
	$(bench_env) $(SHELL) $(srcdir)/bench/http.sh --smoke

.PHONY: bench-http bench-http-build bench-http-smoke
