"""What drives the demo figures: per theme, the needs behind demand, the seasons, the real events.

Everything here is data, read by `etl.demo.activity`. The events and magnitudes come from
`data/reference/` and the team's domain notes (`data/reference/raw/domain_notes.md`, facts with
their sources); where a number is a modelling choice rather than a fact, the comment says so. The whole model is described in
docs/DEMO.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BASE_YEAR = 2015  # members' volumes are given at this year's level of demand

# Months: January first. Seasonal profiles are normalised to a mean of 1 where they are used.
OFFICE = (1.0, 1.05, 1.05, 1.0, 1.0, 0.95, 0.8, 0.8, 1.05, 1.1, 1.05, 0.9)  # summer holidays dip
WINTER_SHELTER = (1.45, 1.45, 1.3, 1.0, 0.8, 0.65, 0.6, 0.6, 0.75, 0.95, 1.2, 1.45)
# The winter plan opens extra beds from November to March (capacity follows, but not fully).
WINTER_PLAN_BEDS = (1.3, 1.3, 1.25, 1.0, 0.85, 0.8, 0.8, 0.8, 0.85, 1.0, 1.2, 1.3)
FOOD = (1.05, 1.0, 1.0, 1.0, 1.0, 0.95, 0.85, 0.85, 1.0, 1.05, 1.1, 1.15)  # end-of-year peak
# Distributions run at the same pace all year (fewer volunteers in summer): the December peak of
# demand meets a flat capacity and some people are turned away (modelling choice).
FOOD_CAPACITY = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 0.9, 1.0, 1.0, 1.0, 1.0)
HYGIENE = (0.95, 0.95, 1.0, 1.0, 1.05, 1.1, 1.15, 1.1, 1.0, 0.95, 0.9, 0.95)  # showers in summer
DAY_CENTRE = (1.2, 1.2, 1.1, 1.0, 0.95, 0.9, 0.8, 0.8, 0.95, 1.0, 1.05, 1.15)  # isolation in winter
SCHOOL_YEAR = (1.05, 1.1, 1.1, 1.05, 1.0, 0.9, 0.6, 0.6, 1.15, 1.15, 1.1, 0.9)
SUMMER_ACTIVITIES = (0.9, 0.9, 1.0, 1.0, 1.05, 1.1, 1.2, 1.1, 1.0, 1.0, 0.95, 0.85)
SENIOR_WINTER = (1.1, 1.05, 1.0, 1.0, 0.95, 0.95, 0.9, 0.9, 1.0, 1.0, 1.05, 1.1)
FLAT = (1.0,) * 12


@dataclass(frozen=True)
class Event:
    """A multiplier on a theme's demand between two months (inclusive, 'YYYY-MM'; None = open)."""

    start: str
    end: str | None
    factor: float


@dataclass(frozen=True)
class Theme:
    code: str
    # Needs index: product of (indicator / canton mean) ** exponent, indicators from data/reference.
    needs: dict[str, float]
    season: tuple[float, ...]
    growth: float  # yearly growth of demand per resident (modelling choice)
    events: tuple[Event, ...] = ()
    acts_per_person: float = 1.5  # prestations per person and month (parcels, nights, visits…)
    share_women: float = 0.5
    share_minors: float = 0.1
    share_seniors: float = 0.1  # among adults, before the commune's age structure
    share_new: float = 0.3  # persons new to the member, in a year of stable demand
    # Capacity follows demand with a delay: capacity(t) = headroom × trend(t - lag) × season.
    headroom: float = 1.1
    lag_months: int = 3
    capacity_season: tuple[float, ...] | None = None  # None: capacity follows the demand season
    waiting_list: float = 0.0  # people waiting at the end of a month, per unmet request (0: none)
    outside_canton: float = 0.02  # share of persons living outside the canton
    unknown_place: float = 0.03  # share whose commune is not recorded
    women_events: tuple[Event, ...] = field(default=())  # shifts of the women's share (additive)


