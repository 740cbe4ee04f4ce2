"""Ledger pages of a ring: pay, payment requests, statement, and the coordinator's
bookings, limits, overview, reversals and corrections."""

import hashlib
import json

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ruilkring.access import (
    coordinator_required,
    is_ring_coordinator,
    ring_blueprint,
    ring_member_or_404,
)
from ruilkring.database import run_ledger_transaction
from ruilkring.disputes.selectors import disputed_transfer_ids
from ruilkring.disputes.services import open_dispute_of
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger import selectors, services
from ruilkring.ledger.amounts import format_minutes
from ruilkring.ledger.forms import (
    BookForm,
    BulkForm,
    CorrectionForm,
    DeclineForm,
    LimitsForm,
    OverviewFilterForm,
    PayForm,
    PaymentRequestForm,
    PeriodForm,
    ReverseForm,
)
from ruilkring.ledger.models import (
    LimitChange,
    PaymentRequest,
    PaymentRequestStatus,
    Transfer,
    TransferKind,
)
from ruilkring.listings.models import Listing
from ruilkring.members.selectors import member_directory, ring_member
from ruilkring.spreadsheet import csv_download
from ruilkring.web import db_id, htmx_targets, page_or_fragment, query_args

bp = ring_blueprint("ledger", __name__)


def _own_member():
    """The signed-in member of this ring (admins without membership cannot pay)."""
    if g.member is None or not g.member.has_access:
        abort(404)
    return g.member


def _member_choices(exclude=None, placeholder=_l("— kies een lid —"), q: str = ""):
    """The members to choose from; with ``q``, those whose name contains it (50 at most),
    as the htmx suggestions narrow the list."""
    if q.strip():
        members = selectors.member_search(ring=g.ring, q=q, exclude=exclude, limit=50)
        if not members:
            placeholder = _l("Niemand gevonden met deze naam")
    else:
        members = [m for m in member_directory(ring=g.ring) if exclude is None or m.id != exclude.id]
    return [("", placeholder)] + [(m.id, m.name) for m in members]


def _ring_member(member_id):
    """A member of this ring who takes part, or None (form errors say what is wrong)."""
    return ring_member(ring=g.ring, member_id=member_id)


def _ring_listing(listing_id) -> Listing | None:
    """The listing of this ring a payment or request is about, or None (an id of another
    ring is ignored, as if none was given)."""
    listing = db.session.get(Listing, listing_id) if listing_id else None
    if listing is None or listing.ring_id != g.ring.id:
        return None
    return listing


def _listing_defaults() -> dict:
    """Form defaults from ``?advertentie=<id>``: the listing, and its title as description."""
    listing = _ring_listing(request.args.get("advertentie", type=db_id))
    return {"listing_id": listing.id, "description": listing.title} if listing else {}


# Paying


@bp.route("/betalen", methods=["GET", "POST"])
def pay():
    """Pay another member: fill in, confirm, done. The form's key makes a double submit harmless.
    ``?aan=<member id>&advertentie=<listing id>`` (from a conversation) pre-fills the form."""
    payer = _own_member()
    form = PayForm(payee=request.args.get("aan", type=db_id), **_listing_defaults())
    # The search narrows the list it shows; a sent form chooses from everyone (htmx may have
    # narrowed the list by another name since the page was loaded with ?q=).
    q = "" if form.is_submitted() else request.args.get("q", "")
    form.payee.choices = _member_choices(exclude=payer, q=q)
    if q.strip() and len(form.payee.choices) == 2:
        form.payee.data = form.payee.choices[1][0]  # one name found: chosen, as the suggestions do
    form.ensure_key()
    listing = _ring_listing(form.listing_id.data)
    form.listing_id.data = listing.id if listing else None
    if form.validate_on_submit():
        payee = _ring_member(form.payee.data)
        if payee is None:
            form.payee.errors.append(_l("Kies een lid van uw eigen kring."))
        elif payee.id == payer.id:
            form.payee.errors.append(_l("U kunt niet aan uzelf betalen."))
        elif form.confirmed.data != "1":
            try:  # say now, not after "Klopt dit?", when the limits refuse it
                services.payment_check(payer=payer, payee=payee, amount=form.amount.data)
            except DomainError as error:
                db.session.rollback()
                error.apply_to(form)
            else:
                db.session.commit()  # an old member's first account may have been opened
                form.confirmed.data = "1"
                return render_template("ledger/pay_confirm.html", form=form, payee=payee, listing=listing)
        else:
            try:
                run_ledger_transaction(lambda: services.payment_create(
                    payer=payer, payee=payee, amount=form.amount.data,
                    description=form.description.data, idempotency_key=form.idempotency_key.data,
                    listing=listing,
                ))
            except DomainError as error:
                error.apply_to(form)
            else:
                flash(_l("U heeft %(hours)s uur betaald aan %(name)s.",
                         hours=format_minutes(form.amount.data), name=payee.name), "success")
                return redirect(url_for("ledger.statement"))
    form.confirmed.data = ""
    return render_template("ledger/pay.html", form=form, account=selectors.member_account(payer),
                           listing=listing, q=q)


