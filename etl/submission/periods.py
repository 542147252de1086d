"""Periods: what a member wrote (2025, 2025-T1, 2025-03, 03.2025…) checked against the periods of the
database, the file's slices (member × period) and the rule that a year is declared at one rhythm."""

from __future__ import annotations

import datetime as dt

import polars as pl

from etl.submission.issues import IssueCollector, one_issue
from etl.submission.lookups import Lookups
from etl.submission.parsing import (
    ambiguous_period_message,
    excel_error_message,
    is_ambiguous_period,
    is_excel_error,
    period_code_expr,
)
from etl.submission.raw import ROW, RawFile

GRANULARITY_LABELS = {"annee": "l'année entière", "trimestre": "par trimestre", "mois": "par mois"}
SLICE_SCHEMA = {"member_code": pl.String, "period_code": pl.String, "first_row": pl.Int64}


def _problem(periods: pl.DataFrame, today: dt.date) -> pl.Expr:
    """The French problem of a written period (null if it is a known, started period)."""
    first, last = periods["year"].min(), periods["year"].max()
    written = pl.col("periode")
    return (
        pl.when(is_excel_error(written))
        .then(excel_error_message(written))
        .when(is_ambiguous_period(written))
        .then(
            ambiguous_period_message(
                written,
                written.str.extract(r"(\d{4})"),
                written.str.replace(r"\d{4}", "").str.extract(r"([1-4])"),
            )
        )
        .when(pl.col("granularity").is_null())
        .then(
            pl.format(
                "Période « {} » non reconnue. Écrivez l'année (2025), le trimestre "
                f"(2025-T1 à 2025-T4) ou le mois (2025-03), entre {first} et {last}.",
                written,
            )
        )
        .when(pl.col("start_date") > today)
        .then(
            pl.format(
                "La période « {} » n'a pas encore commencé (elle débute le {}) : on ne "
                "peut déclarer qu'une période commencée.",
                pl.col("code"),
                pl.col("start_date").dt.strftime("%d.%m.%Y"),
            )
        )
    )


def checked_periods(
    frame: pl.DataFrame, lookups: Lookups, today: dt.date, distinct: pl.Series | None = None
) -> pl.DataFrame:
    """Add __period (the canonical code, when valid) and __period_problem (French, or null).

    Worked out on the distinct values written (`distinct` when the reader has them), then
    mapped back onto the rows.
    """
    if distinct is None:
        distinct = frame.select(pl.col("periode").unique().drop_nulls().alias("periode"))
    else:
        distinct = distinct.alias("periode").to_frame()
    checked = (
        distinct.with_columns(period_code_expr(pl.col("periode")).alias("code"))
        .join(lookups.periods, left_on="code", right_on="period_code", how="left")
        .with_columns(_problem(lookups.periods, today).alias("problem"))
        .with_columns(pl.when(pl.col("problem").is_null()).then(pl.col("code")).alias("code"))
    )

    def mapped(column: str) -> pl.Expr:
        if checked[column].null_count() == checked.height:  # e.g. no problem at all
            return pl.lit(None, pl.String)
        if checked[column].null_count() == 0 and checked[column].eq(checked["periode"]).all():
            return pl.col("periode")  # every period already written as its code
        return pl.col("periode").replace_strict(
            checked["periode"], checked[column], default=None, return_dtype=pl.String
        )

    return frame.with_columns(
        mapped("code").alias("__period"), mapped("problem").alias("__period_problem")
    )


def file_slices(
    activity: pl.DataFrame | None, member: str | None, period: str | None
) -> pl.DataFrame:
    """The (member, period) pairs the file declares, with the first row that names each."""
    parts = []
    if activity is not None and activity.height:
        parts.append(
            activity.select("member_code", "period_code", ROW)
            .filter(pl.col("member_code").is_not_null() & pl.col("period_code").is_not_null())
            .group_by("member_code", "period_code")
            .agg(pl.col(ROW).min().alias("first_row"))
        )
    if member is not None and period is not None:
        parts.append(
            pl.DataFrame(
                [{"member_code": member, "period_code": period, "first_row": None}],
                schema=SLICE_SCHEMA,
            )
        )
    if not parts:
        return pl.DataFrame(schema=SLICE_SCHEMA)
    return (
        pl.concat([p.select(SLICE_SCHEMA.keys()).cast(SLICE_SCHEMA) for p in parts])
        .group_by("member_code", "period_code")
        .agg(pl.col("first_row").min())
        .sort("member_code", "period_code")
    )


