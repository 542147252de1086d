"""Translations are complete in both languages; numbers follow Swiss-French and English usage."""

from __future__ import annotations

import datetime as dt
import re
import string

import pytest

from dashboard import i18n
from dashboard.i18n import fmt_change, fmt_count, fmt_date, fmt_int, fmt_pct, fmt_rate, t

NNBSP = "\u202f"  # narrow no-break space: French thousands separator
NBSP = "\u00a0"  # no-break space: before % and ‰ in French


def namespaces(lang: str) -> set[str]:
    return {path.stem for path in (i18n.LOCALES_DIR / lang).glob("*.toml")}


def test_every_namespace_exists_in_both_languages():
    assert namespaces("fr") == namespaces("en")
    assert "common" in namespaces("fr")


@pytest.mark.parametrize(("lang", "other"), [("fr", "en"), ("en", "fr")])
def test_no_key_is_missing_in_either_language(lang, other):
    missing = sorted(set(i18n.catalogue(other)) - set(i18n.catalogue(lang)))
    assert not missing, f"clés absentes en {lang} : {missing}"


def test_no_translation_is_empty():
    for lang in i18n.LANGUAGES:
        empty = [key for key, text in i18n.catalogue(lang).items() if not text.strip()]
        assert not empty, f"textes vides en {lang} : {empty}"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_use_the_same_placeholders():
    english = i18n.catalogue("en")
    for key, french in i18n.catalogue("fr").items():
        assert placeholders(french) == placeholders(english[key]), key


def test_keys_used_in_dashboard_code_exist():
    """Every literal t("namespace.key") in the dashboard resolves (f-string keys are checked by the
    pages' tests, which render them)."""
    source_dir = i18n.LOCALES_DIR.parent
    used = set()
    for path in source_dir.rglob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""", path.read_text()))
    known = set(i18n.catalogue("fr"))
    assert used, "no key found: the pattern is wrong"
    assert sorted(used - known) == []


def test_t_formats_and_falls_back():
    assert t("common.page.overview", lang="fr") == "Vue d'ensemble"
    assert t("common.page.overview", lang="en") == "Overview"
    assert t("common.last_load", lang="en", date="today") == "Last data load: today"
    assert t("common.no.such.key", lang="en") == "common.no.such.key"
    assert i18n.t_or("common.category.unknown_kind", "unknown_kind", lang="fr") == "unknown_kind"


def test_french_numbers():
    assert fmt_int(12345, lang="fr") == f"12{NNBSP}345"
    assert fmt_int(1234567, lang="fr") == f"1{NNBSP}234{NNBSP}567"
    assert fmt_int(999, lang="fr") == "999"
    assert fmt_int(12345.6, lang="fr") == f"12{NNBSP}346"
    assert fmt_pct(4.2, lang="fr") == f"4,2{NBSP}%"
    assert fmt_pct(1234.56, lang="fr") == f"1{NNBSP}234,6{NBSP}%"
    assert fmt_rate(12.345, lang="fr") == f"12,3{NBSP}‰"
    assert fmt_change(4.26, lang="fr") == f"+4,3{NBSP}%"
    assert fmt_change(-17.88, lang="fr") == f"-17,9{NBSP}%"
    assert fmt_change(0.0, lang="fr") == f"0,0{NBSP}%"


def test_english_numbers():
    assert fmt_int(12345, lang="en") == "12,345"
    assert fmt_pct(4.2, lang="en") == "4.2%"
    assert fmt_rate(12.345, lang="en") == "12.3‰"
    assert fmt_change(-3, lang="en") == "-3.0%"
    assert fmt_change(12.04, lang="en") == "+12.0%"


def test_missing_and_suppressed_values():
    for lang in i18n.LANGUAGES:
        assert fmt_int(None, lang=lang) == "–"
        assert fmt_pct(float("nan"), lang=lang) == "–"
        assert fmt_count(None, suppressed=True, lang=lang) == "X"
        assert fmt_count(7, suppressed=False, lang=lang) == "7"


def test_dates():
    day = dt.date(2026, 3, 5)
    assert fmt_date(day, lang="fr") == "05.03.2026"
    assert fmt_date(day, lang="en") == "05 Mar 2026"


def test_in_language_binds_texts_and_numbers_on_any_thread():
    """A download built when clicked runs on a server thread, outside the visitor's run: the
    language is passed in, and nothing leaks out of the block."""
    import threading

    seen: list[tuple[str, str, str]] = []

    def build() -> None:
        with i18n.in_language("en"):
            seen.append((i18n.current_language(), t("fiche.download_html"), fmt_int(12345)))
        seen.append((i18n.current_language(), t("fiche.download_html"), fmt_int(12345)))

    worker = threading.Thread(target=build)
    worker.start()
    worker.join(timeout=30)
    english, french = i18n.catalogue("en"), i18n.catalogue("fr")
    assert seen == [
        ("en", english["fiche.download_html"], "12,345"),
        ("fr", french["fiche.download_html"], f"12{NNBSP}345"),
    ]
    assert english["fiche.download_html"] != french["fiche.download_html"]


def _language_of_each_moment() -> None:
    """AppTest script: the language before and after `state.language()` reads the URL."""
    import streamlit as st

    from dashboard import i18n, state

    before = i18n.current_language()
    state.language()
    st.text(f"{before}|{i18n.current_language()}|{i18n.fmt_int(12345)}")


def test_the_language_read_once_per_run_follows_the_url_and_the_next_run():
    """current_language() is remembered for the rest of a run (it was read from session state
    thousands of times per page): a language set by the URL within the run, or in a later run,
    is followed at once."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_function(_language_of_each_moment, default_timeout=30)
    app.query_params["lang"] = "en"
    app.run()
    assert app.text[0].value == "fr|en|12,345"  # French until the URL was read, then English
    app.run()  # the session keeps English
    assert app.text[0].value == "en|en|12,345"
    app.query_params["lang"] = "fr"
    app.run()
    assert app.text[0].value == f"en|fr|12{NNBSP}345"
