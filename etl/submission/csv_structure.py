"""What is wrong with a CSV file's structure, line by line, when the fast parser refuses it.

Polars reads a CSV in one pass and, when a line has more values than the header has titles or a
quote is never closed, stops with an English message and no line number. These functions are called
only then (a rare, small file: plain Python is fine) and find the lines to show the member:

- a line with more values than titles: a value written with the separator in it (`1,234` in a
  comma-separated file), which shifts every value after it. Truncating the line would load wrong
  figures (1 person and 234 services instead of 1,234 persons), so it is refused. Values beyond the
  titles that are all empty (`;;` at the end of a line) carry nothing and are not a problem;
- a quote that opens a text and never closes it, which swallows the following lines into one value.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

MAX_LINES_REPORTED = 100
SHOWN_CHARS = 80
LINE_END = re.compile(r"\r\n|\r|\n")  # what the csv module takes for the end of a line
SEPARATOR_NAMES = {",": "« , » (virgule)", ";": "« ; » (point-virgule)", "\t": "tabulation"}


@dataclass(frozen=True)
class LongLine:
    row: int  # numbered as in the file (and in Excel), header line included
    found: int
    expected: int
    text: str  # the line, shortened, to show where it is


def shown(line: str) -> str:
    return line if len(line) <= SHOWN_CHARS else line[: SHOWN_CHARS - 1] + "…"


def long_lines(text: str, separator: str, header_row: int) -> tuple[list[LongLine], bool] | None:
    """Lines with values beyond the header's titles, and whether some of those values are not
    empty (only empty ones: the line can be read by dropping them). None if `csv` cannot split
    the text either (then the problem is not the number of values).

    `text` starts at the header line, which is line `header_row` of the file.
    """
    lines = LINE_END.split(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    found: list[LongLine] = []
    with_values = False
    try:
        header = next(reader, [])
        previous_end = reader.line_num
        for index, fields in enumerate(reader, start=1):
            start, previous_end = previous_end, reader.line_num
            extra = fields[len(header) :]
            if not extra:
                continue
            holds_values = any(value.strip() for value in extra)
            with_values = with_values or holds_values
            if holds_values:
                line = lines[start] if start < len(lines) else ""
                found.append(LongLine(header_row + index, len(fields), len(header), shown(line)))
    except csv.Error:
        return None
    return found, with_values


def long_line_message(line: LongLine, separator: str) -> str:
    name = SEPARATOR_NAMES.get(separator, f"« {separator} »")
    written = "1,234" if separator == "\t" else f"1{separator}234"
    example = (
        ""
        if separator == "\t"
        else f", par exemple un nombre écrit avec un séparateur des milliers ({written}), qui "
        "devient deux valeurs et décale toutes les suivantes"
    )
    return (
        f"Cette ligne a {line.found} valeurs, alors que la ligne des titres en annonce "
        f"{line.expected} : une valeur contient sans doute le séparateur {name}{example}. Les "
        "chiffres ne peuvent pas être lus sans risque d'erreur. Écrivez les nombres sans "
        f'séparateur des milliers (1234) ou mettez la valeur entre guillemets ("{written}"), '
        "puis renvoyez le fichier."
    )


def more_long_lines_message(total: int) -> str:
    return (
        f"{total} lignes en tout ont plus de valeurs que de titres de colonnes ; les "
        f"{MAX_LINES_REPORTED} premières sont indiquées. Corrigez-les toutes de la même façon."
    )


def unclosed_quote(text: str, first_line: int) -> tuple[int, str] | None:
    """(line number, line) of the first line where a quote opens a text that does not close on
    the same line, or None. In an activity sheet no value spans two lines, so that quote is one
    too many (or its closing one is missing)."""
    for index, line in enumerate(LINE_END.split(text)):
        if line.count('"') % 2:
            return first_line + index, shown(line)
    return None


UNCLOSED_QUOTE = (
    "Un guillemet (\") ouvre sur cette ligne un texte qui n'est jamais refermé : la suite du "
    "fichier serait lue comme une seule valeur. Retirez ce guillemet, ou ajoutez le guillemet "
    "fermant à la fin de la valeur, puis renvoyez le fichier."
)
IRREGULAR = (
    "Le fichier CSV est illisible : ses séparateurs et ses guillemets ne forment pas un tableau "
    "régulier (une ligne par ligne du tableau, une valeur par colonne). Ouvrez-le dans Excel et "
    "enregistrez-le à nouveau au format « CSV UTF-8 (délimité par des virgules) »."
)
