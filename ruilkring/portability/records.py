"""What every import format is read into, before anything touches the database.

A reader (``ruilkring.portability.formats.<name>.read``) turns the files of one source
system into an ``ImportBatch``: plain records that still use the *source's* ids, plus
the problems it found per row. The importer (``ruilkring.portability.importer``) then
checks the batch against the ring and writes it in one transaction, or only reports
(dry run). Readers never touch the database; the importer never parses files.

Amounts are whole minutes; a reader converts the source's unit (eLAS: the ring's own
currency units, TimeOverflow: seconds). Dates are calendar dates in the ring's time zone.

A transfer's ``payer_id``/``payee_id`` is a member's source id, or one of the ring's own
accounts: ``SYSTEM_POT`` (the kring's pot) or ``SYSTEM_OPENING`` (opening balances).
Records use ``slots`` because a history of a million transfers is held in memory.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

SYSTEM_POT = "@pot"
SYSTEM_OPENING = "@opening"


@dataclass(frozen=True)
class Problem:
    """Something wrong with one row (or a whole file when ``line`` is 0)."""

    file: str  # the file's name, as given on the command line
    line: int  # 1-based line number in that file, header included; 0 for the whole file
    message: str  # plain Dutch, what is wrong and, where possible, what to do


@dataclass(slots=True)
class MemberRecord:
    file: str
    line: int
    source_id: str  # the source's own id (or number) for this member
    name: str
    email: str  # may be "" when the source has none (a member without internet)
    status: str = "active"  # one of ruilkring's MemberStatus values
    neighbourhood: str = ""  # the wijk's name; "" when unknown
    phone: str = ""
    address: str = ""
    birth_year: int | None = None
    joined_on: date | None = None
    min_balance: int | None = None  # personal limits in minutes; None: the ring's default
    max_balance: int | None = None
    balance: int | None = None  # the balance the source reports, in minutes, to check against
    role: str = "member"  # "member" or "coordinator"
    bio: str = ""
    share_email: bool = False
    share_phone: bool = False
    share_address: bool = False


@dataclass(slots=True)
class TransferRecord:
    file: str
    line: int
    source_id: str  # the source's transaction id; with the format it keeps re-runs idempotent
    occurred_on: date
    payer_id: str  # source ids of members
    payee_id: str
    amount: int  # minutes, > 0
    description: str = ""
    kind: str = "trade"  # a TransferKind value
    # For a "reversal": the source id of the transfer it reverses (earlier in the history,
    # or imported before). A reversal without it is imported as a "correction".
    reverses_id: str = ""
    reason: str = ""  # why a coordinator booked, reversed or corrected it
    listing_id: str = ""  # source id of the listing it was for; ignored when not among the listings


@dataclass(slots=True)
class ListingRecord:
    file: str
    line: int
    source_id: str
    owner_id: str  # source id of the member
    kind: str  # "offer" or "request"
    title: str
    description: str = ""
    category: str = ""  # the category's name; "" puts it in the ring's first category
    valid_until: date | None = None
    created_on: date | None = None
    help_kind: str = "practical"  # a HelpKind value
    place: str = "in_neighbourhood"  # a ListingPlace value
    status: str = "active"  # a ListingStatus value
    time_estimate: int | None = None  # minutes, an indication


@dataclass(slots=True)
class DisputeRecord:
    """A dispute about a transfer of the same batch (only the generic format has them)."""

    file: str
    line: int
    source_id: str
    transfer_id: str  # source id of the contested transfer
    opened_by_id: str  # source id of the member who opened it
    reason: str  # a DisputeReason value
    asked: str  # a DisputeRequest value
    created_at: datetime  # aware, UTC
    explanation: str = ""
    status: str = "open"  # a DisputeStatus value
    mediator_name: str = ""  # a member's name; "" when none
    outcome: str = ""  # a DisputeOutcome value; "" while not resolved
    outcome_amount: int | None = None  # minutes
    outcome_back_to_payer: bool | None = None
    outcome_note: str = ""
    resolution_transfer_id: str = ""  # source id of the transfer that booked the outcome
    closed_at: datetime | None = None


@dataclass(slots=True)
class DisputeEventRecord:
    """One step in a dispute's timeline."""

    file: str
    line: int
    dispute_id: str  # source id of the dispute
    kind: str  # an EventKind value
    created_at: datetime
    author_name: str = ""  # a member's name; "" for none
    body: str = ""
    private: bool = False


@dataclass(slots=True)
class ImportBatch:
    """Everything one run reads. When ``transfers`` is empty the members' ``balance``
    values, where given, arrive as opening transfers; when there are transfers they are
    replayed and the resulting balances are checked against the ``balance`` values."""

    format: str
    members: list[MemberRecord] = field(default_factory=list)
    transfers: list[TransferRecord] = field(default_factory=list)
    listings: list[ListingRecord] = field(default_factory=list)
    disputes: list[DisputeRecord] = field(default_factory=list)
    dispute_events: list[DisputeEventRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