SOCIAL = "social_assistance_rate_pct"
FOREIGN = "foreign_share_pct"
AGE_65 = "age_65plus_pct"
AGE_0_19 = "age_0_19_pct"
LOW_INCOME = "taxpayers_taxable_income_le_30k_pct"
DENSITY = "pop_density_per_km2"

# COVID-19: semi-confinement from mid-March 2020; food queues at the Vernets in May 2020 (domain
# notes: Colis du Cœur demand "roughly doubled", 3 500 -> 6 751 people a week by late 2020).
COVID_FOOD = (
    Event("2020-03", "2020-03", 1.3),
    Event("2020-04", "2020-06", 2.3),
    Event("2020-07", "2021-12", 2.0),
    Event("2022-01", None, 1.75),
)
# Inflation 2022–23: longer queues (Salle du Môle, November 2022); "more than 14 000 people a week"
# receive food aid in 2023 (FIAN Suisse).
INFLATION_FOOD = (Event("2022-07", "2023-12", 1.12), Event("2024-01", None, 1.08))
# Ukraine: permis S from March 2022; 2 456 S-permit holders in Geneva by May 2022.
UKRAINE = (
    Event("2022-03", "2022-03", 1.4),
    Event("2022-04", "2022-12", 1.8),
    Event("2023-01", "2023-12", 1.65),
    Event("2024-01", None, 1.5),
)
COVID_CLOSURES = (Event("2020-03", "2020-05", 0.65),)  # day centres, courses closed

