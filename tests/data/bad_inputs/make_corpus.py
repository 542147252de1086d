"""Write the corpus of bad submission files (tests/data/bad_inputs/), small enough to be committed.

    .venv/bin/python tests/data/bad_inputs/make_corpus.py

Each file is one way a member's file (or a hostile one) goes wrong; tests/test_bad_inputs.py says
what the loader must answer for each. The files that must not be committed (a 100 MB file, zip bombs,
a directory, a path-traversal name) are generated at test time by the functions of this module.
Member ALIM-01 and the periods used are those of tests/test_submission_support.py.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
import zlib
from pathlib import Path

import openpyxl
import xlsxwriter
from xlsxwriter.utility import xl_cell_to_rowcol

HERE = Path(__file__).resolve().parent
FIXED_DATE = dt.datetime(2025, 1, 1)
MEMBER, PERIOD = "ALIM-01", "2024"
IDENTIFICATION = [["membre", MEMBER], ["periode", PERIOD], ["contact", "Mme Test"]]
HEADER = ["theme", "commune", "personnes", "femmes", "hommes"]
GOOD_ROW = ["alimentation", "Onex", 12, 7, 5]
OBS_HEADER = ["date", "theme", "commune", "niveau", "texte", "public"]

# Texts that are accepted in an observation and must come out harmless everywhere.
HOSTILE_TEXTS = [
    '=HYPERLINK("http://example.com/vol","Cliquez ici")',
    "'; drop table activity; --",
    "<script>alert('observatoire')</script> et <b>gras</b>",
    "Familles 👨‍👩‍👧 en hausse, repas 🍲 épuisés 🙏",
    "+41 SUM(A1:A9)",  # a formula start, and no phone number
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "[Session expirée : reconnectez-vous](http://example.com/vol) ![](http://example.com/p.png)",
]


SERVICE_HEADER = [
    "nom",
    "theme",
    "type",
    "commune",
    "adresse",
    "horaires",
    "contact",
    "conditions_acces",
    "langues",
]
# A directory entry whose texts would run in a spreadsheet or render as markup.
HOSTILE_SERVICE = [
    '=HYPERLINK("http://example.com/vol","Épicerie")',
    "alimentation",
    "distribution",
    "Onex",
    "<script>alert('adresse')</script>",
    "lu-ve 9h-12h",
    "+41 22 000 00 00",
    "@SUM(1+1)",
    "français",
]


# ---------------------------------------------------------------- writers


def xlsx_bytes(
    sheets: dict[str, list[list]],
    formulas: dict[tuple[str, str], str | tuple[str, object]] | None = None,
    *,
    hidden_sheets: tuple[str, ...] = (),
    hidden_rows: dict[str, list[int]] | None = None,
    hidden_columns: dict[str, list[int]] | None = None,
    merges: dict[str, list[str]] | None = None,
):
    """A workbook in memory: sheets of rows (None = empty cell); optional formula cells (with the
    value Excel stored, 99 by default), hidden sheets, rows and columns (0-based), merged ranges."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    workbook.set_properties({"created": FIXED_DATE})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, str):
                    sheet.write_string(r, c, value)  # "=HYPERLINK(…)" stays a text
                elif value is not None:
                    sheet.write(r, c, value)
        for (sheet_name, cell), formula in (formulas or {}).items():
            if sheet_name == name:
                text, stored = formula if isinstance(formula, tuple) else (formula, 99)
                sheet.write_formula(cell, text, None, stored)  # stored: what Excel computed
        for row in (hidden_rows or {}).get(name, []):
            sheet.set_row(row, None, None, {"hidden": True})
        for column in (hidden_columns or {}).get(name, []):
            sheet.set_column(column, column, None, None, {"hidden": True})
        for reference in (merges or {}).get(name, []):
            first_row, first_col, last_row, last_col = _range(reference)
            sheet.merge_range(first_row, first_col, last_row, last_col, rows[first_row][first_col])
        if name in hidden_sheets:
            sheet.hide()
    workbook.close()
    return buffer.getvalue()


def _range(reference: str) -> tuple[int, int, int, int]:
    """'A1:B2' -> (0, 0, 1, 1)."""
    first, last = reference.split(":")
    return (*xl_cell_to_rowcol(first), *xl_cell_to_rowcol(last))


