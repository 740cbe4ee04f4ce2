"""The audit log: coordinators search and export it; members read what is about them."""

import json

from flask import abort, g, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from ruilkring.access import coordinator_required, ring_blueprint
from ruilkring.audit import selectors
from ruilkring.extensions import db
from ruilkring.forms import date_field
from ruilkring.spreadsheet import csv_download
from ruilkring.web import page_or_fragment

bp = ring_blueprint("audit", __name__)


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(_l("Zoeken"), validators=[Optional(), Length(max=100)])
    action = SelectField(_l("Soort handeling"), validators=[Optional()], validate_choice=False)
    date_from = date_field(_l("Van"), description=_l("Bijvoorbeeld 1-1-2026."))
    date_to = date_field(_l("Tot en met"), description=_l("Bijvoorbeeld 31-12-2026."))


ACTION_LABELS = {
    "member.approve": _l("lid toegelaten"),
    "member.decline": _l("aanmelding afgewezen"),
    "member.deactivate": _l("lid op inactief gezet"),
    "member.reactivate": _l("lid weer actief"),
    "member.mark_leaving": _l("lid vertrekt"),
    "member.mark_left": _l("lid uitgeschreven"),
    "member.set_role": _l("rol gewijzigd"),
    "member.erase": _l("persoonsgegevens gewist"),
    "member.send_password_link": _l("wachtwoordlink gestuurd"),
    "member.appoint_coordinator": _l("coördinator benoemd"),
    "ring.create": _l("kring aangemaakt"),
    "ring.update": _l("instellingen gewijzigd"),
    "account.set_limits": _l("grenzen gewijzigd"),
    "transfer.book_on_behalf": _l("geboekt namens lid"),
    "transfer.bulk_book": _l("groepsboeking"),
    "transfer.reverse": _l("transactie teruggedraaid"),
    "transfer.correct": _l("correctie geboekt"),
    "transfer.limit_override": _l("grens overschreden met toestemming"),
    "listing.hide": _l("advertentie verborgen"),
    "listing.unhide": _l("advertentie weer zichtbaar"),
    "listing.create_on_behalf": _l("advertentie geplaatst namens lid"),
    "listing.update_on_behalf": _l("advertentie gewijzigd namens lid"),
    "category.create": _l("categorie toegevoegd"),
    "category.update": _l("categorie gewijzigd"),
    "dispute.take": _l("geschil opgepakt"),
    "dispute.assign": _l("tweede bemiddelaar"),
    "dispute.resolve": _l("geschil afgehandeld"),
    "survey.open": _l("enquête geopend"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def _values(data) -> str:
    return "" if data is None else json.dumps(data, ensure_ascii=False, sort_keys=True)


def _filtered(subject=None):
    form = AuditFilterForm(request.args)
    form.action.choices = [("", _l("Alle handelingen"))] + [
        (a, action_label(a)) for a in selectors.audit_actions(ring=g.ring, subject=subject)]
    valid = form.validate()
    query = selectors.audit_search(
        ring=g.ring, q=form.q.data or "", action=form.action.data or None,
        date_from=form.date_from.data if valid else None, date_to=form.date_to.data if valid else None,
        subject=subject)
    return form, query


@bp.route("/beheer/logboek")
@coordinator_required
def index():
    """Every coordinator and admin action in the ring: who, what, when, old and new, why."""
    form, query = _filtered()
    page = db.paginate(query, per_page=50, error_out=False)
    return page_or_fragment("audit/index.html", "audit/_table.html", "audit-table",
                            form=form, page=page, values=_values, coordinator_view=True)


@bp.route("/beheer/logboek.csv")
@coordinator_required
def export():
    """The filtered log as CSV."""
    _form, query = _filtered()
    header = [gettext("tijdstip"), gettext("door"), gettext("handeling"), gettext("over lid"), gettext("oud"),
              gettext("nieuw"), gettext("reden")]
    rows = ([event.created_at.isoformat(), event.actor.name if event.actor else "", action_label(event.action),
             event.subject.name if event.subject else "", _values(event.old), _values(event.new), event.reason]
            for event in db.session.scalars(query))
    return csv_download([header, *rows], f"logboek-{g.ring.slug}.csv")


@bp.route("/logboek")
def mine():
    """What coordinators recorded about the member themselves."""
    if g.member is None:
        abort(404)
    form, query = _filtered(subject=g.member)
    page = db.paginate(query, per_page=50, error_out=False)
    return render_template("audit/index.html", form=form, page=page, values=_values, coordinator_view=False)


@bp.app_context_processor
def audit_helpers():
    return {"action_label": action_label}
