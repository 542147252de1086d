"""The members registry: a CSV kept as data (data/members.csv), upserted into the `members` table.

Columns: code,name,categories,themes,active_since,is_demo — lists separated by `|`. A new member
is one more line in the file, then `observatoire membres` (see docs/SOUMISSIONS.md). Members are
never deleted by a reload: their past submissions still refer to them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from etl.errors import UserError
from etl.paths import DATA_DIR

REGISTRY_PATH = DATA_DIR / "members.csv"
REGISTRY_COLUMNS = ["code", "name", "categories", "themes", "active_since", "is_demo"]
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$"
TRUE_WORDS = {"true", "vrai", "oui", "1", "yes"}
FALSE_WORDS = {"false", "faux", "non", "0", "no"}
MAX_ERRORS_SHOWN = 20


def read_registry(registry_csv: Path) -> pl.DataFrame:
    """The registry as text columns (all six, missing optional ones empty), rows numbered as in the file."""
    registry_csv = Path(registry_csv)
    if not registry_csv.exists():
        raise UserError(f"Registre des membres introuvable : {registry_csv}.")
    try:
        frame = pl.read_csv(registry_csv, infer_schema=False, raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        raise UserError(f"Registre des membres {registry_csv} illisible ({exc}).") from exc
    frame = frame.rename({name: name.strip().lower() for name in frame.columns})
    missing = [name for name in ("code", "name") if name not in frame.columns]
    if missing:
        raise UserError(
            f"Registre des membres {registry_csv} : colonne(s) {', '.join(missing)} absente(s). "
            f"La première ligne doit être : {','.join(REGISTRY_COLUMNS)}."
        )
    for name in REGISTRY_COLUMNS:
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(name))
    return frame.select(
        pl.int_range(2, frame.height + 2).alias("line"),  # line 1 is the header
        *[
            pl.col(name).str.strip_chars().replace("", None).alias(name)
            for name in REGISTRY_COLUMNS
        ],
    )


def _split(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .fill_null("")
        .str.split("|")
        .list.eval(pl.element().str.strip_chars().filter(pl.element().str.len_chars() > 0))
    )


def prepare(
    frame: pl.DataFrame, theme_codes: list[str], *, is_demo: bool, registry_name: str
) -> pl.DataFrame:
    """Parse and check the registry; raise one UserError listing every problem (French)."""
    demo_flag = pl.col("is_demo").str.to_lowercase()
    parsed = frame.with_columns(
        _split("categories").alias("categories"),
        _split("themes").alias("themes"),
        pl.coalesce(
            pl.col("active_since").str.to_date("%Y-%m-%d", strict=False),
            pl.col("active_since").str.to_date("%d.%m.%Y", strict=False),
        ).alias("active_date"),
        pl.when(demo_flag.is_in(list(TRUE_WORDS)))
        .then(True)
        .when(demo_flag.is_in(list(FALSE_WORDS)))
        .then(False)
        .alias("demo_flag"),
    )
    problems = _registry_problems(parsed, theme_codes, is_demo=is_demo)
    if problems.height:
        _refuse(problems, registry_name)
    return parsed.select(
        "code",
        "name",
        "categories",
        "themes",
        pl.col("active_date").alias("active_since"),
        pl.lit(is_demo).alias("is_demo"),
    )


def _registry_problems(
    parsed: pl.DataFrame, theme_codes: list[str], *, is_demo: bool
) -> pl.DataFrame:
    """line, column, value, message: every rule of the registry, in this order."""
    return pl.concat(
        [
            _problems(parsed, pl.col("code").is_null(), "code", "le code est obligatoire"),
            _problems(
                parsed,
                pl.col("code").is_not_null() & ~pl.col("code").str.contains(CODE_PATTERN),
                "code",
                "le code ne peut contenir que lettres, chiffres, tirets, points et "
                "soulignés (40 caractères au plus), sans espace",
            ),
            _problems(
                parsed,
                pl.col("code").is_duplicated() & pl.col("code").is_not_null(),
                "code",
                "ce code apparaît sur plusieurs lignes",
            ),
            _problems(parsed, pl.col("name").is_null(), "name", "le nom est obligatoire"),
            _problems(
                parsed,
                pl.col("active_since").is_not_null() & pl.col("active_date").is_null(),
                "active_since",
                "date attendue au format aaaa-mm-jj (par exemple 2019-01-01)",
            ),
            _problems(
                parsed,
                pl.col("is_demo").is_not_null() & pl.col("demo_flag").is_null(),
                "is_demo",
                "écrivez true ou false",
            ),
            _problems(
                parsed,
                pl.col("demo_flag").is_not_null() & (pl.col("demo_flag") != is_demo),
                "is_demo",
                "ce registre est chargé comme "
                + ("registre de démonstration" if is_demo else "registre réel")
                + " : la ligne dit le contraire",
            ),
            _unknown_themes(parsed, theme_codes),
        ]
    )


def _refuse(problems: pl.DataFrame, registry_name: str) -> None:
    lines = [
        f"ligne {line}, colonne {column} (« {value or ''} ») : {message}"
        for line, column, value, message in problems.sort("line").iter_rows()
    ]
    shown = "\n  - ".join(lines[:MAX_ERRORS_SHOWN])
    more = (
        f"\n  … et {len(lines) - MAX_ERRORS_SHOWN} autres" if len(lines) > MAX_ERRORS_SHOWN else ""
    )
    raise UserError(
        f"Registre des membres {registry_name} refusé, rien n'a été chargé :\n  - {shown}{more}"
    )


def _problems(frame: pl.DataFrame, mask: pl.Expr, column: str, message: str) -> pl.DataFrame:
    return frame.filter(mask).select(
        "line",
        pl.lit(column).alias("column"),
        pl.col(column).cast(pl.String).alias("value"),
        pl.lit(message).alias("message"),
    )


def _unknown_themes(frame: pl.DataFrame, theme_codes: list[str]) -> pl.DataFrame:
    listed = ", ".join(theme_codes)
    return (
        frame.select("line", pl.col("themes").alias("value"))
        .explode("value")
        .filter(pl.col("value").is_not_null() & ~pl.col("value").is_in(theme_codes))
        .select(
            "line",
            pl.lit("themes").alias("column"),
            "value",
            pl.lit(f"code de thème inconnu (codes possibles : {listed})").alias("message"),
        )
    )


def register(con: duckdb.DuckDBPyConnection, registry_csv: Path, *, is_demo: bool) -> int:
    """Upsert a registry file into `members` (validated first); return the number of members read.

    `is_demo` says what the file is: its members (and, through them, their submissions) are marked
    as demonstration data. A code already used by a member of the other kind is refused.
    """
    registry_csv = Path(registry_csv)
    theme_codes = [
        row[0] for row in con.execute("select code from themes order by sort_order").fetchall()
    ]
    members = prepare(
        read_registry(registry_csv), theme_codes, is_demo=is_demo, registry_name=str(registry_csv)
    )
    if members.height == 0:
        return 0
    con.register("incoming_members", members.to_arrow())
    try:
        clashes = con.execute(
            """select m.code from members m join incoming_members i using (code)
               where m.is_demo <> i.is_demo order by m.code"""
        ).fetchall()
        if clashes:
            codes = ", ".join(code for (code,) in clashes)
            kind = "de démonstration" if not is_demo else "réel"
            raise UserError(
                f"Registre des membres {registry_csv} refusé : le(s) code(s) {codes} "
                f"désignent déjà un membre {kind}. Choisissez un autre code."
            )
        con.execute(
            """insert or replace into members (code, name, categories, themes, active_since, is_demo)
               select code, name, categories, themes, active_since, is_demo from incoming_members"""
        )
    finally:
        con.unregister("incoming_members")
    return members.height
