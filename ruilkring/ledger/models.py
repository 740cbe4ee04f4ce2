"""Ledger tables: accounts, immutable transfers, their double entries, limit history and
payment requests. Amounts are integer minutes everywhere."""

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ruilkring import clock
from ruilkring.extensions import db
from ruilkring.types import UTCDateTime, str_enum


class AccountKind(enum.StrEnum):
    MEMBER = "member"
    POT = "pot"  # the kring's own account, e.g. for contributions
    OPENING = "opening"  # balances brought in from another system


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


class TransferKind(enum.StrEnum):
    TRADE = "trade"
    FEE = "fee"
    DEMURRAGE = "demurrage"
    REVERSAL = "reversal"
    CORRECTION = "correction"
    OPENING = "opening"


class Account(db.Model):
    """A member's (or the ring's own) account. ``balance`` and ``version`` cache the sum and
    count of its entries. ``min_balance``/``max_balance`` are personal limits; NULL means the
    ring's default (member accounts) or no limit at all (system accounts)."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("min_balance IS NULL OR min_balance <= 0", name="min_not_positive"),
        CheckConstraint("max_balance IS NULL OR max_balance >= 0", name="max_not_negative"),
        CheckConstraint("(kind = 'member') = (member_id IS NOT NULL)", name="member_iff_member_kind"),
        CheckConstraint("version >= 0", name="version_not_negative"),
        UniqueConstraint("member_id"),
        Index("uq_accounts_system_kind", "ring_id", "kind", unique=True,
              sqlite_where=db.text("member_id IS NULL"), postgresql_where=db.text("member_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind), default=AccountKind.MEMBER)
    status: Mapped[AccountStatus] = mapped_column(str_enum(AccountStatus), default=AccountStatus.ACTIVE)
    balance: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=0)
    min_balance: Mapped[int | None]
    max_balance: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    ring = relationship("Ring")
    member = relationship("Member", backref=db.backref("account", uselist=False))


class Transfer(db.Model):
    """One payment, never edited or deleted. A mistake is undone by a reversal
    (``reverses_id``, at most one per transfer) or fixed by a correction."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("payer_account_id <> payee_account_id", name="payer_not_payee"),
        CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_links_original"),
        Index("ix_transfers_ring_created", "ring_id", "created_at"),
        Index("ix_transfers_ring_id", "ring_id", "id"),  # a ring's newest transfer
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"))
    payer_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    payee_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int]
    kind: Mapped[TransferKind] = mapped_column(str_enum(TransferKind))
    description: Mapped[str] = mapped_column(Text, default="")
    # Why a coordinator booked, reversed or corrected it.
    reason: Mapped[str] = mapped_column(Text, default="")
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    # Hash of what the key was used for: a replay with another payload is refused.
    payload_hash: Mapped[str] = mapped_column(String(64))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"), unique=True)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The member the transfer was entered for, when someone else (a coordinator) entered it.
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    limit_override: Mapped[bool] = mapped_column(default=False)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    #: set (not stored) when transfer_create answered a replayed idempotency key with this row
    replayed = False

    payer = relationship("Account", foreign_keys=[payer_account_id])
    payee = relationship("Account", foreign_keys=[payee_account_id])
    entered_by = relationship("User")
    on_behalf_of = relationship("Member")
    listing = relationship("Listing")
    reverses = relationship("Transfer", remote_side=[id], backref=db.backref("reversed_by", uselist=False))


class Entry(db.Model):
    """One side of a transfer on one account: ``amount`` is signed; ``balance_after`` and
    ``account_version`` make a statement with running balance one indexed query. The limits
    in force when it was written are kept with it, so ``ledger verify`` can check history."""

    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("account_id", "account_version"),
        UniqueConstraint("transfer_id", "account_id"),
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint("account_version > 0", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int]
    balance_after: Mapped[int]
    account_version: Mapped[int]
    min_balance: Mapped[int | None]
    max_balance: Mapped[int | None]

    transfer = relationship("Transfer", backref=db.backref("entries", order_by="Entry.id"))
    account = relationship("Account")


class LimitChange(db.Model):
    """Append-only history of personal limits: who changed what, when and why."""

    __tablename__ = "limit_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    old_min_balance: Mapped[int | None]
    old_max_balance: Mapped[int | None]
    new_min_balance: Mapped[int | None]
    new_max_balance: Mapped[int | None]
    reason: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    changed_by = relationship("User")


class PaymentRequestStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PaymentRequest(db.Model):
    """A betaalverzoek: the helper (payee) asks the helped member (payer) to pay."""

    __tablename__ = "payment_requests"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("payer_id <> payee_id", name="payer_not_payee"),
        Index("ix_payment_requests_payer_status", "payer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ring_id: Mapped[int] = mapped_column(ForeignKey("rings.id"))
    payer_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    payee_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    amount: Mapped[int]
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[PaymentRequestStatus] = mapped_column(
        str_enum(PaymentRequestStatus), default=PaymentRequestStatus.PENDING)
    decline_reason: Mapped[str] = mapped_column(Text, default="")
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"), unique=True)
    # The offer or request the help was about; carried to the transfer on acceptance.
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"))
    # The request form's key (or the API caller's, as ``api:<member id>:<key>``), so a double
    # click or a retry sends one request; NULL from the API without the header, and for
    # requests made before the key existed.
    idempotency_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    #: set (not stored) when payment_request_create answered a replayed key with this row
    replayed = False

    payer = relationship("Member", foreign_keys=[payer_id])
    payee = relationship("Member", foreign_keys=[payee_id])
    transfer = relationship("Transfer")
    listing = relationship("Listing")
