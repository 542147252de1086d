"""The same questions answered the way a typical Streamlit dashboard does: pandas in the process.

A typical dashboard loads the raw tables into pandas once (`@st.cache_data def load(): ...`), then
filters and groups in Python at every interaction. This module does exactly that, generously: the
frames are loaded once and kept in memory (no copy per rerun; the cost of `st.cache_data`'s copy is
measured on its own), and the granularity rule (coarsest period per member and year, nothing counted
twice) is applied once at load time. Each answer is checked against the database's own aggregates,
so both ways answer the same question, then timed beside `dashboard.data.run` with its cache
cleared (the project's cold path).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from bench.timing import Timing, measure, measure_within, timed
from etl import release
from etl.vocabulary import CUBE_MEASURES

GRANULARITY_RANK = {"annee": 1, "trimestre": 2, "mois": 3}
MEASURES = list(CUBE_MEASURES)
FLOWS = [m for m in MEASURES if m != "liste_attente"]
# Seconds of pandas work per question at most (one run always): at 30× one answer takes seconds.
PANDAS_BUDGET_S = 2.0


@dataclass
class Frames:
    """The raw tables, as a pandas dashboard holds them."""

    activity: pd.DataFrame  # kept rows only, with year, quarter, categories, is_last flags
    members: pd.DataFrame
    communes: pd.DataFrame
    population: pd.DataFrame
    services: pd.DataFrame
    periods: pd.DataFrame

    def memory_bytes(self) -> int:
        frames = (self.activity, self.members, self.communes, self.population, self.services)
        return int(sum(frame.memory_usage(deep=True).sum() for frame in frames))


def load_frames(raw: Path) -> Frames:
    """`select *` of the raw tables into pandas, then the granularity rule applied once."""
    con = duckdb.connect(str(release.current(raw).raw), read_only=True)
    try:

        def table(name: str) -> pd.DataFrame:
            return con.sql(f"select * from {name}").df()  # noqa: S608

        activity, periods, submissions = table("activity"), table("periods"), table("submissions")
        members, communes, population = table("members"), table("communes"), table("population")
        services = table("services")
    finally:
        con.close()
    periods = periods.rename(columns={"code": "period_code"})
    periods["rank"] = periods["granularity"].map(GRANULARITY_RANK)
    sent = submissions.merge(periods[["period_code", "year", "rank"]], on="period_code")
    best = sent.groupby(["member_code", "year"], as_index=False)["rank"].min()
    period_columns = periods[["period_code", "rank", "quarter", "month", "granularity"]]
    activity = activity.merge(period_columns, on="period_code").merge(
        best.rename(columns={"rank": "best_rank"}), on=["member_code", "year"]
    )
    activity = activity[activity["rank"] == activity["best_rank"]].copy()
    activity["quarter"] = activity["quarter"].fillna((activity["month"] + 2) // 3)
    activity["is_last_of_year"] = activity["period_code"] == activity.groupby(
        ["member_code", "year"]
    )["period_code"].transform("max")
    activity["is_last_of_quarter"] = activity["period_code"] == activity.groupby(
        ["member_code", "year", "quarter"]
    )["period_code"].transform("max")
    activity = activity.merge(
        members[["code", "categories"]].rename(columns={"code": "member_code"}), on="member_code"
    )
    population = population[population["is_reference"]]
    return Frames(activity, members, communes, population, services, periods)


# --- the questions, in pandas ---------------------------------------------------------------------


def _cell_filter(frame: pd.DataFrame, theme: str, lieu: str) -> pd.DataFrame:
    """Rows of one cube cell: theme '*' = all, lieu '*' = everywhere, 'GE' = the 45 communes."""
    if theme != "*":
        frame = frame[frame["theme"] == theme]
    if lieu == "GE":
        frame = frame[frame["ofs_number"].notna()]
    elif lieu != "*":
        frame = frame[frame["lieu"] == lieu]
    return frame


def _in_category(frame: pd.DataFrame, category: str) -> pd.DataFrame:
    if category == "*":
        return frame
    return frame[frame["categories"].apply(lambda categories: category in list(categories))]


def _cell_sums(frame: pd.DataFrame, keys: list[str], last_flag: str) -> pd.DataFrame:
    sums = frame.groupby(keys)[FLOWS].sum()
    sums["liste_attente"] = (
        frame[frame[last_flag]].groupby(keys)["liste_attente"].sum().reindex(sums.index)
    )
    sums["n_members"] = frame.groupby(keys)["member_code"].nunique()
    sums["n_communes"] = frame[frame["personnes"] > 0].groupby(keys)["ofs_number"].nunique()
    return sums.reset_index()


def overview_kpis(frames: Frames, year: int) -> pd.DataFrame:
    rows = frames.activity[frames.activity["year"].isin([year, year - 1])]
    return _cell_sums(rows, ["year"], "is_last_of_year")


def overview_theme_trends(frames: Frames) -> pd.DataFrame:
    return _cell_sums(frames.activity, ["theme", "year"], "is_last_of_year")


def _series(
    frames: Frames, metric: str, themes, lieux, categories, keys: list[str], last_flag: str
) -> pd.DataFrame:
    parts = []
    for category in categories:
        in_category = _in_category(frames.activity, category)
        for theme in themes:
            for lieu in lieux:
                cell = _cell_filter(in_category, theme, lieu)
                sums = _cell_sums(cell, keys, last_flag)[[*keys, metric, "n_members"]]
                parts.append(sums.assign(theme=theme, lieu=lieu, category=category))
    series = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if series.empty:
        return series
    ofs = pd.to_numeric(series["lieu"], errors="coerce")
    series = series.assign(ofs_number=ofs).merge(
        frames.population[["ofs_number", "year", "population"]],
        on=["ofs_number", "year"],
        how="left",
    )
    canton = frames.population.groupby("year", as_index=False)["population"].sum()
    series = series.merge(canton.rename(columns={"population": "canton"}), on="year", how="left")
    series["population"] = series["population"].where(series["lieu"] != "GE", series["canton"])
    series["rate_per_1000"] = 1000 * series[metric] / series["population"]
    group = ["theme", "lieu", "category", *[k for k in keys if k != "year"]]
    series = series.sort_values([*group, "year"])
    series["previous_value"] = series.groupby(group)[metric].shift()
    return series


def trends_yearly(frames: Frames, metric: str, themes, lieux, categories) -> pd.DataFrame:
    return _series(frames, metric, themes, lieux, categories, ["year"], "is_last_of_year")


def trends_quarterly(frames: Frames, metric: str, themes, lieux, categories) -> pd.DataFrame:
    sub_annual = Frames(
        frames.activity[frames.activity["granularity"] != "annee"], *_others(frames)
    )
    return _series(
        sub_annual, metric, themes, lieux, categories, ["year", "quarter"], "is_last_of_quarter"
    )


def _others(frames: Frames) -> tuple:
    return (frames.members, frames.communes, frames.population, frames.services, frames.periods)


def needs_commune_theme(frames: Frames, theme: str, year: int) -> pd.DataFrame:
    rows = _cell_filter(frames.activity[frames.activity["year"] == year], theme, "GE")
    by_commune = _cell_sums(rows, ["ofs_number"], "is_last_of_year")
    by_commune["ofs_number"] = by_commune["ofs_number"].astype("int64")
    population = frames.population[frames.population["year"] == year]
    result = frames.communes[["ofs_number", "name"]].merge(
        population[["ofs_number", "population"]], on="ofs_number", how="left"
    )
    result = result.merge(by_commune, on="ofs_number", how="left")
    result["personnes"] = result["personnes"].fillna(0)
    result["canton_persons"] = rows["personnes"].sum()
    result["canton_members"] = rows["member_code"].nunique()
    result["canton_population"] = population["population"].sum()
    return result.sort_values("ofs_number")


def fiche_trends(frames: Frames, ofs: int) -> pd.DataFrame:
    canton_rows = frames.activity[frames.activity["ofs_number"].notna()]
    commune_rows = canton_rows[canton_rows["ofs_number"] == ofs]

    def by_theme_and_all(rows: pd.DataFrame) -> pd.DataFrame:
        themes = _cell_sums(rows, ["year", "theme"], "is_last_of_year")
        everything = _cell_sums(rows, ["year"], "is_last_of_year").assign(theme="*")
        return pd.concat([themes, everything], ignore_index=True)

    canton = by_theme_and_all(canton_rows)[
        ["year", "theme", "personnes", "demandes_non_satisfaites"]
    ]
    commune = by_theme_and_all(commune_rows)
    result = canton.merge(commune, on=["year", "theme"], how="left", suffixes=("_canton", ""))
    population = frames.population[frames.population["ofs_number"] == ofs]
    result = result.merge(population[["year", "population"]], on="year", how="left")
    return result.sort_values(["theme", "year"])


def _latest_services(frames: Frames, year: int) -> pd.DataFrame:
    services = frames.services.merge(
        frames.periods[["period_code", "year", "rank"]], on="period_code"
    )
    services = services[services["year"] == year]
    latest = services.groupby("member_code")["period_code"].transform("max")
    return services[services["period_code"] == latest]


def coverage_theme_commune(frames: Frames, year: int) -> pd.DataFrame:
    rows = frames.activity[
        (frames.activity["year"] == year) & frames.activity["ofs_number"].notna()
    ]
    activity = _cell_sums(rows, ["theme", "ofs_number"], "is_last_of_year")
    services = _latest_services(frames, year)
    served = []
    all_communes = frames.communes["ofs_number"].tolist()
    for service in services.itertuples():
        communes = set(all_communes) if service.tout_le_canton else set()
        if isinstance(service.communes_desservies, list | np.ndarray):
            communes |= {int(ofs) for ofs in service.communes_desservies}
        if pd.notna(service.ofs_number):
            communes.add(int(service.ofs_number))
        served += [(service.theme, ofs, service.member_code) for ofs in communes]
    serving = pd.DataFrame(served, columns=["theme", "ofs_number", "member_code"])
    coverage = serving.groupby(["theme", "ofs_number"], as_index=False).agg(
        services_serving=("member_code", "size"), members_serving=("member_code", "nunique")
    )
    grid = frames.communes[["ofs_number", "name"]].merge(
        pd.DataFrame({"theme": sorted(frames.activity["theme"].unique())}), how="cross"
    )
    grid = grid.merge(activity, on=["theme", "ofs_number"], how="left")
    return grid.merge(coverage, on=["theme", "ofs_number"], how="left")


# --- the same questions, checked against the database ---------------------------------------------


def _cube(raw: Path, sql: str, params: list) -> pd.DataFrame:
    con = duckdb.connect(str(release.current(raw).raw), read_only=True)
    try:
        return con.sql(sql, params=params).df()
    finally:
        con.close()


class AnswerMismatch(AssertionError):
    """The pandas answer differs from the database's aggregates: not the same question."""


