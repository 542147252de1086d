"""Choropleth of the 45 communes and the lake that works offline (toolchain notes §2).

Plotly's geo maps fetch a world topojson from a CDN even when the base map is hidden; pointing
`topojsonURL` at the local stub in app/static/topojson/ keeps the map offline. The geometry comes
from `public.boundaries` and is parsed once per database version (cache_resource).

Traces, in this order: the communes that have a value (coloured, clickable), the communes without
one (grey: suppressed or no data, still clickable) and the lake. So the communes draw exactly 45
`path.choroplethlocation` and the lake one more.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import streamlit as st

from dashboard import data
from dashboard.components.charts import PLOTLY_CONFIG, separators

TOPOJSON_URL = "app/static/topojson/"
MAP_CONFIG = {**PLOTLY_CONFIG, "topojsonURL": TOPOJSON_URL, "scrollZoom": False}
NO_VALUE_COLOUR = "#D9D9D9"
LAKE_COLOUR = "#C6DBEF"
BORDER_COLOUR = "#FFFFFF"
EMPHASIS_COLOUR = "#1A1A1A"
LAKE_ID = "lac"


@dataclass(frozen=True)
class Geometry:
    """The prepared shapes: a FeatureCollection of communes keyed by OFS number, and the lake's."""

    communes: dict
    lake: dict
    names: dict[int, str]


def _feature_collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


@st.cache_resource(max_entries=2, show_spinner=False)
def _prepare(rows: tuple[tuple, ...]) -> Geometry:
    """Parse the GeoJSON strings once; `rows` (kind, ofs_number, name, geojson) is the cache key."""
    communes, lakes, names = [], [], {}
    for kind, ofs_number, name, geojson in rows:
        geometry = json.loads(geojson)
        if geometry.get("type") == "Feature":
            geometry = geometry["geometry"]
        if kind == "lac":
            properties = {"id": LAKE_ID, "name": name}
            lakes.append(
                {"type": "Feature", "id": LAKE_ID, "properties": properties, "geometry": geometry}
            )
        else:
            properties = {"ofs_number": int(ofs_number), "name": name}
            communes.append(
                {
                    "type": "Feature",
                    "id": int(ofs_number),
                    "properties": properties,
                    "geometry": geometry,
                }
            )
            names[int(ofs_number)] = name
    return Geometry(_feature_collection(communes), _feature_collection(lakes), names)


def geometry() -> Geometry:
    """The communes and the lake, parsed once (data.run is itself cached per file version)."""
    frame = data.run("map_boundaries")
    return _prepare(tuple(frame.select("kind", "ofs_number", "name", "geojson").iter_rows()))


@dataclass(frozen=True)
class MapValues:
    """What to draw: one entry per commune (value None = no colour), with its tooltip text."""

    ofs_numbers: Sequence[int]
    values: Sequence[float | None]
    hover: Sequence[str]
    colour_title: str
    colorscale: str | list = "Viridis"
    zmid: float | None = None
    zmin: float | None = None
    zmax: float | None = None
    tick_values: Sequence[float] | None = None
    tick_text: Sequence[str] | None = None
    reverse_scale: bool = False
    emphasis: Sequence[bool] | None = None  # drawn with a dark outline (e.g. under-served)


def _outline(emphasis: list[bool]) -> dict:
    """White borders, a dark thicker one for the communes to notice."""
    return {
        "line": {
            "color": [EMPHASIS_COLOUR if flag else BORDER_COLOUR for flag in emphasis],
            "width": [2.4 if flag else 0.8 for flag in emphasis],
        }
    }


# Longer than 60 lines: one Plotly figure in one place: the coloured communes, the
# grey ones without value, the outlines and the lake, each a trace with its own settings.
def choropleth(
    values: MapValues, shapes: Geometry, *, lake_label: str, height: int = 560
) -> go.Figure:
    """The communes coloured by value, the ones without value in grey, and the lake."""
    emphasis = values.emphasis or [False] * len(values.ofs_numbers)
    rows = list(zip(values.ofs_numbers, values.values, values.hover, emphasis, strict=True))
    valued = [row for row in rows if row[1] is not None]
    missing = [row for row in rows if row[1] is None]
    common = {
        "geojson": shapes.communes,
        "featureidkey": "properties.ofs_number",
        "hovertemplate": "%{text}<extra></extra>",
    }
    fig = go.Figure()
    fig.add_trace(
        go.Choropleth(
            locations=[row[0] for row in valued],
            z=[row[1] for row in valued],
            text=[row[2] for row in valued],
            marker=_outline([row[3] for row in valued]),
            colorscale=values.colorscale,
            reversescale=values.reverse_scale,
            zmid=values.zmid,
            zmin=values.zmin,
            zmax=values.zmax,
            colorbar={
                "title": {"text": values.colour_title, "side": "right"},
                "tickvals": list(values.tick_values) if values.tick_values else None,
                "ticktext": list(values.tick_text) if values.tick_text else None,
                "thickness": 14,
                "len": 0.8,
            },
            name="communes",
            **common,
        )
    )
    if missing:
        fig.add_trace(
            go.Choropleth(
                locations=[row[0] for row in missing],
                z=[0] * len(missing),
                text=[row[2] for row in missing],
                marker=_outline([row[3] for row in missing]),
                colorscale=[[0, NO_VALUE_COLOUR], [1, NO_VALUE_COLOUR]],
                showscale=False,
                name="communes_sans_valeur",
                **common,
            )
        )
    fig.add_trace(
        go.Choropleth(
            geojson=shapes.lake,
            featureidkey="properties.id",
            locations=[LAKE_ID],
            z=[0],
            text=[lake_label],
            colorscale=[[0, LAKE_COLOUR], [1, LAKE_COLOUR]],
            showscale=False,
            marker={"line": {"color": LAKE_COLOUR, "width": 0}},
            hovertemplate="%{text}<extra></extra>",
            name=LAKE_ID,
        )
    )
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    fig.update_layout(
        height=height,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        separators=separators(),
        dragmode=False,
        clickmode="event+select",
    )
    return fig


def clicked_commune(event: object) -> int | None:
    """The OFS number of the commune clicked on the map, if any (read as a plain dict: AppTest)."""
    if not event:
        return None
    try:
        points = event["selection"]["points"]  # type: ignore[index]
    except (KeyError, TypeError):
        return None
    for point in points or []:
        location = point.get("location") if isinstance(point, dict) else None
        if location is None or location == LAKE_ID:
            continue
        try:
            return int(location)
        except (TypeError, ValueError):
            continue
    return None


def show_map(fig: go.Figure, *, key: str, alt: str | None = None) -> int | None:
    """Draw the map with click selection; return the commune clicked during this run.

    `alt` is its text alternative for screen readers (what the map shows, in one sentence).
    """
    event = st.plotly_chart(
        fig, key=key, on_select="rerun", selection_mode="points", config=MAP_CONFIG, alt=alt
    )
    return clicked_commune(event)
