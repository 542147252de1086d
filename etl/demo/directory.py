"""The demo members' services (the `services` sheet): who does what, where, when, for whom.

Services sit in real communes with plausible but fictional addresses (generic street names marked
« adresse fictive », real postcodes), opening hours, languages, access conditions and a capacity
that follows the theme's demand over the years (etl.demo.parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from etl.demo.activity import DemoContext, member_places
from etl.demo.members import ANTENNA_SEATS, Member
from etl.demo.parameters import THEMES

# Postcodes of Geneva's communes (the main one where a commune has several).
POSTCODES = {
    "Aire-la-Ville": 1288,
    "Anières": 1247,
    "Avully": 1237,
    "Avusy": 1285,
    "Bardonnex": 1257,
    "Bellevue": 1293,
    "Bernex": 1233,
    "Carouge": 1227,
    "Cartigny": 1236,
    "Céligny": 1298,
    "Chancy": 1284,
    "Chêne-Bougeries": 1224,
    "Chêne-Bourg": 1225,
    "Choulex": 1244,
    "Collex-Bossy": 1239,
    "Collonge-Bellerive": 1245,
    "Cologny": 1223,
    "Confignon": 1232,
    "Corsier": 1246,
    "Dardagny": 1283,
    "Genève": 1205,
    "Genthod": 1294,
    "Le Grand-Saconnex": 1218,
    "Gy": 1251,
    "Hermance": 1248,
    "Jussy": 1254,
    "Laconnex": 1287,
    "Lancy": 1212,
    "Meinier": 1252,
    "Meyrin": 1217,
    "Onex": 1213,
    "Perly-Certoux": 1258,
    "Plan-les-Ouates": 1228,
    "Pregny-Chambésy": 1292,
    "Presinge": 1243,
    "Puplinge": 1241,
    "Russin": 1281,
    "Satigny": 1242,
    "Soral": 1286,
    "Thônex": 1226,
    "Troinex": 1256,
    "Vandœuvres": 1253,
    "Vernier": 1214,
    "Versoix": 1290,
    "Veyrier": 1255,
}
STREETS = (
    "Rue des Lilas",
    "Chemin des Vergers",
    "Avenue du Lac",
    "Rue du Marché",
    "Chemin de la Source",
    "Rue des Écoles",
    "Boulevard du Centre",
    "Place de la Fontaine",
    "Rue du Jura",
    "Chemin des Crêts",
    "Rue des Tilleuls",
    "Avenue des Platanes",
)


@dataclass(frozen=True)
class ServiceKind:
    type: str
    names: tuple[str, ...]
    hours: tuple[str, ...]
    conditions: tuple[str, ...]
    capacity: tuple[int, int]  # range of the capacity in 2015 (places, beds, parcels a week…)


PERMANENCE_HOURS = ("lu–ve 9h–12h", "ma et je 14h–18h", "lu, me, ve 13h30–17h")
DAY_HOURS = ("lu–ve 9h–17h", "ma–sa 10h–16h", "lu–ve 8h30–16h30")
KINDS = {
    "alimentation": ServiceKind(
        "distribution",
        ("Distribution de colis alimentaires", "Épicerie solidaire", "Repas chauds"),
        ("me 14h–18h", "sa 9h–12h", "lu et je 16h–19h"),
        ("sur attestation d'un service social partenaire", "accès libre, sans condition"),
        (150, 800),
    ),
    "hebergement": ServiceKind(
        "hébergement",
        ("Hébergement de nuit", "Accueil de nuit hivernal"),
        ("7j/7, 19h–8h", "tous les soirs dès 20h"),
        (
            "accueil inconditionnel, sans papiers demandés",
            "sur orientation ; priorité aux personnes vulnérables",
        ),
        (20, 90),
    ),
    "logement": ServiceKind(
        "permanence",
        ("Permanence logement", "Conseil aux locataires"),
        PERMANENCE_HOURS,
        ("sans rendez-vous, gratuit", "sur rendez-vous"),
        (30, 90),
    ),
    "sante": ServiceKind(
        "consultation",
        ("Consultation infirmière sans rendez-vous", "Consultation médicale solidaire"),
        ("lu–ve 8h30–17h", "ma et ve 9h–13h"),
        ("gratuit, sans assurance maladie exigée",),
        (20, 70),
    ),
    "sante_mentale": ServiceKind(
        "consultation",
        ("Consultations psychologiques", "Groupe de parole"),
        ("sur rendez-vous, lu–ve", "je 18h–20h"),
        ("sur rendez-vous, tarif selon revenu",),
        (15, 50),
    ),
    "addictions": ServiceKind(
        "accueil de jour",
        ("Espace d'accueil à bas seuil", "Permanence réduction des risques"),
        DAY_HOURS,
        ("accès libre, anonyme",),
        (30, 100),
    ),
    "dettes": ServiceKind(
        "consultation",
        ("Consultation budget et dettes", "Permanence désendettement"),
        ("sur rendez-vous, lu–je", "ma 14h–17h sans rendez-vous"),
        ("gratuit, confidentiel",),
        (20, 60),
    ),
    "droits": ServiceKind(
        "permanence",
        ("Permanence d'information sociale", "Aide aux démarches administratives"),
        PERMANENCE_HOURS,
        ("sans rendez-vous, gratuit et anonyme",),
        (40, 120),
    ),
    "emploi": ServiceKind(
        "atelier",
        ("Atelier de réinsertion professionnelle", "Accompagnement vers l'emploi"),
        ("lu–je 8h–16h",),
        ("sur inscription, sur orientation d'un service social",),
        (10, 40),
    ),
    "formation": ServiceKind(
        "atelier",
        ("Cours de français", "Cours d'alphabétisation"),
        ("ma et je 18h–20h", "lu–ve 9h–11h30"),
        ("sur inscription, gratuit",),
        (15, 60),
    ),
    "migration": ServiceKind(
        "permanence",
        ("Permanence d'accueil et d'orientation", "Consultation juridique asile"),
        PERMANENCE_HOURS,
        ("sans rendez-vous, quel que soit le statut de séjour",),
        (40, 150),
    ),
    "famille": ServiceKind(
        "accueil de jour",
        ("Espace parents-enfants", "Accueil des familles"),
        ("lu, me, ve 9h–11h30", "me 14h–17h30"),
        ("accès libre, enfants accompagnés",),
        (15, 50),
    ),
    "jeunesse": ServiceKind(
        "accueil de jour",
        ("Accueil libre jeunes", "Permanence jeunes adultes"),
        ("me 13h–19h, ve 16h–22h",),
        ("de 12 à 25 ans, accès libre",),
        (20, 60),
    ),
    "seniors": ServiceKind(
        "accueil de jour",
        ("Club des aînés", "Visites à domicile"),
        ("lu–ve 14h–17h",),
        ("dès 65 ans, gratuit",),
        (20, 80),
    ),
    "handicap": ServiceKind(
        "atelier",
        ("Atelier protégé", "Conseil et accompagnement"),
        ("lu–ve 8h–16h",),
        ("sur orientation, rente AI ou demande en cours",),
        (10, 40),
    ),
    "violences": ServiceKind(
        "consultation",
        ("Consultation spécialisée violences", "Accueil d'urgence femmes et enfants"),
        ("lu–ve 9h–17h, permanence téléphonique 24h/24",),
        ("confidentiel et gratuit, pour les victimes et leurs enfants",),
        (10, 40),
    ),
    "hygiene": ServiceKind(
        "accueil de jour",
        ("Douches et laverie", "Vestiaire et buanderie solidaire"),
        ("lu–sa 8h–12h", "ma, je, sa 9h–13h"),
        ("accès libre, cartes de lavage à bas prix",),
        (30, 120),
    ),
    "lien_social": ServiceKind(
        "accueil de jour",
        ("Accueil de jour", "Café-rencontre"),
        DAY_HOURS,
        ("accès libre, sans inscription",),
        (30, 120),
    ),
}
LANGUAGES = (
    "anglais",
    "espagnol",
    "portugais",
    "arabe",
    "albanais",
    "tigrinya",
    "italien",
    "turc",
    "persan",
    "tamoul",
)
UKRAINE_FROM_YEAR = 2022
DIRECTORY_STREAM = 2


def _slug(name: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in name.removesuffix(" (démo)").lower())
    table = str.maketrans("àâäéèêëîïôöùûüçœ", "aaaeeeeiioouuuco")
    return "-".join(part for part in keep.translate(table).split("-") if part)[:40]


def member_services(
    member: Member, context: DemoContext, year: int, served: str | None = None
) -> list[dict]:
    """The member's services as listed on its `services` sheet for `year` (1 to 4 services).

    `served` (the communes_desservies text) can be passed when already known: it is the same
    every year.
    """
    rng = context.rng(member, DIRECTORY_STREAM)  # same draws every year: the same services
    served = served or communes_served(member, context)
    services = [
        _service(member, theme, KINDS[theme], member.seat, served, year, rng, position, context)
        for position, theme in enumerate(member.themes[:3])
    ]
    if member.reach is None and member.persons_per_year >= 3000:  # a second site for big members
        others = [seat for seat in ANTENNA_SEATS if seat != member.seat]
        second = others[int(rng.integers(len(others)))]
        main_theme = member.themes[0]
        services.append(
            _service(member, main_theme, KINDS[main_theme], second, served, year, rng, 3, context)
        )
    return services


def communes_served(member: Member, context: DemoContext) -> str:
    if member.reach is None:
        return "tout le canton"
    places = member_places(member, context, member.themes[0])
    names = context.territory.communes.select("ofs_number", "name")
    listed = names.filter(names["ofs_number"].is_in(places["ofs_number"].implode()))
    return ", ".join(listed["name"].to_list())


def _service(
    member: Member,
    theme: str,
    kind: ServiceKind,
    commune: str,
    served: str,
    year: int,
    rng: np.random.Generator,
    position: int,
    context: DemoContext,
) -> dict:
    name = kind.names[int(rng.integers(len(kind.names)))]
    low, high = kind.capacity
    base_capacity = int(rng.integers(low, high + 1))
    languages = [
        "français",
        *sorted(rng.choice(LANGUAGES, size=int(rng.integers(0, 4)), replace=False)),
    ]
    if theme in ("migration", "formation", "hebergement") and year >= UKRAINE_FROM_YEAR:
        languages.append("ukrainien")
    street = STREETS[int(rng.integers(len(STREETS)))]
    number = int(rng.integers(1, 60))
    return {
        "nom": f"{name} – {commune}" if position == 3 else name,
        "theme": theme,
        "type": kind.type,
        "commune": commune,
        "communes_desservies": served,
        "adresse": f"{street} {number}, {POSTCODES.get(commune, 1200)} {commune} (adresse fictive)",
        "horaires": kind.hours[int(rng.integers(len(kind.hours)))],
        "contact": f"info@{_slug(member.name)}.example",
        "conditions_acces": kind.conditions[int(rng.integers(len(kind.conditions)))],
        "langues": ", ".join(languages),
        "capacite": round(base_capacity * capacity_trend(theme, year, context)),
    }


def capacity_trend(theme: str, year: int, context: DemoContext) -> float:
    """Capacity that year relative to 2015: the theme's mean monthly capacity factor."""
    return (
        context.capacity_index.get((theme, year), THEMES[theme].headroom) / THEMES[theme].headroom
    )
