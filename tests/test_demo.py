"""Demo data: deterministic member files, scale, realism against the reference data, and the ETL
accepting every file (the session's `demo_db` is built by `etl.demo.build_demo`, which fails when
the loader rejects a demo file)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from demo_settings import DEMO_SCALE, DEMO_SEED, DEMO_YEARS
from typer.testing import CliRunner

from etl import db
from etl.cli import app
from etl.cli_demo import parse_years
from etl.demo.activity import DemoContext, member_activity, theme_months
from etl.demo.build import check_years, write_files
from etl.demo.files import PlannedFile, plan_files
from etl.demo.members import members_at_scale, read_members
from etl.demo.parameters import THEMES
from etl.demo.sheets import _with_totals, thousands_text
from etl.demo.territory import read_territory
from etl.errors import UserError
from etl.submission.validate import PERSONAL_DATA

TODAY = dt.date.today()


def _no_progress(_: str) -> None:
    pass


@pytest.fixture(scope="module")
def territory(demo_db):
    return read_territory(demo_db)


@pytest.fixture(scope="module")
def demo_context(territory) -> DemoContext:
    return DemoContext.build(territory, *DEMO_YEARS, DEMO_SEED)


@pytest.fixture(scope="module")
def written(tmp_path_factory, demo_context) -> list[Path]:
    """The files of the session's demo database, written again (same parameters, same seed)."""
    members = members_at_scale(read_members(), DEMO_SCALE)
    return write_files(
        members, demo_context, tmp_path_factory.mktemp("demo_files"), TODAY, _no_progress
    )


def _hashes(paths: list[Path], root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in paths
    }


def query(db_path: Path, sql: str) -> pl.DataFrame:
    con = db.open_reader(db_path)
    try:
        return db.query(con, sql)
    finally:
        con.close()


def scalar(db_path: Path, sql: str):
    return query(db_path, sql).item()


# ------------------------------------------------------------------ determinism and loading


def test_same_seed_same_files_other_seed_other_files(written, demo_context, territory, tmp_path):
    members = members_at_scale(read_members(), DEMO_SCALE)
    root = written[0].parents[1]
    again = write_files(members, demo_context, tmp_path / "again", TODAY, _no_progress)
    assert _hashes(again, tmp_path / "again") == _hashes(written, root)

    other = DemoContext.build(territory, *DEMO_YEARS, DEMO_SEED + 1)
    changed = write_files(members, other, tmp_path / "other", TODAY, _no_progress)
    before, after = _hashes(written, root), _hashes(changed, tmp_path / "other")
    assert before.keys() == after.keys()  # the same files (the plan does not depend on the seed)
    assert sum(before[name] != after[name] for name in before) > 0.9 * len(before)


def test_every_demo_file_was_accepted_by_the_loader(demo_db, written):
    runs = query(demo_db, "select file_name, status from load_runs where kind = 'soumission'")
    assert sorted(runs["file_name"]) == sorted(path.name for path in written)
    assert set(runs["status"]) == {"charge"}


def test_every_row_is_flagged_demo(demo_db):
    for table in ("members", "activity", "services", "observations"):
        total, not_demo = query(
            demo_db, f"select count(*), count(*) filter (where not is_demo) from {table}"
        ).row(0)
        assert total > 0, table
        assert not_demo == 0, table


def test_breakdowns_never_exceed_persons(demo_db):
    inconsistent = scalar(
        demo_db,
        """
        select count(*) from activity
        where nouvelles_personnes > personnes or femmes > personnes or hommes > personnes
           or femmes + hommes > personnes or mineurs + seniors_65 > personnes""",
    )
    assert inconsistent == 0


# ------------------------------------------------------------------ realism, from the reference data


