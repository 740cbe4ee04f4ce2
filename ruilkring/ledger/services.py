"""The only code that writes ledger rows (accounts' balances, transfers, entries).

The write path, the same on SQLite and PostgreSQL, runs inside one transaction started
by ``ruilkring.database.run_ledger_transaction``:

1. lock the accounts involved in ascending id order (``SELECT ... FOR UPDATE`` on
   PostgreSQL; SQLite already holds the write lock from ``BEGIN IMMEDIATE``);
2. refuse a move that takes an account further past a limit: a debit may not end below
   the minimum, a credit may not end above the maximum (an account already past a limit
   after it was tightened may still move back towards it);
3. insert the transfer unless its idempotency key is taken (``ON CONFLICT DO NOTHING``):
   a replay returns the first transfer, also when step 2 would refuse it now, and the
   same key with another payload is refused;
4. insert its two entries and update the cached balances and versions.

Nothing here commits, and nothing is ever updated or deleted: mistakes are undone by a
reversal or fixed by a correction.

``transfer_create``, which every payment goes through, runs these steps as SQLAlchemy Core
statements on the session's connection (six statements, compiled once), not through the
ORM's unit of work, which made it several times slower (docs/BENCHMARKS.md, Ledger); the
session's objects are kept in step with what it wrote.
"""

import functools
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ruilkring import clock
from ruilkring.audit.services import audit_record
from ruilkring.auth.models import User
from ruilkring.database import upsert
from ruilkring.errors import DomainError
from ruilkring.extensions import db
from ruilkring.ledger.amounts import format_minutes
from ruilkring.ledger.models import (
    Account,
    AccountKind,
    AccountStatus,
    Entry,
    LimitChange,
    PaymentRequest,
    PaymentRequestStatus,
    Transfer,
    TransferKind,
)
from ruilkring.listings.models import Listing
from ruilkring.members.models import ACCESS_STATUSES, Member, MemberStatus
from ruilkring.notifications.services import mail_queue, notification_create
from ruilkring.rings.models import Ring
from ruilkring.stats.rollups import rollup_record, rollup_record_reversal, rollups_rebuild
from ruilkring.stats.ties import tie_record_reversal, tie_record_trade, ties_rebuild

MAX_DESCRIPTION = 500
MAX_AMOUNT = 1000 * 60  # no single trade is a thousand hours


class LimitExceeded(DomainError):
    """The transfer would take an account further past a limit. ``possible`` is the
    largest amount (minutes) that would have been accepted."""

    code = "limit_exceeded"

    def __init__(self, message, possible: int, field: str | None = "amount"):
        super().__init__(message, field=field)
        self.possible = possible


# Accounts


def account_open(*, member: Member) -> Account:
    """The member's account, created with the ring's default limits when missing."""
    account = db.session.scalar(select(Account).where(Account.member_id == member.id))
    if account is None:
        account = Account(ring_id=member.ring_id, member_id=member.id, kind=AccountKind.MEMBER)
        db.session.add(account)
        db.session.flush()
    return account


def account_ids(*members: Member) -> dict[int, int]:
    """Member id -> account id for ``members``, read in one query (the write path loads the
    accounts itself); a missing account is opened as ``account_open`` does."""
    ids = dict(db.session.execute(
        select(Account.member_id, Account.id).where(Account.member_id.in_([m.id for m in members]))).all())
    for member in members:
        if member.id not in ids:
            ids[member.id] = account_open(member=member).id
    return ids


def system_account(*, ring: Ring, kind: AccountKind) -> Account:
    """The ring's own account of this kind (the pot, or the opening-balance account)."""
    if kind == AccountKind.MEMBER:
        raise ValueError("member accounts belong to a member")
    account = db.session.scalar(
        select(Account).where(Account.ring_id == ring.id, Account.kind == kind, Account.member_id.is_(None))
    )
    if account is None:
        account = Account(ring_id=ring.id, kind=kind)
        db.session.add(account)
        db.session.flush()
    return account


@dataclass(frozen=True)
class Limits:
    """The limits in force for an account; None means no limit on that side."""

    min_balance: int | None
    max_balance: int | None


def limits_in_force(account: Account) -> Limits:
    """Personal limits, else the ring's defaults; a leaving member may only move towards
    zero (limits 0 and 0); the ring's own accounts have no limits."""
    if account.kind != AccountKind.MEMBER:
        return Limits(None, None)
    return _limits(account.member.status, account.min_balance, account.max_balance,
                   account.ring.default_min_balance, account.ring.default_max_balance)


def _limits(member_status: MemberStatus, own_min: int | None, own_max: int | None, ring_min: int | None,
            ring_max: int | None) -> Limits:
    """A member account's limits (see ``limits_in_force``)."""
    if member_status == MemberStatus.LEAVING:
        return Limits(0, 0)
    return Limits(ring_min if own_min is None else own_min, ring_max if own_max is None else own_max)


@dataclass(frozen=True)
class _Locked:
    """An account as the write path reads it under lock, with what its checks need."""

    id: int
    ring_id: int
    status: AccountStatus
    balance: int
    version: int
    member_id: int | None
    member_status: MemberStatus | None
    limits: Limits


_accounts, _members, _rings = Account.__table__, Member.__table__, Ring.__table__
_transfers, _entries = Transfer.__table__, Entry.__table__

