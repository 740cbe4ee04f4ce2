"""Column types shared by the areas."""

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum
from sqlalchemy.types import TypeDecorator

INT_MAX = 2**31 - 1  # the largest value of an integer column (PostgreSQL's integer)


class UTCDateTime(TypeDecorator):
    """Stores UTC without zone (SQLite keeps no zones) and always returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use ruilkring.clock.now()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=UTC)


def str_enum(cls: type[enum.StrEnum]) -> Enum:
    """A string column holding the enum's values (not its names), checked on write."""
    return Enum(cls, native_enum=False, length=20, validate_strings=True,
                values_callable=lambda members: [m.value for m in members])
