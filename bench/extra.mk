# SPDX-License-Identifier: MIT
# Benchmarks of the structured-concurrency and owned-buffer layers
# (issues 4 and 5): select over K children, the pool, io_uring against
# readiness I/O. Included from bench.mk; built only by the bench targets.
EXTRA_BENCH_PROGS = bench/b_select bench/b_pool bench/b_uring bench/b_process bench/b_process_raw
EXTRA_PROGRAMS += $(EXTRA_BENCH_PROGS)
CLEANFILES += $(EXTRA_BENCH_PROGS)

bench_b_select_SOURCES = bench/b_select.c
bench_b_select_CFLAGS = $(bench_cflags)
bench_b_select_LDADD = $(bench_fut_ldadd)
bench_b_select_LDFLAGS = $(bench_fut_ldflags)
bench_b_pool_SOURCES = bench/b_pool.c
bench_b_pool_CFLAGS = $(bench_cflags)
bench_b_pool_LDADD = $(bench_fut_ldadd)
bench_b_pool_LDFLAGS = $(bench_fut_ldflags)
bench_b_uring_SOURCES = bench/b_uring.c
bench_b_uring_CFLAGS = $(bench_cflags)
bench_b_uring_LDADD = $(bench_fut_ldadd)
bench_b_uring_LDFLAGS = $(bench_fut_ldflags)

bench_b_process_SOURCES = bench/b_process.c
bench_b_process_CFLAGS = $(bench_cflags)
bench_b_process_LDADD = $(bench_fut_ldadd)
bench_b_process_LDFLAGS = $(bench_fut_ldflags)
bench_b_process_raw_SOURCES = bench/b_process_raw.c bench/bench.h
bench_b_process_raw_CFLAGS = $(bench_cflags)

EXTRA_DIST += bench/extra.mk bench/extra.sh

# `make bench-extra` (and bench-extra-smoke, run by bench-smoke).
bench-extra: $(EXTRA_BENCH_PROGS)
	$(bench_env) $(SHELL) $(srcdir)/bench/extra.sh

bench-extra-smoke: $(EXTRA_BENCH_PROGS)
	$(bench_env) $(SHELL) $(srcdir)/bench/extra.sh --smoke

.PHONY: bench-extra bench-extra-smoke
