"""The one source of the current time, so tests can move it."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

_frozen: datetime | None = None


def now() -> datetime:
    """The current time as an aware UTC datetime (or the frozen time in tests)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(moment: datetime | None) -> None:
    """Fix ``now()`` at ``moment``; ``None`` lets the clock run again."""
    global _frozen
    _frozen = moment


def today() -> date:
    """Today's date where the ring is (the configured display time zone, Dutch time by
    default), e.g. the date a trade happened on."""
    zone = current_app.config["BABEL_DEFAULT_TIMEZONE"] if has_app_context() else "Europe/Amsterdam"
    return now().astimezone(ZoneInfo(zone)).date()


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Within the block ``now()`` is ``moment``; afterwards the clock is as it was."""
    global _frozen
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous
