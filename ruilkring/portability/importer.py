"""Bring an ``ImportBatch`` (read by a format's reader) into a ring: check it, and write it
in one transaction or only report (dry run).

The rules (docs/import.md has them for coordinators and operators):

- Every problem is reported with its file and line; a run with any problem writes
  nothing. A real run is one ledger transaction (``run_ledger_transaction``): all of it
  is written, or, when anything fails half way, none of it.
- Members are matched by e-mail: an address that already belongs to a member of the ring
  is that member (not a duplicate; nothing about them changes); an address of a person
  on the platform in another ring gives that person a membership here. A member without
  e-mail gets a user with a placeholder address under the reserved ``invalid`` domain,
  derived from the ring, the format and the source id, so a re-run finds them again;
  they cannot log in until a real address is set. Wijken are matched by name among the
  ring's wijken; an unknown wijk is a problem (add it in the ring's settings first).
  Personal limits are set through ``limits_set``, with the import as reason.
- Without transfers, members' balances arrive as one opening transfer each against the
  ring's opening account (the difference with their current balance), so the ring still
  sums to zero. With transfers, the history is replayed in date order through
  ``transfers_bulk_load`` with limits overridden (logged) for historical entries, and each
  member's resulting balance must equal the balance the source gives: a difference is a
  problem, so the run refuses (a dry run lists every difference).
- Re-running is safe: a transfer's idempotency key is ``import:<ring id>:<format>:<source
  id>`` (hashed when longer than 80 characters), and keys already in the ring are
  "already imported"; members match by e-mail, listings by owner, title and creation date.
- Listings are written directly (they are history: expired ones and ones of members who
  left come along); a category the ring does not have yet is created.
- Whatever the database would refuse is a problem found while checking, so a dry run
  reports it and a real run never fails half way with it: texts longer than their column
  (the lengths are read from the models), integers past PostgreSQL's ``integer``, dates
  outside ``FIRST_YEAR``..``LAST_YEAR``. (Readers of CSV files refuse NUL characters.)
- A ``reversal`` that names the transfer it reverses (``reverses_id``) is booked as a
  reversal of that transfer; one that does not is booked as a correction.
- Disputes (generic format only) are history too, written directly with their timeline:
  each is about a transfer of the same files; mediators and authors are known by name
  among the ring's members (one member with that name, or it is a problem). A dispute
  is "already imported" when its transfer was imported before and has a dispute opened
  at the same moment.
"""

import functools
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, insert, select
from sqlalchemy.orm import aliased

from ruilkring import clock
from ruilkring.audit.services import audit_record
from ruilkring.auth.models import User
from ruilkring.auth.services import is_placeholder_email, normalise_email
from ruilkring.database import run_ledger_transaction
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
from ruilkring.extensions import db
from ruilkring.ledger.models import Account, AccountKind, Transfer, TransferKind
from ruilkring.ledger.services import (
    MAX_AMOUNT,
    HistoricalTransfer,
    limits_set,
    system_account,
    transfers_bulk_load,
)
from ruilkring.listings.models import (
    Category,
    HelpKind,
    Listing,
    ListingKind,
    ListingPlace,
    ListingStatus,
)
from ruilkring.listings.services import VALIDITY_DAYS
from ruilkring.members.models import Member, MemberRole, MemberStatus
from ruilkring.portability.export import local_date
from ruilkring.portability.records import (
    SYSTEM_OPENING,
    SYSTEM_POT,
    DisputeEventRecord,
    DisputeRecord,
    ImportBatch,
    ListingRecord,
    MemberRecord,
    Problem,
    TransferRecord,
)
from ruilkring.rings.models import Ring
from ruilkring.types import INT_MAX

# progress(items, length, label) -> a context manager yielding the items (click.progressbar fits)
Progress = Callable[[Iterable, int, str], AbstractContextManager]
MAX_KEY = 80
FIRST_YEAR, LAST_YEAR = 1970, 2100  # dates outside are typing errors (and 9999 overflows)
NOT_ADMITTED = (MemberStatus.PENDING, MemberStatus.DECLINED)
SYSTEM_KINDS = {SYSTEM_POT: AccountKind.POT, SYSTEM_OPENING: AccountKind.OPENING}
# A reversal that does not say which transfer it reverses is booked as a correction.
TRANSFER_KINDS = {kind.value: kind for kind in TransferKind} | {"reversal": TransferKind.CORRECTION}


def _no_progress(items: Iterable, length: int, label: str) -> AbstractContextManager:
    return nullcontext(items)


