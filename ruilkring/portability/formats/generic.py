"""The generic CSV format: the layout of ruilkring's own ring export (docs/import.md).

Files are told apart by name: ``members.csv``, ``transfers.csv``, ``listings.csv``,
``disputes.csv`` and ``dispute_events.csv`` (a prefix or suffix is fine:
``2024-members.csv``). The other files of an export (accounts, categories, ties, ...)
are not imported and are passed over. A ZIP (for example the ring export itself) is read
as the CSV files inside it.

The columns are those of ``ruilkring.portability.export`` (MEMBERS, TRANSFERS, LISTINGS,
DISPUTES, DISPUTE_EVENTS), by name, in any order; columns the importer does not use
(names of payers, balances of accounts) are ignored. Required: members ``id`` and
``name``; transfers ``id``, ``occurred_on``, ``payer_id``, ``payee_id`` and
``amount_minutes``; listings ``id``, ``owner_id``, ``kind`` and ``title``; disputes
``id``, ``transfer_id``, ``opened_by_id``, ``reason``, ``asked`` and ``created_at``;
dispute events ``dispute_id``, ``kind`` and ``created_at``. A transfer's optional
``reason``, ``reverses_id`` (a reversal's original) and ``listing_id`` come along too.
UTF-8 or Windows-1252, comma, semicolon or tab separated (``formats.csvfile`` works that
out). This reader checks the form of each value (dates, moments, whole minutes,
true/false); the importer checks what they mean.

No options.
"""

import dataclasses
import functools
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ruilkring.portability.export import DISPUTE_EVENTS, DISPUTES, LISTINGS, MEMBERS, TRANSFERS
from ruilkring.portability.formats.csvfile import (
    CsvFile,
    RowError,
    check_width,
    open_csv,
    parse_optional_date,
)
from ruilkring.portability.records import (
    DisputeEventRecord,
    DisputeRecord,
    ImportBatch,
    ListingRecord,
    MemberRecord,
    Problem,
    TransferRecord,
)

NAME = "generic"
REQUIRED = {
    MEMBERS.name: ("id", "name"),
    TRANSFERS.name: ("id", "occurred_on", "payer_id", "payee_id", "amount_minutes"),
    LISTINGS.name: ("id", "owner_id", "kind", "title"),
    DISPUTES.name: ("id", "transfer_id", "opened_by_id", "reason", "asked", "created_at"),
    DISPUTE_EVENTS.name: ("dispute_id", "kind", "created_at"),
}
# What a cell is, for messages; lazy, so the million rows of a history do not look them up.
DATE, AMOUNT = _l("Datum"), _l("Bedrag")
# Files of the export that are not imported.
PASSED_OVER = ("accounts", "categories", "ties", "messages", "audit")


def _int(value: str, what: str, *, minutes: bool = True) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        if minutes:
            raise RowError(_("%(what)s '%(value)s' is geen heel aantal minuten.", what=what, value=value)) from None
        raise RowError(_("%(what)s '%(value)s' is geen heel getal.", what=what, value=value)) from None


def _bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("", "false", "0", "nee", "no"):
        return False
    if lowered in ("true", "1", "ja", "yes"):
        return True
    raise RowError(_("'%(value)s' is geen true of false.", value=value))


def _moment(value: str, what: str, *, required: bool = True) -> datetime | None:
    """A moment in ISO 8601 (``2024-03-15T10:20:00+00:00``, as the export writes it); one
    without a time zone is taken as UTC, like every moment of the export."""
    if not value:
        if required:
            raise RowError(_("%(what)s ontbreekt.", what=what))
        return None
    try:
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: in UTC it would fall outside the calendar
        raise RowError(_("%(what)s '%(value)s' is geen moment; schrijf bijvoorbeeld 2024-03-15T10:20:00+00:00.",
                         what=what, value=value)) from None


def _optional_bool(value: str) -> bool | None:
    return _bool(value) if value else None


def _member(file: str, line: int, row: dict) -> MemberRecord:
    return MemberRecord(
        file=file, line=line, source_id=row["id"], name=row["name"], email=row.get("email", ""),
        status=row.get("status") or "active", neighbourhood=row.get("neighbourhood", ""),
        phone=row.get("phone", ""), address=row.get("address", ""),
        birth_year=_int(row.get("birth_year", ""), _("Geboortejaar"), minutes=False),
        joined_on=parse_optional_date(row.get("joined_on", ""), _("Datum van toelating")),
        min_balance=_int(row.get("min_balance_minutes", ""), _("Ondergrens")),
        max_balance=_int(row.get("max_balance_minutes", ""), _("Bovengrens")),
        balance=_int(row.get("balance_minutes", ""), _("Saldo")),
        role=row.get("role") or "member", bio=row.get("bio", ""),
        share_email=_bool(row.get("share_email", "")), share_phone=_bool(row.get("share_phone", "")),
        share_address=_bool(row.get("share_address", "")),
    )


@functools.lru_cache(maxsize=4096)
def _day(text: str):
    """A transfer's date; cached, since a long history has a few thousand distinct days and
    its million rows then share one date object each."""
    return parse_optional_date(text, DATE)