# transfer_create's statements, built once; SQLAlchemy caches their compiled form.
_LOCK = (
    select(_accounts.c.id, _accounts.c.ring_id, _accounts.c.kind, _accounts.c.status, _accounts.c.balance,
           _accounts.c.version, _accounts.c.min_balance, _accounts.c.max_balance, _accounts.c.member_id,
           _members.c.status.label("member_status"), _rings.c.default_min_balance, _rings.c.default_max_balance)
    .join(_rings, _rings.c.id == _accounts.c.ring_id)
    .outerjoin(_members, _members.c.id == _accounts.c.member_id)
    .where(_accounts.c.id.in_([bindparam("first"), bindparam("second")]))
    .order_by(_accounts.c.id)
    .with_for_update(of=_accounts)
)
_BY_KEY = select(_transfers.c.id, _transfers.c.payload_hash).where(_transfers.c.idempotency_key == bindparam("key"))
_INSERT_ENTRY = insert(_entries)  # run for both entries at once (executemany): SQLAlchemy caches it
_MOVE = (
    update(_accounts).where(_accounts.c.id.in_([bindparam("payer"), bindparam("payee")]))
    .values(balance=case((_accounts.c.id == bindparam("payer"), bindparam("payer_balance")),
                         else_=bindparam("payee_balance")),
            version=_accounts.c.version + 1)
)


@functools.cache
def _insert_transfer(dialect: str):
    """Insert a transfer and return its id; nothing (no row) when its idempotency key is
    taken, so a new key costs no lookup. A replay waits here for a concurrent transaction
    with the same key to end."""
    return (upsert(_transfers, dialect).on_conflict_do_nothing(index_elements=[_transfers.c.idempotency_key])
            .returning(_transfers.c.id))


def _replayed(connection: Connection, key: str, payload_hash: str) -> Transfer | None:
    """The transfer booked earlier under idempotency ``key``, marked as replayed; None when
    the key is new. The same key with another payload is refused."""
    existing = connection.execute(_BY_KEY, {"key": key}).first()
    if existing is None:
        return None
    if existing.payload_hash != payload_hash:
        raise DomainError(
            _l("Deze betaling is al eerder verstuurd met andere gegevens. Laad het formulier opnieuw."),
            code="idempotency_conflict",
        )
    transfer = db.session.get(Transfer, existing.id)
    transfer.replayed = True
    return transfer


def _lock_accounts(connection: Connection, first: int, second: int) -> dict[int, _Locked]:
    """Lock both accounts (ascending id order on PostgreSQL; SQLite holds the write lock
    already) and read them with their member's status and the limits in force."""
    locked = {}
    for row in connection.execute(_LOCK, {"first": first, "second": second}):
        if row.kind == AccountKind.MEMBER:
            limits = _limits(row.member_status, row.min_balance, row.max_balance, row.default_min_balance,
                             row.default_max_balance)
        else:
            limits = Limits(None, None)
        locked[row.id] = _Locked(row.id, row.ring_id, row.status, row.balance, row.version,
                                 row.member_id, row.member_status, limits)
    return locked


def _payload_hash(*, payer_id: int, payee_id: int, amount: int, kind: TransferKind, description: str,
                  reverses_id: int | None, listing_id: int | None) -> str:
    """What an idempotency key was used for: a replay with another payload is refused."""
    payload = dict(payer=payer_id, payee=payee_id, amount=amount, kind=kind.value, description=description,
                   reverses=reverses_id)
    if listing_id is not None:
        # Only when set, so hashes of transfers without a listing stay what they were.
        payload["listing"] = listing_id
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _check_limits(payer: Account, payee: Account, amount: int) -> None:
    _check_limits_values(payer.balance, limits_in_force(payer).min_balance,
                         payee.balance, limits_in_force(payee).max_balance, amount)


def _check_limits_values(payer_balance: int, payer_min: int | None, payee_balance: int,
                         payee_max: int | None, amount: int) -> None:
    """Refuse a debit that ends below the payer's minimum or a credit that ends above the
    payee's maximum, saying how much would have been possible."""
    possible = amount
    problems = []
    if payer_min is not None and payer_balance - amount < payer_min:
        possible = min(possible, max(0, payer_balance - payer_min))
        problems.append("payer")
    if payee_max is not None and payee_balance + amount > payee_max:
        possible = min(possible, max(0, payee_max - payee_balance))
        problems.append("payee")
    if not problems:
        return
    hours = format_minutes(possible)
    if possible == 0 and problems == ["payer"]:
        message = _l("Dit kan niet: de betaler zit aan de ondergrens van zijn of haar saldo. "
                     "Er kan nu niets meer af.")
    elif possible == 0:
        message = _l("Dit kan niet: de ontvanger zit aan de bovengrens van zijn of haar saldo. "
                     "Er kan nu niets meer bij.")
    elif problems == ["payer"]:
        message = _l("Dit bedrag is te hoog: de betaler zou onder de ondergrens komen. "
                     "Er kan nu hoogstens %(hours)s uur af.", hours=hours)
    else:
        message = _l("Dit bedrag is te hoog: de ontvanger zou boven de bovengrens komen. "
                     "Er kan nu hoogstens %(hours)s uur bij.", hours=hours)
    raise LimitExceeded(message, possible=possible)


def _check_can_trade(account: Account, kind: TransferKind) -> None:
    _check_can_trade_values(account.status, account.member.status if account.member else None,
                            account.member_id, kind)


def _check_can_trade_values(status: AccountStatus, member_status: MemberStatus | None, member_id: int | None,
                            kind: TransferKind) -> None:
    if status != AccountStatus.ACTIVE:
        raise DomainError(_l("Deze rekening is bevroren of gesloten; er kan niets op worden geboekt."))
    # Trades need members who take part; corrections and reversals by a coordinator may
    # touch any member's account, so the books can always be put right.
    if kind in (TransferKind.TRADE, TransferKind.FEE) and member_id is not None:
        if member_status not in ACCESS_STATUSES:
            raise DomainError(
                _l("%(name)s doet op dit moment niet mee in de kring; ruilen kan niet.",
                   name=db.session.get(Member, member_id).name),
                field="payee",
            )