@bp.route("/betalen/leden")
def member_options():
    """htmx: the payee list narrowed to names containing ``q`` (50 at most); an empty search
    gives the whole list back, as the page without JavaScript has it."""
    payer = _own_member()
    q = request.args.get("q", "")
    members = selectors.member_search(ring=g.ring, q=q, exclude=payer, limit=50 if q.strip() else None)
    return render_template("ledger/_member_options.html", members=members,
                           selected=request.args.get("payee", type=db_id))


# Payment requests


@bp.route("/betaalverzoeken", methods=["GET", "POST"])
def requests():
    """Payment requests: ask someone to pay, and answer the ones sent to you.
    ``?van=<member id>&advertentie=<listing id>`` (from a conversation) pre-fills the form."""
    member = _own_member()
    form = PaymentRequestForm(payer=request.args.get("van", type=db_id), **_listing_defaults())
    form.payer.choices = _member_choices(exclude=member)
    form.ensure_key()
    listing = _ring_listing(form.listing_id.data)
    form.listing_id.data = listing.id if listing else None
    if form.validate_on_submit():
        payer = _ring_member(form.payer.data)
        if payer is None:
            form.payer.errors.append(_l("Kies een lid van uw eigen kring."))
        else:
            try:
                # In a ledger transaction: two submits of the form at once are serialised, so
                # the second finds the first under the form's key.
                run_ledger_transaction(lambda: services.payment_request_create(
                    payee=member, payer=payer, amount=form.amount.data, description=form.description.data,
                    listing=listing, idempotency_key=form.idempotency_key.data))
            except DomainError as error:
                error.apply_to(form)
            else:
                flash(_l("Uw betaalverzoek is verstuurd naar %(name)s.", name=payer.name), "success")
                return redirect(url_for("ledger.requests"))
    incoming, outgoing = selectors.pending_requests_for(member=member)
    return render_template("ledger/requests.html", form=form, incoming=incoming, outgoing=outgoing,
                           recent=selectors.recent_requests(member=member), decline_form=DeclineForm(),
                           listing=listing)


def _request_of_ring(request_id: int) -> PaymentRequest:
    payment_request = db.session.get(PaymentRequest, request_id)
    if payment_request is None or payment_request.ring_id != g.ring.id:
        abort(404)
    return payment_request


@bp.post("/betaalverzoeken/<int:request_id>/<any(accepteren, weigeren, intrekken):action>")
def request_answer(request_id: int, action: str):
    """Accept, decline (payer) or withdraw (requester) a payment request."""
    member = _own_member()
    payment_request = _request_of_ring(request_id)
    if member.id not in (payment_request.payer_id, payment_request.payee_id):
        abort(404)
    try:
        if action == "accepteren":
            run_ledger_transaction(lambda: services.payment_request_accept(
                request=payment_request, accepted_by=member))
            flash(_l("Betaald: %(hours)s uur aan %(name)s.", hours=format_minutes(payment_request.amount),
                     name=payment_request.payee.name), "success")
        elif action == "weigeren":
            form = DeclineForm()
            if not form.validate_on_submit():  # the reason is missing or too long: say which
                raise DomainError(next(iter(form.errors.values()))[0])
            services.payment_request_decline(request=payment_request, declined_by=member,
                                             reason=form.reason.data)
            db.session.commit()
            flash(_l("U heeft het betaalverzoek geweigerd."), "success")
        else:
            services.payment_request_cancel(request=payment_request, cancelled_by=member)
            db.session.commit()
            flash(_l("U heeft het betaalverzoek ingetrokken."), "success")
    except DomainError as error:
        db.session.rollback()
        if error.code == "request_expired":  # refused as overdue: record it now, not only at night
            services.payment_requests_expire()
            db.session.commit()
        flash(error.message, "error")
    return redirect(url_for("ledger.requests"))


