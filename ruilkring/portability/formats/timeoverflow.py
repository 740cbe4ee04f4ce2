"""Reader for the CSV reports of TimeOverflow (format ``timeoverflow``).

TimeOverflow's "Reports" menu downloads members (``user_list``), offers and inquiries
(``post_list``) and transfers (``transfer_list``) as CSV, written by the decorators in
``app/decorators/report/``. Their column names are translated into the bank's language, so
files are recognised by their shape: the members file starts with the column "N", a posts
file with an empty column, a transfers file has five columns (or the "from ID"/"to ID"
columns of the longer transfer report). Members are known by their member number ("N").
TimeOverflow stores amounts in seconds; the reports write them as hours and minutes
("1:30"), the members' balance as plain seconds. docs/import.md describes every column.
"""

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

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
    SYSTEM_POT,
    ImportBatch,
    ListingRecord,
    MemberRecord,
    Problem,
    TransferRecord,
)

FORMAT = "timeoverflow"

# Placeholder addresses TimeOverflow gives members without e-mail (User#email_if_real).
_PLACEHOLDER_EMAIL = "@example.com"
# How the transfers report names a deleted or inactive member (users.show.deleted_user and
# .inactive_user in the English and Dutch locales), and the longer report's fixed names.
_GONE = {"the user no longer exists", "the user isn't active", "de gebruiker bestaat niet meer",
         "de gebruiker is niet actief", "deleted_user", "inactive_user"}
# Stems of the model names Offer and Inquiry in TimeOverflow's locales (en, es, ca, gl, pt,
# eu, fr, nl), for the posts report's header or file name.
_OFFER_STEMS = ("offer", "ofert", "offre", "eskaintz", "aanbie", "aanbod")
_REQUEST_STEMS = ("inquir", "demand", "eskaer", "verzoek", "procur", "pedid")

_MEMBER_NUMBER = re.compile(r"\((\d+)\)\s*$")  # "Anna Jansen (12)"
_HOURS_MINUTES = re.compile(r"(\d+):([0-5]\d)")

# What a cell is, for messages; lazy, so a long history does not look them up per row.
DATE, QUANTITY, CREATED = _l("Datum"), _l("Aantal"), _l("Aangemaakt")


def read(paths: list[Path | str], *, time_zone: str = "Europe/Amsterdam") -> ImportBatch:
    """Read TimeOverflow report files into one batch. A time that carries a zone (``UTC``,
    ``+0100``) gets its date in ``time_zone``, the ring's."""
    batch = ImportBatch(format=FORMAT)
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        batch.problems.append(Problem("--time-zone", 0, _(
            "Tijdzone '%(zone)s' bestaat niet; geef bijvoorbeeld Europe/Amsterdam.",
            zone=time_zone)))
        return batch
    for path in paths:
        opened = open_csv(path)
        if isinstance(opened, Problem):
            batch.problems.append(opened)
            continue
        header = opened.header
        if header[0] == "N" and len(header) >= 5:
            _read_members(opened, time_zone, batch)
        elif "from ID" in header and "to ID" in header:
            _read_transfers(opened, time_zone, batch, complete=True)
        elif header[0] == "" and len(header) == 5 or len(header) == 4 and _kind(header[0]):
            _read_posts(opened, time_zone, batch)
        elif len(header) == 5:
            _read_transfers(opened, time_zone, batch, complete=False)
        else:
            batch.problems.append(Problem(opened.name, 1, _(
                'Niet herkend als TimeOverflow-rapport: verwacht de lijst van gebruikers (eerste '
                'kolom "N"), van aanbiedingen of verzoeken, of van overboekingen. Gevonden '
                "kolommen: %(columns)s", columns=", ".join(header))))
    return batch


def _read_members(opened: CsvFile, time_zone: str, batch: ImportBatch) -> None:
    """N, username, email, phone, alt phone[, created at, last sign in[, locale, balance]]."""
    width = len(opened.header)
    for line, cells in opened.rows(batch.problems):
        try:
            check_width(cells, opened.header)
            number, name, email, phone, alt_phone = cells[:5]
            if not number.isdigit():
                raise RowError(_("Lidnummer (N) '%(number)s' is geen getal.", number=number))
            record = MemberRecord(
                file=opened.name, line=line, source_id=number, name=name,
                email="" if email.lower().endswith(_PLACEHOLDER_EMAIL) else email,
                phone=phone or alt_phone,
                joined_on=parse_optional_date(cells[5], CREATED, time_zone=time_zone)
                if width > 5 else None,
                balance=_seconds(cells[8]) if width > 8 else None,
            )
        except RowError as error:
            batch.problems.append(Problem(opened.name, line, str(error)))
            continue
        batch.members.append(record)


def _seconds(text: str) -> int | None:
    """A balance in seconds, as minutes."""
    if not text:
        return None
    if not re.fullmatch(r"-?\d+", text):
        raise RowError(_("Saldo '%(text)s' is geen geheel aantal seconden.", text=text))
    if int(text) % 60:
        raise RowError(_("Saldo '%(text)s' seconden is geen geheel aantal minuten.", text=text))
    return int(text) // 60