THEMES: dict[str, Theme] = {
    t.code: t
    for t in (
        Theme(
            "alimentation",
            {SOCIAL: 1.3, LOW_INCOME: 0.5},
            FOOD,
            0.02,
            COVID_FOOD + INFLATION_FOOD,
            acts_per_person=3.0,
            share_women=0.5,
            share_minors=0.38,  # Colis du Cœur 2021: about 40 % children
            share_seniors=0.08,
            share_new=0.25,
            headroom=1.08,
            lag_months=2,
            capacity_season=FOOD_CAPACITY,
        ),
        Theme(
            "hebergement",
            {SOCIAL: 1.2, DENSITY: 0.4},
            WINTER_SHELTER,
            0.03,
            # April 2019: tents on the Plaine de Plainpalais; COVID shelters 2020–21; Ukraine 2022.
            (
                Event("2019-04", None, 1.15),
                Event("2020-03", "2021-06", 1.2),
                Event("2022-03", "2022-12", 1.1),
            ),
            acts_per_person=9.0,
            share_women=0.2,
            share_minors=0.04,
            share_seniors=0.06,
            share_new=0.35,
            headroom=1.0,
            lag_months=12,
            capacity_season=WINTER_PLAN_BEDS,
            waiting_list=0.3,
            outside_canton=0.12,
            unknown_place=0.25,
        ),
        Theme(
            "logement",
            {SOCIAL: 1.0, LOW_INCOME: 0.5},
            OFFICE,
            0.03,
            INFLATION_FOOD,
            acts_per_person=1.3,
            share_women=0.55,
            share_minors=0.02,
            headroom=0.95,
            lag_months=12,
            waiting_list=2.5,
        ),
        Theme(
            "sante",
            {SOCIAL: 0.8, FOREIGN: 0.4},
            OFFICE,
            0.02,
            (Event("2020-03", "2021-12", 1.25),),
            acts_per_person=1.6,
            share_minors=0.08,
            outside_canton=0.05,
            unknown_place=0.06,
        ),
        Theme(
            "sante_mentale",
            {SOCIAL: 0.6},
            OFFICE,
            0.03,
            (Event("2020-10", "2021-12", 1.3), Event("2022-01", None, 1.2)),
            acts_per_person=2.2,
            share_women=0.6,
            share_minors=0.15,
            headroom=0.95,
            lag_months=12,
            waiting_list=2.0,
        ),
        Theme(
            "addictions",
            {SOCIAL: 0.8, DENSITY: 0.3},
            FLAT,
            0.01,
            (),
            acts_per_person=3.0,
            share_women=0.25,
            share_minors=0.03,
            unknown_place=0.1,
        ),
        Theme(
            "dettes",
            {SOCIAL: 1.0, LOW_INCOME: 0.8},
            OFFICE,
            0.02,
            # 2023 cantonal over-indebtedness law; inflation 2022–23.
            (
                Event("2021-01", "2021-12", 1.1),
                Event("2022-07", "2022-12", 1.15),
                Event("2023-01", None, 1.25),
            ),
            acts_per_person=1.4,
            share_women=0.5,
            share_minors=0.0,
            headroom=1.0,
            lag_months=6,
            waiting_list=1.5,
        ),
        Theme(
            "droits",
            {SOCIAL: 1.0},
            OFFICE,
            0.02,
            # BiS pilot from November 2020 (non-recours); Hospice général dossiers rose exceptionally
            # from 2023; social-assistance reform (LASLP) in force on 1 January 2025.
            (
                Event("2020-04", "2022-12", 1.3),
                Event("2023-01", "2024-12", 1.4),
                Event("2025-01", None, 1.5),
            ),
            acts_per_person=1.3,
            share_women=0.55,
            share_minors=0.02,
        ),
        Theme(
            "emploi",
            {SOCIAL: 0.8, LOW_INCOME: 0.5},
            SCHOOL_YEAR,
            0.01,
            (
                Event("2020-04", "2020-12", 1.2),
                Event("2021-01", "2021-12", 1.25),
                Event("2022-01", None, 1.08),
            ),
            acts_per_person=4.0,
            share_women=0.45,
            share_minors=0.05,
            share_seniors=0.01,
            headroom=1.0,
            lag_months=6,
            waiting_list=1.0,
        ),
        Theme(
            "formation",
            {FOREIGN: 0.8, SOCIAL: 0.5},
            SCHOOL_YEAR,
            0.02,
            COVID_CLOSURES + (Event("2022-04", None, 1.15),),  # French courses for S permits
            acts_per_person=6.0,
            share_women=0.6,
            share_minors=0.1,
            share_seniors=0.03,
            headroom=1.0,
            lag_months=6,
            waiting_list=1.5,
        ),
        Theme(
            "migration",
            {FOREIGN: 1.5},
            OFFICE,
            0.01,
            (Event("2020-03", "2020-05", 0.8),) + UKRAINE,
            acts_per_person=1.5,
            share_women=0.45,
            share_minors=0.3,
            share_seniors=0.04,
            share_new=0.35,
            headroom=1.05,
            lag_months=4,
            outside_canton=0.03,
            unknown_place=0.08,
        ),
        Theme(
            "famille",
            {SOCIAL: 0.8, AGE_0_19: 1.5},
            OFFICE,
            0.02,
            (Event("2020-03", "2021-12", 1.15),) + INFLATION_FOOD,
            acts_per_person=2.0,
            share_women=0.7,
            share_minors=0.5,
            share_seniors=0.01,
            headroom=1.0,
            lag_months=6,
            waiting_list=0.8,
        ),
        Theme(
            "jeunesse",
            {AGE_0_19: 1.5, SOCIAL: 0.5},
            SUMMER_ACTIVITIES,
            0.01,
            (Event("2020-03", "2020-05", 0.7), Event("2021-01", "2021-12", 1.1)),
            acts_per_person=3.0,
            share_women=0.45,
            share_minors=0.8,
            share_seniors=0.0,
        ),
        Theme(
            "seniors",
            {AGE_65: 1.5, SOCIAL: 0.3},
            SENIOR_WINTER,
            0.03,
            (Event("2020-03", "2020-06", 1.3),),
            acts_per_person=2.0,
            share_women=0.62,
            share_minors=0.0,
            share_seniors=0.92,
        ),
        Theme(
            "handicap",
            {SOCIAL: 0.3},
            OFFICE,
            0.01,
            (),
            acts_per_person=3.0,
            share_women=0.45,
            share_minors=0.1,
            headroom=0.97,
            lag_months=12,
            waiting_list=2.0,
        ),
        Theme(
            "violences",
            {SOCIAL: 0.6},
            OFFICE,
            0.04,
            (Event("2020-04", "2020-06", 1.25), Event("2021-01", "2021-12", 1.1)),
            acts_per_person=2.5,
            share_women=0.85,
            share_minors=0.25,
            share_seniors=0.03,
            headroom=1.0,
            lag_months=6,
            waiting_list=0.3,
            unknown_place=0.08,
        ),
        Theme(
            "hygiene",
            {SOCIAL: 1.0, DENSITY: 0.5},
            HYGIENE,
            0.02,
            (Event("2020-03", "2021-06", 1.3), Event("2022-01", None, 1.15)),
            acts_per_person=4.0,
            share_women=0.25,
            share_minors=0.03,
            share_seniors=0.05,
            outside_canton=0.06,
            unknown_place=0.2,
            # Laverie project: "from 2022 more women and families came" (CAPAS).
            women_events=(Event("2022-01", None, 0.15),),
        ),
        Theme(
            "lien_social",
            {SOCIAL: 0.5, AGE_65: 0.5},
            DAY_CENTRE,
            0.02,
            COVID_CLOSURES + (Event("2020-06", "2021-12", 1.2),),
            acts_per_person=5.0,
            share_women=0.45,
            share_minors=0.02,
            share_seniors=0.2,
            unknown_place=0.08,
        ),
    )
}

