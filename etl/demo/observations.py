"""Dated field observations (the `observations` sheet), tied to the real events of the period.

Texts are written as a member would write them, never about an identifiable person: no names,
addresses, e-mails or phone numbers (the loader refuses those). Events and figures quoted come from
the team's domain notes (COVID-19 food queues, Ukrainian arrivals, inflation, the right to food, the
social-assistance reform…).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from etl.demo.activity import DemoContext, period_end, period_start
from etl.demo.members import Member
from etl.demo.parameters import RISES

OBSERVATION_STREAM = 3


@dataclass(frozen=True)
class Template:
    theme: str
    start: dt.date | None  # first day the text makes sense (None: any time)
    end: dt.date | None
    level: str  # information | vigilance | alerte
    public: bool
    text: str  # may use {commune} and {pct}
    months: tuple[int, ...] = ()  # only in these months (empty: all)


def _d(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


WINTER = (11, 12, 1, 2, 3)
TEMPLATES = (
    # --- COVID-19, 2020–21
    Template(
        "alimentation",
        _d("2020-04-01"),
        _d("2020-07-31"),
        "alerte",
        True,
        "Files d'attente inédites aux distributions depuis le semi-confinement : le nombre de "
        "personnes a presque doublé en quelques semaines. Beaucoup de familles, de travailleuses "
        "domestiques et de personnes sans statut légal qui ont perdu leurs revenus du jour au "
        "lendemain.",
    ),
    Template(
        "alimentation",
        _d("2020-08-01"),
        _d("2021-12-31"),
        "vigilance",
        True,
        "La demande d'aide alimentaire reste environ deux fois plus élevée qu'avant la pandémie. "
        "Les stocks tiennent grâce aux dons, mais les bénévoles s'épuisent.",
    ),
    Template(
        "hebergement",
        _d("2020-03-15"),
        _d("2021-06-30"),
        "alerte",
        True,
        "Les mesures sanitaires réduisent le nombre de lits par salle ; un lieu d'hébergement "
        "supplémentaire a dû être ouvert pour respecter les distances.",
    ),
    Template(
        "lien_social",
        _d("2020-03-15"),
        _d("2020-06-15"),
        "alerte",
        True,
        "Accueil de jour fermé sur décision sanitaire : nous maintenons un contact téléphonique "
        "avec les personnes les plus isolées et distribuons des repas à l'emporter.",
    ),
    Template(
        "seniors",
        _d("2020-03-15"),
        _d("2020-12-31"),
        "vigilance",
        True,
        "Isolement marqué des personnes âgées vivant seules ; forte hausse des demandes d'aide "
        "pour les courses et de visites à distance.",
    ),
    Template(
        "violences",
        _d("2020-04-01"),
        _d("2020-12-31"),
        "alerte",
        False,
        "Hausse des appels pendant le semi-confinement, souvent passés en cachette. Les "
        "possibilités de mise à l'abri sont saturées.",
    ),
    Template(
        "droits",
        _d("2020-05-01"),
        _d("2021-12-31"),
        "vigilance",
        True,
        "Nombreuses personnes qui n'avaient jamais demandé d'aide : indépendants, employés de "
        "l'hôtellerie et de l'économie domestique. Beaucoup ignorent leurs droits (non-recours).",
    ),
    Template(
        "emploi",
        _d("2020-04-01"),
        _d("2021-06-30"),
        "vigilance",
        True,
        "Les stages et placements en entreprise sont suspendus ; les participants perdent le "
        "rythme et la motivation.",
    ),
    Template(
        "hygiene",
        _d("2020-04-01"),
        _d("2021-06-30"),
        "vigilance",
        True,
        "Fréquentation en hausse des douches et de la laverie : les lieux publics habituels sont "
        "fermés.",
    ),
    Template(
        "sante",
        _d("2020-03-15"),
        _d("2021-06-30"),
        "vigilance",
        True,
        "Beaucoup de personnes sans assurance maladie renoncent aux soins par peur du coût ; "
        "nous orientons vers les consultations gratuites.",
    ),
    # --- Homelessness 2019
    Template(
        "hebergement",
        _d("2019-04-01"),
        _d("2019-06-30"),
        "alerte",
        True,
        "Des personnes dorment sous tente sur la plaine de Plainpalais faute de places "
        "d'hébergement d'urgence ; besoin de lits supplémentaires toute l'année.",
    ),
    # --- Winter, every year
    Template(
        "hebergement",
        None,
        None,
        "alerte",
        True,
        "Nuits de grand froid : le dispositif hivernal affiche complet, des personnes ont dû être "
        "réorientées vers d'autres lieux en fin de soirée.",
        months=(12, 1, 2),
    ),
    Template(
        "hebergement",
        None,
        None,
        "vigilance",
        True,
        "Ouverture des places hivernales : la demande dépasse déjà la capacité certains soirs.",
        months=(11,),
    ),
    # --- Bureau d'information sociale, 2020
    Template(
        "droits",
        _d("2020-11-26"),
        _d("2021-03-31"),
        "information",
        True,
        "Ouverture du bureau d'information sociale : nous y orientons les personnes qui ne "
        "savent pas à quelles prestations elles ont droit.",
    ),
    # --- Ukraine, 2022
    Template(
        "migration",
        _d("2022-03-01"),
        _d("2022-08-31"),
        "alerte",
        True,
        "Arrivée de nombreuses personnes réfugiées d'Ukraine (permis S) : questions sur le "
        "logement chez l'habitant, l'assurance maladie, la scolarisation des enfants.",
    ),
    Template(
        "migration",
        _d("2022-09-01"),
        _d("2023-12-31"),
        "vigilance",
        True,
        "Les familles d'accueil de personnes venues d'Ukraine s'essoufflent ; les demandes de "
        "relogement augmentent.",
    ),
    Template(
        "hebergement",
        _d("2022-03-01"),
        _d("2022-12-31"),
        "vigilance",
        True,
        "Une partie des lits est mobilisée pour des personnes venues d'Ukraine en attente "
        "d'une famille d'accueil.",
    ),
    Template(
        "formation",
        _d("2022-04-01"),
        _d("2023-06-30"),
        "information",
        True,
        "Listes d'attente pour les cours de français : forte demande des personnes arrivées "
        "d'Ukraine, en plus du public habituel.",
    ),
    # --- Inflation, 2022–23
    Template(
        "alimentation",
        _d("2022-09-01"),
        _d("2023-12-31"),
        "alerte",
        True,
        "Avec la hausse des prix, de nouvelles familles viennent aux distributions, y compris "
        "des ménages qui travaillent. Les files s'allongent de semaine en semaine.",
    ),
    Template(
        "dettes",
        _d("2022-09-01"),
        _d("2023-12-31"),
        "vigilance",
        True,
        "Hausse des demandes liées aux primes d'assurance maladie et aux factures d'énergie ; "
        "les délais pour un premier rendez-vous dépassent un mois.",
    ),
    Template(
        "famille",
        _d("2022-09-01"),
        _d("2023-12-31"),
        "vigilance",
        True,
        "Des familles monoparentales renoncent aux activités des enfants et aux repas à la "
        "cantine pour boucler le budget.",
    ),
    Template(
        "logement",
        _d("2022-09-01"),
        _d("2024-12-31"),
        "vigilance",
        True,
        "Augmentation des avis de hausse de loyer et des charges ; plusieurs ménages menacés "
        "de résiliation pour retard de paiement.",
    ),
    # --- Right to food (2022–23), social-assistance reform (2023–25), Hospice général dossiers
    Template(
        "alimentation",
        _d("2023-06-19"),
        _d("2023-09-30"),
        "information",
        True,
        "Le droit à l'alimentation est désormais inscrit dans la constitution genevoise ; nous "
        "attendons sa mise en œuvre concrète pour les personnes que nous accueillons.",
    ),
    Template(
        "droits",
        _d("2023-07-01"),
        _d("2024-12-31"),
        "vigilance",
        True,
        "Nette hausse des premières demandes depuis l'été : perte d'emploi, séparation, "
        "problèmes de santé, souvent plusieurs à la fois.",
    ),
    Template(
        "droits",
        _d("2025-01-01"),
        _d("2025-06-30"),
        "information",
        True,
        "Entrée en vigueur de la nouvelle loi sur l'aide sociale (LASLP) : beaucoup de "
        "questions sur les nouveaux barèmes et les démarches.",
    ),
    # --- Laundry project: more women and families from 2022
    Template(
        "hygiene",
        _d("2022-01-01"),
        None,
        "information",
        True,
        "Davantage de femmes et de familles fréquentent la laverie ; nous adaptons les horaires "
        "et l'espace d'attente.",
    ),
    # --- Routine observations, any time
    Template(
        "alimentation",
        None,
        None,
        "information",
        True,
        "Fréquentation stable ce trimestre ; la part des familles avec enfants reste "
        "importante (environ {pct} % des personnes).",
    ),
    Template(
        "hebergement",
        None,
        None,
        "information",
        True,
        "Occupation élevée des lits, en particulier en fin de semaine.",
        months=(4, 5, 9, 10),
    ),
    Template(
        "logement",
        None,
        None,
        "vigilance",
        True,
        "Le manque de logements à loyer abordable rend les relogements presque impossibles ; "
        "les séjours en hébergement provisoire s'allongent.",
    ),
    Template(
        "sante",
        None,
        None,
        "information",
        True,
        "Consultations en hausse d'environ {pct} % ; davantage de personnes sans médecin traitant.",
    ),
    Template(
        "sante_mentale",
        None,
        None,
        "vigilance",
        True,
        "Délais d'attente pour un premier entretien d'environ {weeks} semaines ; les situations "
        "arrivent plus dégradées.",
    ),
    Template(
        "addictions",
        None,
        None,
        "information",
        True,
        "Présence de nouveaux produits signalée par les usagers ; nous renforçons la prévention.",
    ),
    Template(
        "dettes",
        None,
        None,
        "information",
        True,
        "Les arriérés d'impôts et de primes d'assurance maladie restent les premières causes "
        "d'endettement des personnes reçues.",
    ),
    Template(
        "droits",
        None,
        None,
        "information",
        True,
        "Beaucoup de demandes concernent les subsides d'assurance maladie et les allocations "
        "de logement.",
    ),
    Template(
        "emploi",
        None,
        None,
        "information",
        True,
        "Bon taux de sortie vers un emploi ou une formation cette année, autour de {pct} %.",
    ),
    Template(
        "formation",
        None,
        None,
        "information",
        True,
        "Tous les cours sont complets dès la rentrée ; une liste d'attente a été ouverte.",
        months=(9, 10),
    ),
    Template(
        "migration",
        None,
        None,
        "information",
        True,
        "Questions fréquentes sur le renouvellement des permis et le regroupement familial.",
    ),
    Template(
        "famille",
        None,
        None,
        "information",
        True,
        "Forte demande de garde pendant les vacances scolaires.",
        months=(6, 7, 8),
    ),
    Template(
        "jeunesse",
        None,
        None,
        "information",
        True,
        "Fréquentation en hausse en soirée à {commune} ; besoin d'un lieu d'accueil ouvert plus "
        "tard.",
    ),
    Template(
        "seniors",
        None,
        None,
        "information",
        True,
        "Les demandes de visites à domicile augmentent chez les personnes de plus de 80 ans "
        "vivant seules.",
    ),
    Template(
        "handicap",
        None,
        None,
        "information",
        True,
        "Manque de places en atelier protégé ; plusieurs personnes attendent depuis plus de "
        "six mois.",
    ),
    Template(
        "violences",
        None,
        None,
        "vigilance",
        False,
        "Les places de mise à l'abri restent insuffisantes ; des femmes avec enfants sont "
        "hébergées provisoirement à l'hôtel.",
    ),
    Template(
        "hygiene",
        None,
        None,
        "information",
        True,
        "Fréquentation en hausse avec la chaleur : les douches sont prises d'assaut dès "
        "l'ouverture.",
        months=(6, 7, 8),
    ),
    Template(
        "lien_social",
        None,
        None,
        "information",
        True,
        "Beaucoup de personnes seules viennent surtout pour parler ; l'accueil de l'après-midi "
        "est très fréquenté.",
        months=WINTER,
    ),
    # --- More routine texts, so that a member does not repeat itself every quarter
    Template(
        "alimentation",
        None,
        None,
        "information",
        True,
        "Les dons de produits frais ont baissé ; les colis contiennent surtout des produits "
        "secs ce mois-ci.",
    ),
    Template(
        "alimentation",
        None,
        None,
        "vigilance",
        True,
        "De plus en plus de personnes âgées seules viennent aux distributions, souvent "
        "gênées de demander.",
    ),
    Template(
        "hebergement",
        None,
        None,
        "vigilance",
        False,
        "Plusieurs personnes avec des troubles psychiques graves sont hébergées faute de "
        "place adaptée ; l'équipe de nuit est sous tension.",
    ),
    Template(
        "logement",
        None,
        None,
        "information",
        True,
        "Beaucoup de questions sur les décomptes de charges et les garanties de loyer.",
    ),
    Template(
        "sante",
        None,
        None,
        "vigilance",
        True,
        "Des patients arrivent avec des maladies chroniques non suivies depuis des mois, "
        "faute d'assurance ou de médecin.",
    ),
    Template(
        "sante_mentale",
        None,
        None,
        "information",
        True,
        "Les groupes de parole sont très demandés ; un deuxième groupe a été ouvert.",
    ),
    Template(
        "addictions",
        None,
        None,
        "vigilance",
        True,
        "Consommation visible en hausse près de la gare ; les passages à l'espace d'accueil "
        "augmentent en fin de mois.",
    ),
    Template(
        "dettes",
        None,
        None,
        "vigilance",
        True,
        "Plus de jeunes adultes endettés par le crédit à la consommation et les achats en ligne.",
    ),
    Template(
        "droits",
        None,
        None,
        "information",
        True,
        "Les démarches en ligne excluent une partie du public : nous aidons à remplir les "
        "formulaires sur place.",
    ),
    Template(
        "droits",
        None,
        None,
        "vigilance",
        True,
        "Délais de traitement des demandes de prestations plus longs ; des ménages restent "
        "plusieurs semaines sans revenu.",
    ),
    Template(
        "emploi",
        None,
        None,
        "vigilance",
        True,
        "Les places de stage pour les plus de 50 ans sont rares ; les parcours s'allongent.",
    ),
    Template(
        "formation",
        None,
        None,
        "information",
        True,
        "Nouvelle classe de français le soir pour les personnes qui travaillent la journée.",
    ),
    Template(
        "migration",
        None,
        None,
        "vigilance",
        True,
        "Plusieurs familles sans statut légal renoncent à demander de l'aide par peur des "
        "conséquences sur leur séjour.",
    ),
    Template(
        "famille",
        None,
        None,
        "vigilance",
        True,
        "Des familles avec enfants vivent à plusieurs dans une seule pièce ; demandes "
        "d'aide au relogement en hausse.",
    ),
    Template(
        "jeunesse",
        None,
        None,
        "vigilance",
        True,
        "Des jeunes en rupture de formation fréquentent l'accueil ; orientation vers les "
        "dispositifs d'insertion.",
    ),
    Template(
        "seniors",
        None,
        None,
        "vigilance",
        True,
        "Des aînés renoncent à des soins dentaires ou à des lunettes pour raisons financières.",
    ),
    Template(
        "handicap",
        None,
        None,
        "vigilance",
        True,
        "Les délais de décision de l'assurance invalidité laissent des personnes plusieurs "
        "mois sans revenu.",
    ),
    Template(
        "violences",
        None,
        None,
        "information",
        True,
        "Davantage de jeunes femmes nous contactent après une première information à "
        "l'école ou sur les réseaux sociaux.",
    ),
    Template(
        "hygiene",
        None,
        None,
        "information",
        True,
        "Les cartes de lavage à prix réduit sont très demandées ; le stock est épuisé avant "
        "la fin du mois.",
    ),
    Template(
        "lien_social",
        None,
        None,
        "vigilance",
        True,
        "Les repas communautaires affichent complet ; des personnes attendent dehors avant "
        "l'ouverture.",
    ),
)


def _applies(template: Template, day: dt.date) -> bool:
    if template.start and day < template.start:
        return False
    if template.end and day > template.end:
        return False
    return not template.months or day.month in template.months


EVENT_CHANCE = 0.6  # a member notes an event of its themes in a period where it happens


def _day_in(template: Template, start: dt.date, end: dt.date, rng) -> dt.date | None:
    """A day of [start, end] when the template applies (None if there is none)."""
    low, high = max(start, template.start or start), min(end, template.end or end)
    if high < low:
        return None
    for _ in range(12):  # seasonal texts: retry until the month fits
        day = low + dt.timedelta(days=int(rng.integers((high - low).days + 1)))
        if _applies(template, day):
            return day
    return None


def member_observations(
    member: Member,
    context: DemoContext,
    period_code: str,
    today: dt.date,
    seat_ofs: int | None,
    rate: float,
) -> list[dict]:
    """Observations dated inside a period (and not after `today`).

    Each event or seasonal text of the member's themes that falls in the period is noted with
    probability EVENT_CHANCE; about `rate` routine texts are added.
    """
    rng = context.rng(member, OBSERVATION_STREAM * 100_000 + _period_number(period_code))
    start, end = period_start(period_code), min(period_end(period_code), today)
    if end < start:
        return []
    own = [t for t in TEMPLATES if t.theme in member.themes]
    chosen: list[tuple[dt.date, Template]] = []
    for template in own:
        if template.start is None and not template.months:
            continue
        day = _day_in(template, start, end, rng)
        if day is not None and rng.random() < EVENT_CHANCE:
            chosen.append((day, template))
    routine = [t for t in own if t.start is None and not t.months]
    for _ in range(int(rng.poisson(rate))):
        template = routine[int(rng.integers(len(routine)))] if routine else None
        day = _day_in(template, start, end, rng) if template else None
        if day is not None and all(template is not other for _, other in chosen):
            chosen.append((day, template))
    rows = [
        {
            "date": day,
            "theme": template.theme,
            "commune": seat_ofs if rng.random() < 0.5 else None,
            "niveau": template.level,
            "texte": template.text.format(
                commune=member.seat, pct=int(rng.integers(10, 45)), weeks=int(rng.integers(4, 12))
            ),
            "public": template.public,
        }
        for day, template in chosen
    ]
    rows += rise_observations(member, start, end)
    return sorted(rows, key=lambda row: (row["date"], row["theme"], row["texte"]))


RISE_TEXT = (
    "Afflux inhabituel ce trimestre de personnes venant de {commune} : nos permanences sont "
    "débordées et nous avons dû allonger les horaires."
)


def rise_observations(member: Member, start: dt.date, end: dt.date) -> list[dict]:
    """The public alert a member writes about an injected rise it sees (parameters.RISES), dated
    mid-quarter; no random draw, so the member's other observations stay the same."""
    rows = []
    for rise in RISES:
        year, quarter = int(rise.quarter[:4]), int(rise.quarter[-1])
        day = dt.date(year, 3 * quarter - 1, 15)
        if rise.reported_by == member.code and start <= day <= end:
            rows.append(
                {
                    "date": day,
                    "theme": rise.theme,
                    "commune": rise.ofs_number,
                    "niveau": "alerte",
                    "texte": RISE_TEXT.format(commune=rise.commune),
                    "public": True,
                }
            )
    return rows


def _period_number(period_code: str) -> int:
    """A stable integer per period, to seed its observations."""
    digits = "".join(ch for ch in period_code if ch.isdigit())
    return int(digits) * 10 + (1 if "T" in period_code else 0)
