"""The coordinator's dashboard of the ring's social effect, the network map, and the
contact question members answer after a first trade."""

from datetime import timedelta

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from ruilkring import clock
from ruilkring.access import coordinator_required, ring_blueprint
from ruilkring.extensions import db
from ruilkring.ledger.selectors import accounts_at_or_past_limit
from ruilkring.listings.selectors import requests_without_response
from ruilkring.municipality.views import render_dashboard
from ruilkring.stats import charts, dashboard, metrics
from ruilkring.stats.models import ContactAnswer, Tie
from ruilkring.stats.network_map import network_map
from ruilkring.stats.ties import tie_answer
from ruilkring.web import htmx_targets

bp = ring_blueprint("stats", __name__)


def _charts(tables: dict) -> dict:
    """An SVG chart for each table that reads well as one."""
    def column(name, index, scale=1):
        return [row[index] * scale if row[index] is not None else None for row in tables[name]["rows"]]

    labels = [row[0] for row in tables["members"]["rows"]]
    t = tables
    return {
        "members": charts.line_chart(t["members"]["title"], labels, {
            t["members"]["columns"][1]: column("members", 1), t["members"]["columns"][2]: column("members", 2)}),
        "ties": charts.line_chart(t["ties"]["title"], labels, {
            t["ties"]["columns"][3]: column("ties", 3), t["ties"]["columns"][4]: column("ties", 4)}),
        "trades": charts.bar_chart(t["trades"]["title"], labels, {
            t["trades"]["columns"][1]: column("trades", 1), t["trades"]["columns"][2]: column("trades", 2)}),
        "partners": charts.bar_chart(t["partners"]["title"], [r[0] for r in t["partners"]["rows"]], {
            t["partners"]["columns"][1]: column("partners", 1)}),
        "bridging": charts.bar_chart(t["bridging"]["title"], [r[0] for r in t["bridging"]["rows"]], {
            t["bridging"]["columns"][3]: column("bridging", 3, 100),
            t["bridging"]["columns"][4]: column("bridging", 4, 100)}),
        "help": charts.bar_chart(t["help"]["title"], [str(HELP_LABELS.get(r[0], r[0])) for r in t["help"]["rows"]], {
            t["help"]["columns"][1]: column("help", 1)}, horizontal=True),
    }


HELP_LABELS = {
    "practical": _l("Praktische hulp"),
    "social_emotional": _l("Gezelschap en steun"),
    "informative": _l("Kennis en advies"),
    "unknown": _l("Onbekend (ruil zonder advertentie)"),
}


@bp.route("/beheer/dashboard")
@coordinator_required
def index():
    """Does the kring work? Headline figures, charts with tables, follow-up lists."""
    kind, period = dashboard.period_from_args(request.args)
    ring_ids = [g.ring.id]
    tables = dashboard.tables(ring_ids, period)
    context = dict(
        kind=kind, period=period, last_day=period.end - timedelta(days=1),
        headlines=dashboard.headlines(ring_ids, period), tables=tables, charts=_charts(tables),
        help_labels=HELP_LABELS,
    )
    if htmx_targets("dashboard-panels"):
        return render_template("stats/_panels.html", **context)
    today = period.end if period.end <= _today() else _today()
    context.update(
        never_traded=metrics.never_traded(ring_ids), dormant=metrics.dormant(ring_ids),
        at_limit=accounts_at_or_past_limit(ring=g.ring), unanswered=requests_without_response(ring=g.ring),
        today=today,
    )
    return render_template("stats/dashboard.html", **context)


def _today():
    return clock.now().date()


@bp.route("/beheer/dashboard/<name>.csv")
@coordinator_required
def table_csv(name: str):
    """One of the dashboard's tables as CSV."""
    _kind, period = dashboard.period_from_args(request.args)
    tables = dashboard.tables([g.ring.id], period)
    if name not in tables:
        abort(404)
    filename = f"{name}-{g.ring.slug}-{period.start.isoformat()}.csv"
    return Response(dashboard.table_csv(tables[name]), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/beheer/netwerk")
@coordinator_required
def network():
    """Who traded with whom: to watch the network grow (``tot`` = up to a date)."""
    _kind, period = dashboard.period_from_args(request.args)
    nodes, edges, legend = network_map(ring_id=g.ring.id, until=period.end)
    return render_template("stats/network.html", nodes=nodes, edges=edges, legend=legend, period=period,
                           last_day=period.end - timedelta(days=1))


@bp.post("/contact/<int:tie_id>")
def contact_answer(tie_id: int):
    """A member answers "Kende je deze persoon al vóór deze ruil?" (or skips it)."""
    tie = db.session.get(Tie, tie_id)
    if tie is None or tie.ring_id != g.ring.id or g.member is None \
            or g.member.id not in (tie.member_low_id, tie.member_high_id):
        abort(404)
    answer = request.form.get("answer", "")
    if answer not in {a.value for a in ContactAnswer}:
        flash(_l("Kies een van de antwoorden."), "error")
    else:
        tie_answer(tie=tie, member=g.member, answer=ContactAnswer(answer))
        db.session.commit()
        flash(_l("Dank u wel voor uw antwoord."), "success")
    if htmx_targets(f"contact-{tie.id}"):
        return render_template("stats/_contact_done.html", tie=tie)
    return redirect(url_for("members.home"))


@bp.route("/beheer/gemeente-voorbeeld")
@coordinator_required
def municipality_preview():
    """Exactly what the ring's gemeente sees."""
    return render_dashboard(g.ring.municipality, preview=True)
