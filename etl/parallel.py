"""Independent pieces of work spread over the machine's cores, their results handed back in order.

Used where each piece depends only on its input and on data shared by all pieces, sent once to each
worker: checking a batch of members' files (etl/submission/batch.py), writing the demo members'
files (etl/demo/build.py). A small batch runs in this process: starting a worker (about a second of
imports) costs more than it saves.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import itertools
import multiprocessing
import os
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from etl.errors import UserError

WORKERS_ENV_VAR = "OBSERVATOIRE_WORKERS"  # 1: everything in this process
MAX_WORKERS = 4
Item = TypeVar("Item")
Result = TypeVar("Result")


def worker_count(n_items: int, min_items_per_worker: int) -> int:
    """$OBSERVATOIRE_WORKERS, else one process per core (at most MAX_WORKERS), never more than one
    per `min_items_per_worker` items; 1 means this process."""
    chosen = os.environ.get(WORKERS_ENV_VAR)
    if chosen:
        try:
            wanted = int(chosen)
        except ValueError:
            raise UserError(
                f"{WORKERS_ENV_VAR}={chosen!r} : attendu un nombre entier de processus (1 pour "
                "tout faire dans le processus de la commande)."
            ) from None
    else:
        wanted = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    return max(1, min(wanted, n_items // min_items_per_worker))


# What every piece of work shares, set once when a worker starts (not sent with every item).
_shared: Any = None


def _start_worker(shared: Any) -> None:
    global _shared
    _shared = shared


@contextlib.contextmanager
def _main_script_left_behind() -> Iterator[None]:
    """While the workers start, a bare module stands in for `__main__`.

    A spawned worker runs the parent's `__main__` script again before anything else, so that
    functions defined there can be unpickled. The work we send is always a module-level function
    of the `etl` package, never `__main__`'s; but `__main__` is the `observatoire` script (which
    imports the whole CLI: ETL, publish, statsmodels, about 2 s of CPU per worker) or, in the
    dashboard, the Streamlit page being run. Without it a worker imports only the module of its
    `work` function. The previous `__main__` is put back unless another thread replaced it
    meanwhile (Streamlit's script runner sets it at every run).
    """
    previous = sys.modules["__main__"]
    stand_in = types.ModuleType("__main__")
    sys.modules["__main__"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("__main__") is stand_in:
            sys.modules["__main__"] = previous


def _run_in_worker(work: Callable[[Any, Item], Result], item: Item) -> Result:
    return work(_shared, item)


def ordered_map(
    work: Callable[[Any, Item], Result],
    items: Iterable[Item],
    shared: Any,
    *,
    min_items_per_worker: int,
) -> Iterator[Result]:
    """`work(shared, item)` for each item, in order. `work` must be a module-level function and
    `shared` picklable. Workers stay a few items ahead of the caller, not the whole batch ahead:
    results wait in memory until the caller takes them."""
    items = list(items)
    workers = worker_count(len(items), min_items_per_worker)
    if workers == 1:
        yield from (work(shared, item) for item in items)
        return
    # "spawn", not "fork": Polars and DuckDB run thread pools, which a forked child would inherit
    # in whatever state they were in (Polars documents the deadlock).
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(shared,)
    ) as pool:
        queue = iter(items)
        # The pool starts a worker at each submit while none is idle: the first 2 × workers
        # submits, a few microseconds apart, start all of them (a worker takes a third of a
        # second to start; one started later would only be slower: it runs the script again).
        with _main_script_left_behind():
            pending = collections.deque(
                pool.submit(_run_in_worker, work, item)
                for item in itertools.islice(queue, 2 * workers)
            )
        try:
            while pending:
                result = pending.popleft().result()
                pending.extend(
                    pool.submit(_run_in_worker, work, item) for item in itertools.islice(queue, 1)
                )
                yield result
        finally:
            for future in pending:
                future.cancel()