# Statements


def _statement_context(member):
    account = services.account_open(member=member)
    db.session.commit()  # only writes when an old member had no account yet
    period = PeriodForm(request.args)
    period.validate()  # a date that is right counts; the form shows what is wrong with the other
    date_from, date_to = _valid(period.date_from), _valid(period.date_to)
    before = request.args.get("voor", type=db_id)
    lines = selectors.account_statement(account=account, before_version=before,
                                        date_from=date_from, date_to=date_to,
                                        limit=selectors.STATEMENT_PAGE + 1)
    more = len(lines) > selectors.STATEMENT_PAGE
    lines = lines[:selectors.STATEMENT_PAGE]
    next_args = query_args(voor=lines[-1].entry.account_version) if more else None
    period_args = {name: day.isoformat() for name, day in (("date_from", date_from), ("date_to", date_to)) if day}
    own = g.member is not None and g.member.id == member.id
    csv_url = (url_for("ledger.statement_csv", **period_args) if own
               else url_for("ledger.member_statement_csv", member_id=member.id, **period_args))
    disputed = disputed_transfer_ids(transfer_ids=[line.transfer.id for line in lines])
    return dict(member=member, account=account, lines=lines, period=period, next_args=next_args, csv_url=csv_url,
                disputed=disputed, own=own,
                status=selectors.limit_status(account), account_name=selectors.account_name)


@bp.route("/saldo")
def statement():
    """The member's own balance, limits and all transfers with running balance."""
    member = _own_member()
    return page_or_fragment("ledger/statement.html", "ledger/_statement_rows.html", "statement-more",
                            **_statement_context(member))


@bp.route("/leden/<int:member_id>/saldo")
@coordinator_required
def member_statement(member_id: int):
    """A coordinator reads any member's statement."""
    member = ring_member_or_404(member_id)
    return page_or_fragment("ledger/statement.html", "ledger/_statement_rows.html", "statement-more",
                            **_statement_context(member))


def _statement_csv(member) -> Response:
    account = services.account_open(member=member)
    period = PeriodForm(request.args)
    if not period.validate():  # a made-up link: the page's own CSV link carries only valid dates
        abort(400)
    lines = selectors.account_statement(account=account, date_from=period.date_from.data,
                                        date_to=period.date_to.data, limit=None)
    header = [gettext("datum"), gettext("transactie"), gettext("tegenpartij"), gettext("omschrijving"),
              gettext("bedrag (minuten)"), gettext("bedrag"), gettext("saldo na (minuten)"), gettext("ingevoerd door")]
    rows = ([line.transfer.occurred_on.isoformat(), line.transfer.id, selectors.account_name(line.counterpart),
             line.transfer.description, line.entry.amount, format_minutes(line.entry.amount),
             line.entry.balance_after, line.transfer.entered_by.name if line.transfer.entered_by else ""]
            for line in lines)
    return csv_download([header, *rows], f"saldo-{g.ring.slug}-{member.id}.csv")


@bp.route("/saldo.csv")
def statement_csv():
    """The member's own statement as CSV (opens in Excel: BOM and semicolons)."""
    return _statement_csv(_own_member())


@bp.route("/leden/<int:member_id>/saldo.csv")
@coordinator_required
def member_statement_csv(member_id: int):
    return _statement_csv(ring_member_or_404(member_id))


# Coordinator: bookings


@bp.route("/beheer/boeken", methods=["GET", "POST"])
@coordinator_required
def book():
    """Book a trade between two members on their behalf, with a required note."""
    form = BookForm()
    form.payer.choices = form.payee.choices = _member_choices()
    form.ensure_key()
    if form.validate_on_submit():
        payer, payee = _ring_member(form.payer.data), _ring_member(form.payee.data)
        if payer is None:
            form.payer.errors.append(_l("Kies een lid van deze kring."))
        elif payee is None:
            form.payee.errors.append(_l("Kies een lid van deze kring."))
        else:
            try:
                run_ledger_transaction(lambda: services.coordinator_book(
                    payer=payer, payee=payee, amount=form.amount.data, description=form.description.data,
                    note=form.note.data, booked_by=current_user, idempotency_key=form.idempotency_key.data,
                ))
            except DomainError as error:
                error.apply_to(form)
            else:
                flash(_l("Geboekt: %(payer)s betaalt %(hours)s uur aan %(payee)s.", payer=payer.name,
                         hours=format_minutes(form.amount.data), payee=payee.name), "success")
                return redirect(url_for("ledger.book"))
    return render_template("ledger/book.html", form=form)


