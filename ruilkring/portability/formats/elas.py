"""Reader for the CSV exports of eLAS and eLAND (format ``elas``).

eLAND's admin page "Export" (``export.php``, later ``ExportController``) offers one CSV per
table: users, contacts, categories, messages and transactions; the older eLAS scripts
``export/export_*.php`` wrote nearly the same files. Each file is recognised by its header,
whatever its name. Members are known by their letscode; amounts are the ring's own
currency units, converted with the option ``minutes_per_unit``. docs/import.md describes
every column.
"""

import html
from collections.abc import Callable
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ruilkring.members.models import MemberRole, MemberStatus
from ruilkring.portability.formats.csvfile import (
    CsvFile,
    RowError,
    StableIds,
    check_width,
    open_csv,
    parse_date,
    parse_number,
    parse_optional_date,
    whole_minutes,
)
from ruilkring.portability.records import (
    ImportBatch,
    ListingRecord,
    MemberRecord,
    Problem,
    TransferRecord,
)

FORMAT = "elas"

# eLAS user status codes (eLAND's cnst/status.php; 3 and 4 are no longer used there).
STATUSES = {
    "0": MemberStatus.INACTIVE,  # gedesactiveerd
    "1": MemberStatus.ACTIVE,
    "2": MemberStatus.LEAVING,  # uitstapper
    "3": MemberStatus.ACTIVE,  # instapper: a new, active member
    "4": MemberStatus.ACTIVE,  # secretariaat
    "5": MemberStatus.PENDING,  # info-pakket: interested, not yet a member
    "6": MemberStatus.PENDING,  # info-moment
    "7": MemberStatus.INACTIVE,  # extern
}
ROLES = {"admin": MemberRole.COORDINATOR, "user": MemberRole.MEMBER,
         "guest": MemberRole.MEMBER, "interlets": MemberRole.MEMBER, "": MemberRole.MEMBER}
KINDS = {"0": "request", "1": "offer"}  # messages.msg_type: 0 vraag, 1 aanbod

_USERS = {"letscode", "name", "accountrole", "status"}
_CONTACTS = {"letscode", "abbrev", "value"}
_MESSAGES = {"letscode", "cdate", "validity", "content", "msg_type"}
_TRANSACTIONS = {"datum", "van", "aan", "bedrag"}
_CATEGORIES = {"name", "id_parent", "leafnote"}  # not imported: messages do not name one

# What a cell is, for messages; lazy, so a long history does not look them up per row.
DATE, AMOUNT = _l("Datum"), _l("Bedrag")
CREATED, ACTIVATED, VALID_UNTIL = _l("Aanmaakdatum"), _l("Activeringsdatum"), _l("Geldig tot")
MIN_LIMIT, MAX_LIMIT = _l("Minimumlimiet"), _l("Maximumlimiet")


def read(paths: list[Path | str], *, minutes_per_unit: int | str = 60) -> ImportBatch:
    """Read eLAS/eLAND export files into one batch. ``minutes_per_unit``: how many minutes
    one unit of the ring's currency is worth (60 when a unit is an hour); from the command
    line it arrives as text."""
    batch = ImportBatch(format=FORMAT)
    try:
        per_unit = int(str(minutes_per_unit).strip())
    except ValueError:
        per_unit = 0
    if per_unit < 1:
        batch.problems.append(Problem("--minutes-per-unit", 0, _(
            "'%(value)s' is geen geldig aantal minuten per eenheid; geef een heel getal groter "
            "dan 0, bijvoorbeeld 60 als een eenheid een uur is.", value=minutes_per_unit)))
        return batch
    members: dict[str, MemberRecord] = {}
    contact_files: list[tuple[CsvFile, dict[str, int]]] = []
    for path in paths:
        opened = open_csv(path)
        if isinstance(opened, Problem):
            batch.problems.append(opened)
            continue
        columns = _columns(opened.header)
        names = set(columns)
        if _USERS <= names:
            _read_users(opened, columns, per_unit, members, batch)
        elif _CONTACTS <= names:
            contact_files.append((opened, columns))  # after all users are known
        elif _MESSAGES <= names:
            _read_messages(opened, columns, batch)
        elif _TRANSACTIONS <= names:
            _read_transactions(opened, columns, per_unit, batch)
        elif not _CATEGORIES <= names:
            batch.problems.append(Problem(opened.name, 1, _(
                "Niet herkend als eLAS/eLAND-export: verwacht de export van gebruikers, "
                "contactgegevens, transacties of vraag en aanbod. Gevonden kolommen: %(columns)s",
                columns=", ".join(opened.header))))
    for opened, columns in contact_files:
        _read_contacts(opened, columns, members, batch)
    batch.members.extend(members.values())
    return batch


