"""Small lookup frames read once from the database: themes, places, members, periods, current slices.

Values from a file are matched on a forgiving key (`lookup_key`: no accents, case, punctuation or
extra spaces), computed the same way on both sides, and only on the distinct values of a column.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from etl.text import normalise_key_expr
from etl.vocabulary import OUTSIDE_CANTON, PLACE_NOT_GIVEN

PLACE_SYNONYMS = {
    OUTSIDE_CANTON: [
        "hors canton",
        "hors du canton",
        "hors canton de geneve",
        "hors_canton",
        "hors ge",
        "exterieur au canton",
    ],
    PLACE_NOT_GIVEN: [
        "non renseignee",
        "non renseigne",
        "non_renseignee",
        "inconnue",
        "inconnu",
        "commune inconnue",
        "non communique",
        "non communiquee",
    ],
}
PLACE_LABELS = {OUTSIDE_CANTON: "hors canton", PLACE_NOT_GIVEN: "non renseignée"}


def lookup_key(expr: pl.Expr) -> pl.Expr:
    """'Carouge (GE) ' -> 'carouge ge', '6608.0' -> '6608', 'Vandœuvres' -> 'vandoeuvres'."""
    return (
        normalise_key_expr(expr.str.replace(r"^\s*(\d+)\.0+\s*$", "$1"))
        .str.replace_all(r"[^a-z0-9]+", " ")
        .str.strip_chars()
    )


SUBMISSIONS_SQL = """select s.member_code, s.period_code, s.sha256, p.granularity, p.year
                     from submissions s join periods p on p.code = s.period_code"""


def _theme_spellings(themes: pl.DataFrame) -> pl.DataFrame:
    """text -> theme: the code, the French and English labels, and the French label's first part
    (« Accès aux droits » for « Accès aux droits, information… »)."""
    return pl.concat(
        [
            themes.select(pl.col(source).alias("text"), pl.col("code").alias("theme"))
            for source in ("code", "label_fr", "label_en")
        ]
        + [
            themes.select(
                pl.col("label_fr").str.split(",").list.first().alias("text"),
                pl.col("code").alias("theme"),
            )
        ]
    )


def _place_spellings(communes: pl.DataFrame, aliases: pl.DataFrame) -> pl.DataFrame:
    """text -> lieu: each commune's name, aliases and OFS number, and the two special places."""
    number = pl.col("ofs_number").cast(pl.String).alias("lieu")
    return pl.concat(
        [
            communes.select(pl.col("name").alias("text"), number),
            aliases.select(pl.col("alias").alias("text"), number),
            communes.select(pl.col("ofs_number").cast(pl.String).alias("text"), number),
            pl.DataFrame(
                [(text, lieu) for lieu, texts in PLACE_SYNONYMS.items() for text in texts],
                schema={"text": pl.String, "lieu": pl.String},
                orient="row",
            ),
        ]
    )


def _unambiguous(frame: pl.DataFrame, value: str) -> pl.DataFrame:
    """Keep keys that point to exactly one value (a spelling shared by two communes is dropped)."""
    frame = frame.filter(pl.col("key") != "").unique()
    return frame.filter(pl.col(value).n_unique().over("key") == 1).unique("key")


@dataclass
class Lookups:
    themes: pl.DataFrame  # key -> theme
    places: pl.DataFrame  # key -> lieu ('6608', 'hors_canton', 'non_renseignee')
    commune_names: pl.DataFrame  # ofs_number, name
    members: pl.DataFrame  # key -> member_code, is_demo, name
    periods: pl.DataFrame  # period_code, granularity, year, start_date, end_date
    submissions: pl.DataFrame  # member_code, period_code, sha256, granularity, year

    @classmethod
    def from_db(cls, con: duckdb.DuckDBPyConnection) -> Lookups:
        def read(sql: str) -> pl.DataFrame:
            return con.sql(sql).pl()

        communes = read("select ofs_number, name from communes order by ofs_number")
        members = read("select code, name, is_demo from members")
        with_key = pl.col("text").pipe(lookup_key).alias("key")
        theme_keys = _theme_spellings(read("select code, label_fr, label_en from themes"))
        place_keys = _place_spellings(
            communes, read("select alias, ofs_number from commune_aliases")
        )
        member_keys = pl.concat(
            members.select(
                pl.col(source).alias("text"), pl.col("code").alias("member_code"), "is_demo"
            )
            for source in ("code", "name")
        )
        return cls(
            themes=_unambiguous(theme_keys.with_columns(with_key).select("key", "theme"), "theme"),
            places=_unambiguous(place_keys.with_columns(with_key).select("key", "lieu"), "lieu"),
            commune_names=communes,
            members=_unambiguous(
                member_keys.with_columns(with_key).select("key", "member_code", "is_demo"),
                "member_code",
            ).join(members.select(pl.col("code").alias("member_code"), "name"), on="member_code"),
            periods=read("""select code as period_code, granularity, year, start_date, end_date
                            from periods"""),
            submissions=read(SUBMISSIONS_SQL),
        )

    def refresh_submissions(self, con: duckdb.DuckDBPyConnection) -> None:
        """After a file is loaded, the next one must see its slices (idempotency, period mixing)."""
        self.submissions = con.sql(SUBMISSIONS_SQL).pl()
