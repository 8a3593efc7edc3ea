# Benchmarks: built and run by `make bench`, never by `make` or `make check`.
bench:
	@echo "no benchmarks yet"
.PHONY: bench