@dataclass
class ImportReport:
    """What a run found and did (or, in a dry run, would do)."""

    format: str
    dry_run: bool
    problems: list[Problem] = field(default_factory=list)
    members_new: int = 0
    members_matched: int = 0  # already members of the ring (same e-mail)
    openings_new: int = 0
    openings_already: int = 0
    transfers_new: int = 0
    transfers_already: int = 0
    listings_new: int = 0
    listings_already: int = 0
    disputes_new: int = 0
    disputes_already: int = 0
    categories_new: list[str] = field(default_factory=list)
    members_without_email: int = 0
    members_matched_by_name: int = 0  # of members_matched: without e-mail, found by name
    written: bool = False

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in (
            "members_new", "members_matched", "openings_new", "openings_already", "transfers_new",
            "transfers_already", "listings_new", "listings_already", "disputes_new", "disputes_already",
            "members_without_email", "members_matched_by_name")}

    def lines(self) -> list[str]:
        """The report for a person, in Dutch: counts first, then every problem."""
        lines = [
            _("Leden: %(new)d nieuw, %(matched)d al lid van de kring (zelfde e-mailadres), %(none)d zonder "
              "e-mailadres.", new=self.members_new, matched=self.members_matched, none=self.members_without_email),
            _("Beginsaldi: %(new)d nieuw, %(already)d al geïmporteerd.",
              new=self.openings_new, already=self.openings_already),
            _("Transacties: %(new)d nieuw, %(already)d al geïmporteerd.",
              new=self.transfers_new, already=self.transfers_already),
            _("Aanbod en vraag: %(new)d nieuw, %(already)d al geïmporteerd.",
              new=self.listings_new, already=self.listings_already),
        ]
        if self.disputes_new or self.disputes_already:
            lines.append(_("Geschillen: %(new)d nieuw, %(already)d al geïmporteerd.",
                           new=self.disputes_new, already=self.disputes_already))
        if self.members_matched_by_name:
            lines.append(_("%(n)d leden zonder e-mailadres zijn op naam herkend als lid van de kring; "
                           "controleer of dat klopt.", n=self.members_matched_by_name))
        if self.categories_new:
            lines.append(_("Nieuwe categorieën: %(names)s.", names=", ".join(self.categories_new)))
        for problem in self.problems:
            where = f"{problem.file}:{problem.line}" if problem.line else problem.file
            lines.append(f"{where}: {problem.message}")
        if self.problems:
            lines.append(_("%(n)d problemen; er is niets geïmporteerd.", n=len(self.problems)))
        elif self.dry_run:
            lines.append(_("Proefdraai: er is niets veranderd."))
        elif self.written and not (self.members_new or self.openings_new or self.transfers_new
                                   or self.listings_new or self.disputes_new):
            lines.append(_("Er was niets nieuw: alles was al geïmporteerd."))
        elif self.written:
            lines.append(_("De import is opgeslagen."))
        return lines


def import_key(*, ring: Ring, format: str, kind: str, source_id: str) -> str:
    """The idempotency key of an imported transfer (``kind``: "t" for a transfer of the
    history, "opening" for a member's opening balance)."""
    key = f"import:{ring.id}:{format}:{kind}:{source_id}"
    if len(key) > MAX_KEY:
        key = f"import:{ring.id}:#{hashlib.sha256(key.encode()).hexdigest()}"[:MAX_KEY]
    return key


def placeholder_email(*, ring: Ring, format: str, source_id: str) -> str:
    """The address of a user imported without e-mail: stable, so a re-run finds them."""
    digest = hashlib.sha256(f"{ring.id}:{format}:{source_id}".encode()).hexdigest()[:24]
    return f"import-{digest}@invalid"


def _moment(day: date | None) -> datetime:
    """A date of the source as a moment: noon UTC is that day in Dutch time too."""
    return datetime.combine(day, time(12), tzinfo=UTC) if day else clock.now()


@dataclass
class _Plan:
    """What a run will write, worked out before anything is written."""

    report: ImportReport
    members: dict[str, Member | None] = field(default_factory=dict)  # source id -> existing member or None
    users: dict[str, User] = field(default_factory=dict)  # source id -> existing user without membership here
    emails: dict[str, str] = field(default_factory=dict)  # source id -> e-mail to use
    records: dict[str, MemberRecord] = field(default_factory=dict)
    neighbourhoods: dict[str, int] = field(default_factory=dict)  # lowercase name -> id
    transfers: list[TransferRecord] = field(default_factory=list)  # new, in date order
    openings: list[tuple[MemberRecord, int]] = field(default_factory=list)  # (member, signed minutes)
    listings: list[ListingRecord] = field(default_factory=list)
    categories: dict[str, int | None] = field(default_factory=dict)  # lowercase name -> id (None: new)
    listing_ids: dict[str, int] = field(default_factory=dict)  # source id -> listing id (matched, then new)
    in_transfers: set[str] = field(default_factory=set)  # source ids that pay or are paid
    existing_keys: set[str] = field(default_factory=set)  # idempotency keys imported into the ring before
    # Members by name (casefolded): each a member id, or the source id of a member still to write.
    people: dict[str, set[int | str]] = field(default_factory=dict)
    # The new disputes with their mediator, and their events with the author (a person as in
    # ``people``, or None).
    disputes: list[tuple[DisputeRecord, int | str | None]] = field(default_factory=list)
    dispute_events: list[tuple[DisputeEventRecord, int | str | None]] = field(default_factory=list)

    def problem(self, record, message: str) -> None:
        self.report.problems.append(Problem(record.file, record.line, message))


def import_run(*, ring: Ring, batch: ImportBatch, imported_by: User, dry_run: bool = False,
               progress: Progress = _no_progress) -> ImportReport:
    """Check ``batch`` against ``ring`` and, unless it is a dry run or there are problems,
    write it in one transaction. Returns the report either way; a dry run changes nothing."""
    if dry_run:
        try:
            return _plan(ring, batch, dry_run=True, progress=progress).report
        finally:
            db.session.rollback()

    def work() -> ImportReport:
        plan = _plan(ring, batch, dry_run=False, progress=progress)
        if not plan.report.problems:
            _write(ring, batch, plan, imported_by, progress)
        return plan.report

    return run_ledger_transaction(work)


# Checking


def _plan(ring: Ring, batch: ImportBatch, *, dry_run: bool, progress: Progress) -> _Plan:
    plan = _Plan(report=ImportReport(format=batch.format, dry_run=dry_run, problems=list(batch.problems)))
    plan.neighbourhoods = {n.name.casefold(): n.id for n in ring.neighbourhoods}
    _plan_members(ring, batch, plan)
    if batch.transfers:
        _plan_transfers(ring, batch, plan, progress)
    else:
        _plan_openings(ring, batch, plan)
    _plan_listings(ring, batch, plan)
    _plan_disputes(ring, batch, plan)
    plan.report.problems.sort(key=lambda problem: (problem.file, problem.line))
    return plan