def transfer_create(
    *,
    payer_id: int,
    payee_id: int,
    amount: int,
    idempotency_key: str,
    entered_by: User | None,
    kind: TransferKind = TransferKind.TRADE,
    description: str = "",
    reason: str = "",
    on_behalf_of: Member | None = None,
    occurred_on: date | None = None,
    reverses: Transfer | None = None,
    override_limits: bool = False,
    listing: Listing | None = None,
) -> Transfer:
    """Book ``amount`` minutes from account ``payer_id`` to account ``payee_id`` (both of
    one ring), optionally for a ``listing`` of that ring (the offer or request the help
    was about). Ids, not objects: the write path reads both accounts itself, under lock.

    A replay of ``idempotency_key`` with the same payload returns the first transfer; with
    another payload it is refused. ``override_limits`` lets a coordinator's reversal or a
    historical import pass a limit; it is recorded on the transfer and in the audit log.
    """
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise DomainError(_l("Vul een bedrag in dat groter is dan nul."), field="amount")
    if amount > MAX_AMOUNT:
        raise DomainError(_l("Dat bedrag is onwaarschijnlijk hoog. Controleer het nog eens."), field="amount")
    if payer_id == payee_id:
        raise DomainError(_l("U kunt niet aan uzelf betalen."), field="payee")
    if not idempotency_key or len(idempotency_key) > 80:
        raise DomainError(_l("Het formulier is niet compleet. Laad de pagina opnieuw."))
    if override_limits and not reason.strip():
        raise DomainError(_l("Geef een reden op om de grenzen te mogen overschrijden."), field="reason")
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise DomainError(_l("De omschrijving is te lang (hoogstens %(n)d tekens).", n=MAX_DESCRIPTION),
                          field="description")
    payload_hash = _payload_hash(payer_id=payer_id, payee_id=payee_id, amount=amount, kind=kind,
                                 description=description, reverses_id=reverses.id if reverses else None,
                                 listing_id=listing.id if listing else None)

    db.session.flush()  # the caller's pending changes (a member's new status, say) count below
    connection = db.session.connection()
    locked = _lock_accounts(connection, payer_id, payee_id)
    if len(locked) != 2:
        raise DomainError(_l("Deze rekening bestaat niet."), field="payee")
    payer_row, payee_row = locked[payer_id], locked[payee_id]
    if payer_row.ring_id != payee_row.ring_id:
        raise DomainError(_l("Betalen kan alleen binnen dezelfde kring."), field="payee")
    if listing is not None and listing.ring_id != payer_row.ring_id:
        raise DomainError(_l("Deze advertentie hoort niet bij uw kring."), field="listing_id")

    try:
        for row in (payer_row, payee_row):
            _check_can_trade_values(row.status, row.member_status, row.member_id, kind)
        if not override_limits:
            _check_limits_values(payer_row.balance, payer_row.limits.min_balance, payee_row.balance,
                                 payee_row.limits.max_balance, amount)
    except DomainError:
        # A replay answers with the first transfer, whatever the balances are now.
        replayed = _replayed(connection, idempotency_key, payload_hash)
        if replayed is None:
            raise
        return replayed

    values = dict(
        ring_id=payer_row.ring_id,
        payer_account_id=payer_id,
        payee_account_id=payee_id,
        amount=amount,
        kind=kind,
        description=description,
        reason=reason.strip(),
        idempotency_key=idempotency_key,
        payload_hash=payload_hash,
        reverses_id=reverses.id if reverses else None,
        entered_by_id=entered_by.id if entered_by else None,
        on_behalf_of_id=on_behalf_of.id if on_behalf_of else None,
        limit_override=override_limits,
        listing_id=listing.id if listing is not None else None,
        occurred_on=occurred_on or clock.today(),
        created_at=clock.now(),
    )
    transfer_id = connection.execute(_insert_transfer(connection.dialect.name), values).scalar()
    if transfer_id is None:  # the key was used before: nothing was written
        return _replayed(connection, idempotency_key, payload_hash)
    moves = [(payer_row, -amount), (payee_row, amount)]
    connection.execute(_INSERT_ENTRY, [
        {"transfer_id": transfer_id, "account_id": row.id, "amount": signed, "balance_after": row.balance + signed,
         "account_version": row.version + 1, "min_balance": row.limits.min_balance,
         "max_balance": row.limits.max_balance}
        for row, signed in moves])
    connection.execute(_MOVE, {"payer": payer_id, "payee": payee_id, "payer_balance": payer_row.balance - amount,
                               "payee_balance": payee_row.balance + amount})
    # The session's accounts, where it holds them, learn what was written, as if they had
    # been loaded after it.
    for row, signed in moves:
        account = db.session.identity_map.get(identity_key(Account, row.id))
        if account is not None:
            set_committed_value(account, "balance", row.balance + signed)
            set_committed_value(account, "version", row.version + 1)
    # The new row as an object of the session, without loading it again. An object the
    # identity map still holds under this id is of a rolled-back transfer (SQLite reuses
    # the ids of rolled-back rows): it goes first.
    transfer = Transfer(id=transfer_id, **values)
    make_transient_to_detached(transfer)
    stale = db.session.identity_map.get(identity_key(instance=transfer))
    if stale is not None:
        db.session.expunge(stale)
    db.session.add(transfer)

    # The social-effect ties and rollups move with the ledger, in the same transaction.
    if kind == TransferKind.TRADE and payer_row.member_id is not None and payee_row.member_id is not None:
        tie_record_trade(connection, ring_id=payer_row.ring_id,
                         member_ids=(payer_row.member_id, payee_row.member_id), transfer_id=transfer_id,
                         occurred_on=values["occurred_on"], amount=amount)
        rollup_record(connection, ring_id=payer_row.ring_id, payer_member_id=payer_row.member_id,
                      payee_member_id=payee_row.member_id, occurred_on=values["occurred_on"], amount=amount)
    elif reverses is not None:
        tie_record_reversal(original=reverses)
        rollup_record_reversal(original=reverses)
    if override_limits:
        audit_record(actor=entered_by, action="transfer.limit_override", ring=db.session.get(Ring, payer_row.ring_id),
                     new={"transfer": transfer_id, "amount": amount}, reason=reason)
    return transfer


