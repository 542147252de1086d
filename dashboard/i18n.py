"""Translations and number formats: French by default, complete English.

Strings live in `dashboard/locales/<lang>/<namespace>.toml`; a key is `namespace.key` (nested tables
give `namespace.table.key`). One file per namespace lets several people add strings without conflicts.
"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"

# Swiss-French typography: narrow no-break space between thousands, no-break space before « % ».
THIN_SPACE = "\u202f"
NO_BREAK_SPACE = "\u00a0"
MISSING = "–"
# A count withheld for data protection (DESIGN §6), whatever its value: the Swiss FSO symbol.
# Not « < 5 »: a cell withheld so that a total cannot reveal another may hold any count.
SUPPRESSED = "X"


# The language bound to this thread: by `in_language` (a download built outside the script run), or
# remembered for the current script run. Reading st.session_state costs a few microseconds, and a
# page calls t() and the formatters thousands of times per run (bench/README.md, #19 phase 2).
_bound = threading.local()


@functools.cache
def _run_context() -> Callable[..., object]:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    return get_script_run_ctx


def _script_run() -> object | None:
    """What identifies the current script run: its context's cursors, a new dict at every run."""
    ctx = _run_context()(suppress_warning=True)
    return None if ctx is None else ctx.cursors


def current_language() -> str:
    """The language of this run (set by `dashboard.state.language()`); French outside Streamlit."""
    forced = getattr(_bound, "forced", None)
    if forced is not None:
        return forced
    run = _script_run()
    remembered = getattr(_bound, "run", None)
    if run is not None and remembered is not None and remembered[0] is run:
        return remembered[1]
    try:
        import streamlit as st

        lang = st.session_state.get("_lang", DEFAULT_LANGUAGE)
    except Exception:  # no Streamlit session (plain Python, tests of the formatters)
        return DEFAULT_LANGUAGE
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    if run is not None:
        _bound.run = (run, lang)
    return lang


def remember_language(lang: str) -> None:
    """The session's language has just been set (dashboard/state.py): the rest of this run uses it."""
    run = _script_run()
    if run is not None:
        _bound.run = (run, lang if lang in LANGUAGES else DEFAULT_LANGUAGE)


@contextlib.contextmanager
def in_language(lang: str) -> Iterator[None]:
    """Texts and numbers in `lang` inside the block, on any thread (e.g. a download's content
    built when it is clicked, where the visitor's session cannot be read)."""
    previous = getattr(_bound, "forced", None)
    _bound.forced = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    try:
        yield
    finally:
        _bound.forced = previous


def _flatten(table: dict, prefix: str) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        full = f"{prefix}.{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, full))
        else:
            flat[full] = str(value)
    return flat


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """Every string of one language, keyed `namespace.key`."""
    strings: dict[str, str] = {}
    for toml_file in sorted((LOCALES_DIR / lang).glob("*.toml")):
        with toml_file.open("rb") as handle:
            strings.update(_flatten(tomllib.load(handle), toml_file.stem))
    return strings


def t(key: str, lang: str | None = None, **kwargs: object) -> str:
    """The text of `key` in the current language, formatted with `kwargs`.

    A key missing in English falls back to French, then to the key itself, so a page never breaks
    (tests/test_i18n.py makes sure no key is missing).
    """
    lang = lang or current_language()
    text = catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or key
    return text.format(**kwargs) if kwargs else text


def labeller(prefix: str) -> Callable[[str], str]:
    """`code -> t(f"{prefix}.{code}")` in the language of this run, for widgets' format_func.

    The language is bound now: Streamlit (and AppTest) may call format_func outside the script run,
    where the session's language cannot be read.
    """
    lang = current_language()
    return lambda code: t(f"{prefix}.{code}", lang=lang)


def t_or(key: str, fallback: str, lang: str | None = None) -> str:
    """The text of `key` when it exists (e.g. a known member category), else `fallback`."""
    lang = lang or current_language()
    return catalogue(lang).get(key) or catalogue(DEFAULT_LANGUAGE).get(key) or fallback


def label(row: dict, lang: str | None = None) -> str:
    """The `label_fr` / `label_en` column of a reference row, in the current language."""
    lang = lang or current_language()
    return str(row.get(f"label_{lang}") or row.get("label_fr") or "")


def _is_missing(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _group_thousands(text: str, lang: str) -> str:
    """Turn Python's '12,345.6' into the language's separators."""
    if lang == "en":
        return text
    return text.replace(",", THIN_SPACE).replace(".", ",")


def fmt_int(value: float | int | None, lang: str | None = None) -> str:
    """12345 → '12 345' (fr, narrow no-break space) or '12,345' (en)."""
    if _is_missing(value):
        return MISSING
    return _group_thousands(f"{round(value):,}", lang or current_language())


def fmt_decimal(value: float | None, digits: int = 1, lang: str | None = None) -> str:
    """4.25 → '4,3' (fr) or '4.3' (en), with thousands grouped."""
    if _is_missing(value):
        return MISSING
    return _group_thousands(f"{value:,.{digits}f}", lang or current_language())


def fmt_pct(value: float | None, digits: int = 1, lang: str | None = None) -> str:
    """A value already in percent: 4.2 → '4,2 %' (fr) or '4.2%' (en)."""
    if _is_missing(value):
        return MISSING
    lang = lang or current_language()
    number = fmt_decimal(value, digits, lang)
    return f"{number}%" if lang == "en" else f"{number}{NO_BREAK_SPACE}%"


def fmt_change(value: float | None, digits: int = 1, lang: str | None = None) -> str:
    """A signed change in percent: 4.2 → '+4,2 %', -3 → '-3,0 %'.

    The ASCII minus is deliberate: st.metric reads the sign of its delta text to pick the arrow.
    """
    if _is_missing(value):
        return MISSING
    sign = "+" if value > 0 else ("-" if value < 0 else "")
    return sign + fmt_pct(abs(value), digits, lang)


def fmt_rate(value: float | None, digits: int = 1, lang: str | None = None) -> str:
    """A rate per 1,000 residents: 12.345 → '12,3 ‰' (fr) or '12.3‰' (en)."""
    if _is_missing(value):
        return MISSING
    lang = lang or current_language()
    number = fmt_decimal(value, digits, lang)
    return f"{number}‰" if lang == "en" else f"{number}{NO_BREAK_SPACE}‰"


def fmt_signed_int(value: float | int | None, lang: str | None = None) -> str:
    """A signed difference: 3 → '+3', -1234 → '-1 234', 0 → '0'."""
    if _is_missing(value):
        return MISSING
    sign = "+" if value > 0 else ("-" if value < 0 else "")
    return sign + fmt_int(abs(value), lang)


def fmt_count(value: float | int | None, suppressed: bool = False, lang: str | None = None) -> str:
    """A published count: 'X' when disclosure control withheld it (DESIGN §6)."""
    if suppressed:
        return SUPPRESSED
    return fmt_int(value, lang)


def fmt_date(value, lang: str | None = None) -> str:
    """A date or timestamp: '28.11.2026' (fr, Swiss usage) or '28 Nov 2026' (en)."""
    if value is None:
        return MISSING
    lang = lang or current_language()
    return value.strftime("%d.%m.%Y") if lang == "fr" else value.strftime("%d %b %Y")


def fmt_datetime(value, lang: str | None = None) -> str:
    """'28.11.2026 à 20:27' (fr) or '28 Nov 2026, 20:27' (en)."""
    if value is None:
        return MISSING
    lang = lang or current_language()
    if lang == "fr":
        return value.strftime("%d.%m.%Y à %H:%M")
    return value.strftime("%d %b %Y, %H:%M")
