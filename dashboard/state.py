"""Page state kept in the URL: filters, the selected commune and the language.

A page declares its filters in a few lines (`select`, `multiselect`, `toggle`); each widget starts from
the URL's value when it is valid, writes its value back to the URL, and so a copied link reopens the
same view. A value that is not allowed (unknown theme, commune, year…) is ignored with a discreet
warning, never an exception.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from dashboard.i18n import DEFAULT_LANGUAGE, LANGUAGES, remember_language, t

LANG_PARAM = "lang"
_LANG_STATE = "_lang"
_LANG_WIDGET = "_lang_widget"
WIDGET_PREFIX = "url_"  # the widgets of the filters kept in the URL (their keys)
EMPTY_LIST = ""  # how an emptied multiselect is written in the URL (?theme=)
SHOWN_VALUE_CHARS = 40
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def _shown(value: str) -> str:
    """An address value as the warning shows it: cut short, unprintable characters replaced and
    Markdown escaped, so that a crafted link (?theme=[…](http://…)) never renders as one."""
    short = value if len(value) <= SHOWN_VALUE_CHARS else f"{value[:SHOWN_VALUE_CHARS]}…"
    printable = "".join(char if char.isprintable() else "\ufffd" for char in short)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", printable)


def _warn_ignored(name: str, value: str) -> None:
    st.toast(
        t("common.state.ignored", name=_shown(name), value=_shown(value)), icon=":material/info:"
    )


# --- language -------------------------------------------------------------------------------------


def language() -> str:
    """The language of this run: the URL's `?lang=`, else this session's choice, else French."""
    from_url = st.query_params.get(LANG_PARAM)
    lang = st.session_state.get(_LANG_STATE, DEFAULT_LANGUAGE)
    if from_url is not None:
        if from_url in LANGUAGES:
            lang = from_url
        else:
            _warn_ignored(LANG_PARAM, from_url)
    st.session_state[_LANG_STATE] = lang
    remember_language(lang)
    _write_param(LANG_PARAM, lang, DEFAULT_LANGUAGE)
    return lang


def _on_language_change() -> None:
    lang = st.session_state[_LANG_WIDGET]
    st.session_state[_LANG_STATE] = lang
    remember_language(lang)
    _write_param(LANG_PARAM, lang, DEFAULT_LANGUAGE)
    _keep_choices_across_languages()


def _keep_choices_across_languages() -> None:
    """Give every filter its code again, so that it is shown in the new language.

    Streamlit's browser side remembers a selectbox, radio or multiselect choice by its *label*: after
    a language switch it sends back « Par commune », which no English option matches, and the widget
    showed French values or nothing selected, then wrote labels into the URL. Here, before the page
    runs, each filter's value is read while the old labels still decode it (a code) and assigned
    again: an assigned value is sent to the browser anew, with the labels of the new language.
    """
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(WIDGET_PREFIX):
            st.session_state[key] = st.session_state[key]


def language_switch(lang: str) -> None:
    """The FR/EN switch of the sidebar, showing `lang` (from `language()`)."""
    st.session_state[_LANG_WIDGET] = lang
    st.sidebar.radio(
        t("common.language", lang=lang),
        LANGUAGES,
        key=_LANG_WIDGET,
        format_func=lambda code: t(f"common.language_name.{code}", lang=code),
        horizontal=True,
        on_change=_on_language_change,
    )


# --- URL helpers ----------------------------------------------------------------------------------


def _write_param(name: str, value: Any, default: Any) -> None:
    """Keep the URL short: a value equal to the default is left out of it."""
    if value == default:
        if name in st.query_params:
            del st.query_params[name]
        return
    if isinstance(value, list | tuple):
        encoded = [str(v) for v in value] or EMPTY_LIST
    else:
        encoded = str(value)
    current = st.query_params.get_all(name)
    if current != (encoded if isinstance(encoded, list) else [encoded]):
        st.query_params[name] = encoded


def follow_renamed(renamed: Mapping[str, str]) -> None:
    """Links made before a URL key was renamed still open the same view: the old key's values go
    to the new key (unless the address already has it) and the old key leaves the address, so
    the page runs with the new key only. A key means one thing on every page (docs/ARCHITECTURE.md,
    « Naming »); call this before the page's filters, with the page's `{old: new}` keys."""
    for old, new in renamed.items():
        if old not in st.query_params:
            continue
        values = st.query_params.get_all(old)
        del st.query_params[old]
        if new not in st.query_params:
            st.query_params[new] = values


def _options_by_text(options: Sequence) -> dict[str, Any]:
    return {str(option): option for option in options}


def url_value(name: str, options: Sequence, default: Any) -> Any:
    """The URL's single value for `name` if it is one of `options`, else `default` (with a warning)."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    by_text = _options_by_text(options)
    if raw in by_text:
        return by_text[raw]
    _warn_ignored(name, raw)
    return default


def url_values(name: str, options: Sequence, default: Sequence) -> list:
    """The URL's list for `name`, keeping only allowed values (each unknown one is warned about)."""
    raws = st.query_params.get_all(name)
    if not raws:
        return list(default)
    if raws == [EMPTY_LIST]:
        return []
    by_text = _options_by_text(options)
    kept, ignored = [], []
    for raw in raws:
        if raw not in by_text:
            ignored.append(raw)
        elif by_text[raw] not in kept:
            kept.append(by_text[raw])
    if ignored:  # one warning per parameter, however long the list in the address
        _warn_ignored(name, ", ".join(ignored))
    return kept


# --- filters --------------------------------------------------------------------------------------


def _key(name: str) -> str:
    return f"{WIDGET_PREFIX}{name}"


def _sync_to_url(name: str, default: Any) -> None:
    _write_param(name, st.session_state[_key(name)], default)


def select(
    name: str,
    options: Sequence,
    *,
    default: Any,
    label: str,
    format_func: Callable[[Any], str] = str,
    widget: str = "selectbox",
    container: Any = None,
    help: str | None = None,
    label_visibility: str = "visible",
    horizontal: bool = True,
) -> Any:
    """One value chosen among `options` (selectbox, radio or segmented control), kept in the URL."""
    options = list(options)
    if not options:
        return default
    if default not in options:
        default = options[0]
    key = _key(name)
    if st.session_state.get(key) not in options:
        st.session_state[key] = url_value(name, options, default)
    container = container or st
    make_widget = {
        "selectbox": container.selectbox,
        "radio": container.radio,
        "segmented_control": container.segmented_control,
    }[widget]
    extra = {"radio": {"horizontal": horizontal}, "segmented_control": {"required": True}}.get(
        widget, {}
    )
    make_widget(
        label,
        options,
        key=key,
        format_func=format_func,
        on_change=_sync_to_url,
        args=(name, default),
        help=help,
        label_visibility=label_visibility,
        **extra,
    )
    value = st.session_state[key]
    _write_param(name, value, default)
    return value


def multiselect(
    name: str,
    options: Sequence,
    *,
    default: Sequence = (),
    label: str,
    format_func: Callable[[Any], str] = str,
    max_selections: int | None = None,
    container: Any = None,
    help: str | None = None,
    placeholder: str | None = None,
) -> list:
    """Several values among `options`, kept in the URL as a repeated parameter (?theme=a&theme=b)."""
    options = list(options)
    default = [value for value in default if value in options]
    key = _key(name)
    current = st.session_state.get(key)
    if current is None or any(value not in options for value in current):
        chosen = url_values(name, options, default)
        st.session_state[key] = chosen[:max_selections] if max_selections else chosen
    container = container or st
    container.multiselect(
        label,
        options,
        key=key,
        format_func=format_func,
        max_selections=max_selections,
        on_change=_sync_to_url,
        args=(name, default),
        help=help,
        placeholder=placeholder,
    )
    value = list(st.session_state[key])
    _write_param(name, value, default)
    return value


def toggle(
    name: str, *, default: bool, label: str, container: Any = None, help: str | None = None
) -> bool:
    """An on/off choice, kept in the URL as 1 or 0."""
    key = _key(name)
    if key not in st.session_state:
        st.session_state[key] = url_value(name, ["1", "0"], "1" if default else "0") == "1"
    container = container or st
    container.toggle(label, key=key, help=help)
    value = bool(st.session_state[key])
    _write_param(name, "1" if value else "0", "1" if default else "0")
    return value


def text(
    name: str,
    *,
    label: str,
    placeholder: str | None = None,
    max_chars: int = 200,
    container: Any = None,
    help: str | None = None,
) -> str:
    """Free text (a search box), kept in the URL; returns it stripped."""
    key = _key(name)
    if key not in st.session_state:
        st.session_state[key] = (st.query_params.get(name) or "")[:max_chars]
    container = container or st
    container.text_input(
        label,
        key=key,
        placeholder=placeholder,
        max_chars=max_chars,
        on_change=_sync_to_url,
        args=(name, ""),
        help=help,
    )
    value = str(st.session_state[key]).strip()
    _write_param(name, value, "")
    return value


def tabs(
    name: str, codes: Sequence[str], *, default: str, format_func: Callable[[str], str]
) -> list:
    """Tabs whose open one is kept in the URL by its code (?onglet=carte), across language switches.

    Streamlit identifies the open tab by its label; the widget's key carries the language, so a
    switch makes a new widget that opens the URL's tab, labelled in the new language.
    """
    codes = list(codes)
    labels = [format_func(code) for code in codes]
    chosen = url_value(name, codes, default)
    key = f"tab_{name}_{st.session_state.get(_LANG_STATE, DEFAULT_LANGUAGE)}"
    if st.session_state.get(key) in labels:
        chosen = codes[labels.index(st.session_state[key])]

    def remember() -> None:
        shown = st.session_state.get(key)
        if shown in labels:
            _write_param(name, codes[labels.index(shown)], default)

    containers = st.tabs(labels, default=labels[codes.index(chosen)], key=key, on_change=remember)
    _write_param(name, chosen, default)
    return list(containers)