@bp.route("/beheer/groepsboeking", methods=["GET", "POST"])
@coordinator_required
def bulk():
    """One-to-many or many-to-one booking (e.g. a yearly contribution to the pot):
    first a preview, then all or nothing."""
    form = BulkForm()
    members = member_directory(ring=g.ring)
    form.members.choices = [(m.id, m.name) for m in members]
    form.counterpart.choices = [(0, _l("Pot van de kring"))] + [(m.id, m.name) for m in members]
    if request.method == "GET":
        form.members.data = [m.id for m in members]
    form.ensure_key()
    lines, changed = None, False
    if form.validate_on_submit():
        chosen = [m for m in members if m.id in set(form.members.data)]
        counterpart = _ring_member(form.counterpart.data) if form.counterpart.data else None
        fingerprint = _bulk_fingerprint(form, chosen)
        if form.counterpart.data and counterpart is None:
            form.counterpart.errors.append(_l("Kies een lid van deze kring of de pot."))
        elif form.confirmed.data != "1" or form.previewed.data != fingerprint:
            # Only what was previewed is booked: changed after the preview, it is shown again.
            changed = form.confirmed.data == "1"
            lines = services.bulk_preview(ring=g.ring, members=chosen, amount=form.amount.data,
                                          direction=form.direction.data, counterpart=counterpart)
            db.session.commit()  # the preview may have opened accounts
            form.confirmed.data = "1" if all(line.possible for line in lines) else ""
            form.previewed.data = fingerprint
        else:
            try:
                transfers = run_ledger_transaction(lambda: services.bulk_book(
                    ring=g.ring, members=chosen, amount=form.amount.data, direction=form.direction.data,
                    description=form.description.data, booked_by=current_user,
                    idempotency_key=form.idempotency_key.data, counterpart=counterpart,
                ))
            except DomainError as error:
                error.apply_to(form)
                form.confirmed.data = ""
            else:
                flash(_l("%(count)d boekingen gedaan.", count=len(transfers)), "success")
                return redirect(url_for("ledger.overview"))
    return render_template("ledger/bulk.html", form=form, lines=lines, changed=changed)


def _bulk_fingerprint(form: BulkForm, chosen: list) -> str:
    """What a bulk booking would book, as a short hash for the preview's hidden field."""
    what = [form.direction.data, form.counterpart.data, form.amount.data, form.description.data.strip(),
            sorted(member.id for member in chosen)]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:32]


@bp.route("/beheer/limieten")
@coordinator_required
def limits_list():
    """Members at or past a limit, for follow-up."""
    return render_template("ledger/limits_list.html", rows=selectors.accounts_at_or_past_limit(ring=g.ring))


@bp.route("/beheer/leden/<int:member_id>/limieten", methods=["GET", "POST"])
@coordinator_required
def limits_edit(member_id: int):
    """Set a member's personal limits, with reason; shows the history of changes."""
    member = ring_member_or_404(member_id)
    account = services.account_open(member=member)
    form = LimitsForm(obj=account)
    if form.validate_on_submit():
        try:
            services.limits_set(account=account, min_balance=form.min_balance.data,
                                max_balance=form.max_balance.data, changed_by=current_user,
                                reason=form.reason.data)
        except DomainError as error:
            error.apply_to(form)
        else:
            db.session.commit()
            flash(_l("De grenzen van %(name)s zijn aangepast.", name=member.name), "success")
            return redirect(url_for("ledger.member_statement", member_id=member.id))
    history = db.session.scalars(
        select(LimitChange).where(LimitChange.account_id == account.id)
        .order_by(LimitChange.created_at.desc())
    ).all()
    return render_template("ledger/limits_edit.html", form=form, member=member, account=account,
                           history=history, status=selectors.limit_status(account))


def _valid(field):
    """A validated filter field's value, or None when it has errors."""
    return None if field.errors else field.data