def _choice(plan: _Plan, record, value: str, allowed: type, what: str):
    try:
        return allowed(value)
    except ValueError:
        plan.problem(record, _("%(what)s '%(value)s' bestaat niet; kies uit %(allowed)s.", what=what,
                               value=value, allowed=", ".join(item.value for item in allowed)))
        return None


def _fits(plan: _Plan, record, value: str, column, what: str) -> bool:
    """Does ``value`` fit the model's ``column`` (a ``String(n)``)? If not, a problem."""
    limit = column.type.length
    if len(value.strip()) <= limit:
        return True
    plan.problem(record, _("%(what)s is %(length)d tekens lang; er passen er hoogstens %(n)d.", what=what,
                           length=len(value.strip()), n=limit))
    return False


def _integer(plan: _Plan, record, value: int | None, what: str) -> bool:
    """Does ``value`` fit an integer column? If not, a problem."""
    if value is None or -INT_MAX - 1 <= value <= INT_MAX:
        return True
    plan.problem(record, _("%(what)s %(value)d kan niet kloppen: het getal is te groot om op te slaan.",
                           what=what, value=value))
    return False


def _sane_date(plan: _Plan, record, day: date | None, what: str) -> bool:
    """Is ``day`` within FIRST_YEAR..LAST_YEAR? If not, a problem."""
    if day is None or FIRST_YEAR <= day.year <= LAST_YEAR:
        return True
    plan.problem(record, _("%(what)s %(date)s kan niet kloppen: een datum moet tussen %(first)d en %(last)d "
                           "liggen.", what=what, date=day.isoformat(), first=FIRST_YEAR, last=LAST_YEAR))
    return False


def _plan_members(ring: Ring, batch: ImportBatch, plan: _Plan) -> None:
    by_email, by_name = {}, defaultdict(list)  # by_name: members without a real address
    for member, email, name, erased_at in db.session.execute(
            select(Member, User.email, User.name, User.erased_at).join(User, User.id == Member.user_id)
            .where(Member.ring_id == ring.id)):
        by_email[normalise_email(email)] = member
        if is_placeholder_email(email) and erased_at is None:
            by_name[name.strip().casefold()].append(member)
    seen_emails: dict[str, MemberRecord] = {}
    new: dict[str, MemberRecord] = {}  # e-mail -> record, for members not in the ring yet
    report = plan.report
    users = User.__table__.c
    for record in batch.members:
        if not record.source_id:
            plan.problem(record, _("Het nummer (id) van het lid ontbreekt."))
            continue
        if record.source_id in plan.records:
            plan.problem(record, _("Lid %(id)s staat er twee keer in (ook op regel %(line)d).",
                                   id=record.source_id, line=plan.records[record.source_id].line))
            continue
        plan.records[record.source_id] = record
        if not record.name.strip():
            plan.problem(record, _("De naam ontbreekt."))
        _fits(plan, record, record.name, users.name, _("De naam"))
        _fits(plan, record, record.email, users.email, _("Het e-mailadres"))
        _fits(plan, record, record.phone, users.phone, _("Het telefoonnummer"))
        _fits(plan, record, record.address, users.address, _("Het adres"))
        _sane_date(plan, record, record.joined_on, _("Datum van toelating"))
        _integer(plan, record, record.min_balance, _("De ondergrens"))
        _integer(plan, record, record.max_balance, _("De bovengrens"))
        _choice(plan, record, record.status, MemberStatus, _("Status"))
        _choice(plan, record, record.role, MemberRole, _("Rol"))
        if record.neighbourhood and record.neighbourhood.strip().casefold() not in plan.neighbourhoods:
            plan.problem(record, _("Wijk '%(name)s' is geen wijk van deze kring; voeg hem toe bij de instellingen "
                                   "van de kring of laat het veld leeg.", name=record.neighbourhood))
        if record.birth_year is not None and not 1900 <= record.birth_year <= 2100:
            plan.problem(record, _("Geboortejaar %(year)d kan niet kloppen.", year=record.birth_year))
        if record.min_balance is not None and record.min_balance > 0:
            plan.problem(record, _("De ondergrens moet 0 of lager zijn."))
        if record.max_balance is not None and record.max_balance < 0:
            plan.problem(record, _("De bovengrens moet 0 of hoger zijn."))
        if record.balance is not None and abs(record.balance) > INT_MAX:
            plan.problem(record, _("Het saldo is onleesbaar groot."))
        email = normalise_email(record.email)
        if not email:
            report.members_without_email += 1
            email = placeholder_email(ring=ring, format=batch.format, source_id=record.source_id)
        else:
            try:
                validate_email(email, check_deliverability=False)
            except EmailNotValidError:
                plan.problem(record, _("E-mailadres '%(email)s' is ongeldig.", email=record.email))
            if email in seen_emails:
                plan.problem(record, _("E-mailadres %(email)s staat er twee keer in (ook op regel %(line)d).",
                                       email=email, line=seen_emails[email].line))
            seen_emails[email] = record
        plan.emails[record.source_id] = email
        member = by_email.get(email)
        if member is None and not record.email.strip():
            member = _match_by_name(plan, record, by_name)
        plan.members[record.source_id] = member
        if member is not None:
            report.members_matched += 1
            continue
        report.members_new += 1
        new[email] = record
    # People already on the platform (in another ring) join with their own account.
    emails = list(new)
    for start in range(0, len(emails), 1000):
        for user in db.session.scalars(select(User).where(func.lower(User.email).in_(emails[start:start + 1000]))):
            record = new[user.email.lower()]
            if user.erased_at is not None:
                plan.problem(record, _("Het account met dit e-mailadres is gewist."))
            plan.users[record.source_id] = user


