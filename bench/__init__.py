"""Benchmarks (DESIGN §8): measured, never asserted. Run one with `python -m bench.<name>`."""
