"""The one source of the current time, so tests can move it."""

from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """The current time as an aware UTC datetime (or the frozen time in tests)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(moment: datetime | None) -> None:
    """Fix ``now()`` at ``moment``; ``None`` lets the clock run again."""
    global _frozen
    _frozen = moment