def _same(label: str, ours: pd.Series, theirs: pd.Series) -> None:
    ours = ours.fillna(0).astype("int64").sort_index()
    theirs = theirs.fillna(0).astype("int64").sort_index()
    if not ours.equals(theirs):
        difference = (ours - theirs).abs().sort_values(ascending=False).head(3)
        raise AnswerMismatch(f"{label} : pandas et la base diffèrent ({difference.to_dict()})")


def check_answers(frames: Frames, raw: Path, year: int, theme: str) -> None:
    """Persons per theme × year, per commune, and the canton's headline figures, both ways."""
    trends = overview_theme_trends(frames).set_index(["theme", "year"])
    cube = _cube(
        raw,
        "select theme, year, personnes, n_members from agg_activity_year_cube "
        "where lieu = '*' and category = '*' and theme <> '*'",
        [],
    ).set_index(["theme", "year"])
    _same("personnes par thème et année", trends["personnes"], cube["personnes"])
    _same("membres par thème et année", trends["n_members"], cube["n_members"])
    needs = needs_commune_theme(frames, theme, year).set_index("ofs_number")
    communes = _cube(
        raw,
        "select ofs_number, personnes from agg_activity_year_cube "
        "where year = ? and theme = ? and category = '*' and ofs_number is not null",
        [year, theme],
    ).set_index("ofs_number")
    _same(
        f"personnes par commune ({theme}, {year})",
        needs["personnes"],
        communes["personnes"].reindex(needs.index),
    )
    kpis = overview_kpis(frames, year).set_index("year")
    canton = _cube(
        raw,
        "select year, personnes, liste_attente, n_communes from agg_activity_year_cube "
        "where theme = '*' and lieu = '*' and category = '*' and year in (?, ?)",
        [year, year - 1],
    ).set_index("year")
    for column in ("personnes", "liste_attente", "n_communes"):
        _same(f"{column} du canton", kpis[column], canton[column])