# Member-facing operations


def _notify_payment(transfer: Transfer, payer: Member, payee: Member) -> None:
    ring = payee.ring
    text = _l("%(payer)s heeft u %(hours)s uur betaald: %(description)s",
              payer=payer.name, hours=format_minutes(transfer.amount), description=transfer.description)
    link = url_for("ledger.statement", ring_slug=ring.slug)
    notification_create(user=payee.user, ring=ring, text=text, link=link)
    mail_queue(user=payee.user, subject=_l("U heeft %(hours)s uur ontvangen", hours=format_minutes(transfer.amount)),
               template="payment_received", payer=payer, transfer=transfer, ring=ring,
               link=url_for("ledger.statement", ring_slug=ring.slug, _external=True))


def payment_check(*, payer: Member, payee: Member, amount: int) -> None:
    """Would this payment pass the limits now? For the confirmation page; the payment
    itself checks again under lock."""
    payer_account, payee_account = account_open(member=payer), account_open(member=payee)
    for account in (payer_account, payee_account):
        _check_can_trade(account, TransferKind.TRADE)
    _check_limits(payer_account, payee_account, amount)


def payment_create(
    *, payer: Member, payee: Member, amount: int, description: str, idempotency_key: str,
    listing: Listing | None = None,
) -> Transfer:
    """A member pays another member of the same ring, optionally for a listing of that
    ring; the payee is told in the app and by mail."""
    if payee.ring_id != payer.ring_id:
        raise DomainError(_l("Deze persoon is geen lid van uw kring."), field="payee")
    if payee.id == payer.id:
        raise DomainError(_l("U kunt niet aan uzelf betalen."), field="payee")
    if not description.strip():
        raise DomainError(_l("Schrijf erbij waarvoor u betaalt."), field="description")
    accounts = account_ids(payer, payee)
    transfer = transfer_create(
        payer_id=accounts[payer.id], payee_id=accounts[payee.id], amount=amount,
        idempotency_key=idempotency_key, entered_by=payer.user, description=description,
        listing=listing,
    )
    if not transfer.replayed:
        _notify_payment(transfer, payer, payee)
    return transfer


def coordinator_book(
    *, payer: Member, payee: Member, amount: int, description: str, note: str,
    booked_by: User, idempotency_key: str,
) -> Transfer:
    """A coordinator books a trade between two members on their behalf (a paper slip,
    a member without internet). The note is required and kept with the transfer."""
    if payer.ring_id != payee.ring_id:
        raise DomainError(_l("Beide leden moeten in dezelfde kring zitten."), field="payee")
    if not note.strip():
        raise DomainError(_l("Schrijf een notitie: waarom boekt u dit voor de leden?"), field="note")
    if not description.strip():
        raise DomainError(_l("Schrijf erbij waarvoor betaald wordt."), field="description")
    accounts = account_ids(payer, payee)
    transfer = transfer_create(
        payer_id=accounts[payer.id], payee_id=accounts[payee.id], amount=amount,
        idempotency_key=idempotency_key, entered_by=booked_by, description=description,
        reason=note, on_behalf_of=payer,
    )
    if not transfer.replayed:
        audit_record(actor=booked_by, action="transfer.book_on_behalf", subject=payer,
                     new={"transfer": transfer.id, "payee": payee.id, "amount": amount}, reason=note)
        _notify_payment(transfer, payer, payee)
    return transfer


@dataclass
class BulkLine:
    member: Member
    amount: int
    possible: bool
    problem: str = ""


def _bulk_accounts(ring: Ring, counterpart: Member | None) -> Account:
    return account_open(member=counterpart) if counterpart else system_account(ring=ring, kind=AccountKind.POT)


def bulk_preview(*, ring: Ring, members: list[Member], amount: int, direction: str,
                 counterpart: Member | None = None) -> list[BulkLine]:
    """What a bulk booking would do for each member, without writing anything.
    ``direction`` is ``from_members`` (each member pays the counterpart, by default the
    kring's pot) or ``to_members`` (the counterpart pays each member). The counterpart's
    balance moves with every line before it, as it will when the lines are booked."""
    other = _bulk_accounts(ring, counterpart)
    other_balance, other_limits = other.balance, limits_in_force(other)
    step = amount if direction == "from_members" else -amount
    lines = []
    for member in members:
        account = account_open(member=member)
        payer, payee = (account, other) if direction == "from_members" else (other, account)
        try:
            if payer.id == payee.id:
                raise DomainError(_l("De tegenrekening kan niet ook in de lijst staan."))
            _check_can_trade(payer, TransferKind.FEE)
            _check_can_trade(payee, TransferKind.FEE)
            if direction == "from_members":
                _check_limits_values(account.balance, limits_in_force(account).min_balance, other_balance,
                                     other_limits.max_balance, amount)
            else:
                _check_limits_values(other_balance, other_limits.min_balance, account.balance,
                                     limits_in_force(account).max_balance, amount)
        except DomainError as error:
            lines.append(BulkLine(member, amount, False, str(error.message)))
        else:
            lines.append(BulkLine(member, amount, True))
            other_balance += step
    return lines