def _columns(header: list[str]) -> dict[str, int]:
    """Column name (lower case) -> position; a repeated name keeps its first position."""
    columns: dict[str, int] = {}
    for position, name in enumerate(header):
        columns.setdefault(name.lower(), position)
    return columns


def _cells(cells: list[str], columns: dict[str, int]) -> Callable[[str], str]:
    """A lookup of this row's cell by column name; a column the file lacks reads as ""."""
    def cell(name: str) -> str:
        position = columns.get(name)
        return cells[position] if position is not None else ""
    return cell


def _read_users(opened: CsvFile, columns: dict[str, int], per_unit: int,
                members: dict[str, MemberRecord], batch: ImportBatch) -> None:
    for line, cells in opened.rows(batch.problems):
        try:
            check_width(cells, opened.header)
            cell = _cells(cells, columns)
            code = cell("letscode")
            if not code:
                raise RowError(_("De letscode ontbreekt."))
            if code in members:
                other = members[code]
                raise RowError(_("Letscode '%(code)s' staat ook al op regel %(line)d van "
                                 "%(file)s.", code=code, line=other.line, file=other.file))
            name = cell("fullname") or cell("name")
            if not name:
                raise RowError(_("Gebruiker '%(code)s' heeft geen naam.", code=code))
            status = STATUSES.get(cell("status"))
            if status is None:
                raise RowError(_(
                    "Status '%(status)s' is onbekend; eLAS kent 0 (gedesactiveerd), 1 (actief), "
                    "2 (uitstapper), 3 (instapper), 4 (secretariaat), 5 (info-pakket), "
                    "6 (info-moment) en 7 (extern).", status=cell("status")))
            role = ROLES.get(cell("accountrole").lower())
            if role is None:
                raise RowError(_("Rol '%(role)s' is onbekend; eLAS kent admin, user, guest en "
                                 "interlets.", role=cell("accountrole")))
            joined = parse_optional_date(cell("activeringsdatum"), ACTIVATED) \
                or parse_optional_date(cell("cdate"), CREATED)
            record = MemberRecord(
                file=opened.name, line=line, source_id=code, name=name, email="",
                status=status.value, role=role.value, joined_on=joined,
                min_balance=_limit(cell("minlimit"), MIN_LIMIT, per_unit),
                max_balance=_limit(cell("maxlimit"), MAX_LIMIT, per_unit),
            )
        except RowError as error:
            batch.problems.append(Problem(opened.name, line, str(error)))
            continue
        members[code] = record


def _limit(text: str, what, per_unit: int) -> int | None:
    if not text:
        return None
    return whole_minutes(parse_number(text, what), per_unit, what, text)