def submission(activity: list[list], **extra_sheets: list[list]) -> bytes:
    return xlsx_bytes({"identification": IDENTIFICATION, "activite": activity, **extra_sheets})


def submission_with(activity: list[list], **options) -> bytes:
    """The usual workbook, with xlsx_bytes' options (hidden rows or columns…)."""
    return xlsx_bytes({"identification": IDENTIFICATION, "activite": activity}, **options)


def rewrite_member(data: bytes, part: str, change) -> bytes:
    """The same archive with one member's bytes changed by `change(bytes) -> bytes`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == part:
                content = change(content)
            archive.writestr(
                zipfile.ZipInfo(info.filename, date_time=(2025, 1, 1, 0, 0, 0)), content
            )
    return out.getvalue()


ACTIVITY_PART = "xl/worksheets/sheet2.xml"  # identification is sheet1


def openpyxl_formulas() -> bytes:
    """Formulas without a stored result: a file made by a program and never opened in Excel."""
    workbook = openpyxl.Workbook()
    identification = workbook.active
    identification.title = "identification"
    for row in IDENTIFICATION:
        identification.append(row)
    activity = workbook.create_sheet("activite")
    activity.append(HEADER)
    activity.append(["alimentation", "Onex", "=D2+E2", 7, 5])
    workbook.properties.created = FIXED_DATE
    workbook.properties.modified = FIXED_DATE
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- the corpus


def corpus() -> dict[str, bytes]:
    """File name -> content, for every committed bad input."""
    valid = submission([HEADER, GOOD_ROW])
    files: dict[str, bytes] = {}

    # Broken or disguised files
    files["tronque.xlsx"] = valid[: len(valid) // 2]
    damaged = bytearray(valid)
    middle = len(damaged) // 3
    damaged[middle : middle + 40] = bytes(b ^ 0x5A for b in damaged[middle : middle + 40])
    files["octets_corrompus.xlsx"] = bytes(damaged)
    page = (
        b"<!DOCTYPE html><html><head><title>Statistiques</title></head><body><table>"
        b"<tr><td>theme</td><td>commune</td><td>personnes</td></tr>"
        b"<tr><td>alimentation</td><td>Onex</td><td>12</td></tr></table></body></html>"
    )
    files["page_web.xls"] = page
    files["page_web.xlsx"] = page
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr(zipfile.ZipInfo("notes.txt", (2025, 1, 1, 0, 0, 0)), "rien ici")
    files["archive_sans_classeur.xlsx"] = other_zip.getvalue()
    files["protege_ou_ancien.xlsx"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    files["vide.xlsx"] = b""
    files["vide.csv"] = b""
    files["sans_extension"] = (
        b"membre;periode;theme;commune;personnes\nALIM-01;2024;alimentation;Onex;12\n"
    )
    files["tableur_libreoffice.ods"] = b"PK\x03\x04mimetypeapplication/vnd.oasis.opendocument"
    files["octets_aleatoires.csv"] = bytes((i * 73 + 41) % 256 for i in range(4096))
    # Sheets and columns
    files["sans_feuille_activite.xlsx"] = xlsx_bytes(
        {"identification": IDENTIFICATION, "Feuil1": [HEADER, GOOD_ROW]}
    )
    files["deux_feuilles_activite.xlsx"] = xlsx_bytes(
        {"identification": IDENTIFICATION, "activite": [HEADER, GOOD_ROW], "Activités": [HEADER]}
    )
    files["sans_identification.xlsx"] = xlsx_bytes({"activite": [HEADER, GOOD_ROW]})
    files["zero_ligne.xlsx"] = submission([HEADER])
    files["colonnes_en_double.xlsx"] = submission([[*HEADER, "personnes"], [*GOOD_ROW, 12]])
    files["formules_sans_resultat.xlsx"] = openpyxl_formulas()
    files["noms_de_feuilles_hostiles.xlsx"] = xlsx_bytes(
        {
            "identification": IDENTIFICATION,
            "x'; drop table x; --": [["a"]],
            "<script>": [["b"]],
            "activite": [HEADER, ["alimentation", "Onex", "beaucoup", 7, 5]],
        }
    )

    # Values
    files["nombre_enorme.xlsx"] = submission(
        [HEADER, ["alimentation", "Onex", 3_000_000_000, 7, 5], ["hygiene", "Onex", 1e300, 1, 1]]
    )
    files["nombre_negatif.xlsx"] = submission([HEADER, ["alimentation", "Onex", -12, 7, 5]])
    files["injection_sql.xlsx"] = submission(
        [HEADER, ["alimentation", "'; drop table activity; --", 12, 7, 5]]
    )
    files["script_membre.xlsx"] = xlsx_bytes(
        {
            "identification": [["membre", "<script>alert(1)</script>"], ["periode", PERIOD]],
            "activite": [HEADER, GOOD_ROW],
        }
    )
    files["hyperlien_commune.xlsx"] = submission(
        [HEADER, ["alimentation", '=HYPERLINK("http://example.com","Onex")', 12, 7, 5]]
    )
    files["periode_future.xlsx"] = xlsx_bytes(
        {
            "identification": [["membre", MEMBER], ["periode", "2099"]],
            "activite": [HEADER, GOOD_ROW],
        }
    )
    files["observation_future.xlsx"] = submission(
        [HEADER, GOOD_ROW],
        observations=[OBS_HEADER, ["31.12.2099", "alimentation", "Onex", "alerte", "Texte", "oui"]],
    )
    files["texte_trop_long.xlsx"] = submission(
        [HEADER, GOOD_ROW],
        observations=[
            OBS_HEADER,
            ["15.03.2024", "alimentation", None, "alerte", "a" * 2001, "non"],
        ],
    )

    # Archives that would exhaust memory in the Excel reader (tiny on disk)
    files["cellule_lointaine.xlsx"] = rewrite_member(
        valid,
        ACTIVITY_PART,
        lambda xml: xml.replace(
            b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        ),
    )
    files["ligne_lointaine_sans_position.xlsx"] = rewrite_member(
        valid,
        ACTIVITY_PART,
        lambda xml: xml.replace(
            b"</sheetData>",
            b'<row r="1048576"><c><v>1</v></c></row><row r="1"><c r="XFD1"><v>1</v></c></row>'
            b"</sheetData>",
        ),
    )
    files["attribut_position_double.xlsx"] = rewrite_member(
        valid, ACTIVITY_PART, lambda xml: xml.replace(b'<c r="A2"', b'<c r="A2" r="XFD1048576"', 1)
    )
    files["textes_partages_annonces.xlsx"] = rewrite_member(
        valid,
        "xl/sharedStrings.xml",
        lambda xml: xml.replace(b'uniqueCount="', b'uniqueCount="2000000000" x="', 1),
    )
    merges = b"".join(b'<mergeCell ref="A%d:XFD%d"/>' % (r, r) for r in range(1, 400))
    files["fusions_geantes.xlsx"] = rewrite_member(
        valid,
        ACTIVITY_PART,
        lambda xml: xml.replace(
            b"</sheetData>", b'</sheetData><mergeCells count="399">' + merges + b"</mergeCells>"
        ),
    )
    files["entites_xml.xlsx"] = rewrite_member(
        valid,
        ACTIVITY_PART,
        lambda xml: xml.replace(
            b"<worksheet",
            b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(
                b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&" + bytes([97 + i]) + b";") * 10)
                for i in range(8)
            )
            + b"]><worksheet",
            1,
        ).replace(b"<v>12</v>", b"<v>&i;</v>", 1),
    )

    # CSV files
    files["csv_entete_seul.csv"] = b"membre;periode;theme;commune;personnes\r\n"
    files["csv_colonnes_en_double.csv"] = (
        b"membre;periode;theme;commune;personnes;personnes\r\nALIM-01;2024;alimentation;Onex;12;13\r\n"
    )
    files["csv_octet_nul.csv"] = (
        b"membre;periode;theme;commune;personnes\r\nALIM-01;2024;alimentation;On\x00ex;12\r\n"
    )
    files["csv_formule.csv"] = (
        b"membre;periode;theme;commune;personnes\r\nALIM-01;2024;alimentation;Onex;=1+1\r\n"
    )
    files["csv_lignes_courtes.csv"] = (
        b"membre;periode;theme;commune;personnes\r\nALIM-01;2024;alimentation\r\n"
    )

    # Found by the adversarial review (issue #14): files that loaded wrong figures or misled
    files["csv_valeurs_en_trop.csv"] = (  # 1,234 written with the field separator: 1 and 234
        b"membre,periode,theme,commune,personnes,prestations\r\n"
        b"ALIM-01,2024,alimentation,Carouge,3,4\r\n"
        b"ALIM-01,2024,alimentation,Onex,1,234,50\r\n"
    )
    files["feuille_masquee.xlsx"] = xlsx_bytes(  # an old hidden sheet named like the data sheet
        {
            "identification": IDENTIFICATION,
            "Activité T1 2026": [HEADER, GOOD_ROW],
            "activite": [HEADER, ["alimentation", "Onex", 9999, 7, 5]],
        },
        hidden_sheets=("activite",),
    )
    files["lignes_masquees.xlsx"] = submission_with(
        [HEADER, GOOD_ROW, ["sante", "Onex", 9999, 1, 1], ["hygiene", "Onex", 3, 1, 1]],
        hidden_rows={"activite": [2]},
    )
    files["colonne_masquee.xlsx"] = submission_with(
        [HEADER, GOOD_ROW], hidden_columns={"activite": [3]}
    )
    files["periode_ambigue.csv"] = (
        b"membre;periode;theme;commune;personnes\r\nALIM-01;2024-2;alimentation;Onex;12\r\n"
    )
    files["periode_ambigue.xlsx"] = xlsx_bytes(
        {
            "identification": [["membre", MEMBER], ["periode", "2024/2"]],
            "activite": [HEADER, GOOD_ROW],
        }
    )
    files["caracteres_de_controle.csv"] = (  # would clear the screen and print a fake line
        b"membre;periode;theme;commune;personnes\r\n"
        b"ALIM-01;2024;alimentation;On\x1b[2J\x1b[Hex \xe2\x80\xae;12\r\n"
    )
    files["csv_guillemet_non_ferme.csv"] = (
        b"membre;periode;theme;commune;personnes\r\n"
        b'ALIM-01;2024;"alimentation;Onex;12\r\n'
        b"ALIM-01;2024;sante;Onex;3\r\n"
    )
    files["erreur_excel.xlsx"] = xlsx_bytes(
        {
            "identification": IDENTIFICATION,
            "activite": [HEADER, ["alimentation", "Onex", None, 7, 5]],
        },
        formulas={("activite", "C2"): ("=D2/0", "#DIV/0!")},
    )
    files["commune_mal_ecrite.xlsx"] = submission([HEADER, ["alimentation", "Carrouge", 12, 7, 5]])
    files["personnes_deux_fois_sans_theme.xlsx"] = submission(
        [["commune", "personnes", "personnes"], ["Onex", 12, 12]]
    )

    # Accepted: what must be read correctly, or stored and shown harmlessly
    files["accepte_latin1.csv"] = (
        "membre;periode;theme;commune;personnes\r\n"
        "ALIM-01;2024-T1;alimentation;Chêne-Bougeries;15\r\n"
        "ALIM-01;2024-T1;santé;Thônex;9\r\n"
    ).encode("latin-1")
    files["accepte_bom.csv"] = (
        "\ufeffmembre,periode,theme,commune,personnes\r\nALIM-01,2024-T2,alimentation,Genève,21\r\n"
    ).encode("utf-8")
    files["accepte_utf16.csv"] = (
        "membre\tperiode\ttheme\tcommune\tpersonnes\r\nHEB-02\t2024\thebergement\tOnex\t12\r\n"
    ).encode("utf-16")  # Excel's « Texte Unicode »: UTF-16 with a byte-order mark, tabs
    files["accepte_emoji_commune.xlsx"] = xlsx_bytes(
        {
            "identification": [["membre", "SANTE-03"], ["periode", PERIOD]],
            "activite": [HEADER, ["sante", "Onex 🏠", 12, 7, 5]],
        }
    )
    files["accepte_formule_avec_resultat.xlsx"] = xlsx_bytes(
        {
            "identification": [["membre", MEMBER], ["periode", "2024-T3"]],
            "activite": [HEADER, ["alimentation", "Onex", None, 60, 39]],
        },
        formulas={("activite", "C2"): "=D2+E2"},
    )
    files["accepte_fins_de_ligne_mac.csv"] = (  # lines ended by CR alone (old Mac Excel)
        b"membre;periode;theme;commune;personnes\rSANTE-03;2023;sante;Carouge;8\r"
    )
    files["accepte_entete_sur_deux_lignes.xlsx"] = xlsx_bytes(  # « dont » over femmes | hommes
        {
            "identification": [["membre", "HEB-02"], ["periode", "2023"]],
            "activite": [
                ["Thème", "Commune", "Personnes", "dont", None],
                [None, None, None, "femmes", "hommes"],
                ["hebergement", "Lancy", 14, 6, 8],
            ],
        },
        merges={"activite": ["A1:A2", "B1:B2", "C1:C2", "D1:E1"]},
    )
    files["accepte_textes_hostiles.xlsx"] = xlsx_bytes(
        {
            "identification": [["membre", MEMBER], ["periode", "2024-T4"]],
            "activite": [HEADER, ["alimentation", "Onex", 30, 20, 10]],
            "observations": [
                OBS_HEADER,
                *[
                    [f"{day:02d}.11.2024", "alimentation", "Onex", "vigilance", text, "oui"]
                    for day, text in enumerate(HOSTILE_TEXTS, start=1)
                ],
            ],
            "services": [SERVICE_HEADER, HOSTILE_SERVICE],
        }
    )
    return files


def write_corpus(directory: Path = HERE) -> list[Path]:
    written = []
    for name, content in corpus().items():
        path = directory / name
        path.write_bytes(content)
        written.append(path)
    return written


# ---------------------------------------------------------------- generated at test time


def big_file(path: Path, size: int = 100 * 1024 * 1024) -> Path:
    """A file of `size` bytes (default 100 MB), written in 1 MB blocks: never committed."""
    block = (b"ALIM-01;2024;alimentation;Onex;12\n" * 31_000)[: 1024 * 1024]
    with open(path, "wb") as handle:
        for _ in range(size // len(block)):
            handle.write(block)
    return path


BOMB_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
BOMB_TAIL = b"</sheetData></worksheet>"


def zip_bombs(directory: Path, inflated_mib: int = 512) -> tuple[Path, Path]:
    """Two workbooks whose activity sheet inflates to `inflated_mib` MiB of blanks (about 1,000 times
    their size on disk): one declares that size, the other declares 2 kB (an archive's directory
    cannot be trusted). Written by hand in a few seconds, never held inflated in memory."""
    block = b" " * (1024 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    # After a full flush the compressor starts afresh, so every further block compresses alike.
    first = compressor.compress(BOMB_HEAD + block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(BOMB_TAIL) + compressor.flush()
    deflated = first + again * (inflated_mib - 1) + last
    crc = zlib.crc32(BOMB_HEAD)
    for _ in range(inflated_mib):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(BOMB_TAIL, crc)
    size = len(BOMB_HEAD) + inflated_mib * len(block) + len(BOMB_TAIL)
    members = dict(_members(submission([HEADER, GOOD_ROW])))
    honest = directory / "bombe_zip.xlsx"
    lying = directory / "bombe_zip_taille_mensongere.xlsx"
    for path, declared in ((honest, size), (lying, 2048)):
        _write_zip(path, members, ACTIVITY_PART, (deflated, crc, declared))
    return honest, lying


def _members(data: bytes) -> list[tuple[str, bytes]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return [(info.filename, archive.read(info.filename)) for info in archive.infolist()]


def _write_zip(
    path: Path, members: dict[str, bytes], raw_name: str, raw: tuple[bytes, int, int]
) -> None:
    """A zip archive written field by field, so that one member can carry a ready-made deflate
    stream (with its CRC and the size it declares)."""
    local, central = bytearray(), bytearray()
    for name, content in members.items():
        if name == raw_name:
            deflated, crc, size = raw
        else:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            deflated = compressor.compress(content) + compressor.flush()
            crc, size = zlib.crc32(content), len(content)
        encoded = name.encode()
        sizes = struct.pack("<III", crc, len(deflated), size)
        offset = len(local)
        local += struct.pack("<IHHHHH", 0x04034B50, 20, 0, 8, 0, 0x21) + sizes
        local += struct.pack("<HH", len(encoded), 0) + encoded + deflated
        central += struct.pack("<IHHHHHH", 0x02014B50, 20, 20, 0, 8, 0, 0x21) + sizes
        central += struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0
    )
    path.write_bytes(bytes(local + central + end))


if __name__ == "__main__":
    for path in write_corpus():
        print(f"{path.name:40} {path.stat().st_size:>8} octets")
