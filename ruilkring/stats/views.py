"""The coordinator's dashboard of the ring's social effect, the network map, the
contact question members answer after a first trade, and the yearly survey."""

from datetime import timedelta

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ruilkring import clock
from ruilkring.access import coordinator_required, ring_blueprint
from ruilkring.database import run_ledger_transaction
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger.selectors import accounts_at_or_past_limit
from ruilkring.listings.selectors import requests_without_response
from ruilkring.municipality.views import render_dashboard
from ruilkring.stats import charts, dashboard, metrics
from ruilkring.stats import survey as surveys
from ruilkring.stats.forms import (
    BELONGING_LABELS,
    NEW_PEOPLE_LABELS,
    SurveyAnswerForm,
    SurveyOpenForm,
)
from ruilkring.stats.forms import (
    HELP_LABELS as SURVEY_HELP_LABELS,
)
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
    kind, period, notices = dashboard.period_from_args(request.args)
    ring_ids = [g.ring.id]
    tables = dashboard.cached("tables", ring_ids, period, lambda: dashboard.tables(ring_ids, period))
    context = dict(
        kind=kind, period=period, notices=notices, last_day=period.end - timedelta(days=1),
        headlines=dashboard.cached("headlines", ring_ids, period, lambda: dashboard.headlines(ring_ids, period)),
        tables=tables, charts=dashboard.cached("charts", ring_ids, period, lambda: _charts(tables)),
        help_labels=HELP_LABELS,
    )
    if htmx_targets("dashboard-panels"):
        return render_template("stats/_panels.html", fragment=True, **context)
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
    _kind, period, _notices = dashboard.period_from_args(request.args)
    tables = dashboard.cached("tables", [g.ring.id], period, lambda: dashboard.tables([g.ring.id], period))
    if name not in tables:
        abort(404)
    filename = f"{name}-{g.ring.slug}-{period.start.isoformat()}.csv"
    return Response(dashboard.table_csv(tables[name]), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/beheer/netwerk")
@coordinator_required
def network():
    """Who traded with whom: to watch the network grow (``tot`` = up to and including a
    day; otherwise up to the end of the dashboard's period)."""
    _kind, period, _notices = dashboard.period_from_args(request.args)
    until = period.end
    try:
        until = dashboard.day_from_arg(request.args.get("tot", "")) + timedelta(days=1)
    except ValueError:
        pass
    nodes, edges, legend = network_map(ring_id=g.ring.id, until=until)
    return render_template("stats/network.html", nodes=nodes, edges=edges, legend=legend, period=period,
                           last_day=until - timedelta(days=1))


@bp.post("/contact/<int:tie_id>")
def contact_answer(tie_id: int):
    """A member answers "Kende je deze persoon al vóór deze ruil?" (or skips it)."""
    tie = db.session.get(Tie, tie_id)
    if tie is None or tie.ring_id != g.ring.id or g.member is None \
            or g.member.id not in (tie.member_low_id, tie.member_high_id):
        abort(404)
    answer = request.form.get("answer", "")
    if answer not in {a.value for a in ContactAnswer}:
        message, error = _l("Kies een van de antwoorden."), True
    else:
        tie_answer(tie=tie, member=g.member, answer=ContactAnswer(answer))
        db.session.commit()
        message, error = _l("Dank u wel voor uw antwoord."), False
    if htmx_targets(f"contact-{tie.id}"):
        return render_template("stats/_contact_done.html", tie=tie, announcement=message)
    flash(message, "error" if error else "success")
    return redirect(url_for("members.home"))


@bp.route("/beheer/gemeente-voorbeeld")
@coordinator_required
def municipality_preview():
    """Exactly what the ring's gemeente sees."""
    return render_dashboard(g.ring.municipality, preview=True)


SURVEY_DAYS_OPEN = 28


@bp.route("/beheer/enquete", methods=["GET", "POST"])
@coordinator_required
def survey_admin():
    """Open the yearly survey for a period, and see the results of earlier ones (counted
    only, and only once five or more members answered)."""
    today = _today()
    form = SurveyOpenForm(opens_on=today, closes_on=today + timedelta(days=SURVEY_DAYS_OPEN))
    if form.validate_on_submit():
        try:
            surveys.survey_open(ring=g.ring, opens_on=form.opens_on.data, closes_on=form.closes_on.data,
                                opened_by=current_user)
        except DomainError as error:
            db.session.rollback()
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("De enquête staat open. Leden zien een uitnodiging op hun startpagina."), "success")
            return redirect(url_for("stats.survey_admin"))
    rows = [{"survey": survey, "open": surveys.survey_is_open(survey, today), "upcoming": survey.opens_on > today,
             "responses": surveys.survey_response_count(survey=survey),
             "results": surveys.survey_results(survey=survey)}
            for survey in surveys.surveys_of(ring=g.ring)]
    for row in rows:
        if row["results"] is not None:
            row["mean"] = format_decimal(row["results"].belonging_mean, "0.0")
    return render_template("stats/survey_admin.html", form=form, rows=rows, minimum=surveys.MIN_RESPONSES,
                           belonging_labels=BELONGING_LABELS, new_people_labels=NEW_PEOPLE_LABELS,
                           help_labels=SURVEY_HELP_LABELS)


@bp.route("/enquete", methods=["GET", "POST"])
def survey():
    """Three short questions for members, once a year, answered anonymously."""
    member = g.member
    if member is None or not member.has_access:
        abort(404)
    survey = surveys.survey_current(ring=g.ring)
    answered = survey is not None and surveys.survey_has_answered(survey=survey, member=member)
    form = SurveyAnswerForm()
    if survey is not None and not answered and form.validate_on_submit():
        try:
            run_ledger_transaction(lambda: surveys.survey_answer(
                survey=survey, member=member, belonging=form.belonging.data, new_people=form.new_people.data,
                help_available=form.help_available.data))
        except DomainError as error:
            error.apply_to(form)
        else:
            flash(_l("Dank u wel voor het invullen van de enquête."), "success")
            return redirect(url_for("members.home"))
    return render_template("stats/survey.html", form=form, survey=survey, answered=answered)
