"""Reading other systems' CSV files: encoding, delimiter, real line numbers, and the Dutch
ways of writing numbers and dates. Shared by the format readers; nothing here knows a
particular system.

A reader opens each file with ``open_csv`` (which returns a ``Problem`` instead when the
file cannot be used at all), walks ``CsvFile.rows`` and turns a cell it cannot read into a
``RowError``, whose message becomes the row's ``Problem``.
"""

import codecs
import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from ruilkring.portability.records import Problem

_CHUNK = 1 << 16
_DELIMITERS = ",;\t"


class RowError(ValueError):
    """A row or cell that cannot be read; the message is plain Dutch and says what to fix."""


@dataclass(frozen=True)
class CsvFile:
    """One opened CSV file: its name as given, how to decode and split it, and its header."""

    name: str
    path: Path
    encoding: str
    delimiter: str
    header: list[str]

    def rows(self, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
        """Each non-empty data row as (the file line it starts on, its cells: stripped, line
        breaks inside a text as "\\n").

        A record may span several lines (a quoted text with line breaks); the number is
        the line where it starts, counting the header as line 1. A row with a NUL
        character in a cell (Python's ``csv`` reads it; no database can store it) is
        skipped with a problem. When the CSV itself breaks (an unclosed quote at the end,
        a field past ``csv``'s size limit), one problem is added and the rest of the file
        skipped.
        """
        with self.path.open(encoding=self.encoding, errors="replace", newline="") as handle:
            reader = csv.reader(handle, delimiter=self.delimiter, skipinitialspace=True)
            previous = 0
            try:
                next(reader, None)  # the header, already read by open_csv
                previous = reader.line_num
                for cells in reader:
                    start, previous = previous + 1, reader.line_num
                    cells = [cell.strip().replace("\r\n", "\n") for cell in cells]
                    if any("\x00" in cell for cell in cells):
                        problems.append(Problem(self.name, start, _(
                            "Deze regel bevat een NUL-teken (een onzichtbaar teken 0); haal het weg "
                            "en probeer het opnieuw.")))
                    elif any(cells):
                        yield start, cells
            except csv.Error as error:
                problems.append(Problem(self.name, previous + 1, _(
                    "Vanaf deze regel is het bestand geen leesbare CSV meer (%(error)s); de rest "
                    "van het bestand is overgeslagen.", error=error)))


def open_csv(path: Path | str) -> CsvFile | Problem:
    """Open ``path`` for reading rows, or say in a ``Problem`` (line 0) why it cannot be.

    The encoding is UTF-8 (with or without BOM) when the whole file decodes as UTF-8,
    otherwise Windows-1252, which is what spreadsheet programs and old eLAS installs
    write; the delimiter (comma, semicolon or tab) is sniffed from the header line.
    """
    name = str(path)
    path = Path(path)
    try:
        encoding = _detect_encoding(path)
        with path.open(encoding=encoding, errors="replace", newline="") as handle:
            first_line = handle.readline()
    except FileNotFoundError:
        return Problem(name, 0, _("Bestand niet gevonden."))
    except OSError as error:
        return Problem(name, 0, _("Bestand kan niet gelezen worden (%(reason)s).",
                                  reason=error.strerror))
    if not first_line.strip():
        return Problem(name, 0, _("Het bestand is leeg of begint met een lege regel; de eerste "
                                  "regel moet de kolomnamen bevatten."))
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ","
    header = next(csv.reader([first_line], delimiter=delimiter, skipinitialspace=True))
    return CsvFile(name, path, encoding, delimiter, [cell.strip() for cell in header])


def _detect_encoding(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        if handle.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8:
            return "utf-8-sig"  # meant as UTF-8: a broken byte is replaced, not misread
        handle.seek(0)
        try:
            while chunk := handle.read(_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"  # also reads files without a BOM


def check_width(cells: list[str], header: list[str]) -> None:
    """Refuse a row whose number of fields differs from the header's."""
    if len(cells) != len(header):
        raise RowError(_(
            'Deze regel heeft %(cells)d velden, de kopregel %(header)d. Staat er een '
            'aanhalingsteken (") of scheidingsteken in een tekst die niet goed tussen '
            "aanhalingstekens staat?",
            cells=len(cells), header=len(header)))


_NUMBER = re.compile(r"[+-]?(\d+([.,]\d+)*)")


def parse_number(text: str, what: str) -> Decimal:
    """A number as people write it: ``2``, ``-3``, ``1,5``, ``1.5``, ``1.234,5``, ``1 234``.

    With both separators the last one is the decimal separator; a separator used more than
    once separates thousands; a single comma or dot is the decimal separator (so ``1.000``
    is one, as databases write it).
    """
    compact = text.replace(" ", "").replace("\u00a0", "")
    if not _NUMBER.fullmatch(compact):
        raise RowError(_("%(what)s '%(text)s' is geen getal; schrijf bijvoorbeeld 2 of 1,5.",
                         what=what, text=text))
    commas, dots = compact.count(","), compact.count(".")
    if commas and dots:
        thousands = "." if compact.rfind(",") > compact.rfind(".") else ","
        compact = compact.replace(thousands, "")
    elif commas > 1 or dots > 1:
        compact = compact.replace(",", "").replace(".", "")
    return Decimal(compact.replace(",", "."))


def whole_minutes(value: Decimal, minutes_per_unit: int, what: str, text: str) -> int:
    """``value`` units of ``minutes_per_unit`` minutes each, refusing part of a minute."""
    minutes = value * minutes_per_unit
    if minutes != minutes.to_integral_value():
        raise RowError(_("%(what)s '%(text)s' is geen geheel aantal minuten (%(minutes)s minuten).",
                         what=what, text=text, minutes=minutes))
    return int(minutes)


_ISO = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(UTC|Z|[+-]\d{2}:?\d{2})?)?"
)
_DUTCH = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")
_ZERO_DATE = re.compile(r"0{4}-0{2}-0{2}.*")  # MySQL's "no date"


def parse_date(text: str, what: str, *, time_zone: str | None = None) -> date:
    """A calendar date from ``2024-03-15``, ``2024-03-15 10:20:30[.123]``, the same with a
    time zone (``UTC``, ``+0100``) or ``15-03-2024`` / ``15/3/2024`` (day first, Dutch).

    A time with a zone is first moved to ``time_zone`` (the ring's), so a trade late in
    the evening keeps its local date; a time without one is taken as local already.
    """
    iso = _ISO.fullmatch(text)
    dutch = None if iso else _DUTCH.fullmatch(text)
    if not iso and not dutch:
        raise RowError(_("%(what)s '%(text)s' is geen datum; schrijf bijvoorbeeld 2024-03-15 of "
                         "15-03-2024.", what=what, text=text))
    try:
        if dutch:
            return date(int(dutch[3]), int(dutch[2]), int(dutch[1]))
        year, month, day, hour, minute, second, zone = iso.groups()
        if not zone or not time_zone:
            return date(int(year), int(month), int(day))
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                          int(second or 0), tzinfo=_zone(zone))
        return moment.astimezone(ZoneInfo(time_zone)).date()
    except ValueError:
        raise RowError(_("%(what)s '%(text)s' bestaat niet.", what=what, text=text)) from None


def parse_optional_date(text: str, what: str, *, time_zone: str | None = None) -> date | None:
    """Like ``parse_date``, but an empty cell or MySQL's ``0000-00-00`` is no date."""
    if not text or _ZERO_DATE.fullmatch(text):
        return None
    return parse_date(text, what, time_zone=time_zone)


def _zone(text: str) -> timezone:
    if text in ("UTC", "Z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


class StableIds:
    """Source ids for rows that have none in the export, the same on every run.

    The id is a hash of the row's identifying cells; identical rows in one file (two equal
    payments on the same moment) get ``-2``, ``-3``... in file order.
    """

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()

    def make(self, *parts: str) -> str:
        digest = hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:20]
        self._seen[digest] += 1
        count = self._seen[digest]
        return digest if count == 1 else f"{digest}-{count}"
