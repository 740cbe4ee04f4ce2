"""Dispute pages: a party opens and follows a case; coordinators mediate and resolve."""

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ruilkring.access import coordinator_required, is_ring_coordinator, ring_blueprint
from ruilkring.database import run_ledger_transaction
from ruilkring.disputes import selectors, services
from ruilkring.disputes.forms import (
    OUTCOME_CHOICES,
    REASON_CHOICES,
    REQUEST_CHOICES,
    AssignForm,
    MessageForm,
    NoteForm,
    OpenForm,
    ResolveForm,
    StatusFilterForm,
    TextForm,
)
from ruilkring.disputes.models import OPEN_STATUSES, Dispute, DisputeOutcome, DisputeStatus, EventKind
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger.models import Transfer
from ruilkring.ledger.selectors import account_name
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.web import db_id

bp = ring_blueprint("disputes", __name__)


def _party_ids(transfer: Transfer) -> set[int]:
    return {m.id for m in services.transfer_parties(transfer)}


def _dispute_or_404(dispute_id: int) -> Dispute:
    """A case of this ring that the user is a party to, or coordinates."""
    dispute = db.session.get(Dispute, dispute_id)
    if dispute is None or dispute.ring_id != g.ring.id:
        abort(404)
    if not is_ring_coordinator() and (g.member is None or g.member.id not in _party_ids(dispute.transfer)):
        abort(404)
    return dispute


@bp.route("/geschillen/nieuw/<int:transfer_id>", methods=["GET", "POST"])
def open_case(transfer_id: int):
    """A party reports what is wrong with a transfer."""
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None or transfer.ring_id != g.ring.id or g.member is None \
            or g.member.id not in _party_ids(transfer):
        abort(404)
    existing = services.open_dispute_of(transfer)
    if existing is not None:
        flash(_l("Over deze transactie loopt al een geschil."), "info")
        return redirect(url_for("disputes.case", dispute_id=existing.id))
    form = OpenForm()
    if form.validate_on_submit():
        try:
            dispute = services.dispute_open(transfer=transfer, opened_by=g.member, reason=form.reason.data,
                                            asked=form.asked.data, explanation=form.explanation.data)
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("Uw melding is ontvangen. Een coördinator neemt contact met u op."), "success")
            return redirect(url_for("disputes.case", dispute_id=dispute.id))
    return render_template("disputes/open.html", form=form, transfer=transfer, account_name=account_name)


@bp.route("/geschillen")
def mine():
    """The member's own cases and their state."""
    if g.member is None:
        abort(404)
    return render_template("disputes/mine.html", disputes=selectors.member_disputes(member=g.member))


def _coordinators_for(dispute: Dispute) -> list[Member]:
    parties = _party_ids(dispute.transfer)
    return db.session.scalars(
        db.select(Member).where(Member.ring_id == g.ring.id, Member.role == MemberRole.COORDINATOR,
                                Member.status == MemberStatus.ACTIVE, Member.id.not_in(parties))
    ).all()


# The forms of the case page that write text, by the action they post to.
TEXT_FORMS = {"reageren": TextForm, "bericht": MessageForm, "notitie": NoteForm}


def _case_page(dispute: Dispute, sent: dict | None = None) -> str:
    """The case page. ``sent``: a form that was sent and refused, by its name ("reageren",
    ..., "afhandelen"), drawn again with what was typed and its errors; the other forms
    are drawn empty (they all send ``body``)."""
    sent = sent or {}
    coordinator = is_ring_coordinator()
    assign_form = AssignForm(formdata=None)
    assign_form.coordinator.choices = [(m.id, m.name) for m in _coordinators_for(dispute)]
    text_forms = {action: sent.get(action) or form(formdata=None) for action, form in TEXT_FORMS.items()}
    resolve_form = sent.get("afhandelen") or ResolveForm(formdata=None)
    resolve_form.ensure_key()
    is_party = g.member is not None and g.member.id in _party_ids(dispute.transfer)
    return render_template(
        "disputes/case.html", dispute=dispute, coordinator=coordinator,
        # A coordinator who is a party to the case is a party here: no private notes.
        events=selectors.timeline(dispute=dispute, include_private=coordinator and not is_party),
        text_forms=text_forms, assign_form=assign_form, resolve_form=resolve_form, is_party=is_party,
        form=next(iter(sent.values()), None),  # the refused one, for the page title
        stale=selectors.is_stale(dispute), account_name=account_name, EventKind=EventKind,
    )


@bp.route("/geschillen/<int:dispute_id>")
def case(dispute_id: int):
    """The case page. Parties see the public timeline; coordinators also their notes."""
    return _case_page(_dispute_or_404(dispute_id))