def _match_by_name(plan: _Plan, record: MemberRecord, by_name: dict[str, list[Member]]) -> Member | None:
    """A member without e-mail is the one member of the ring without a real address who
    has the same name (e.g. the ring's own export imported again); several is a problem."""
    candidates = by_name.get(record.name.strip().casefold(), [])
    if len(candidates) > 1:
        plan.problem(record, _("Er zijn al %(n)d leden zonder e-mailadres met de naam %(name)s; geef dit lid een "
                               "e-mailadres.", n=len(candidates), name=record.name.strip()))
    if len(candidates) != 1:
        return None
    earlier = next((other for source_id, other in plan.records.items()
                    if plan.members.get(source_id) is candidates[0]), None)
    if earlier is not None:
        plan.problem(record, _("Lid %(name)s is al herkend op regel %(line)d.", name=record.name.strip(),
                               line=earlier.line))
        return None
    plan.report.members_matched_by_name += 1
    return candidates[0]


def _known(plan: _Plan, record, source_id: str) -> bool:
    if source_id in plan.records or source_id in SYSTEM_KINDS:
        return True
    plan.problem(record, _("Onbekend lid '%(id)s': het staat niet in het ledenbestand.", id=source_id))
    return False


def _current_balances(plan: _Plan) -> dict[str, int]:
    accounts = {member.id: source_id for source_id, member in plan.members.items() if member is not None}
    if not accounts:
        return {}
    return {accounts[member_id]: balance for member_id, balance in db.session.execute(
        select(Account.member_id, Account.balance).where(Account.member_id.in_(accounts)))}


def _existing_keys(ring: Ring) -> set[str]:
    """The idempotency keys of everything imported into the ring before."""
    return set(db.session.scalars(
        select(Transfer.idempotency_key).where(Transfer.ring_id == ring.id,
                                               Transfer.idempotency_key.like(f"import:{ring.id}:%"))))


def _plan_transfers(ring: Ring, batch: ImportBatch, plan: _Plan, progress: Progress) -> None:
    existing = plan.existing_keys = _existing_keys(ring)
    seen: set[str] = set()
    deltas: dict[str, int] = defaultdict(int)
    report = plan.report
    with progress(batch.transfers, len(batch.transfers), _("Transacties controleren")) as records:
        for record in records:
            ok = True
            if not record.source_id:
                plan.problem(record, _("Het nummer (id) van de transactie ontbreekt."))
                ok = False
            elif record.source_id in seen:
                plan.problem(record, _("Transactie %(id)s staat er twee keer in.", id=record.source_id))
                ok = False
            seen.add(record.source_id)
            ok = _known(plan, record, record.payer_id) & _known(plan, record, record.payee_id) & ok
            if record.payer_id == record.payee_id:
                plan.problem(record, _("Betaler en ontvanger zijn dezelfde."))
                ok = False
            if not 0 < record.amount <= MAX_AMOUNT:
                plan.problem(record, _("Bedrag %(amount)d minuten kan niet: het moet groter dan 0 en hoogstens "
                                       "%(max)d zijn.", amount=record.amount, max=MAX_AMOUNT))
                ok = False
            if record.kind not in TRANSFER_KINDS:
                plan.problem(record, _("Soort transactie '%(kind)s' bestaat niet.", kind=record.kind))
                ok = False
            if record.reverses_id and record.kind != TransferKind.REVERSAL:
                plan.problem(record, _("Alleen een terugboeking (reversal) kan een transactie terugboeken "
                                       "(reverses_id)."))
                ok = False
            ok = _sane_date(plan, record, record.occurred_on, _("Datum")) and ok
            if not ok:
                continue
            key = import_key(ring=ring, format=batch.format, kind="t", source_id=record.source_id)
            if key in existing:
                report.transfers_already += 1
                continue
            plan.transfers.append(record)
            plan.in_transfers.update((record.payer_id, record.payee_id))
            deltas[record.payer_id] -= record.amount
            deltas[record.payee_id] += record.amount
    plan.transfers.sort(key=lambda record: record.occurred_on)  # stable: file order within a day
    report.transfers_new = len(plan.transfers)
    _plan_reversals(ring, batch.format, plan, existing)
    current = _current_balances(plan)
    for source_id, record in plan.records.items():
        if record.balance is None:
            continue
        result = current.get(source_id, 0) + deltas.get(source_id, 0)
        if result != record.balance:
            plan.problem(record, _(
                "Saldo klopt niet: na de import %(result)d minuten, volgens de bron %(source)d "
                "(verschil %(difference)d).", result=result, source=record.balance,
                difference=result - record.balance))


