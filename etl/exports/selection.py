"""What an extraction asks and the rows it gets: `Selection`, `Options`, `check_selection`, `extract`.

The filters are the same on the Données page (its URL) and on the command line (`observatoire
exporter`); `extract` runs the export queries through the query runner it is handed (etl/queries.py)
on the public file, so every row carries the disclosure control of DESIGN §6.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from etl.disclosure.crossings import QUARTER, YEAR, unpublished_detail
from etl.errors import UserError
from etl.public import suppressed_flag
from etl.queries import Runner
from etl.vocabulary import ALL, CANTON, CUBE_MEASURES, CUBE_PERIOD_KINDS

LEVELS = ("commune", "canton")
GRANULARITIES = CUBE_PERIOD_KINDS
RATE = "taux_pour_1000"
POPULATION = "population"
DERIVED_VARIABLES = (POPULATION, RATE)
# The gap between need and supply (etl/analysis/gaps.py, computed at publish from the published
# counts): by commune and year only, for all members together.
GAP = "ecart_besoins"
GAP_COLUMNS = (
    "indice_besoins",
    "attendu",
    "rapport_obs_att",
    "rapport_ic_inf",
    "rapport_ic_sup",
    "limite_95_inf",
    "limite_95_sup",
    "limite_998_inf",
    "limite_998_sup",
    "signalement",
)
DEFAULT_VARIABLES = (*CUBE_MEASURES, *DERIVED_VARIABLES)
# Columns present whatever is chosen: they say what a row is.
KEY_COLUMNS = ("annee", "trimestre", "no_ofs", "territoire", "theme", "theme_libelle")
CATEGORY_COLUMN = "categorie_membres"
DEMO_COLUMN = "donnees_demo"


# --- what is asked --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The filters of one extraction; the same on the page (URL) and on the command line."""

    year_from: int
    year_to: int
    level: str = "commune"
    granularity: str = "annee"
    themes: tuple[str, ...] = ()  # theme codes, ALL = all themes together; empty = every theme
    communes: tuple[int, ...] = ()  # OFS numbers; empty = the 45 (commune level only)
    categories: tuple[str, ...] = (ALL,)  # member categories, ALL = every member
    variables: tuple[str, ...] = DEFAULT_VARIABLES  # counts, population, rate, needs indicators


@dataclass(frozen=True)
class Options:
    """What the public file holds, to check a selection and to fill the page's widgets."""

    years: tuple[int, ...]
    quarter_years: tuple[int, ...]
    themes: pl.DataFrame  # code, label_fr, label_en, sort_order
    communes: pl.DataFrame  # ofs_number, name
    categories: tuple[str, ...]
    indicators: pl.DataFrame  # code, label_fr, label_en, unit_fr, unit_en, source

    @property
    def theme_codes(self) -> tuple[str, ...]:
        return tuple(self.themes["code"].to_list())

    @property
    def indicator_codes(self) -> tuple[str, ...]:
        return tuple(self.indicators["code"].to_list())

    def variables(self, level: str) -> tuple[str, ...]:
        """Variables that can be chosen at `level` (needs indicators exist by commune only)."""
        context = (GAP, *self.indicator_codes) if level == "commune" else ()
        return (*DEFAULT_VARIABLES, *context)


def load_options(run: Runner) -> Options:
    years = run("export_years")
    return Options(
        years=tuple(years["year"].to_list()),
        quarter_years=tuple(years.filter("has_quarters")["year"].to_list()),
        themes=run("ref_themes"),
        communes=run("ref_communes"),
        categories=(ALL, *run("ref_member_categories")["category"].to_list()),
        indicators=run("export_indicator_definitions"),
    )


def _unknown(values, allowed) -> list[str]:
    return [str(value) for value in values if value not in allowed]


