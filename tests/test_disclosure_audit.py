"""The protection requirement (DESIGN §6) and the auditor that plays the attacker (issue #12).

Every expectation is worked out by hand in the comments. The attacker's view is rebuilt from the
published file and the raw cubes by `disclosure.audit_published`, which gets no help from the
method: it finds its own proofs, or bounds each withheld 1–4 by itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import highspy
import numpy as np
import polars as pl
import pytest
from demo_settings import LATEST_COMPLETE_YEAR as YEAR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl import db as etl_db
from etl import disclosure, public
from etl.disclosure import greedy, method, programme
from etl.disclosure.audit import proven_breaches
from etl.disclosure.cube import LIEU, MEASURE, THEME, UNBOUNDED, Q, cell_index
from etl.disclosure.moves import NONE, Model
from etl.disclosure.relations import build_groups
from etl.disclosure.search import AXES, Search
from etl.errors import UserError
from etl.submission.load import load_files

pytest_plugins = ["test_reliability_support", "test_submission_support"]

SORAL, ONEX, LANCY = "6639", "6631", "6628"
SEVEN_THEMES = [
    "emploi",
    "droits",
    "logement",
    "violences",
    "jeunesse",
    "alimentation",
    "lien_social",
]
OTHER_THEMES = ["sante", "famille"]


def activity_csv(path: Path, member: str, period: str, rows: list[tuple]) -> Path:
    """A member's activity file: (theme, commune, personnes, femmes, hommes) per row."""
    lines = ["membre;periode;theme;commune;personnes;femmes;hommes"]
    lines += [f"{member};{period};{';'.join(str(v) for v in row)}" for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load(db_path: Path, files: list[Path]) -> None:
    results = load_files(files, db_path, user="test")
    assert all(r.ok for r in results), [r.issues[:2] for r in results]


def raw_cubes(db_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    con = etl_db.open_reader(db_path)
    try:
        return (
            etl_db.query(con, "select * from main.agg_activity_year_cube"),
            etl_db.query(con, "select * from main.agg_activity_quarter_cube"),
        )
    finally:
        con.close()


def published_tables(db_path: Path) -> dict[str, pl.DataFrame]:
    """Every table of the public file, as the attacker downloads it."""
    con = public.open_public_reader(public.public_path(db_path))
    try:
        names = etl_db.query(
            con,
            "select table_name from information_schema.tables where table_schema = 'public'",
        )["table_name"].to_list()
        return {name: etl_db.query(con, f'select * from public."{name}"') for name in names}
    finally:
        con.close()


def published_cubes(db_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    tables = published_tables(db_path)
    return tables[public.YEAR_CUBE], tables[public.QUARTER_CUBE]


def attack(db_path: Path, published: tuple[pl.DataFrame, pl.DataFrame] | None = None):
    """The attacker's audit of the public file (or of `published` cubes with its other tables):
    (the model, the report)."""
    year, quarter = raw_cubes(db_path)
    tables = published_tables(db_path)
    shown_year, shown_quarter = published or (tables[public.YEAR_CUBE], tables[public.QUARTER_CUBE])
    return disclosure.audit_published(year, quarter, shown_year, shown_quarter, tables)


def cells_frame(cube, cells) -> pl.DataFrame:
    """The keys of model cells, one row each (table, year, quarter, theme, lieu, category, measure)."""
    return pl.DataFrame([disclosure.cell_label(cube, int(c)) for c in cells])


@pytest.fixture
def soral_db(published_base, tmp_path) -> Path:
    """2021, one member: at Soral seven themes hold one person each and two hold six (19 in all);
    Onex and Lancy hold 40 and 30 persons in each of the nine themes."""
    db_path = tmp_path / "obs.duckdb"
    shutil.copyfile(published_base, db_path)
    shutil.copyfile(public.public_path(published_base), public.public_path(db_path))
    load(db_path, [activity_csv(tmp_path / "soral.csv", "ALIM-01", "2021", soral_rows())])
    return db_path


def soral_rows() -> list[tuple]:
    rows = [(theme, SORAL, 1, 1, 0) for theme in SEVEN_THEMES]
    rows += [(theme, SORAL, 6, 3, 3) for theme in OTHER_THEMES]
    for commune, persons in ((ONEX, 40), (LANCY, 30)):
        rows += [
            (theme, commune, persons, persons // 2, persons // 2)
            for theme in [*SEVEN_THEMES, *OTHER_THEMES]
        ]
    return rows


def soral_persons() -> pl.Expr:
    return (
        (pl.col("lieu") == SORAL)
        & (pl.col("measure") == "personnes")
        & (pl.col("quarter") == 0)
        & pl.col("theme").is_in(SEVEN_THEMES)
    )


def test_the_old_rule_lets_the_soral_pattern_through(soral_db):
    # The old rule publishes Soral's total (19) and its two themes of 6: the seven hidden themes add
    # up to 19 - 12 = 7, each is at least 1 (n_communes = 1 says someone was served), so each is 1.
    year, quarter = raw_cubes(soral_db)
    old_year, old_quarter = greedy.suppress_activity_cubes(year, quarter)
    soral_all = old_year.filter(
        (pl.col("lieu") == SORAL) & (pl.col("theme") == "*") & (pl.col("category") == "*")
    )
    assert soral_all["personnes"].to_list() == [19]
    cube, report = attack(soral_db, (old_year, old_quarter))
    recovered = cells_frame(cube, report.breaches).with_columns(
        low=pl.Series(report.lower), high=pl.Series(report.upper)
    )
    soral = recovered.filter(soral_persons() & (pl.col("category") == "*"))
    assert sorted(soral["theme"].to_list()) == sorted(SEVEN_THEMES)
    assert (soral["low"] == 1).all() and (soral["high"] == 1).all()


def test_the_publish_protects_the_soral_pattern(soral_db):
    shown_year, shown_quarter = published_cubes(soral_db)
    cube, report = attack(soral_db)
    assert report.ok, (report.breaches, report.lower, report.upper)
    assert report.sensitive_withheld > 0
    hidden = disclosure.published_hidden(cube, shown_year, shown_quarter)
    published = np.flatnonzero(cube.published)
    seven = cells_frame(cube, published).with_columns(hidden=pl.Series(hidden[published]))
    seven = seven.filter(soral_persons())
    assert seven.height == 7  # all members only: a commune by member category is not published
    assert seven["hidden"].all()
    assert shown_year.filter((pl.col("lieu") == SORAL) & (pl.col("category") != "*")).is_empty()
    # No published count is 1–4 anywhere.
    for frame in (shown_year, shown_quarter):
        for measure in public.CUBE_MEASURES:
            assert frame.filter(pl.col(measure).is_between(1, 4)).is_empty()


def test_a_weakened_rule_makes_the_publish_refuse(soral_db, monkeypatch):
    # Primary suppression alone: Soral's seven 1s are hidden but their total and the two 6s are
    # published, so the audit finds them and nothing is published.
    monkeypatch.setattr(method, "SECONDARY_PROTECTION", False)
    year, quarter = raw_cubes(soral_db)
    with pytest.raises(UserError) as refused:
        disclosure.protect_activity_cubes(year, quarter)
    message = str(refused.value)
    assert message.startswith("Publication refusée")
    assert "activity_" in message and "mesure" in message and "Rien n'a été publié" in message


def test_a_refused_audit_leaves_the_public_file_as_it_was(soral_db, tmp_path, monkeypatch):
    before = public.public_path(soral_db).read_bytes()
    monkeypatch.setattr(method, "SECONDARY_PROTECTION", False)
    # Soral's pattern again in 2022: the year this load touches, the one it protects and audits
    # (etl/incremental.py; the other years' protected rows are kept).
    more = activity_csv(tmp_path / "more.csv", "ALIM-01", "2022", soral_rows())
    with pytest.raises(UserError, match="Publication refusée"):
        load_files([more], soral_db, user="test")
    assert public.public_path(soral_db).read_bytes() == before
    year, _ = raw_cubes(soral_db)
    assert year.filter(pl.col("year") == 2022).is_empty()  # the raw file is unchanged too


@pytest.mark.timeout(900)
def test_the_demo_database_passes_the_audit(demo_db):
    # The publish's own audit (the method's witnesses, each checked against every relation) on the
    # raw cubes passes and gives exactly the published cubes…
    year, quarter = raw_cubes(demo_db)
    tables = published_tables(demo_db)
    new_year, new_quarter, summary = disclosure.protect_activity_cubes(year, quarter, tables)
    assert summary.report.ok and summary.report.sensitive_withheld > 100
    shown_year, shown_quarter = tables[public.YEAR_CUBE], tables[public.QUARTER_CUBE]
    keys = ["year", "theme", "lieu", "category"]
    assert new_year.sort(keys).equals(shown_year.sort(keys))
    assert new_quarter.sort([*keys, "quarter"]).equals(shown_quarter.sort([*keys, "quarter"]))
    # …and an attacker with no help (bound propagation over every relation) recovers nothing.
    cube = disclosure.model_of(year, quarter, tables)
    hidden = disclosure.published_hidden(cube, shown_year, shown_quarter)
    disclosed, _, _ = proven_breaches(cube, build_groups(cube), hidden)
    assert disclosed.size == 0


# --- random member files ------------------------------------------------------------------------------

COMMUNES = [SORAL, ONEX, LANCY, "6621", "6643"]
THEMES = ["alimentation", "logement", "violences", "sante"]


@st.composite
def member_files(draw) -> list[tuple[str, str, list[tuple]]]:
    """One to three files of small counts (many 1–4): member, period, rows."""
    files = []
    for member in draw(
        st.lists(
            st.sampled_from(["ALIM-01", "HEB-02", "SANTE-03"]), min_size=1, max_size=3, unique=True
        )
    ):
        period = draw(st.sampled_from(["2024", "2024-T1", "2024-T2"]))
        pairs = draw(
            st.lists(
                st.tuples(st.sampled_from(THEMES), st.sampled_from(COMMUNES)),
                min_size=1,
                max_size=10,
                unique=True,
            )
        )
        rows = []
        for theme, commune in pairs:
            persons = draw(st.integers(0, 12))
            women = draw(st.integers(0, persons))
            rows.append((theme, commune, persons, women, persons - women))
        files.append((member, period, rows))
    return files


@pytest.mark.timeout(900)
def test_random_member_files_publish_without_breach(published_base, tmp_path_factory):
    directory = tmp_path_factory.mktemp("random_publish")

    @settings(
        max_examples=8,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(member_files())
    def check(files):
        db_path = directory / "obs.duckdb"
        shutil.copyfile(published_base, db_path)
        shutil.copyfile(public.public_path(published_base), public.public_path(db_path))
        paths = [
            activity_csv(directory / f"f{i}.csv", member, period, rows)
            for i, (member, period, rows) in enumerate(files)
        ]
        load(db_path, paths)
        _, report = attack(db_path)
        assert report.ok, (report.breaches, report.lower, report.upper)

    check()


class _RecordedHighs(highspy.Highs):
    """HiGHS recording, at each run, the settings `programme._solve` chose."""

    def __init__(self):
        super().__init__()
        self.runs: list[tuple[int, int]] = []

    def run(self):
        _, scale = self.getOptionValue("user_objective_scale")  # (status, value)
        _, limit = self.getOptionValue("simplex_iteration_limit")
        self.runs.append((scale, limit))
        return super().run()


def _small_programme() -> _RecordedHighs:
    """min −x − y subject to x + 2y ≤ 4, 3x + y ≤ 6, x, y ≥ 0: the optimum is the corner where
    both constraints meet (x = 8/5, y = 6/5), two simplex iterations from the origin."""
    highs = _RecordedHighs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("presolve", "off")  # else presolve alone may solve it
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = 2, 2
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = [-1.0, -1.0], [0.0, 0.0], [1e9, 1e9]
    lp.row_lower_, lp.row_upper_ = [-highspy.kHighsInf] * 2, [4.0, 6.0]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_ = [0, 2, 4], [0, 1, 0, 1]
    lp.a_matrix_.value_ = [1.0, 3.0, 2.0, 1.0]
    highs.passModel(lp)
    return highs


def test_the_programme_tries_each_solver_setting_before_running_without_limit(monkeypatch):
    monkeypatch.setattr(programme, "ITERATION_LIMIT", 1)  # every setting stops at its limit
    highs = _small_programme()
    assert programme._solve(highs) == highspy.HighsModelStatus.kOptimal
    limited = [(s["user_objective_scale"], 1) for s in programme.SOLVER_SETTINGS]
    first_scale = programme.SOLVER_SETTINGS[0]["user_objective_scale"]
    assert highs.runs == [*limited, (first_scale, highspy.kHighsIInf)]
    assert highs.getSolution().col_value == pytest.approx([8 / 5, 6 / 5])


def test_the_programme_stops_at_the_first_setting_that_finishes():
    highs = _small_programme()
    assert programme._solve(highs) == highspy.HighsModelStatus.kOptimal
    assert highs.runs == [(0, programme.ITERATION_LIMIT)]
    assert highs.getSolution().col_value == pytest.approx([8 / 5, 6 / 5])


def test_a_partner_commune_is_priced_with_the_persons_cells_its_corners_drag_along(demo_db):
    # Two corners of commune 6621 (Genève), year cells, theme « * », all members: seniors and
    # « prestations ». Seniors are a part of persons (seniors ≤ persons): choosing 6621 as a
    # partner will also move its persons cell, so that cell's price counts; « prestations » is no
    # part of anything and drags nothing.
    year, quarter = raw_cubes(demo_db)
    cube = disclosure.model_of(year, quarter, published_tables(demo_db))
    search = Search(Model(cube, build_groups(cube), cube.model.copy()), np.zeros(cube.size))
    at = {"year": YEAR, "quarter": 0, "theme": "*", "lieu": "6621", "category": "*"}
    keys = pl.DataFrame([{**at, "measure": m} for m in ("seniors_65", "prestations", "personnes")])
    seniors, acts, persons = cell_index(cube, keys)
    assert min(seniors, acts, persons) >= 0
    search.cost[[seniors, acts, persons]] = [1.0, 1.0, 7.0]
    corners = np.array([[[seniors, acts]]])
    assert search.dragged_cost(corners, np.array([[[True, True]]])).tolist() == [[7.0]]
    assert search.dragged_cost(corners, np.array([[[False, True]]])).tolist() == [[0.0]]
    search.cost[persons] = 0.0  # withheld already: free
    assert search.dragged_cost(corners, np.array([[[True, True]]])).tolist() == [[0.0]]


def _year_model(demo_db):
    """The model of the demo's YEAR alone (as every publish protects it) and its search."""
    year, quarter = raw_cubes(demo_db)
    year, quarter = (c.filter(pl.col("year") == YEAR) for c in (year, quarter))
    cube = disclosure.model_of(year, quarter, published_tables(demo_db))
    return year, cube, build_groups(cube)


def _cell(cube, measure="personnes", quarter=0, theme="*", lieu="6621") -> int:
    keys = {"year": YEAR, "quarter": quarter, "theme": theme, "lieu": lieu, "category": "*"}
    (cell,) = cell_index(cube, pl.DataFrame([{**keys, "measure": measure}]))
    assert cell >= 0
    return int(cell)


def test_a_communes_totals_cost_one_cell_more_per_percent_of_the_cantons_persons(demo_db):
    year, cube, _ = _year_model(demo_db)
    totals = year.filter((pl.col("theme") == "*") & (pl.col("category") == "*"))
    persons = dict(zip(totals["lieu"], totals["personnes"], strict=True))
    nothing_withheld = np.zeros(cube.size, dtype=bool)
    cost = method.cell_costs(cube, nothing_withheld)
    for lieu in ("6621", "6639"):  # Genève, the largest; Soral, one of the smallest
        percent = 100 * persons[lieu] / persons["GE"]
        for measure, quarter in (("personnes", 0), ("seniors_65", 0), ("personnes", 2)):
            assert cost[_cell(cube, measure, quarter, lieu=lieu)] == pytest.approx(1 + percent)
    theme = year.filter(
        (pl.col("lieu") == "6621") & (pl.col("theme") != "*") & (pl.col("category") == "*")
    )["theme"][0]
    assert cost[_cell(cube, theme=theme)] == 1.0  # a commune's cell by theme: one cell
    assert cost[_cell(cube, theme=theme, lieu="GE")] == method.CANTON_DETAIL_COST
    withheld = nothing_withheld.copy()
    withheld[_cell(cube)] = True
    assert method.cell_costs(cube, withheld)[_cell(cube)] == 0.0  # withheld already: free


def test_a_part_rising_without_room_drags_the_persons_along(demo_db):
    # In each commune cell, minors + seniors ≤ persons: seniors can rise by (persons − minors −
    # seniors) before the persons must follow. Computed here from the raw cube.
    year, cube, groups = _year_model(demo_db)
    search = Search(Model(cube, groups, cube.model.copy()), np.zeros(cube.size))
    rows = year.filter((pl.col("category") == "*") & pl.col("lieu").str.contains(r"^\d+$"))
    rows = rows.with_columns(room=pl.col("personnes") - pl.col("mineurs") - pl.col("seniors_65"))
    tight = rows.filter((pl.col("room") > 0) & (pl.col("room") < 4)).row(0, named=True)
    ample = rows.filter(pl.col("room") >= 4).row(0, named=True)
    cells = [_cell(cube, "seniors_65", 0, r["theme"], r["lieu"]) for r in (tight, ample)]
    assert search.link_room[cells].tolist() == [tight["room"], ample["room"]]
    persons = _cell(cube, "personnes", 0, tight["theme"], tight["lieu"])
    assert search.link_room[persons] >= UNBOUNDED  # persons is no part
    corners = np.array([[cells[0]], [cells[1]], [cells[0]]])
    signs = np.array([[1], [1], [-1]])  # rises without room, rises with room, goes down
    valid = np.ones((3, 1), dtype=bool)
    assert search.drags_persons(corners, signs, valid).tolist() == [True, False, False]


def test_every_withheld_cell_beyond_the_small_counts_serves_a_witness(demo_db):
    _, cube, groups = _year_model(demo_db)
    protection = method.protect(cube, groups)
    assert protection.unprotected.size == 0
    moved = np.zeros(cube.size, dtype=bool)
    moved[protection.witnesses.cell[protection.witnesses.delta != 0]] = True
    extra = protection.hidden & ~cube.sensitive()
    assert extra.any()
    assert not (extra & ~moved).any()  # none withheld for nothing


def test_a_partner_commune_is_chosen_knowing_its_total_will_move(demo_db):
    # A commune's count protected through its total (the theme axis's second alternative: the
    # cell and its commune's total go up together): the partner commune goes down in both, so
    # its total's price must weigh on the choice — the theme axis is built before the place.
    _, cube, groups = _year_model(demo_db)
    search = Search(
        Model(cube, groups, cube.model.copy()), method.cell_costs(cube, cube.sensitive())
    )
    coords = cube.coords(np.arange(cube.size))
    owner = int(
        np.flatnonzero(
            cube.sensitive()
            & (coords[:, LIEU] >= cube.axes.first_commune)
            & (coords[:, THEME] != 0)
            & (coords[:, Q] == 0)
            & (coords[:, MEASURE] == cube.axes.measure("prestations"))
        )[0]
    )
    cells = np.array([owner])
    state = np.zeros((1, len(AXES)), dtype=np.int64)
    state[0, AXES.index(THEME)] = 1  # [the commune's total, up]
    banned = np.full((1, len(AXES), 1), NONE, dtype=np.int64)

    def no_prior(rows, at):  # no earlier step
        return np.zeros(np.broadcast(rows, at).shape, dtype=np.int64)

    def partner() -> int:
        classes = search.classes(cube.coords(cells))
        *_, picked = search.patterns(cells, state, classes, no_prior, np.arange(1), banned)
        return int(picked[0, AXES.index(LIEU)])

    first = partner()
    assert first >= cube.axes.first_commune
    owner_lieu = coords[owner, LIEU]
    its_total = owner + (0 - coords[owner, THEME]) * cube.strides[THEME]
    partner_total = its_total + (first - owner_lieu) * cube.strides[LIEU]
    search.cost[partner_total] = 1e4  # that partner's total now costs far more
    second = partner()
    assert second >= cube.axes.first_commune and second != first