def bulk_book(
    *, ring: Ring, members: list[Member], amount: int, direction: str, description: str,
    booked_by: User, idempotency_key: str, counterpart: Member | None = None,
) -> list[Transfer]:
    """Book the same amount between many members and one counterpart, all or nothing:
    if any single transfer is refused, none is booked."""
    if direction not in ("from_members", "to_members"):
        raise DomainError(_l("Kies een richting."), field="direction")
    if not members:
        raise DomainError(_l("Kies minstens één lid."), field="members")
    if not description.strip():
        raise DomainError(_l("Schrijf erbij waarvoor geboekt wordt."), field="description")
    other = _bulk_accounts(ring, counterpart)
    transfers = []
    for member in members:
        account = account_open(member=member)
        payer, payee = (account, other) if direction == "from_members" else (other, account)
        try:
            transfers.append(transfer_create(
                payer_id=payer.id, payee_id=payee.id, amount=amount, kind=TransferKind.FEE,
                idempotency_key=f"{idempotency_key}:{member.id}"[:80], entered_by=booked_by,
                description=description, reason=str(_l("Groepsboeking")), on_behalf_of=member,
            ))
        except DomainError as error:
            raise DomainError(
                _l("Niets geboekt: bij %(name)s lukt het niet. %(problem)s", name=member.name,
                   problem=str(error.message)),
                field="members",
            ) from error
    booked = [transfer for transfer in transfers if not transfer.replayed]  # none when the form came twice
    if booked:
        audit_record(actor=booked_by, action="transfer.bulk_book", ring=ring,
                     new={"members": len(booked), "amount": amount, "direction": direction,
                          "transfers": [t.id for t in booked]})
    return transfers


# Coordinator corrections


def transfer_reverse(
    *, transfer: Transfer, reversed_by: User, reason: str, idempotency_key: str,
    override_limits: bool = False, notify: bool = True,
) -> Transfer:
    """Undo ``transfer`` with a transfer the other way (same amount), once per transfer.
    A reversal that would break a limit needs ``override_limits``, which is logged.
    Both parties are told, unless the caller tells them itself (``notify=False``, as a
    dispute's resolution does with its outcome)."""
    if not reason.strip():
        raise DomainError(_l("Geef een reden op voor het terugdraaien."), field="reason")
    if transfer.kind == TransferKind.REVERSAL:
        raise DomainError(_l("Een terugboeking kan zelf niet worden teruggedraaid. Boek een correctie."))
    # Serialise with other reversals of the same transfer before looking for one.
    _lock_accounts(db.session.connection(), transfer.payer_account_id, transfer.payee_account_id)
    already = db.session.scalar(select(Transfer).where(Transfer.reverses_id == transfer.id))
    if already is not None and already.idempotency_key == idempotency_key:
        already.replayed = True  # the same form sent twice: the first reversal stands
        return already
    if already is not None:
        raise DomainError(_l("Deze transactie is al teruggedraaid."), code="already_reversed")
    reversal = transfer_create(
        payer_id=transfer.payee_account_id, payee_id=transfer.payer_account_id, amount=transfer.amount,
        kind=TransferKind.REVERSAL,
        idempotency_key=idempotency_key, entered_by=reversed_by, reverses=transfer,
        description=str(_l("Terugboeking van transactie %(id)d", id=transfer.id)),
        reason=reason, override_limits=override_limits,
    )
    audit_record(actor=reversed_by, action="transfer.reverse", ring=transfer.payer.ring,
                 old={"transfer": transfer.id}, new={"reversal": reversal.id,
                                                     "override_limits": override_limits},
                 reason=reason)
    if notify:
        _notify_parties(transfer, _l("Transactie %(id)d (%(hours)s uur) is teruggedraaid door een coördinator. Reden: %(reason)s",
                                     id=transfer.id, hours=format_minutes(transfer.amount), reason=reason))
    return reversal


def transfer_correct(
    *, payer: Account, payee: Account, amount: int, corrected_by: User, reason: str,
    idempotency_key: str, related: Transfer | None = None, override_limits: bool = False,
    notify: bool = True,
) -> Transfer:
    """A correction transfer for a partial fix, e.g. half of a wrong amount back. Both
    parties are told, unless the caller does so itself (``notify=False``)."""
    if not reason.strip():
        raise DomainError(_l("Geef een reden op voor de correctie."), field="reason")
    description = (str(_l("Correctie bij transactie %(id)d", id=related.id)) if related
                   else str(_l("Correctie")))
    correction = transfer_create(
        payer_id=payer.id, payee_id=payee.id, amount=amount, kind=TransferKind.CORRECTION,
        idempotency_key=idempotency_key, entered_by=corrected_by, description=description,
        reason=reason, override_limits=override_limits,
    )
    if correction.replayed:  # the same form sent twice: logged and told the first time
        return correction
    audit_record(actor=corrected_by, action="transfer.correct", ring=payer.ring,
                 new={"correction": correction.id, "related": related.id if related else None,
                      "amount": amount}, reason=reason)
    if notify:
        _notify_parties(correction, _l("Een coördinator heeft een correctie van %(hours)s uur geboekt. "
                                       "Reden: %(reason)s", hours=format_minutes(amount), reason=reason))
    return correction


def _notify_parties(transfer: Transfer, text) -> None:
    for account in (transfer.payer, transfer.payee):
        if account.member is not None:
            ring = account.ring
            notification_create(user=account.member.user, ring=ring, text=text,
                                link=url_for("ledger.statement", ring_slug=ring.slug))
            mail_queue(user=account.member.user, subject=_l("Correctie in uw saldo"),
                       template="transfer_corrected", text=text, ring=ring)


