"""Every measure on a small hand-made ring whose right answers are worked out here.

Six members in two wijken: A, B, C in Noord; D, E, F in Zuid. Nine trades in March 2026:

    1 A->B  2 B->A  3 A->D  4 D->E  5 E->A  6 B->C  7 C->B  8 D->A  9 E->D      (F never trades)

New ties: AB, AD, DE, AE, BC (five); AD and AE cross wijken. All five traders are active
and each both gave and received. Partners: A 3, B 2, C 1, D 2, E 2, F 0 (median 2).
AB, AD, DE and BC have two trades each, AE one. Everyone who traded is in one group.
Contact answers: AB no + by sight (new), AD yes (known), DE one no (unknown), AE none
(unknown), BC no + no (new).
"""

from datetime import UTC, date, datetime

import pytest

from ruilkring.database import run_ledger_transaction
from ruilkring.extensions import db
from ruilkring.ledger import services as ledger
from ruilkring.stats import metrics
from ruilkring.stats.models import ContactAnswer, Tie
from ruilkring.stats.ties import tie_answer
from tests import factories

MARCH = metrics.Period.month(2026, 3)
JOINED = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def hand_made(ring):
    north, south = ring.neighbourhoods
    years = {"A": 1950, "B": 1990, "C": None, "D": 1950, "E": 1990, "F": 1980}
    members = {
        name: factories.MemberFactory(ring=ring, neighbourhood=north if name in "ABC" else south,
                                      birth_year=years[name], created_at=JOINED, approved_at=JOINED)
        for name in "ABCDEF"
    }
    account = {name: ledger.account_open(member=m).id for name, m in members.items()}
    trades = ["AB", "BA", "AD", "DE", "EA", "BC", "CB", "DA", "ED"]
    days = [2, 3, 5, 8, 10, 12, 15, 20, 25]
    history = [ledger.HistoricalTransfer(account[p], account[q], 30 if i in (1, 4, 7, 8) else 60,
                                         datetime(2026, 3, day, 12, tzinfo=UTC), "hulp")
               for i, ((p, q), day) in enumerate(zip(trades, days, strict=True))]
    run_ledger_transaction(lambda: ledger.transfers_bulk_load(ring=ring, transfers=history))

    def tie(x, y):
        low, high = sorted((members[x].id, members[y].id))
        return db.session.scalar(db.select(Tie).where(Tie.member_low_id == low, Tie.member_high_id == high))

    for pair, answers in {"AB": {"A": "no", "B": "by_sight"}, "AD": {"A": "yes", "D": "no"},
                          "DE": {"D": "no"}, "BC": {"B": "no", "C": "no"}}.items():
        for who, answer in answers.items():
            tie_answer(tie=tie(*pair), member=members[who], answer=ContactAnswer(answer))
    db.session.commit()
    return ring, members


def test_activity_and_reciprocity(hand_made):
    ring, _ = hand_made
    result = metrics.activity([ring.id], MARCH)
    assert (result.members, result.active, result.reciprocal, result.trades) == (6, 5, 5, 9)
    assert result.minutes == 5 * 60 + 4 * 30
    assert result.active_share == pytest.approx(5 / 6) and result.reciprocity == 1.0
    assert metrics.activity([ring.id], metrics.Period.month(2026, 4)).active == 0


def test_new_ties_new_contacts_and_first_contact_share(hand_made):
    ring, _ = hand_made
    result = metrics.new_ties([ring.id], MARCH)
    assert (result.new_ties, result.new_contacts, result.known, result.unknown) == (5, 2, 1, 2)
    assert result.first_contact_share == pytest.approx(5 / 9)


def test_network_partners_repeat_ties_and_largest_group(hand_made):
    ring, _ = hand_made
    result = metrics.network([ring.id], MARCH)
    assert result.partners_median == 2
    assert result.partner_bins == {"0": 1, "1": 1, "2-4": 4, "5-9": 0, "10+": 0}
    assert (result.pairs, result.repeat_pairs) == (5, 4)
    assert result.largest_group_share == 1.0
    assert metrics.network([ring.id], metrics.Period.month(2026, 2)).pairs == 0


def test_bridging_across_wijken_against_random_mixing(hand_made):
    ring, _ = hand_made
    result = metrics.bridging([ring.id], MARCH, by="wijk")
    assert (result.ties, result.across) == (5, 2)
    assert result.expected_share == pytest.approx(1 - (0.6 ** 2 + 0.4 ** 2))
    assert result.ratio == pytest.approx(0.4 / 0.48)


def test_bridging_across_age_bands_leaves_out_unknown_ages(hand_made):
    ring, _ = hand_made
    # Bands at 2026-04-01: A, D 76 (65-79); B, E 36 (30-44); C unknown. Ties with both ages
    # known: AB (across), AD (same), DE (across), AE (across); BC has C unknown.
    result = metrics.bridging([ring.id], MARCH, by="age")
    assert (result.ties, result.across) == (4, 3)
    assert result.expected_share == pytest.approx(0.5)


def test_follow_up_lists(hand_made):
    ring, members = hand_made
    assert metrics.never_traded([ring.id], today=date(2026, 6, 1)) == [members["F"]]
    assert metrics.never_traded([ring.id], today=date(2026, 3, 15)) == []
    dormant = metrics.dormant([ring.id], today=date(2026, 10, 15))
    assert {m.id for m, _ in dormant} == {members[x].id for x in "ABCDE"}


def test_retention_by_join_cohort(hand_made, monkeypatch):
    ring, _ = hand_made
    cohorts, median_days = metrics.retention([ring.id], metrics.Period.year(2026), horizon=3)
    [january] = cohorts
    assert (january.month, january.size) == (date(2026, 1, 1), 6)
    assert january.retained == [0.0, 0.0, pytest.approx(5 / 6), 0.0]
    assert median_days == (date(2026, 3, 5) - date(2026, 1, 1)).days  # firsts: A 2, B 2, C 12, D 5, E 8


def test_trades_by_kind_of_help_without_listings_are_unknown(hand_made):
    ring, _ = hand_made
    assert metrics.trades_by_help([ring.id], MARCH) == {"unknown": (9, 420)}


def test_previous_period_and_months():
    q2 = metrics.Period.quarter(2026, 2)
    assert q2.previous() == metrics.Period.quarter(2026, 1)
    assert q2.months() == [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    custom = metrics.Period(date(2026, 3, 10), date(2026, 3, 20))
    assert custom.previous() == metrics.Period(date(2026, 2, 28), date(2026, 3, 10))
