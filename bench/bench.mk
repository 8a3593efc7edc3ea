# SPDX-License-Identifier: MIT
# Benchmarks (included from Makefile.am): built and run by `make bench`,
# never by `make` or `make check` (they are EXTRA_PROGRAMS: automake only
# builds those on request).
#
#   make bench                        the timing table (bench/run.sh): libfut,
#                                     libev, libuv, Tokio alternating
#   make bench-smoke                  every workload at tiny N, a few seconds
#                                     (bench/run.sh --smoke; CI runs it)
#   make bench-callgrind              instructions per op (bench/callgrind.sh)
#   make bench-callgrind-compare      ... here and at BENCH_BASE (default
#                                     HEAD~1), side by side, > 2% worse flagged
#   make bench-syscalls               syscalls per op (bench/syscalls.sh)
#   make bench-plot                   bench/results/*.svg|png from the last
#                                     `make bench` (gnuplot; skipped without)
#   make bench-build                  only build them
#   (bench/echo.mk: make bench-echo, the B6 TCP echo table)
#   (bench/http.mk: make bench-http, the B9 HTTP keep-alive table)
#
# Each workload is a libfut program bench/b_<name> and its raw libev twin
# bench/b_<name>_ev, doing the same work; see the comment at the top of
# each source. The libfut ones link with -no-install so that they are real
# executables (not libtool wrappers) that valgrind can run directly. The
# libuv and Tokio peers (bench/peers/) are built by their own makefile;
# the scripts use whichever of them are built and show '-' for the others.
# `make bench`, bench-smoke, bench-callgrind and bench-syscalls build them
# first where their toolchains are installed (bench/peers.mk: libuv1-dev,
# cargo and librust-tokio-dev; a missing one is skipped with a message).

BENCH_WORKLOADS = spawn wake yield timer drop mem sync
# (sync has no libev twin: libev has nothing to coordinate)
BENCH_LIBFUT_PROGS = bench/b_spawn bench/b_wake bench/b_yield bench/b_timer bench/b_drop bench/b_mem \
	bench/b_sync
BENCH_LIBEV_PROGS = bench/b_spawn_ev bench/b_wake_ev bench/b_yield_ev bench/b_timer_ev bench/b_drop_ev bench/b_mem_ev
BENCH_PROGS = $(BENCH_LIBFUT_PROGS) $(BENCH_LIBEV_PROGS)
# Without a libev twin (not in the timing table yet): B10 channels.
BENCH_SOLO_PROGS = bench/b_chan
EXTRA_PROGRAMS = $(BENCH_PROGS) $(BENCH_SOLO_PROGS)

bench_cflags = $(AM_CFLAGS) $(EV_CFLAGS) -O2
bench_fut_ldadd = libfut.la $(EV_LIBS)
bench_fut_ldflags = -no-install

bench_b_spawn_SOURCES = bench/b_spawn.c bench/bench.h
bench_b_spawn_CFLAGS = $(bench_cflags)
bench_b_spawn_LDADD = $(bench_fut_ldadd)
bench_b_spawn_LDFLAGS = $(bench_fut_ldflags)
bench_b_spawn_ev_SOURCES = bench/b_spawn_ev.c bench/bench.h
bench_b_spawn_ev_CFLAGS = $(bench_cflags)
bench_b_spawn_ev_LDADD = $(EV_LIBS)

bench_b_chan_SOURCES = bench/b_chan.c bench/bench.h
bench_b_chan_CFLAGS = $(bench_cflags)
bench_b_chan_LDADD = $(bench_fut_ldadd)
bench_b_chan_LDFLAGS = $(bench_fut_ldflags)

bench_b_wake_SOURCES = bench/b_wake.c bench/bench.h
bench_b_wake_CFLAGS = $(bench_cflags)
bench_b_wake_LDADD = $(bench_fut_ldadd)
bench_b_wake_LDFLAGS = $(bench_fut_ldflags)
bench_b_wake_ev_SOURCES = bench/b_wake_ev.c bench/bench.h
bench_b_wake_ev_CFLAGS = $(bench_cflags)
bench_b_wake_ev_LDADD = $(EV_LIBS)

bench_b_yield_SOURCES = bench/b_yield.c bench/bench.h
bench_b_yield_CFLAGS = $(bench_cflags)
bench_b_yield_LDADD = $(bench_fut_ldadd)
bench_b_yield_LDFLAGS = $(bench_fut_ldflags)
bench_b_yield_ev_SOURCES = bench/b_yield_ev.c bench/bench.h
bench_b_yield_ev_CFLAGS = $(bench_cflags)
bench_b_yield_ev_LDADD = $(EV_LIBS)

bench_b_timer_SOURCES = bench/b_timer.c bench/bench.h
bench_b_timer_CFLAGS = $(bench_cflags)
bench_b_timer_LDADD = $(bench_fut_ldadd)
bench_b_timer_LDFLAGS = $(bench_fut_ldflags)
bench_b_timer_ev_SOURCES = bench/b_timer_ev.c bench/bench.h
bench_b_timer_ev_CFLAGS = $(bench_cflags)
bench_b_timer_ev_LDADD = $(EV_LIBS)

