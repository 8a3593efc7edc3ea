# SPDX-License-Identifier: MIT
# The benchmark peers (bench/peers/, see bench/peers/README.md): the
# workloads of bench/WORKLOADS.md on libuv (bench/peers/uv/b_uv) and on
# Tokio current_thread (bench/peers/tokio, binary
# bench/peers/tokio/target/release/b_tokio). Included from bench/bench.mk,
# after its `CLEANFILES =` (automake wants the `=` before this `+=`).
#
#   make bench-peers          build both; a peer whose toolchain is missing
#                             is skipped with a message (never an error)
#   make bench-peers-clean    remove them (`make clean` does too)
#
# Built by `make bench-peers` only: not by `make`, `make check` or
# distcheck. libuv: $(CC) and pkg-config's libuv flags (Debian libuv1-dev).
# Tokio: cargo, offline, against the crates Debian unpacks in
# /usr/share/cargo/registry (librust-tokio-dev; bench/peers/tokio/.cargo/
# config.toml replaces crates.io by that directory), into
# bench/peers/tokio/target of the build tree; override the cargo program
# with `make bench-peers CARGO=/usr/bin/cargo`.

BENCH_PEER_UV = bench/peers/uv/b_uv
BENCH_PEER_UV_SRCS = $(srcdir)/bench/peers/uv/b_uv.c $(srcdir)/bench/bench.h
BENCH_PEER_TOKIO_SRCS = bench/peers/tokio/Cargo.toml bench/peers/tokio/Cargo.lock \
	bench/peers/tokio/.cargo/config.toml bench/peers/tokio/src/main.rs
BENCH_PEER_TOKIO_TARGET = $(abs_top_builddir)/bench/peers/tokio/target
BENCH_CARGO_REGISTRY = /usr/share/cargo/registry
CARGO = cargo

bench-peers: $(BENCH_PEER_UV) bench-peer-tokio

# Not created when libuv is missing: then the message comes at every run.
$(BENCH_PEER_UV): $(BENCH_PEER_UV_SRCS)
	@pc='$(PKG_CONFIG)'; test -n "$$pc" || pc=pkg-config; \
	if $$pc --exists libuv 2>/dev/null; then \
	  $(MKDIR_P) bench/peers/uv && \
	  echo "  CC       $@" && \
	  $(CC) $(AM_CFLAGS) -O2 $(CPPFLAGS) $(CFLAGS) $$($$pc --cflags libuv) \
	    -o $@ $(srcdir)/bench/peers/uv/b_uv.c $(LDFLAGS) $$($$pc --libs libuv); \
	else \
	  echo "libuv1-dev not installed: skipping the libuv peer"; \
	fi

# cargo decides itself whether anything needs rebuilding.
bench-peer-tokio:
	@if ! $(CARGO) --version >/dev/null 2>&1; then \
	  echo "cargo not found ($(CARGO)): skipping the Tokio peer"; \
	elif ! ls -d $(BENCH_CARGO_REGISTRY)/tokio-1.24.* >/dev/null 2>&1; then \
	  echo "librust-tokio-dev not installed (no tokio 1.24 in $(BENCH_CARGO_REGISTRY)): skipping the Tokio peer"; \
	else \
	  echo "  CARGO    bench/peers/tokio (offline, $(BENCH_CARGO_REGISTRY))"; \
	  cd $(srcdir)/bench/peers/tokio && \
	  CARGO_TARGET_DIR='$(BENCH_PEER_TOKIO_TARGET)' $(CARGO) build --release --offline --quiet; \
	fi

# A prerequisite only: any other clean-local rule (with its recipe) still
# applies.
clean-local: bench-peers-clean

bench-peers-clean:
	-rm -f $(BENCH_PEER_UV)
	-rm -rf '$(BENCH_PEER_TOKIO_TARGET)'

CLEANFILES += $(BENCH_PEER_UV)

EXTRA_DIST += bench/peers.mk bench/peers/README.md bench/peers/uv/b_uv.c \
	$(BENCH_PEER_TOKIO_SRCS)

.PHONY: bench-peers bench-peer-tokio bench-peers-clean
