"""Parsing what members write: counts, dates, periods, yes/no, personal data (vectorised Polars)."""

from __future__ import annotations

import re

import polars as pl

MAX_INTEGER = 2_147_483_647  # the database's INTEGER

# Personal data that must not appear in an observation (the texts may be published).
PERSONAL_DATA = {
    "une adresse électronique": r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
    "un numéro AVS": r"\b756[.\s]?\d{4}[.\s]?\d{4}[.\s]?\d{2}\b",
    "un IBAN": r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}(?:\s?[A-Z0-9]{1,3})?\b",
    "un numéro de téléphone": (
        r"(?:\+|\b00)\s?\d{2,3}[\s./-]?(?:\(0\)\s?)?\d{2}[\s./-]?\d{3}[\s./-]?\d{2}[\s./-]?\d{2}\b"
        r"|\b0\d{2}[\s./-]?\d{3}[\s./-]?\d{2}[\s./-]?\d{2}\b"
    ),
}
EMPTY_MARKERS = r"(?i)^(-|–|—|/|\?|n\.?\s?d\.?|n\.?\s?c\.?|n/?a)$"
THOUSANDS = r"^\d{1,3}(?:[ '’\u00a0\u202f]\d{3})+$"
PLAIN_INTEGER = r"^\+?\d+(?:\.0+)?$"
TRUE_WORDS = ["oui", "o", "yes", "y", "vrai", "true", "1", "x", "public", "publique"]
FALSE_WORDS = ["non", "n", "no", "faux", "false", "0", "prive", "privee", "interne"]
LEVEL_WORDS = {
    "information": "information",
    "info": "information",
    "informations": "information",
    "vigilance": "vigilance",
    "alerte": "alerte",
    "alert": "alerte",
}
WHOLE_CANTON = [
    "tout le canton",
    "tout canton",
    "canton",
    "canton de geneve",
    "toutes",
    "toutes les communes",
    "tout le canton de geneve",
]


# Excel's error values, as stored in a workbook (English) or written by a French Excel in a CSV.
EXCEL_ERRORS = {
    "#DIV/0!": "division par zéro",
    "#N/A": "valeur non disponible, souvent une recherche (RECHERCHEV) qui n'a rien trouvé",
    "#VALUE!": "la formule calcule avec un texte au lieu d'un nombre",
    "#VALEUR!": "la formule calcule avec un texte au lieu d'un nombre",
    "#REF!": "la formule renvoie à une cellule supprimée",
    "#NAME?": "nom de fonction ou de plage inconnu",
    "#NOM?": "nom de fonction ou de plage inconnu",
    "#NUM!": "calcul impossible",
    "#NOMBRE!": "calcul impossible",
    "#NULL!": "plages de cellules sans intersection",
    "#NUL!": "plages de cellules sans intersection",
    "#SPILL!": "le résultat ne peut pas s'étendre sur les cellules voisines",
    "#PROPAGATION!": "le résultat ne peut pas s'étendre sur les cellules voisines",
    "#CALC!": "calcul impossible",
    "#GETTING_DATA": "données pas encore chargées",
    "#FIELD!": "champ inconnu",
    "#CHAMP!": "champ inconnu",
    "#BLOCKED!": "formule bloquée",
    "#CONNECT!": "connexion impossible",
    "#BUSY!": "calcul pas terminé",
    "#UNKNOWN!": "erreur de formule",
    "#EXTERNAL!": "erreur de formule",
}
EXCEL_ERROR = "^(?:" + "|".join(re.escape(code) for code in EXCEL_ERRORS) + ")$"
# Periods that could be a month or a quarter: 2026-2, 2026/2, 2026.2, 2/2026… (months 1 to 4).
AMBIGUOUS_PERIOD = r"^(?:\d{4}[-/.][1-4]|[1-4][-/.]\d{4})$"


def is_excel_error(value: pl.Expr) -> pl.Expr:
    return value.str.strip_chars().str.to_uppercase().str.contains(EXCEL_ERROR)


def excel_error_message(value: pl.Expr) -> pl.Expr:
    """« #DIV/0! » : a formula that failed in Excel, named and explained (what to do: fix it)."""
    explanation = (
        value.str.strip_chars()
        .str.to_uppercase()
        .replace_strict(EXCEL_ERRORS, default="erreur de formule", return_dtype=pl.String)
    )
    return pl.format(
        "« {} » : la cellule contient une erreur de formule d'Excel ({}), pas une valeur. "
        "Corrigez la formule, ou remplacez-la par la valeur voulue, puis renvoyez le fichier.",
        value,
        explanation,
    )


def is_ambiguous_period(value: pl.Expr) -> pl.Expr:
    return value.str.replace_all(r"\s+", "").str.contains(AMBIGUOUS_PERIOD)


def ambiguous_period_message(value: pl.Expr, year: pl.Expr, number: pl.Expr) -> pl.Expr:
    return pl.format(
        "Période « {} » ambiguë : mois ({}-0{}) ou trimestre ({}-T{}) ? Écrivez l'année ({}), "
        "le trimestre ({}-T1 à {}-T4) ou le mois sur deux chiffres ({}-0{}).",
        value,
        year,
        number,
        year,
        number,
        year,
        year,
        year,
        year,
        number,
    )


