"""The submission's sheets and columns (DESIGN §4): one description used by reader, validator and template."""

from __future__ import annotations

import re
from dataclasses import dataclass

from etl.text import normalise_key
from etl.vocabulary import CUBE_MEASURES

INTEGER, TEXT, THEME, COMMUNE, DATE, CHOICE, LIST, COMMUNE_LIST, MEMBER, PERIOD = (
    "entier",
    "texte",
    "theme",
    "commune",
    "date",
    "choix",
    "liste",
    "liste_communes",
    "membre",
    "periode",
)


@dataclass(frozen=True)
class Column:
    name: str  # canonical name, as written in the template
    kind: str
    required: bool
    help_fr: str  # what to write, shown in the template comments and in the instructions
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sheet:
    name: str
    title_fr: str
    columns: tuple[Column, ...]
    anchors: tuple[str, ...]  # columns that identify the header row
    label_columns: tuple[str, ...]  # where "Total" and "Exemple" rows are recognised

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]


BREAKDOWN_COLUMNS = ("nouvelles_personnes", "femmes", "hommes", "mineurs", "seniors_65")
ACTIVITY_COUNT_COLUMNS = CUBE_MEASURES  # the template's counts are the cubes' counts

_MEMBER = Column(
    "membre",
    MEMBER,
    False,
    "Code du membre attribué par la CAPAS (ou son nom exact).",
    ("code_membre", "membre_code", "association", "organisation"),
)
_PERIOD = Column(
    "periode",
    PERIOD,
    False,
    "Période : 2025 (année), 2025-T1 à 2025-T4 (trimestre) ou 2025-03 (mois).",
    ("period",),
)

IDENTIFICATION = Sheet(
    "identification",
    "Identification",
    (
        Column("membre", MEMBER, True, _MEMBER.help_fr, _MEMBER.synonyms),
        Column("periode", PERIOD, True, _PERIOD.help_fr, _PERIOD.synonyms),
        Column(
            "contact",
            TEXT,
            False,
            "Personne à contacter pour des questions sur ce fichier (nom, courriel ou téléphone).",
            ("personne_de_contact", "responsable"),
        ),
        Column(
            "date_envoi",
            DATE,
            False,
            "Date d'envoi du fichier (jj.mm.aaaa).",
            ("date_d_envoi", "date"),
        ),
    ),
    anchors=("membre",),
    label_columns=(),
)

ACTIVITY = Sheet(
    "activite",
    "Activité",
    (
        _MEMBER,
        _PERIOD,
        Column(
            "theme",
            THEME,
            True,
            "Thème de l'activité, à choisir dans la liste.",
            ("thematique", "domaine"),
        ),
        Column(
            "commune",
            COMMUNE,
            True,
            "Commune de domicile des personnes, à choisir dans la liste "
            "(ou « hors canton », « non renseignée »). Le numéro OFS est aussi accepté.",
            ("lieu", "commune_de_domicile", "domicile"),
        ),
        Column(
            "personnes",
            INTEGER,
            True,
            "Nombre de personnes différentes servies pendant la période (entier ≥ 0).",
            ("nombre_de_personnes", "nb_personnes", "personnes_servies"),
        ),
        Column(
            "prestations",
            INTEGER,
            False,
            "Nombre de prestations (repas, nuitées, consultations…), facultatif.",
            ("nombre_de_prestations", "nb_prestations"),
        ),
        Column(
            "nouvelles_personnes",
            INTEGER,
            False,
            "Parmi les personnes, celles venues pour la première fois (≤ personnes), facultatif.",
            ("nouveaux", "nouvelles"),
        ),
        Column("femmes", INTEGER, False, "Parmi les personnes, les femmes (facultatif).", ()),
        Column("hommes", INTEGER, False, "Parmi les personnes, les hommes (facultatif).", ()),
        Column(
            "mineurs",
            INTEGER,
            False,
            "Parmi les personnes, les moins de 18 ans (facultatif).",
            ("moins_de_18_ans", "enfants"),
        ),
        Column(
            "seniors_65",
            INTEGER,
            False,
            "Parmi les personnes, les 65 ans et plus (facultatif).",
            ("seniors", "seniors_65_ans", "plus_de_65_ans", "65_ans_et_plus", "seniors_65+"),
        ),
        Column(
            "demandes_non_satisfaites",
            INTEGER,
            False,
            "Demandes refusées faute de place ou de moyens (facultatif).",
            ("demandes_refusees",),
        ),
        Column(
            "liste_attente",
            INTEGER,
            False,
            "Personnes en liste d'attente à la fin de la période (facultatif).",
            ("liste_d_attente", "en_attente"),
        ),
    ),
    anchors=("theme", "personnes"),
    label_columns=("membre", "periode", "theme", "commune"),
)

