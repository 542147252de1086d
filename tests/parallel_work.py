"""Module-level work functions for tests/test_parallel.py (a worker process must import them)."""

from __future__ import annotations

import os
import sys

from etl.errors import UserError


def square_and_pid(offset: int, item: int) -> tuple[int, int]:
    return item * item + offset, os.getpid()


def refuse_seven(_shared: None, item: int) -> int:
    if item == 7:
        raise UserError(f"Fichier n° {item} : la colonne « personnes » attend un nombre entier.")
    return item


def modules_after_importing(watched: tuple[str, ...], module: str) -> list[str]:
    """Import `module` in this worker; which of `watched` are then loaded."""
    __import__(module)
    return sorted(name for name in watched if name in sys.modules)
