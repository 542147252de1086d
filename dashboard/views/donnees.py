"""Données: filtered, documented, citable downloads for researchers (DESIGN §6, §7).

The filters live in the URL (a copied link reopens the same extraction); the preview, the downloads
and `observatoire exporter` all come from etl/exports/ reading the public file through
`data.run`, so they carry the same rows and the same disclosure control.
"""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import tables, takeaway, unpublished
from dashboard.i18n import SUPPRESSED, current_language, fmt_date, fmt_int, label, t, t_or
from etl import exports
from etl.errors import UserError
from etl.public import suppressed_flag
from etl.vocabulary import CUBE_MEASURES

PREVIEW_ROWS = 2_000  # rows drawn in the table; downloads hold them all
FORMAT_ICONS = {
    "csv": ":material/table_view:",
    "xlsx": ":material/grid_on:",
    "parquet": ":material/database:",
    "zip": ":material/folder_zip:",
}


# --- labels ------------------------------------------------------------------------------------


def theme_namer(options: exports.Options):
    names = {row["code"]: label(row) for row in options.themes.to_dicts()}
    names[exports.ALL] = t("common.all_themes")
    return lambda code: names.get(code, code)


def commune_namer(options: exports.Options):
    names = dict(zip(options.communes["ofs_number"], options.communes["name"], strict=True))
    return lambda ofs: names.get(ofs, str(ofs))


def category_name(code: str) -> str:
    return t("common.all_members") if code == exports.ALL else t_or(f"common.category.{code}", code)


def variable_namer(options: exports.Options):
    indicators = {row["code"]: label(row) for row in options.indicators.to_dicts()}

    def name(variable: str) -> str:
        if variable in indicators:
            return f"{indicators[variable]} ({t('donnees.context')})"
        return t(f"donnees.variable.{variable}")

    return name


# --- filters (kept in the URL) --------------------------------------------------------------------


# Longer than 60 lines: one widget per filter, in the order they appear on the
# page; each is a few lines of options and labels, and they share the columns they sit in.
def choose_selection(options: exports.Options) -> exports.Selection:
    """The filter builder; returns the selection as chosen (empty lists meaning « all »)."""
    top = st.columns([1, 1, 1, 1])
    level = state.select(
        "niveau",
        exports.LEVELS,
        default="commune",
        label=t("donnees.level"),
        format_func=lambda v: t(f"donnees.level_name.{v}"),
        widget="radio",
        container=top[0],
    )
    granularity = state.select(
        "periode",
        exports.GRANULARITIES,
        default="annee",
        label=t("donnees.granularity"),
        format_func=lambda v: t(f"donnees.granularity_name.{v}"),
        widget="radio",
        container=top[1],
        help=t("donnees.granularity_help"),
    )
    years = list(options.quarter_years if granularity == "trimestre" else options.years)
    years = years or list(options.years)
    year_from = state.select(
        "debut", years, default=years[0], label=t("donnees.year_from"), container=top[2]
    )
    year_to = state.select(
        "fin", years, default=years[-1], label=t("donnees.year_to"), container=top[3]
    )
    middle = st.columns(2)
    # A commune's quarters are published for all themes together only (etl/exports/selection.py).
    communes_by_quarter = level == "commune" and granularity == "trimestre"
    themes = state.multiselect(
        "theme",
        [exports.ALL, *options.theme_codes],
        label=t("donnees.themes"),
        format_func=theme_namer(options),
        placeholder=t(
            "donnees.themes_all_quarters" if communes_by_quarter else "donnees.themes_all"
        ),
        container=middle[0],
        help=t("donnees.themes_help"),
    )
    communes: list[int] = []
    if level == "commune":
        communes = state.multiselect(
            "commune",
            options.communes["ofs_number"].to_list(),
            label=t("donnees.communes"),
            format_func=commune_namer(options),
            placeholder=t("donnees.communes_all"),
            container=middle[1],
        )
    bottom = st.columns(2)
    categories = state.multiselect(
        "categorie",
        options.categories,
        default=[exports.ALL],
        label=t("donnees.categories"),
        format_func=category_name,
        container=bottom[0],
        help=t("donnees.categories_help"),
    )
    variables = state.multiselect(
        "variable",
        options.variables(level),
        default=list(exports.DEFAULT_VARIABLES),
        label=t("donnees.variables"),
        format_func=variable_namer(options),
        container=bottom[1],
        help=t("donnees.variables_help"),
    )
    return exports.Selection(
        year_from=year_from,
        year_to=year_to,
        level=level,
        granularity=granularity,
        themes=tuple(themes),
        communes=tuple(communes),
        categories=tuple(categories),
        variables=tuple(variables),
    )


def selection_problem(selection: exports.Selection) -> str | None:
    """The message key of a selection that cannot be extracted (said in the page's language)."""
    if selection.year_from > selection.year_to:
        return "donnees.error_years"
    if not selection.categories:
        return "donnees.error_categories"
    if not selection.variables:
        return "donnees.error_variables"
    return None