def _refused_form(dispute: Dispute, action: str, form):
    """A form that did not validate: drawn again with its errors, while the case is open
    (a closed case draws no forms)."""
    if dispute.status not in OPEN_STATUSES:
        flash(_l("Dit geschil is gesloten."), "error")
        return redirect(url_for("disputes.case", dispute_id=dispute.id))
    return _case_page(dispute, {action: form})


def _refused(dispute: Dispute, error: DomainError, action: str, form):
    """A refused step: an error about a field is shown at that field, with what was typed;
    any other (the case was closed meanwhile, say) above the case page."""
    db.session.rollback()
    if error.field and hasattr(form, error.field):
        error.apply_to(form)
        return _case_page(dispute, {action: form})
    flash(error.message, "error")
    return redirect(url_for("disputes.case", dispute_id=dispute.id))


@bp.post("/geschillen/<int:dispute_id>/<any(reageren, intrekken, oppakken, toewijzen, notitie, bericht):action>")
def act(dispute_id: int, action: str):
    """Every step of a case except the resolution."""
    dispute = _dispute_or_404(dispute_id)
    coordinator_actions = ("oppakken", "toewijzen", "notitie", "bericht")
    if action in coordinator_actions and not is_ring_coordinator():
        abort(404)
    form = TEXT_FORMS[action]() if action in TEXT_FORMS else None
    if form is not None and not form.validate_on_submit():
        return _refused_form(dispute, action, form)
    try:
        if action == "reageren":
            services.dispute_respond(dispute=dispute, author=g.member, body=form.body.data)
        elif action == "intrekken":
            services.dispute_withdraw(dispute=dispute, withdrawn_by=g.member)
        elif action == "oppakken":
            services.dispute_take(dispute=dispute, coordinator=current_user)
        elif action == "toewijzen":
            second = db.session.get(Member, request.form.get("coordinator", type=db_id) or 0)
            if second is None or second.ring_id != g.ring.id:
                raise DomainError(_l("Kies een coördinator van deze kring."))
            services.dispute_assign_second(dispute=dispute, assigned_by=current_user, coordinator=second)
        elif action == "notitie":
            services.dispute_note(dispute=dispute, author=current_user, body=form.body.data)
        else:
            services.dispute_message(dispute=dispute, author=current_user, body=form.body.data)
    except DomainError as error:
        return _refused(dispute, error, action, form)
    db.session.commit()
    flash(_l("Opgeslagen."), "success")
    return redirect(url_for("disputes.case", dispute_id=dispute.id))


@bp.post("/geschillen/<int:dispute_id>/afhandelen")
@coordinator_required
def resolve(dispute_id: int):
    """Close the case with its outcome; a reversal or correction is booked with it."""
    dispute = _dispute_or_404(dispute_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        return _refused_form(dispute, "afhandelen", form)
    try:
        run_ledger_transaction(lambda: services.dispute_resolve(
            dispute=dispute, resolved_by=current_user, outcome=DisputeOutcome(form.outcome.data),
            note=form.note.data or "", amount=form.amount.data, back_to_payer=form.direction.data != "forward",
            override_limits=form.override_limits.data, idempotency_key=form.idempotency_key.data,
        ))
    except DomainError as error:
        return _refused(dispute, error, "afhandelen", form)
    flash(_l("Het geschil is afgehandeld. Beide leden hebben bericht gekregen."), "success")
    return redirect(url_for("disputes.case", dispute_id=dispute.id))


@bp.route("/beheer/geschillen")
@coordinator_required
def queue():
    """The coordinator's queue: open cases first with their age; quiet ones highlighted."""
    form = StatusFilterForm(request.args)
    form.status.choices = [("", _l("Alle"))] + [(s.value, dispute_status_label(s)) for s in DisputeStatus]
    status = form.status.data if form.status.data in {s.value for s in DisputeStatus} else None
    return render_template("disputes/queue.html", form=form, is_stale=selectors.is_stale,
                           disputes=selectors.dispute_queue(ring=g.ring, status=status))


STATUS_LABELS = {
    DisputeStatus.OPEN: _l("open"),
    DisputeStatus.IN_MEDIATION: _l("in bemiddeling"),
    DisputeStatus.RESOLVED: _l("afgehandeld"),
    DisputeStatus.WITHDRAWN: _l("ingetrokken"),
}


def dispute_status_label(status):
    return STATUS_LABELS[DisputeStatus(status)]


@bp.app_context_processor
def dispute_helpers():
    labels = dict(REASON_CHOICES + REQUEST_CHOICES)
    outcomes = dict(OUTCOME_CHOICES)
    return {"dispute_status_label": dispute_status_label,
            "dispute_choice_label": lambda value: labels.get(getattr(value, "value", value), value),
            "dispute_outcome_label": lambda value: outcomes.get(getattr(value, "value", value), value)}
