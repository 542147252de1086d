"""Read and check a batch of members' files, side by side on every core, handed back in order.

Reading and checking a file (`validate.check_file`) depends only on the file and on the reference
lookups, which a batch does not change: the files of a batch can be checked by several processes at
once. What depends on the files loaded before it (the periods already loaded: `validate.finish`) is
done afterwards, in order, by the process that loads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from etl import parallel
from etl.submission.lookups import Lookups
from etl.submission.reader import RawFile, read_file
from etl.submission.validate import CheckedFile, check_file

Progress = Callable[[str], None]
MIN_FILES_PER_WORKER = 8  # below, a worker's start (about a second of imports) is not worth it


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


def _check(lookups_and_cap: tuple[Lookups, int | None], path: Path) -> CheckedFile:
    lookups, max_bytes = lookups_and_cap
    return check_path(path, lookups, max_bytes)


def checked_files(
    paths: list[Path], lookups: Lookups, progress: Progress, max_bytes: int | None = None
) -> Iterator[CheckedFile]:
    """Each file read and checked, in the order of `paths`; later files are checked by other
    processes while the caller works on earlier ones (etl/parallel.py)."""
    checked = parallel.ordered_map(
        _check, paths, (lookups, max_bytes), min_items_per_worker=MIN_FILES_PER_WORKER
    )
    for path, result in zip(paths, checked, strict=True):
        progress(f"{path.name} : lecture et validation")
        yield result