def _transfer(file: str, line: int, row: dict) -> TransferRecord:
    occurred_on = _day(row["occurred_on"])
    if occurred_on is None:
        raise RowError(_("De datum ontbreekt."))
    amount = _int(row["amount_minutes"], AMOUNT)
    if amount is None:
        raise RowError(_("Het bedrag ontbreekt."))
    return TransferRecord(
        file=file, line=line, source_id=row["id"], occurred_on=occurred_on,
        # Interned: a long history names the same few thousand members over and over.
        payer_id=sys.intern(row["payer_id"]), payee_id=sys.intern(row["payee_id"]), amount=amount,
        description=row.get("description", ""), kind=sys.intern(row.get("kind") or "trade"),
        reverses_id=row.get("reverses_id", ""), reason=row.get("reason", ""), listing_id=row.get("listing_id", ""),
    )


def _listing(file: str, line: int, row: dict) -> ListingRecord:
    return ListingRecord(
        file=file, line=line, source_id=row["id"], owner_id=row["owner_id"], kind=row["kind"],
        title=row["title"], description=row.get("description", ""), category=row.get("category", ""),
        valid_until=parse_optional_date(row.get("valid_until", ""), _("Geldig tot")),
        created_on=parse_optional_date(row.get("created_on", ""), _("Datum van plaatsen")),
        help_kind=row.get("help_kind") or "practical", place=row.get("place") or "in_neighbourhood",
        status=row.get("status") or "active",
        time_estimate=_int(row.get("time_estimate_minutes", ""), _("Tijdsduur")),
    )


def _dispute(file: str, line: int, row: dict) -> DisputeRecord:
    return DisputeRecord(
        file=file, line=line, source_id=row["id"], transfer_id=row["transfer_id"], opened_by_id=row["opened_by_id"],
        reason=row["reason"], asked=row["asked"], created_at=_moment(row["created_at"], _("Moment van openen")),
        explanation=row.get("explanation", ""), status=row.get("status") or "open",
        mediator_name=row.get("mediator_name", ""), outcome=row.get("outcome", ""),
        outcome_amount=_int(row.get("outcome_amount_minutes", ""), _("Bedrag van de uitkomst")),
        outcome_back_to_payer=_optional_bool(row.get("outcome_back_to_payer", "")),
        outcome_note=row.get("outcome_note", ""), resolution_transfer_id=row.get("resolution_transfer_id", ""),
        closed_at=_moment(row.get("closed_at", ""), _("Moment van afsluiten"), required=False),
    )


def _dispute_event(file: str, line: int, row: dict) -> DisputeEventRecord:
    return DisputeEventRecord(
        file=file, line=line, dispute_id=row["dispute_id"], kind=row["kind"],
        created_at=_moment(row["created_at"], _("Moment")), author_name=row.get("author_name", ""),
        body=row.get("body", ""), private=_bool(row.get("private", "")),
    )


READERS = {MEMBERS.name: (_member, "members"), TRANSFERS.name: (_transfer, "transfers"),
           LISTINGS.name: (_listing, "listings"), DISPUTES.name: (_dispute, "disputes"),
           DISPUTE_EVENTS.name: (_dispute_event, "dispute_events")}


def _files(paths, folder: Path) -> Iterator[CsvFile | Problem]:
    """Each CSV file opened for reading, also those inside a ZIP (extracted to ``folder``)."""
    for path in map(Path, paths):
        if path.suffix.lower() != ".zip":
            yield open_csv(path)
            continue
        try:
            archive = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile):
            yield Problem(str(path), 0, _("Dit ZIP-bestand kan niet worden gelezen."))
            continue
        with archive:
            for info in archive.infolist():
                if info.filename.lower().endswith(".csv") and not info.is_dir():
                    target = folder / f"{len(list(folder.iterdir()))}-{Path(info.filename).name}"
                    target.write_bytes(archive.read(info))
                    opened = open_csv(target)
                    name = f"{path}:{info.filename}"
                    yield dataclasses.replace(opened, name=name) if isinstance(opened, CsvFile) else \
                        Problem(name, 0, opened.message)


def _kind_of(name: str) -> str | None:
    stem = Path(name.split(":")[-1]).stem.lower()
    for kind in (*READERS, *PASSED_OVER):
        if stem == kind or stem.endswith(("-" + kind, "_" + kind)) or stem.startswith((kind + "-", kind + "_")):
            return kind
    return None


def read(paths, **options) -> ImportBatch:
    """Read members, transfers, listings and disputes in the generic CSV format."""
    if options:
        raise TypeError(f"the generic format takes no options: {', '.join(options)}")
    batch = ImportBatch(format=NAME)
    with tempfile.TemporaryDirectory() as folder:
        for opened in _files(paths, Path(folder)):
            if isinstance(opened, Problem):
                batch.problems.append(opened)
                continue
            kind = _kind_of(opened.name)
            if kind is None:
                batch.problems.append(Problem(opened.name, 0, _(
                    "Onbekend bestand: de naam moet members.csv, transfers.csv, listings.csv, disputes.csv of "
                    "dispute_events.csv zijn.")))
            elif kind not in PASSED_OVER:
                _read_file(batch, opened, kind)
    return batch


def _read_file(batch: ImportBatch, opened: CsvFile, kind: str) -> None:
    make, attribute = READERS[kind]
    records = getattr(batch, attribute)
    missing = [column for column in REQUIRED[kind] if column not in opened.header]
    if missing:
        batch.problems.append(Problem(opened.name, 1, _("Kolommen ontbreken: %(columns)s.",
                                                        columns=", ".join(missing))))
        return
    for line, cells in opened.rows(batch.problems):
        try:
            check_width(cells, opened.header)
            records.append(make(opened.name, line, dict(zip(opened.header, cells, strict=True))))
        except RowError as error:
            batch.problems.append(Problem(opened.name, line, str(error)))