def limits_set(
    *, account: Account, min_balance: int | None, max_balance: int | None, changed_by: User, reason: str,
) -> LimitChange:
    """Give a member personal limits (None: back to the ring's default). Recorded with
    reason and history. A member already past a new limit is not moved; they may only
    trade back towards it."""
    if not reason.strip():
        raise DomainError(_l("Geef een reden op voor de nieuwe grenzen."), field="reason")
    if min_balance is not None and min_balance > 0:
        raise DomainError(_l("De ondergrens moet 0 of lager zijn."), field="min_balance")
    if max_balance is not None and max_balance < 0:
        raise DomainError(_l("De bovengrens moet 0 of hoger zijn."), field="max_balance")
    change = LimitChange(
        account_id=account.id, old_min_balance=account.min_balance, old_max_balance=account.max_balance,
        new_min_balance=min_balance, new_max_balance=max_balance, reason=reason.strip(),
        changed_by_id=changed_by.id,
    )
    db.session.add(change)
    audit_record(actor=changed_by, action="account.set_limits", subject=account.member,
                 old={"min": account.min_balance, "max": account.max_balance},
                 new={"min": min_balance, "max": max_balance}, reason=reason)
    account.min_balance = min_balance
    account.max_balance = max_balance
    db.session.flush()
    return change


# Payment requests (betaalverzoeken)


def _request_sent_before(request: PaymentRequest) -> PaymentRequest | None:
    """The request stored earlier under ``request``'s idempotency key, marked as replayed;
    None when there is none. The same key for another request is refused."""
    first = db.session.scalar(select(PaymentRequest).where(PaymentRequest.idempotency_key == request.idempotency_key))
    if first is None:
        return None
    same = ("payee_id", "payer_id", "amount", "description", "listing_id")
    if any(getattr(first, name) != getattr(request, name) for name in same):
        raise DomainError(
            _l("Dit betaalverzoek is al eerder verstuurd met andere gegevens. Laad het formulier opnieuw."),
            code="idempotency_conflict",
        )
    first.replayed = True
    return first


def payment_request_create(
    *, payee: Member, payer: Member, amount: int, description: str, listing: Listing | None = None,
    idempotency_key: str | None = None,
) -> PaymentRequest:
    """The helper asks the helped member to pay, optionally for a listing of their ring (the
    transfer will carry it); it expires after the ring's set number of days. A request sent
    again under the same ``idempotency_key`` (a double click, a resubmitted form) is the
    first one, marked as replayed: nothing new is sent."""
    if payer.ring_id != payee.ring_id:
        raise DomainError(_l("Deze persoon is geen lid van uw kring."), field="payer")
    if payer.id == payee.id:
        raise DomainError(_l("U kunt uzelf geen betaalverzoek sturen."), field="payer")
    if payer.status not in ACCESS_STATUSES:
        raise DomainError(_l("%(name)s doet op dit moment niet mee in de kring.", name=payer.name), field="payer")
    if amount <= 0:
        raise DomainError(_l("Vul een bedrag in dat groter is dan nul."), field="amount")
    if amount > MAX_AMOUNT:
        raise DomainError(_l("Dat bedrag is onwaarschijnlijk hoog. Controleer het nog eens."), field="amount")
    if not description.strip():
        raise DomainError(_l("Schrijf erbij waarvoor u betaald wilt worden."), field="description")
    if len(description.strip()) > MAX_DESCRIPTION:
        raise DomainError(_l("De omschrijving is te lang (hoogstens %(n)d tekens).", n=MAX_DESCRIPTION),
                          field="description")
    if listing is not None and listing.ring_id != payee.ring_id:
        raise DomainError(_l("Deze advertentie hoort niet bij uw kring."), field="listing_id")
    ring = payee.ring
    request = PaymentRequest(
        ring_id=ring.id, payer_id=payer.id, payee_id=payee.id, amount=amount,
        description=description.strip(), expires_at=clock.now() + timedelta(days=ring.payment_request_days),
        listing_id=listing.id if listing is not None else None, idempotency_key=idempotency_key,
    )
    if idempotency_key and (first := _request_sent_before(request)) is not None:
        return first
    try:
        # The form and the API run this in run_ledger_transaction, which serialises two submits on SQLite;
        # on PostgreSQL the second one's insert waits for the first at the key's unique index.
        with db.session.begin_nested():
            db.session.add(request)
    except IntegrityError:
        if not idempotency_key or (first := _request_sent_before(request)) is None:
            raise  # not the key: a fault of ours
        return first
    notification_create(
        user=payer.user, ring=ring,
        text=_l("%(payee)s vraagt u %(hours)s uur te betalen: %(description)s",
                payee=payee.name, hours=format_minutes(amount), description=request.description),
        link=url_for("ledger.requests", ring_slug=ring.slug),
    )
    mail_queue(user=payer.user, subject=_l("Betaalverzoek van %(name)s", name=payee.name),
               template="payment_request", request=request, ring=ring,
               link=url_for("ledger.requests", ring_slug=ring.slug, _external=True))
    return request


def _lock_request(request: PaymentRequest) -> PaymentRequest:
    return db.session.scalars(
        select(PaymentRequest).where(PaymentRequest.id == request.id)
        .with_for_update().execution_options(populate_existing=True)
    ).one()


def _check_pending(request: PaymentRequest) -> None:
    """Refuse answering a request that is no longer pending. An overdue one is refused as
    expired; marking it so is ``payment_requests_expire``'s work (the refusal rolls back)."""
    overdue = request.status == PaymentRequestStatus.PENDING and request.expires_at <= clock.now()
    if overdue or request.status == PaymentRequestStatus.EXPIRED:
        raise DomainError(_l("Dit betaalverzoek is verlopen. Vraag de ander om een nieuw verzoek."),
                          code="request_expired")
    if request.status != PaymentRequestStatus.PENDING:
        raise DomainError(_l("Dit betaalverzoek is al afgehandeld."), code="request_closed")


