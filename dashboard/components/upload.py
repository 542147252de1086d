"""Receiving a member's file on the Administration page: limits, content checks, a safe temp copy.

The file is written under its sanitised original name in a fresh temporary directory, so the ETL
(`etl.submission.load.load_files`, the same code path as `observatoire charger`) records the name the
member gave it, and nothing the visitor sends can choose where it lands.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from dashboard.i18n import fmt_decimal
from etl.submission.load import DEFAULT_MAX_FILE_MB

ALLOWED_SUFFIXES = (".xlsx", ".csv")
MAX_UPLOAD_MB = DEFAULT_MAX_FILE_MB  # the same cap as `observatoire charger`
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx workbook is a zip archive
_UNSAFE = re.compile(r"[^\w .()\-]+")
MAX_NAME_LENGTH = 120
TEMP_PREFIX = "observatoire-upload-"


class UploadRefused(Exception):
    """The file cannot be accepted; `key` is the i18n key of the reason, `values` its fields."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def sanitise_name(name: str) -> str:
    """'../../C:\\tmp/Rapport 2025 (v2)?.xlsx' -> 'Rapport 2025 (v2)_.xlsx': a bare, harmless name."""
    bare = PureWindowsPath(PurePosixPath(name or "").name).name
    bare = unicodedata.normalize("NFC", bare).strip()
    bare = _UNSAFE.sub("_", bare).lstrip(". ")
    stem, dot, suffix = bare.rpartition(".")
    if not dot:
        stem, suffix = bare, ""
    suffix = suffix.lower()
    stem = stem[: MAX_NAME_LENGTH - len(suffix) - 1].rstrip() or "fichier"
    return f"{stem}.{suffix}" if suffix else stem


def _looks_like_text(content: bytes) -> bool:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16, Excel's « Texte Unicode »
        try:
            content.decode("utf-16")
        except UnicodeDecodeError:
            return False
        return True
    if b"\x00" in content[:65536]:
        return False
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return True
    return False


def check_upload(name: str, content: bytes) -> str:
    """The sanitised name if the file may be validated; raise UploadRefused otherwise."""
    safe = sanitise_name(name)
    suffix = Path(safe).suffix
    if suffix not in ALLOWED_SUFFIXES:
        raise UploadRefused("admin.bad_type", name=name)
    if len(content) > MAX_UPLOAD_BYTES:
        size = fmt_decimal(len(content) / 1024 / 1024)
        raise UploadRefused("admin.too_big", name=name, size=size, max_mb=MAX_UPLOAD_MB)
    if suffix == ".xlsx" and not content.startswith(XLSX_MAGIC):
        raise UploadRefused("admin.bad_content_xlsx", name=name)
    if suffix == ".csv" and not _looks_like_text(content):
        raise UploadRefused("admin.bad_content_csv", name=name)
    return safe


@dataclass(frozen=True)
class SavedUpload:
    directory: Path
    path: Path

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def save_upload(name: str, content: bytes) -> SavedUpload:
    """Check the file and write it to a new private temporary directory under its safe name."""
    safe = check_upload(name, content)
    directory = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    path = directory / safe
    path.write_bytes(content)
    return SavedUpload(directory, path)


def _css_text(text: str) -> str:
    """A CSS string literal (content: …) for a text of the locale files."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ")
    return f'"{" ".join(escaped.split())}"'


def uploader_css(key: str, button: str, limits: str, refused: str) -> str:
    """Style rules giving Streamlit's file uploader (keyed `key`) its texts in the page's language.

    Streamlit writes « Upload », « 10MB per file • XLSX, CSV » and sizes like « 77.0B » in English
    and offers no way to change them; the page's policy forbids scripts, so the texts are hidden and
    replaced with CSS generated content (which screen readers read too). Only what is shown
    changes: the uploader's hidden input and its chips keep English aria-labels (docs/ADMIN.md).
    """
    scope = f".st-key-{key}"
    dropzone = f'{scope} [data-testid="stFileUploaderDropzone"]'
    size = f'{scope} [data-testid="stFileChipName"] + div'
    invalid = f'{scope} [data-testid="stFileChip"][aria-invalid="true"] [data-testid="stFileChipName"] + div'
    return (
        "<style>"
        f'{dropzone} button [data-testid="stMarkdownContainer"] p {{ display: none; }}'
        f'{dropzone} button [data-testid="stMarkdownContainer"]::after {{ content: {_css_text(button)}; }}'
        f'{scope} [data-testid="stFileUploaderDropzoneInstructions"] span {{ display: none; }}'
        f'{scope} [data-testid="stFileUploaderDropzoneInstructions"] > div::after '
        f"{{ content: {_css_text(limits)}; font-size: 0.875rem; }}"
        f"{size} {{ font-size: 0; }}"  # « 77.0B »: an English number and unit
        f"{invalid}::after {{ content: {_css_text(refused)}; font-size: 0.75rem; }}"
        "</style>"
    )