def _plan_reversals(ring: Ring, format: str, plan: _Plan, existing: set[str]) -> None:
    """A reversal must come after the transfer it reverses (in the files, or imported
    before), and a transfer is reversed at most once."""
    imported_before = sorted({key for record in plan.transfers if record.reverses_id
                              if (key := import_key(ring=ring, format=format, kind="t",
                                                    source_id=record.reverses_id)) in existing})
    original, reversal = aliased(Transfer), aliased(Transfer)
    reversed_before: set[str] = set()  # originals imported before that are reversed already
    for start in range(0, len(imported_before), 1000):
        reversed_before.update(db.session.scalars(
            select(original.idempotency_key).join(reversal, reversal.reverses_id == original.id)
            .where(original.ring_id == ring.id, original.idempotency_key.in_(imported_before[start:start + 1000]))))
    earlier: set[str] = set()
    reversed_by: dict[str, TransferRecord] = {}
    for record in plan.transfers:
        source_id = record.reverses_id
        if source_id:
            key = import_key(ring=ring, format=format, kind="t", source_id=source_id)
            if source_id in reversed_by:
                plan.problem(record, _("Transactie %(id)s wordt al teruggeboekt op regel %(line)d.",
                                       id=source_id, line=reversed_by[source_id].line))
            elif key in reversed_before:
                plan.problem(record, _("Transactie %(id)s is al teruggeboekt.", id=source_id))
            elif source_id not in earlier and key not in existing:
                plan.problem(record, _("Transactie %(id)s, die hier wordt teruggeboekt, staat er niet vóór deze "
                                       "terugboeking in.", id=source_id))
            else:
                reversed_by[source_id] = record
        earlier.add(record.source_id)


def _plan_openings(ring: Ring, batch: ImportBatch, plan: _Plan) -> None:
    existing = _existing_keys(ring)
    current = _current_balances(plan)
    for source_id, record in plan.records.items():
        if record.balance is None:
            continue
        if import_key(ring=ring, format=batch.format, kind="opening", source_id=source_id) in existing:
            plan.report.openings_already += 1
            continue
        difference = record.balance - current.get(source_id, 0)
        if difference:
            plan.openings.append((record, difference))
    plan.report.openings_new = len(plan.openings)


def _plan_listings(ring: Ring, batch: ImportBatch, plan: _Plan) -> None:
    plan.categories = {name.casefold(): category_id for category_id, name in db.session.execute(
        select(Category.id, Category.name).where(Category.ring_id == ring.id).order_by(Category.position, Category.id))}
    existing: dict[tuple, int] = {}  # (owner's source id, title, created on or None) -> listing id
    owners = {member.id: source_id for source_id, member in plan.members.items() if member is not None}
    if owners:
        for listing_id, owner_id, title, created_at in db.session.execute(
                select(Listing.id, Listing.owner_id, Listing.title, Listing.created_at)
                .where(Listing.owner_id.in_(owners)).order_by(Listing.id)):
            existing.setdefault((owners[owner_id], title, local_date(created_at)), listing_id)  # as exported
            existing.setdefault((owners[owner_id], title, None), listing_id)
    seen: set[str] = set()
    for record in batch.listings:
        if record.source_id in seen:
            plan.problem(record, _("Advertentie %(id)s staat er twee keer in.", id=record.source_id))
            continue
        seen.add(record.source_id)
        ok = _known(plan, record, record.owner_id) and record.owner_id not in SYSTEM_KINDS
        for value, allowed, what in ((record.kind, ListingKind, _("Soort")), (record.help_kind, HelpKind, _("Soort hulp")),
                                     (record.place, ListingPlace, _("Plaats")), (record.status, ListingStatus, _("Status"))):
            ok = _choice(plan, record, value, allowed, what) is not None and ok
        if not record.title.strip():
            plan.problem(record, _("De titel ontbreekt."))
            ok = False
        ok = _fits(plan, record, record.title, Listing.__table__.c.title, _("De titel")) and ok
        ok = _fits(plan, record, record.category, Category.__table__.c.name, _("De naam van de categorie")) and ok
        ok = _sane_date(plan, record, record.created_on, _("Datum van plaatsen")) and ok
        ok = _sane_date(plan, record, record.valid_until, _("Geldig tot")) and ok
        if record.time_estimate is not None and not 0 < record.time_estimate <= INT_MAX:
            plan.problem(record, _("De tijdsduur moet groter dan 0 zijn."))
            ok = False
        if not ok:
            continue
        matched = existing.get((record.owner_id, record.title.strip(), record.created_on))
        if matched is not None:
            plan.listing_ids[record.source_id] = matched
            plan.report.listings_already += 1
            continue
        category = record.category.strip()
        if category and category.casefold() not in plan.categories:
            plan.categories[category.casefold()] = None
            plan.report.categories_new.append(category)
        elif not category and not plan.categories:
            plan.categories[_("Overig").casefold()] = None
            plan.report.categories_new.append(_("Overig"))
        plan.listings.append(record)
    plan.report.listings_new = len(plan.listings)


