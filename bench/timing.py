"""Small timing helpers: repeated measurements and their percentiles."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Seconds of each repetition of one measurement."""

    samples: tuple[float, ...]

    def percentile(self, q: float) -> float:
        """Linear interpolation between the closest ranks (q in 0…100)."""
        ordered = sorted(self.samples)
        if not ordered:
            return float("nan")
        position = (len(ordered) - 1) * q / 100
        low = int(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def total(self) -> float:
        return sum(self.samples)


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """No garbage collection inside a sample (as timeit does): a collection triggered there would
    charge it for garbage made by others. The young generation is collected after it."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def measure(
    work: Callable[[], object],
    repeat: int,
    *,
    before_each: Callable[[], object] | None = None,
    warmup: int = 0,
) -> Timing:
    """Time `work` `repeat` times (after `warmup` untimed runs); `before_each` runs untimed."""
    for _ in range(warmup):
        if before_each:
            before_each()
        work()
    samples = []
    for _ in range(repeat):
        if before_each:
            before_each()
        with _no_collection():
            started = time.perf_counter()
            work()
            samples.append(time.perf_counter() - started)
    return Timing(tuple(samples))


def measure_within(work: Callable[[], object], repeat: int, budget_s: float) -> Timing:
    """Up to `repeat` samples of `work`, stopping once `budget_s` seconds are spent (one at least)."""
    samples: list[float] = []
    while len(samples) < repeat and (not samples or sum(samples) < budget_s):
        with _no_collection():
            started = time.perf_counter()
            work()
            samples.append(time.perf_counter() - started)
    return Timing(tuple(samples))


def measure_interleaved(
    works: dict[str, Callable[[], object]],
    repeat: int,
    *,
    before: dict[str, Callable[[], object]] | None = None,
    warmup: int = 1,
) -> dict[str, Timing]:
    """Time several ways of doing the same work, alternating them in each round.

    On a shared machine the load drifts over a run; alternating puts every way under the same
    drift, so their ratio stays meaningful even when absolute times are noisy.
    """
    before = before or {}
    samples: dict[str, list[float]] = {name: [] for name in works}
    for round_number in range(warmup + repeat):
        for name, work in works.items():
            if name in before:
                before[name]()
            with _no_collection():
                started = time.perf_counter()
                work()
                seconds = time.perf_counter() - started
            if round_number >= warmup:
                samples[name].append(seconds)
    return {name: Timing(tuple(values)) for name, values in samples.items()}


def timed(work: Callable[[], object]) -> tuple[object, float]:
    """(result, seconds) of one call."""
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started