bench_b_drop_SOURCES = bench/b_drop.c bench/bench.h
bench_b_drop_CFLAGS = $(bench_cflags)
bench_b_drop_LDADD = $(bench_fut_ldadd)
bench_b_drop_LDFLAGS = $(bench_fut_ldflags)
bench_b_drop_ev_SOURCES = bench/b_drop_ev.c bench/bench.h
bench_b_drop_ev_CFLAGS = $(bench_cflags)
bench_b_drop_ev_LDADD = $(EV_LIBS)

bench_b_mem_SOURCES = bench/b_mem.c bench/bench.h
bench_b_mem_CFLAGS = $(bench_cflags)
bench_b_mem_LDADD = $(bench_fut_ldadd)
bench_b_mem_LDFLAGS = $(bench_fut_ldflags)
bench_b_mem_ev_SOURCES = bench/b_mem_ev.c bench/bench.h
bench_b_mem_ev_CFLAGS = $(bench_cflags)
bench_b_mem_ev_LDADD = $(EV_LIBS)

bench_b_sync_SOURCES = bench/b_sync.c bench/bench.h
bench_b_sync_CFLAGS = $(bench_cflags)
bench_b_sync_LDADD = $(bench_fut_ldadd)
bench_b_sync_LDFLAGS = $(bench_fut_ldflags)

# (the programs' sources are distributed through their _SOURCES)
EXTRA_DIST += bench/README.md bench/WORKLOADS.md bench/bench.mk bench/bench.h \
	bench/run.sh bench/callgrind.sh bench/callgrind-compare.sh bench/syscalls.sh \
	bench/plot.gp bench/plot.sh bench/results/hotpaths.txt \
	bench/results/results.txt bench/results/results.tsv bench/results/callgrind.txt \
	bench/results/callgrind-nodebug.txt bench/results/syscalls.txt \
	bench/results/echo.txt bench/results/echo.tsv \
	bench/results/scaling.svg bench/results/scaling.png \
	bench/results/echo.svg bench/results/echo.png

# Automake does not clean EXTRA_PROGRAMS by itself. (Makefile.am sets
# neither EXTRA_PROGRAMS nor CLEANFILES; should it start to, turn these two
# `=` into `+=`: automake wants the `=` first.) The scripts keep their raw
# output in bench/out/ (git-ignored; delete it at will).
CLEANFILES = $(BENCH_PROGS) $(BENCH_SOLO_PROGS) bench/out/*

bench_env = BENCH_BIN='$(abs_top_builddir)/bench' BENCH_SRC='$(abs_top_srcdir)/bench' \
	VALGRIND='$(VALGRIND)'

include $(srcdir)/bench/peers.mk
include $(srcdir)/bench/echo.mk
include $(srcdir)/bench/http.mk
include $(srcdir)/bench/extra.mk

# B5 (bench/b_fdhop[_ev]) comes from echo.mk; run.sh runs it with the rest.
bench_b5 = bench/b_fdhop bench/b_fdhop_ev

bench-build: $(BENCH_PROGS) $(BENCH_SOLO_PROGS) $(bench_b5)

bench: $(BENCH_PROGS) $(bench_b5) $(EXTRA_BENCH_PROGS) bench-peers
	$(bench_env) $(SHELL) $(srcdir)/bench/run.sh $(BENCH_ARGS)
	$(bench_env) $(SHELL) $(srcdir)/bench/extra.sh

# Every workload at tiny N (run.sh), then one tiny echo run per server,
# one tiny HTTP run per server (skipped with a message without wrk).
bench-smoke: $(BENCH_PROGS) $(ECHO_PROGS) $(HTTP_PROGS) $(EXTRA_BENCH_PROGS) bench-peers
	$(bench_env) $(SHELL) $(srcdir)/bench/run.sh --smoke $(BENCH_ARGS)
	$(bench_env) $(SHELL) $(srcdir)/bench/echo.sh --smoke
	$(bench_env) $(SHELL) $(srcdir)/bench/http.sh --smoke
	$(bench_env) $(SHELL) $(srcdir)/bench/extra.sh --smoke

bench-callgrind: $(BENCH_PROGS) $(bench_b5) bench-peers
	$(bench_env) $(SHELL) $(srcdir)/bench/callgrind.sh $(BENCH_ARGS)

bench-syscalls: $(BENCH_PROGS) $(bench_b5) bench-peers
	$(bench_env) $(SHELL) $(srcdir)/bench/syscalls.sh $(BENCH_ARGS)

bench-plot:
	$(bench_env) $(SHELL) $(srcdir)/bench/plot.sh $(BENCH_ARGS)

# libfut's instructions per op here and at BENCH_BASE (default HEAD~1,
# built in a temporary worktree), side by side; rows > 2% worse flagged.
BENCH_BASE = HEAD~1
bench-callgrind-compare: $(BENCH_PROGS) $(bench_b5)
	$(bench_env) $(SHELL) $(srcdir)/bench/callgrind-compare.sh --base '$(BENCH_BASE)' $(BENCH_ARGS)

.PHONY: bench bench-build bench-smoke bench-callgrind bench-syscalls bench-plot bench-callgrind-compare
