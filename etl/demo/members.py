"""The fictional members: who they are (data/members_demo.csv) and how they report (profiles).

`--echelle` scales the number of members. Below 1, the first members of the list are kept (the list
is ordered so that a handful already covers food aid, shelter, migration, seniors and information);
above 1, every member gets "antennas": copies with their own code, seat and random figures, so that
volumes grow with the scale while each file stays the size a real member sends.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl.errors import UserError
from etl.paths import DATA_DIR

MEMBERS_FILE = DATA_DIR / "members_demo.csv"
PROFILES_FILE = Path(__file__).with_name("member_profiles.csv")
FREQUENCIES = ("mois", "trimestre", "annee")
FORMATS = ("csv", "xlsx")
MESS_STYLES = (
    "titre",
    "totaux",
    "entetes",
    "milliers",
    "espaces",
    "alias",
    "ofs",
    "trimestre_q",
    "libelles",
)
# Seats of antennas, in turn (populous communes first, where a second office is plausible).
ANTENNA_SEATS = (
    "Vernier",
    "Lancy",
    "Meyrin",
    "Carouge",
    "Onex",
    "Thônex",
    "Versoix",
    "Le Grand-Saconnex",
    "Chêne-Bourg",
    "Plan-les-Ouates",
    "Bernex",
    "Veyrier",
    "Chêne-Bougeries",
    "Genève",
)


@dataclass(frozen=True)
class Member:
    index: int  # position in the base list (seeds its random stream)
    antenna: int  # 0 for the member itself, k for its k-th antenna
    code: str
    name: str
    categories: tuple[str, ...]
    themes: tuple[str, ...]
    active_since: dt.date
    frequency: str  # mois | trimestre | annee
    file_format: str  # csv | xlsx
    persons_per_year: float  # at the demand of 2015, all themes together
    seat: str  # commune name
    reach: int | None  # None: the whole canton; k: the k communes nearest the seat
    lists_zero_rows: bool  # the member's template lists every commune, zeros included
    columns: str  # minimal | standard | complet
    mess: tuple[str, ...]


def read_members(
    members_file: Path = MEMBERS_FILE, profiles_file: Path = PROFILES_FILE
) -> list[Member]:
    members = pl.read_csv(members_file, infer_schema=False)
    profiles = pl.read_csv(profiles_file, infer_schema=False)
    joined = members.join(profiles, on="code", how="left", maintain_order="left")
    missing = joined.filter(pl.col("frequence").is_null())["code"].to_list()
    if missing:
        raise UserError(f"{profiles_file.name} : profil manquant pour {', '.join(missing)}.")
    result = []
    for index, row in enumerate(joined.iter_rows(named=True)):
        mess = tuple(filter(None, (row["desordre"] or "").split("|")))
        unknown = set(mess) - set(MESS_STYLES)
        if row["frequence"] not in FREQUENCIES or row["format"] not in FORMATS or unknown:
            raise UserError(f"{profiles_file.name}, membre {row['code']} : profil invalide.")
        result.append(
            Member(
                index=index,
                antenna=0,
                code=row["code"],
                name=row["name"],
                categories=tuple(row["categories"].split("|")),
                themes=tuple(row["themes"].split("|")),
                active_since=dt.date.fromisoformat(row["active_since"]),
                frequency=row["frequence"],
                file_format=row["format"],
                persons_per_year=float(row["personnes_an"]),
                seat=row["siege"],
                reach=None if row["portee"] == "canton" else int(row["portee"]),
                lists_zero_rows=row["modele"] == "complet",
                columns=row["colonnes"],
                mess=mess,
            )
        )
    return result


def members_at_scale(members: list[Member], scale: float) -> list[Member]:
    """round(50 × scale) members: the first ones below 1, antennas of each in turn above 1."""
    if not scale > 0 or math.isinf(scale):
        raise UserError(
            f"Échelle invalide : {scale}. Attendu : un nombre positif, par exemple 1 ou 0.5."
        )
    count = max(1, round(len(members) * scale))
    if count <= len(members):
        return members[:count]
    result = list(members)
    for extra in range(count - len(members)):
        base = members[extra % len(members)]
        result.append(antenna_of(base, 1 + extra // len(members)))
    return result


def antenna_of(member: Member, k: int) -> Member:
    seat = ANTENNA_SEATS[(member.index + k) % len(ANTENNA_SEATS)]
    name = member.name.removesuffix(" (démo)")
    return Member(
        index=member.index,
        antenna=k,
        code=f"{member.code}-A{k:02d}",
        name=f"{name} – antenne {seat} {k} (démo)",
        categories=member.categories,
        themes=member.themes,
        active_since=member.active_since,
        frequency=member.frequency,
        file_format=member.file_format,
        persons_per_year=member.persons_per_year * 0.6,
        seat=seat,
        reach=member.reach,
        lists_zero_rows=member.lists_zero_rows,
        columns=member.columns,
        mess=member.mess,
    )


def members_frame(members: list[Member]) -> pl.DataFrame:
    """The registry file's columns (code, name, categories, themes, active_since, is_demo)."""
    return pl.DataFrame(
        {
            "code": [m.code for m in members],
            "name": [m.name for m in members],
            "categories": ["|".join(m.categories) for m in members],
            "themes": ["|".join(m.themes) for m in members],
            "active_since": [m.active_since.isoformat() for m in members],
            "is_demo": ["true"] * len(members),
        }
    )