def published_selection(selection: exports.Selection) -> exports.Selection:
    """`selection` when it is published; else the nearest published one, with the notice (the
    command line refuses it with the same words, in French: etl/exports/selection.py)."""
    missing = exports.unpublished(selection)
    if not missing:
        return selection
    unpublished.show_notice(missing, [unpublished.WIDENED[code] for code in missing])
    st.caption(t("donnees.unpublished_files"))
    return exports.nearest_published(selection)


# --- preview ---------------------------------------------------------------------------------------


def for_display(frame: pl.DataFrame) -> pl.DataFrame:
    """Withheld counts and rates read « X » instead of an empty cell; the flags are dropped."""
    shown = [
        c
        for c in (*CUBE_MEASURES, exports.RATE)
        if c in frame.columns and suppressed_flag(c) in frame.columns
    ]
    return frame.with_columns(
        pl.when(pl.col(suppressed_flag(c)))
        .then(pl.lit(SUPPRESSED))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in shown
    ).drop([suppressed_flag(c) for c in shown])


def show_preview(frame: pl.DataFrame) -> None:
    st.metric(t("donnees.rows"), fmt_int(frame.height))
    if frame.is_empty():
        st.info(t("donnees.no_rows"), icon=":material/filter_alt_off:")
        return
    shown = for_display(frame.head(PREVIEW_ROWS))
    # Counts become text (« X »): keep them right-aligned like the other numbers.
    counts = [c for c in (*CUBE_MEASURES, exports.RATE) if shown.schema.get(c) == pl.String]
    st.dataframe(
        shown,
        hide_index=True,
        key="apercu",
        column_config={c: st.column_config.TextColumn(alignment="right") for c in counts},
    )
    if frame.height > PREVIEW_ROWS:
        st.caption(
            t("donnees.preview_cut", shown=fmt_int(PREVIEW_ROWS), total=fmt_int(frame.height))
        )
    st.caption(t("donnees.suppressed_note"))


def show_downloads(frame: pl.DataFrame, meta: exports.Metadata) -> None:
    st.subheader(t("donnees.download"))
    columns = st.columns(len(exports.FORMATS))
    for column, fmt in zip(columns, exports.FORMATS, strict=True):
        column.download_button(
            t(f"donnees.format.{fmt}"),
            # Built only when clicked, on its own thread: the page stays fast.
            data=lambda fmt=fmt: exports.render(frame, meta, fmt),
            file_name=exports.file_name(meta, fmt),
            mime=exports.MIME_TYPES[fmt],
            key=f"telecharger_{fmt}",
            icon=FORMAT_ICONS[fmt],
            on_click="ignore",
            disabled=frame.is_empty(),
            width="stretch",
        )
    st.caption(t("donnees.formats_help"))


def show_citation(meta: exports.Metadata, command: str) -> None:
    lang = current_language()
    st.subheader(t("donnees.cite"))
    st.markdown(
        t(
            "donnees.version",
            version=meta.release.version,
            date=fmt_date(meta.release.published_at, lang),
        )
    )
    st.code(exports.citation(meta, lang), language=None, wrap_lines=True)
    st.caption(t("donnees.licence", licence=meta.dataset["licence_title"]))
    with st.expander(t("donnees.command")):
        st.code(command, language="bash", wrap_lines=True)


def show_dictionary(frame: pl.DataFrame) -> None:
    lang = current_language()
    st.subheader(t("donnees.dictionary"))
    entries = exports.dictionary(frame.columns)
    # A static table: the long definitions wrap instead of being cut at the grid's column width.
    tables.show_text_table(
        entries.with_columns(pl.col(f"unite_{lang}").fill_null("")),
        {
            "colonne": t("donnees.dict.column"),
            "type": t("donnees.dict.type"),
            f"unite_{lang}": t("donnees.dict.unit"),
            "source": t("donnees.dict.source"),
            f"definition_{lang}": t("donnees.dict.definition"),
        },
    )


# --- page -------------------------------------------------------------------------------------------


def main() -> None:
    st.title(t("donnees.title"))
    st.markdown(t("donnees.intro"))
    with st.expander(t("donnees.published_title")):
        st.markdown(t("donnees.published_text"))
    options = exports.load_options(data.run)
    if not options.years:
        st.info(t("common.no_activity"))
        return
    chosen = choose_selection(options)
    problem = selection_problem(chosen)
    if problem:
        st.warning(t(problem), icon=":material/filter_alt:")
        return
    chosen = published_selection(chosen)
    try:
        frame = exports.extract(chosen, data.run, options)
        meta = exports.metadata(chosen, data.run, options, url=takeaway.page_address())
    except UserError as error:
        st.warning(str(error), icon=":material/filter_alt:")
        return
    show_preview(frame)
    show_downloads(frame, meta)
    show_citation(meta, exports.cli_command(chosen))
    show_dictionary(frame)


main()
