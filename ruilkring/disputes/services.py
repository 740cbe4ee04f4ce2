"""The dispute process: open, respond, mediate, resolve or withdraw.

Every state change goes through ``_transition`` and its table of allowed changes. A
resolution that moves time credits is booked through the ledger's reversal or correction
service in the same database transaction as the status change, with the dispute row
locked first, so two coordinators resolving at once give one resolution and at most one
booking. Nothing here commits.
"""

from datetime import timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ruilkring import clock
from ruilkring.audit.services import audit_record
from ruilkring.auth.models import User
from ruilkring.disputes.models import (
    OPEN_STATUSES,
    Dispute,
    DisputeEvent,
    DisputeOutcome,
    DisputeReason,
    DisputeRequest,
    DisputeStatus,
    EventKind,
)
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger
from ruilkring.ledger.amounts import format_minutes
from ruilkring.ledger.models import Transfer, TransferKind
from ruilkring.members.models import Member
from ruilkring.members.services import ring_coordinators
from ruilkring.notifications.services import mail_queue, notification_create

MAX_TEXT = 5000

TRANSITIONS = {
    (DisputeStatus.OPEN, DisputeStatus.IN_MEDIATION),
    (DisputeStatus.OPEN, DisputeStatus.RESOLVED),
    (DisputeStatus.OPEN, DisputeStatus.WITHDRAWN),
    (DisputeStatus.IN_MEDIATION, DisputeStatus.RESOLVED),
    (DisputeStatus.IN_MEDIATION, DisputeStatus.WITHDRAWN),
}


def transfer_parties(transfer: Transfer) -> list[Member]:
    """The members on either side of a transfer (system accounts have none)."""
    return [account.member for account in (transfer.payer, transfer.payee) if account.member is not None]


def open_dispute_of(transfer: Transfer) -> Dispute | None:
    return db.session.scalar(select(Dispute).where(
        Dispute.transfer_id == transfer.id, Dispute.status.in_(OPEN_STATUSES)))


def _text(body: str, field: str = "body", required=_l("Schrijf iets.")) -> str:
    body = (body or "").strip()
    if not body:
        raise DomainError(required, field=field)
    if len(body) > MAX_TEXT:
        raise DomainError(_l("De tekst is te lang (hoogstens %(n)d tekens).", n=MAX_TEXT), field=field)
    return body


def _event(dispute: Dispute, kind: EventKind, author: User | None, body: str = "", private: bool = False):
    dispute.events.append(DisputeEvent(kind=kind, author_id=author.id if author else None, body=body,
                                       private=private))
    dispute.last_activity_at = clock.now()


def _tell_parties(dispute: Dispute, text, *, mail: bool = True, except_member: Member | None = None) -> None:
    for member in transfer_parties(dispute.transfer):
        if except_member is not None and member.id == except_member.id:
            continue
        ring = member.ring
        link = url_for("disputes.case", ring_slug=ring.slug, dispute_id=dispute.id)
        notification_create(user=member.user, ring=ring, text=text, link=link)
        if mail:
            mail_queue(user=member.user, subject=_l("Over uw geschil bij %(ring)s", ring=ring.name),
                       template="dispute_update", text=text, ring=ring,
                       link=url_for("disputes.case", ring_slug=ring.slug, dispute_id=dispute.id, _external=True))