SERVICES = Sheet(
    "services",
    "Services",
    (
        Column(
            "nom", TEXT, True, "Nom du service ou de la prestation.", ("nom_du_service", "service")
        ),
        Column("theme", THEME, True, "Thème principal, à choisir dans la liste.", ("thematique",)),
        Column(
            "type",
            TEXT,
            False,
            "Type : permanence, hébergement, distribution, consultation, accueil de jour, atelier…",
            ("type_de_service",),
        ),
        Column(
            "commune",
            COMMUNE,
            True,
            "Commune où se trouve le service (liste, ou « hors canton »).",
            ("lieu", "commune_du_service"),
        ),
        Column(
            "communes_desservies",
            COMMUNE_LIST,
            False,
            "Communes desservies, séparées par des virgules, ou « tout le canton ». "
            "Vide : la commune du service.",
            ("communes", "zone_desservie"),
        ),
        Column("adresse", TEXT, False, "Adresse.", ()),
        Column("horaires", TEXT, False, "Jours et heures d'ouverture.", ("heures_d_ouverture",)),
        Column("contact", TEXT, False, "Téléphone ou courriel du service (public).", ()),
        Column(
            "conditions_acces",
            TEXT,
            False,
            "Conditions d'accès (sur rendez-vous, sans condition, sur orientation…).",
            ("conditions_d_acces", "conditions"),
        ),
        Column(
            "langues",
            LIST,
            False,
            "Langues parlées, séparées par des virgules.",
            ("langues_parlees",),
        ),
        Column("capacite", INTEGER, False, "Capacité (places, lits, repas par jour…), entier.", ()),
    ),
    anchors=("nom", "theme"),
    label_columns=("nom",),
)

LEVELS = ("information", "vigilance", "alerte")

OBSERVATIONS = Sheet(
    "observations",
    "Observations",
    (
        Column(
            "date", DATE, True, "Date de l'observation (jj.mm.aaaa).", ("date_de_l_observation",)
        ),
        Column("theme", THEME, True, "Thème, à choisir dans la liste.", ("thematique",)),
        Column("commune", COMMUNE, False, "Commune concernée (facultatif).", ("lieu",)),
        Column(
            "niveau",
            CHOICE,
            True,
            "information, vigilance ou alerte.",
            ("niveau_d_alerte", "importance"),
        ),
        Column(
            "texte",
            TEXT,
            True,
            "Ce que vous observez sur le terrain (2000 caractères au plus, sans nom, adresse "
            "électronique, téléphone, n° AVS ni IBAN de personnes).",
            ("observation", "description", "constat"),
        ),
        Column(
            "public",
            CHOICE,
            False,
            "oui : peut être publié ; non : réservé au secrétariat (vide = non).",
            ("publique", "publiable", "diffusion_publique"),
        ),
    ),
    anchors=("texte",),
    label_columns=("date", "theme"),
)

SHEETS = {sheet.name: sheet for sheet in (IDENTIFICATION, ACTIVITY, SERVICES, OBSERVATIONS)}
SHEET_SYNONYMS = {
    "identification": "identification",
    "identite": "identification",
    "activite": "activite",
    "activites": "activite",
    "services": "services",
    "service": "services",
    "prestations_et_services": "services",
    "observations": "observations",
    "observation": "observations",
    "remontees_du_terrain": "observations",
}


def column_key(header: str) -> str:
    """'Nouvelles personnes ' -> 'nouvelles_personnes', 'Thème' -> 'theme', 'Seniors (65+)' -> 'seniors_65'."""
    key = normalise_key(header)
    key = re.sub(r"[^a-z0-9+]+", "_", key).strip("_")
    return key


def canonical_column(sheet: Sheet, header: str | None) -> str | None:
    """The canonical column a header stands for, or None (accents, case, order and notes free)."""
    if header is None or not str(header).strip():
        return None
    header = str(header)
    candidates = [column_key(header), column_key(re.sub(r"\(.*?\)", " ", header))]
    candidates += [candidate.rstrip("+").rstrip("_") for candidate in candidates]
    for candidate in candidates:
        for column in sheet.columns:
            if candidate == column.name or candidate in column.synonyms:
                return column.name
    return None


def canonical_sheet(name: str) -> str | None:
    return SHEET_SYNONYMS.get(column_key(name))


def column_letter(index: int) -> str:
    """0 -> 'A', 27 -> 'AB'."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters
