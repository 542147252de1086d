"""Qui fait quoi: who can help with what, where and when (DESIGN §1, §7). Filters live in the URL."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from dashboard import data, state
from dashboard.components import directory as d
from dashboard.components import map as commune_map
from dashboard.components import tables, takeaway
from dashboard.i18n import current_language, fmt_int, label, t
from etl import exports as downloads
from etl import hsds

ANY_DAY = "tous"
_PENDING_COMMUNE = "_directory_clicked_commune"
_LAST_CLICK = "_directory_last_click"
# URL keys renamed so that each means one thing on every page (docs/ARCHITECTURE.md, « Naming »):
# the open tab is an `onglet` (as on Administration), `vue` a take-away's chart or table, and
# `vue_carte` the map's (as on Couverture).
RENAMED_KEYS = {"vue": "onglet", "carte_vue": "vue_carte"}


def apply_map_click() -> None:
    """A commune clicked on the map becomes the commune filter (applied before the widget exists)."""
    clicked = st.session_state.pop(_PENDING_COMMUNE, None)
    if clicked is not None:
        st.session_state["url_commune"] = [clicked]


# Longer than 60 lines: one widget per filter, in the order they appear on the
# page; each is a few lines of options and labels, and they share the columns they sit in.
def filters(prepared: pl.DataFrame, themes: pl.DataFrame, communes: pl.DataFrame) -> d.Criteria:
    lang = current_language()
    theme_names = {row["code"]: label(row, lang) for row in themes.to_dicts()}
    commune_names = dict(zip(communes["ofs_number"], communes["name"], strict=True))
    st.subheader(t("directory.filters"))
    with st.container(border=True):
        first = st.columns([3, 3, 2])
        chosen_themes = state.multiselect(
            "theme",
            list(theme_names),
            label=t("directory.filter_theme"),
            format_func=lambda code: theme_names.get(code, code),
            placeholder=t("directory.placeholder_all"),
            container=first[0],
        )
        chosen_communes = state.multiselect(
            "commune",
            list(commune_names),
            label=t("directory.filter_commune"),
            format_func=lambda ofs: commune_names.get(ofs, str(ofs)),
            placeholder=t("directory.placeholder_all"),
            container=first[1],
        )
        scope = state.select(
            "portee",
            d.SCOPES,
            default=d.SCOPE_SERVES,
            label=t("directory.filter_scope"),
            format_func=lambda code: t(f"directory.scope.{code}"),
            widget="radio",
            container=first[2],
            help=t("directory.scope_help"),
        )
        second = st.columns([2, 2, 2, 3])
        types = state.multiselect(
            "type",
            d.type_options(prepared),
            label=t("directory.filter_type"),
            format_func=lambda key: d.service_type_label(key, lang),
            placeholder=t("directory.placeholder_all"),
            container=second[0],
        )
        languages = state.multiselect(
            "langue",
            d.language_options(prepared),
            label=t("directory.filter_language"),
            format_func=str.capitalize,
            placeholder=t("directory.placeholder_all"),
            container=second[1],
        )
        day = state.select(
            "jour",
            [ANY_DAY, *d.DAY_CODES],
            default=ANY_DAY,
            label=t("directory.filter_day"),
            format_func=lambda code: (
                t("directory.any_day") if code == ANY_DAY else t(f"directory.day.{code}")
            ),
            container=second[2],
            help=t("directory.day_help"),
        )
        text = state.text(
            "q",
            label=t("directory.filter_text"),
            placeholder=t("directory.filter_text_placeholder"),
            container=second[3],
        )
    return d.Criteria(
        themes=tuple(chosen_themes),
        communes=tuple(chosen_communes),
        scope=scope,
        types=tuple(types),
        languages=tuple(languages),
        day=None if day == ANY_DAY else d.DAY_CODES.index(day),
        text=text,
    )


def card(row: dict, lang: str) -> None:
    """One service: what, who, where, when, how to reach it and on what conditions."""
    esc = d.md_escape
    sep = ": " if lang == "en" else " : "  # French puts a space before the colon
    with st.container(border=True):
        theme = row["theme_label_en"] if lang == "en" else row["theme_label_fr"]
        kind = f" · {esc(d.service_type_label(row['type'], lang))}" if row["type"] else ""
        st.markdown(
            f"**{esc(row['nom'])}** — {t('directory.card_member', member=esc(row['member_name']))}  \n"
            f":blue-badge[{esc(theme)}]{kind}"
        )
        lines = []
        place = row["commune_name"] or t("directory.outside_canton")
        lines.append(f"**{t('directory.card_address')}**{sep}{esc(d.full_address(row, place))}")
        lines.append(f"**{t('directory.card_served')}**{sep}{esc(row['desservies'] or place)}")
        for key, column in (
            ("card_hours", "horaires"),
            ("card_contact", "contact"),
            ("card_conditions", "conditions_acces"),
        ):
            if row[column]:
                lines.append(f"**{t('directory.' + key)}**{sep}{esc(row[column])}")
        if row["langues"]:
            lines.append(
                f"**{t('directory.card_languages')}**{sep}{esc(', '.join(row['langues']))}"
            )
        if row["capacite"] is not None:
            lines.append(f"**{t('directory.card_capacity')}**{sep}{fmt_int(row['capacite'], lang)}")
        st.markdown("  \n".join(lines))
        st.caption(t("directory.card_period", period=row["period_code"]))


def result_list(selection: pl.DataFrame, lang: str) -> None:
    """Cards two by two, so that a search result fits on a screen or two."""
    rows = list(selection.head(d.MAX_CARDS).iter_rows(named=True))
    for pair in range(0, len(rows), 2):
        for column, row in zip(st.columns(2), rows[pair : pair + 2], strict=False):
            with column:
                card(row, lang)
    if selection.height > d.MAX_CARDS:
        st.info(t("directory.more_in_table", shown=d.MAX_CARDS, n=fmt_int(selection.height, lang)))


def result_table(selection: pl.DataFrame, lang: str) -> None:
    display = d.with_service_type_labels(d.export_frame(selection, lang), lang).select(
        "service",
        "membre",
        "theme",
        "type",
        "commune",
        "communes_desservies",
        "adresse",
        "horaires",
        "contact",
        "conditions_acces",
        "langues",
        "capacite",
    )
    column = st.column_config.TextColumn
    tables.show_table(
        display,
        column_config={
            "service": column(t("directory.col_service"), width="medium"),
            "membre": column(t("directory.col_member")),
            "theme": column(t("directory.col_theme")),
            "type": column(t("directory.col_type")),
            "commune": column(t("directory.col_commune")),
            "communes_desservies": column(t("directory.col_served")),
            "adresse": column(t("directory.col_address")),
            "horaires": column(t("directory.col_hours")),
            "contact": column(t("directory.col_contact")),
            "conditions_acces": column(t("directory.col_conditions")),
            "langues": column(t("directory.col_languages")),
            "capacite": st.column_config.NumberColumn(t("directory.col_capacity"), format="%d"),
        },
        caption=t("directory.source"),
        key="directory_table",
    )


# Longer than 60 lines: the map of services per commune with its scale, tooltips and
# take-away, one page section read top to bottom.
def result_map(selection: pl.DataFrame, communes: pl.DataFrame, lang: str) -> None:
    counts = d.services_by_commune(selection, communes)
    rows = counts.to_dicts()
    top = max(1, max(row["desservant"] for row in rows))
    ticks = list(range(0, top + 1)) if top <= 10 else None  # whole services, not 0,5
    values = commune_map.MapValues(
        ofs_numbers=[row["ofs_number"] for row in rows],
        values=[row["desservant"] for row in rows],
        hover=[
            t(
                "directory.map_hover",
                name=row["name"],
                serving=fmt_int(row["desservant"], lang),
                located=fmt_int(row["situes"], lang),
            )
            for row in rows
        ],
        colour_title=t("directory.map_colour"),
        colorscale="Greens",  # not blue: the lake is drawn in light blue
        zmin=0,
        zmax=top,
        tick_values=ticks,
        tick_text=[fmt_int(tick, lang) for tick in ticks] if ticks else None,
    )
    fig = commune_map.choropleth(
        values, commune_map.geometry(), lake_label=t("directory.lake"), height=520
    )
    ranked = sorted(rows, key=lambda row: (-row["desservant"], row["name"]))
    spec = takeaway.Takeaway(
        title=t("directory.map_title"),
        summary=t(
            "directory.map_summary",
            covered=fmt_int(sum(1 for row in rows if row["desservant"]), lang),
            total=fmt_int(len(rows), lang),
            top=ranked[0]["name"],
            n=fmt_int(ranked[0]["desservant"], lang),
        ),
        data=pl.DataFrame(
            {
                t("directory.col_commune"): [row["name"] for row in ranked],
                t("directory.map_colour"): [row["desservant"] for row in ranked],
                t("directory.col_located"): [row["situes"] for row in ranked],
            }
        ),
        source=t("directory.source_short"),
        years=str(dt.date.today().year),
        notes=[t("directory.map_note")],
    )

    def ranked_table() -> None:
        tables.commune_link_table(
            [
                {
                    "ofs_number": row["ofs_number"],
                    "name": row["name"],
                    "serving": fmt_int(row["desservant"], lang),
                    "located": fmt_int(row["situes"], lang),
                }
                for row in ranked
            ],
            {
                "name": t("directory.col_commune"),
                "serving": t("directory.map_colour"),
                "located": t("directory.col_located"),
            },
            lang=lang,
        )

    clicked = takeaway.show(
        fig,
        spec,
        key="directory_map",
        heading=False,
        view_param="vue_carte",
        draw=lambda figure: commune_map.show_map(
            figure, key="directory_map", alt=f"{spec.title}. {spec.summary}"
        ),
        table=ranked_table,
    )
    if clicked is not None and clicked != st.session_state.get(_LAST_CLICK):
        st.session_state[_LAST_CLICK] = clicked
        st.session_state[_PENDING_COMMUNE] = clicked
        st.rerun()


def exports(
    selection: pl.DataFrame, themes: pl.DataFrame, communes: pl.DataFrame, lang: str
) -> None:
    st.subheader(t("directory.exports"))
    # The export module writes every download (members' texts that a spreadsheet would run as a
    # formula are neutralised there).
    frame = d.export_frame(selection, lang)
    stamp = dt.date.today().isoformat()
    columns = st.columns(3)
    columns[0].download_button(
        t("directory.export_csv"),
        downloads.to_csv(frame),
        file_name=f"qui-fait-quoi-{stamp}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
        key="directory_csv",
    )
    members = data.run("directory_members")  # read here: the callables run outside the script
    # Excel and HSDS are built only when clicked: building both at every run took most of the
    # page's time (1.4 s of 1.6 s with 1,200 services).
    columns[1].download_button(
        t("directory.export_excel"),
        lambda: downloads.to_xlsx(frame, "services"),
        file_name=f"qui-fait-quoi-{stamp}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click="ignore",
        icon=":material/download:",
        key="directory_excel",
    )
    columns[2].download_button(
        t("directory.export_hsds"),
        lambda: hsds.build_zip(selection, members, themes, communes),
        file_name=f"qui-fait-quoi-hsds-{stamp}.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/download:",
        help=t("directory.export_hsds_help"),
        key="directory_hsds",
    )


state.follow_renamed(RENAMED_KEYS)
st.title(t("directory.title"))
st.markdown(t("directory.intro"))
directory = data.run("directory_services")
if directory.is_empty():
    st.info(t("directory.empty"))
    st.stop()

lang = current_language()
theme_frame, commune_frame = data.themes(), data.communes()
prepared = d.with_served_names(d.prepare(directory), commune_frame, t("directory.whole_canton"))
apply_map_click()
criteria = filters(prepared, theme_frame, commune_frame)
selected = d.filter_directory(prepared, criteria)

n_members = selected["member_code"].n_unique()
st.markdown(
    t(
        "directory.count",
        n=fmt_int(selected.height, lang),
        total=fmt_int(prepared.height, lang),
        members=fmt_int(n_members, lang),
    )
)
if criteria.day is not None:
    unparsed = prepared.filter(pl.col("jours").list.len() == 0).height
    if unparsed:
        st.caption(t("directory.unparsed_hours", n=fmt_int(unparsed, lang)))
if selected.is_empty():
    st.warning(t("directory.none_found"), icon=":material/search_off:")

TAB_KEYS = {"liste": "list", "tableau": "table", "carte": "map"}  # URL code -> locale key
list_tab, table_tab, map_tab = state.tabs(
    "onglet",
    ("liste", "tableau", "carte"),
    default="liste",
    format_func=lambda code: t(f"directory.tab_{TAB_KEYS[code]}", lang=lang),
)
with list_tab:
    result_list(selected, lang)
with table_tab:
    result_table(selected, lang)
with map_tab:
    st.subheader(t("directory.map_title"))
    result_map(selected, commune_frame, lang)
if not selected.is_empty():
    exports(selected, theme_frame, commune_frame, lang)