def parse_integers(
    frame: pl.DataFrame, column: str, as_int32: pl.Series | None = None
) -> tuple[pl.Series, pl.Series | None]:
    """Parse counts written 1234, 1'234, 1 234, 1’234 or 12.0 (Excel); return (values, error kind).

    Plain digits are cast directly; only the distinct values that are not go through the slower
    patterns, so a million rows cost one cast and a lookup. `as_int32`: the column already cast
    to Int32 (strict=False) by the caller, several columns at once.
    """
    text = frame[column]
    # Int32's largest value is MAX_INTEGER: a larger count fails this cast and takes the slow path.
    direct = text.cast(pl.Int32, strict=False) if as_int32 is None else as_int32
    if direct.null_count() == text.null_count() and (direct.min() or 0) >= 0:
        return direct, None
    direct = text.cast(pl.Int64, strict=False)
    unusual = (direct.is_null() & text.is_not_null()) | (direct < 0) | (direct > MAX_INTEGER)
    raw = pl.col("raw").str.strip_chars()
    cleaned = (
        pl.when(raw.str.contains(THOUSANDS))
        .then(raw.str.replace_all(r"[ '’\u00a0\u202f]", ""))
        .when(raw.str.contains(PLAIN_INTEGER))
        .then(raw.str.replace(r"\.0+$", "").str.replace(r"^\+", ""))
    ).cast(pl.Int64, strict=False)
    distinct = text.filter(unusual.fill_null(False)).unique().to_frame("raw")
    parsed = distinct.with_columns(
        pl.when(cleaned <= MAX_INTEGER).then(cleaned).alias("value"),
        pl.when(raw == "")
        .then(pl.lit(None, pl.String))  # only spaces: an empty cell
        .when(raw.str.contains(EMPTY_MARKERS))
        .then(pl.lit("marque"))
        .when((cleaned > MAX_INTEGER) | raw.str.contains(r"^\+?\d{11,}(?:\.0+)?$"))
        .then(pl.lit("trop_grand"))  # 1E+300 from Excel has too many digits to be cast
        .when(cleaned.is_not_null())
        .then(pl.lit(None, pl.String))
        .when(is_excel_error(raw))
        .then(pl.lit("erreur_excel"))
        .when(raw.str.contains(r"^-\s*\d"))
        .then(pl.lit("negatif"))
        .when(raw.str.contains(r"^\d[\d '’]*[.,]\d+$"))
        .then(pl.lit("decimal"))
        .otherwise(pl.lit("texte"))
        .alias("kind"),
    )
    result = frame.select(
        pl.col(column)
        .replace_strict(
            parsed["raw"], parsed["value"], default=pl.lit(direct), return_dtype=pl.Int64
        )
        .alias("value"),
        pl.col(column)
        .replace_strict(parsed["raw"], parsed["kind"], default=None, return_dtype=pl.String)
        .alias("kind"),
    )
    return result["value"].cast(pl.Int32), result["kind"]


def integer_messages(kind: pl.Expr, label: str, required: bool) -> pl.Expr:
    value = pl.col("__value")
    return (
        pl.when(kind == "negatif")
        .then(
            pl.format(
                "« {} » : un nombre négatif n'est pas possible. Indiquez un nombre entier ≥ 0.",
                value,
            )
        )
        .when(kind == "erreur_excel")
        .then(excel_error_message(value))
        .when(kind == "decimal")
        .then(pl.format("« {} » : un nombre entier est attendu, sans décimales.", value))
        .when(kind == "trop_grand")
        .then(pl.format("« {} » : nombre trop grand (au plus 2'147'483'647).", value))
        .when(kind == "marque")
        .then(
            pl.format(
                "« {} » : indiquez le nombre de " + label + " (0 s'il n'y en a pas)."
                if required
                else "« {} » : laissez la case vide si le nombre n'est pas connu.",
                value,
            )
        )
        .otherwise(
            pl.format(
                "« {} » n'est pas un nombre. Indiquez un nombre entier ≥ 0 (par exemple 1234 ou 1'234).",
                value,
            )
        )
    )


def parse_date(column: pl.Expr) -> pl.Expr:
    """Excel dates, 31.12.2024, 31/12/2024, 2024-12-31 (4-digit years only)."""
    return pl.coalesce(
        pl.when(column.str.contains(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")).then(
            column.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).dt.date()
        ),
        pl.when(column.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}$")).then(
            column.str.to_date("%Y-%m-%d", strict=False)
        ),
        pl.when(column.str.contains(r"^\d{1,2}\.\d{1,2}\.\d{4}$")).then(
            column.str.to_date("%d.%m.%Y", strict=False)
        ),
        pl.when(column.str.contains(r"^\d{1,2}/\d{1,2}/\d{4}$")).then(
            column.str.to_date("%d/%m/%Y", strict=False)
        ),
    )


def period_code_expr(column: pl.Expr) -> pl.Expr:
    """'2024', '2024-T1', '2024-Q1', 't1 2024', '2024-3', '03.2024', Excel 01.03.2024 -> canonical."""
    text = column.str.to_uppercase().str.replace_all(r"\s+", "")
    for pattern, replacement in [
        (r"^(\d{4})\.0+$", "$1"),
        (r"^(\d{4})-(\d{2})-01(00:00:00)?$", "$1-$2"),  # an Excel date on the 1st: a month
        (r"^(\d{4})[-/.]?[TQ]([1-4])$", "$1-T$2"),
        (r"^[TQ]([1-4])[-/.]?(\d{4})$", "$2-T$1"),
        (r"^(\d{4})[-/.](\d)$", "$1-0$2"),
        (r"^(\d)[-/.](\d{4})$", "$2-0$1"),
        (r"^(\d{2})[-/.](\d{4})$", "$2-$1"),
    ]:
        text = text.str.replace(pattern, replacement)
    return text


def mask_personal_data(text: pl.Expr) -> pl.Expr:
    """The text with personal data hidden, shortened: reports must not spread what they refuse."""
    for pattern in PERSONAL_DATA.values():
        text = text.str.replace_all(pattern, "[masqué]")
    return pl.when(text.str.len_chars() > 80).then(text.str.slice(0, 80) + "…").otherwise(text)
