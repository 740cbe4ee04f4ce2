"""The municipality's fixed quarterly tables. Every value leaves here as a display
string that has passed ``privacy``; nothing about a single person does."""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext
from sqlalchemy import select

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.municipality import privacy
from ruilkring.rings.models import Municipality, Ring
from ruilkring.stats import metrics
from ruilkring.stats.metrics import Period

TREND_QUARTERS = 8


@dataclass
class Table:
    key: str
    title: str
    explanation: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


def quarter_label(period: Period) -> str:
    return f"{period.start.year} K{(period.start.month - 1) // 3 + 1}"


def quarter_key(period: Period) -> str:
    return f"{period.start.year}-{(period.start.month - 1) // 3 + 1}"


def completed_quarters(today: date | None = None, count: int = TREND_QUARTERS) -> list[Period]:
    """The last ``count`` complete quarters, newest first: the only periods on offer."""
    today = today or clock.now().date()
    current = Period.quarter(today.year, (today.month - 1) // 3 + 1)
    quarters, period = [], current.previous()
    for _ in range(count):
        quarters.append(period)
        period = period.previous()
    return quarters


def quarter_from_key(key: str | None, today: date | None = None) -> Period:
    """One of the offered quarters by its key ("2026-3"); the newest when unknown."""
    quarters = completed_quarters(today)
    return next((q for q in quarters if quarter_key(q) == key), quarters[0])


def _ring_ids(municipality: Municipality) -> list[int]:
    return list(db.session.scalars(select(Ring.id).where(Ring.municipality_id == municipality.id)))


def _hours(minutes: int) -> str:
    return str(round(minutes / 60))


def _core_figures(ring_ids: list[int], period: Period) -> dict:
    activity = metrics.activity(ring_ids, period)
    ties = metrics.new_ties(ring_ids, period)
    bridging = metrics.bridging(ring_ids, period)
    return {"members": activity.members, "active": activity.active, "reciprocal": activity.reciprocal,
            "trades": activity.trades, "minutes": activity.minutes, "new_ties": ties.new_ties,
            "new_contacts": ties.new_contacts, "bridging_ties": bridging.ties, "bridging_across": bridging.across,
            "expected": bridging.expected_share}


def _core_row(label: str, f: dict) -> list[str]:
    share = f["bridging_across"] / f["bridging_ties"] if f["bridging_ties"] else None
    return [
        label, privacy.person_count(f["members"]), privacy.person_count(f["active"]),
        privacy.percentage(f["active"], f["members"]), privacy.person_count(f["trades"]), _hours(f["minutes"])
        if f["trades"] >= privacy.SMALL else privacy.HIDDEN,
        privacy.person_count(f["new_ties"]), privacy.person_count(f["new_contacts"]),
        privacy.share(share, f["bridging_ties"]), privacy.share(f.get("expected"), f["bridging_ties"]),
        privacy.percentage(f["reciprocal"], f["active"]),
    ]


def municipality_report(municipality: Municipality, period: Period) -> list[Table]:
    """All tables for one gemeente and one quarter."""
    ring_ids = _ring_ids(municipality)
    core_columns = [gettext("Kring"), gettext("Leden"), gettext("Actieve leden"), gettext("Deel actief"),
                    gettext("Ruilen"), gettext("Uren"), gettext("Nieuwe verbindingen"), gettext("Nieuwe contacten"),
                    gettext("Over wijkgrenzen"), gettext("Verwacht bij willekeurig mengen"),
                    gettext("Gaven én kregen")]
    tables = []

    core = Table("core", gettext("Kerncijfers"),
                 gettext("Leden: wie lid was aan het eind van het kwartaal. Actief: gaf of kreeg hulp in het "
                         "kwartaal. Een nieuwe verbinding is de eerste ruil tussen twee mensen; een nieuw contact "
                         "is een verbinding waarbij beiden zeiden dat ze elkaar daarvoor niet kenden. 'Over "
                         "wijkgrenzen' is het deel van de nieuwe verbindingen tussen mensen uit verschillende "
                         "wijken, naast het deel dat je zou verwachten als mensen willekeurig met elkaar ruilden."),
                 core_columns)
    if ring_ids:
        per_ring = []
        for ring in _rings(ring_ids):
            figures = _core_figures([ring.id], period)
            figures.pop("expected")  # a baseline does not add up across rings
            per_ring.append((ring.name, figures["active"], figures))
        if len(per_ring) > 1:  # with one ring, its row would be the gemeente's
            for label, figures in privacy.merge_small_groups(per_ring, gettext("Overige kringen samen")):
                core.rows.append(_core_row(label, figures))
        core.rows.append(_core_row(gettext("Hele gemeente"), _core_figures(ring_ids, period)))
    tables.append(core)

    for by, title, label in (("wijk", gettext("Meedoen per wijk"), gettext("Wijk")),
                             ("age", gettext("Meedoen per leeftijdsgroep"), gettext("Leeftijd"))):
        groups = metrics.participation_by_group(ring_ids, period, by) if ring_ids else []
        table = Table(f"participation_{by}", title,
                      gettext("Hoeveel leden er per groep zijn en hoeveel daarvan actief waren. Groepen met "
                              "minder dan vijf mensen tonen we als <5."),
                      [label, gettext("Leden"), gettext("Actieve leden"), gettext("Deel actief")])
        members_cells, members_total = privacy.person_table([(g, n) for g, n, _ in groups],
                                                            total=sum(n for _, n, _ in groups))
        # A group whose members are hidden has its active members hidden too.
        active_cells, active_total = privacy.person_table(
            [(g, a) for g, _, a in groups], total=sum(a for _, _, a in groups),
            also_hide={index for index, cell in enumerate(members_cells) if cell.display == privacy.HIDDEN})
        for (group, members, active), m_cell, a_cell in zip(groups, members_cells, active_cells, strict=True):
            hidden = privacy.HIDDEN in (m_cell.display, a_cell.display)
            table.rows.append([group if group != "?" else gettext("onbekend"), m_cell.display, a_cell.display,
                               privacy.NO_PERCENT if hidden else privacy.percentage(active, members)])
        if groups:
            table.rows.append([gettext("Totaal"), members_total, active_total,
                               privacy.percentage(sum(a for _, _, a in groups), sum(n for _, n, _ in groups))])
        tables.append(table)

    help_table = Table("help", gettext("Soorten hulp"),
                       gettext("Ruilen naar de soort hulp van de advertentie waar ze bij hoorden."),
                       [gettext("Soort hulp"), gettext("Ruilen"), gettext("Uren")])
    labels = {"practical": gettext("Praktische hulp"), "social_emotional": gettext("Gezelschap en steun"),
              "informative": gettext("Kennis en advies"), "unknown": gettext("Onbekend")}
    by_help = metrics.trades_by_help(ring_ids, period) if ring_ids else {}
    for kind in ("practical", "social_emotional", "informative", "unknown"):
        trades, minutes = by_help.get(kind, (0, 0))
        help_table.rows.append([labels[kind], privacy.person_count(trades),
                                _hours(minutes) if trades >= privacy.SMALL else privacy.HIDDEN])
    tables.append(help_table)

    categories = Table("categories", gettext("Ruilen per categorie"),
                       gettext("Categorieën over zorg en gezondheid zijn samengevoegd."),
                       [gettext("Categorie"), gettext("Ruilen"), gettext("Uren")])
    merged = privacy.merge_care_categories(metrics.trades_by_category(ring_ids, period) if ring_ids else [],
                                           gettext("Zorg en gezondheid"))
    for name, trades, minutes in sorted(merged, key=lambda row: row[0]):
        categories.rows.append([name or gettext("zonder advertentie"), privacy.person_count(trades),
                                _hours(minutes) if trades >= privacy.SMALL else privacy.HIDDEN])
    tables.append(categories)

    trend = Table("trend", gettext("Ontwikkeling per kwartaal"),
                  gettext("De hele gemeente, de laatste acht kwartalen."),
                  [gettext("Kwartaal"), gettext("Leden"), gettext("Actieve leden"), gettext("Ruilen"),
                   gettext("Nieuwe verbindingen"), gettext("Nieuwe contacten")])
    quarter = period
    for _ in range(TREND_QUARTERS):
        figures = _core_figures(ring_ids, quarter) if ring_ids else dict.fromkeys(
            ("members", "active", "trades", "new_ties", "new_contacts"), 0)
        trend.rows.append([quarter_label(quarter), privacy.person_count(figures["members"]),
                           privacy.person_count(figures["active"]), privacy.person_count(figures["trades"]),
                           privacy.person_count(figures["new_ties"]), privacy.person_count(figures["new_contacts"])])
        quarter = quarter.previous()
    trend.rows.reverse()
    tables.append(trend)

    retention = Table("retention", gettext("Blijven ruilen"),
                      gettext("Van de mensen die in een kwartaal lid werden: welk deel ruilde in hun eerste en "
                              "tweede kwartaal daarna. Alleen bij groepen van twintig of meer."),
                      [gettext("Lid geworden in"), gettext("Nieuwe leden"), gettext("Ruilden in eerste kwartaal"),
                       gettext("Ruilden in tweede kwartaal")])
    quarter = period
    for _ in range(4):
        size, first, second = metrics.retention_in_quarters(ring_ids, quarter) if ring_ids else (0, 0, 0)
        retention.rows.append([quarter_label(quarter), privacy.person_count(size),
                               privacy.percentage(first, size), privacy.percentage(second, size)])
        quarter = quarter.previous()
    retention.rows.reverse()
    tables.append(retention)
    return tables


def _rings(ring_ids: list[int]) -> list[Ring]:
    return list(db.session.scalars(select(Ring).where(Ring.id.in_(ring_ids)).order_by(Ring.name)))
