"""Pages for gemeente viewers: fixed quarterly tables that never show a person."""


from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select

from ruilkring.extensions import db
from ruilkring.municipality.report import (
    completed_quarters,
    municipality_report,
    quarter_from_key,
    quarter_key,
    quarter_label,
)
from ruilkring.rings.models import Municipality
from ruilkring.spreadsheet import csv_download
from ruilkring.stats.charts import line_chart
from ruilkring.stats.dashboard import cached

bp = Blueprint("municipality", __name__, url_prefix="/gemeente")


def _municipality(municipality_id: int | None) -> Municipality:
    """The viewer's own gemeente; an admin may open any."""
    if municipality_id is not None:
        if not current_user.is_admin:
            abort(404)
        return db.session.get(Municipality, municipality_id) or abort(404)
    if current_user.municipality is None:
        abort(404)
    return current_user.municipality


def render_dashboard(municipality: Municipality, *, template: str = "municipality/index.html", **extra):
    """The municipality page for one of the offered quarters (also the coordinators' preview)."""
    period = quarter_from_key(request.args.get("kwartaal"))
    ring_ids = [ring.id for ring in municipality.rings]
    tables = cached("municipality", ring_ids, period, lambda: municipality_report(municipality, period))
    return render_template(
        template, municipality=municipality, period=period, period_label=quarter_label(period),
        period_key=quarter_key(period), tables=tables, trend_chart=_trend_chart(tables),
        quarters=[(quarter_key(q), quarter_label(q)) for q in completed_quarters()], **extra)


def _trend_chart(tables):
    """The trend table as a line chart; hidden values ("<5") leave a gap."""
    trend = next(t for t in tables if t.key == "trend")

    def number(value):
        return int(value) if value.isdigit() else None

    return line_chart(trend.title, [row[0] for row in trend.rows], {
        trend.columns[index]: [number(row[index]) for row in trend.rows] for index in (2, 3, 5)})


@bp.route("/")
@bp.route("/<int:municipality_id>/")
@login_required
def index(municipality_id: int | None = None):
    """This quarter's tables for the gemeente, with the trend."""
    return render_dashboard(_municipality(municipality_id))


@bp.route("/rapport")
@bp.route("/<int:municipality_id>/rapport")
@login_required
def report(municipality_id: int | None = None):
    """A printable page with every table and a plain-Dutch explanation (print to PDF)."""
    return render_dashboard(_municipality(municipality_id), template="municipality/report.html")


@bp.route("/rapport.csv")
@bp.route("/<int:municipality_id>/rapport.csv")
@login_required
def report_csv(municipality_id: int | None = None):
    """The same tables as one CSV file: a section column, then the table's columns."""
    municipality = _municipality(municipality_id)
    period = quarter_from_key(request.args.get("kwartaal"))
    ring_ids = [ring.id for ring in municipality.rings]
    rows = []
    for table in cached("municipality", ring_ids, period, lambda: municipality_report(municipality, period)):
        rows += [[table.title, *table.columns], *([table.title, *row] for row in table.rows), []]
    return csv_download(rows, f"ruilkringen-{municipality.name.lower().replace(' ', '-')}-{quarter_key(period)}.csv")


@bp.route("/overzicht")
@login_required
def choose():
    """Admins pick a gemeente."""
    if not current_user.is_admin:
        abort(404)
    return render_template("municipality/choose.html",
                           municipalities=db.session.scalars(select(Municipality).order_by(Municipality.name)).all())
