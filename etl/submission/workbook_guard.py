"""Check an .xlsx archive before the Excel reader opens it, so a hostile or broken workbook is refused
with a French sentence instead of exhausting the memory of the process reading it.

The Excel reader (calamine, through fastexcel) works in native code, where running out of memory
aborts the whole process: the command line, or the dashboard server when the file came through the
Administration page. Three things in a file make it allocate without bound, and are checked here first:

- members that inflate to gigabytes (a "zip bomb"): every member is inflated once, in chunks, with
  its CRC checked, and the archive may not hold more than MAX_UNCOMPRESSED_BYTES;
- one cell far away (XFD1048576): the reader allocates the dense grid from A1 to the furthest cell, so
  the grid of each worksheet (rows × columns up to its furthest cell with a value) is capped at
  MAX_CELLS; the same cap applies to merged ranges, which the reader fills cell by cell;
- a shared-strings table announcing more entries than it could hold (memory is reserved for the
  announced count).

Each worksheet is walked with expat (the C parser of the standard library, which refuses entity
expansion bombs), computing cell positions the way the reader does (the `r` attribute, or the next
position when it is absent).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from xml.parsers import expat

MAX_UNCOMPRESSED_BYTES = 256 * 1024 * 1024
MAX_CELLS = 5_000_000
# The smallest shared string, <si><t/></si>, takes 12 bytes: a table cannot hold more entries.
SMALLEST_SHARED_STRING_BYTES = 12
CHUNK_BYTES = 1024 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx, or an old .xls renamed
WORKBOOK_PART = "xl/workbook.xml"
CELL_REFERENCE = re.compile(r"^\$?([A-Za-z]{1,7})\$?(\d{1,12})$")
MAX_TAG_BYTES = 1024 * 1024
# Office files never declare a document type; one that does may define entities (expansion bombs)
# that the reader would handle differently from expat.
DOCUMENT_TYPE = b"<!DOCTYPE"
MAX_MERGES = 100_000
# Fast path of the worksheet scan, for sheets whose every cell tag starts with its position, as
# Excel, LibreOffice and the usual libraries write them. Any `r` attribute counts (cells and rows;
# the reader keeps the last of duplicated attributes): short ones (A to Z, rows under 100 000) bound
# the grid by 26 × 99 999 cells; the few others are read exactly. When that bound is not enough, or
# a cell is placed by its order, the sheet is walked with expat instead.
CELL_TAGS = (b"<c ", b"<c>", b"<c/", b"<c\t", b"<c\n", b"<c\r")
CELL_TAG_WITH_POSITION = b'<c r="'
SHORT_COLUMNS, SHORT_ROWS = 26, 99_999
FAR_POSITION = re.compile(
    rb"r\s*=\s*[\"']\$?(?:([A-Za-z]{2,7})\$?(\d{1,12})|([A-Za-z]?)\$?(\d{6,12}))"
)
MERGE_REFERENCE = re.compile(rb"mergeCell\s[^>]*?\bref\s*=\s*[\"']([^\"']{1,40})[\"']")
SHARED_STRINGS_TAG = re.compile(rb"<(?:\w+:)?sst\b[^>]*>")
UNIQUE_COUNT = re.compile(rb"\buniqueCount\s*=\s*[\"'](\d{1,20})[\"']")

UNREADABLE = (
    "Le fichier n'est pas un classeur Excel lisible (.xlsx). Ouvrez-le dans Excel et "
    "enregistrez-le à nouveau au format « Classeur Excel (.xlsx) »."
)
PROTECTED_OR_OLD = (
    "Le fichier n'est pas un classeur Excel lisible (.xlsx) : c'est un classeur protégé par un mot "
    "de passe, ou un ancien fichier .xls renommé en .xlsx. Retirez le mot de passe (Fichier > "
    "Informations > Protéger le classeur) puis enregistrez-le au format « Classeur Excel (.xlsx) »."
)


def _number(value: int) -> str:
    """12345678 -> '12 345 678' (narrow no-break spaces, as in French)."""
    return f"{value:,}".replace(",", "\u202f")


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.0f} Mo"


def _damaged(part: str) -> str:
    return (
        f"Le fichier est endommagé : la partie « {part} » de l'archive .xlsx est incomplète ou "
        "corrompue. Ouvrez-le dans Excel : s'il s'ouvre, enregistrez-le à nouveau ; sinon, "
        "renvoyez le fichier d'origine."
    )


def _not_standard(part: str) -> str:
    return (
        f"Le fichier n'est pas un classeur Excel standard : la partie « {part} » déclare un type de "
        "document XML, ce qu'Excel ne fait jamais. Ouvrez-le dans Excel et enregistrez-le à nouveau "
        "au format « Classeur Excel (.xlsx) »."
    )


def _too_large(size: int) -> str:
    return (
        f"Le classeur se décompresse en plus de {_megabytes(MAX_UNCOMPRESSED_BYTES)} "
        f"({_megabytes(size)} au moins) : ce n'est pas un fichier de soumission ordinaire, qui "
        "en fait moins d'un. Vérifiez qu'il s'agit du bon fichier et retirez les feuilles qui ne "
        "font pas partie du modèle."
    )


def _too_many_cells(sheet: str, furthest: str, cells: int) -> str:
    return (
        f"La feuille « {sheet} » s'étend jusqu'à la cellule {furthest}, soit {_number(cells)} cellules "
        f"(au plus {_number(MAX_CELLS)}). Supprimez les lignes et les colonnes au-delà de votre tableau "
        "(sélectionnez-les, clic droit > Supprimer), puis enregistrez le fichier."
    )


def _too_many_merged(sheet: str, cells: int) -> str:
    return (
        f"La feuille « {sheet} » contient des cellules fusionnées couvrant {_number(cells)} cellules "
        f"(au plus {_number(MAX_CELLS)}). Annulez les fusions inutiles (Accueil > Fusionner et centrer), "
        "puis enregistrez le fichier."
    )


def _bad_shared_strings(announced: int, size: int) -> str:
    return (
        f"Le classeur est incohérent : il annonce {_number(announced)} textes partagés dans une partie de "
        f"{_number(size)} octets. Ouvrez-le dans Excel et enregistrez-le à nouveau au format « Classeur "
        "Excel (.xlsx) »."
    )


class WorkbookRefused(Exception):
    """The archive cannot be given to the Excel reader; the message is for the member."""


def check_workbook(data: bytes) -> None:
    """Raise WorkbookRefused (French message) unless the reader can open `data` safely."""
    if data.startswith(OLE_MAGIC):
        raise WorkbookRefused(PROTECTED_OR_OLD)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise WorkbookRefused(UNREADABLE) from None
    if WORKBOOK_PART not in {info.filename for info in infos}:
        raise WorkbookRefused(UNREADABLE)
    declared = sum(info.file_size for info in infos)
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise WorkbookRefused(_too_large(declared))
    titles = _sheet_titles(archive)
    inflated = 0
    for info in infos:
        scanner = _scanner_for(info.filename, titles)
        size = _guarded(info.filename, _inflate, archive, info, scanner, inflated)
        inflated += size
        if isinstance(scanner, _SheetScanner) and scanner.needs_walk:
            _guarded(info.filename, _walk, archive, info, scanner)
        if scanner is not None:
            scanner.check(size)


def _guarded(part: str, function, *args):
    """Run `function`; a broken member (bad CRC, truncated, not XML) is reported as damaged."""
    try:
        return function(*args)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError):
        raise WorkbookRefused(_damaged(part)) from None
    except (expat.ExpatError, ValueError):
        raise WorkbookRefused(_damaged(part)) from None


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, scanner, inflated: int) -> int:
    """Inflate one member in chunks (zipfile checks its size and CRC), feeding `scanner`."""
    size, previous = 0, b""
    with archive.open(info) as member:
        while chunk := member.read(CHUNK_BYTES):
            size += len(chunk)
            if inflated + size > MAX_UNCOMPRESSED_BYTES:
                raise WorkbookRefused(_too_large(inflated + size))
            if DOCUMENT_TYPE in previous[-len(DOCUMENT_TYPE) :] + chunk:
                raise WorkbookRefused(_not_standard(info.filename))
            previous = chunk
            if scanner is not None:
                scanner.feed(chunk)
    if scanner is not None:
        scanner.feed(b"", final=True)
    return size


def _walk(archive: zipfile.ZipFile, info: zipfile.ZipInfo, scanner: _SheetScanner) -> None:
    with archive.open(info) as member:
        scanner.walk(member)


def _sheet_titles(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part -> sheet title as the member sees it (the part name when unknown)."""
    titles: dict[str, str] = {}
    try:
        workbook = _attributes_of(archive.read(WORKBOOK_PART), "sheet")
        rels = _attributes_of(archive.read("xl/_rels/workbook.xml.rels"), "Relationship")
    except (KeyError, zipfile.BadZipFile, zlib.error, expat.ExpatError, OSError):
        return titles
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    for sheet in workbook:
        rel_id = next((v for k, v in sheet.items() if k.split(":")[-1] == "id" and ":" in k), None)
        target = targets.get(rel_id, "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        titles[part] = sheet.get("name", part)
    return titles


def _attributes_of(xml: bytes, element: str) -> list[dict[str, str]]:
    """The attributes of every `element` (any namespace prefix) of a small XML part."""
    found: list[dict[str, str]] = []
    parser = expat.ParserCreate()

    def start(name: str, attributes: dict[str, str]) -> None:
        if name.split(":")[-1] == element:
            found.append(attributes)

    parser.StartElementHandler = start
    parser.Parse(xml, True)
    return found


def _scanner_for(part: str, sheet_titles: dict[str, str]):
    if part.startswith("xl/worksheets/") and part.endswith(".xml"):
        return _SheetScanner(part, sheet_titles.get(part, part))
    if part == "xl/sharedStrings.xml":
        return _SharedStringsScanner(part)
    return None


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _position(reference: str | None) -> tuple[int, int] | None:
    match = CELL_REFERENCE.match(reference or "")
    if match is None:
        return None
    return int(match.group(2)), _column_number(match.group(1))


class _TagStream:
    """Feeds a part's text to `scan` in pieces that never cut a tag in two."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.tail = b""

    def pieces(self, chunk: bytes, final: bool) -> bytes:
        text = self.tail + chunk
        last_open, last_close = text.rfind(b"<"), text.rfind(b">")
        if final or last_open < last_close:
            self.tail = b""
            return text
        if len(text) - last_open > MAX_TAG_BYTES:  # no real tag is this long
            raise WorkbookRefused(_damaged(self.part))
        self.tail = text[last_open:]
        return text[:last_open]


class _SheetScanner:
    """The furthest cell of one worksheet, and its merged ranges.

    Fast path (see FAR_POSITION): regular expressions, chunk by chunk, giving an upper bound of the
    grid. Otherwise `walk` places each cell as the reader does, with expat (which also refuses
    duplicated attributes and entity bombs).
    """

    def __init__(self, part: str, title: str) -> None:
        self.part, self.title = part, title
        self.stream = _TagStream(part)
        self.max_row, self.max_column = SHORT_ROWS, SHORT_COLUMNS  # bounds until walked
        self.placed_by_order = False
        self.merges: list[tuple[int, int, int, int]] = []

    @property
    def needs_walk(self) -> bool:
        return self.placed_by_order or self.max_row * self.max_column > MAX_CELLS

    def feed(self, chunk: bytes, final: bool = False) -> None:
        text = self.stream.pieces(chunk, final)
        cells = sum(text.count(tag) for tag in CELL_TAGS)
        if b":c" in text or cells != text.count(CELL_TAG_WITH_POSITION):
            self.placed_by_order = True  # prefixed tags, or cells placed by their order
        for wide, row, narrow, far_row in FAR_POSITION.findall(text):
            self.max_column = max(self.max_column, _column_number((wide or narrow).decode()))
            self.max_row = max(self.max_row, int(row or far_row))
        for reference in MERGE_REFERENCE.findall(text):
            self._add_merge(reference.decode("ascii", errors="replace"))

    def _add_merge(self, reference: str) -> None:
        first, _, last = reference.partition(":")
        start, end = _position(first), _position(last or first)
        if start and end:
            self.merges.append((*start, *end))
        if len(self.merges) > MAX_MERGES:
            raise WorkbookRefused(_too_many_merged(self.title, len(self.merges)))

    def walk(self, member) -> None:
        """The exact placement, with expat (slower; only for cells without a position)."""
        walker = _SheetWalker()
        while chunk := member.read(CHUNK_BYTES):
            walker.parser.Parse(chunk, False)
        walker.parser.Parse(b"", True)
        self.max_row, self.max_column = walker.max_row, walker.max_column

    def check(self, _size: int) -> None:
        cells = self.max_row * self.max_column
        if cells > MAX_CELLS:
            furthest = f"{_column_letters(self.max_column)}{self.max_row}"
            raise WorkbookRefused(_too_many_cells(self.title, furthest, cells))
        cost = 0  # the reader copies each merged value cell by cell, column by column
        for first_row, first_column, last_row, last_column in self.merges:
            rows = min(last_row, max(self.max_row, first_row)) - first_row + 1
            columns = min(last_column, max(self.max_column, first_column)) - first_column + 1
            cost += max(rows, 0) * max(columns, 0) + max(last_column - first_column + 1, 0)
        if cost > MAX_CELLS:
            raise WorkbookRefused(_too_many_merged(self.title, cost))


class _SheetWalker:
    """expat handlers placing cells like the reader: `r` when given, else the next position."""

    def __init__(self) -> None:
        self.row = self.column = self.max_row = self.max_column = 0
        self.cell_open = False
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self._start

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        tag = name.rpartition(":")[2]
        if tag == "row":
            reference = attributes.get("r", "")
            self.row = int(reference) if reference.isdigit() else self.row + 1
            self.column = 0
        elif tag == "c":
            position = _position(attributes.get("r"))
            if position is None:
                self.column += 1
            else:
                self.row, self.column = position
            self.cell_open = True
        elif tag in ("v", "is", "f") and self.cell_open:  # a value: the cell is in the grid
            self.max_row = max(self.max_row, self.row)
            self.max_column = max(self.max_column, self.column)
            self.cell_open = False


class _SharedStringsScanner:
    """The number of entries the shared-strings table announces (`uniqueCount`)."""

    def __init__(self, part: str) -> None:
        self.stream = _TagStream(part)
        self.announced: int | None = None

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if self.announced is not None:
            return
        text = self.stream.pieces(chunk, final)
        match = SHARED_STRINGS_TAG.search(text)
        if match:
            unique = UNIQUE_COUNT.search(match.group(0))
            self.announced = int(unique.group(1)) if unique else 0

    def check(self, size: int) -> None:
        if (self.announced or 0) > size // SMALLEST_SHARED_STRING_BYTES + 1:
            raise WorkbookRefused(_bad_shared_strings(self.announced, size))