def check_selection(selection: Selection, options: Options) -> Selection:
    """The selection with its defaults filled in, or a UserError saying in French what is wrong."""
    if selection.level not in LEVELS:
        raise UserError(f"Niveau « {selection.level} » inconnu : attendu {' ou '.join(LEVELS)}.")
    if selection.granularity not in GRANULARITIES:
        raise UserError(
            f"Période « {selection.granularity} » inconnue : attendu {' ou '.join(GRANULARITIES)}."
        )
    if selection.year_from > selection.year_to:
        raise UserError(
            f"L'année de début ({selection.year_from}) est après l'année de fin "
            f"({selection.year_to})."
        )
    checks = [
        ("thématique", selection.themes, (ALL, *options.theme_codes)),
        ("commune (n° OFS)", selection.communes, tuple(options.communes["ofs_number"].to_list())),
        ("catégorie de membres", selection.categories, options.categories),
        ("variable", selection.variables, options.variables(selection.level)),
    ]
    for what, values, allowed in checks:
        unknown = _unknown(values, allowed)
        if unknown:
            hint = ", ".join(str(a) for a in allowed)
            raise UserError(f"{what.capitalize()} inconnue : {', '.join(unknown)}. Choix : {hint}.")
    if not selection.categories:
        raise UserError("Choisissez au moins une catégorie de membres (« * » = tous les membres).")
    if not selection.variables:
        raise UserError("Choisissez au moins une variable.")
    if GAP in selection.variables and selection.granularity != "annee":
        raise UserError(
            "L'écart besoins / offre (ecart_besoins) est calculé par année : choisissez la période "
            "« annee »."
        )
    if unpublished(selection):  # an empty theme list means the themes that are published
        raise UserError(unpublished_message(selection))
    return replace(
        selection,
        themes=selection.themes or default_themes(selection, options),
        communes=selection.communes if selection.level == "commune" else (),
    )


# --- detail that is not published (DESIGN §6, etl/disclosure/crossings.py) -------------------------


def default_themes(selection: Selection, options: Options) -> tuple[str, ...]:
    """The themes of a selection that names none: each theme, except for the quarters of communes,
    published for all themes together only."""
    if selection.level == "commune" and selection.granularity == QUARTER:
        return (ALL,)
    return options.theme_codes


def unpublished(selection: Selection) -> list[str]:
    """What the selection asks that is not published: 'place_category' (communes by
    member category), 'place_quarter_theme' (communes' quarters by theme); empty when all is."""
    return unpublished_detail(
        QUARTER if selection.granularity == QUARTER else YEAR,
        places=selection.level == "commune",
        themes=any(theme != ALL for theme in selection.themes),
        categories=any(category != ALL for category in selection.categories),
    )


def nearest_published(selection: Selection) -> Selection:
    """The published selection nearest to `selection`: the communes stay, with all members
    together instead of their categories, and all themes together for their quarters."""
    if "place_category" in unpublished(selection):
        selection = replace(selection, categories=(ALL,))
    if "place_quarter_theme" in unpublished(selection):
        selection = replace(selection, themes=(ALL,))
    return selection


def unpublished_message(selection: Selection) -> str:
    """The refusal of an unpublished selection, in French: the filter, why, and what to ask."""
    from etl.exports.documentation import cli_command  # documentation imports this module

    missing = unpublished(selection)
    asked, instead = [], []
    # What the nearest published selection widens, said exactly (not « all members » when only
    # the quarterly themes were the problem).
    widened = [
        words
        for code, words in (
            ("place_category", "tous les membres réunis"),
            ("place_quarter_theme", "toutes les thématiques réunies"),
        )
        if code in missing
    ]
    if "place_category" in missing:
        named = ", ".join(c for c in selection.categories if c != ALL)
        asked.append(f"les communes par catégorie de membres (--categorie {named})")
        instead.append("les catégories de membres pour le canton entier (--niveau canton)")
    if "place_quarter_theme" in missing:
        named = ", ".join(t for t in selection.themes if t != ALL)
        asked.append(f"les trimestres des communes par thématique (--theme {named})")
        instead.append(
            "les trimestres par thématique pour le canton entier (--niveau canton), ou les "
            "communes par thématique et par année (--periode annee)"
        )
    return (
        f"Non publié à ce niveau de détail : {' et '.join(asked)}. Pour protéger les petits "
        "nombres (à ce niveau, beaucoup de cases comptent 1 à 4 personnes, qui pourraient être "
        "reconnues), l'observatoire ne publie pas ce détail. Demandez plutôt "
        f"{' ; '.join(instead)} ; ou, pour les mêmes communes, {' et '.join(widened)} : "
        f"{cli_command(nearest_published(selection))}"
    )