def _plan_disputes(ring: Ring, batch: ImportBatch, plan: _Plan) -> None:
    if not batch.disputes and not batch.dispute_events:
        return
    plan.people = _people(ring, plan)
    transfers = {record.source_id: record for record in batch.transfers}
    key = functools.partial(import_key, ring=ring, format=batch.format, kind="t")
    already = _disputes_imported_before(ring, {key(source_id=record.transfer_id) for record in batch.disputes
                                               if key(source_id=record.transfer_id) in plan.existing_keys})
    open_before = {transfer_key for (transfer_key, _moment), is_open in already.items() if is_open}
    open_on: dict[str, DisputeRecord] = {}  # transfer source id -> the new open dispute about it
    valid: dict[str, bool] = {}  # source id -> to be written (False: imported before, or wrong)
    for record in batch.disputes:
        if not record.source_id:
            plan.problem(record, _("Het nummer (id) van het geschil ontbreekt."))
            continue
        if record.source_id in valid:
            plan.problem(record, _("Geschil %(id)s staat er twee keer in.", id=record.source_id))
            continue
        ok = True
        contested = transfers.get(record.transfer_id)
        if not record.transfer_id:
            plan.problem(record, _("Het nummer van de betwiste transactie (transfer_id) ontbreekt."))
            ok = False
        for source_id in filter(None, (record.transfer_id, record.resolution_transfer_id)):
            if source_id not in transfers:
                plan.problem(record, _("Transactie %(id)s staat niet in transfers.csv.", id=source_id))
                ok = False
        if record.opened_by_id in SYSTEM_KINDS:
            plan.problem(record, _("Een geschil begint bij een lid, niet bij %(id)s.", id=record.opened_by_id))
            ok = False
        elif _known(plan, record, record.opened_by_id):
            if contested is not None and record.opened_by_id not in (contested.payer_id, contested.payee_id):
                plan.problem(record, _("Lid %(member)s betaalde of ontving transactie %(id)s niet en kan er dus "
                                       "geen geschil over beginnen.",
                                       member=record.opened_by_id, id=record.transfer_id))
                ok = False
        else:
            ok = False
        for value, allowed, what in ((record.reason, DisputeReason, _("Reden")),
                                     (record.asked, DisputeRequest, _("Verzoek")),
                                     (record.status, DisputeStatus, _("Status"))):
            ok = _choice(plan, record, value, allowed, what) is not None and ok
        if record.outcome:
            ok = _choice(plan, record, record.outcome, DisputeOutcome, _("Uitkomst")) is not None and ok
        if record.outcome_amount is not None and not 0 < record.outcome_amount <= MAX_AMOUNT:
            plan.problem(record, _("Bedrag %(amount)d minuten kan niet: het moet groter dan 0 en hoogstens "
                                   "%(max)d zijn.", amount=record.outcome_amount, max=MAX_AMOUNT))
            ok = False
        ok = _sane_date(plan, record, record.created_at.date(), _("Moment van openen")) and ok
        if record.closed_at is not None:
            ok = _sane_date(plan, record, record.closed_at.date(), _("Moment van afsluiten")) and ok
        mediator = _person(plan, record, record.mediator_name, _("Bemiddelaar"))
        ok = ok and (mediator is not None or not record.mediator_name.strip())
        valid[record.source_id] = False  # until it turns out to be new and right
        if not ok:
            continue
        transfer_key = key(source_id=record.transfer_id)
        if (transfer_key, record.created_at) in already:
            plan.report.disputes_already += 1
            continue
        if record.status in OPEN_STATUSES:
            if record.transfer_id in open_on:
                plan.problem(record, _("Over transactie %(id)s loopt al een geschil (regel %(line)d); er kan er "
                                       "één tegelijk open zijn.", id=record.transfer_id,
                                       line=open_on[record.transfer_id].line))
                continue
            if transfer_key in open_before:
                plan.problem(record, _("Over transactie %(id)s loopt al een geschil in de kring; er kan er één "
                                       "tegelijk open zijn.", id=record.transfer_id))
                continue
            open_on[record.transfer_id] = record
        valid[record.source_id] = True
        plan.disputes.append((record, mediator))
    for event in batch.dispute_events:
        ok = _choice(plan, event, event.kind, EventKind, _("Soort stap")) is not None
        ok = _sane_date(plan, event, event.created_at.date(), _("Moment")) and ok
        author = _person(plan, event, event.author_name, _("Schrijver"))
        ok = ok and (author is not None or not event.author_name.strip())
        if event.dispute_id not in valid:
            plan.problem(event, _("Geschil %(id)s staat niet in disputes.csv.", id=event.dispute_id))
        elif ok and valid[event.dispute_id]:
            plan.dispute_events.append((event, author))
    plan.report.disputes_new = len(plan.disputes)


def _people(ring: Ring, plan: _Plan) -> dict[str, set[int | str]]:
    """The ring's members and the batch's new members by name: a member's id, or the
    source id of a member still to write."""
    people: dict[str, set[int | str]] = defaultdict(set)
    for member_id, name in db.session.execute(
            select(Member.id, User.name).join(User, User.id == Member.user_id).where(Member.ring_id == ring.id)):
        people[name.strip().casefold()].add(member_id)
    for source_id, record in plan.records.items():
        member = plan.members.get(source_id)
        people[record.name.strip().casefold()].add(member.id if member is not None else source_id)
    return people


def _person(plan: _Plan, record, name: str, what: str) -> int | str | None:
    """The member called ``name`` (see ``_people``); a problem when none or several are."""
    if not name.strip():
        return None
    found = plan.people.get(name.strip().casefold(), set())
    if len(found) == 1:
        return next(iter(found))
    if found:
        plan.problem(record, _("%(what)s '%(name)s': er zijn %(n)d leden met die naam; laat het veld leeg.",
                               what=what, name=name.strip(), n=len(found)))
    else:
        plan.problem(record, _("%(what)s '%(name)s' is geen lid van de kring en staat niet in het ledenbestand; "
                               "laat het veld leeg of voeg het lid toe.", what=what, name=name.strip()))
    return None


def _disputes_imported_before(ring: Ring, keys: set[str]) -> dict[tuple[str, datetime], bool]:
    """Disputes about transfers imported before (by their idempotency ``keys``): (key,
    moment of opening) -> still open."""
    found = {}
    keys = sorted(keys)
    for start in range(0, len(keys), 1000):
        for key, created_at, status in db.session.execute(
                select(Transfer.idempotency_key, Dispute.created_at, Dispute.status)
                .join(Transfer, Transfer.id == Dispute.transfer_id)
                .where(Dispute.ring_id == ring.id, Transfer.idempotency_key.in_(keys[start:start + 1000]))):
            found[(key, created_at)] = status in OPEN_STATUSES
    return found