def _read_transfers(opened: CsvFile, time_zone: str, batch: ImportBatch, *,
                    complete: bool) -> None:
    """The transfers report: date, from, to, post, quantity, where from/to are "Name (N)"
    or the bank's own name. ``complete``: the longer report (date, from, from ID, to, to ID,
    post, post ID, reason, quantity), whose ids are member numbers, 0 for the bank.

    Neither report has a transfer id. It is made from what both write the same way and
    what a rename does not touch: the moment (both write ``created_at.to_s``), the member
    numbers or the pot, and the amount in minutes (the short report writes ``1:30``, the
    longer ``1.5``); identical rows are numbered in file order. So a member renamed in
    TimeOverflow, or the other report of the same transfers, gives the same ids."""
    ids = StableIds()
    for line, cells in opened.rows(batch.problems):
        try:
            check_width(cells, opened.header)
            if complete:
                created, _from, payer_text, _to, payee_text, post, _post_id, reason, quantity = \
                    cells
                payer, payee = _party_id(payer_text, "from ID"), _party_id(payee_text, "to ID")
                description = reason or post
            else:
                created, payer_text, payee_text, description, quantity = cells
                payer, payee = _party(payer_text, "Van"), _party(payee_text, "Naar")
            occurred_on = parse_date(created, DATE, time_zone=time_zone)
            amount = _quantity(quantity)
            record = TransferRecord(
                file=opened.name, line=line,
                source_id=ids.make(created, payer, payee, str(amount)),
                occurred_on=occurred_on, payer_id=payer, payee_id=payee, amount=amount,
                description=description,
            )
        except RowError as error:
            batch.problems.append(Problem(opened.name, line, str(error)))
            continue
        batch.transfers.append(record)


def _quantity(text: str) -> int:
    """Minutes from "1:30" (hours:minutes) or a number of hours ("1,5", "1.5")."""
    match = _HOURS_MINUTES.fullmatch(text)
    if match:
        minutes = int(match[1]) * 60 + int(match[2])
    else:
        try:
            minutes = whole_minutes(parse_number(text, QUANTITY), 60, QUANTITY, text)
        except RowError:
            raise RowError(_("Aantal '%(text)s' is niet te lezen; verwacht uren:minuten zoals "
                             "1:30, of uren zoals 1,5.", text=text)) from None
    if minutes <= 0:
        raise RowError(_("Aantal '%(text)s' moet groter dan nul zijn.", text=text))
    return minutes


def _party(text: str, column: str) -> str:
    """A member number from "Anna Jansen (12)"; the bank's own name is the ring's pot."""
    match = _MEMBER_NUMBER.search(text)
    if match:
        return match[1]
    if not text or text.lower() in _GONE:
        raise RowError(_(
            "In kolom %(column)s staat '%(text)s' zonder lidnummer: een verwijderde of "
            "niet-actieve gebruiker. Deze overboeking kan niet worden overgenomen; activeer de "
            "gebruiker in TimeOverflow en exporteer opnieuw.", column=column, text=text))
    return SYSTEM_POT


def _party_id(text: str, column: str) -> str:
    if text == "0":
        return SYSTEM_POT
    if not text.isdigit():
        raise RowError(_(
            "In kolom %(column)s staat '%(text)s' in plaats van een lidnummer: een verwijderde "
            "of niet-actieve gebruiker. Deze overboeking kan niet worden overgenomen.",
            column=column, text=text))
    return text


def _kind(text: str) -> str | None:
    lowered = text.lower()
    if any(stem in lowered for stem in _OFFER_STEMS):
        return "offer"
    if any(stem in lowered for stem in _REQUEST_STEMS):
        return "request"
    return None


def _read_posts(opened: CsvFile, time_zone: str, batch: ImportBatch) -> None:
    """One file per kind: [id, title, tags, "Name (N)", created at]; a row with an empty
    first cell names the category of the posts below it. The older report had no id."""
    with_id = opened.header[0] == ""
    kind_column = opened.header[1] if with_id else opened.header[0]
    kind = _kind(kind_column) or _kind(Path(opened.name).name)
    if kind is None:
        batch.problems.append(Problem(opened.name, 1, _(
            "Uit de kolom '%(column)s' en de bestandsnaam blijkt niet of dit aanbiedingen of "
            "verzoeken zijn; zet 'aanbod' of 'verzoek' in de bestandsnaam.", column=kind_column)))
        return
    ids = StableIds()
    category = ""
    for line, cells in opened.rows(batch.problems):
        if cells[0] == "" and len(cells) > 1 and not any(cells[2:]):
            category = "" if cells[1] == "-" else cells[1]
            continue
        try:
            check_width(cells, opened.header)
            post_id, title, _tags, user, created = cells if with_id else ["", *cells]
            match = _MEMBER_NUMBER.search(user)
            if not match:
                raise RowError(_("Bij '%(user)s' staat geen lidnummer tussen haakjes.",
                                 user=user))
            if not title:
                raise RowError(_("De titel ontbreekt."))
            record = ListingRecord(
                file=opened.name, line=line, source_id=post_id or ids.make(user, created, title),
                owner_id=match[1], kind=kind, title=title, category=category,
                created_on=parse_optional_date(created, CREATED, time_zone=time_zone),
            )
        except RowError as error:
            batch.problems.append(Problem(opened.name, line, str(error)))
            continue
        batch.listings.append(record)
