"""Reading and showing amounts of time."""

import pytest

from ruilkring.ledger.amounts import AmountError, format_minutes, parse_minutes


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("1:30", 90), ("1,5", 90), ("1.5", 90), ("90m", 90), ("90", 90), (" 90 min ", 90),
     ("1u30", 90), ("2u", 120), ("2 uur", 120), ("0:05", 5), ("0,25", 15), ("12:00", 720),
     ("1:30 uur", 90), ("0:20 uur", 20)],  # the last two as the app shows them, copied back
)
def test_parse_accepts_the_usual_ways_of_writing_time(text, minutes):
    assert parse_minutes(text) == minutes


@pytest.mark.parametrize("text", ["", "abc", "1:75", "1,33", "-1:00", "1:30:00", "twee", "1e3", "٣٠", "１２"])
def test_parse_refuses_what_it_cannot_read(text):
    with pytest.raises(AmountError):
        parse_minutes(text)


def test_negative_amounts_only_where_allowed():
    assert parse_minutes("-20:00", allow_negative=True) == -1200


@pytest.mark.parametrize(("minutes", "text"), [(90, "1:30"), (0, "0:00"), (-45, "-0:45"), (1200, "20:00")])
def test_format(minutes, text):
    assert format_minutes(minutes) == text
