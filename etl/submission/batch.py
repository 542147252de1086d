"""Read and check a batch of members' files, side by side on every core, handed back in order.

Reading and checking a file (`validate.check_file`) depends only on the file and on the reference
lookups, which a batch does not change: the files of a batch can be checked by several processes at
once. What depends on the files loaded before it (the periods already loaded: `validate.finish`) is
done afterwards, in order, by the process that loads. A batch of a few files is checked in this
process: starting the workers costs more than it saves.
"""

from __future__ import annotations

import collections
import concurrent.futures
import hashlib
import itertools
import multiprocessing
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from etl.errors import UserError
from etl.submission.lookups import Lookups
from etl.submission.reader import RawFile, read_file
from etl.submission.validate import CheckedFile, check_file

Progress = Callable[[str], None]
WORKERS_ENV_VAR = "OBSERVATOIRE_WORKERS"  # 1: check every file in this process
MIN_FILES_PER_WORKER = 8  # below, a worker's start (about a second of imports) is not worth it
MAX_WORKERS = 4


def worker_count(n_files: int) -> int:
    """How many processes check a batch of `n_files`: $OBSERVATOIRE_WORKERS, else one per core,
    at most MAX_WORKERS, and 1 (this process) for a small batch."""
    chosen = os.environ.get(WORKERS_ENV_VAR)
    if chosen:
        try:
            wanted = int(chosen)
        except ValueError:
            raise UserError(
                f"{WORKERS_ENV_VAR}={chosen!r} : attendu un nombre entier de processus (1 pour "
                "tout vérifier dans le processus du chargement)."
            ) from None
    else:
        wanted = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    return max(1, min(wanted, n_files // MIN_FILES_PER_WORKER))


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}".replace(".", ",")


def _too_large(path: Path, size: int, max_bytes: int) -> RawFile:
    """A file over the size cap, refused without being read (its checksum read in blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    raw = RawFile(path.name, digest.hexdigest(), kind=path.suffix.lower().lstrip(".") or "—")
    raw.issue(
        "—",
        f"Le fichier pèse {_megabytes(size)} Mo : la limite est de {_megabytes(max_bytes)} Mo. "
        "Un fichier de soumission ordinaire en fait bien moins : vérifiez qu'il s'agit du bon "
        "fichier et retirez ce qui ne fait pas partie du modèle. Pour charger malgré tout un gros "
        "fichier, le secrétariat peut relever la limite (observatoire charger --taille-max, en Mo).",
    )
    return raw


def check_path(path: Path, lookups: Lookups, max_bytes: int | None = None) -> CheckedFile:
    """Read one file (or refuse it unread when over the cap) and check it."""
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        return check_file(_too_large(path, size, max_bytes), lookups)
    return check_file(read_file(path), lookups)


# The lookups of a worker process, set once when it starts (not sent with every file).
_worker_lookups: Lookups | None = None


def _start_worker(lookups: Lookups) -> None:
    global _worker_lookups
    _worker_lookups = lookups


def _check_in_worker(path: Path, max_bytes: int | None) -> CheckedFile:
    assert _worker_lookups is not None, "worker started without its lookups"
    return check_path(path, _worker_lookups, max_bytes)


def checked_files(
    paths: list[Path], lookups: Lookups, progress: Progress, max_bytes: int | None = None
) -> Iterator[CheckedFile]:
    """Each file read and checked, in the order of `paths`; later files are checked while the
    caller works on earlier ones."""
    workers = worker_count(len(paths))
    if workers == 1:
        for path in paths:
            progress(f"{path.name} : lecture et validation")
            yield check_path(path, lookups, max_bytes)
        return
    # "spawn", not "fork": Polars and DuckDB run thread pools, which a forked child would inherit
    # in whatever state they were (Polars documents the deadlock).
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(lookups,)
    ) as pool:
        # A few files ahead of the caller, not the whole batch: checked files wait in memory.
        ahead = 2 * workers
        pending: collections.deque = collections.deque()
        queue = iter(paths)
        try:
            for path in itertools.islice(queue, ahead):
                pending.append((path, pool.submit(_check_in_worker, path, max_bytes)))
            while pending:
                path, future = pending.popleft()
                progress(f"{path.name} : lecture et validation")
                checked = future.result()
                for following in itertools.islice(queue, 1):
                    pending.append((following, pool.submit(_check_in_worker, following, max_bytes)))
                yield checked
        finally:
            for _, future in pending:
                future.cancel()