def _rate_per_1000(demo_db: Path, theme: str, indicator: str) -> tuple[float, float]:
    """Persons per 1,000 residents in the 5 communes highest and the 5 lowest on an indicator
    (its mean over the published years), summed over the demo's years."""
    frame = query(
        demo_db,
        f"""
        with ranked as (
            select ofs_number, avg(value) as value from indicators
            where indicator_code = '{indicator}' group by ofs_number),
        tops as (
            select ofs_number, case when rank() over (order by value desc) <= 5 then 'haut'
                                    when rank() over (order by value) <= 5 then 'bas' end as grp
            from ranked),
        served as (
            select ofs_number, sum(personnes) as persons from activity
            where theme = '{theme}' and ofs_number is not null group by ofs_number),
        residents as (
            select ofs_number, sum(population) as population from population
            where is_reference and year between {DEMO_YEARS[0]} and {DEMO_YEARS[1]}
            group by ofs_number)
        select grp, 1000.0 * sum(coalesce(persons, 0)) / sum(population) as rate
        from tops join residents using (ofs_number) left join served using (ofs_number)
        where grp is not null group by grp""",
    )
    rates = dict(frame.iter_rows())
    return rates["haut"], rates["bas"]


def test_food_aid_is_higher_where_social_assistance_is_high(demo_db):
    high, low = _rate_per_1000(demo_db, "alimentation", "social_assistance_rate_pct")
    assert high > 3 * low > 0


def test_seniors_follow_the_share_of_65_plus(demo_db):
    high, low = _rate_per_1000(demo_db, "seniors", "age_65plus_pct")
    assert high > 1.5 * low


def test_migration_follows_the_foreign_share(demo_db):
    high, low = _rate_per_1000(demo_db, "migration", "foreign_share_pct")
    assert high > 1.5 * low


def _persons_by_year(demo_db: Path, theme: str, column: str = "personnes") -> dict[int, int]:
    frame = query(
        demo_db,
        f"select year, cast(sum({column}) as bigint) from activity where theme = '{theme}' "
        "group by year",
    )
    return dict(frame.iter_rows())


def test_covid_roughly_doubles_food_aid_with_people_turned_away(demo_db):
    persons = _persons_by_year(demo_db, "alimentation")
    assert persons[2020] > 1.5 * persons[2019]
    turned_away = _persons_by_year(demo_db, "alimentation", "demandes_non_satisfaites")
    assert turned_away[2020] > 5 * turned_away[2019]


def test_ukrainian_arrivals_raise_migration_in_2022(demo_db):
    persons = _persons_by_year(demo_db, "migration")
    assert persons[2022] > 1.2 * persons[2021]


def test_shelter_peaks_in_winter_and_turns_people_away_then(demo_db):
    frame = query(
        demo_db,
        """
        select p.quarter, cast(sum(a.personnes) as bigint) as persons,
               cast(sum(a.demandes_non_satisfaites) as bigint) as refused
        from activity a join periods p on p.code = a.period_code
        where a.theme = 'hebergement' and p.granularity in ('trimestre', 'mois')
        group by p.quarter""",
    )
    by_quarter = {row["quarter"]: row for row in frame.iter_rows(named=True)}
    assert by_quarter[1]["persons"] > 1.3 * by_quarter[3]["persons"]
    assert by_quarter[1]["refused"] > 3 * by_quarter[3]["refused"]


def test_observations_follow_events_and_hold_no_personal_data(demo_db):
    observations = query(demo_db, "select obs_date, niveau, texte from observations")
    assert set(observations["niveau"]) <= {"information", "vigilance", "alerte"}
    covid = observations.filter(
        pl.col("obs_date").is_between(dt.date(2020, 3, 1), dt.date(2021, 6, 30))
    )
    assert "alerte" in set(covid["niveau"])
    for pattern in PERSONAL_DATA.values():
        assert not observations["texte"].str.contains(pattern).any(), pattern


def test_services_sit_in_real_communes_with_plausible_details(demo_db):
    services = query(
        demo_db,
        """select ofs_number, adresse, horaires, langues, capacite
                                 from services""",
    )
    assert services["ofs_number"].is_between(6601, 6645).all()
    assert services["adresse"].str.ends_with("(adresse fictive)").all()
    assert services["horaires"].is_not_null().all()
    assert services["langues"].list.contains("français").all()
    assert (services["capacite"] > 0).all()


# ------------------------------------------------------------------ the files members send