def single_slice(
    raw: RawFile,
    slices: pl.DataFrame,
    member: str | None,
    period: str | None,
    issues: IssueCollector,
) -> tuple[str | None, str | None]:
    """Services and observations belong to one member × period."""
    if member is not None and period is not None:
        return member, period
    if slices.height == 1:
        return slices["member_code"][0], slices["period_code"][0]
    has_other_rows = any(
        name in raw.sheets and raw.sheets[name].frame.height
        for name in ("services", "observations")
    )
    if slices.height > 1 and has_other_rows:
        issues.add(
            one_issue(
                "—",
                "Les feuilles services et observations ne peuvent accompagner "
                "qu'un seul membre et une seule période : ce fichier en contient "
                f"{slices.height}. Envoyez un classeur par membre et par période.",
            )
        )
    return None, None


def _with_loaded(slices: pl.DataFrame, lookups: Lookups) -> pl.DataFrame:
    """The file's slices and the member's slices already loaded in the same years."""
    periods = lookups.periods.select("period_code", "granularity", "year")
    in_file = slices.join(periods, on="period_code").with_columns(pl.lit(False).alias("loaded"))
    loaded = lookups.submissions.join(
        slices.select("member_code", "period_code"),
        on=["member_code", "period_code"],
        how="anti",
    ).join(in_file.select("member_code", "year").unique(), on=["member_code", "year"])
    columns = ["member_code", "period_code", "granularity", "year"]
    return pl.concat(
        [
            in_file.select(*columns, "loaded", "first_row"),
            loaded.select(
                *columns, pl.lit(True).alias("loaded"), pl.lit(None, pl.Int64).alias("first_row")
            ),
        ]
    )


def check_period_mixing(
    raw: RawFile, slices: pl.DataFrame, lookups: Lookups, issues: IssueCollector
) -> None:
    """An annual figure is the sum of its quarters or months: one granularity per member and year."""
    if slices.height == 0:
        return
    combined = _with_loaded(slices, lookups)
    mixed = combined.filter(pl.col("granularity").n_unique().over("member_code", "year") > 1)
    for (member, year), group in mixed.group_by("member_code", "year", maintain_order=True):
        listing = ", ".join(
            f"{code} (déjà chargée)" if was_loaded else code
            for code, was_loaded in group.sort("period_code")
            .select("period_code", "loaded")
            .iter_rows()
        )
        kinds = " et ".join(sorted({GRANULARITY_LABELS[g] for g in group["granularity"]}))
        message = (
            f"Périodicités mélangées pour le membre {member} en {year} : {listing}. Une année "
            f"se déclare soit en entier, soit par trimestre, soit par mois (ici : {kinds}), car "
            "le chiffre annuel est la somme des trimestres ou des mois. Gardez une seule "
            "périodicité pour cette année, ou demandez au secrétariat de retirer les données "
            "déjà chargées."
        )
        _slice_issue(raw, group.filter(~pl.col("loaded")), message, issues)


def _slice_issue(raw: RawFile, slices: pl.DataFrame, message: str, issues: IssueCollector) -> None:
    """On the identification's period when there is one, else on each slice's first row."""
    cell = raw.identification.get("periode")
    first_rows = [row for row in slices["first_row"].to_list() if row is not None]
    if cell is not None or not first_rows:
        issues.add(
            one_issue(
                raw.identification_title,
                message,
                row=cell.row if cell else None,
                column="periode",
                value=cell.value if cell else None,
                cell=cell.reference if cell else None,
            )
        )
        return
    sheet = raw.sheets["activite"]
    for row in first_rows:
        issues.add(
            one_issue(sheet.title, message, row=row, column=sheet.headers.get("periode", "periode"))
        )
    issues.reject(sheet.title, first_rows)
