"""Méthodologie: sources and licences, definitions, formulas, disclosure rule, freshness, estimates."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data, stats
from dashboard.components import signals, tables
from dashboard.i18n import current_language, fmt_datetime, fmt_decimal, fmt_int, label, t

FORMULAS = {
    "rate": r"\text{%s}_{c} = 1\,000 \times \frac{O_c}{P_c}",
    "exact": r"O_{inf} = \tfrac{1}{2}\,\chi^2_{\alpha/2;\,2O} \qquad "
    r"O_{sup} = \tfrac{1}{2}\,\chi^2_{1-\alpha/2;\,2O+2}",
    "byar": r"O_{inf} = O\left(1 - \frac{1}{9O} - \frac{z}{3\sqrt{O}}\right)^3 \qquad "
    r"O_{sup} = (O+1)\left(1 - \frac{1}{9(O+1)} + \frac{z}{3\sqrt{O+1}}\right)^3",
    "wilson": r"\frac{p + \frac{z^2}{2n} \pm z\sqrt{\frac{p(1-p)}{n} + \frac{z^2}{4n^2}}}"
    r"{1 + \frac{z^2}{n}}",
    "expected": r"E_{c,t} = \frac{P_c}{1\,000} \times \text{%s}_{GE,t} \times I_{c,t}",
    "gap": r"R_{c,t} = \frac{O_{c,t}}{E_{c,t}} \qquad "
    r"\left[\frac{O_{inf}}{E_{c,t}},\ \frac{O_{sup}}{E_{c,t}}\right]",
}


def sources(info: data.DatabaseInfo) -> None:
    st.header(t("methodology.sources_title"))
    st.markdown(t("methodology.sources_text"))
    indicators = data.run("methodology_indicators")
    lang = current_language()
    rows = indicators.to_dicts()
    table = pl.DataFrame(
        {
            "indicator": [label(row, lang) for row in rows],
            "unit": [row[f"unit_{lang}"] for row in rows],
            "source": [row["source"] for row in rows],
            "years": [row["years"] or "–" for row in rows],
            "communes": [fmt_int(row["n_communes"], lang) for row in rows],
        },
        schema={name: pl.String for name in ("indicator", "unit", "source", "years", "communes")},
    )
    # A static table: long indicator names and sources wrap instead of being cut (and it prints).
    st.table(
        table.rename(
            {
                "indicator": t("methodology.col_indicator"),
                "unit": t("methodology.col_unit"),
                "source": t("methodology.col_source"),
                "years": t("methodology.col_years"),
                "communes": t("methodology.col_communes"),
            }
        ),
        hide_index=True,
    )
    st.caption(t("methodology.indicators_caption"))
    st.markdown(t("methodology.licences_text"))
    document = data.sources_markdown()
    if document:
        with st.expander(t("methodology.sources_document")):
            st.markdown(document)


def definitions() -> None:
    st.header(t("methodology.definitions_title"))
    st.markdown(t("methodology.definitions_text"))


def formulas() -> None:
    st.header(t("methodology.formulas_title"))
    confidence = round(100 * stats.CONFIDENCE)
    st.markdown(t("methodology.rate_text", confidence=confidence))
    st.latex(FORMULAS["rate"] % t("methodology.rate_symbol"))
    st.markdown(t("methodology.poisson_text", threshold=stats.EXACT_POISSON_BELOW))
    st.latex(FORMULAS["exact"])
    st.latex(FORMULAS["byar"])
    st.markdown(t("methodology.wilson_text", z=fmt_decimal(stats.Z, 2)))
    st.latex(FORMULAS["wilson"])
    st.markdown(t("methodology.comparison_text"))
    st.subheader(t("methodology.gap_title"))
    st.markdown(t("methodology.gap_text"))
    st.latex(FORMULAS["expected"] % t("methodology.rate_symbol"))
    st.latex(FORMULAS["gap"])
    st.markdown(t("methodology.gap_reading"))
    needs_mapping_table()


def needs_mapping_table() -> None:
    """The theme → indicators mapping (data/needs_mapping.csv), in words."""
    mapping = stats.load_needs_mapping()
    themes = {row["code"]: label(row) for row in data.themes().to_dicts()}
    indicators = {row["code"]: label(row) for row in data.run("methodology_indicators").to_dicts()}
    rows = mapping.to_dicts()
    table = pl.DataFrame(
        {
            "theme": [themes.get(row["theme"], row["theme"]) for row in rows],
            "indicator": [
                indicators.get(row["indicator_code"], row["indicator_code"]) for row in rows
            ],
            "direction": [
                t(f"methodology.direction.{'up' if row['direction'] > 0 else 'down'}")
                for row in rows
            ],
        },
        schema={"theme": pl.String, "indicator": pl.String, "direction": pl.String},
    )
    with st.expander(t("methodology.mapping_title")):
        tables.show_table(
            table,
            column_config={
                "theme": st.column_config.TextColumn(t("methodology.col_theme")),
                "indicator": st.column_config.TextColumn(t("methodology.col_indicator")),
                "direction": st.column_config.TextColumn(t("methodology.col_direction")),
            },
            caption=t("methodology.mapping_caption"),
            key="methodology_mapping",
        )


def disclosure(info: data.DatabaseInfo) -> None:
    st.header(t("methodology.disclosure_title"))
    st.markdown(
        t(
            "methodology.disclosure_text",
            below=info.smallest_published_count,
            largest=info.smallest_published_count - 1,
        )
    )


def freshness(info: data.DatabaseInfo) -> None:
    st.header(t("methodology.freshness_title"))
    lang = current_language()
    st.markdown(
        t(
            "methodology.freshness_text",
            last_load=fmt_datetime(info.last_load_at, lang),
            published=fmt_datetime(info.published_at, lang),
            version=info.version or "–",
            years=f"{info.first_year}–{info.last_year}" if info.first_year else "–",
            complete=info.latest_complete_year or "–",
        )
    )


def estimates() -> None:
    st.header(t("methodology.estimates_title"))
    st.markdown(t("methodology.estimates_text"))
    summary = data.run("population_reference_summary")
    lang = current_language()
    rows = summary.to_dicts()
    table = pl.DataFrame(
        {
            "year": [str(row["year"]) for row in rows],
            "definition": [
                t(f"methodology.definition.{row['definition']}")
                if "," not in row["definition"]
                else row["definition"]
                for row in rows
            ],
            "population": [fmt_int(row["population"], lang) for row in rows],
            "published": [fmt_int(row["n_published"], lang) for row in rows],
            "interpolated": [fmt_int(row["n_interpolated"], lang) for row in rows],
            "carried": [fmt_int(row["n_carried_forward"], lang) for row in rows],
        },
        schema={
            name: pl.String
            for name in ("year", "definition", "population", "published", "interpolated", "carried")
        },
    )
    tables.show_table(
        table,
        column_config={
            "year": st.column_config.TextColumn(t("methodology.col_year")),
            "definition": st.column_config.TextColumn(t("methodology.col_definition")),
            "population": st.column_config.TextColumn(t("methodology.col_population")),
            "published": st.column_config.TextColumn(t("methodology.col_published")),
            "interpolated": st.column_config.TextColumn(t("methodology.col_interpolated")),
            "carried": st.column_config.TextColumn(t("methodology.col_carried")),
        },
        caption=t("methodology.population_caption"),
        key="methodology_population",
    )


info = data.db_info()
st.title(t("methodology.title"))
st.markdown(t("methodology.intro"))
sources(info)
definitions()
formulas()
signals.methodology()
disclosure(info)
freshness(info)
estimates()
