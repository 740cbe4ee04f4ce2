"""Request and response bodies of the JSON API (pydantic models). The OpenAPI document
is generated from them by spectree (see ``views.py``)."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ruilkring.ledger.services import MAX_AMOUNT
from ruilkring.ledger.services import MAX_DESCRIPTION as MAX_TRANSFER_DESCRIPTION
from ruilkring.listings.services import MAX_DESCRIPTION as MAX_LISTING_DESCRIPTION
from ruilkring.listings.services import MAX_TITLE
from ruilkring.types import INT_MAX

# Row ids fit PostgreSQL's integer.
Id = Annotated[int, Field(ge=1, le=INT_MAX)]
Minutes = Annotated[int, Field(description="An amount of time in minutes (90 is 1:30).")]


def text(max_length: int, min_length: int = 0):
    """A string without NUL characters (which databases refuse)."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length,
                                            pattern=r"^[^\x00]*$")]


ListingKindName = Literal["offer", "request"]
HelpKindName = Literal["practical", "social_emotional", "informative"]
PlaceName = Literal["at_home", "at_my_place", "online", "in_neighbourhood"]


class Input(BaseModel):
    """A request body or query: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# Errors


class Problem(BaseModel):
    """An error (RFC 9457), sent as application/problem+json."""

    type: str = Field(description="A link to the code's explanation on the API page.")
    title: str
    status: int
    detail: str
    code: str = Field(description="Machine-readable, e.g. limit_exceeded.")
    errors: dict[str, list[str]] | None = Field(None, description="Messages per field.")
    possible_minutes: int | None = Field(
        None, description="With limit_exceeded: the largest amount that would have been accepted.")


# Who am I


class RingOut(BaseModel):
    id: int
    slug: str
    name: str


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime


class MeOut(BaseModel):
    member_id: int
    name: str
    email: str
    role: Literal["member", "coordinator"]
    status: str
    is_coordinator: bool
    ring: RingOut
    token: TokenOut


# Members


class MemberOut(BaseModel):
    """What the caller may see of a member: the directory fields and the contact details
    the member shares (all of them for coordinators). The fields marked coordinators
    only are null for other callers."""

    id: int
    name: str
    role: Literal["member", "coordinator"]
    neighbourhood: str | None
    member_since: date
    email: str | None
    phone: str | None
    address: str | None
    status: str | None = Field(description="Coordinators only.")
    balance_minutes: int | None = Field(description="Coordinators only.")
    min_balance_minutes: int | None = Field(description="Coordinators only: the limit in force.")
    max_balance_minutes: int | None = Field(description="Coordinators only: the limit in force.")
    last_trade: date | None = Field(description="Coordinators only.")


class MemberList(BaseModel):
    items: list[MemberOut]


# Listings


class ListingQuery(Input):
    """The search of the listings page: the same parameter names."""

    q: text(100) = ""
    kind: ListingKindName | None = None
    category: Id | None = None
    wijk: Id | None = Field(None, description="The owner's neighbourhood (wijk) id.")
    new: bool = Field(False, description="Only listings posted this week.")
    sort: Literal["newest", "nearby"] = "newest"
    page: int = Field(1, ge=1, le=10_000)
    per_page: int = Field(20, ge=1, le=100)


class CategoryOut(BaseModel):
    id: int
    name: str


class OwnerOut(BaseModel):
    id: int
    name: str
    neighbourhood: str | None


class ListingOut(BaseModel):
    id: int
    kind: ListingKindName
    title: str
    description: str
    category: CategoryOut
    help_kind: HelpKindName
    place: PlaceName
    time_estimate_minutes: int | None
    status: Literal["active", "paused", "closed", "hidden"]
    valid_until: date
    created_at: datetime
    updated_at: datetime
    owner: OwnerOut


class ListingPage(BaseModel):
    items: list[ListingOut]
    page: int
    per_page: int
    total: int


class ListingCreate(Input):
    kind: ListingKindName
    title: text(MAX_TITLE, 1)
    description: text(MAX_LISTING_DESCRIPTION) = ""
    category_id: Id
    help_kind: HelpKindName = "practical"
    place: PlaceName = "in_neighbourhood"
    time_estimate_minutes: Annotated[int, Field(ge=1, le=100 * 60)] | None = None
    valid_until: date | None = Field(None, description="Default: three months from today.")


class ListingPatch(Input):
    """Only the fields given are changed. ``status`` pauses, resumes or closes it."""

    title: text(MAX_TITLE, 1) | None = None
    description: text(MAX_LISTING_DESCRIPTION) | None = None
    category_id: Id | None = None
    help_kind: HelpKindName | None = None
    place: PlaceName | None = None
    time_estimate_minutes: Annotated[int, Field(ge=1, le=100 * 60)] | None = None
    valid_until: date | None = None
    status: Literal["active", "paused", "closed"] | None = None


# Accounts and transfers


class AccountOut(BaseModel):
    balance_minutes: int
    min_balance_minutes: int | None = Field(description="The lower limit in force; null: none.")
    max_balance_minutes: int | None = Field(description="The upper limit in force; null: none.")
    can_pay_minutes: int | None = Field(description="How much can be paid now; null: no limit.")
    can_receive_minutes: int | None = Field(description="How much can be received now; null: no limit.")
    status: Literal["active", "frozen", "closed"]


class TransferQuery(Input):
    date_from: date | None = None
    date_to: date | None = None
    cursor: Id | None = Field(None, description="next_cursor of the previous page.")
    limit: int = Field(50, ge=1, le=100)


class CounterpartOut(BaseModel):
    member_id: int | None = Field(description="Null for the ring's own accounts.")
    name: str


class StatementLineOut(BaseModel):
    transfer_id: int
    occurred_on: date
    created_at: datetime
    kind: str
    amount_minutes: int = Field(description="Signed: negative when the caller paid.")
    balance_after_minutes: int
    counterpart: CounterpartOut
    description: str
    listing_id: int | None


class TransferPage(BaseModel):
    items: list[StatementLineOut]
    next_cursor: int | None = Field(description="Pass as cursor for the next (older) page; null at the end.")


class TransferCreate(Input):
    payee_id: Id = Field(description="The member id of whoever is paid.")
    amount_minutes: Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
    description: text(MAX_TRANSFER_DESCRIPTION, 1)
    listing_id: Id | None = None


class IdempotencyHeaders(BaseModel):
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[!-~]+$")] = Field(
        alias="Idempotency-Key",
        description="Your unique key for this payment: a retry with the same key and body returns the first "
                    "result; the same key with another body is refused (409).")


class RequestIdempotencyHeaders(BaseModel):
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[!-~]+$")] | None = Field(
        None, alias="Idempotency-Key",
        description="Optional: your unique key for this request. A retry with the same key and body returns the "
                    "first request (201, the same body) and sends nothing again; the same key with another body is "
                    "refused (409).")


class TransferOut(BaseModel):
    id: int
    payer_id: int | None
    payee_id: int | None
    amount_minutes: int
    description: str
    kind: str
    listing_id: int | None
    occurred_on: date
    created_at: datetime


# Payment requests


class PaymentRequestOut(BaseModel):
    id: int
    payer_id: int
    payee_id: int
    amount_minutes: int
    description: str
    listing_id: int | None
    status: Literal["pending", "accepted", "declined", "cancelled", "expired"]
    decline_reason: str
    transfer_id: int | None
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None


class PaymentRequestList(BaseModel):
    items: list[PaymentRequestOut]


class PaymentRequestCreate(Input):
    payer_id: Id = Field(description="The member id of whoever is asked to pay.")
    amount_minutes: Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
    description: text(MAX_TRANSFER_DESCRIPTION, 1)
    listing_id: Id | None = None


class DeclineIn(Input):
    reason: text(500, 1)