# Writing


def _write(ring: Ring, batch: ImportBatch, plan: _Plan, imported_by: User, progress: Progress) -> None:
    reason = _("Import uit %(format)s", format=batch.format)
    members = _write_members(ring, plan, imported_by)
    accounts = _write_accounts(ring, plan, members)
    for source_id, record in plan.records.items():
        new = plan.members[source_id] is None  # members already in the ring stay as they are
        if new and source_id in accounts and (record.min_balance is not None or record.max_balance is not None):
            limits_set(account=db.session.get(Account, accounts[source_id]), min_balance=record.min_balance,
                       max_balance=record.max_balance, changed_by=imported_by, reason=reason)

    history = (
        [HistoricalTransfer(
            payer_id=accounts[SYSTEM_OPENING] if minutes > 0 else accounts[record.source_id],
            payee_id=accounts[record.source_id] if minutes > 0 else accounts[SYSTEM_OPENING],
            amount=abs(minutes), occurred_at=clock.now(), kind=TransferKind.OPENING,
            description=_("Beginsaldo uit %(format)s", format=batch.format),
            idempotency_key=import_key(ring=ring, format=batch.format, kind="opening", source_id=record.source_id),
        ) for record, minutes in plan.openings]
        if plan.openings else _history(ring, batch.format, plan, accounts, progress)
    )
    _write_listings(ring, plan, members, imported_by)  # first: transfers name the listing they were for
    transfers_bulk_load(ring=ring, transfers=history, on_limit="override", entered_by=imported_by,
                        reason=_("Historische transactie: %(reason)s", reason=reason))
    _check_balances(plan, accounts)
    _write_disputes(ring, batch.format, plan, members)
    plan.report.written = True
    audit_record(actor=imported_by, action="ring.import", ring=ring, new={"format": batch.format,
                                                                         **plan.report.counts()})


def _history(ring: Ring, format: str, plan: _Plan, accounts: dict[str, int], progress: Progress) -> Iterator:
    with progress(plan.transfers, len(plan.transfers), _("Transacties schrijven")) as records:
        for record in records:
            yield HistoricalTransfer(
                payer_id=accounts[record.payer_id], payee_id=accounts[record.payee_id], amount=record.amount,
                occurred_at=_moment(record.occurred_on), description=record.description,
                kind=TransferKind.REVERSAL if record.reverses_id else TRANSFER_KINDS[record.kind],
                idempotency_key=import_key(ring=ring, format=format, kind="t", source_id=record.source_id),
                reverses_key=import_key(ring=ring, format=format, kind="t", source_id=record.reverses_id)
                if record.reverses_id else None,
                reason=record.reason, listing_id=plan.listing_ids.get(record.listing_id),
            )


def _insert(model, rows: list[dict]) -> list[int]:
    """Insert ``rows`` in bulk (a ring may bring ten thousand members); their new ids, in order."""
    if not rows:
        return []
    return list(db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))


def _write_members(ring: Ring, plan: _Plan, imported_by: User) -> dict[str, tuple[int, MemberStatus]]:
    """Users and memberships for the members not in the ring yet: source id -> (member
    id, status) for every member of the batch."""
    members = {source_id: (member.id, member.status) for source_id, member in plan.members.items()
               if member is not None}
    new = [source_id for source_id, member in plan.members.items() if member is None]
    without_user = [source_id for source_id in new if source_id not in plan.users]
    user_ids = dict(zip(without_user, _insert(User, [{
        "email": plan.emails[source_id], "name": plan.records[source_id].name.strip(),
        "phone": plan.records[source_id].phone.strip(), "address": plan.records[source_id].address.strip(),
    } for source_id in without_user]), strict=True))
    user_ids |= {source_id: user.id for source_id, user in plan.users.items()}
    rows = []
    for source_id in new:
        record = plan.records[source_id]
        joined = _moment(record.joined_on)
        status = MemberStatus(record.status)
        neighbourhood = record.neighbourhood.strip().casefold()
        admitted = status not in NOT_ADMITTED
        rows.append({
            "ring_id": ring.id, "user_id": user_ids[source_id], "role": MemberRole(record.role), "status": status,
            "neighbourhood_id": plan.neighbourhoods.get(neighbourhood) if neighbourhood else None,
            "birth_year": record.birth_year, "bio": record.bio.strip(), "share_email": record.share_email,
            "share_phone": record.share_phone, "share_address": record.share_address, "created_at": joined,
            "approved_at": joined if admitted else None, "approved_by_id": imported_by.id if admitted else None,
        })
    for source_id, member_id, row in zip(new, _insert(Member, rows), rows, strict=True):
        members[source_id] = (member_id, row["status"])
    return members


def _write_accounts(ring: Ring, plan: _Plan, members: dict[str, tuple[int, MemberStatus]]) -> dict[str, int]:
    """Accounts (source id -> account id) for admitted members and for every member who
    pays, is paid or brings a balance, as ``account_open`` would make them; the ring's
    own accounts that the history or the opening balances use."""
    existing = {member_id: account_id for member_id, account_id in db.session.execute(
        select(Account.member_id, Account.id).where(Account.ring_id == ring.id, Account.member_id.is_not(None)))}
    needed = [source_id for source_id, (_member_id, status) in members.items()
              if status not in NOT_ADMITTED or source_id in plan.in_transfers
              or plan.records[source_id].balance is not None]
    accounts = {source_id: existing[members[source_id][0]] for source_id in needed
                if members[source_id][0] in existing}
    missing = [source_id for source_id in needed if source_id not in accounts]
    accounts |= dict(zip(missing, _insert(Account, [
        {"ring_id": ring.id, "member_id": members[source_id][0], "kind": AccountKind.MEMBER} for source_id in missing
    ]), strict=True))
    for source_id, kind in SYSTEM_KINDS.items():
        if source_id in plan.in_transfers or (plan.openings and kind == AccountKind.OPENING):
            accounts[source_id] = system_account(ring=ring, kind=kind).id
    return accounts