def _read_contacts(opened: CsvFile, columns: dict[str, int],
                   members: dict[str, MemberRecord], batch: ImportBatch) -> None:
    """E-mail, phone and address come from the contacts export (type ``mail``, ``gsm`` or
    ``tel``, ``adr``); a member's first contact of each kind wins."""
    if not members:
        batch.problems.append(Problem(opened.name, 0, _(
            "Contactgegevens zonder de export van de gebruikers: geef die ook mee.")))
        return
    for line, cells in opened.rows(batch.problems):
        try:
            check_width(cells, opened.header)
            cell = _cells(cells, columns)
            member = members.get(cell("letscode"))
            if member is None:
                raise RowError(_("Letscode '%(code)s' staat niet in de export van de gebruikers.",
                                 code=cell("letscode")))
            kind, value = cell("abbrev").lower(), cell("value")
            if kind == "mail":
                try:
                    validate_email(value, check_deliverability=False)
                except EmailNotValidError:
                    raise RowError(_("E-mailadres '%(email)s' van '%(code)s' is ongeldig.",
                                     email=value, code=member.source_id)) from None
                member.email = member.email or value
            elif kind in ("gsm", "tel"):
                member.phone = member.phone or value
            elif kind == "adr":
                member.address = member.address or value
        except RowError as error:
            batch.problems.append(Problem(opened.name, line, str(error)))


def _read_transactions(opened: CsvFile, columns: dict[str, int], per_unit: int,
                       batch: ImportBatch) -> None:
    """eLAND writes ``letscode name`` in Van/Aan and a ``transactie id``; old eLAS wrote
    only the letscode, HTML-escaped texts and no id."""
    eland = "transactie id" in columns
    ids = StableIds()
    for line, cells in opened.rows(batch.problems):
        try:
            check_width(cells, opened.header)
            cell = _cells(cells, columns)
            payer, payee = _letscode(cell("van"), "Van"), _letscode(cell("aan"), "Aan")
            amount_text = cell("bedrag")
            amount = whole_minutes(parse_number(amount_text, AMOUNT), per_unit, AMOUNT,
                                   amount_text)
            if amount <= 0:
                raise RowError(_("Bedrag '%(amount)s' moet groter dan nul zijn.",
                                 amount=amount_text))
            occurred = parse_date(cell("datum"), DATE)
            description = cell("dienst") if eland else html.unescape(cell("dienst"))
            source_id = (eland and cell("transactie id")) or ids.make(
                cell("datum"), payer, payee, amount_text, description)
        except RowError as error:
            batch.problems.append(Problem(opened.name, line, str(error)))
            continue
        batch.transfers.append(TransferRecord(
            file=opened.name, line=line, source_id=source_id, occurred_on=occurred,
            payer_id=payer, payee_id=payee, amount=amount, description=description,
        ))


def _letscode(text: str, column: str) -> str:
    """The letscode at the start of ``A12 Anna Peeters`` (eLAND) or ``A12`` (eLAS)."""
    code = text.split(" ", 1)[0]
    if not code:
        raise RowError(_("In kolom %(column)s staat geen letscode.", column=column))
    return code


def _read_messages(opened: CsvFile, columns: dict[str, int], batch: ImportBatch) -> None:
    """Vraag en aanbod: ``content`` is the title; the export has no longer description and
    no id, so the id is made from owner, date, kind and title."""
    ids = StableIds()
    for line, cells in opened.rows(batch.problems):
        try:
            check_width(cells, opened.header)
            cell = _cells(cells, columns)
            owner, title = cell("letscode"), cell("content")
            if not owner:
                raise RowError(_("De letscode ontbreekt."))
            kind = KINDS.get(cell("msg_type"))
            if kind is None:
                raise RowError(_("Soort '%(kind)s' is onbekend; eLAS gebruikt 0 voor een vraag "
                                 "en 1 voor een aanbod.", kind=cell("msg_type")))
            if not title:
                raise RowError(_("De tekst (content) is leeg."))
            record = ListingRecord(
                file=opened.name, line=line, source_id=ids.make(owner, cell("cdate"), kind, title),
                owner_id=owner, kind=kind, title=title,
                valid_until=parse_optional_date(cell("validity"), VALID_UNTIL),
                created_on=parse_optional_date(cell("cdate"), CREATED),
            )
        except RowError as error:
            batch.problems.append(Problem(opened.name, line, str(error)))
            continue
        batch.listings.append(record)
