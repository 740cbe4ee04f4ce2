"""Amounts of time: integer minutes inside, hours and minutes (``1:30``) on screen.

People type ``1:30``, ``1,5``, ``1.5``, ``1u30``, ``90m`` or ``90`` (minutes); all mean
ninety minutes. A bare whole number is minutes, as the design says; with a unit ``u``
or ``h`` it is hours.
"""

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import Field
from wtforms.widgets import TextInput

# "1:30 uur" too: what the app shows, copied back.
_HOURS_MINUTES = re.compile(r"^(?P<h>\d{1,5})\s*[:uh]\s*(?P<m>\d{1,2})\s*(m|min|u|uur|h|hours?)?$", re.ASCII)
_MINUTES = re.compile(r"^(?P<m>\d{1,7})\s*(m|min|minuten|minutes)?$", re.ASCII)
_DECIMAL_HOURS = re.compile(r"^(?P<h>\d{1,5}[.,]\d+)\s*(u|uur|h|hours?)?$", re.ASCII)
_WHOLE_HOURS = re.compile(r"^(?P<h>\d{1,5})\s*(u|uur|h|hours?)$", re.ASCII)


class AmountError(ValueError):
    """The text is not an amount of time we can read."""


def parse_minutes(text: str, *, allow_negative: bool = False) -> int:
    """Read an amount of time as integer minutes; AmountError when it cannot be read."""
    cleaned = (text or "").strip().lower()
    sign = 1
    if allow_negative and cleaned.startswith("-"):
        sign, cleaned = -1, cleaned[1:].strip()
    if not cleaned:
        raise AmountError("empty")
    if match := _HOURS_MINUTES.match(cleaned):
        minutes = int(match["m"])
        if minutes >= 60:
            raise AmountError("minutes part must be below 60")
        return sign * (int(match["h"]) * 60 + minutes)
    if match := _MINUTES.match(cleaned):
        return sign * int(match["m"])
    if match := (_DECIMAL_HOURS.match(cleaned) or _WHOLE_HOURS.match(cleaned)):
        try:
            hours = Decimal(match["h"].replace(",", "."))
        except InvalidOperation:
            raise AmountError("not a number") from None
        minutes = hours * 60
        if minutes != minutes.to_integral_value():
            raise AmountError("not a whole number of minutes")
        return sign * int(minutes)
    raise AmountError("unreadable")


def format_minutes(minutes: int) -> str:
    """``90`` -> ``1:30``, ``-45`` -> ``-0:45``."""
    sign = "-" if minutes < 0 else ""
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}:{rest:02d}"


class MinutesField(Field):
    """A text input for an amount of time; ``data`` is integer minutes."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, allow_negative: bool = False, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "text", "autocomplete": "off", "size": 8})
        super().__init__(label, validators, **kwargs)
        self.allow_negative = allow_negative

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return format_minutes(self.data) if self.data is not None else ""

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist or not valuelist[0].strip():
            self.raw_data = []  # only spaces is no input, for InputRequired and Optional too
            return
        if not self.allow_negative and valuelist[0].strip().startswith("-"):
            raise ValueError(_l("Vul een bedrag in dat groter is dan nul."))
        try:
            self.data = parse_minutes(valuelist[0], allow_negative=self.allow_negative)
        except AmountError:
            raise ValueError(
                _l("Dit is geen tijdsduur die we kunnen lezen. Schrijf bijvoorbeeld 1:30, 1,5 of 90m.")
            ) from None
