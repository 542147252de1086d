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


# Characters that act on a terminal or reorder text instead of showing: C0 and C1 controls (ESC
# starts the sequences that clear a screen or move the cursor), DEL, and the bidirectional
# overrides and isolates (which make « chargé » read backwards or hide a part of a line).
_CONTROLS = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_CONTROLS_BUT_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _escaped(match: re.Match) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str | None, *, keep_lines: bool = False) -> str:
    """Text from a member's file made safe to show: each control or bidi character written as its
    code (ESC -> '\\x1b'), so it can be seen and fixed but acts on nothing. `keep_lines` keeps line
    breaks and tabs (a long text shown in a table cell)."""
    if not text:
        return text or ""
    pattern = _CONTROLS_BUT_LINES if keep_lines else _CONTROLS
    return pattern.sub(_escaped, text) if pattern.search(text) else text
