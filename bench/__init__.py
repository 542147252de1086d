"""Benchmarks (DESIGN §8): measured, never asserted. `make bench` = `python -m bench` runs them all
(bench/README.md); `python -m bench.bench_load` runs the loader's alone."""