# --- timing -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    label: str
    query: str  # the data-layer query answering it on the pages
    answer: Callable[..., pd.DataFrame]  # the pandas way, same parameters less `fixed`
    fixed: dict = field(default_factory=dict)  # parameters that pick this question's case (step)


QUESTIONS = (
    Question("Chiffres clés de l'année", "overview_kpis", overview_kpis),
    Question("Évolution par thème", "overview_theme_trends", overview_theme_trends),
    Question("Séries annuelles choisies", "trends", trends_yearly, {"step": "annee"}),
    Question("Séries trimestrielles choisies", "trends", trends_quarterly, {"step": "trimestre"}),
    Question("Carte des besoins (thème, année)", "needs_commune_theme", needs_commune_theme),
    Question("Fiche communale : évolution", "fiche_trends", fiche_trends),
    Question("Couverture thèmes × communes", "coverage_theme_commune", coverage_theme_commune),
)


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    params: dict
    pandas: Timing
    layer: Timing

    @property
    def speedup(self) -> float:
        """How many times faster the data layer (cold) answers than pandas, medians."""
        return self.pandas.p50 / self.layer.p50


@dataclass(frozen=True)
class PandasResult:
    load_seconds: float
    memory_bytes: int
    activity_rows: int
    cache_copy_seconds: float  # one st.cache_data hit: unpickling the activity frame
    questions: list[QuestionResult]