def _check_balances(plan: _Plan, accounts: dict[str, int]) -> None:
    """The books after writing must say what the plan worked out; anything else is a bug,
    and raising rolls the whole import back."""
    if not plan.transfers:
        return
    balances = {account_id: balance for account_id, balance in db.session.execute(
        select(Account.id, Account.balance).where(Account.id.in_(accounts.values())))}
    for source_id, record in plan.records.items():
        if record.balance is not None and balances.get(accounts.get(source_id), 0) != record.balance:
            raise AssertionError(f"balance of member {source_id} after import differs from the plan")


def _write_listings(ring: Ring, plan: _Plan, members: dict[str, tuple[int, MemberStatus]],
                    imported_by: User) -> None:
    """The new listings, their ids added to ``plan.listing_ids``."""
    if not plan.listings:
        return
    position = db.session.scalar(select(func.max(Category.position)).where(Category.ring_id == ring.id)) or 0
    for name in plan.report.categories_new:
        position += 1
        category = Category(ring_id=ring.id, name=name, position=position)
        db.session.add(category)
        db.session.flush()
        plan.categories[name.casefold()] = category.id
    first = next(iter(plan.categories.values()))
    today = clock.today()
    listings = []
    for record in plan.listings:
        created = _moment(record.created_on)
        category = record.category.strip().casefold()
        listings.append(Listing(
            ring_id=ring.id, owner_id=members[record.owner_id][0], kind=ListingKind(record.kind),
            title=record.title.strip(), description=record.description.strip(),
            category_id=plan.categories[category] if category else first, help_kind=HelpKind(record.help_kind),
            place=ListingPlace(record.place), status=ListingStatus(record.status),
            time_estimate=record.time_estimate,
            valid_until=record.valid_until or (record.created_on or today) + timedelta(days=VALIDITY_DAYS),
            created_by_id=imported_by.id, created_at=created, updated_at=created,
        ))
    db.session.add_all(listings)
    db.session.flush()
    plan.listing_ids |= {record.source_id: listing.id for record, listing in zip(plan.listings, listings,
                                                                                strict=True)}


def _write_disputes(ring: Ring, format: str, plan: _Plan, members: dict[str, tuple[int, MemberStatus]]) -> None:
    """The new disputes and their timelines, about transfers written (or imported) before."""
    if not plan.disputes:
        return
    keys = sorted({import_key(ring=ring, format=format, kind="t", source_id=source_id)
                   for record, _mediator in plan.disputes
                   for source_id in (record.transfer_id, record.resolution_transfer_id) if source_id})
    transfer_ids = {}
    for start in range(0, len(keys), 1000):
        transfer_ids.update(db.session.execute(select(Transfer.idempotency_key, Transfer.id).where(
            Transfer.ring_id == ring.id, Transfer.idempotency_key.in_(keys[start:start + 1000]))).all())

    def transfer(source_id: str) -> int | None:
        return transfer_ids[import_key(ring=ring, format=format, kind="t", source_id=source_id)] if source_id else None

    def member(person: int | str) -> int:
        return members[person][0] if isinstance(person, str) else person

    people = {member(person) for _record, person in plan.disputes + plan.dispute_events if person is not None}
    users = dict(db.session.execute(select(Member.id, Member.user_id).where(Member.id.in_(people))).all())

    def user(person: int | str | None) -> int | None:
        return None if person is None else users[member(person)]

    last_activity: dict[str, datetime] = {}
    for event, _author in plan.dispute_events:
        last_activity[event.dispute_id] = max(event.created_at, last_activity.get(event.dispute_id, event.created_at))
    dispute_ids = dict(zip((record.source_id for record, _mediator in plan.disputes), _insert(Dispute, [{
        "ring_id": ring.id, "transfer_id": transfer(record.transfer_id),
        "opened_by_id": member(record.opened_by_id), "reason": DisputeReason(record.reason),
        "asked": DisputeRequest(record.asked), "explanation": record.explanation.strip(),
        "status": DisputeStatus(record.status), "mediator_id": user(mediator),
        "outcome": DisputeOutcome(record.outcome) if record.outcome else None,
        "outcome_amount": record.outcome_amount, "outcome_back_to_payer": record.outcome_back_to_payer,
        "outcome_note": record.outcome_note.strip(),
        "resolution_transfer_id": transfer(record.resolution_transfer_id), "created_at": record.created_at,
        "last_activity_at": max(filter(None, (record.created_at, record.closed_at,
                                              last_activity.get(record.source_id)))),
        "closed_at": record.closed_at,
    } for record, mediator in plan.disputes]), strict=True))
    _insert(DisputeEvent, [{
        "dispute_id": dispute_ids[event.dispute_id], "kind": EventKind(event.kind), "author_id": user(author),
        # A coordinator's note is private whatever the file says, as in the app itself.
        "body": event.body.strip(), "private": event.private or event.kind == EventKind.NOTE,
        "created_at": event.created_at,
    } for event, author in plan.dispute_events])
