# SPDX-License-Identifier: MIT
# B5 (fd readiness hop) and B6 (TCP echo) programs; included at the end of
# bench/bench.mk, whose variables (bench_cflags, bench_fut_ldadd,
# bench_fut_ldflags, bench_env) it uses. Its `+=` must come after
# bench.mk's first `=` of EXTRA_PROGRAMS and CLEANFILES.
#
#   make bench-echo          B6: bench/echo.sh (a few minutes; strace needed)
#   make bench-echo-smoke    B6: one tiny run per built server (a few seconds)
#   make bench-echo-build    only build them
#
# bench/b_fdhop[_ev] (B5) are run by bench/run.sh and bench/syscalls.sh.
# bench/echo.sh uses the libuv and Tokio echo servers (bench/peers/) when
# they are built.

ECHO_LIBFUT_PROGS = bench/b_fdhop bench/b_echo bench/b_echo_stream
ECHO_LIBEV_PROGS = bench/b_fdhop_ev bench/b_echo_ev
ECHO_PROGS = $(ECHO_LIBFUT_PROGS) $(ECHO_LIBEV_PROGS) bench/echo_client
EXTRA_PROGRAMS += $(ECHO_PROGS)

bench_b_fdhop_SOURCES = bench/b_fdhop.c bench/bench.h
bench_b_fdhop_CFLAGS = $(bench_cflags)
bench_b_fdhop_LDADD = $(bench_fut_ldadd)
bench_b_fdhop_LDFLAGS = $(bench_fut_ldflags)
bench_b_fdhop_ev_SOURCES = bench/b_fdhop_ev.c bench/bench.h
bench_b_fdhop_ev_CFLAGS = $(bench_cflags)
bench_b_fdhop_ev_LDADD = $(EV_LIBS)

bench_b_echo_SOURCES = bench/b_echo.c bench/bench.h
bench_b_echo_CFLAGS = $(bench_cflags)
bench_b_echo_LDADD = $(bench_fut_ldadd)
bench_b_echo_LDFLAGS = $(bench_fut_ldflags)
bench_b_echo_stream_SOURCES = bench/b_echo_stream.c bench/bench.h
bench_b_echo_stream_CFLAGS = $(bench_cflags)
bench_b_echo_stream_LDADD = $(bench_fut_ldadd)
bench_b_echo_stream_LDFLAGS = $(bench_fut_ldflags)
bench_b_echo_ev_SOURCES = bench/b_echo_ev.c bench/bench.h
bench_b_echo_ev_CFLAGS = $(bench_cflags)
bench_b_echo_ev_LDADD = $(EV_LIBS)

bench_echo_client_SOURCES = bench/echo_client.c bench/bench.h
bench_echo_client_CFLAGS = $(bench_cflags)

EXTRA_DIST += bench/echo.mk bench/echo.sh
CLEANFILES += $(ECHO_PROGS)

bench-echo-build: $(ECHO_PROGS)

bench-echo: $(ECHO_PROGS)
	$(bench_env) $(SHELL) $(srcdir)/bench/echo.sh $(BENCH_ARGS)

bench-echo-smoke: $(ECHO_PROGS)
	$(bench_env) $(SHELL) $(srcdir)/bench/echo.sh --smoke

.PHONY: bench-echo bench-echo-build bench-echo-smoke