def _params_of(cases, query: str, fixed: dict | None = None) -> dict | None:
    """The parameters of the first public case of `query` asked with the `fixed` values."""
    fixed = fixed or {}
    for case in cases:
        kwargs = case.kwargs()
        if case.name == query and not case.admin and fixed.items() <= kwargs.items():
            return kwargs
    return None


def _cache_copy_seconds(frame: pd.DataFrame) -> float:
    """What `st.cache_data` does on each hit: unpickle the cached value (a fresh copy)."""
    pickled = pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)
    return timed(lambda: pickle.loads(pickled))[1]


def measure_questions(raw: Path, cases, repeat: int, progress=print) -> PandasResult:
    """Load the raw tables into pandas, check the answers, then time each question both ways."""
    import streamlit as st

    from dashboard import data

    frames, load_seconds = timed(lambda: load_frames(raw))
    copy_seconds = _cache_copy_seconds(frames.activity)
    checked = _params_of(cases, "needs_commune_theme") or {"theme": "*", "year": 2024}
    check_answers(frames, raw, checked["year"], checked["theme"])
    results = []
    for question in QUESTIONS:
        params = _params_of(cases, question.query, question.fixed)
        if params is None:  # the pages did not ask it this run
            continue
        asked = {key: value for key, value in params.items() if key not in question.fixed}
        pandas = measure_within(
            lambda q=question, p=asked: q.answer(frames, **p), repeat, PANDAS_BUDGET_S
        )
        layer = measure(
            lambda q=question, p=params: data.run(q.query, **p),
            repeat,
            before_each=st.cache_data.clear,
            warmup=1,
        )
        timings = {"pandas": pandas, "layer": layer}
        result = QuestionResult(question, params, timings["pandas"], timings["layer"])
        progress(
            f"    {question.label:<36} pandas {result.pandas.p50 * 1000:8.1f} ms, "
            f"couche de données {result.layer.p50 * 1000:7.1f} ms ({result.speedup:5.1f}×)"
        )
        results.append(result)
    st.cache_data.clear()
    return PandasResult(
        load_seconds=load_seconds,
        memory_bytes=frames.memory_bytes(),
        activity_rows=len(frames.activity),
        cache_copy_seconds=copy_seconds,
        questions=results,
    )