# What a member reports beyond `personnes` (profile column `colonnes`).
COLUMN_SETS = {
    "minimal": ("prestations",),
    "standard": ("prestations", "nouvelles_personnes", "femmes", "hommes", "mineurs"),
    "complet": (
        "prestations",
        "nouvelles_personnes",
        "femmes",
        "hommes",
        "mineurs",
        "seniors_65",
        "demandes_non_satisfaites",
        "liste_attente",
    ),
}
SHARE_GENDER_RECORDED = 0.97  # persons whose gender is recorded (femmes + hommes ≤ personnes)


@dataclass(frozen=True)
class Rise:
    """A local rise injected on top of the model: the known truth the signals are tested against
    (bench/bench_signals.py, docs/DEMO.md). Persons served (and turned away) in one commune, theme
    and quarter are multiplied by `factor`; the extra persons are drawn from their own random stream,
    so every other figure of the demo stays as it was."""

    theme: str
    ofs_number: int
    commune: str
    quarter: str  # 'YYYY-Tq'
    factor: float
    reported_by: str | None = None  # a member who writes a public field alert about it


# Sizes and places are modelling choices: communes where the theme's quarterly counts are large
# enough to be published; most rises +60 % to +100 %, one of +40 % and one of +50 % to show where
# detection stops (the demo's counts vary by about 20 % from quarter to quarter beyond Poisson);
# half of them seen by the field (a member that writes its observations each quarter or each
# year, so that the alert reaches the files).
RISES = (
    Rise("alimentation", 6631, "Onex", "2021-T3", 2.0, "DEMO-SOC-01"),
    Rise("hebergement", 6608, "Carouge", "2022-T4", 1.8),
    Rise("migration", 6628, "Lancy", "2023-T2", 1.6, "DEMO-DRO-01"),
    Rise("seniors", 6631, "Onex", "2024-T2", 2.0),
    Rise("lien_social", 6643, "Vernier", "2024-T4", 1.8, "DEMO-HEB-01"),
    Rise("alimentation", 6640, "Thônex", "2025-T2", 1.4),
    Rise("sante", 6630, "Meyrin", "2025-T4", 2.0),
    Rise("droits", 6608, "Carouge", "2025-T4", 1.5, "DEMO-SEN-01"),
)
