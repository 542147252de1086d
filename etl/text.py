"""Text normalisation shared by the reference data and the submission reader."""

from __future__ import annotations

import re
import unicodedata

import polars as pl

# Characters that NFKD does not decompose but that people write without the ligature.
_LIGATURES = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"}
_SEPARATORS = re.compile(r"[\s\-_'’`.]+")


def normalise_key(value: str) -> str:
    """Lower case, no accents, one space between words: 'Chêne-Bougeries ' -> 'chene bougeries'."""
    for ligature, plain in _LIGATURES.items():
        value = value.replace(ligature, plain)
    decomposed = unicodedata.normalize("NFKD", value)
    without_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", without_marks.lower()).strip()


def normalise_key_expr(expr: pl.Expr) -> pl.Expr:
    """The vectorised twin of `normalise_key`, for Polars columns."""
    for ligature, plain in _LIGATURES.items():
        expr = expr.str.replace_all(ligature, plain, literal=True)
    return (
        expr.str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_lowercase()
        .str.replace_all(r"[\s\-_'’`.]+", " ")
        .str.strip_chars()
    )
