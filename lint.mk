# SPDX-License-Identifier: MIT
# Static analysis and formatting (included by Makefile.am).
#
#   make lint          tidy + cppcheck + format-check; fails on any finding
#   make tidy          clang-tidy (.clang-tidy) over the library's .c files
#   make cppcheck      cppcheck over the same files
#   make format-check  fails listing the tracked C files clang-format would
#                      change (.clang-format)
#   make format        rewrites those files in place
#
# Tools: clang-tidy 14, cppcheck 2.10, clang-format 14 (Debian: apt-get
# install clang-tidy cppcheck clang-format); another clang-format version
# may format differently. Policy for findings: fix the code; where the
# code is right, suppress on the line with the check's name and a reason
# (clang-tidy: NOLINT(check); cppcheck: cppcheck-suppress id ; reason).

CLANG_TIDY = clang-tidy
CPPCHECK = cppcheck
CLANG_FORMAT = clang-format
LINT_JOBS = 2

# Prints the library's .c files, one a line.
lint_srcs = for f in $(libfut_la_SOURCES); do \
	case $$f in *.c) echo "$(top_srcdir)/$$f" ;; esac; done
# The library's own preprocessor flags and C dialect (configure.ac).
lint_cppflags = $(DEFS) -D_GNU_SOURCE -I$(top_srcdir)/include -I$(top_builddir)/include -I$(top_srcdir)/src \
	-I$(top_builddir) $(EV_CFLAGS) $(URING_CFLAGS)
CPPCHECK_FLAGS = -q --std=c11 --library=posix --inline-suppr --error-exitcode=1 \
	--enable=warning,style,performance,portability
# Prints the C sources to format, run from $(top_srcdir): the tracked ones
# in a git work tree, else (a tarball) all of them.
format_files = if test -e .git; then \
	  git ls-files -- 'src/*.[ch]' 'include/*.[ch]' 't/*.[ch]' 'examples/*.[ch]' \
	    'bench/*.[ch]' 'fuzz/*.[ch]'; \
	else find src include t examples bench fuzz -name '*.[ch]' | LC_ALL=C sort; fi

# One after the other (their output stays apart); all three run, so one
# pass shows every finding.
lint:
	@rc=0; for t in tidy cppcheck format-check; do \
	  $(MAKE) $(AM_MAKEFLAGS) --no-print-directory $$t || rc=1; \
	done; \
	test $$rc = 0 || { echo "make lint: failed" >&2; exit 1; }; echo "lint: clean"

tidy: config.h
	@command -v $(CLANG_TIDY) >/dev/null || { \
	  echo "make tidy: $(CLANG_TIDY) not found" \
	    "(Debian: apt-get install clang-tidy)" >&2; exit 1; }
	@echo "  TIDY     src/*.c"
	@rc=0; out=$$($(lint_srcs) | xargs -P $(LINT_JOBS) -I{} \
	  $(CLANG_TIDY) --quiet --config-file=$(top_srcdir)/.clang-tidy {} -- \
	  -std=gnu11 $(lint_cppflags) 2>&1) || rc=$$?; \
	printf '%s\n' "$$out" | grep -v -e '^[0-9]* warnings\{0,1\} generated\.$$' -e '^$$' || :; \
	test $$rc = 0 || { echo "make tidy: clang-tidy found problems" >&2; exit 1; }

cppcheck: config.h
	@command -v $(CPPCHECK) >/dev/null || { \
	  echo "make cppcheck: $(CPPCHECK) not found" \
	    "(Debian: apt-get install cppcheck)" >&2; exit 1; }
	@echo "  CPPCHECK src/*.c"
	@$(CPPCHECK) $(CPPCHECK_FLAGS) -j $(LINT_JOBS) $(lint_cppflags) $$($(lint_srcs))

format-check:
	@command -v $(CLANG_FORMAT) >/dev/null || { \
	  echo "make format-check: $(CLANG_FORMAT) not found" \
	    "(Debian: apt-get install clang-format)" >&2; exit 1; }
	@$(CLANG_FORMAT) --version | grep -q 'version 14\.' || \
	  echo "make format-check: warning: .clang-format is tuned for clang-format 14;" \
	    "this is $$($(CLANG_FORMAT) --version)" >&2
	@cd $(top_srcdir) || exit 1; n=0; bad=; for f in $$($(format_files)); do \
	  $(CLANG_FORMAT) "$$f" | cmp -s "$$f" - || { bad="$$bad $$f"; n=$$((n + 1)); }; \
	done; \
	test $$n = 0 || { echo "make format-check: $$n files would be reformatted (make format):"; \
	  printf '  %s\n' $$bad; exit 1; }; echo "  FORMAT   clean"

format:
	@command -v $(CLANG_FORMAT) >/dev/null || { \
	  echo "make format: $(CLANG_FORMAT) not found" \
	    "(Debian: apt-get install clang-format)" >&2; exit 1; }
	cd $(top_srcdir) && $(CLANG_FORMAT) -i $$($(format_files))

.PHONY: lint tidy cppcheck format-check format