def payment_request_accept(*, request: PaymentRequest, accepted_by: Member) -> Transfer:
    """The payer accepts: the request becomes a transfer, limits checked now. Accepting
    twice gives the same transfer (the request's id is the idempotency key)."""
    if accepted_by.id != request.payer_id:
        raise DomainError(_l("Alleen degene die moet betalen kan dit verzoek accepteren."))
    accounts = account_ids(request.payer, request.payee)
    payer_id, payee_id = accounts[request.payer_id], accounts[request.payee_id]
    _lock_accounts(db.session.connection(), payer_id, payee_id)
    request = _lock_request(request)
    if request.status == PaymentRequestStatus.ACCEPTED:
        return request.transfer
    _check_pending(request)
    transfer = transfer_create(
        payer_id=payer_id, payee_id=payee_id, amount=request.amount,
        idempotency_key=f"payment-request:{request.id}", entered_by=accepted_by.user,
        description=request.description, listing=request.listing,
    )
    request.status = PaymentRequestStatus.ACCEPTED
    request.transfer_id = transfer.id
    request.decided_at = clock.now()
    _notify_payment(transfer, request.payer, request.payee)
    return transfer


def payment_request_decline(*, request: PaymentRequest, declined_by: Member, reason: str) -> None:
    """The payer declines, with a reason the requester sees."""
    if declined_by.id != request.payer_id:
        raise DomainError(_l("Alleen degene die moet betalen kan dit verzoek weigeren."))
    if not reason.strip():
        raise DomainError(_l("Schrijf kort waarom u weigert."), field="reason")
    request = _lock_request(request)
    _check_pending(request)
    request.status = PaymentRequestStatus.DECLINED
    request.decline_reason = reason.strip()
    request.decided_at = clock.now()
    ring = request.payee.ring
    notification_create(
        user=request.payee.user, ring=ring,
        text=_l("%(payer)s heeft uw betaalverzoek van %(hours)s uur geweigerd: %(reason)s",
                payer=request.payer.name, hours=format_minutes(request.amount), reason=request.decline_reason),
        link=url_for("ledger.requests", ring_slug=ring.slug),
    )


def payment_request_cancel(*, request: PaymentRequest, cancelled_by: Member) -> None:
    """The requester withdraws a pending request."""
    if cancelled_by.id != request.payee_id:
        raise DomainError(_l("Alleen wie het verzoek stuurde kan het intrekken."))
    request = _lock_request(request)
    _check_pending(request)
    request.status = PaymentRequestStatus.CANCELLED
    request.decided_at = clock.now()


def payment_requests_expire() -> int:
    """Mark every pending request past its date as expired (cron); returns how many."""
    overdue = db.session.scalars(
        select(PaymentRequest).where(PaymentRequest.status == PaymentRequestStatus.PENDING,
                                     PaymentRequest.expires_at <= clock.now())
    ).all()
    for request in overdue:
        request.status = PaymentRequestStatus.EXPIRED
        request.decided_at = clock.now()
    db.session.flush()
    return len(overdue)


# Bulk loading of history (demo data, benchmarks, imports)


@dataclass(frozen=True)
class HistoricalTransfer:
    """One transfer of a history to load, in date order."""

    payer_id: int  # account ids
    payee_id: int
    amount: int
    occurred_at: datetime
    description: str = ""
    kind: TransferKind = TransferKind.TRADE
    idempotency_key: str | None = None
    # For kind REVERSAL: the idempotency key of the transfer it reverses, loaded earlier.
    reverses_key: str | None = None
    reason: str = ""  # why it was booked (a coordinator's reason in the source)
    listing_id: int | None = None  # the ring's listing it was for


def _reversible_id(ring: Ring, key: str) -> int:
    """The id of the ring's transfer with idempotency ``key``, which nothing reverses yet."""
    reversal = aliased(Transfer)
    found = db.session.execute(
        select(Transfer.id, reversal.id).outerjoin(reversal, reversal.reverses_id == Transfer.id)
        .where(Transfer.ring_id == ring.id, Transfer.idempotency_key == key)
    ).first()
    if found is None or found[1] is not None:
        raise DomainError(_l("Een terugboeking in de geschiedenis verwijst naar een transactie die er niet is "
                             "of al is teruggeboekt."))
    return found[0]


def _copy_rows(model: type[db.Model], rows: list[dict]) -> None:
    """PostgreSQL: ``COPY`` ``rows`` into ``model``'s table (the columns ``rows[0]`` has) on
    the session's connection, each value bound as SQLAlchemy binds it (enums by value,
    UTCDateTime as naive UTC, None as NULL)."""
    connection = db.session.connection()
    dialect = connection.dialect
    columns = [(column.name, column.type.dialect_impl(dialect).bind_processor(dialect))
               for column in model.__table__.columns if column.name in rows[0]]
    names = ", ".join(name for name, _ in columns)
    with (connection.connection.driver_connection.cursor() as cursor,
          cursor.copy(f"COPY {model.__tablename__} ({names}) FROM STDIN") as copy):
        for row in rows:
            copy.write_row([row[name] if bind is None else bind(row[name]) for name, bind in columns])