def _lock(dispute: Dispute) -> Dispute:
    """Lock the dispute row (PostgreSQL) and read it fresh."""
    return db.session.scalars(
        select(Dispute).where(Dispute.id == dispute.id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _transition(dispute: Dispute, to: DisputeStatus) -> None:
    if (dispute.status, to) not in TRANSITIONS:
        messages = {
            DisputeStatus.RESOLVED: _l("Dit geschil is al afgehandeld."),
            DisputeStatus.WITHDRAWN: _l("Dit geschil is ingetrokken."),
        }
        raise DomainError(messages.get(dispute.status, _l("Dat kan niet in deze fase van het geschil.")),
                          code="illegal_transition")
    dispute.status = to
    if to in (DisputeStatus.RESOLVED, DisputeStatus.WITHDRAWN):
        dispute.closed_at = clock.now()


def dispute_open(
    *, transfer: Transfer, opened_by: Member, reason: DisputeReason, asked: DisputeRequest, explanation: str,
) -> Dispute:
    """A party contests a posted transfer within the ring's dispute period. The transfer
    stays on the books; the other party and the coordinators are told."""
    if opened_by.id not in {m.id for m in transfer_parties(transfer)}:
        raise DomainError(_l("Alleen wie betaalde of betaald werd kan een geschil melden."))
    if transfer.kind == TransferKind.REVERSAL or transfer.reversed_by is not None:
        raise DomainError(_l("Deze transactie is al teruggedraaid."))
    ring = opened_by.ring
    if transfer.created_at < clock.now() - timedelta(days=ring.dispute_days):
        raise DomainError(_l("Een geschil kan tot %(days)d dagen na de ruil worden gemeld. Neem contact op "
                             "met een coördinator.", days=ring.dispute_days))
    if open_dispute_of(transfer) is not None:
        raise DomainError(_l("Over deze transactie loopt al een geschil."), code="dispute_exists")
    explanation = _text(explanation, "explanation", _l("Leg kort uit wat er mis is."))
    dispute = Dispute(ring_id=ring.id, transfer_id=transfer.id, opened_by_id=opened_by.id,
                      reason=DisputeReason(reason), asked=DisputeRequest(asked), explanation=explanation)
    db.session.add(dispute)
    _event(dispute, EventKind.OPENED, opened_by.user, explanation)
    db.session.flush()
    _tell_parties(dispute, _l("%(name)s heeft een geschil gemeld over transactie %(id)d. U kunt reageren.",
                              name=opened_by.name, id=transfer.id), except_member=opened_by)
    for coordinator in ring_coordinators(ring):
        notification_create(user=coordinator.user, ring=ring,
                            text=_l("Nieuw geschil over transactie %(id)d.", id=transfer.id),
                            link=url_for("disputes.case", ring_slug=ring.slug, dispute_id=dispute.id))
    return dispute


def dispute_respond(*, dispute: Dispute, author: Member | None, body: str) -> None:
    """A party writes in the case (both parties and the coordinators read it). ``author``
    is None for a platform admin who is no member of the ring: no party either."""
    if author is None or author.id not in {m.id for m in transfer_parties(dispute.transfer)}:
        raise DomainError(_l("Alleen de betrokkenen kunnen hier reageren."))
    if dispute.status not in OPEN_STATUSES:
        raise DomainError(_l("Dit geschil is gesloten."), code="illegal_transition")
    _event(dispute, EventKind.RESPONSE, author.user, _text(body))
    _tell_parties(dispute, _l("%(name)s heeft gereageerd in het geschil over transactie %(id)d.",
                              name=author.name, id=dispute.transfer_id), except_member=author)


def _check_mediator(dispute: Dispute, user: User) -> None:
    if user.id in {m.user_id for m in transfer_parties(dispute.transfer)}:
        raise DomainError(_l("U bent zelf betrokken bij dit geschil; een andere coördinator moet bemiddelen."),
                          code="party_cannot_mediate")


def dispute_take(*, dispute: Dispute, coordinator: User) -> None:
    """A coordinator takes the case: it moves to mediation."""
    _check_mediator(dispute, coordinator)
    dispute = _lock(dispute)
    if dispute.status == DisputeStatus.IN_MEDIATION and dispute.mediator_id is not None:
        raise DomainError(_l("Een andere coördinator heeft dit geschil al op zich genomen."))
    _transition(dispute, DisputeStatus.IN_MEDIATION)
    dispute.mediator_id = coordinator.id
    _event(dispute, EventKind.TAKEN, coordinator)
    audit_record(actor=coordinator, action="dispute.take", ring=dispute.transfer.payer.ring,
                 new={"dispute": dispute.id})
    _tell_parties(dispute, _l("%(name)s bemiddelt in het geschil over transactie %(id)d.",
                              name=coordinator.name, id=dispute.transfer_id))


def dispute_assign_second(*, dispute: Dispute, assigned_by: User, coordinator: Member) -> None:
    """Add a second mediator (mediation works best with two)."""
    if not coordinator.is_coordinator or coordinator.ring_id != dispute.ring_id:
        raise DomainError(_l("Kies een coördinator van deze kring."), field="coordinator")
    _check_mediator(dispute, coordinator.user)
    if dispute.status not in OPEN_STATUSES:
        raise DomainError(_l("Dit geschil is gesloten."), code="illegal_transition")
    if coordinator.user_id == dispute.mediator_id:
        raise DomainError(_l("Deze coördinator bemiddelt al."), field="coordinator")
    dispute.second_mediator_id = coordinator.user_id
    _event(dispute, EventKind.ASSIGNED, assigned_by, coordinator.name)
    audit_record(actor=assigned_by, action="dispute.assign", ring=coordinator.ring,
                 new={"dispute": dispute.id, "second_mediator": coordinator.user_id})


def dispute_note(*, dispute: Dispute, author: User, body: str) -> None:
    """A coordinator's private note; parties never see it."""
    _check_mediator(dispute, author)
    _event(dispute, EventKind.NOTE, author, _text(body), private=True)


def dispute_message(*, dispute: Dispute, author: User, body: str) -> None:
    """A coordinator writes to both parties."""
    _check_mediator(dispute, author)
    if dispute.status not in OPEN_STATUSES:
        raise DomainError(_l("Dit geschil is gesloten."), code="illegal_transition")
    body = _text(body)
    _event(dispute, EventKind.MESSAGE, author, body)
    _tell_parties(dispute, _l("Bericht van de coördinator over transactie %(id)d: %(text)s",
                              id=dispute.transfer_id, text=body[:200]))


def dispute_withdraw(*, dispute: Dispute, withdrawn_by: Member | None) -> None:
    """The member who opened the case withdraws it (None: an admin who is no member)."""
    if withdrawn_by is None or withdrawn_by.id != dispute.opened_by_id:
        raise DomainError(_l("Alleen wie het geschil meldde kan het intrekken."))
    dispute = _lock(dispute)
    _transition(dispute, DisputeStatus.WITHDRAWN)
    _event(dispute, EventKind.WITHDRAWN, withdrawn_by.user)
    _tell_parties(dispute, _l("Het geschil over transactie %(id)d is ingetrokken.", id=dispute.transfer_id))


def dispute_resolve(
    *, dispute: Dispute, resolved_by: User, outcome: DisputeOutcome, note: str,
    amount: int | None = None, back_to_payer: bool = True, override_limits: bool = False,
    idempotency_key: str,
) -> Dispute:
    """Close the case with its outcome. A full reversal or partial correction is booked
    through the ledger in this same transaction; both parties are told the outcome."""
    _check_mediator(dispute, resolved_by)
    dispute = _lock(dispute)
    _transition(dispute, DisputeStatus.RESOLVED)
    outcome = DisputeOutcome(outcome)
    note = note.strip()
    if outcome in (DisputeOutcome.NO_ACTION, DisputeOutcome.PARTIAL_CORRECTION) and not note:
        raise DomainError(_l("Schrijf de reden of de afspraak op."), field="note")
    transfer = dispute.transfer
    reason = str(_l("Geschil %(id)d: %(note)s", id=dispute.id, note=note or outcome.value))
    if outcome == DisputeOutcome.FULL_REVERSAL:
        booked = ledger.transfer_reverse(transfer=transfer, reversed_by=resolved_by, reason=reason,
                                         idempotency_key=idempotency_key, override_limits=override_limits,
                                         notify=False)
        dispute.resolution_transfer_id = booked.id
    elif outcome == DisputeOutcome.PARTIAL_CORRECTION:
        if not amount or amount <= 0:
            raise DomainError(_l("Vul het bedrag van de correctie in."), field="amount")
        payer, payee = (transfer.payee, transfer.payer) if back_to_payer else (transfer.payer, transfer.payee)
        booked = ledger.transfer_correct(payer=payer, payee=payee, amount=amount, corrected_by=resolved_by,
                                         reason=reason, idempotency_key=idempotency_key, related=transfer,
                                         override_limits=override_limits, notify=False)
        dispute.resolution_transfer_id = booked.id
        dispute.outcome_amount = amount
        dispute.outcome_back_to_payer = back_to_payer
    dispute.outcome = outcome
    dispute.outcome_note = note
    _event(dispute, EventKind.RESOLVED, resolved_by, note)
    audit_record(actor=resolved_by, action="dispute.resolve", ring=transfer.payer.ring,
                 new={"dispute": dispute.id, "outcome": outcome.value, "amount": amount,
                      "transfer": dispute.resolution_transfer_id}, reason=note)
    texts = {
        DisputeOutcome.AGREEMENT: _l("Het geschil over transactie %(id)d is afgesloten: u bent het eens geworden, "
                                     "er verandert niets.", id=transfer.id),
        DisputeOutcome.FULL_REVERSAL: _l("Het geschil over transactie %(id)d is afgesloten: de transactie is "
                                         "teruggedraaid.", id=transfer.id),
        DisputeOutcome.PARTIAL_CORRECTION: _l("Het geschil over transactie %(id)d is afgesloten met een correctie "
                                              "van %(hours)s uur.", id=transfer.id,
                                              hours=format_minutes(amount or 0)),
        DisputeOutcome.NO_ACTION: _l("Het geschil over transactie %(id)d is afgesloten zonder wijziging. "
                                     "Reden: %(note)s", id=transfer.id, note=note),
    }
    _tell_parties(dispute, texts[outcome])
    return dispute