# --- extraction -------------------------------------------------------------------------------------


def _place_codes(selection: Selection, options: Options) -> list[str]:
    if selection.level == "canton":
        return [CANTON]
    communes = selection.communes or tuple(options.communes["ofs_number"].to_list())
    return [str(ofs) for ofs in communes]


def output_columns(selection: Selection, context: list[str]) -> list[str]:
    """The columns of an extraction, in order: keys, chosen variables with their flags, demo flag."""
    columns = [c for c in KEY_COLUMNS if c != "trimestre" or selection.granularity == "trimestre"]
    columns.append(CATEGORY_COLUMN)
    for variable in selection.variables:
        if variable in CUBE_MEASURES:
            columns += [variable, suppressed_flag(variable)]
        elif variable == POPULATION:
            columns += [POPULATION, "population_statut"]
        elif variable == RATE:
            columns += [RATE, suppressed_flag(RATE)]
        elif variable == GAP:
            columns += list(GAP_COLUMNS)
    for code in context:
        columns += [code, f"{code}_annee"]
    return [*columns, DEMO_COLUMN]


def _context_indicators(
    frame: pl.DataFrame, codes: list[str], selection: Selection, run: Runner
) -> pl.DataFrame:
    """Join each chosen needs indicator: its latest value up to the row's year, and that year."""
    values = run(
        "export_context_indicators",
        codes=codes,
        ofs=sorted({int(v) for v in frame["no_ofs"].drop_nulls()}) or [0],
        year_from=selection.year_from,
        year_to=selection.year_to,
    )
    wide = values.pivot(on="indicator_code", index=["ofs_number", "year"], values="value").join(
        values.pivot(on="indicator_code", index=["ofs_number", "year"], values="value_year").rename(
            lambda c: c if c in ("ofs_number", "year") else f"{c}_annee"
        ),
        on=["ofs_number", "year"],
        how="left",
    )
    for code in codes:  # a code with no value at all pivots to no column
        if code not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(code))
        if f"{code}_annee" not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Int32).alias(f"{code}_annee"))
    wide = wide.with_columns(
        *[pl.col(c).cast(pl.Float64) for c in codes],
        *[pl.col(f"{c}_annee").cast(pl.Int32) for c in codes],
        pl.col("ofs_number").cast(frame.schema["no_ofs"]),
        pl.col("year").cast(frame.schema["annee"]),
    )
    return frame.join(
        wide.rename({"ofs_number": "no_ofs", "year": "annee"}),
        on=["no_ofs", "annee"],
        how="left",
        maintain_order="left",
    )


def _gaps(frame: pl.DataFrame, selection: Selection, run: Runner) -> pl.DataFrame:
    """Join the published gap of each commune × theme × year (rows of all members only)."""
    gaps = run(
        "export_gaps",
        year_from=selection.year_from,
        year_to=selection.year_to,
        themes=list(selection.themes),
        ofs=sorted({int(v) for v in frame["no_ofs"].drop_nulls()}) or [0],
    ).rename({"year": "annee", "ofs_number": "no_ofs"})
    gaps = gaps.with_columns(
        pl.col("annee").cast(frame.schema["annee"]),
        pl.col("no_ofs").cast(frame.schema["no_ofs"]),
        pl.lit(ALL).alias(CATEGORY_COLUMN),
    )
    return frame.join(
        gaps, on=["annee", "no_ofs", "theme", CATEGORY_COLUMN], how="left", maintain_order="left"
    )


def extract(selection: Selection, run: Runner, options: Options | None = None) -> pl.DataFrame:
    """The rows and columns of one extraction (checked selection), as published."""
    options = options or load_options(run)
    selection = check_selection(selection, options)
    frame = run(
        "export_activity",
        granularity=selection.granularity,
        year_from=selection.year_from,
        year_to=selection.year_to,
        themes=list(selection.themes),
        lieux=_place_codes(selection, options),
        categories=list(selection.categories),
    )
    context = [v for v in selection.variables if v in options.indicator_codes]
    if context:
        frame = _context_indicators(frame, context, selection, run)
    if GAP in selection.variables:
        frame = _gaps(frame, selection, run)
    return frame.select(output_columns(selection, context))
