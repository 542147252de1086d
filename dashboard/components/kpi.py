"""Headline figures (KPI cards)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import streamlit as st


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    delta: str | None = None
    # 'normal': up is green; 'inverse': up is red (e.g. unmet requests); 'off': grey.
    delta_color: Literal["normal", "inverse", "off"] = "normal"
    help: str | None = None


def kpi_row(kpis: list[Kpi]) -> None:
    """Cards side by side, each with its change on the previous period."""
    for column, kpi in zip(st.columns(len(kpis)), kpis, strict=True):
        unchanged = kpi.delta is not None and kpi.delta.startswith(("0 ", "+0 ", "0,", "0."))
        column.metric(
            kpi.label,
            kpi.value,
            delta=kpi.delta,
            delta_color="off" if unchanged else kpi.delta_color,
            delta_arrow="off" if unchanged else "auto",
            help=kpi.help,
            border=True,
        )