def transfers_bulk_load(
    *, ring: Ring, transfers: Iterable[HistoricalTransfer], on_limit: str = "skip",
    entered_by: User | None = None, reason: str = "", chunk_size: int = 5000,
) -> tuple[int, int]:
    """Write a history of transfers fast, with the same rows and invariants as
    ``transfer_create`` (entries with running balances and versions, limits in force).

    For demo data, benchmarks and imports of a whole history: the ring's accounts are
    locked once, balances are carried in memory, and rows go in with multi-row INSERTs
    (``COPY`` on PostgreSQL).
    ``on_limit`` says what to do with a transfer that would break a limit: ``skip`` it,
    ``raise`` LimitExceeded (the caller rolls back), or ``override`` (recorded, needs a
    ``reason``, which an overriding transfer without its own ``reason`` carries). A
    reversal names its original by ``reverses_key``, which must be in the ring's books
    (earlier in this history or loaded before) and not reversed yet. Returns (written,
    skipped).
    """
    if on_limit not in ("skip", "raise", "override"):
        raise ValueError(on_limit)
    if on_limit == "override" and not reason.strip():
        raise DomainError(_l("Geef een reden op om de grenzen te mogen overschrijden."), field="reason")
    accounts = {a.id: a for a in db.session.scalars(
        select(Account).where(Account.ring_id == ring.id).order_by(Account.id)
        .with_for_update().execution_options(populate_existing=True)
    )}
    limits = {account_id: limits_in_force(account) for account_id, account in accounts.items()}
    balances = {account_id: account.balance for account_id, account in accounts.items()}
    versions = {account_id: account.version for account_id, account in accounts.items()}
    written = skipped = overridden = 0
    chunk: list[tuple[dict, int, int]] = []
    postgres = db.engine.dialect.name == "postgresql"

    def flush_chunk():
        if not chunk:
            return
        rows = [row for row, _, _ in chunk]
        if postgres:
            # COPY, with the ids taken from the sequence first: psycopg parses the SQL of
            # every page of a multi-row INSERT ... RETURNING again, which took most of the
            # time of a long import (docs/BENCHMARKS.md, Import).
            db.session.flush()  # as the ORM INSERT would autoflush
            ids = db.session.scalars(text(
                "SELECT nextval(pg_get_serial_sequence('transfers', 'id')) FROM generate_series(1, :n) ORDER BY 1"
            ), {"n": len(rows)}).all()
            for transfer_id, row in zip(ids, rows, strict=True):
                row["id"] = transfer_id
            _copy_rows(Transfer, rows)
        else:
            ids = db.session.scalars(
                insert(Transfer).returning(Transfer.id, sort_by_parameter_order=True), rows
            ).all()
        entries = []
        for transfer_id, (row, payer_version, payee_version) in zip(ids, chunk, strict=True):
            amount = row["amount"]
            for account_id, signed, version, balance_after in (
                (row["payer_account_id"], -amount, payer_version, row.pop("_payer_after")),
                (row["payee_account_id"], amount, payee_version, row.pop("_payee_after")),
            ):
                entries.append({
                    "transfer_id": transfer_id, "account_id": account_id, "amount": signed,
                    "balance_after": balance_after, "account_version": version,
                    "min_balance": limits[account_id].min_balance, "max_balance": limits[account_id].max_balance,
                })
        if postgres:
            _copy_rows(Entry, entries)
        else:
            db.session.execute(insert(Entry), entries)
        chunk.clear()

    for item in transfers:
        payer, payee = accounts.get(item.payer_id), accounts.get(item.payee_id)
        if (payer is None or payee is None or payer.id == payee.id or item.amount <= 0
                or (item.kind == TransferKind.REVERSAL) != (item.reverses_key is not None)):
            raise DomainError(_l("Ongeldige transactie in de geschiedenis."))
        reverses_id = None
        if item.reverses_key is not None:
            flush_chunk()  # the original may be waiting in it
            reverses_id = _reversible_id(ring, item.reverses_key)
        payer_after = balances[payer.id] - item.amount
        payee_after = balances[payee.id] + item.amount
        payer_min, payee_max = limits[payer.id].min_balance, limits[payee.id].max_balance
        breaks = ((payer_min is not None and payer_after < payer_min)
                  or (payee_max is not None and payee_after > payee_max))
        if breaks and on_limit == "skip":
            skipped += 1
            continue
        if breaks and on_limit == "raise":
            flush_chunk()
            _check_limits_values(balances[payer.id], payer_min, balances[payee.id], payee_max, item.amount)
        overridden += breaks
        balances[payer.id], balances[payee.id] = payer_after, payee_after
        versions[payer.id] += 1
        versions[payee.id] += 1
        key = item.idempotency_key or f"bulk:{uuid.uuid4().hex}"
        row = {
            "ring_id": ring.id, "payer_account_id": payer.id, "payee_account_id": payee.id,
            "amount": item.amount, "kind": item.kind, "description": item.description,
            "reason": item.reason.strip() or (reason.strip() if breaks else ""), "idempotency_key": key,
            "payload_hash": _payload_hash(payer_id=payer.id, payee_id=payee.id, amount=item.amount, kind=item.kind,
                                          description=item.description, reverses_id=reverses_id,
                                          listing_id=item.listing_id),
            "reverses_id": reverses_id,
            "entered_by_id": entered_by.id if entered_by else None, "on_behalf_of_id": None,
            "limit_override": breaks, "listing_id": item.listing_id,
            "occurred_on": item.occurred_at.date(), "created_at": item.occurred_at,
            "_payer_after": payer_after, "_payee_after": payee_after,
        }
        chunk.append((row, versions[payer.id], versions[payee.id]))
        written += 1
        if len(chunk) >= chunk_size:
            flush_chunk()
    flush_chunk()
    for account_id, account in accounts.items():
        account.balance = balances[account_id]
        account.version = versions[account_id]
    db.session.flush()
    if written:
        ties_rebuild(ring_id=ring.id)
        rollups_rebuild(ring_id=ring.id)
    if overridden:
        audit_record(actor=entered_by, action="transfer.limit_override", ring=ring,
                     new={"transfers": overridden}, reason=reason)
    return written, skipped
