"""What the coordinator dashboard shows, computed from ``metrics`` for a period."""

import time
from dataclasses import dataclass
from datetime import date, timedelta

from flask import g, has_request_context
from flask_babel import format_date, get_locale, gettext
from sqlalchemy import func, select

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.forms import read_day
from ruilkring.ledger.models import Transfer
from ruilkring.listings.models import Category
from ruilkring.members.models import Member
from ruilkring.spreadsheet import spreadsheet_csv
from ruilkring.stats import metrics
from ruilkring.stats.metrics import Period
from ruilkring.stats.models import TieAnswer

HELP_KINDS = ("practical", "social_emotional", "informative", "unknown")
#: The days a period may be asked around: the periods before and after stay in the calendar.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


class Share(float):
    """A fraction from 0 to 1 that the page shows as a percentage (an hour count or a
    ratio is a float too, so the template cannot tell from the value)."""

    is_share = True


def _share(value: float | None) -> Share | None:
    return None if value is None else Share(value)


def period_from_args(args) -> tuple[str, Period, list[str]]:
    """``periode`` = maand | kwartaal | jaar | eigen, around ``datum`` (default today), or
    ``van``/``tot`` for a custom period (inclusive end). Activity is kept per month (the
    rollups), so a custom period is widened to whole months: from the first day of the
    month of ``van`` to the last day of the month of ``tot``. The third value tells the
    coordinator, in words, where what is shown differs from what they asked for."""
    kind = args.get("periode", "kwartaal")
    notices = []
    day = clock.now().date()
    if args.get("datum") and kind != "eigen":  # a period of one's own does not use it
        try:
            asked = read_day(args["datum"])
        except ValueError:
            notices.append(gettext("De datum %(value)s bestaat niet; u ziet de periode van vandaag.",
                                   value=args["datum"]))
        else:
            if FIRST_DAY <= asked <= LAST_DAY:
                day = asked
            else:
                notices.append(gettext("De datum %(value)s ligt te ver weg; u ziet de periode van vandaag.",
                                       value=args["datum"]))
    if kind == "eigen":
        try:
            first, last = day_from_arg(args.get("van", "")), day_from_arg(args.get("tot", ""))
        except ValueError:
            notices.append(gettext("Kies bij Zelf kiezen een geldige begin- en einddatum. "
                                   "U ziet nu het kwartaal."))
        else:
            start, end = first.replace(day=1), Period.month(last.year, last.month).end
            if first > last:
                notices.append(gettext("De begindatum ligt na de einddatum. U ziet nu het kwartaal."))
            elif (end - start).days > 3 * 366:
                notices.append(gettext("Kies een periode van hoogstens drie jaar. U ziet nu het kwartaal."))
            else:
                if first != start or last != end - timedelta(days=1):
                    notices.append(gettext("De cijfers worden per maand bijgehouden; u ziet daarom hele maanden."))
                return kind, Period(start, end), notices
        kind = "kwartaal"
    if kind == "maand":
        return kind, Period.month(day.year, day.month), notices
    if kind == "jaar":
        return kind, Period.year(day.year), notices
    return "kwartaal", Period.quarter(day.year, (day.month - 1) // 3 + 1), notices


def day_from_arg(value: str) -> date:
    """A day from the query string (see ``read_day``); ValueError when there is no such day or
    it lies outside FIRST_DAY to LAST_DAY."""
    day = read_day(value)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(value)
    return day


@dataclass
class Headline:
    label: str
    value: float | int | None
    previous: float | int | None
    kind: str = "count"  # count | hours | share

    @property
    def change(self):
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def headlines(ring_ids: list[int], period: Period) -> list[Headline]:
    """The cards at the top, each beside the previous period."""
    now_act, before_act = metrics.activity(ring_ids, period), metrics.activity(ring_ids, period.previous())
    now_ties, before_ties = metrics.new_ties(ring_ids, period), metrics.new_ties(ring_ids, period.previous())
    now_bridge = metrics.bridging(ring_ids, period)
    before_bridge = metrics.bridging(ring_ids, period.previous())
    return [
        Headline(gettext("Actieve leden"), now_act.active, before_act.active),
        Headline(gettext("Ruilen"), now_act.trades, before_act.trades),
        Headline(gettext("Uren geruild"), now_act.minutes, before_act.minutes, "hours"),
        Headline(gettext("Nieuwe verbindingen"), now_ties.new_ties, before_ties.new_ties),
        Headline(gettext("Nieuwe contacten"), now_ties.new_contacts, before_ties.new_contacts),
        Headline(gettext("Over wijkgrenzen"), now_bridge.share, before_bridge.share, "share"),
    ]


def trend_period(period: Period) -> Period:
    """Twelve months up to the end of the chosen period, for the monthly charts."""
    end_month = (period.end - timedelta(days=1)).replace(day=1)
    index = end_month.year * 12 + end_month.month - 1 - 11
    return Period(date(index // 12, index % 12 + 1, 1), period.end)


def month_label(month: date) -> str:
    return format_date(month, "MMM yyyy")


def tables(ring_ids: list[int], period: Period) -> dict[str, dict]:
    """Every chart's data as a table: {name: {"title", "columns", "rows"}}; the charts, the
    screen-reader tables and the CSV downloads all come from this."""
    series = metrics.monthly_series(ring_ids, trend_period(period))
    cumulative_ties = cumulative_contacts = 0
    growth_rows = []
    for row in series:
        cumulative_ties += row["new_ties"]
        cumulative_contacts += row["new_contacts"]
        growth_rows.append([month_label(row["month"]), row["new_ties"], row["new_contacts"],
                            cumulative_ties, cumulative_contacts])
    network = metrics.network(ring_ids, period)
    act = metrics.activity(ring_ids, period)
    cohorts, median_days = metrics.retention(ring_ids, Period(trend_period(period).start, period.end), horizon=6)
    wijk = metrics.bridging(ring_ids, period, "wijk")
    age = metrics.bridging(ring_ids, period, "age")
    help_kinds = metrics.trades_by_help(ring_ids, period)
    return {
        "members": {"title": gettext("Leden en actieve leden per maand"),
                    "columns": [gettext("Maand"), gettext("Leden"), gettext("Actieve leden")],
                    "rows": [[month_label(r["month"]), r["members"], r["active"]] for r in series]},
        "ties": {"title": gettext("Nieuwe verbindingen en nieuwe contacten per maand"),
                 "columns": [gettext("Maand"), gettext("Nieuwe verbindingen"), gettext("Nieuwe contacten"),
                             gettext("Verbindingen opgeteld"), gettext("Contacten opgeteld")],
                 "rows": growth_rows},
        "trades": {"title": gettext("Ruilen en uren per maand"),
                   "columns": [gettext("Maand"), gettext("Ruilen"), gettext("Uren")],
                   "rows": [[month_label(r["month"]), r["trades"], round(r["minutes"] / 60, 1)] for r in series]},
        "partners": {"title": gettext("Aantal ruilpartners per lid"),
                     "columns": [gettext("Ruilpartners"), gettext("Leden")],
                     "rows": [[label, count] for label, count in network.partner_bins.items()]},
        "bridging": {"title": gettext("Verbindingen over grenzen, tegenover willekeurig mengen"),
                     "columns": [gettext("Grens"), gettext("Nieuwe verbindingen"), gettext("Over de grens"),
                                 gettext("Aandeel"), gettext("Verwacht bij willekeurig mengen"), gettext("Verhouding")],
                     "rows": [[gettext("Wijken"), wijk.ties, wijk.across, _share(wijk.share),
                               _share(wijk.expected_share), wijk.ratio],
                              [gettext("Leeftijdsgroepen"), age.ties, age.across, _share(age.share),
                               _share(age.expected_share), age.ratio]]},
        "retention": {"title": gettext("Blijven ruilen, per maand van aanmelding"),
                      "columns": [gettext("Aangemeld"), gettext("Leden")] + [
                          gettext("maand %(n)d", n=k) for k in range(7)],
                      "rows": [[month_label(c.month), c.size] + [_share(r) for r in c.retained] for c in cohorts],
                      "note": gettext("Mediaan aantal dagen van aanmelding tot eerste ruil: %(days)s",
                                      days="–" if median_days is None else f"{median_days:g}")},
        "structure": {"title": gettext("Wederkerigheid en samenhang"),
                      "columns": [gettext("Maat"), gettext("Waarde")],
                      "rows": [[gettext("Actieve leden die gaven én kregen"), _share(act.reciprocity)],
                               [gettext("Paren met twee of meer ruilen"), _share(network.repeat_share)],
                               [gettext("Ruilende leden in de grootste groep"), _share(network.largest_group_share)],
                               [gettext("Mediaan aantal ruilpartners"), network.partners_median]]},
        "help": {"title": gettext("Ruilen per soort hulp"),
                 "columns": [gettext("Soort hulp"), gettext("Ruilen"), gettext("Uren")],
                 "rows": [[kind, help_kinds.get(kind, (0, 0))[0], round(help_kinds.get(kind, (0, 0))[1] / 60, 1)]
                          for kind in HELP_KINDS]},
        "categories": {"title": gettext("Ruilen per categorie"),
                       "columns": [gettext("Categorie"), gettext("Ruilen"), gettext("Uren")],
                       "rows": [[name or gettext("zonder advertentie"), count, round(minutes / 60, 1)]
                                for name, _care, count, minutes in metrics.trades_by_category(ring_ids, period)]},
    }


def table_csv(table: dict) -> str:
    """One table as CSV for spreadsheets (semicolons, BOM, shares as decimals)."""
    return spreadsheet_csv([table["columns"], *(
        ["" if value is None else (f"{value:.3f}" if isinstance(value, float) else value) for value in row]
        for row in table["rows"])])


def data_version(ring_ids: list[int]) -> tuple:
    """Changes whenever anything the figures depend on changes: a transfer, a contact
    answer, a member joining or changing status, a category added or marked as care
    (which the gemeente's figures merge). Cheap: per ring an index lookup for the newest
    transfer and answer, and maxima over the ring's members and categories; worked out
    once per request. Edits that leave no trace here (a member moving to another wijk, a
    category renamed) show once the entry is older than ``CACHE_SECONDS``."""
    key = tuple(sorted(ring_ids))
    versions = g.setdefault("stats_data_versions", {}) if has_request_context() else {}
    if key not in versions:
        versions[key] = (
            tuple(db.session.scalar(select(func.max(Transfer.id)).where(Transfer.ring_id == ring_id))
                  for ring_id in key),
            tuple(db.session.scalar(select(func.max(TieAnswer.id)).where(TieAnswer.ring_id == ring_id))
                  for ring_id in key),
            tuple(db.session.execute(select(func.max(Member.id), func.max(Member.status_changed_at), func.count())
                                     .where(Member.ring_id.in_(key))).one()),
            tuple(db.session.execute(select(func.max(Category.id), func.count().filter(Category.care))
                                     .where(Category.ring_id.in_(key))).one()),
        )
    return versions[key]


_CACHE: dict[tuple, tuple[float, object]] = {}
_CACHE_SIZE = 64
CACHE_SECONDS = 600


def cached(kind: str, ring_ids: list[int], period: Period, compute):
    """``compute()`` once per ring set, period, language, day and data version, for at
    most ``CACHE_SECONDS``: a warm dashboard costs the version check only. A small
    in-process cache, per worker."""
    key = (kind, tuple(sorted(ring_ids)), period, str(get_locale()), clock.now().date(), data_version(ring_ids))
    entry = _CACHE.get(key)
    if entry is None or time.monotonic() - entry[0] > CACHE_SECONDS:
        if entry is None and len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        entry = _CACHE[key] = (time.monotonic(), compute())
    return entry[1]
