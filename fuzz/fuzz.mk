# SPDX-License-Identifier: MIT
# The cancellation fuzzer (fuzz/cancel.c).
#
# make check builds fuzz/replay (the target with a plain main, any
# compiler) and t/fuzz-replay.sh runs it over fuzz/corpus.
#
# make fuzz builds the libFuzzer binary with clang, the library's sources
# compiled in with the same instrumentation (coverage, ASan, UBSan), and
# runs it for FUZZ_SECONDS on fuzz/corpus; new inputs go to
# fuzz/corpus-new, crashes to fuzz/artifacts/. make fuzz-smoke: 60 s.
# Without clang both say so and succeed.

fuzz_replay_SOURCES = fuzz/cancel.c fuzz/replay.c
fuzz_replay_CFLAGS = $(AM_CFLAGS) $(EV_CFLAGS)
fuzz_replay_LDADD = libfut.la $(EV_LIBS)

FUZZ_CC = clang
FUZZ_SECONDS = 600
FUZZ_SANFLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_ARGS =

fuzz/cancel-fuzzer: $(fuzz_replay_SOURCES) $(libfut_la_SOURCES) $(include_HEADERS) \
		$(futinclude_HEADERS) fuzz/fuzz.mk
	@$(MKDIR_P) fuzz
	$(AM_V_CCLD)srcs=; for f in $(libfut_la_SOURCES); do \
	  case $$f in *.c) srcs="$$srcs $(top_srcdir)/$$f" ;; esac; \
	done; \
	$(FUZZ_CC) -std=gnu11 -g -O1 $(FUZZ_SANFLAGS) -I$(top_srcdir)/include -I$(top_builddir)/include -I$(top_builddir) \
	  $(EV_CFLAGS) $(URING_CFLAGS) -o $@ $(top_srcdir)/fuzz/cancel.c $$srcs \
	  $(EV_LIBS) $(URING_LIBS) -lpthread

fuzz-run:
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1; then \
	  echo "make fuzz: $(FUZZ_CC) not found, skipped"; exit 0; fi; \
	tmp=$$(mktemp -d); \
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' \
	  >$$tmp/t.c; \
	if ! $(FUZZ_CC) -fsanitize=fuzzer -o $$tmp/t $$tmp/t.c >/dev/null 2>&1; then \
	  rm -rf $$tmp; \
	  echo "make fuzz: $(FUZZ_CC) cannot link libFuzzer (Debian: libclang-rt-dev), skipped"; \
	  exit 0; fi; \
	rm -rf $$tmp; \
	$(MAKE) $(AM_MAKEFLAGS) fuzz/cancel-fuzzer && \
	$(MKDIR_P) fuzz/corpus-new fuzz/artifacts && \
	fuzz/cancel-fuzzer -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=2048 \
	  -artifact_prefix=fuzz/artifacts/ \
	  -print_final_stats=1 $(FUZZ_ARGS) fuzz/corpus-new $(srcdir)/fuzz/corpus

fuzz:
	@$(MAKE) $(AM_MAKEFLAGS) fuzz-run

fuzz-smoke:
	@$(MAKE) $(AM_MAKEFLAGS) fuzz-run FUZZ_SECONDS=60

.PHONY: fuzz fuzz-run fuzz-smoke
CLEANFILES += fuzz/cancel-fuzzer