@bp.route("/beheer/transacties")
@coordinator_required
def overview():
    """All transfers of the ring with filters, totals per month, and the sum of all
    balances as a health check (always zero)."""
    form = OverviewFilterForm(request.args)
    form.member.choices = _member_choices(placeholder=_l("Alle leden"))
    form.kind.choices = [("", _l("Alle soorten"))] + [(k.value, kind_label(k)) for k in TransferKind]
    form.validate()  # each filter that is right counts; the form shows what is wrong with the others
    member_id, kind = _valid(form.member), _valid(form.kind)
    query = selectors.ring_transfers(
        ring=g.ring, member=_ring_member(member_id) if member_id else None, kind=kind or None,
        date_from=_valid(form.date_from), date_to=_valid(form.date_to))
    page = db.paginate(query, per_page=50, error_out=False)
    context = dict(form=form, page=page, account_name=selectors.account_name)
    if htmx_targets("transfer-table"):
        return render_template("ledger/_transfer_table.html", fragment=True, **context)
    return render_template("ledger/overview.html", balance_sum=selectors.ring_balance_sum(ring=g.ring),
                           months=selectors.monthly_totals(ring=g.ring), **context)


def _transfer_of_ring(transfer_id: int) -> Transfer:
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None or transfer.ring_id != g.ring.id:
        abort(404)
    return transfer


@bp.route("/beheer/transacties/<int:transfer_id>", methods=["GET", "POST"])
@coordinator_required
def transfer_detail(transfer_id: int):
    """One transfer with its full record, and the forms to reverse or correct it."""
    transfer = _transfer_of_ring(transfer_id)
    reverse_form = ReverseForm(prefix="reverse")
    correct_form = CorrectionForm(prefix="correct")
    reverse_form.ensure_key()
    correct_form.ensure_key()
    action = request.form.get("action")
    if action == "reverse" and reverse_form.validate_on_submit():
        try:
            run_ledger_transaction(lambda: services.transfer_reverse(
                transfer=transfer, reversed_by=current_user, reason=reverse_form.reason.data,
                idempotency_key=reverse_form.idempotency_key.data,
                override_limits=reverse_form.override_limits.data,
            ))
        except DomainError as error:
            error.apply_to(reverse_form)
        else:
            flash(_l("Transactie %(id)d is teruggedraaid.", id=transfer.id), "success")
            return redirect(url_for("ledger.transfer_detail", transfer_id=transfer.id))
    elif action == "correct" and correct_form.validate_on_submit():
        back = correct_form.direction.data == "back"
        payer, payee = (transfer.payee, transfer.payer) if back else (transfer.payer, transfer.payee)
        try:
            run_ledger_transaction(lambda: services.transfer_correct(
                payer=payer, payee=payee, amount=correct_form.amount.data, corrected_by=current_user,
                reason=correct_form.reason.data, idempotency_key=correct_form.idempotency_key.data,
                related=transfer, override_limits=correct_form.override_limits.data,
            ))
        except DomainError as error:
            error.apply_to(correct_form)
        else:
            flash(_l("De correctie is geboekt."), "success")
            return redirect(url_for("ledger.transfer_detail", transfer_id=transfer.id))
    return render_template("ledger/transfer_detail.html", transfer=transfer, reverse_form=reverse_form,
                           correct_form=correct_form, account_name=selectors.account_name,
                           open_dispute=open_dispute_of(transfer))


KIND_LABELS = {
    TransferKind.TRADE: _l("ruil"),
    TransferKind.FEE: _l("bijdrage"),
    TransferKind.DEMURRAGE: _l("afwaardering"),
    TransferKind.REVERSAL: _l("terugboeking"),
    TransferKind.CORRECTION: _l("correctie"),
    TransferKind.OPENING: _l("beginsaldo"),
}


def kind_label(kind: TransferKind):
    return KIND_LABELS[TransferKind(kind)]


REQUEST_STATUS_LABELS = {
    PaymentRequestStatus.PENDING: _l("wacht op antwoord"),
    PaymentRequestStatus.ACCEPTED: _l("betaald"),
    PaymentRequestStatus.DECLINED: _l("geweigerd"),
    PaymentRequestStatus.CANCELLED: _l("ingetrokken"),
    PaymentRequestStatus.EXPIRED: _l("verlopen"),
}


@bp.app_template_filter("hours")
def hours_filter(minutes: int | None) -> str:
    """``90`` -> ``1:30``."""
    return "" if minutes is None else format_minutes(minutes)


@bp.app_context_processor
def ledger_helpers():
    return {"kind_label": kind_label, "request_status_label": REQUEST_STATUS_LABELS.__getitem__,
            "is_ring_coordinator": is_ring_coordinator}
