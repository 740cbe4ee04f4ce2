"""CSV downloads made for spreadsheets (Excel, LibreOffice): semicolons, a byte order mark
so Excel reads UTF-8, and no cell that a spreadsheet would run as a formula."""

import csv
import io
import re
from collections.abc import Iterable

from flask import Response

_SIGNED_NUMBER = re.compile(r"^[+-][\d.,:]+$")  # -45, -0:45: numbers, not formulas


def _inert(value):
    """Text a spreadsheet would take for a formula (starting with =, +, -, @, a tab or a
    carriage return, e.g. a description ``=HYPERLINK(...)`` typed by a member) gets a
    leading apostrophe, which spreadsheets show as plain text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _SIGNED_NUMBER.match(value):
        return "'" + value
    return value


def spreadsheet_csv(rows: Iterable[Iterable]) -> str:
    """``rows`` (the header first) as CSV text for a spreadsheet."""
    output = io.StringIO()
    csv.writer(output, delimiter=";").writerows([_inert(value) for value in row] for row in rows)
    return "\ufeff" + output.getvalue()


def csv_download(rows: Iterable[Iterable], filename: str) -> Response:
    """``rows`` as a CSV file to download under ``filename``."""
    return Response(spreadsheet_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