def test_some_files_are_messy_in_accepted_ways(written):
    csv_texts = {path.name: path.read_bytes() for path in written if path.suffix == ".csv"}
    assert any(
        data.startswith(b"\xef\xbb\xbf") and b";" in data.split(b"\n")[0]
        for data in csv_texts.values()
    )  # Excel's « CSV UTF-8 », semicolons
    assert any(re.search(rb";\d{1,3}'\d{3}[;\n]", data) for data in csv_texts.values())  # 1'234
    assert any(
        b"(GE)" in data or b"Chene-" in data or b"Ville de Gen" in data
        for data in csv_texts.values()
    )  # commune aliases

    shelter = next(
        path for path in written if path.name.startswith("DEMO-HEB-01_") and path.suffix == ".xlsx"
    )
    sheet = openpyxl.load_workbook(shelter)["Activité"]
    cells = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert str(cells[0][0]).startswith("Statistiques")  # a title above the header
    assert sheet.merged_cells.ranges  # merged over the columns
    assert "Thème" in cells[2] and "Nombre de personnes" in cells[2]  # accents, other names
    labels = {value for row in cells for value in row if isinstance(value, str)}
    assert {"Sous-total", "Total"} <= labels

    seniors = next(
        path for path in written if path.name.startswith("DEMO-SEN-01_") and path.suffix == ".xlsx"
    )
    identification = openpyxl.load_workbook(seniors)["identification"]
    values = [row[1] for row in identification.iter_rows(values_only=True) if len(row) > 1]
    assert any(isinstance(v, str) and re.fullmatch(r"\d{4}-Q[1-4]", v) for v in values)
    activity = openpyxl.load_workbook(seniors)["activite"]
    texts = [v for row in activity.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert any(text.endswith(" ") for text in texts)  # trailing spaces

    rights = next(path for path in written if path.name.startswith("DEMO-DRO-01_"))
    rows = list(openpyxl.load_workbook(rights)["activite"].iter_rows(values_only=True))[1:]
    assert any(isinstance(row[1], int) and 6601 <= row[1] <= 6645 for row in rows)  # OFS numbers
    assert any(row[0] == "Accès aux droits, information sociale et juridique" for row in rows)


def test_file_plan_history_then_yearly_files():
    members = {member.code: member for member in read_members()}
    monthly_csv = members["DEMO-ALIM-01"]
    months = [f"{year}-{month:02d}" for year in range(2019, 2025) for month in range(1, 13)]
    plan = plan_files(monthly_csv, months, recent_from=2023)
    assert [(f.kind, f.full, f.periods[0], f.periods[-1], len(f.periods)) for f in plan] == [
        ("csv", False, "2019-01", "2022-12", 48),  # history, sent once
        ("csv", False, "2023-01", "2023-11", 11),
        ("xlsx", True, "2023-12", "2023-12", 1),  # year-end workbook: services, observations
        ("csv", False, "2024-01", "2024-11", 11),
        ("xlsx", True, "2024-12", "2024-12", 1),
    ]
    quarterly_excel = members["DEMO-HEB-01"]
    quarters = [f"{year}-T{q}" for year in (2023, 2024) for q in range(1, 5)]
    plan = plan_files(quarterly_excel, quarters, recent_from=2023)
    assert plan == [
        PlannedFile(quarterly_excel, (code,), "xlsx", code.endswith("T4")) for code in quarters
    ]


def test_totals_rows_add_up():
    columns = ["theme", "commune", "personnes", "femmes"]
    body = [["a", "Onex", 3, 1], ["a", "Lancy", 4, None], ["b", "Onex", 10, 5]]
    assert _with_totals(body, columns, ["personnes", "femmes"]) == [
        ["a", "Onex", 3, 1],
        ["a", "Lancy", 4, None],
        ["a", "Sous-total", 7, 1],
        [],
        ["b", "Onex", 10, 5],
        ["b", "Sous-total", 10, 5],
        [],
        ["Total", None, 17, 6],
    ]


def test_thousands_written_with_apostrophes():
    frame = pl.DataFrame({"n": [7, 999, 1000, 1234, 1234567]}).select(thousands_text("n"))
    assert frame["n"].to_list() == ["7", "999", "1'000", "1'234", "1'234'567"]


# ------------------------------------------------------------------ the model and the scale


def test_month_factors_carry_the_events():
    food = {
        (year, month): demand
        for _, year, month, demand, *_ in theme_months(THEMES["alimentation"], 2019, 2020)
    }
    # May 2020 against May 2019: the COVID-19 factor 2.3 times one year of 2 % growth.
    assert food[(2020, 5)] / food[(2019, 5)] == pytest.approx(2.3 * 1.02)
    shelter = {
        (year, month): (demand, capacity)
        for _, year, month, demand, capacity, *_ in theme_months(THEMES["hebergement"], 2018, 2018)
    }
    january, july = shelter[(2018, 1)], shelter[(2018, 7)]
    assert january[0] > 2 * july[0]  # winter demand
    assert january[0] > january[1] and july[0] < july[1]  # short of beds in winter only


def test_scale_sets_the_number_of_members():
    base = read_members()
    assert len(base) == 50
    assert [m.code for m in members_at_scale(base, 0.1)] == [m.code for m in base[:5]]
    larger = members_at_scale(base, 1.5)
    assert len(larger) == 75
    assert len({m.code for m in larger}) == 75
    antennas = larger[50:]
    assert [m.code for m in antennas[:2]] == [f"{base[0].code}-A01", f"{base[1].code}-A01"]
    assert all(m.name.endswith("(démo)") for m in larger)
    assert len(members_at_scale(base, 30)) == 1500
    with pytest.raises(UserError):
        members_at_scale(base, 0)


def test_an_antenna_reports_like_its_member_with_its_own_figures(demo_context):
    base = read_members()[0]
    antenna = members_at_scale(read_members(), 1.02)[50]
    assert antenna.code == f"{base.code}-A01"
    own, copy = member_activity(base, demo_context), member_activity(antenna, demo_context)
    assert copy.height == own.height  # same periods, themes and places
    assert not copy["personnes"].equals(own["personnes"])


def test_scale_one_gives_about_a_third_of_a_million_rows(territory):
    """Echelle 1 (2015–2025) is the default database: about 300–350k activity rows, so that
    echelle 30 gives about 10 million (antennas report like their member)."""
    context = DemoContext.build(territory, 2015, 2025, DEMO_SEED)
    rows = sum(member_activity(member, context).height for member in read_members())
    assert 300_000 <= rows <= 350_000


def test_years_are_checked_in_french():
    assert parse_years("2015-2025") == (2015, 2025)
    assert parse_years(" 2019 – 2024 ") == (2019, 2024)
    assert parse_years("2024") == (2024, 2024)
    for bad in ("2015/2025", "2025-2015", "quinze"):
        with pytest.raises(UserError, match="--annees"):
            parse_years(bad)
    with pytest.raises(UserError, match="entre 2009 et"):
        check_years((2001, 2005))
    with pytest.raises(UserError):
        check_years((2015, TODAY.year + 1))


def test_cli_refuses_bad_years_without_a_traceback(tmp_path):
    result = CliRunner().invoke(
        app, ["demo", "--annees", "2015..2025", "--base", str(tmp_path / "x.duckdb")]
    )
    assert result.exit_code == 1
    assert "--annees" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.duckdb").exists()


def test_a_rejected_demo_file_leaves_the_previous_database(tmp_path, monkeypatch):
    import etl.demo.build as build_module

    previous = tmp_path / "observatoire.duckdb"
    previous.write_bytes(b"the previous database")

    def broken_files(members, context, out_dir, today, progress):
        path = out_dir / "2024" / "DEMO-ALIM-01_2024.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "membre,periode,theme,commune,personnes\nDEMO-ALIM-01,2024,alimentation,Atlantide,12\n",
            encoding="utf-8",
        )
        return [path]

    monkeypatch.setattr(build_module, "write_files", broken_files)
    with pytest.raises(UserError, match="refusé"):
        build_module.build_demo(previous, years=(2024, 2024), scale=0.02, out_dir=tmp_path / "f")
    assert previous.read_bytes() == b"the previous database"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "observatoire.duckdb"]
