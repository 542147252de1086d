"""Méthodologie: sources and licences, definitions, formulas, disclosure rule, freshness, estimates."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboard import data
from dashboard.components import signals, tables
from dashboard.i18n import current_language, fmt_datetime, fmt_decimal, fmt_int, fmt_pct, label, t
from etl.analysis import coverage, funnel, needs_model, neighbours
from etl.analysis import intervals as stats

FORMULAS = {
    "rate": r"\text{%s}_{c} = 1\,000 \times \frac{O_c}{P_c}",
    "exact": r"O_{inf} = \tfrac{1}{2}\,\chi^2_{\alpha/2;\,2O} \qquad "
    r"O_{sup} = \tfrac{1}{2}\,\chi^2_{1-\alpha/2;\,2O+2}",
    "byar": r"O_{inf} = O\left(1 - \frac{1}{9O} - \frac{z}{3\sqrt{O}}\right)^3 \qquad "
    r"O_{sup} = (O+1)\left(1 - \frac{1}{9(O+1)} + \frac{z}{3\sqrt{O+1}}\right)^3",
    "wilson": r"\frac{p + \frac{z^2}{2n} \pm z\sqrt{\frac{p(1-p)}{n} + \frac{z^2}{4n^2}}}"
    r"{1 + \frac{z^2}{n}}",
    "relative": r"r_{c,k} = \min\left(4,\ \max\left(\tfrac{1}{4},\ \left(\frac{x_{c,k}}{\bar{x}_k}\right)^{d_k}\right)\right)"
    r"\qquad \bar{x}_k = \frac{\sum_c P_c\, x_{c,k}}{\sum_c P_c}",
    "index": r"I_{c,t} = \frac{\tilde I_{c,t}}{\sum_c P_c \tilde I_{c,t} / \sum_c P_c}"
    r"\qquad \tilde I_{c,t} = \frac{\sum_k w_k\, r_{c,k}}{\sum_k w_k}",
    "expected": r"E_{c,t} = \frac{P_c}{1\,000} \times \text{%s}_{GE,t} \times I_{c,t}",
    "poisson_limit": r"\frac{y_p - \alpha}{E} \qquad \alpha = "
    r"\frac{F(y_p) - p}{F(y_p) - F(y_p - 1)}",
    "z": r"z_c = 2\left(\sqrt{O_c} - \sqrt{E_c}\right) \qquad "
    r"\hat\varphi = \frac{1}{n}\sum_c z_{c,w}^2",
    "tau": r"\hat\tau^2 = \max\left(0,\ \frac{n\hat\varphi - (n-1)}"
    r"{\sum_c w_c - \sum_c w_c^2 / \sum_c w_c}\right) \qquad w_c = 4E_c",
    "adjusted": r"\left(1 \pm z_p \sqrt{\frac{1}{4E} + \hat\tau^2}\right)^2",
    "deviance": r"D = 2\sum_c \left[O_c \ln\frac{O_c}{\mu_c} - (O_c - \mu_c)\right] "
    r"\qquad \ln \mu_c = \ln P_c + \beta_0 + \beta_1 \ln I_c",
    "distance": r"d(a, b) = \sqrt{\frac{1}{K}\sum_{k=1}^{K} (z_{a,k} - z_{b,k})^2}",
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
    st.markdown(t("methodology.indicator_rule", low=20, high=80))
    st.subheader(t("methodology.gap_title"))
    st.markdown(t("methodology.gap_text"))
    st.latex(FORMULAS["relative"])
    st.markdown(
        t(
            "methodology.index_text",
            floor="¼",
            cap=fmt_decimal(needs_model.RELATIVE_CAP, 0),
        )
    )
    st.latex(FORMULAS["index"])
    st.latex(FORMULAS["expected"] % t("methodology.rate_symbol"))
    st.latex(FORMULAS["gap"])
    st.markdown(t("methodology.gap_reading"))
    needs_mapping_table()
    funnel_method()
    needs_fit()
    st.subheader(t("methodology.coverage_title"))
    st.markdown(t("methodology.coverage_text", quantile=round(100 * coverage.HIGH_NEED_QUANTILE)))
    st.subheader(t("methodology.neighbours_title"))
    st.markdown(t("methodology.neighbours_text", count=neighbours.COUNT))
    st.latex(FORMULAS["distance"])


def funnel_method() -> None:
    st.subheader(t("methodology.funnel_title"))
    st.markdown(t("methodology.funnel_text"))
    st.latex(FORMULAS["poisson_limit"])
    st.markdown(
        t(
            "methodology.funnel_overdispersion",
            winsor=round(100 * funnel.WINSOR_FRACTION),
            w90=round(100 * (1 - funnel.WINSOR_FRACTION)),
            minimum=funnel.MIN_COMMUNES,
        )
    )
    st.latex(FORMULAS["z"])
    st.latex(FORMULAS["tau"])
    st.latex(FORMULAS["adjusted"])
    st.markdown(t("methodology.funnel_flags"))


def needs_fit() -> None:
    """How well the needs index predicts the persons served, theme by theme (latest year)."""
    st.subheader(t("methodology.fit_title"))
    st.latex(FORMULAS["deviance"])
    year = data.db_info().latest_complete_year
    fits = data.run("methodology_needs_fit", year=year) if year else None
    if fits is None or fits.is_empty():
        st.markdown(t("methodology.fit_text", year=year or "–"))
        st.info(t("methodology.fit_none"))
        return
    st.markdown(t("methodology.fit_text", year=year))
    lang = current_language()
    rows = fits.to_dicts()
    table = pl.DataFrame(
        {
            "theme": [label(row, lang) for row in rows],
            "communes": [fmt_int(row["n_communes"], lang) for row in rows],
            "explained": [
                fmt_decimal(100 * row["deviance_explained"], 0, lang) + " %" for row in rows
            ],
            "fixed": [
                fmt_decimal(100 * row["deviance_explained_fixed"], 0, lang) + " %" for row in rows
            ],
            "slope": [
                f"{fmt_decimal(row['slope'], 2, lang)} ± {fmt_decimal(1.96 * row['slope_se'], 2, lang)}"
                for row in rows
            ],
            "phi": [
                fmt_decimal(row["phi"], 1, lang) if row["phi"] is not None else "–" for row in rows
            ],
            "flags": [f"{row['n_low_poisson']} → {row['n_low_adjusted']}" for row in rows],
        }
    )
    text_table(
        table,
        {
            "theme": t("methodology.col_theme"),
            "communes": t("methodology.col_communes"),
            "explained": t("methodology.col_explained"),
            "fixed": t("methodology.col_fixed"),
            "slope": t("methodology.col_slope"),
            "phi": "φ",
            "flags": t("methodology.col_flags"),
        },
        caption=t("methodology.fit_caption"),
        key="methodology_fit",
    )


def text_table(table: pl.DataFrame, labels: dict[str, str], caption: str, key: str) -> None:
    """A table of already formatted text columns, each under its label (every table here)."""
    tables.show_table(
        table,
        column_config={name: st.column_config.TextColumn(text) for name, text in labels.items()},
        caption=caption,
        key=key,
    )


def needs_mapping_table() -> None:
    """The theme → indicators mapping published with this release, in words."""
    mapping = data.run("methodology_needs_mapping")
    lang = current_language()
    rows = mapping.to_dicts()
    table = pl.DataFrame(
        {
            "theme": [row[f"theme_label_{lang}"] or row["theme"] for row in rows],
            "indicator": [label(row, lang) or row["indicator_code"] for row in rows],
            "weight": [fmt_decimal(row["weight"], 1, lang) for row in rows],
            "direction": [
                t(f"methodology.direction.{'up' if row['direction'] > 0 else 'down'}")
                for row in rows
            ],
        },
        schema={name: pl.String for name in ("theme", "indicator", "weight", "direction")},
    )
    with st.expander(t("methodology.mapping_title")):
        text_table(
            table,
            {
                "theme": t("methodology.col_theme"),
                "indicator": t("methodology.col_indicator"),
                "weight": t("methodology.col_weight"),
                "direction": t("methodology.col_direction"),
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
    disclosure_shares()


def disclosure_shares() -> None:
    """What disclosure control withholds in this release, crossing by crossing (persons), read
    from the public file: the cost of the protection, stated rather than estimated."""
    shares = data.run("methodology_disclosure_shares")
    lang = current_language()
    rows = shares.to_dicts()
    table = pl.DataFrame(
        {
            "crossing": [t(f"methodology.crossing.{row['crossing']}") for row in rows],
            "published": [fmt_int(row["published"], lang) for row in rows],
            "withheld": [fmt_int(row["withheld"], lang) for row in rows],
            "share": [fmt_pct(100 * row["withheld_share"], 0, lang) for row in rows],
        },
        schema={name: pl.String for name in ("crossing", "published", "withheld", "share")},
    )
    text_table(
        table,
        {
            "crossing": t("methodology.col_crossing"),
            "published": t("methodology.col_numbers"),
            "withheld": t("methodology.col_withheld"),
            "share": t("methodology.col_withheld_share"),
        },
        caption=t("methodology.shares_caption"),
        key="methodology_disclosure_shares",
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
    text_table(
        table,
        {
            "year": t("methodology.col_year"),
            "definition": t("methodology.col_definition"),
            "population": t("methodology.col_population"),
            "published": t("methodology.col_published"),
            "interpolated": t("methodology.col_interpolated"),
            "carried": t("methodology.col_carried"),
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
